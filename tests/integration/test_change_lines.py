"""Concurrent changes of one Funko: one after the other in a process, none lost, none computed
on a state the log never held, across processes too."""

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from domain.funko import NothingToChange
from domain.ports import Recorded
from domain.rules import InvalidFunko
from domain.services import FunkoService, IfMatch, PreconditionFailed
from infrastructure import bootstrap
from tests.integration.funko_events import new_fields

FIELDS = ("name", "price", "stock", "image", "category")
HISTORY = "SELECT version, data::text, changes::text FROM events WHERE funko_id = $1 ORDER BY 1"


@pytest.fixture
async def processes(database_url: str) -> AsyncIterator[list[FunkoService]]:
    """Three services, each with its own pool, store (committer) and change lines: as three
    server processes on one database."""
    async with (
        bootstrap.running(database_url, min_size=1, max_size=4) as one,
        bootstrap.running(database_url, min_size=1, max_size=4) as two,
        bootstrap.running(database_url, min_size=1, max_size=4) as three,
    ):
        yield [parts.service for parts in (one, two, three)]


async def history(pool: asyncpg.Pool, funko_id: UUID) -> list[tuple[int, Any, Any]]:
    rows = await pool.fetch(HISTORY, funko_id)
    return [(r[0], json.loads(r[1], parse_float=Decimal), json.loads(r[2])) for r in rows]


async def check_each_event_follows_the_one_before(pool: asyncpg.Pool, funko_id: UUID) -> int:
    """Every event's Funko is the one before it with the event's changes applied; the number of
    events."""
    events = await history(pool, funko_id)
    assert [version for version, _, _ in events] == list(range(1, len(events) + 1))
    for (_, before, _), (version, after, changes) in pairwise(events):
        expected = {k: before[k] for k in FIELDS} | changes
        assert {k: after[k] for k in FIELDS} == {k: expected[k] for k in FIELDS}, version
        assert after["version"] == version
    return len(events)


async def test_concurrent_changes_in_one_process_are_applied_in_the_order_they_came(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    funko = await service.create(new_fields(), "alice")
    answers = await asyncio.gather(
        *(service.amend(funko.funko_id, {"stock": n}, f"w{n}") for n in range(60))
    )

    assert [a.version for a in answers] == list(range(2, 62))
    assert [a.funko["stock"] for a in answers] == list(range(60))
    assert [a.position for a in answers] == sorted(a.position for a in answers)
    assert await check_each_event_follows_the_one_before(pool, funko.funko_id) == 61


async def test_changes_from_several_processes_are_all_applied_each_on_the_state_before(
    processes: list[FunkoService], pool: asyncpg.Pool
) -> None:
    funko = await processes[0].create(new_fields(), "alice")
    changes = [
        {"stock": n} if n % 3 else {"name": f"name {n}", "price": Decimal(n)} for n in range(150)
    ]
    answers = await asyncio.gather(
        *(
            processes[n % 3].amend(funko.funko_id, change, f"w{n}")
            for n, change in enumerate(changes)
        )
    )

    assert sorted(a.version for a in answers) == list(range(2, 152))
    assert await check_each_event_follows_the_one_before(pool, funko.funko_id) == 151
    logged = {v: data for v, data, _ in await history(pool, funko.funko_id)}
    for answer in answers:  # what each writer was told is what the log holds
        assert json.loads(answer.json, parse_float=Decimal) == logged[answer.version]


async def test_a_long_burst_racing_a_short_one_is_reapplied_on_the_state_the_short_one_left(
    processes: list[FunkoService], pool: asyncpg.Pool
) -> None:
    # Both load version 1; the short burst commits first. The long one's fourth change
    # expects version 4, as the log then is: accepting it would put an event computed on the
    # long burst's own first three changes on top of the short burst's.
    for _ in range(5):
        funko = await processes[0].create(new_fields(), "alice")
        short = [processes[0].amend(funko.funko_id, {"name": f"short {n}"}, "s") for n in range(3)]
        long = [processes[1].amend(funko.funko_id, {"stock": n}, "l") for n in range(40)]
        answers = await asyncio.gather(*short, *long)

        assert sorted(a.version for a in answers) == list(range(2, 45))
        assert await check_each_event_follows_the_one_before(pool, funko.funko_id) == 44


async def test_a_change_the_funko_refuses_fails_alone_among_others(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    funko = await service.create(new_fields(), "alice")
    outcomes: list[Recorded | BaseException] = await asyncio.gather(
        *(service.amend(funko.funko_id, {"stock": n}, "w") for n in range(10)),
        service.amend(funko.funko_id, {}, "w"),
        service.amend(funko.funko_id, {"price": -1}, "w"),
        service.amend(funko.funko_id, {"stock": 1}, "w", IfMatch(frozenset({1}))),
        *(service.amend(funko.funko_id, {"stock": n}, "w") for n in range(10, 20)),
        return_exceptions=True,
    )

    assert isinstance(outcomes[10], NothingToChange)
    assert isinstance(outcomes[11], InvalidFunko)
    assert isinstance(outcomes[12], PreconditionFailed)
    applied = [o for o in outcomes if isinstance(o, Recorded)]
    assert [a.funko["stock"] for a in applied] == list(range(20))
    assert await check_each_event_follows_the_one_before(pool, funko.funko_id) == 21


async def test_of_concurrent_changes_naming_one_version_exactly_one_is_applied(
    processes: list[FunkoService], pool: asyncpg.Pool
) -> None:
    funko = await processes[0].create(new_fields(), "alice")
    outcomes = await asyncio.gather(
        *(
            processes[n % 3].amend(funko.funko_id, {"stock": n}, "w", IfMatch(frozenset({1})))
            for n in range(30)
        ),
        return_exceptions=True,
    )

    assert sum(isinstance(o, Recorded) for o in outcomes) == 1
    assert all(isinstance(o, Recorded | PreconditionFailed) for o in outcomes), outcomes
    assert await check_each_event_follows_the_one_before(pool, funko.funko_id) == 2


async def test_a_change_its_caller_gave_up_on_is_not_applied_and_the_rest_are(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    funko = await service.create(new_fields(), "alice")
    before = [
        asyncio.ensure_future(service.amend(funko.funko_id, {"stock": n}, "w")) for n in range(5)
    ]
    abandoned = asyncio.ensure_future(service.amend(funko.funko_id, {"name": "Abandoned"}, "w"))
    after = [
        asyncio.ensure_future(service.amend(funko.funko_id, {"stock": n}, "w"))
        for n in range(5, 10)
    ]
    await asyncio.sleep(0)  # all queued in the line, none applied yet
    abandoned.cancel()
    answers = await asyncio.gather(*before, *after)

    assert [a.funko["stock"] for a in answers] == list(range(10))
    assert [a.version for a in answers] == list(range(2, 12))
    events = await history(pool, funko.funko_id)
    assert "Abandoned" not in {data["name"] for _, data, _ in events}
    assert await check_each_event_follows_the_one_before(pool, funko.funko_id) == 11
