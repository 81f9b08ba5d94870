"""Which language a profile or post is written in, by `lingua-language-detector` (its models ship inside
the package: nothing is fetched).

The detector knows the region's languages and those of the main host countries. Serbian, Croatian and
Bosnian written in Latin script are one pluricentric language whose standards differ in a few words: the
code detected is stored, but people are shown "Bosnian, Croatian, Montenegrin or Serbian" unless the text
is in Cyrillic (`display_group`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

# ISO 639-1 codes of the languages told apart.
CODES = ("sq", "sr", "hr", "bs", "mk", "de", "en", "fr", "it", "sl", "tr")
SHARED_STANDARD = frozenset({"sr", "hr", "bs"})
MIN_LETTERS = 3  # fewer letters than this say nothing about a language

_detector: LanguageDetector | None = None
_lock = threading.Lock()


def _get_detector() -> LanguageDetector:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in CODES]
                # Preloaded: about 2 s once per process, then a fraction of a millisecond per text.
                _detector = (
                    LanguageDetectorBuilder.from_languages(*languages)
                    .with_preloaded_language_models()
                    .build()
                )
    return _detector


def warm_up() -> None:
    """Load the detector's models now (a web process does it in a thread at start-up)."""
    _get_detector()


def _enough_letters(text: str) -> bool:
    letters = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if letters >= MIN_LETTERS:
                return True
    return False


def identify(text: str) -> str | None:
    """The ISO 639-1 code of the language `text` is written in, or None when it cannot be told."""
    if not _enough_letters(text):
        return None
    language = _get_detector().detect_language_of(text)
    return None if language is None else str(language.iso_code_639_1.name).lower()


def identify_many(texts: list[str]) -> list[str | None]:
    """`identify` for many texts at once, spread over the cores."""
    found = _get_detector().detect_languages_in_parallel_of(texts) if texts else []
    return [
        None if language is None or not _enough_letters(text) else str(language.iso_code_639_1.name).lower()
        for text, language in zip(texts, found, strict=True)
    ]


def is_cyrillic(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum("\u0400" <= ch <= "\u04ff" for ch in letters) * 2 > len(letters)


def display_group(code: str | None, text: str) -> tuple[str, ...]:
    """The codes to name when telling people the language: the three of the shared standard for Latin
    Serbian, Croatian or Bosnian text, else the code itself."""
    if code is None:
        return ()
    if code in SHARED_STANDARD and not is_cyrillic(text):
        return ("bs", "hr", "cnr", "sr")
    return (code,)
