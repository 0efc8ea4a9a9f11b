"""run.py restore: a replay file back into an empty log, all or nothing, ending on the source's
head hash; run.py replay of the result is the file again, byte for byte."""

from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from domain.services import FunkoService
from infrastructure import bootstrap
from infrastructure import restore as restoring
from tests.integration.funko_events import ACTORS, NAMES, new_fields
from tests.support.cli import Outcome, run_cli
from tests.support.databases import throwaway
from tests.support.servers import Servers
from tests.support.tokens import AUDITOR

CATALOG = "SELECT doc::text, name_key FROM catalog_funkos ORDER BY id"
CATEGORIES = "SELECT name, count FROM catalog_categories ORDER BY name"
IMAGE = "https://example.com/%F0%9F%A6%96/%22it's%22%5Cpath.png?q=%C3%BC&a=(1)*2;b=$c"


async def awkward_history(service: FunkoService) -> None:
    """Creates, changes and deletes with text JSON and PostgreSQL must keep exactly."""
    for n, (name, actor) in enumerate(zip(NAMES, ACTORS, strict=True)):
        funko = await service.create(new_fields(name=name, category="straße", image=IMAGE), actor)
        await service.amend(funko.funko_id, {"price": Decimal("0.10"), "stock": n}, actor)
        await service.replace(funko.funko_id, new_fields(name=f"{name[:90]}\\", image=None), "x")
        if n % 2:
            await service.delete(funko.funko_id, actor[::-1])
    await service.create(new_fields(price=Decimal("999999.99")), "big")
    await service.create(new_fields(price=Decimal("0.00")), "free")


async def replayed(url: str, path: Path) -> bytes:
    outcome = await run_cli(url, "replay")
    assert outcome.code == 0, outcome.stderr
    written = outcome.stdout.encode()
    path.write_bytes(written)  # noqa: ASYNC240  # a small file, in a test
    return written


async def restore(url: str, path: Path) -> Outcome:
    return await run_cli(url, "restore", str(path))


