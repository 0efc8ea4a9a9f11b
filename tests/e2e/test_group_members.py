"""Consumer groups' members (GET /ws/v1/groups/{name}): at least once, one Funko's events in
order and one at a time, at most ``prefetch`` unacknowledged, NACKs to parking and back, what a
leaving member held going to the others, malformed answers (1007), a deleted group (4404)."""

import asyncio
import json
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from tests.e2e.rest import Client, body_of, create, problem, send
from tests.support.shop import unique
from tests.support.tokens import ADMIN, AUDITOR, CONSUMER

GROUPS = "/api/v1/groups"
WAIT = 5.0


def fresh() -> str:
    return unique("group").lower()


async def group(client: Client, **settings: Any) -> str:
    name = fresh()
    await body_of(await send(client, "PUT", f"{GROUPS}/{name}", settings), 201)
    return name


async def join(client: Client, name: str, prefetch: int = 100) -> ClientWebSocketResponse:
    path = f"/ws/v1/groups/{name}?prefetch={prefetch}"
    return await client.ws_connect(path, headers=CONSUMER)


async def events(member: ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events sent to ``member``."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(WAIT):
        while len(got) < count:
            message = await member.receive()
            assert message.type is WSMsgType.TEXT, message
            got.append(json.loads(message.data))
    return got


async def nothing_more(member: ClientWebSocketResponse, seconds: float = 1.0) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(seconds):
            message = await member.receive()
            raise AssertionError(f"unexpected: {message}")


async def answer(member: ClientWebSocketResponse, kind: str, *positions: int, **more: Any) -> None:
    await member.send_json({"type": kind, "positions": list(positions), **more})


async def standing(client: Client, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = await body_of(await send(client, "GET", f"{GROUPS}/{name}"), 200)
    return shown


async def until(client: Client, name: str, **wanted: Any) -> dict[str, Any]:
    """The group's standing once it shows ``wanted``."""
    shown: dict[str, Any] = {}
    for _ in range(int(WAIT / 0.05)):
        shown = await standing(client, name)
        if all(shown[key] == value for key, value in wanted.items()):
            return shown
        await asyncio.sleep(0.05)
    raise AssertionError(f"{shown} never showed {wanted}")


async def test_a_member_gets_each_event_with_its_attempt_and_acks_move_the_checkpoint(
    client: Client,
) -> None:
    name = await group(client)
    member = await join(client, name)
    await until(client, name, members=1)
    funko = await create(client)
    await send(client, "PATCH", f"/api/v1/funkos/{funko['id']}", {"stock": 3})
    (first,) = await events(member, 1)
    await answer(member, "ACK", first["position"])
    (second,) = await events(member, 1)
    assert (first["type"], first["attempt"], first["funkoId"]) == ("CREATE", 1, funko["id"])
    assert (second["type"], second["attempt"], second["data"]["stock"]) == ("UPDATE", 1, 3)
    assert "actor" not in first
    await answer(member, "ACK", second["position"])
    shown = await until(client, name, checkpoint=second["position"])
    assert (shown["lag"], shown["inFlight"], shown["members"]) == (0, 0, 1)
    await member.close()
    await until(client, name, members=0)


async def test_one_funkos_next_event_waits_for_the_one_before_to_be_acknowledged(
    client: Client,
) -> None:
    name = await group(client)
    member = await join(client, name)
    funko = await create(client)
    for stock in (1, 2):
        await send(client, "PATCH", f"/api/v1/funkos/{funko['id']}", {"stock": stock})
    (created,) = await events(member, 1)
    await nothing_more(member, 0.7)
    await answer(member, "ACK", created["position"])
    (one,) = await events(member, 1)
    await answer(member, "ACK", one["position"])
    (two,) = await events(member, 1)
    assert [one["data"]["stock"], two["data"]["stock"]] == [1, 2]
    assert created["position"] < one["position"] < two["position"]


async def test_a_member_holds_at_most_prefetch_unacknowledged_events(client: Client) -> None:
    name = await group(client)
    member = await join(client, name, prefetch=3)
    for _ in range(7):
        await create(client)
    taken = await events(member, 3)
    await nothing_more(member, 0.7)
    await answer(member, "ACK", *(e["position"] for e in taken[:2]))
    more = await events(member, 2)
    await nothing_more(member, 0.7)
    positions = [e["position"] for e in taken + more]
    assert positions == sorted(positions) and len(set(positions)) == 5


async def test_nacked_events_come_again_then_park_and_a_retry_delivers_them_once_more(
    client: Client,
) -> None:
    name = await group(client, maxAttempts=2)
    member = await join(client, name)
    await create(client)
    (first,) = await events(member, 1)
    await answer(member, "NACK", first["position"], reason="index down")
    (again,) = await events(member, 1)
    assert (again["position"], again["attempt"]) == (first["position"], 2)
    await answer(member, "NACK", again["position"], reason="still down")
    await nothing_more(member, 0.7)
    parked = await body_of(await send(client, "GET", f"{GROUPS}/{name}/parked"), 200)
    [shown] = parked["events"]
    assert (shown["position"], shown["attempts"], shown["reason"]) == (
        first["position"],
        2,
        "still down",
    )
    await until(client, name, parked=1, checkpoint=first["position"], lag=0)
    retry = f"{GROUPS}/{name}/parked/{first['position']}/retry"
    assert (await send(client, "POST", retry)).status == 202
    (retried,) = await events(member, 1)
    assert (retried["position"], retried["attempt"]) == (first["position"], 1)
    await answer(member, "ACK", retried["position"])
    await until(client, name, parked=0, inFlight=0, checkpoint=first["position"])
    await problem(await send(client, "POST", retry), 404)  # not parked any more
    scraped = (await (await client.get("/metrics")).text()).splitlines()
    assert f'funko_group_deliveries_total{{group="{name}"}} 3.0' in scraped
    assert f'funko_group_redeliveries_total{{group="{name}"}} 1.0' in scraped


async def test_what_a_leaving_member_held_goes_to_another_one_attempt_more(
    client: Client,
) -> None:
    name = await group(client)
    leaving = await join(client, name)
    funkos = [await create(client) for _ in range(3)]
    held = await events(leaving, 3)
    staying = await join(client, name)
    await nothing_more(staying, 0.5)
    await leaving.close()
    again = await events(staying, 3)
    assert [e["position"] for e in again] == [e["position"] for e in held]
    assert {e["attempt"] for e in again} == {2}
    assert {e["funkoId"] for e in again} == {f["id"] for f in funkos}


async def test_two_members_never_hold_events_of_one_funko_at_once(client: Client) -> None:
    name = await group(client)
    one, two = await join(client, name), await join(client, name)
    funko = await create(client)
    for stock in range(1, 6):
        await send(client, "PATCH", f"/api/v1/funkos/{funko['id']}", {"stock": stock})
    seen: list[int] = []
    for _ in range(6):
        got = await _first_of(one, two)
        seen.append(got[1]["position"])
        await answer(got[0], "ACK", got[1]["position"])
    assert seen == sorted(seen) and len(set(seen)) == 6


async def _first_of(
    *members: ClientWebSocketResponse,
) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    """The next event sent to any of ``members``; none other may have one at the same time."""
    tasks = {asyncio.ensure_future(m.receive()): m for m in members}
    done, pending = await asyncio.wait(tasks, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    assert len(done) == 1, "two members held one Funko's events at once, or none came"
    await asyncio.sleep(0.3)
    assert not any(t.done() for t in pending), "another member got the same Funko meanwhile"
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    (task,) = done
    return tasks[task], json.loads(task.result().data)


async def test_acknowledging_what_was_not_delivered_to_the_member_is_ignored(
    client: Client,
) -> None:
    name = await group(client)
    holder, other = await join(client, name), await join(client, name)
    await create(client)
    member, event = await _first_of(holder, other)
    bystander = other if member is holder else holder
    await answer(bystander, "ACK", event["position"], 10**12)
    await nothing_more(bystander, 0.3)
    shown = await standing(client, name)
    assert (shown["inFlight"], shown["checkpoint"]) == (1, event["position"] - 1)


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"type": "ACK"}',
        '{"type": "ack", "positions": [1]}',
        '{"type": "ACK", "positions": ["1"]}',
        '{"type": "ACK", "positions": [1], "colour": "red"}',
        "[1, 2]",
        b"\x00binary",
    ],
)
async def test_a_malformed_answer_closes_with_1007(client: Client, frame: str | bytes) -> None:
    member = await join(client, await group(client))
    if isinstance(frame, bytes):
        await member.send_bytes(frame)
    else:
        await member.send_str(frame)
    async with asyncio.timeout(WAIT):
        message = await member.receive()
    assert message.type is WSMsgType.CLOSE and message.data == 1007


