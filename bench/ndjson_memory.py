"""NDJSON streaming memory: the server's RSS while GET /api/v1/events streams the log.

An auditor client asks for ``Accept: application/x-ndjson`` after a position, counts the
lines and bytes it receives and drops them. Before each stream the server is left to settle
and its VmRSS is read; during the stream VmRSS is sampled every SAMPLE seconds, and once more
after it settles again; the growth is the highest of those readings minus the one before.
"""

import asyncio
import time
from contextlib import suppress
from typing import Any

import aiohttp

from bench.procs import HOST, Server, real_server

PATH = "/api/v1/events"
NDJSON = "application/x-ndjson"
WARM = 2_000  # events of an untimed first stream: code paths loaded, pool connections open
SAMPLE = 0.02  # seconds between VmRSS readings while streaming
SETTLE = 1.0  # seconds for the server to go quiet before RSS is read


async def stream(server: Server, after: int) -> dict[str, Any]:
    """Every event after ``after`` as NDJSON: status, lines, bytes, seconds, X-Log-Head."""
    headers = {"Accept": NDJSON, "Authorization": f"Bearer {server.token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    lines = size = 0
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://{HOST}:{server.port}{PATH}?after={after}", headers=headers) as got,
    ):
        async for chunk in got.content.iter_any():
            lines += chunk.count(b"\n")
            size += len(chunk)
    return {
        "status": got.status,
        "events": lines,
        "bytes": size,
        "seconds": time.perf_counter() - started,
        "head": int(got.headers.get("X-Log-Head", -1)),
    }


async def _sample(server: Server, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], server.rss_kib())
        await asyncio.sleep(SAMPLE)


async def measure(server: Server, after: int) -> dict[str, Any]:
    """One stream after ``after`` with the server's RSS read before, during and after it."""
    await asyncio.sleep(SETTLE)
    before, hwm_before = server.rss_kib(), server.rss_kib("VmHWM")
    peak = [before]
    sampler = asyncio.create_task(_sample(server, peak))
    try:
        streamed = await stream(server, after)
    finally:
        sampler.cancel()
        with suppress(asyncio.CancelledError):
            await sampler
    await asyncio.sleep(SETTLE)
    settled = server.rss_kib()
    highest = max(peak[0], settled)
    return {
        **streamed,
        "rss_before_kib": before,
        "rss_peak_kib": highest,
        "rss_after_kib": settled,
        "hwm_before_kib": hwm_before,
        "hwm_after_kib": server.rss_kib("VmHWM"),
        "growth_mib": (highest - before) / 1024,
    }


async def run(url: str, head: int, tail: int) -> dict[str, dict[str, Any]]:
    """The last ``tail`` events, then the whole log, each streamed and measured."""
    async with real_server(url, "auditor") as server:
        await stream(server, max(0, head - WARM))
        measured_tail = await measure(server, max(0, head - tail))
        measured_full = await measure(server, 0)
    return {"tail": measured_tail, "full": measured_full}
