"""A PostgreSQL cluster of the test's own, which it may stop and start at will.

It runs pgserver's bundled binaries (a pinned dependency, so present wherever the suite runs),
in a temporary directory, listening on 127.0.0.1 at a free port that stays the same across
restarts. PostgreSQL refuses to run as root, so under root it runs as ``nobody``.
"""

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import steady_port

# Found, not imported: importing pgserver sets up its own lock files and runtime directory.
_PGSERVER = importlib.util.find_spec("pgserver")
assert _PGSERVER is not None and _PGSERVER.origin is not None
BIN = Path(_PGSERVER.origin).parent / "pginstall" / "bin"
UNPRIVILEGED = "nobody"


class PrivatePostgres:
    """initdb'd on creation; ``start``/``stop`` as often as a test likes; ``remove`` at the end."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="funko-faults-pg-"))
        self.port = steady_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._frozen: list[int] = []
        self._user = UNPRIVILEGED if os.geteuid() == 0 else None
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-U", "postgres", "--auth=trust", "--no-sync", "-E", "utf8")

    @property
    def _data(self) -> Path:
        return self.directory / "data"

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        command = [str(BIN / program), "-D", str(self._data), *args]
        result = subprocess.run(
            command,
            user=self._user,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            log = self.directory / "log"
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise RuntimeError(f"{program} {args} failed:\n{result.stderr}\n{tail}")
        return result.returncode

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "status", check=False) == 0

    def ensure_running(self) -> None:
        self.thaw()
        if not self.running:
            self.start()

    def start(self) -> None:
        # No Unix socket (-k ''): nothing outside the temporary directory is touched.
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-w", "-l", str(self.directory / "log"), "-o", options, "start")

    def stop(self) -> None:
        """Stop as an operator's fast shutdown does: sessions are ended, the port closes."""
        self._run("pg_ctl", "-w", "-m", "fast", "stop")

    def freeze(self) -> None:
        """Stop PostgreSQL answering, as a hung host does: its processes are paused (SIGSTOP),
        so connections stay open and new ones are accepted by the kernel, but nothing replies."""
        postmaster = int((self._data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGSTOP)  # first, so it starts no backend meanwhile
        self._frozen = [postmaster, *self._children(postmaster)]
        for pid in self._frozen[1:]:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self._frozen):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._frozen = []

    @staticmethod
    def _children(postmaster: int) -> list[int]:
        """The postmaster's processes: backends, checkpointer, ..."""
        children = []
        for entry in Path("/proc").iterdir():
            try:
                # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == postmaster:
                children.append(int(entry.name))
        return children

    def remove(self) -> None:
        self.thaw()
        if self.running:
            self._run("pg_ctl", "-w", "-m", "immediate", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
