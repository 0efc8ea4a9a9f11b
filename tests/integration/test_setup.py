"""Set-up: migrations apply once even when processes start together; the CLI's commands."""

import asyncio
import os
import subprocess
import sys
from uuid import uuid4

import asyncpg
import jwt

from infrastructure.database import MIGRATIONS, migrate, migration_files
from tests.support.cli import ROOT


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_concurrent_migrations_apply_each_file_exactly_once(fresh_database: str) -> None:
    results = await asyncio.gather(*(migrate(fresh_database) for _ in range(4)))

    names = [name for name, _ in migration_files(MIGRATIONS)]
    assert sorted(name for applied in results for name in applied) == names
    conn = await asyncpg.connect(fresh_database)
    try:
        rows = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
        assert [r["name"] for r in rows] == names
        assert await conn.fetchval("SELECT position FROM log_head") == 0
    finally:
        await conn.close()


async def test_migrate_command_twice_at_once_then_again_applies_nothing(
    fresh_database: str,
) -> None:
    env = {"DATABASE_URL": fresh_database}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "run.py",
            "migrate",
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    again = run_cli("migrate", env=env)
    assert again.returncode == 0
    assert "none pending" in again.stdout


def test_token_command_prints_a_token_signed_with_the_secret() -> None:
    result = run_cli(
        "token",
        "--role",
        "auditor",
        "--sub",
        "carol",
        "--ttl",
        "60",
        env={"FUNKO_JWT_SECRET": "cli-secret-of-enough-length-for-hs256!"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    claims = jwt.decode(lines[0], "cli-secret-of-enough-length-for-hs256!", algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == ("carol", "auditor")
    assert 0 < claims["exp"] - claims["iat"] <= 60


def test_token_command_issues_a_consumer_token() -> None:
    secret = "cli-secret-of-enough-length-for-hs256!"
    result = run_cli("token", "--role", "consumer", env={"FUNKO_JWT_SECRET": secret})
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["role"] == "consumer"


def test_token_command_refuses_an_unknown_role() -> None:
    result = run_cli("token", "--role", "root", env={"FUNKO_JWT_SECRET": "x" * 32})
    assert result.returncode == 2
    assert result.stdout == ""


async def test_rebuild_command_leaves_the_same_read_model(database_url: str, service) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    first = await service.create(
        {"name": "Rebuilt", "price": Decimal("3.50"), "stock": 1, "category": f"c-{uuid4().hex}"},
        "tester",
    )
    await service.amend(first.funko_id, {"stock": 7}, "tester")
    query = "SELECT * FROM catalog_funkos ORDER BY id"
    cats = "SELECT * FROM catalog_categories ORDER BY name"
    conn = await asyncpg.connect(database_url)
    try:
        before = (await conn.fetch(query), await conn.fetch(cats))
        result = await asyncio.to_thread(run_cli, "rebuild", env={"DATABASE_URL": database_url})
        assert result.returncode == 0, result.stderr
        after = (await conn.fetch(query), await conn.fetch(cats))
    finally:
        await conn.close()
    assert [dict(r) for r in after[0]] == [dict(r) for r in before[0]]
    assert [dict(r) for r in after[1]] == [dict(r) for r in before[1]]
    assert "rebuilt the catalog" in result.stderr
