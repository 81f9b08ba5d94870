"""Every user-facing string is translated, placeholders survive translation, and the choice is remembered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from diaspora.platform.web import i18n
from tests.conftest import Api

ROOT = Path(__file__).resolve().parent.parent
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%\(\w+\)\.\d+f")


def _extracted() -> set[str | tuple[str, ...]]:
    method_map = [("platform/web/**.py", "python"), ("frontend_templates/**.html", "jinja2")]
    options = {"frontend_templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options):
        found.add(message)
    return found


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != i18n.DEFAULT])
def test_every_string_is_translated(language: str) -> None:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(str(m) for m in _extracted() if not translated.get(m))
    assert not missing, f"untranslated in {language} (python tools/update_translations.py): {missing[:10]}"
    for message_id, string in translated.items():
        ids = message_id if isinstance(message_id, tuple) else (message_id,)
        strings = string if isinstance(string, tuple) else (string,)
        wanted = set(_PLACEHOLDER.findall(" ".join(ids)))
        for text in strings:
            assert set(_PLACEHOLDER.findall(text)) == wanted, (
                f"{message_id!r}: placeholders differ in {text!r}"
            )


def test_language_follows_the_browser_and_then_the_choice(api: Api) -> None:
    client = api.client
    english = client.get("/opportunities")
    assert '<html lang="en">' in english.text
    assert "Invest or volunteer at home" in english.text
    albanian = client.get("/opportunities", headers={"Accept-Language": "sq-AL,sq;q=0.9,en;q=0.5"})
    assert '<html lang="sq">' in albanian.text
    assert "Investo ose bëj vullnetarizëm në atdhe" in albanian.text

    token = re.search(r'name="_csrf_token" value="([^"]+)"', english.text)
    assert token is not None
    chosen = client.post(
        "/language",
        data={"lang": "sq", "_csrf_token": token.group(1)},
        headers={"Referer": "http://testserver.local/opportunities?q=solar"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/opportunities?q=solar"
    assert "lang=sq" in chosen.headers["set-cookie"]
    remembered = client.get("/login")  # the cookie now wins over the browser's English
    assert "Fjalëkalimi" in remembered.text


def test_unknown_languages_fall_back_to_english() -> None:
    assert i18n.choose(None, "de-CH,de;q=0.9") == "en"
    assert i18n.choose("xx", None) == "en"
    assert i18n.choose(None, "sq") == "sq"
    assert i18n.choose("sq", "en") == "sq"


def test_days_are_written_as_in_the_interface_language() -> None:
    from datetime import date, datetime

    from diaspora.platform.web import i18n

    i18n.activate("sq")
    assert i18n.format_day(date(2027, 5, 3)) == "3 maj 2027"
    assert i18n.format_day("2027-05-03") == "3 maj 2027"  # as search documents carry dates
    i18n.activate("en")
    assert i18n.format_day(datetime(2027, 5, 3, 14, 30)) == "May 3, 2027"
    assert i18n.format_day(None) == ""
    assert i18n.format_day("not a date") == "not a date"
