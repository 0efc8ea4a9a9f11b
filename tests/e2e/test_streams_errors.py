"""Requests the stream refuses before the upgrade, and client frames once it is open."""

import asyncpg
import pytest

from infrastructure.envelopes import head
from tests.e2e.rest import Client, create, problem
from tests.e2e.streams_kit import refused
from tests.support.streams import WS, Listener

BAD_QUERIES = [
    "after=x",
    "after=",
    "after=-1",
    "after=1.5",
    "funkoId=not-a-uuid",
    "funkoId=",
    "types=CREATE,FOO",
    "types=create",
    "types=",
    "colour=red",
    "after=1&after=2",
]


async def test_a_plain_get_of_the_stream_is_a_bad_request(client: Client) -> None:
    document = await problem(await client.get(WS), 400)
    assert "WebSocket" in document["title"] + document["detail"]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_an_invalid_query_is_refused_without_an_upgrade(client: Client, query: str) -> None:
    await refused(client, f"{WS}?{query}", 400)


async def test_resuming_after_a_position_beyond_the_newest_is_refused(
    client: Client, pool: asyncpg.Pool
) -> None:
    await create(client)
    newest = await head(pool)
    await refused(client, f"{WS}?after={newest + 1}", 400)
    await refused(client, f"{WS}?after={2**63}", 400)
    listener = await Listener.connect(client, after=newest)
    await listener.reach(newest)
    assert listener.caught_up == [newest]


async def test_an_unknown_stream_version_is_not_found(client: Client) -> None:
    await problem(await client.get("/ws/v2/funkos"), 404)
    await refused(client, "/ws/v2/funkos", 404)


async def test_a_foreign_origin_is_forbidden_and_our_own_is_welcome(client: Client) -> None:
    await refused(client, WS, 403, Origin="https://evil.example")
    own = f"http://{client.host}:{client.port}"
    ws = await client.ws_connect(WS, origin=own)
    listener = Listener(ws)
    await listener.reach(0)
    await listener.close()


async def test_small_client_frames_are_ignored_and_the_stream_goes_on(
    client: Client, pool: asyncpg.Pool
) -> None:
    listener = await Listener.connect(client)
    await listener.reach(0)
    await listener.ws.send_str("hello, server")
    await listener.ws.send_bytes(b"\x00" * 64)
    await listener.ws.send_str("x" * 4000)
    funko = await create(client)
    await listener.reach(await head(pool))
    assert listener.open
    assert [e["funkoId"] for e in listener.events] == [funko["id"]]


async def test_a_client_frame_of_exactly_4_kib_is_not_over_the_limit(
    client: Client, pool: asyncpg.Pool
) -> None:
    listener = await Listener.connect(client)
    await listener.reach(0)
    await listener.ws.send_str("x" * 4096)
    funko = await create(client)
    await listener.reach(await head(pool))
    assert [e["funkoId"] for e in listener.events] == [funko["id"]]


async def test_a_client_frame_over_4_kib_closes_the_stream_with_1009(client: Client) -> None:
    listener = await Listener.connect(client)
    await listener.reach(0)
    await listener.ws.send_str("x" * 4097)
    assert await listener.ended(within=5) == 1009


async def test_a_binary_frame_over_4_kib_closes_the_stream_with_1009(client: Client) -> None:
    listener = await Listener.connect(client)
    await listener.reach(0)
    await listener.ws.send_bytes(bytes(5000))
    assert await listener.ended(within=5) == 1009
