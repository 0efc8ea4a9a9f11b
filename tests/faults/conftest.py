"""Fixtures of the fault tests: servers as processes, a PostgreSQL to stop, fresh databases."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infrastructure.database import create_database, drop_database
from tests.faults.private_postgres import PrivatePostgres
from tests.faults.serving import ServerProcess, start_server

StartServer = Callable[..., Awaitable[ServerProcess]]


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Starts servers (``start(database_url, **env)``); any still running at the end is killed,
    and every server's log is printed (pytest shows it when the test fails)."""
    started: list[ServerProcess] = []

    async def start(database_url: str, **env: Any) -> ServerProcess:
        server = await start_server(database_url, tmp_path / f"server-{len(started)}.log", **env)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.kill()
        print(f"--- {server.log.name} (tail) ---\n{server.log_tail()}")


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A cluster for this module alone (initdb takes a second); running as each test starts."""
    cluster = PrivatePostgres()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
async def stoppable_database(private_postgres: PrivatePostgres) -> AsyncIterator[str]:
    """A fresh database on the private cluster, which the test may stop and start."""
    private_postgres.ensure_running()
    url = await create_database(private_postgres.url, "funko_faults")
    yield url
    private_postgres.ensure_running()
    await drop_database(private_postgres.url, url)


@pytest.fixture
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """An empty database on the suite's PostgreSQL (run.py serve migrates it)."""
    url = await create_database(server_url, "funko_faults")
    yield url
    await drop_database(server_url, url)
