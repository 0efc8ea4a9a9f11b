"""HTTP: the real server (``run.py serve``) in a subprocess, driven by bench.loadgen."""

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import IO, Any

from bench.context import Context
from bench.db import count_events
from bench.result import Result, throughput
from infrastructure.settings import ROOT
from web.auth import issue_token

HOST = "127.0.0.1"
CONNECTIONS = 64


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


def server(url: str, port: int, secret: str, log: IO[bytes]) -> AbstractAsyncContextManager[int]:
    """The real server (run.py serve) on ``port`` and the database ``url``."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOST": HOST,
        "PORT": str(port),
        "FUNKO_JWT_SECRET": secret,
    }
    return serving([sys.executable, "run.py", "serve"], port, log, env)


def py_spy() -> str | None:
    """py-spy's path (the venv's or on PATH), or None with a hint."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        print("BENCH_PROFILE: py-spy is not installed (pip install py-spy)", file=sys.stderr)
    return found


async def _profile(spy: str, pid: int, delay: float, seconds: float, output: str) -> None:
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
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()


async def _load(ports: list[int], token: str, warmup: float, seconds: float) -> dict[str, Any]:
    options = {
        "host": HOST,
        "ports": ports,
        "token": token,
        "connections": CONNECTIONS,
        "warmup": warmup,
        "seconds": seconds,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        json.dumps(options),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator exited with {proc.returncode}")
    summary: dict[str, Any] = json.loads(out)
    return summary


async def run(ctx: Context, processes: int = 1) -> Result:
    """POSTs from 64 connections spread over ``processes`` servers sharing the database."""
    url, warmup, seconds = ctx.url, ctx.config.warmup, ctx.config.seconds
    profile = ctx.config.profile
    secret = secrets.token_urlsafe(32)
    token = issue_token(secret, "admin", "bench", 3600)
    ports = [free_port() for _ in range(processes)]
    spy = py_spy() if profile else None
    before = await count_events(url)
    with tempfile.TemporaryFile() as log:
        try:
            async with AsyncExitStack() as servers:
                pids = [
                    await servers.enter_async_context(server(url, port, secret, log))
                    for port in ports
                ]
                spying = None
                if spy and profile:
                    spying = asyncio.create_task(_profile(spy, pids[0], warmup, seconds, profile))
                summary = await _load(ports, token, warmup, seconds)
                if spying is not None:
                    await spying
        except BaseException:
            log.seek(0)
            tail = log.read()[-4000:].decode(errors="replace")
            print(f"--- server log (tail) ---\n{tail}", file=sys.stderr)
            raise
    logged = await count_events(url) - before
    result = throughput(summary)
    created = int(summary["created"])
    result.checks[f"events logged = 201s ({logged} logged, {created} x 201)"] = logged == created
    result.extra.update(
        connections=CONNECTIONS,
        server_processes=processes,
        created_201=created,
        events_logged=logged,
        log_matches_201s=logged == created,
        profile=profile if spy else None,
    )
    return result
