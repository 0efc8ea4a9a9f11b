"""The whole log by position, for auditors: JSON pages that follow `next`, and one NDJSON stream."""

import asyncio
import logging
import tracemalloc
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

import asyncpg
import pytest

from infrastructure import bootstrap
from tests.e2e.audit_kit import NDJSON, Envelope, events_page, log_head, open_stream, stream, walk
from tests.e2e.rest import Client, body_of, create, field_error, send
from tests.support.shop import EVENTS, FUNKOS, decode, funko_fields
from tests.support.tokens import AUDITOR

LONG = 8000  # events: eight of the server's NDJSON pages


@dataclass(frozen=True)
class LongLog:
    """``ids`` were created, one event each, all in (before, upto]."""

    before: int
    upto: int
    ids: frozenset[str]


async def write_long_log(database_url: str, count: int) -> LongLog:
    # Through the service, as the server writes, but without HTTP: thousands in about a second.
    async with bootstrap.running(database_url) as parts:
        before = await parts.audit_log.head()
        ids: set[str] = set()
        for _ in range(0, count, 1000):
            funkos = await asyncio.gather(
                *(
                    parts.service.create(funko_fields(price=Decimal("9.99")), "e2e-bulk")
                    for _ in range(1000)
                )
            )
            ids.update(str(funko.funko_id) for funko in funkos)
        return LongLog(before, await parts.audit_log.head(), frozenset(ids))


@pytest.fixture(scope="module")
def long_log(database_url: str) -> LongLog:
    return asyncio.run(write_long_log(database_url, LONG))


async def write_events(client: Client, count: int) -> list[tuple[str, int]]:
    """``count`` events through REST, one after the other: (Funko id, version) in log order."""
    written: list[tuple[str, int]] = []
    funko_id = ""
    for n in range(count):
        if n % 3 == 0:
            funko_id = (await create(client))["id"]
            written.append((funko_id, 1))
        else:
            amended = await send(client, "PATCH", f"{FUNKOS}/{funko_id}", {"stock": n})
            written.append((funko_id, (await body_of(amended, 200))["version"]))
    return written


def mine(envelopes: list[Envelope], written: list[tuple[str, int]]) -> list[tuple[str, int]]:
    ids = {funko_id for funko_id, _ in written}
    return [(e["funkoId"], e["version"]) for e in envelopes if e["funkoId"] in ids]


async def test_the_first_page_starts_at_the_oldest_event(
    client: Client, pool: asyncpg.Pool
) -> None:
    await write_events(client, 2)
    page = await events_page(client, after=0)
    oldest = [r[0] for r in await pool.fetch("SELECT position FROM events ORDER BY 1 LIMIT 100")]

    assert [e["position"] for e in page["events"]] == oldest
    assert page["next"] == oldest[-1]
    assert page["head"] >= page["next"]
    assert await events_page(client) == page


async def test_walking_small_pages_yields_each_new_event_once_in_order(client: Client) -> None:
    start = await log_head(client)
    written = await write_events(client, 10)

    after, seen = start, []
    while True:
        page = await events_page(client, after=after, limit=3)
        positions = [e["position"] for e in page["events"]]
        if not positions:
            assert page["next"] == after
            break
        assert len(positions) <= 3
        assert positions[0] > after
        assert page["next"] == positions[-1]
        assert page["head"] >= positions[-1]
        seen += page["events"]
        after = page["next"]

    assert all(a["position"] < b["position"] for a, b in pairwise(seen))
    assert mine(seen, written) == written


async def test_reading_from_the_head_gives_an_empty_page_at_the_head(client: Client) -> None:
    await write_events(client, 1)
    head = await log_head(client)
    assert await events_page(client, after=head) == {"events": [], "next": head, "head": head}


async def test_reading_beyond_the_head_is_a_bad_request(client: Client) -> None:
    head = await log_head(client)
    for after in (head + 1, head + 1000, 2**63 - 1, 2**63):
        response = await client.get(EVENTS, params={"after": str(after)}, headers=AUDITOR)
        await field_error(response, "after")


@pytest.mark.parametrize("after", ["-1", "x", "1.5", ""])
async def test_after_must_be_a_whole_number_from_0(client: Client, after: str) -> None:
    response = await client.get(EVENTS, params={"after": after}, headers=AUDITOR)
    await field_error(response, "after")


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "x", "1.5", ""])
async def test_a_limit_outside_1_to_1000_is_a_bad_request(client: Client, limit: str) -> None:
    response = await client.get(EVENTS, params={"limit": limit}, headers=AUDITOR)
    await field_error(response, "limit")


