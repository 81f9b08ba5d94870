"""One spelling for words written in either of the region's scripts.

Serbian is written in Cyrillic and Latin alike, Macedonian in Cyrillic, and people type whichever their
keyboard has, with or without diacritics. `to_latin` writes Serbian and Macedonian Cyrillic in Latin
letters (exact for Serbian: the two alphabets map one to one); `fold` is the key under which
"Ангиографија", "angiografija" and "Angiografija " meet, used wherever skills or labels are compared
by their words (skill coverage, taxonomy labels, search).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import cyrtranslit

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def has_cyrillic(text: str) -> bool:
    return bool(_CYRILLIC.search(text))


def to_latin(text: str) -> str:
    """Serbian and Macedonian Cyrillic in Latin letters (Serbian's rules first, then Macedonian's for
    the three letters Serbian lacks); text without Cyrillic comes back as it is."""
    if not has_cyrillic(text):
        return text
    return str(cyrtranslit.to_latin(cyrtranslit.to_latin(text, "sr"), "mk"))


def to_cyrillic(text: str) -> str:
    """Serbian Latin in Cyrillic letters (for finding what was typed in the other script)."""
    return str(cyrtranslit.to_cyrillic(text, "sr"))


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Case-, space-, accent- and script-insensitive form: Latin letters without diacritics.

    Remembered (skill names and titles repeat across every pair a request scores; folding one walks it
    letter by letter)."""
    decomposed = unicodedata.normalize("NFKD", to_latin(text).casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())
