"""`run.py replay` and `run.py rebuild` on the session's database, as an operator runs them."""

import asyncio
import json
from decimal import Decimal
from typing import Any

import asyncpg

from domain.services import FunkoService
from infrastructure.audit_log import AuditLog
from tests.integration.funko_events import new_fields
from tests.support.cli import run_cli
from tests.support.contract import ENVELOPE_KEYS, FUNKO_KEYS, RFC3339_MICROS
from tests.support.shop import unique


def envelope_of(line: str) -> dict[str, Any]:
    """The envelope one NDJSON line holds, checked against the contract's shape."""
    envelope: dict[str, Any] = json.loads(line)
    assert list(envelope) == ENVELOPE_KEYS
    assert envelope["entity"] == "FUNKOS"
    assert envelope["type"] in ("CREATE", "UPDATE", "DELETE")
    assert list(envelope["data"]) == FUNKO_KEYS
    assert (envelope["data"]["id"], envelope["data"]["version"]) == (
        envelope["funkoId"],
        envelope["version"],
    )
    assert RFC3339_MICROS.fullmatch(envelope["createdAt"])
    assert isinstance(envelope["actor"], str)
    return envelope


def lines_of(ndjson: str) -> list[str]:
    """NDJSON's lines: split at "\\n" only, since JSON text may hold U+2028, U+0085 and the like."""
    assert ndjson == "" or ndjson.endswith("\n")
    return ndjson.split("\n")[:-1]


async def paged(log: AuditLog, after: int, limit: int) -> list[str]:
    """Every envelope after ``after``, as clients of GET /events page through them."""
    envelopes: list[str] = []
    while True:
        page = await log.page(after, limit)
        envelopes += page.envelopes
        if page.next == page.head:
            return envelopes
        after = page.next


async def spanned(log: AuditLog, after: int, upto: int) -> list[str]:
    return [envelope async for _, page in log.pages(after, upto) for envelope in page]


async def positions_after(pool: asyncpg.Pool, after: int) -> list[int]:
    rows = await pool.fetch("SELECT position FROM events WHERE position > $1 ORDER BY 1", after)
    return [r[0] for r in rows]


async def test_replay_writes_the_whole_log_as_the_events_pages_show_it(
    service: FunkoService, pool: asyncpg.Pool, database_url: str
) -> None:
    # More than one page of replay's, so lines must also join across pages.
    funkos = await asyncio.gather(*(service.create(new_fields(), "bulk") for _ in range(1100)))
    await service.amend(funkos[0].funko_id, {"stock": 4}, "bob")
    await service.delete(funkos[1].funko_id, "carol")
    log = AuditLog(pool)
    head = await log.head()

    replay = await run_cli(database_url, "replay")

    assert replay.code == 0, replay.stderr
    lines = lines_of(replay.stdout)
    assert lines == await paged(log, 0, 1000)
    assert lines == await spanned(log, 0, head)
    positions = [envelope_of(line)["position"] for line in lines]
    assert positions == await positions_after(pool, 0)
    assert positions[-1] == head
    assert "replay" in replay.stderr  # the progress bar, kept off stdout


async def test_replay_after_a_position_writes_exactly_the_events_after_it(
    service: FunkoService, pool: asyncpg.Pool, database_url: str
) -> None:
    log = AuditLog(pool)
    for _ in range(3):
        await service.create(new_fields(), "alice")
    after = await log.head()
    for _ in range(4):
        await service.create(new_fields(), "alice")
    head = await log.head()

    replay, at_head = await asyncio.gather(
        run_cli(database_url, "replay", "--after", str(after)),
        run_cli(database_url, "replay", "--after", str(head)),
    )

    assert replay.code == 0, replay.stderr
    lines = lines_of(replay.stdout)
    assert [envelope_of(line)["position"] for line in lines] == await positions_after(pool, after)
    assert len(lines) == 4
    assert lines == await spanned(log, after, head)
    assert (at_head.code, at_head.stdout) == (0, "")


