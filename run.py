"""Entry point: serve | migrate | token | replay | rebuild | verify (see docs/api.md)."""

import argparse
import asyncio
import logging
import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing, contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar
from uuid import UUID

from infrastructure import json_logs
from infrastructure.settings import Settings
from web import roles

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    from infrastructure.verification import Finding, Verified

T = TypeVar("T")
# The command line's statements run as long as the log needs (a fold from the start sorts it):
# the service's 30 s limit is for requests.
UNTIMED = {"command_timeout": None}
Progress = Callable[[int, int | None], None]  # (position reached, last position if known)
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


def serve(settings: Settings, _: argparse.Namespace) -> int:
    from web.serving import serve as serve_workers

    return serve_workers(settings)


def migrate(settings: Settings, _: argparse.Namespace) -> int:
    from infrastructure.database import migrate as apply

    applied = asyncio.run(apply(settings.url))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def token(settings: Settings, args: argparse.Namespace) -> int:
    from web.auth import issue_token

    print(issue_token(settings.jwt_secret, args.role, args.sub, args.ttl))
    return 0


@contextmanager
def _progress(description: str, start: int = 0) -> Iterator[Progress]:
    """A progress bar on stderr, moved by (position reached, last position) calls."""
    from tqdm import tqdm

    bars: list[tqdm[Any]] = []  # drawn from the first step, so bars appear as work starts

    def show(position: int, upto: int | None) -> None:
        if not bars:
            bars.append(tqdm(desc=description, unit=" pos", file=sys.stderr, mininterval=0.5))
        bars[0].total = None if upto is None else upto - start
        bars[0].update(position - start - bars[0].n)

    try:
        yield show
    finally:
        for bar in bars:
            bar.close()


def _on_database(settings: Settings, work: Callable[[Connection], Awaitable[T]]) -> T:
    """Run ``work(connection)`` on the database as the service opens it (migrated, its read
    model caught up with the log), then close it."""
    from infrastructure import bootstrap

    async def run() -> T:
        async with (
            bootstrap.database(settings.url, min_size=1, max_size=1, **UNTIMED) as pool,
            pool.acquire() as conn,
        ):
            return await work(conn)

    return asyncio.run(run())


def replay(settings: Settings, args: argparse.Namespace) -> int:
    from infrastructure.audit_log import AuditLog

    out = sys.stdout.buffer

    async def write(conn: Connection) -> int:
        log = AuditLog(conn)
        head = await log.head()
        if args.after > head:
            print(f"--after {args.after} is beyond the newest position, {head}", file=sys.stderr)
            return 2
        with _progress("replay", args.after) as progress:
            async with aclosing(log.pages(args.after, head, args.funko)) as pages:
                async for last, envelopes in pages:
                    out.write(("\n".join(envelopes) + "\n").encode())
                    progress(last, head)
            progress(head, head)
        out.flush()
        return 0

    try:
        return _on_database(settings, write)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def rebuild(settings: Settings, _: argparse.Namespace) -> int:
    from infrastructure import bootstrap
    from infrastructure.projection import CatalogProjection

    async def run() -> int:
        async with bootstrap.database(settings.url, min_size=1, max_size=1, **UNTIMED) as pool:
            with _progress("rebuild") as progress:
                return await CatalogProjection().rebuild(pool, progress)

    head = asyncio.run(run())
    print(f"rebuilt the catalog from the log up to position {head}", file=sys.stderr)
    return 0


def restore(settings: Settings, args: argparse.Namespace) -> int:
    from infrastructure.restore import LogNotEmpty, NotRestorable
    from infrastructure.restore import restore as load

    async def run(conn: Connection) -> int:
        with _progress("restore") as progress, _lines(args.file) as lines:
            try:
                restored = await load(conn, lines, progress)
            except LogNotEmpty as error:
                print(f"restore refused: {error}; nothing was written", file=sys.stderr)
                return 2
            except NotRestorable as error:
                print(f"restore failed at {error}; nothing was written", file=sys.stderr)
                return 1
        print(
            f"restored {restored.events} events up to position {restored.head},"
            f" head hash {restored.hash.hex()}",
            file=sys.stderr,
        )
        return 0

    return _on_database(settings, run)


@contextmanager
def _lines(path: str | None) -> Iterator[Iterator[bytes]]:
    """The lines of ``path``, or of standard input when it is None or "-"."""
    if path is None or path == "-":
        yield iter(sys.stdin.buffer)
        return
    with open(path, "rb") as file:
        yield iter(file)


def verify(settings: Settings, _: argparse.Namespace) -> int:
    from infrastructure import verification

    async def check() -> "Verified | Finding":
        from infrastructure import bootstrap

        async with (
            bootstrap.database(settings.url, min_size=2, max_size=2, **UNTIMED) as pool,
            pool.acquire() as conn,
            pool.acquire() as beside,
        ):
            with _progress("hash chain") as chain, _progress("fresh fold") as fold:
                return await verification.verify(conn, chain, fold, beside)

    outcome = asyncio.run(check())
    if isinstance(outcome, verification.Finding):
        print(f"verify FAILED at position {outcome.position}: {outcome.problem}")
        return 1
    print(
        f"verified {outcome.events} events up to position {outcome.head}: the hash chain"
        " holds and the read model equals a fresh fold of the log"
    )
    print(f"head position {outcome.head} hash {outcome.hash.hex()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve HTTP on HOST:PORT (the default)")
    commands.add_parser("migrate", help="apply pending migrations, then exit")
    issue = commands.add_parser("token", help="print a signed bearer token")
    issue.add_argument("--role", required=True, choices=roles.ROLES)
    issue.add_argument("--sub", default="cli")
    issue.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    commands.add_parser("rebuild", help="rebuild every projection from the event log")
    log = commands.add_parser("replay", help="write the event log as NDJSON to stdout")
    log.add_argument("--after", type=int, default=0, help="only events after this position")
    log.add_argument("--funko", type=UUID, help="only this Funko's events")
    commands.add_parser("verify", help="check the hash chain and the read model")
    back = commands.add_parser("restore", help="load a replay file into an empty log")
    back.add_argument("file", nargs="?", help="the NDJSON file (default: standard input)")
    args = parser.parse_args(argv)
    if args.command == "token" and args.ttl <= 0:
        parser.error("--ttl must be positive")
    if args.command == "token":
        from web.auth import CLAIM_MAX, plain_claim

        if not plain_claim(args.sub):
            parser.error(f"--sub must be 1 to {CLAIM_MAX} characters of valid text, no controls")
    if args.command == "replay" and args.after < 0:
        parser.error("--after must be 0 or more")
    json_logs.configure()
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates every pg_ctl call
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    handlers = {
        "serve": serve,
        "migrate": migrate,
        "token": token,
        "replay": replay,
        "rebuild": rebuild,
        "verify": verify,
        "restore": restore,
    }
    settings = Settings.from_env()
    if args.command != "token":  # the one command that needs no database
        from infrastructure.bootstrap import with_database

        settings = with_database(settings)
    return handlers[args.command or "serve"](settings, args)


if __name__ == "__main__":
    sys.exit(main())
