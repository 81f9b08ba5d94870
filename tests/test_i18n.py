"""Every user-facing string is translated, placeholders survive translation, and the choice is remembered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
    assert i18n.choose(None, "ja-JP,ja;q=0.9") == "en"
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


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("sr-RS,sr;q=0.9", "sr_Cyrl"),  # Serbian's official script
        ("sr-Latn-RS,sr;q=0.9", "sr_Latn"),
        ("hr-HR,hr;q=0.9,en;q=0.5", "bs"),  # one catalogue for Bosnian, Croatian and Montenegrin
        ("cnr", "bs"),
        ("bs-BA", "bs"),
        ("mk-MK,mk;q=0.9", "mk"),
        ("de-CH,de;q=0.9", "de"),
        ("sq-AL", "sq"),
    ],
)
def test_the_region_s_languages_follow_the_browser(accept: str, chosen: str) -> None:
    assert i18n.choose(None, accept) == chosen


def test_the_menu_names_each_language_in_itself_and_pages_speak_it(api: Api) -> None:
    page = api.client.get("/login", headers={"Accept-Language": "sr-Latn-RS"})
    assert '<html lang="sr-Latn">' in page.text
    assert "Lozinka" in page.text
    for name in ("Shqip", "Srpski (latinica)", "Српски (ћирилица)", "Македонски", "Deutsch"):
        assert name in page.text
    assert "Лозинка" in api.client.get("/login", headers={"Accept-Language": "mk"}).text
    assert "Лозинка" in api.client.get("/login", headers={"Accept-Language": "sr"}).text
    assert "Passwort" in api.client.get("/login", headers={"Accept-Language": "de-AT"}).text


def test_the_cyrillic_catalogue_is_the_latin_one_transliterated() -> None:
    """sr_Cyrl is written by tools/cyrillic_catalogue.py; a hand edit or a forgotten run shows here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "cyrillic", i18n.LOCALE_DIR.parents[1] / "tools" / "cyrillic_catalogue.py"
    )
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def strings(code: str) -> dict[Any, Any]:
        with (i18n.LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            return {m.id: m.string for m in read_po(handle) if m.id}

    latin, cyrillic = strings("sr_Latn"), strings("sr_Cyrl")
    assert latin.keys() == cyrillic.keys()
    for message_id, string in latin.items():
        original = " ".join(message_id) if isinstance(message_id, tuple) else message_id
        wanted = (
            tuple(tool.to_cyrillic(s, original) for s in string)
            if isinstance(string, tuple)
            else tool.to_cyrillic(string, original)
        )
        assert cyrillic[message_id] == wanted
    assert cyrillic["Password"] == "Лозинка"
    assert cyrillic["Country of origin (e.g. AL, XK, RS)"] == "Земља порекла (нпр. AL, XK, RS)"


@pytest.mark.parametrize(
    ("language", "day", "number"),
    [
        ("de", "03.05.2027", "100.000"),
        ("sr_Latn", "3. 5. 2027.", "100.000"),
        ("mk", "3 мај 2027\u202fг.", "100.000"),  # narrow no-break space
        ("en", "May 3, 2027", "100,000"),
    ],
)
def test_days_and_numbers_follow_the_interface_language(language: str, day: str, number: str) -> None:
    from datetime import date

    i18n.activate(language)
    try:
        assert i18n.format_day(date(2027, 5, 3)) == day
        assert i18n.format_number(100_000) == number
    finally:
        i18n.activate("en")


def test_written_in_names_the_language_in_the_interface_s_language() -> None:
    i18n.activate("de")
    try:
        assert i18n.written_in("sq", "Kardiolog intervencues") == "Geschrieben auf Albanisch"
    finally:
        i18n.activate("sr_Latn")
    try:
        assert i18n.written_in("sr", "Interventni kardiolog") is None  # the interface's own language
        assert i18n.written_in("mk", "Интервентен кардиолог") == "Napisano na jeziku: makedonski"
    finally:
        i18n.activate("en")