async def tidied(url: str) -> dict[str, tuple[bool, bool]]:
    """Whether each table was vacuumed, and analysed, since the database was made."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT relname, last_vacuum IS NOT NULL, last_analyze IS NOT NULL"
            " FROM pg_stat_user_tables WHERE relname IN ('catalog_funkos', 'events')"
        )
        return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        await conn.close()


async def state(url: str) -> tuple[list[asyncpg.Record], ...]:
    conn = await asyncpg.connect(url)
    try:
        events = await conn.fetch("SELECT * FROM events ORDER BY position")
        head = await conn.fetch("SELECT * FROM log_head")
        return events, head, await conn.fetch(CATALOG), await conn.fetch(CATEGORIES)
    finally:
        await conn.close()


async def test_a_restored_log_replays_byte_for_byte_and_ends_on_the_same_head_hash(
    fresh_database: str, server_url: str, tmp_path: Path
) -> None:
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        await awkward_history(parts.service)
    source = await replayed(fresh_database, tmp_path / "source.ndjson")

    async with throwaway(server_url, "restored") as copy:
        restored = await restore(copy, tmp_path / "source.ndjson")
        assert restored.code == 0, restored.stderr
        assert await tidied(copy) == {"catalog_funkos": (True, True), "events": (False, True)}
        assert await replayed(copy, tmp_path / "copy.ndjson") == source
        original, again = await run_cli(fresh_database, "verify"), await run_cli(copy, "verify")
        assert (original.code, again.code) == (0, 0), again.stdout + again.stderr
        assert again.stdout.splitlines()[-1] == original.stdout.splitlines()[-1]
        assert await state(copy) == await state(fresh_database)  # every column, the catalog


async def test_restore_into_a_log_that_is_not_empty_is_refused_and_writes_nothing(
    fresh_database: str, tmp_path: Path
) -> None:
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        await parts.service.create(new_fields(), "alice")
    path = tmp_path / "log.ndjson"
    await replayed(fresh_database, path)
    before = await state(fresh_database)

    outcome = await restore(fresh_database, path)

    assert outcome.code == 2, outcome.stderr
    assert "not empty" in outcome.stderr
    assert await state(fresh_database) == before


async def test_a_bad_line_leaves_the_log_empty_and_is_named(
    fresh_database: str, server_url: str, tmp_path: Path
) -> None:
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        for _ in range(5):
            await parts.service.create(new_fields(), "alice")
    lines = (await replayed(fresh_database, tmp_path / "log.ndjson")).splitlines(keepends=True)
    spoilt = {
        "truncated": [*lines[:4], lines[4][: len(lines[4]) // 2]],
        "out of order": [lines[1], lines[0], *lines[2:]],
        "a repeated line": [*lines[:3], lines[2], *lines[3:]],
        "a value spelt otherwise": [*lines[:2], lines[2].replace(b'"version":1', b'"version":01')],
        "not JSON": [*lines[:3], b"hello\n"],
    }
    for what, content in spoilt.items():
        async with throwaway(server_url, "restored") as copy:
            path = tmp_path / "spoilt.ndjson"
            path.write_bytes(b"".join(content))
            outcome = await restore(copy, path)
            assert outcome.code == 1, (what, outcome.stderr)
            assert "line " in outcome.stderr, (what, outcome.stderr)
            events, head, catalog, _ = await state(copy)
            assert (events, catalog) == ([], []), what
            assert head[0]["position"] == 0, what


async def test_a_bad_line_chunks_after_the_first_leaves_the_log_empty_and_is_named(
    fresh_database: str, server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(restoring, "CHUNK", 2)  # chunks copied before the bad one is read
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        funko = await parts.service.create(new_fields(), "alice")
        for stock in range(6):
            await parts.service.amend(funko.funko_id, {"stock": stock}, "bob")
    lines = (await replayed(fresh_database, tmp_path / "log.ndjson")).splitlines(keepends=True)
    spoilt = {
        7: [*lines[:6], lines[6].replace(b'"version":7', b'"version":9')],  # out of its history
        6: [*lines[:5], lines[5].replace(b'"actor":"bob"', b'"actor":"bob" ')],  # spelt otherwise
    }
    for number, content in spoilt.items():
        async with throwaway(server_url, "restored", migrated=True) as copy:
            conn = await asyncpg.connect(copy)
            try:
                with pytest.raises(restoring.NotRestorable) as refused:
                    await restoring.restore(conn, iter(content))
            finally:
                await conn.close()
            assert refused.value.line == number, str(refused.value)
            events, head, catalog, _ = await state(copy)
            assert (events, catalog, head[0]["position"]) == ([], [], 0)


PAGES = [
    "/api/v1/funkos",
    "/api/v1/funkos?sortBy=price&direction=desc&size=3&page=1",
    "/api/v1/funkos?name=yoda",
    "/api/v1/funkos?minStock=1&sortBy=updatedAt&direction=desc",
    "/api/v1/funkos?minPrice=0&maxPrice=10&sortBy=createdAt&direction=desc",
    "/api/v1/categories",
    "/api/v1/events?after=3&limit=1000",
]


async def test_a_restored_database_serves_the_same_catalog_pages(
    fresh_database: str, server_url: str, tmp_path: Path
) -> None:
    async with bootstrap.running(fresh_database, min_size=1, max_size=4) as parts:
        await awkward_history(parts.service)
    await replayed(fresh_database, tmp_path / "source.ndjson")
    servers = Servers(tmp_path)
    async with throwaway(server_url, "restored") as copy:
        assert (await restore(copy, tmp_path / "source.ndjson")).code == 0
        try:
            source, restored = await servers.start(fresh_database), await servers.start(copy)
            async with aiohttp.ClientSession(headers=AUDITOR) as http:
                for page in PAGES:
                    answers = []
                    for server in (source, restored):
                        async with http.get(server.base + page) as response:
                            answers.append((response.status, await response.read()))
                    assert answers[0] == answers[1], page
                    assert answers[0][0] == 200 and b'"content":[]' not in answers[0][1], page
        finally:
            await servers.stop()
