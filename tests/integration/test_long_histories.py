"""A change of a Funko with a long history reads no more of the log than a change of a fresh
one: every statement's plan, as PostgreSQL ran it (auto_explain, nested statements included),
reads at most a snapshot interval of that Funko's events."""

import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from infrastructure import bootstrap
from infrastructure.snapshots import INTERVAL
from tests.integration.funko_events import new_fields

HISTORY = 3 * INTERVAL + 17  # past a few snapshots, and more than any statement may read
# Every statement's plan, with the rows each node returned, sent to the client as a notice.
EXPLAINED = {
    "session_preload_libraries": "auto_explain",
    "auto_explain.log_min_duration": "0",
    "auto_explain.log_nested_statements": "on",
    "auto_explain.log_analyze": "on",
    "auto_explain.log_level": "notice",
    "auto_explain.log_format": "json",
}


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def most_events_read(notices: list[str]) -> int:
    """The most rows any one scan of ``events`` returned, over the plans in ``notices``."""
    plans = [json.loads(n.split("plan:", 1)[1]) for n in notices if "plan:" in n]
    return max(
        (
            int(node["Actual Rows"])
            for plan in plans
            for node in nodes(plan["Plan"])
            if node.get("Relation Name") == "events"
        ),
        default=0,
    )


async def needs_auto_explain(url: str) -> None:
    try:
        await (await asyncpg.connect(url, server_settings=EXPLAINED)).close()
    except asyncpg.UndefinedFileError:  # the embedded pgserver ships without contrib
        pytest.skip("auto_explain is not installed on this PostgreSQL (CI's has it)")


# The pool drops a connection's log listeners (and warns) each release: one is added each acquire.
@pytest.mark.filterwarnings("ignore::asyncpg.InterfaceWarning")
async def test_a_change_of_a_long_history_reads_no_more_events_than_a_snapshot_interval(
    fresh_database: str,
) -> None:
    await needs_auto_explain(fresh_database)
    notices: list[str] = []

    async def listen(conn: asyncpg.Connection) -> None:
        conn.add_log_listener(lambda _, message: notices.append(message.message))

    async with bootstrap.running(
        fresh_database, min_size=1, max_size=4, server_settings=EXPLAINED, setup=listen
    ) as parts:
        service = parts.service
        fresh = await service.create(new_fields(), "alice")
        long = await service.create(new_fields(), "alice")
        for stock in range(HISTORY):
            await service.amend(long.funko_id, {"stock": stock}, "bob")

        reads = {}
        for funko in (fresh, long):
            notices.clear()
            await service.amend(funko.funko_id, {"stock": 1}, "carol")
            reads[funko is long] = most_events_read(notices)

    assert 0 < reads[False] <= 1  # the fresh Funko: its one event
    assert 0 < reads[True] <= INTERVAL + 1, reads  # a snapshot and the events after it
