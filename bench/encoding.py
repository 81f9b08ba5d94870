"""Encoding throughput (texts per second): the packaged models against plain sentence-transformers
MiniLM in the same run, then one model's default batch size against tuned ones.

Texts are canonical profile texts of the synthetic demo data set (realistic lengths). On a machine with a
CUDA GPU, the same measurement runs there too (`--device cuda`).

    python bench/encoding.py [--texts 1000] [--device cpu|cuda] [--model M] [--batches 16 64 128 256]
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from diaspora.matching.documents import ProfileDocument, Skill
from diaspora.matching.encoder import (
    BLENDED_MODEL,
    MULTILINGUAL_MODEL,
    PACKAGED_MODEL,
    Encoder,
    make_encoder,
)
from diaspora.matching.texts import profile_text

DEFAULT_BATCH = 32  # sentence-transformers' own default


def demo_texts(n: int, seed: int = 3) -> list[str]:
    from diaspora.platform.demo.catalogue import PROFESSIONS, RESIDENCE

    rng = random.Random(seed)
    texts = []
    for i in range(n):
        profession = PROFESSIONS[i % len(PROFESSIONS)]
        skills = rng.sample(profession.skills, k=rng.randint(3, len(profession.skills)))
        document = ProfileDocument(
            f"p{i}",
            headline=f"{profession.headline} in {rng.choice(RESIDENCE)}",
            summary=f"{profession.summary} {rng.randint(2, 30)} years of experience.",
            skills=tuple(Skill(s) for s in skills),
            sectors=(profession.sector,),
        )
        texts.append(profile_text(document))
    return texts


def measure(encoder: Encoder, texts: list[str], batch_size: int, repeats: int) -> float:
    encoder.encode(texts[: batch_size * 2], batch_size=batch_size)  # warm-up
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        encoder.encode(texts, batch_size=batch_size)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=BLENDED_MODEL, help="the model whose batch sizes are compared")
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64, 128, 256])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    print("$ python bench/encoding.py " + " ".join(sys.argv[1:]))
    texts = demo_texts(args.texts)
    print(f"\n{len(texts)} canonical profile texts, {args.device}, batch {DEFAULT_BATCH}")
    print("model | texts/s | vs MiniLM")
    print("------|---------|----------")
    minilm = None
    for name in (PACKAGED_MODEL, MULTILINGUAL_MODEL, BLENDED_MODEL):
        rate = measure(make_encoder(name, device=args.device), texts, DEFAULT_BATCH, args.repeats)
        minilm = minilm or rate
        print(f"{name} | {rate:.0f} | {rate / minilm:.2f}")
    print()

    encoder = make_encoder(args.model, device=args.device)
    rows = []
    baseline = measure(encoder, texts, DEFAULT_BATCH, args.repeats)
    rows.append((args.device, DEFAULT_BATCH, f"{baseline:.0f}", "1.00 (default)"))
    for batch in args.batches:
        rate = measure(encoder, texts, batch, args.repeats)
        rows.append((args.device, batch, f"{rate:.0f}", f"{rate / baseline:.2f}"))
    device_name = (
        torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else f"{torch.get_num_threads()} CPU threads"
    )
    print(f"model {args.model}; {len(texts)} canonical profile texts; {device_name}")
    print("device | batch | texts/s | vs default")
    print("-------|-------|---------|-----------")
    for row in rows:
        print(" | ".join(str(c) for c in row))
    print(f"\ncommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
