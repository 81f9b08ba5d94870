"""Answers whose timing must not tell what the database holds (whether an email has an account)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio


@asynccontextmanager
async def no_sooner_than(milliseconds: int) -> AsyncIterator[None]:
    """Let the block finish, then wait out the rest of `milliseconds` from its start. Put the commit
    inside the block: writing more rows takes longer, and the floor must cover it."""
    deadline = time.monotonic() + milliseconds / 1000
    yield
    remaining = deadline - time.monotonic()
    if remaining > 0:
        await anyio.sleep(remaining)
