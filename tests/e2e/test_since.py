"""since=<RFC 3339 time>: the WebSocket, the server-sent events and GET /events start at the first
event created at or after it (tests/integration/test_log_clock.py covers out-of-order and equal
times), and since with after is 400 everywhere."""

from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from infrastructure.envelopes import head
from tests.e2e.audit_kit import NDJSON, events_page
from tests.e2e.rest import Client, create, problem
from tests.e2e.streams_kit import refused
from tests.support.shop import EVENTS, decode
from tests.support.streams import SSE, TRANSPORTS, WS, check_stream, log_positions, subscribe
from tests.support.tokens import AUDITOR
from tests.support.waiting import eventually
from web.keys import READER

MICROSECOND = timedelta(microseconds=1)
INDIA = timezone(timedelta(hours=5, minutes=30))


def rfc_3339(when: datetime) -> str:
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


async def created(client: Client, pool: asyncpg.Pool, count: int) -> list[tuple[int, datetime]]:
    """``count`` new Funkos: each one's position and createdAt."""
    start = await head(pool)
    for _ in range(count):
        await create(client)
    rows = await pool.fetch(
        "SELECT position, created_at FROM events WHERE position > $1 ORDER BY position", start
    )
    end = rows[-1][0]
    await eventually(lambda: client.app[READER].position >= end, 5, "the reader reads the log")
    return [(row[0], row[1]) for row in rows]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_stream_since_a_time_starts_at_the_first_event_created_then_or_later(
    client: Client, pool: asyncpg.Pool, transport: str
) -> None:
    ours = await created(client, pool, 5)
    (third, at), end = ours[2], ours[-1][0]
    for since, after in [
        (rfc_3339(at), third - 1),
        (rfc_3339(at + MICROSECOND), third),
        (rfc_3339(at - MICROSECOND), third - 1),
        (rfc_3339(at.astimezone(INDIA)), third - 1),  # the same time, at +05:30
    ]:
        listener = await subscribe(transport, client, since=since)
        await listener.reach(end)
        assert listener.positions == await log_positions(pool, after, end)
        assert listener.positions[0] == after + 1
        await check_stream(listener, pool, after, end)
        await listener.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_stream_since_a_time_after_every_event_starts_live_at_the_head(
    client: Client, pool: asyncpg.Pool, transport: str
) -> None:
    ours = await created(client, pool, 1)
    end, at = ours[-1]
    listener = await subscribe(transport, client, since=rfc_3339(at + MICROSECOND))
    await listener.reach(end)
    assert listener.frames == [{"type": "CAUGHT_UP", "position": end}]
    await create(client)
    newest = await head(pool)
    await listener.reach(newest)
    assert listener.positions == [newest]
    await listener.close()


async def test_events_since_a_time_page_and_stream_from_the_first_event_created_then_or_later(
    client: Client, pool: asyncpg.Pool
) -> None:
    ours = await created(client, pool, 4)
    (second, at), end = ours[1], ours[-1][0]
    page = await events_page(client, since=rfc_3339(at), limit=2)
    assert [e["position"] for e in page["events"]] == [second, ours[2][0]]
    assert page["next"] == ours[2][0]

    later = await events_page(client, since=rfc_3339(ours[-1][1] + MICROSECOND))
    assert (later["events"], later["next"]) == ([], later["head"])

    params = {"since": rfc_3339(at)}
    response = await client.get(EVENTS, params=params, headers={**AUDITOR, "Accept": NDJSON})
    assert response.status == 200
    lines = [decode(line) for line in (await response.text()).splitlines()]
    assert [e["position"] for e in lines] == await log_positions(pool, second - 1, end)


@pytest.mark.parametrize(
    "since",
    [
        "2026-12-07",
        "2026-12-07T09:00:00",  # no offset
        "2026-12-07 09:00:00Z",
        "2026-02-30T09:00:00Z",
        "2026-12-07T24:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "1733562000",
        "",
    ],
)
async def test_a_since_that_is_not_an_rfc_3339_time_is_400_everywhere(
    client: Client, since: str
) -> None:
    query = {"since": since}
    document = await problem(await client.get(EVENTS, params=query, headers=AUDITOR), 400)
    assert "since" in document["errors"]
    await problem(await client.get(SSE, params=query), 400)
    await refused(client, f"{WS}?since={since}", 400)


async def test_since_with_after_is_400_everywhere(client: Client) -> None:
    query = "after=0&since=2026-12-07T09:00:00Z"
    document = await problem(await client.get(f"{EVENTS}?{query}", headers=AUDITOR), 400)
    assert set(document["errors"]) == {"after", "since"}
    await problem(await client.get(f"{SSE}?{query}"), 400)
    await refused(client, f"{WS}?{query}", 400)
