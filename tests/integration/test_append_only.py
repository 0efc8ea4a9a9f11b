"""The database refuses to change or remove events, whoever asks."""

import asyncpg
import pytest

from domain.services import FunkoService
from tests.integration.funko_events import new_fields

REFUSED = [
    "UPDATE events SET actor = 'mallory' WHERE funko_id = $1",
    "DELETE FROM events WHERE funko_id = $1",
]


@pytest.mark.parametrize("statement", REFUSED)
async def test_events_cannot_be_changed_or_deleted(
    service: FunkoService, pool: asyncpg.Pool, statement: str
) -> None:
    funko = await service.create(new_fields(), "alice")
    before = await pool.fetch("SELECT * FROM events WHERE funko_id = $1", funko.funko_id)

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute(statement, funko.funko_id)

    assert await pool.fetch("SELECT * FROM events WHERE funko_id = $1", funko.funko_id) == before


async def test_the_event_log_cannot_be_truncated(pool: asyncpg.Pool) -> None:
    count = await pool.fetchval("SELECT count(*) FROM events")

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("TRUNCATE events")

    assert await pool.fetchval("SELECT count(*) FROM events") == count


async def test_appends_still_go_through(service: FunkoService, pool: asyncpg.Pool) -> None:
    funko = await service.create(new_fields(), "alice")
    await service.amend(funko.funko_id, {"stock": 3}, "alice")
    versions = await pool.fetch(
        "SELECT version FROM events WHERE funko_id = $1 ORDER BY version", funko.funko_id
    )
    assert [r["version"] for r in versions] == [1, 2]
