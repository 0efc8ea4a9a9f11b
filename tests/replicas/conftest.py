"""Fixtures of the replica tests (issue 16): a private primary and a streaming replica of it,
built once per module (initdb and pg_basebackup take about a second) on the module's event
loop, so a module here marks its tests ``pytest.mark.asyncio(loop_scope="module")``."""

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.support.replication import Replication, replication


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def module_replication() -> AsyncIterator[Replication]:
    async with replication() as pair:
        yield pair


@pytest_asyncio.fixture(loop_scope="module")
async def primary_and_replica(module_replication: Replication) -> Replication:
    """The module's pair with the replica running, replaying and caught up, whatever the test
    before left it in (stopped, paused)."""
    await module_replication.ensure_streaming()
    return module_replication
