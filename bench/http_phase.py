"""HTTP: the real server (``run.py serve``) in a subprocess, driven by bench.loadgen."""

import asyncio
import json
import secrets
from contextlib import AsyncExitStack
from typing import Any

from bench.context import Context
from bench.db import count_events
from bench.procs import HOST, free_port, logged_to, py_spy, python_module, record_profile, server
from bench.result import Result, throughput
from web.auth import issue_token

CONNECTIONS = 64


async def _load(ports: list[int], token: str, warmup: float, seconds: float) -> dict[str, Any]:
    options = {
        "host": HOST,
        "ports": ports,
        "token": token,
        "connections": CONNECTIONS,
        "warmup": warmup,
        "seconds": seconds,
    }
    proc = await python_module("bench.loadgen", options, stdout=asyncio.subprocess.PIPE)
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
    async with logged_to("server") as log, AsyncExitStack() as servers:
        pids = [await servers.enter_async_context(server(url, port, secret, log)) for port in ports]
        spying = None
        if spy and profile:
            spying = asyncio.create_task(record_profile(spy, pids[0], warmup, seconds, profile))
        summary = await _load(ports, token, warmup, seconds)
        if spying is not None:
            await spying
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
