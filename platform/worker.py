"""The background worker: the same background jobs the web process runs in embedded mode (see `jobs`),
in a process of its own for deployments with a worker."""

from __future__ import annotations

import asyncio
import logging
import signal

from diaspora.platform.settings import Settings
from diaspora.platform.wiring import build_platform

log = logging.getLogger("diaspora.worker")


async def run_forever(settings: Settings, *, interval_seconds: float | None = None) -> None:
    if interval_seconds is not None:
        settings = settings.model_copy(update={"housekeeping_interval_seconds": interval_seconds})
    parts = build_platform(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started")
    try:
        await parts.jobs.run(stop)
    finally:
        stop.set()
        await parts.close()
        log.info("worker stopped")
