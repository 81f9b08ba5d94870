"""Can a stranger tell from the timing whether an email has an account?

Registration, password reset and login are timed for an email that has an account and one that does
not, alternating, against the app in process on a fresh SQLite database with the production password
hashing. Registration and reset run twice in the same run: with the default answer floor
(`DIASPORA_ANONYMOUS_ANSWER_FLOOR_MS`) and without it, as the baseline that shows what the floor hides.
Login needs no floor: an unknown email is checked against a dummy hash of the same cost.

    python bench/enumeration.py [--rounds 40]

Reported per endpoint: median and 90th percentile for known and unknown emails, and the gap of the
medians as a share of the median (the smaller, the less a stranger learns).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from diaspora.platform.app import create_app
from diaspora.platform.db import migrate
from diaspora.platform.settings import Settings

PASSWORD = "correct horse battery"  # noqa: S105 - a test account's


def _known_account(url: str) -> str:
    import msgspec
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from diaspora.platform.accounts import services
    from diaspora.platform.accounts.schemas import RegistrationIn
    from diaspora.platform.db.models import Role
    from diaspora.platform.wiring import open_database

    email = "known@example.org"
    data = msgspec.convert({"email": email, "password": PASSWORD, "display_name": "Known"}, RegistrationIn)

    async def run() -> None:
        engine = open_database(url)
        async with async_sessionmaker(engine)() as session, session.begin():
            await services.create_account(session, data, role=Role.MEMBER, verified=True)
        await engine.dispose()

    asyncio.run(run())
    return email


def _time(client: TestClient[Any], path: str, body: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code < 500, response.text
    return elapsed


def measure(floor_ms: int | None, rounds: int) -> dict[str, dict[str, list[float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            search_sync_in_process=False,
            auth_attempts_per_minute=1_000_000,
            login_failures_per_account=1_000_000,
        )
        if floor_ms is not None:
            settings = settings.model_copy(update={"anonymous_answer_floor_ms": floor_ms})
        migrate.upgrade(settings.effective_database_url)
        known = _known_account(settings.effective_database_url)
        times: dict[str, dict[str, list[float]]] = {}
        with TestClient(create_app(settings), base_url="http://testserver.local") as client:
            for n in range(rounds):
                unknown = f"nobody-{n}@example.org"
                for kind, email in (("known", known), ("unknown", unknown)):
                    register = {"email": email, "password": PASSWORD, "display_name": "Someone"}
                    for name, path, body in (
                        ("register", "/api/auth/register", register),
                        ("reset", "/api/auth/password-reset", {"email": email}),
                        (
                            "login (wrong password)",
                            "/api/auth/login",
                            {"email": email, "password": "wrong-one!"},
                        ),
                    ):
                        times.setdefault(name, {}).setdefault(kind, []).append(_time(client, path, body))
    return times


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def report(label: str, times: dict[str, dict[str, list[float]]], only: tuple[str, ...]) -> None:
    print(f"\n{label}")
    columns = ("known p50", "unknown p50", "known p90", "unknown p90", "gap")
    print(f"{'endpoint':<24}" + "".join(f"{c:>13}" for c in columns))
    for name in only:
        known, unknown = times[name]["known"], times[name]["unknown"]
        k50, u50 = statistics.median(known), statistics.median(unknown)
        gap = abs(k50 - u50) / max(k50, u50)
        cells = [f"{v:.1f} ms" for v in (k50, u50, _p90(known), _p90(unknown))] + [f"{gap:.1%}"]
        print(f"{name:<24}" + "".join(f"{c:>13}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    print("$ python bench/enumeration.py " + " ".join(sys.argv[1:]))
    floor = Settings().anonymous_answer_floor_ms
    with_floor = measure(None, args.rounds)
    without = measure(0, args.rounds)
    report(f"with the answer floor ({floor} ms, the default)", with_floor, ("register", "reset"))
    report("baseline: no floor", without, ("register", "reset"))
    report(
        "login (no floor needed: a dummy hash for unknown emails)", with_floor, ("login (wrong password)",)
    )


if __name__ == "__main__":
    main()