async def test_limits_of_1_and_1000_are_accepted(client: Client) -> None:
    start = await log_head(client)
    await write_events(client, 2)
    assert len((await events_page(client, after=start, limit=1))["events"]) == 1
    assert len((await events_page(client, after=start, limit=1000))["events"]) >= 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("afterr=0", "afterr"),
        ("size=10", "size"),
        ("after=0&after=1", "after"),
        ("limit=5&limit=5", "limit"),
    ],
)
async def test_unknown_or_repeated_parameters_are_bad_requests(
    client: Client, query: str, field: str
) -> None:
    await field_error(await client.get(f"{EVENTS}?{query}", headers=AUDITOR), field)


async def test_the_stream_is_the_json_pages_joined(client: Client) -> None:
    start = await log_head(client)
    written = await write_events(client, 7)

    head, lines = await stream(client, start, limit=1)  # limit is for pages only
    assert lines[-1]["position"] == head
    assert mine(lines, written) == written
    assert lines == await walk(client, start, head, limit=2)


async def test_a_stream_from_the_head_is_empty(client: Client) -> None:
    await write_events(client, 1)
    head = await log_head(client)
    assert await stream(client, head) == (head, [])


@pytest.mark.parametrize("after", ["beyond", "-1", "x"])
async def test_a_bad_stream_request_is_a_problem_not_a_stream(client: Client, after: str) -> None:
    if after == "beyond":
        after = str(await log_head(client) + 1)
    response = await client.get(
        EVENTS, params={"after": after}, headers={**AUDITOR, "Accept": NDJSON}
    )
    await field_error(response, "after")


async def test_a_stream_of_thousands_crosses_its_pages_intact(
    client: Client, long_log: LongLog
) -> None:
    head, lines = await stream(client, long_log.before)

    assert len(lines) >= LONG
    assert all(a["position"] < b["position"] for a, b in pairwise(lines))
    created = [e["funkoId"] for e in lines if e["funkoId"] in long_log.ids]
    assert len(created) == len(set(created)) == LONG
    assert lines[-1]["position"] == head
    assert lines == await walk(client, long_log.before, head, limit=1000)


async def test_a_stream_ends_at_the_head_it_announced(client: Client, long_log: LongLog) -> None:
    response = await open_stream(client, long_log.before)
    head = int(response.headers["X-Log-Head"])
    first = decode((await response.content.readline()).decode())
    later = await create(client)  # committed while the stream is still being written
    rest = [decode(line) for line in (await response.text()).split("\n") if line]

    assert [first, *rest][-1]["position"] == head
    assert later["id"] not in {e["funkoId"] for e in rest}
    assert (await stream(client, head))[1][0]["funkoId"] == later["id"]


async def test_a_client_leaving_mid_stream_does_not_harm_the_server(
    client: Client, long_log: LongLog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with asyncio.timeout(20):  # a server that leaks connections would hang, not fail
        for _ in range(15):  # more than the server's pool holds connections
            response = await open_stream(client, long_log.before)
            assert response.status == 200
            assert await response.content.readline()
            response.close()

        head, lines = await stream(client, long_log.before)
        assert len(lines) >= LONG and lines[-1]["position"] == head
        await body_of(
            await client.get(f"{FUNKOS}/{lines[0]['funkoId']}/history", headers=AUDITOR), 200
        )
        await body_of(await send(client, "POST", FUNKOS, funko_fields()), 201)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@dataclass(frozen=True)
class Streamed:
    size: int  # bytes the client received
    peak: int  # most memory traced at once above where the stream started


async def streamed(client: Client, after: int) -> Streamed:
    """Stream from ``after``, reading as it comes, tracing this process's (and server's) memory."""
    already = tracemalloc.is_tracing()
    if already:
        tracemalloc.reset_peak()
    else:
        tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        response = await open_stream(client, after)
        assert response.status == 200
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
        return Streamed(size, tracemalloc.get_traced_memory()[1] - base)
    finally:
        if not already:
            tracemalloc.stop()


async def test_a_stream_holds_a_few_pages_in_memory_however_long_the_log(
    client: Client, long_log: LongLog
) -> None:
    # Two full pages and eight: a server that holds the range in memory needs about four
    # times as much for the long one; one that holds a few pages at a time, the same.
    short = await streamed(client, long_log.upto - 2000)
    long = await streamed(client, long_log.before)

    assert long.size > 3.5 * short.size
    assert long.peak < 1.5 * short.peak, (short, long)
