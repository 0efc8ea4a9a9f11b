"""PostgreSQL clusters of a test's own, run by Debian's server binaries (postgresql-15).

Invariant: a cluster touches nothing outside its directory and its one port on 127.0.0.1 (no
Unix socket, no system service), so tests may build, stop and delete clusters beside the
system's PostgreSQL and each other. PostgreSQL refuses to run as root: under root every binary
runs as the ``postgres`` OS user (``nobody`` where there is none), which owns the directories.
"""

import asyncio
import os
import pwd
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALLED = Path("/usr/lib/postgresql")
SUPERUSER = "root"  # as DATABASE_URL names CI's system server: postgresql://root@...
# Appended to postgresql.conf: what a primary needs to stream, a standby to serve reads;
# no durability (fsync) and a small footprint, for speed.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
shared_buffers = 16MB
max_connections = 50
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
wal_receiver_status_interval = 1s
"""
ACCESS = """
host all         all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def binaries() -> Path:
    """The newest PostgreSQL server binaries Debian installed."""
    found = sorted(INSTALLED.glob("*/bin/pg_basebackup"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError(f"no PostgreSQL under {INSTALLED}: apt-get install postgresql")
    return found[-1].parent


def owner() -> pwd.struct_passwd | None:
    """The OS user the binaries run as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return pwd.getpwnam("nobody")


def workspace(prefix: str) -> Path:
    """A new temporary directory the binaries' user owns, for clusters and their logs."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    account = owner()
    if account is not None:
        os.chown(directory, account.pw_uid, account.pw_gid)
    return directory


async def run(program: str, *args: str, cwd: Path, check: bool = True) -> int:
    """Run one of the binaries as ``owner()``; its exit status (RuntimeError, with its stderr,
    if it fails and ``check``). In a thread: initdb and pg_basebackup take seconds."""
    account = owner()
    as_owner: dict[str, Any] = {}
    if account is not None:
        as_owner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    command = [str(binaries() / program), *args]

    def complete() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False, **as_owner
        )

    result = await asyncio.to_thread(complete)
    if check and result.returncode != 0:
        raise RuntimeError(f"{program} {' '.join(args)} failed:\n{result.stderr}")
    return result.returncode


@dataclass(frozen=True)
class Cluster:
    """One data directory and the port it listens on, the same across restarts."""

    data: Path
    port: int

    @property
    def log(self) -> Path:
        return self.data.with_suffix(".log")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    async def init(self) -> None:
        """A new cluster whose superuser is ``SUPERUSER``, trusted on 127.0.0.1."""
        await self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8", "--no-sync")
        # Written into the files initdb made, so they keep their owner.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS)
        (self.data / "pg_hba.conf").write_text(ACCESS)

    async def start(self) -> None:
        """Start, and wait until it accepts connections (a standby: once it is consistent)."""
        await self._ctl("-l", str(self.log), "-o", f"-p {self.port}", "-w", "-t", "60", "start")

    async def stop(self, mode: str = "fast") -> None:
        """Stop: ``fast`` ends sessions and shuts down cleanly, ``immediate`` just quits."""
        await self._ctl("-m", mode, "-w", "stop")

    async def running(self) -> bool:
        status = ["pg_ctl", "-D", str(self.data), "status"]
        return await run(*status, cwd=self.data.parent, check=False) == 0

    async def _ctl(self, *args: str) -> None:
        await self._run("pg_ctl", "-D", str(self.data), *args)

    async def _run(self, program: str, *args: str) -> None:
        try:
            await run(program, *args, cwd=self.data.parent)
        except RuntimeError as error:
            tail = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{error}\n{self.log.name}:\n{tail}") from None
