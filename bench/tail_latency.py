"""Tail latency of a live server with and without the heap frozen after start.

Python's full garbage collections walk every object alive; in a process holding the encoder, the language
detector and the ORM's caches, each one stalls every request in flight. The server freezes what it loaded
at start (`DIASPORA_WARM_UP_ON_START`, default on: `gc.collect(); gc.freeze()` after the warm-up). This
bench starts the server twice on the demo data (SQLite, embedded search), once with the freeze and once
without, and sends `GET /api/posts` at a fixed rate from a client that timestamps each request against
the moment it was due (an open loop: a stall delays every request queued behind it, as users see it;
wrk's closed loop would hide that).

    python bench/tail_latency.py [--rate 50] [--seconds 40] [--profiles 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

PATH = "/api/posts?limit=20"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(data: Path, freeze: bool) -> dict[str, str]:
    return {
        **os.environ,
        "DIASPORA_DATA_DIR": str(data),
        "DIASPORA_WARM_UP_ON_START": "true" if freeze else "false",
    }


def _cli(data: Path, *command: str) -> None:
    """One `diaspora` command over the data folder, quietly."""
    subprocess.run(
        [sys.executable, "-m", "diaspora.platform.cli", *command],
        env=_environment(data, True),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_ready(base: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the server did not start")


Request = tuple[str, dict[str, str] | None]  # a path and the headers to send it with


async def _load(
    base: str,
    rate: float,
    seconds: float,
    path: str = PATH,
    headers: dict[str, str] | None = None,
    *,
    rotate: Sequence[Request] = (),
) -> tuple[list[float], int]:
    """Latencies (ms, from each request's due time) of an open loop at `rate` per second: of `path`, or of
    the requests in `rotate`, one after the other."""
    latencies: list[float] = []
    errors = 0
    requests = list(rotate) or [(path, headers)]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one(due: float, request: Request) -> None:
            nonlocal errors
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            response = await client.get(request[0], headers=request[1])
            if response.status_code != 200:
                errors += 1
            latencies.append((time.perf_counter() - due) * 1000)

        start = time.perf_counter() + 0.2
        await asyncio.gather(
            *(one(start + i / rate, requests[i % len(requests)]) for i in range(int(rate * seconds)))
        )
    return latencies, errors


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


@contextlib.contextmanager
def _server(data: Path, freeze: bool, *options: str) -> Iterator[str]:
    """`diaspora serve` on a free port over the data folder, with further `options` of the command."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "diaspora.platform.cli", "serve", "--port", str(port), *options],
        env=_environment(data, freeze),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _measure(base: str, rate: float, seconds: float) -> tuple[list[float], int]:
    await _wait_ready(base)
    await asyncio.sleep(20)  # the warm-up (models, then the freeze) finishes in the background
    await _load(base, rate, 3)  # and the first requests fill the caches
    return await _load(base, rate, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--profiles", type=int, default=300)
    args = parser.parse_args()
    results: dict[str, tuple[list[float], int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        # The demo, its embeddings and its search indexes, prepared before either server starts, so that
        # neither spends the measured time encoding in the background.
        for command in (
            ["demo", "--profiles", str(args.profiles)],
            ["embeddings", "prepare"],  # the occupation labels, encoded once
            ["embeddings", "sync"],
            ["search", "sync"],
        ):
            _cli(data, *command)
        for name, freeze in (("heap frozen after start (default)", True), ("not frozen (baseline)", False)):
            with _server(data, freeze) as base:
                results[name] = asyncio.run(_measure(base, args.rate, args.seconds))
    command = f"python bench/tail_latency.py --rate {args.rate:g} --seconds {args.seconds:g}"
    print(f"$ {command} --profiles {args.profiles}")
    print(f"GET {PATH} at {args.rate:g} requests/s for {args.seconds:g} s, open loop; {sys.platform}")
    print("| server | p50 ms | p99 ms | p99.9 ms | max ms | errors |")
    print("|---|---|---|---|---|---|")
    for name, (latencies, errors) in results.items():
        print(
            f"| {name} | {statistics.median(latencies):.1f} | {_percentile(latencies, 99):.1f} | "
            f"{_percentile(latencies, 99.9):.1f} | {max(latencies):.1f} | {errors} |"
        )
    frozen, baseline = results["heap frozen after start (default)"][0], results["not frozen (baseline)"][0]
    print(
        f"ratio baseline / frozen: p99 {_percentile(baseline, 99) / _percentile(frozen, 99):.1f}x, "
        f"p99.9 {_percentile(baseline, 99.9) / _percentile(frozen, 99.9):.1f}x"
    )


if __name__ == "__main__":
    main()
