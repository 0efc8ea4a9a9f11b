"""The growth phase's logs: a made-up replay file (bench/replay_files.py) restored into a
database of its own, each step timed beside its physical floor in the same run.

Restore (``run.py restore FILE``) stands beside asyncpg's COPY of the same file's lines into a
one-column table (the bytes into PostgreSQL, nothing parsed, hashed or indexed); ``run.py
verify`` beside asyncpg's ``COPY events TO STDOUT`` (every stored row out, nothing checked).
The CLI runs are subprocesses timed from spawn to exit. Then VACUUM ANALYZE, as an operator
would after a restore, the database's size on disk, and a replay of the whole log, which must
be the file again (compared by SHA-256). The file is deleted before the log is measured.
"""

import asyncio
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.db import throwaway_database
from bench.replay_files import Shape, Written, write
from infrastructure.settings import ROOT

READ = 1 << 20


@dataclass
class Log:
    """A restored log ready to measure, and what building it took (seconds)."""

    url: str
    written: Written
    generate_s: float = 0.0
    copy_in_s: float = 0.0  # the restore's floor
    restore_s: float = 0.0
    verify_s: float = 0.0
    copy_out_s: float = 0.0  # verify's floor
    vacuum_s: float = 0.0
    bytes_on_disk: int = 0
    restored: str = ""  # restore's last line
    verified: str = ""  # verify's last line
    replays_as_written: bool = False


def generate(path: Path, events: int) -> Written:
    """A made-up log of ``events`` events written to ``path`` (bench/replay_files.py)."""
    with path.open("w", buffering=READ) as out:
        return write(out, Shape.of(events))


async def cli(url: str, *args: str) -> tuple[float, str]:
    """Seconds from spawn to exit of ``run.py *args`` and its last line on stderr or stdout;
    RuntimeError unless it exits 0."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", *args, cwd=ROOT, env=env, stdout=-1, stderr=-1
    )
    out, err = await proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"run.py {args[0]} exited with {proc.returncode}: {err[-500:]!r}")
    last = (out or err).decode().strip().splitlines()
    return seconds, last[-1] if last else ""


async def _copy_in(conn: asyncpg.Connection, path: Path) -> float:
    """Seconds to COPY the file's lines into a one-column table (text format: the generated
    lines hold no backslash or tab), dropped afterwards."""
    await conn.execute("CREATE TABLE growth_lines (line text)")
    started = time.perf_counter()
    await conn.copy_to_table("growth_lines", source=path, format="text")
    seconds = time.perf_counter() - started
    await conn.execute("DROP TABLE growth_lines")
    return seconds


async def _copy_out(conn: asyncpg.Connection) -> float:
    """Seconds to COPY every stored event out, dropped."""

    async def drop(_: bytes) -> None:
        pass

    started = time.perf_counter()
    await conn.copy_from_table("events", output=drop)
    return time.perf_counter() - started


def _sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(READ):
            digest.update(block)
    return digest.digest()


async def _replay_sha256(url: str) -> bytes:
    """SHA-256 of ``run.py replay``'s output, read as it streams."""
    env = {**os.environ, "DATABASE_URL": url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", "replay", cwd=ROOT, env=env, stdout=-1, stderr=-3
    )
    assert proc.stdout is not None
    digest = hashlib.sha256()
    while block := await proc.stdout.read(READ):
        digest.update(block)
    if await proc.wait() != 0:
        raise RuntimeError(f"run.py replay exited with {proc.returncode}")
    return digest.digest()


async def _restore(log: Log, conn: asyncpg.Connection, path: Path) -> None:
    log.copy_in_s = await _copy_in(conn, path)
    log.restore_s, log.restored = await cli(log.url, "restore", str(path))
    log.verify_s, log.verified = await cli(log.url, "verify")
    log.copy_out_s = await _copy_out(conn)
    started = time.perf_counter()
    await conn.execute("VACUUM ANALYZE")
    log.vacuum_s = time.perf_counter() - started
    log.bytes_on_disk = await conn.fetchval("SELECT pg_database_size(current_database())")
    log.replays_as_written = await _replay_sha256(log.url) == await asyncio.to_thread(_sha256, path)


@asynccontextmanager
async def restored(events: int) -> AsyncIterator[Log]:
    """A throwaway database holding a made-up log of ``events`` events, restored, verified,
    vacuumed and analysed; dropped at the end."""
    async with throwaway_database() as url:
        with tempfile.TemporaryDirectory(prefix="funko_growth_") as directory:
            path = Path(directory) / "log.ndjson"
            started = time.perf_counter()
            log = Log(url, await asyncio.to_thread(generate, path, events))
            log.generate_s = time.perf_counter() - started
            conn = await asyncpg.connect(url)
            try:
                await _restore(log, conn, path)
            finally:
                await conn.close()
        yield log
