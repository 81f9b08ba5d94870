"""Write the Serbian Cyrillic catalogue from the Serbian Latin one: Serbian is one language in two
scripts, and transliteration between them is exact, so translators keep only `sr_Latn`.

    python tools/cyrillic_catalogue.py      (run by `make translations`)

Placeholders (`%(num)d`), and words the English original carries verbatim (country and file codes,
'python', 'mjek', file extensions), stay as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import cyrtranslit
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "frontend_templates" / "locale"
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[-#0 +]*\d*(?:\.\d+)?[sdif]|%%")
_TOKEN = re.compile(r"[\w.-]+")
_COMMON = frozenset(
    {"a", "i", "u", "o", "s", "k", "to", "on", "no", "do", "me", "za", "od", "se", "je", "ne"}
)


def to_cyrillic(text: str, original: str) -> str:
    """`text` (Serbian Latin) in Cyrillic, keeping placeholders and what `original` (English) spells
    the same way."""
    kept = {w for w in _TOKEN.findall(original) if len(w) > 1 and w.lower() not in _COMMON}
    pieces: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        pieces.append(_words(text[position : match.start()], kept))
        pieces.append(match.group())
        position = match.end()
    pieces.append(_words(text[position:], kept))
    return "".join(pieces)


def _words(text: str, kept: set[str]) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(text[position : match.start()])
        word = match.group()
        out.append(word if word in kept else str(cyrtranslit.to_cyrillic(word, "sr")))
        position = match.end()
    out.append(text[position:])
    return "".join(out)


def main() -> None:
    with (LOCALE / "sr_Latn" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        latin = read_po(handle, locale="sr_Latn")
    cyrillic = Catalog(locale="sr_Cyrl", project=latin.project, fuzzy=False)
    for message in latin:
        if not message.id:
            continue
        original = " ".join(message.id) if isinstance(message.id, tuple | list) else message.id
        if isinstance(message.string, tuple | list):
            string: str | tuple[str, ...] = tuple(to_cyrillic(s, original) for s in message.string)
        else:
            string = to_cyrillic(message.string, original)
        cyrillic.add(message.id, string, flags=message.flags)
    target = LOCALE / "sr_Cyrl" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        handle.write(
            b"# Serbian (Cyrillic) translations for diaspora-platform, written by\n"
            b"# tools/cyrillic_catalogue.py from the Serbian (Latin) catalogue: edit that one, not this.\n"
        )
        write_po(handle, cyrillic, width=110, omit_header=False, sort_output=True)


if __name__ == "__main__":
    main()
