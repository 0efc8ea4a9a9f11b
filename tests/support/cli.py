"""run.py as an operator runs it: a subprocess on the database a test names."""

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # where run.py is


@dataclass(frozen=True)
class Outcome:
    """What the command left: its exit code and what it wrote where."""

    code: int
    stdout: str
    stderr: str


async def run_cli(database_url: str, *args: str) -> Outcome:
    """Run ``run.py *args`` against ``database_url`` without blocking the test's event loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "run.py",
        *args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Outcome(process.returncode, out.decode(), err.decode())