async def test_deleting_a_group_closes_its_members_with_4404(client: Client) -> None:
    name = await group(client)
    member = await join(client, name)
    await until(client, name, members=1)
    assert (await send(client, "DELETE", f"{GROUPS}/{name}")).status == 204
    async with asyncio.timeout(WAIT):
        message = await member.receive()
    assert message.type is WSMsgType.CLOSE and message.data == 4404


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, "", 401),
        (AUDITOR, "", 403),
        (ADMIN, "?prefetch=0", 400),
        (ADMIN, "?prefetch=1001", 400),
        (ADMIN, "?prefetch=x", 400),
        (ADMIN, "?colour=red", 400),
    ],
)
async def test_a_member_is_refused_before_the_upgrade(
    client: Client, headers: dict[str, str], query: str, status: int
) -> None:
    name = await group(client)
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    upgrade["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    response = await client.get(f"/ws/v1/groups/{name}{query}", headers={**headers, **upgrade})
    await problem(response, status)


async def test_an_unknown_group_or_a_plain_request_gets_no_upgrade(client: Client) -> None:
    await problem(await client.get(f"/ws/v1/groups/{fresh()}", headers=CONSUMER), 400)
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    upgrade["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    response = await client.get(f"/ws/v1/groups/{fresh()}", headers={**CONSUMER, **upgrade})
    await problem(response, 404)
