"""Idempotency-Key across processes and failures, against ``run.py serve`` as shipped: whatever
happens to the first request, one key makes at most one event."""

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import aiohttp
import asyncpg

from tests.faults.conftest import StartServer
from tests.support.answers import Answer, ask
from tests.support.commits import blocked_commit, log_head_held
from tests.support.shop import FUNKOS, funko_fields
from tests.support.tokens import ADMIN


async def created_named(url: str, name: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        sql = "SELECT count(*) FROM events WHERE type = 'CREATE' AND data->>'name' = $1"
        return int(await conn.fetchval(sql, name))
    finally:
        await conn.close()


def post(
    session: aiohttp.ClientSession, fields: dict[str, object], key: str
) -> "asyncio.Task[Answer]":
    headers = {**ADMIN, "Idempotency-Key": key}
    return asyncio.create_task(ask(session, "POST", FUNKOS, json=fields, headers=headers))


@asynccontextmanager
async def posted_until_commit(
    url: str, session: aiohttp.ClientSession, fields: dict[str, object], key: str
) -> AsyncIterator["asyncio.Task[Answer]"]:
    """A keyed create, sent and held in its commit (the log head locked) for the block."""
    async with log_head_held(url):
        pending = post(session, fields, key)
        await blocked_commit(url)
        yield pending


async def test_twenty_identical_requests_over_two_processes_make_one_event(
    fresh_database: str, servers: StartServer
) -> None:
    both = [await servers(fresh_database), await servers(fresh_database)]
    fields, key = funko_fields(), uuid4().hex
    sessions = [aiohttp.ClientSession(base_url=s.base) for s in both]
    try:
        answers = await asyncio.gather(*(post(sessions[n % 2], fields, key) for n in range(20)))
    finally:
        for session in sessions:
            await session.close()

    assert {a.status for a in answers} == {201}, answers
    assert len({a.json()["id"] for a in answers}) == 1
    assert await created_named(fresh_database, str(fields["name"])) == 1


async def test_a_request_killed_mid_write_and_retried_after_a_restart_makes_one_event(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database)
    fields, key = funko_fields(), uuid4().hex
    async with aiohttp.ClientSession(base_url=server.base) as session:
        async with posted_until_commit(fresh_database, session, fields, key) as pending:
            server.signal(signal.SIGKILL)
            await server.exited(within=5)
        assert (await asyncio.gather(pending, return_exceptions=True))[0] is not None
    restarted = await servers(fresh_database, port=server.port)
    async with aiohttp.ClientSession(base_url=restarted.base) as session:
        retried = await post(session, fields, key)
        again = await post(session, fields, key)

    assert retried.status == 201, retried
    assert again.status == 201 and again.json()["id"] == retried.json()["id"]
    assert await created_named(fresh_database, str(fields["name"])) == 1


async def test_a_request_whose_answer_was_lost_is_answered_again_after_a_restart(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database)
    fields, key = funko_fields(), uuid4().hex
    async with aiohttp.ClientSession(base_url=server.base) as session:
        async with posted_until_commit(fresh_database, session, fields, key) as pending:
            pending.cancel()  # the client gives up; the server's commit goes on once let
        for _ in range(100):  # the commit, now that the lock is free
            if await created_named(fresh_database, str(fields["name"])):
                break
            await asyncio.sleep(0.02)
    server.signal(signal.SIGKILL)
    await server.exited(within=5)
    restarted = await servers(fresh_database)
    headers = {**ADMIN, "Idempotency-Key": key}
    async with (
        aiohttp.ClientSession(base_url=restarted.base) as session,
        session.post(FUNKOS, json=fields, headers=headers) as retried,
    ):
        assert retried.status == 201, await retried.text()
        assert retried.headers["Idempotent-Replayed"] == "true"
    assert await created_named(fresh_database, str(fields["name"])) == 1


async def test_a_request_answered_503_at_its_deadline_is_retried_once(
    fresh_database: str, servers: StartServer
) -> None:
    server = await servers(fresh_database)
    fields, key = funko_fields(), uuid4().hex
    async with aiohttp.ClientSession(base_url=server.base) as session:
        async with log_head_held(fresh_database):
            first = await post(session, fields, key)  # waits past the 3 s deadline
        retried = await post(session, fields, key)

    assert first.status == 503, first
    assert retried.status == 201, retried
    assert await created_named(fresh_database, str(fields["name"])) == 1
