"""What the consumer groups' fault tests put on the servers and read back: Funkos written
over HTTP (histories of updates, or just created), the log as an auditor reads it, a worker's
resident memory, and a count that has stopped moving."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.answers import ask, events_after
from tests.support.shop import FUNKOS, funko_fields
from tests.support.tokens import ADMIN

HISTORIES, UPDATES, WRITERS = 30, 4, 6


async def write_histories(session: aiohttp.ClientSession, base: str, writer: int) -> None:
    """HISTORIES / WRITERS Funkos, each created then updated UPDATES times, paced a little so
    the writes go on while members consume and a server dies."""
    for _ in range(HISTORIES // WRITERS):
        created = await ask(session, "POST", f"{base}{FUNKOS}", json=funko_fields(), headers=ADMIN)
        assert created.status == 201, created
        for stock in range(1, UPDATES + 1):
            path = f"{base}{FUNKOS}/{created.json()['id']}"
            patched = await ask(session, "PATCH", path, json={"stock": stock}, headers=ADMIN)
            assert patched.status == 200, patched
            await asyncio.sleep(0.03)


async def log_after(base: str, after: int) -> list[dict[str, Any]]:
    """The log's events after ``after``, as an auditor of the server at ``base`` reads them."""
    async with aiohttp.ClientSession(base_url=base) as session:
        return await events_after(session, after)


async def create_funkos(session: aiohttp.ClientSession, base: str, count: int) -> None:
    for _ in range(count):
        created = await ask(session, "POST", f"{base}{FUNKOS}", json=funko_fields(), headers=ADMIN)
        assert created.status == 201, created


async def settled(count: Callable[[], int], target: int, quiet: float, within: float) -> int:
    """``count()`` once it reaches ``target`` or stops moving for ``quiet`` seconds (or
    ``within`` seconds have passed)."""
    loop = asyncio.get_running_loop()
    deadline, seen, moved = loop.time() + within, count(), loop.time()
    while seen < target and loop.time() - moved < quiet and loop.time() < deadline:
        await asyncio.sleep(0.05)
        if count() != seen:
            seen, moved = count(), loop.time()
    return seen


def rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")
