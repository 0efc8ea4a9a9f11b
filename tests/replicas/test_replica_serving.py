"""Servers reading a streaming replica (DATABASE_REPLICA_URL), as operators run them: two
``run.py serve`` processes on one primary, both pointed at its replica, while the replica's
replay is paused, and while the replica is stopped and started again.

What must hold throughout: a GET with X-Min-Position reflects every event up to it; the change
stream on either process delivers every event once, in order, and a subscriber resuming with
``after`` misses nothing; a replica that is gone costs clients no error. And the replica
really serves: without a position, a read on a process shows what the replica shows.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from tests.support.answers import metric
from tests.support.replication import Replication
from tests.support.servers import ServerProcess, Servers
from tests.support.shop import CATEGORIES, EVENTS, FUNKOS, decode, funko_fields, unique
from tests.support.streams import Listener, log_positions, subscribe
from tests.support.tokens import ADMIN, AUDITOR

pytestmark = pytest.mark.asyncio(loop_scope="module")
WITHIN = 15.0  # seconds for a stream to deliver, or /metrics to show a change
# Seconds for a notified event to reach subscribers, well below the reader's quiet spell (5 s),
# after which it would look at the log even if a notification had been missed.
NOTIFIED = 3.0


@pytest_asyncio.fixture(loop_scope="module")
async def servers(
    primary_and_replica: Replication, tmp_path: Path
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on the pair's primary, each reading its replica; logs shown on
    failure."""
    pair = primary_and_replica
    started = Servers(tmp_path)
    try:
        replica = pair.replica_url
        first = await started.start(pair.primary_url, DATABASE_REPLICA_URL=replica, WORKERS="1")
        second = await started.start(pair.primary_url, DATABASE_REPLICA_URL=replica, WORKERS="1")
        yield first, second
    finally:
        await started.stop()
        print(started.tails())


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = WITHIN) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.05)


async def reading(session: aiohttp.ClientSession, database: str) -> None:
    """Wait until the server's reads without a position go to ``database``."""

    async def there() -> bool:
        return await metric(session, "funko_reads_target", database=database) == 1

    await until(there, f"reads going to the {database}")


async def write(session: aiohttp.ClientSession, method: str, path: str, **body: Any) -> int:
    """A write's X-Log-Position."""
    async with session.request(method, path, json=body, headers=ADMIN) as response:
        assert response.status in (200, 201), await response.text()
        return int(response.headers["X-Log-Position"])


