"""Interface languages: gettext catalogues (Babel) compiled from `frontend_templates/locale` at start.

The language of a request is the `lang` cookie when the person chose one, else the best match of their
browser's Accept-Language, else English. Templates call `_()`; strings in Python use `gettext` here.
"""

from __future__ import annotations

import gettext as gettext_module
import io
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

# Each language in its own name, as the language menu shows it. Serbian has both its scripts; Bosnian,
# Croatian and Montenegrin share one catalogue (written in the Bosnian standard).
LANGUAGES: Mapping[str, str] = {
    "en": "English",
    "sq": "Shqip",
    "sr_Latn": "Srpski (latinica)",
    "sr_Cyrl": "Српски (ћирилица)",
    "bs": "Bosanski · Hrvatski · Crnogorski",
    "mk": "Македонски",
    "de": "Deutsch",
}
# Browser language tags that name a catalogue by another code.
_ALIASES = {"sr": "sr_Cyrl", "hr": "bs", "cnr": "bs", "sh": "bs"}
DEFAULT = "en"
COOKIE = "lang"
LOCALE_DIR = Path(__file__).resolve().parent.parent.parent / "frontend_templates" / "locale"
_current: ContextVar[str] = ContextVar("language", default=DEFAULT)


@cache
def translations(language: str, locale_dir: Path = LOCALE_DIR) -> gettext_module.NullTranslations:
    source = locale_dir / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not source.exists():
        return gettext_module.NullTranslations()
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def choose(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    preferred = []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag:
            preferred.append(_alias(tag))
    try:
        negotiated = Locale.negotiate(preferred, list(LANGUAGES), sep="_")
    except (UnknownLocaleError, ValueError):
        negotiated = None
    return str(negotiated) if negotiated is not None and str(negotiated) in LANGUAGES else DEFAULT


def _alias(tag: str) -> str:
    """sr-Latn-RS -> sr_Latn, sr-RS -> sr_Cyrl (Serbian's official script), hr-HR -> bs; others as given."""
    parts = tag.split("_")
    if parts[0].lower() == "sr" and any(p.lower() == "latn" for p in parts[1:]):
        return "sr_Latn"
    return _ALIASES.get(parts[0].lower(), tag)


def html_lang(language: str) -> str:
    """The BCP 47 tag for `<html lang>`: sr_Latn -> sr-Latn."""
    return language.replace("_", "-")


def activate(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT)


def current() -> str:
    return _current.get()


def gettext(message: str, **variables: Any) -> str:
    text = translations(_current.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(_current.get()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def format_day(value: date | datetime | str | None) -> str:
    """A day as people of the interface's language write it ("May 3, 2027", "3 maj 2027"); ISO strings
    (as search documents carry them) are read first, and anything else is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value.date() if isinstance(value, datetime) else value
    return str(format_date(day, format="medium", locale=_current.get()))


def format_number(value: float | int | None) -> str:
    """A number as people of the interface's language write it ("100,000", "100.000", "100 000")."""
    if value is None:
        return ""
    return str(format_decimal(value, locale=_current.get()))


def written_in(code: str | None, text: str = "") -> str | None:
    """ "Written in Serbian" in the interface's language, for a text whose detected language is `code`;
    None when it is the interface's own language or was not told (nothing worth saying)."""
    from diaspora.matching.languages import display_group

    group = display_group(code, text)
    if not group or code == Locale.parse(_current.get()).language:
        return None
    if len(group) > 1:
        return gettext("Written in Bosnian, Croatian, Montenegrin or Serbian")
    name = Locale.parse(_current.get()).languages.get(group[0], group[0])
    return gettext("Written in %(language)s", language=name)


def country_names() -> dict[str, str]:
    """Country names by ISO 3166 code in the interface's language ("DE": "Germany", "Deutschland")."""
    return {code: name for code, name in Locale.parse(_current.get()).territories.items() if len(code) == 2}
