"""What the groups phase drives and reads: the member process (bench.memberclient), a group's
admin routes on the server under test, the log's positions, and the CPU that the server and its
PostgreSQL backends use over a run.
"""

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.procs import HOST, ClientProcess, Server

GROUPS = "/api/v1/groups"


class Members(ClientProcess):
    """The bench.memberclient process: ``ready()`` once every member is connected, then
    ``finish()``."""

    what = "member"
    finish_within = 300.0

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, server: Server, group: str, count: int, work_ms: float = 0.0, prefetch: int = 100
    ) -> AsyncIterator["Members"]:
        """``count`` members of ``group``, each taking ``prefetch`` at most."""
        options = {"host": HOST, "port": server.port, "token": server.token, "count": count}
        options.update(path=f"/ws/v1/groups/{group}?prefetch={prefetch}", work_ms=work_ms)
        async with cls.started("bench.memberclient", options) as members:
            yield members

    async def ready(self) -> dict[str, Any]:
        return await self._line(60)


class Admin:
    """The server's group routes, with its admin token."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self._session, self._base = session, base

    @classmethod
    @asynccontextmanager
    async def of(cls, server: Server) -> AsyncIterator["Admin"]:
        headers = {"Authorization": f"Bearer {server.token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            yield cls(session, f"http://{HOST}:{server.port}{GROUPS}")

    async def create(self, name: str, start_after: int) -> None:
        body = {"startAfter": start_after}
        async with self._session.put(f"{self._base}/{name}", json=body) as response:
            if response.status != 201:
                raise RuntimeError(f"PUT group {name}: {response.status} {await response.text()}")

    async def standing(self, name: str) -> dict[str, Any]:
        async with self._session.get(f"{self._base}/{name}") as response:
            document: dict[str, Any] = await response.json()
            return document

    async def settled(self, name: str, head: int, seconds: float = 10.0) -> dict[str, Any]:
        """The group's standing once its checkpoint has reached ``head`` (or ``seconds`` on),
        with how long after the call that was."""
        began = time.monotonic()
        while True:
            standing = await self.standing(name)
            waited = time.monotonic() - began
            if standing["checkpoint"] >= head or waited > seconds:
                return {**standing, "waited_s": waited}
            await asyncio.sleep(0.02)

    async def delete(self, name: str) -> None:
        async with self._session.delete(f"{self._base}/{name}") as response:
            if response.status != 204:
                raise RuntimeError(f"DELETE group {name}: {response.status}")


async def backends_cpu(url: str) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each PostgreSQL backend connected to
    ``url``'s database, the asking one aside: the server's pool and listener."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return _used([int(row[0]) for row in rows])


def _used(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of ``pids`` (one gone meanwhile is left out)."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends used between two readings (one born meanwhile: all of its)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


class Usage:
    """The CPU seconds the server and its PostgreSQL backends use from ``start`` to ``done``."""

    def __init__(self, server: Server, url: str, backends: dict[int, float]) -> None:
        self.server, self.url, self.backends = server, url, backends
        self.began = server.cpu_seconds()

    @classmethod
    async def start(cls, server: Server, url: str) -> "Usage":
        return cls(server, url, await backends_cpu(url))

    async def done(self) -> dict[str, float]:
        return {
            "server_cpu_s": self.server.cpu_seconds() - self.began,
            "pg_cpu_s": cpu_between(self.backends, await backends_cpu(self.url)),
        }