async def test_replay_of_one_funko_writes_its_history_in_version_order(
    service: FunkoService, pool: asyncpg.Pool, database_url: str
) -> None:
    funko = await service.create(new_fields(unique("cat")), "alice")
    other = await service.create(new_fields(), "alice")
    await service.amend(funko.funko_id, {"stock": 3}, "bob")
    await service.amend(other.funko_id, {"stock": 8}, "bob")
    await service.amend(funko.funko_id, {"price": Decimal("4.50"), "name": "Late"}, "carol")
    await service.delete(funko.funko_id, "dave")
    await service.amend(other.funko_id, {"stock": 9}, "bob")

    replay = await run_cli(database_url, "replay", "--funko", str(funko.funko_id))

    assert replay.code == 0, replay.stderr
    lines = lines_of(replay.stdout)
    assert lines == await AuditLog(pool).history(funko.funko_id)
    envelopes = [envelope_of(line) for line in lines]
    assert [e["funkoId"] for e in envelopes] == [str(funko.funko_id)] * 4
    assert [(e["version"], e["type"], e["actor"]) for e in envelopes] == [
        (1, "CREATE", "alice"),
        (2, "UPDATE", "bob"),
        (3, "UPDATE", "carol"),
        (4, "DELETE", "dave"),
    ]
    assert [e["changes"] for e in envelopes[1:]] == [
        {"stock": 3},
        {"price": 4.5, "name": "Late"},
        {},
    ]
    assert list(envelopes[0]["changes"]) == ["name", "price", "stock", "image", "category"]
    last_state, deleted = envelopes[2]["data"], envelopes[3]["data"]
    assert deleted["version"] == 4
    assert {k: deleted[k] for k in FUNKO_KEYS[:6]} == {k: last_state[k] for k in FUNKO_KEYS[:6]}
    positions = [e["position"] for e in envelopes]
    assert positions == sorted(positions)


async def test_replay_after_beyond_the_head_exits_2(
    service: FunkoService, pool: asyncpg.Pool, database_url: str
) -> None:
    await service.create(new_fields(), "alice")
    head = await AuditLog(pool).head()

    replay = await run_cli(database_url, "replay", "--after", str(head + 1))

    assert replay.code == 2
    assert replay.stdout == ""
    assert f"beyond the newest position, {head}" in replay.stderr


READ_MODEL = """
SELECT (SELECT array_agg((id, name, price, stock, image, category, version, created_at,
                          updated_at, doc::text)::text ORDER BY id) FROM catalog_funkos),
       (SELECT array_agg((name, count)::text ORDER BY name) FROM catalog_categories),
       (SELECT position FROM projection_positions WHERE name = 'catalog')
"""


async def test_rebuild_leaves_the_read_model_byte_for_byte_and_verify_agrees(
    service: FunkoService, pool: asyncpg.Pool, database_url: str
) -> None:
    category = unique("cat")
    funkos = [await service.create(new_fields(category), "alice") for _ in range(3)]
    await service.amend(funkos[0].funko_id, {"price": Decimal("0.10"), "name": "Ünïcode 🦖"}, "bob")
    await service.amend(funkos[1].funko_id, {"category": f"{category}-moved"}, "bob")
    replacement = new_fields(category, image="http://x.io/a.png")
    await service.replace(funkos[2].funko_id, replacement, "bob")
    await service.delete(funkos[1].funko_id, "carol")
    before = await pool.fetchrow(READ_MODEL)

    rebuild = await run_cli(database_url, "rebuild")

    assert rebuild.code == 0, rebuild.stderr
    assert await pool.fetchrow(READ_MODEL) == before
    assert "rebuild" in rebuild.stderr
    verify = await run_cli(database_url, "verify")
    assert verify.code == 0, verify.stdout
    assert verify.stdout.startswith("verified ")
