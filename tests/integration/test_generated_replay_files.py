"""The growth bench's made-up logs (bench/replay_files.py) are replay files as run.py writes
them: restore takes them, verify passes, and replay gives them back byte for byte."""

from pathlib import Path

import asyncpg

from bench.replay_files import RARE, Shape, write
from tests.support.cli import run_cli

LIVE = "SELECT count(*), count(*) FILTER (WHERE name LIKE '%' || $1 || '%') FROM catalog_funkos"


async def test_a_generated_log_restores_verifies_and_replays_byte_for_byte(
    fresh_database: str, tmp_path: Path
) -> None:
    path = tmp_path / "generated.ndjson"
    shape = Shape.of(3000, long_history=400)
    with path.open("w") as out:
        written = write(out, shape)

    restored = await run_cli(fresh_database, "restore", str(path))
    verified = await run_cli(fresh_database, "verify")
    replayed = await run_cli(fresh_database, "replay")

    assert restored.code == 0, restored.stderr
    assert verified.code == 0, verified.stdout + verified.stderr
    head_hash = restored.stderr.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert verified.stdout.splitlines()[-1] == f"head position 3000 hash {head_hash}"
    assert replayed.stdout.encode() == path.read_bytes()
    conn = await asyncpg.connect(fresh_database)
    try:
        live = await conn.fetchrow(LIVE, RARE)
        assert live is not None and tuple(live) == (written.live, written.rare)
        history = "SELECT count(*) FROM events WHERE funko_id = $1"
        assert await conn.fetchval(history, written.long_funko) == 400
        assert await conn.fetchval("SELECT count(*) FROM events WHERE type = 'DELETE'") == 3
    finally:
        await conn.close()
