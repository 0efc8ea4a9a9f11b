"""What a subscriber sees: the contract's envelope, narrowed by funkoId and types."""

import asyncio
from decimal import Decimal
from typing import Any

import asyncpg

from infrastructure.envelopes import head
from tests.e2e.rest import Client, body_of, create, send
from tests.support.contract import RFC3339_MICROS
from tests.support.shop import FUNKOS, unique
from tests.support.streams import Listener, check_stream, log_positions

ENVELOPE_KEYS = {"entity", "type", "position", "funkoId", "version", "data", "changes", "createdAt"}
FIELDS = ("name", "price", "stock", "image", "category")


async def change(client: Client, method: str, funko_id: str, body: Any = None) -> Any:
    response = await send(client, method, f"{FUNKOS}/{funko_id}", body)
    if method == "DELETE":
        assert response.status == 204, await response.text()
        return None
    return await body_of(response, 200)


def narrowing(query: dict[str, str]) -> tuple[str | None, list[str] | None]:
    types = query.get("types")
    return query.get("funkoId"), types.split(",") if types else None


async def test_funko_and_type_filters_narrow_the_replay_and_the_live_stream(
    client: Client, pool: asyncpg.Pool
) -> None:
    start = await head(pool)
    target, other = await create(client), await create(client)
    queries = [
        {"funkoId": target["id"]},
        {"types": "DELETE"},
        {"types": "CREATE"},
        {"types": "CREATE,UPDATE"},
        {"funkoId": target["id"], "types": "UPDATE,DELETE"},
    ]
    live = [await Listener.connect(client, **q) for q in queries]
    await asyncio.gather(*(listener.reach(0) for listener in live))

    await change(client, "PATCH", target["id"], {"price": 24.5})
    await change(client, "PATCH", other["id"], {"stock": 3})
    third = await create(client)
    await change(client, "DELETE", other["id"])
    await change(client, "PATCH", target["id"], {"stock": 4})
    await change(client, "DELETE", target["id"])
    await change(client, "PATCH", third["id"], {"stock": 5})
    end = await head(pool)

    replay = [await Listener.connect(client, after=start, **q) for q in queries]
    for query, listener in zip(queries, live, strict=True):
        funko_id, types = narrowing(query)
        wanted = await log_positions(pool, listener.caught_up[0], end, funko_id, types)
        await listener.count(len(wanted), 5)
    for listener in replay:
        await listener.reach(end)
    await asyncio.sleep(0.2)  # room for a frame the filters should have held back

    for query, listener in zip(queries + queries, live + replay, strict=True):
        funko_id, types = narrowing(query)
        after = start if listener in replay else None
        await check_stream(listener, pool, after, end, funko_id, types)
        for event in listener.events:
            assert funko_id in (None, event["funkoId"]), (query, event)
            assert types is None or event["type"] in types, (query, event)
    by_query = {str(q): r.events for q, r in zip(queries, replay, strict=True)}
    assert [e["funkoId"] for e in by_query[str(queries[1])]] == [other["id"], target["id"]]
    assert [e["funkoId"] for e in by_query[str(queries[2])]] == [
        target["id"],
        other["id"],
        third["id"],
    ]
    assert [(e["type"], e["version"]) for e in by_query[str(queries[4])]] == [
        ("UPDATE", 2),
        ("UPDATE", 3),
        ("DELETE", 4),
    ]


async def test_envelopes_carry_the_funko_after_each_event_and_the_fields_it_set(
    client: Client, pool: asyncpg.Pool
) -> None:
    start = await head(pool)
    created = await create(client, image=None)
    live = await Listener.connect(client, funkoId=created["id"])
    await live.reach(0)
    patched = await change(client, "PATCH", created["id"], {"price": 24.5})
    replacement = {
        "name": unique("Renamed"),
        "price": 30,
        "stock": 5,
        "image": "https://img.example/new.png",
        "category": "  vinyl  ",
    }
    replaced = await change(client, "PUT", created["id"], replacement)
    await change(client, "DELETE", created["id"])
    end = await head(pool)
    replay = await Listener.connect(client, after=start, funkoId=created["id"])
    await replay.reach(end)
    await live.reach(end)

    events = replay.events
    since = live.caught_up[0]
    assert live.events == [e for e in events if e["position"] > since], "one envelope shape"
    assert [(e["type"], e["version"]) for e in events] == [
        ("CREATE", 1),
        ("UPDATE", 2),
        ("UPDATE", 3),
        ("DELETE", 4),
    ]
    for event in events:
        assert set(event) == ENVELOPE_KEYS, event
        assert event["entity"] == "FUNKOS" and event["funkoId"] == created["id"]
        assert RFC3339_MICROS.match(event["createdAt"]), event["createdAt"]
        assert event["data"]["version"] == event["version"]
    assert [e["data"] for e in events[:3]] == [created, patched, replaced]
    deleted = events[3]["data"]
    assert {**deleted, "updatedAt": None} == {**replaced, "version": 4, "updatedAt": None}
    assert deleted["updatedAt"] >= replaced["updatedAt"]
    assert events[0]["changes"] == {k: created[k] for k in FIELDS}
    assert events[0]["changes"]["image"] is None
    assert events[1]["changes"] == {"price": Decimal("24.5")}
    assert events[2]["changes"] == {**replacement, "category": "VINYL"}
    assert events[3]["changes"] == {}
    assert [e["createdAt"] for e in events] == sorted(e["createdAt"] for e in events)
