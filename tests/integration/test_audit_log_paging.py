"""AuditLog's pages: where they start and stop, and reading long spans page by page."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing

import asyncpg
import pytest

from domain.services import FunkoService
from infrastructure.audit_log import AuditLog, LogPage
from tests.integration.funko_events import new_fields
from tests.support.streams import log_positions
from tests.support.waiting import eventually


def positions(envelopes: list[str]) -> list[int]:
    return [json.loads(envelope)["position"] for envelope in envelopes]


async def create(service: FunkoService, count: int) -> None:
    await asyncio.gather(*(service.create(new_fields(), "pager") for _ in range(count)))


def reading_tasks() -> list[asyncio.Task[object]]:
    """Tasks still running the audit log's code (asyncpg's own cancel request aside)."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and getattr(getattr(task.get_coro(), "cr_code", None), "co_filename", "").endswith(
            "audit_log.py"
        )
    ]


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def test_a_page_from_the_start_holds_the_first_events_of_the_log(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    await create(service, 3)
    log = AuditLog(pool)

    page = await log.page(0, 3)

    first = await log_positions(pool, 0, 3)
    assert positions(page.envelopes) == first
    assert page.next == first[-1]
    assert page.head == await log.head()


async def test_a_page_after_the_head_is_empty_and_next_stays_put(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    await create(service, 1)
    log = AuditLog(pool)
    head = await log.head()

    assert await log.page(head, 10) == LogPage([], head, head)
    assert await log.page(head + 5, 1) == LogPage([], head + 5, head)


async def test_pages_of_one_and_of_a_thousand_events(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    log = AuditLog(pool)
    start = await log.head()
    await create(service, 1005)
    head = await log.head()
    ours = await log_positions(pool, start, head)

    one = await log.page(start, 1)
    thousand = await log.page(start, 1000)
    rest = await log.page(thousand.next, 1000)

    assert (positions(one.envelopes), one.next) == (ours[:1], ours[0])
    assert (positions(thousand.envelopes), thousand.next) == (ours[:1000], ours[999])
    assert (positions(rest.envelopes), rest.next, rest.head) == (ours[1000:], head, head)


async def test_pages_smaller_than_the_span_yield_every_event_once_in_order(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    log = AuditLog(pool)
    start = await log.head()
    await create(service, 55)
    funko = await service.create(new_fields(), "pager")
    for stock in range(4):
        await service.amend(funko.funko_id, {"stock": stock}, "pager")
    head = await log.head()

    pages = [page async for page in log.pages(start, head, size=7)]
    of_one = [page async for page in log.pages(start, head, funko.funko_id, size=2)]

    assert [p for _, envelopes in pages for p in positions(envelopes)] == await log_positions(
        pool, start, head
    )
    assert [len(envelopes) for _, envelopes in pages] == [7] * 8 + [4]
    assert all(last == positions(envelopes)[-1] for last, envelopes in pages)
    assert [e for _, envelopes in of_one for e in envelopes] == await log.history(funko.funko_id)
    assert [len(envelopes) for _, envelopes in of_one] == [2, 2, 1]


async def test_pages_stop_at_upto_while_writers_append(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    log = AuditLog(pool)
    start = await log.head()
    await create(service, 30)
    upto = await log.head()
    appended: list[int] = []
    writing = True

    async def write() -> None:
        while writing:
            await service.create(new_fields(), "late")
            appended.append(1)

    writers = [asyncio.create_task(write()) for _ in range(3)]
    try:
        await eventually(lambda: len(appended) >= 20, 10, "writers append past upto")
        read = [
            p async for _, envelopes in log.pages(start, upto, size=4) for p in positions(envelopes)
        ]
    finally:
        writing = False
        await asyncio.gather(*writers)

    assert read == await log_positions(pool, start, upto)
    assert len(read) == 30
    assert await log.head() > upto


async def test_closing_pages_early_leaves_no_task_and_a_usable_connection(
    service: FunkoService, connection: asyncpg.Connection
) -> None:
    log = AuditLog(connection)
    start = await log.head()
    await create(service, 40)
    async with aclosing(log.pages(start, await log.head(), size=5)) as pages:
        async for _, envelopes in pages:
            assert len(envelopes) == 5
            break  # the next page is being fetched meanwhile

    assert reading_tasks() == []
    assert await connection.fetchval("SELECT 1") == 1
    assert len((await log.page(start, 3)).envelopes) == 3
