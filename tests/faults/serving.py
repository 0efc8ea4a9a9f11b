"""``run.py serve`` as operators run it: a real process the fault tests can signal and restart."""

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.shop import decode
from tests.faults.private_postgres import free_port
from web.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
SECRET = "faults-secret-" + "0123456789abcdef" * 4
START_TIMEOUT = 30.0


def bearer(role: str, sub: str = "faults") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role, sub, 600)}"}


ADMIN = bearer("admin")
AUDITOR = bearer("auditor", "faults-auditor")


class ServerProcess:
    """One ``run.py serve``: its address, its process, and its log (kept for failures)."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.base = f"http://127.0.0.1:{port}"

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    async def exited(self, within: float) -> int:
        """The exit code, once the process has ended (fails after ``within`` seconds)."""
        return await asyncio.wait_for(self.process.wait(), within)

    def log_tail(self, size: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""

    async def kill(self) -> None:
        if self.running:
            self.process.kill()
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
            sys.executable, "run.py", "serve", cwd=ROOT, env=environment, stdout=out, stderr=out
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


@dataclass(frozen=True)
class Answer:
    """What a request got: status, media type, body, and how long it took."""

    status: int
    content_type: str
    text: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.text)


async def ask(session: aiohttp.ClientSession, method: str, path: str, **options: Any) -> Answer:
    """One request through ``session``, timed; a transport error is an AssertionError."""
    started = time.monotonic()
    try:
        async with session.request(method, path, **options) as response:
            text = await response.text()
            return Answer(response.status, response.content_type, text, time.monotonic() - started)
    except (aiohttp.ClientError, TimeoutError) as error:
        elapsed = time.monotonic() - started
        raise AssertionError(f"{method} {path}: no answer in {elapsed:.1f} s ({error!r})") from None


async def events_page(session: aiohttp.ClientSession, after: int, limit: int) -> Any:
    """One page of GET /api/v1/events, as an auditor reads it (prices as exact decimals)."""
    params = {"after": after, "limit": limit}
    answer = await ask(session, "GET", "/api/v1/events", params=params, headers=AUDITOR)
    assert answer.status == 200, answer
    return decode(answer.text)


async def events_after(session: aiohttp.ClientSession, after: int) -> list[dict[str, Any]]:
    """Every event after ``after``, page by page."""
    events: list[dict[str, Any]] = []
    while True:
        page = await events_page(session, after, 1000)
        events += page["events"]
        if page["next"] >= page["head"]:
            return events
        after = page["next"]
