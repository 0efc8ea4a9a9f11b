"""The bench's processes: the servers under test (run.py serve, the baseline broadcaster),
the load generator and the subscriber process."""

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import IO, Any

from infrastructure.settings import ROOT
from web.auth import issue_token

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def _healthy(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return False
    try:
        writer.write(f"GET /health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        return (await reader.readline()).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        writer.close()


@asynccontextmanager
async def serving(
    argv: list[str], port: int, log: IO[bytes], env: dict[str, str] | None = None
) -> AsyncIterator[int]:
    """Start ``argv``, wait until GET /health on ``port`` answers, yield its pid; SIGINT it
    (SIGKILL after 15 s) on the way out."""
    proc = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        async with asyncio.timeout(60):
            while not await _healthy(port):
                if proc.returncode is not None:
                    raise RuntimeError(f"{argv[1:]} exited with {proc.returncode}")
                await asyncio.sleep(0.1)
        yield proc.pid
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def server(
    url: str,
    port: int,
    secret: str,
    log: IO[bytes],
    workers: int = 1,
    replica_url: str | None = None,
) -> AbstractAsyncContextManager[int]:
    """The real server (run.py serve) on ``port`` and the database ``url``, with ``workers``;
    reading the streaming replica at ``replica_url`` if one is given, else the primary only."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_REPLICA_URL": replica_url or "",  # empty: none, whatever the bench was given
        "HOST": HOST,
        "PORT": str(port),
        "FUNKO_JWT_SECRET": secret,
        "WORKERS": str(workers),
    }
    return serving([sys.executable, "run.py", "serve"], port, log, env)


async def python_module(module: str, options: dict[str, Any], **streams: Any) -> Process:
    """``python -m module <options as JSON>`` from the project's root, started."""
    argv = [sys.executable, "-m", module, json.dumps(options)]
    return await asyncio.create_subprocess_exec(*argv, cwd=ROOT, **streams)


class Server:
    """A started server: where it listens, its pid, and a bearer token for it."""

    def __init__(self, port: int, pid: int, token: str) -> None:
        self.port, self.pid, self.token = port, pid, token

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far: its processes together (run.py
        serve's arbiter and its workers)."""
        return cpu_seconds(self.pid)

    def rss_kib(self, field: str = "VmRSS") -> int:
        """The server's resident set size (or its peak, ``VmHWM``), KiB: its processes' sum."""
        total = 0
        for pid in _family(self.pid):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time that ``pid`` and its descendants have used so far."""
    ticks = 0
    for member in _family(pid):
        try:
            fields = _stat(member)
        except OSError:
            continue  # gone meanwhile
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _family(pid: int) -> list[int]:
    """``pid`` and every process descended from it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError):
                continue  # gone meanwhile
    family, grown = {pid}, True
    while grown:
        children = {child for child, parent in parents.items() if parent in family}
        grown = not children <= family
        family |= children
    return sorted(family)


@asynccontextmanager
async def logged_to(what: str) -> AsyncIterator[Any]:
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
    async with logged_to("server") as log, server(url, port, secret, log) as pid:
        yield Server(port, pid, issue_token(secret, role, "bench", 3600))


@asynccontextmanager
async def baseline_server() -> AsyncIterator[Server]:
    """bench.broadcast_server on a free port."""
    port = free_port()
    async with logged_to("baseline server") as log:
        argv = [sys.executable, "-m", "bench.broadcast_server", str(port)]
        async with serving(argv, port, log) as pid:
            yield Server(port, pid, "")


STREAM_PATHS = {"ws": "/ws/v1/funkos", "sse": "/api/v1/stream"}


class ClientProcess:
    """A bench client in a process of its own (bench.wsclient, bench.memberclient): one JSON
    line when ready, then, told what to expect on stdin, one summary line, and it exits."""

    what = "client"
    finish_within = 120.0

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @property
    def pid(self) -> int:
        return self._proc.pid

    @classmethod
    @asynccontextmanager
    async def started(cls, module: str, options: dict[str, Any]) -> AsyncIterator[Any]:
        pipes = {"stdin": asyncio.subprocess.PIPE, "stdout": asyncio.subprocess.PIPE}
        proc = await python_module(module, options, limit=1 << 20, **pipes)
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
            raise RuntimeError(f"the {self.what} process exited with {await self._proc.wait()}")
        document: dict[str, Any] = json.loads(line)
        return document

    async def finish(
        self, expected: list[int], sent: list[list[float]] | None = None
    ) -> dict[str, Any]:
        """The summary once every client has ``expected``, with end-to-end latencies of the
        positions in ``sent`` ([position, when its write was sent (time.monotonic())]…); then
        exit."""
        assert self._proc.stdin is not None
        command = {"expected": expected, "sent": sent or []}
        self._proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self._proc.stdin.drain()
        summary = await self._line(self.finish_within)
        await asyncio.wait_for(self._proc.wait(), 30)
        return summary


class Subscribers(ClientProcess):
    """The bench.wsclient process: ``ready()`` after every CAUGHT_UP, then ``finish()``."""

    what = "subscriber"

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        port: int,
        count: int,
        after: int | None = None,
        timing: bool = True,
        transport: str = "ws",
    ) -> AsyncIterator["Subscribers"]:
        """``count`` subscribers on ``transport``: "ws" (GET /ws/v1/funkos) or "sse" (GET
        /api/v1/stream)."""
        path = STREAM_PATHS[transport] + ("" if after is None else f"?after={after}")
        options = {"host": HOST, "port": port, "path": path, "count": count}
        options.update(timing=timing, after=after, transport=transport)
        async with cls.started("bench.wsclient", options) as subscribers:
            yield subscribers

    async def ready(self) -> dict[str, Any]:
        """Connect and catch-up figures, once every subscriber has had CAUGHT_UP."""
        return await self._line(600)


async def write_paced(
    server: Server, rate: float, count: int, measure_from: int = 0
) -> dict[str, Any]:
    """The paced writer (bench.writer) in a process of its own against ``server``: ``count``
    creates at ``rate`` per second; its report (figures, every 201's position, and the send
    times of those from index ``measure_from`` on)."""
    options = {"host": HOST, "port": server.port, "token": server.token, "rate": rate}
    options.update(count=count, measure_from=measure_from)
    proc = await python_module(
        "bench.writer", options, stdout=asyncio.subprocess.PIPE, limit=1 << 24
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), count / rate + 120)
        code = await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if not line or code:
        raise RuntimeError(f"the writer process exited with {code}")
    report: dict[str, Any] = json.loads(line)
    return report


def py_spy() -> str | None:
    """py-spy's path (the venv's or on PATH), or None with a hint."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        print("BENCH_PROFILE: py-spy is not installed (pip install py-spy)", file=sys.stderr)
    return found


async def record_profile(spy: str, pid: int, delay: float, seconds: float, output: str) -> None:
    """py-spy over the measuring span (BENCH_PROFILE)."""
    await asyncio.sleep(delay)
    proc = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--nonblocking",
        "--format",
        "speedscope",
        "-o",
        output,
        "-d",
        str(max(1, int(seconds))),
        "--pid",
        str(pid),
        "--subprocesses",  # run.py serve's workers are the arbiter's children
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()
