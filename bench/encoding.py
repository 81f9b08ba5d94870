"""Encoding throughput (texts per second), in one run: each packaged model and the blend on the
product's back end (ONNX Runtime, int8 matrix products: `matching/onnx.py`) against plain
sentence-transformers (torch, its default batch of 32), with the cosine of their vectors; then one model's
back ends and batch sizes.

Texts are canonical profile texts of the synthetic demo data set (realistic lengths). On a machine with a
CUDA GPU, `--device cuda` measures torch there (ONNX Runtime runs on CPUs here).

    python bench/encoding.py [--texts 1000] [--device cpu|cuda] [--model M] [--batches 8 16 32 64]
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

from diaspora.matching.documents import ProfileDocument, Skill
from diaspora.matching.encoder import (
    BLENDED_MODEL,
    MULTILINGUAL_MODEL,
    PACKAGED_MODEL,
    Encoder,
    make_encoder,
)
from diaspora.matching.onnx import BACKENDS, DEFAULT_BACKEND
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
    encoder.encode(texts[: batch_size * 2], batch_size=batch_size)  # warm-up (and export, once)
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
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    print("$ python bench/encoding.py " + " ".join(sys.argv[1:]))
    texts = demo_texts(args.texts)
    device_name = (
        torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else f"{torch.get_num_threads()} CPU threads"
    )
    print(f"\n{len(texts)} canonical profile texts; {device_name}")
    print(f"model | plain sentence-transformers texts/s | {DEFAULT_BACKEND} texts/s | ratio | cosine min")
    print("------|------------------------------------|----------------|-------|-----------")
    for name in (PACKAGED_MODEL, MULTILINGUAL_MODEL, BLENDED_MODEL):
        plain = make_encoder(name, device=args.device, backend="torch")
        ours = make_encoder(name, device=args.device, backend=DEFAULT_BACKEND)
        plain_rate = measure(plain, texts, DEFAULT_BATCH, args.repeats)
        ours_rate = measure(ours, texts, ours.batch_size, args.repeats)
        cosine = float(np.min(np.sum(plain.encode(texts) * ours.encode(texts), axis=1)))
        print(f"{name} | {plain_rate:.0f} | {ours_rate:.0f} | {ours_rate / plain_rate:.2f} | {cosine:.4f}")
    print()

    rows = []
    baseline = 0.0
    for backend in BACKENDS:
        encoder = make_encoder(args.model, device=args.device, backend=backend)
        if encoder.backend != backend:
            continue  # ONNX Runtime runs on CPUs only
        for batch in args.batches:
            rate = measure(encoder, texts, batch, args.repeats)
            if backend == "torch" and batch == DEFAULT_BATCH:
                baseline = rate
            rows.append((backend, batch, rate))
    print(f"model {args.model}; {len(texts)} texts; {args.device}; ratio to torch at batch {DEFAULT_BATCH}")
    print("back end | batch | texts/s | ratio")
    print("---------|-------|---------|------")
    for backend, batch, rate in rows:
        ratio = f"{rate / baseline:.2f}" if baseline else "-"
        print(f"{backend} | {batch} | {rate:.0f} | {ratio}")
    print(f"\ncommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
