"""Entry point: serve | migrate | token | rebuild (see ../shared/API.md, "Running it")."""

import argparse
import asyncio
import dataclasses
import gc
import logging
import sys
import warnings

from infrastructure.settings import Settings


def _with_database(settings: Settings) -> Settings:
    if settings.database_url:
        return settings
    from infrastructure.database import embedded_url

    return dataclasses.replace(settings, database_url=embedded_url())


async def _freeze_startup_objects(_: object) -> None:
    # What exists once serving starts lives as long as the process: keep it out of the
    # garbage collector's full passes, whose pauses are the stream's latency tail.
    gc.collect()
    gc.freeze()


def serve(settings: Settings, _: argparse.Namespace) -> int:
    import uvloop
    from aiohttp import web

    from web.app import create_app

    settings = _with_database(settings)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop=uvloop.new_event_loop(),
        access_log=None,
    )
    return 0


def migrate(settings: Settings, _: argparse.Namespace) -> int:
    from infrastructure.database import migrate as apply

    applied = asyncio.run(apply(_with_database(settings).database_url or ""))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def token(settings: Settings, args: argparse.Namespace) -> int:
    from web.auth import issue_token

    print(issue_token(settings.jwt_secret, args.role, args.sub, args.ttl))
    return 0


def rebuild(settings: Settings, _: argparse.Namespace) -> int:
    from infrastructure.database import create_pool
    from infrastructure.database import migrate as apply
    from infrastructure.projection import CatalogProjection

    def progress(position: int, head: int) -> None:
        print(f"\rrebuilding: {position}/{head}", end="", file=sys.stderr, flush=True)

    async def run(url: str) -> int:
        await apply(url)
        pool = await create_pool(url, min_size=1, max_size=1)
        try:
            return await CatalogProjection().rebuild(pool, progress)
        finally:
            await pool.close()

    head = asyncio.run(run(_with_database(settings).database_url or ""))
    print(f"\nrebuilt the catalog from {head} event position(s)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve HTTP on HOST:PORT (the default)")
    commands.add_parser("migrate", help="apply pending migrations, then exit")
    issue = commands.add_parser("token", help="print a signed bearer token")
    issue.add_argument("--role", required=True, choices=["admin", "auditor"])
    issue.add_argument("--sub", default="cli")
    issue.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    commands.add_parser("rebuild", help="rebuild every projection from the event log")
    args = parser.parse_args(argv)
    if args.command == "token" and args.ttl <= 0:
        parser.error("--ttl must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates every pg_ctl call
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    handlers = {"serve": serve, "migrate": migrate, "token": token, "rebuild": rebuild}
    return handlers[args.command or "serve"](Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())