async def get(
    session: aiohttp.ClientSession,
    path: str,
    position: int | None = None,
    auth: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A GET's status and body, with X-Min-Position if given a position."""
    headers = dict(auth or {})
    if position is not None:
        headers["X-Min-Position"] = str(position)
    async with session.get(path, headers=headers) as response:
        text = await response.text()
        return response.status, decode(text) if response.status == 200 else text


async def test_reads_with_x_min_position_see_every_write_while_the_replica_is_paused(
    primary_and_replica: Replication, servers: tuple[ServerProcess, ServerProcess]
) -> None:
    pair, (a, b) = primary_and_replica, servers
    async with aiohttp.ClientSession(a.base) as on_a, aiohttp.ClientSession(b.base) as on_b:
        await reading(on_b, "replica")
        await pair.pause()
        name, category = unique("Paused"), unique("SHELF").upper()
        fields = funko_fields(name=name, category=category)
        async with on_a.post(FUNKOS, json=fields, headers=ADMIN) as response:
            assert response.status == 201
            funko_id, created = (
                (await response.json())["id"],
                int(response.headers["X-Log-Position"]),
            )
        one = f"{FUNKOS}/{funko_id}"

        # Without a position, B reads the paused replica: the Funko is not there yet.
        assert (await get(on_b, one))[0] == 404
        status, document = await get(on_b, one, created)
        assert (status, document["version"]) == (200, 1)

        changed = await write(on_a, "PATCH", one, stock=77)
        status, document = await get(on_b, one, changed)
        assert (status, document["version"], document["stock"]) == (200, 2, 77)
        status, page = await get(on_b, f"{FUNKOS}?name={name}", changed)
        assert (status, page["totalElements"]) == (200, 1), page
        assert page["content"][0]["stock"] == 77
        assert (await get(on_b, f"{FUNKOS}?name={name}"))[1]["totalElements"] == 0
        status, categories = await get(on_b, CATEGORIES, changed)
        assert {"name": category, "count": 1} in categories
        status, history = await get(on_b, f"{one}/history", changed, AUDITOR)
        assert [e["version"] for e in history["events"]] == [1, 2]
        status, first = await get(on_b, f"{one}/history/1", changed, AUDITOR)
        assert (status, first["stock"]) == (200, fields["stock"])
        # after=N reads from a database holding N: never "beyond the head" for a real position
        status, events = await get(on_b, f"{EVENTS}?after={created}", auth=AUDITOR)
        assert status == 200, events
        assert [e["position"] for e in events["events"]] == [changed]
        status, events = await get(on_b, f"{EVENTS}?after={changed}", auth=AUDITOR)
        assert (status, events["events"]) == (200, [])

        async def lagging() -> bool:
            return await metric(on_b, "funko_replica_lag_positions") >= 2

        await until(lagging, "the replica's lag on /metrics")
        assert await metric(on_b, "funko_replica_lag_seconds") > 0

        await pair.resume()
        await pair.caught_up()
        status, document = await get(on_b, one)  # the replica has it now
        assert (status, document["version"]) == (200, 2)
        assert await metric(on_b, "funko_reads_total", database="replica") > 0

        async def caught_up() -> bool:
            return await metric(on_b, "funko_replica_lag_positions") == 0

        await until(caught_up, "no lag on /metrics once replayed")


async def test_streams_on_two_processes_stay_whole_and_ordered_through_pause_and_restart(
    primary_and_replica: Replication, servers: tuple[ServerProcess, ServerProcess]
) -> None:
    pair, (a, b) = primary_and_replica, servers
    written: list[int] = []
    async with (
        aiohttp.ClientSession(a.base) as on_a,
        aiohttp.ClientSession(b.base) as on_b,
        asyncpg.create_pool(pair.primary_url, min_size=1, max_size=2) as primary,
    ):
        await reading(on_a, "replica")
        await reading(on_b, "replica")
        start = int(await primary.fetchval("SELECT position FROM log_head"))

        async def burst(count: int) -> None:
            for i in range(count):
                session = on_a if i % 2 else on_b
                written.append(await write(session, "POST", FUNKOS, **funko_fields()))

        listeners = [
            await subscribe("ws", on_a, after=start),
            await subscribe("ws", on_b, after=start),
            await subscribe("sse", on_b, after=start),
        ]
        resuming = await Listener.connect(on_b, after=start)

        await burst(10)
        await pair.pause()
        await burst(10)  # the replica has none of these: the streams read the primary
        for listener in (*listeners, resuming):  # well before a quiet spell's look (5 s)
            await listener.reach(written[-1], NOTIFIED)
        await resuming.close()
        await pair.resume()
        await burst(10)
        await pair.stop_replica()
        await burst(10)
        resumed = await Listener.connect(on_b, after=resuming.positions[-1])
        await pair.start_replica()
        await burst(10)
        await pair.caught_up()
        await burst(10)

        expected = await log_positions(primary, start, written[-1])
        assert expected == sorted(written)
        for listener in (*listeners, resumed):
            await listener.reach(written[-1], WITHIN)
            await listener.close()
        for listener in listeners:
            assert listener.positions == expected
        assert resuming.positions + resumed.positions == expected

        # The replica was used again once back: reads without a position go there.
        await reading(on_a, "replica")
        await reading(on_b, "replica")


async def test_a_replica_that_is_gone_costs_clients_nothing_but_latency(
    primary_and_replica: Replication, servers: tuple[ServerProcess, ServerProcess]
) -> None:
    pair, (_, b) = primary_and_replica, servers
    async with aiohttp.ClientSession(b.base) as on_b:
        await reading(on_b, "replica")
        before = await metric(on_b, "funko_reads_total", database="primary")
        await pair.stop_replica()
        created = await write(on_b, "POST", FUNKOS, **funko_fields())
        for _ in range(20):  # at once, before any check has seen the replica go
            status, page = await get(on_b, f"{FUNKOS}?size=5")
            assert status == 200, page
            status, events = await get(on_b, f"{EVENTS}?after={created - 1}", auth=AUDITOR)
            assert (status, events["events"][0]["position"]) == (200, created)
        await reading(on_b, "primary")
        async with on_b.get("/ready") as response:
            assert response.status == 200  # the primary answers: ready
        # every read went to the primary: at once if a check had seen the replica go, else
        # after the replica failed it (funko_replica_fallbacks)
        assert await metric(on_b, "funko_reads_total", database="primary") >= before + 40

        await pair.start_replica()
        await pair.caught_up()
        await reading(on_b, "replica")
        status, _ = await get(on_b, f"{FUNKOS}?size=5")
        assert status == 200
