"""Processes of the stream phases: the servers under test and the subscriber process."""

import asyncio
import json
import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench import http_phase
from bench.http_phase import HOST, free_port
from infrastructure.settings import ROOT
from web.auth import issue_token


class Server:
    """A started server: where it listens, its pid, and a bearer token for it."""

    def __init__(self, port: int, pid: int, token: str) -> None:
        self.port, self.pid, self.token = port, pid, token

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self, field: str = "VmRSS") -> int:
        """The process's resident set size (or its peak, ``VmHWM``), KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} for pid {self.pid}")


@asynccontextmanager
async def _logged(what: str) -> AsyncIterator[Any]:
    """A temporary log file for a server; its tail is printed if the block fails."""
    with tempfile.TemporaryFile() as log:
        try:
            yield log
        except BaseException:
            log.seek(0)
            tail = log.read()[-4000:].decode(errors="replace")
            print(f"--- {what} log (tail) ---\n{tail}", file=sys.stderr)
            raise


@asynccontextmanager
async def real_server(url: str, role: str = "admin") -> AsyncIterator[Server]:
    """``run.py serve`` on a free port against ``url``, with a token in ``role``."""
    secret, port = secrets.token_urlsafe(32), free_port()
    async with _logged("server") as log, http_phase.server(url, port, secret, log) as pid:
        yield Server(port, pid, issue_token(secret, role, "bench", 3600))


@asynccontextmanager
async def baseline_server() -> AsyncIterator[Server]:
    """bench.broadcast_server on a free port."""
    port = free_port()
    async with _logged("baseline server") as log:
        argv = [sys.executable, "-m", "bench.broadcast_server", str(port)]
        async with http_phase.serving(argv, port, log) as pid:
            yield Server(port, pid, "")


class Subscribers:
    """The bench.wsclient process: ``ready()`` after every CAUGHT_UP, then ``finish()``."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, port: int, count: int, after: int | None = None, timing: bool = True
    ) -> AsyncIterator["Subscribers"]:
        path = "/ws/v1/funkos" + ("" if after is None else f"?after={after}")
        options = {"host": HOST, "port": port, "path": path, "count": count}
        options.update(timing=timing, after=after)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.wsclient",
            json.dumps(options),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
        try:
            yield cls(proc)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    async def _line(self, seconds: float) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), seconds)
        if not line:
            raise RuntimeError(f"the subscriber process exited with {await self._proc.wait()}")
        document: dict[str, Any] = json.loads(line)
        return document

    async def ready(self) -> dict[str, Any]:
        """Connect and catch-up figures, once every subscriber has had CAUGHT_UP."""
        return await self._line(600)

    async def finish(self, expected: list[int], measure_from: int = 0) -> dict[str, Any]:
        """Sequence checks and latencies once every subscriber has ``expected``; then exit."""
        assert self._proc.stdin is not None
        command = {"expected": expected, "measure_from": measure_from}
        self._proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self._proc.stdin.drain()
        summary = await self._line(120)
        await asyncio.wait_for(self._proc.wait(), 30)
        return summary
