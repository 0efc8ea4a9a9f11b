"""``run.py serve`` as operators run it: a real process a test can signal, kill and restart,
on a port of its own, with its log in a file (kept, and shown when a test fails).

Every suite that needs the shipped server starts it here, with the tests' secret and any
environment variable overridden; ``Servers`` keeps those a test or a module started.
"""

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.support.cli import ROOT
from tests.support.ports import free_port
from tests.support.tokens import SECRET

START_TIMEOUT = 30.0


class ServerProcess:
    """One ``run.py serve``: its address, its process, and its log (kept for failures)."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.base = f"http://127.0.0.1:{port}"

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def signal(self, number: signal.Signals) -> None:
        """Send ``number`` to the server: SIGKILL to all its processes (a crash of the service
        kills its workers too), any other signal to the arbiter, which passes it on."""
        if number == signal.SIGKILL:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(number)

    def workers(self) -> list[int]:
        """The pids of the worker processes serving now."""
        tasks = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in tasks.read_text().split()]

    async def exited(self, within: float) -> int:
        """The exit code, once the process has ended (fails after ``within`` seconds)."""
        return await asyncio.wait_for(self.process.wait(), within)

    def log_tail(self, size: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""

    async def kill(self) -> None:
        if self.running:
            self.signal(signal.SIGKILL)
        await self.process.wait()


async def _healthy(session: aiohttp.ClientSession, server: ServerProcess) -> bool:
    try:
        async with session.get(f"{server.base}/health") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def start_server(
    database_url: str, log: Path, port: int | None = None, **env: str
) -> ServerProcess:
    """``run.py serve`` on ``port`` (by default a free one) against ``database_url``, once
    /health answers."""
    port = port or free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "FUNKO_JWT_SECRET": SECRET,
        **env,
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "run.py",
            "serve",
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its workers in its process group, killed with it
        )
    server = ServerProcess(process, port, log)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while not await _healthy(session, server):
            if not server.running or loop.time() > deadline:
                await server.kill()
                raise AssertionError(f"the server did not start:\n{server.log_tail()}")
            await asyncio.sleep(0.05)
    return server


class Servers:
    """The servers one test (or module) starts, each logging to a file of its own in ``logs``;
    ``stop`` kills any still running, ``tails`` is what each logged last."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[ServerProcess] = []

    async def start(self, database_url: str, port: int | None = None, **env: str) -> ServerProcess:
        """One more ``run.py serve`` on ``database_url`` (see ``start_server``)."""
        log = self.logs / f"server-{len(self.started)}.log"
        server = await start_server(database_url, log, port, **env)
        self.started.append(server)
        return server

    async def stop(self) -> None:
        for server in self.started:
            await server.kill()

    def tails(self) -> str:
        return "".join(f"--- {s.log.name} (tail) ---\n{s.log_tail()}\n" for s in self.started)
