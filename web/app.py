"""The application factory: resources in cleanup contexts, middlewares, routes."""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from domain.services import FunkoService
from infrastructure.catalog import CatalogReadModel
from infrastructure.database import create_pool, migrate
from infrastructure.event_store import EventStore
from infrastructure.funko_repository import EventSourcedFunkos
from infrastructure.log_reader import LogReader
from infrastructure.projection import CatalogProjection
from infrastructure.settings import Settings
from web import audit, dashboard, funkos, health, monitoring, openapi, streams
from web.auth import TokenVerifier
from web.deadline import deadline, lift_deadline, send_within
from web.funkos import BODY_LIMIT
from web.keys import POOL, READER, SERVICE, SETTINGS, STORE, TOKENS
from web.origins import check_origin
from web.problems import Handler, problems
from web.request_ids import request_ids, send_request_id
from web.server_log import ServerLog

POOL_CLOSE_TIMEOUT = 5.0
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What one request's head may hold. aiohttp refuses more with a plain-text 400 before any
# middleware runs; on the app, so every runner (run.py serve, the tests' servers) applies them.
REQUEST_HEAD_LIMITS = {
    "max_line_size": 8190,  # the target: a valid search, 2 × 200 emoji encoded, is ~5 KB
    "max_field_size": 8190,  # one header, name and value
    "max_headers": 64,
}
# After refusing a body it did not read (401, 408, 413), the server reads and drops the rest of
# it this long, so the client can still read the answer, then closes (aiohttp's 10 s would let a
# slow sender hold the connection that much longer).
LINGERING = 2.0


@web.middleware
async def same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A write carrying an Origin outside ALLOWED_ORIGINS (default: our own) is refused."""
    if request.method in WRITES:
        check_origin(request)
    return await handler(request)


async def database(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].database_url
    if url is None:
        raise ValueError("create_app needs settings with a database_url")
    await migrate(url)
    app[POOL] = await create_pool(url)
    await CatalogProjection().catch_up(app[POOL])
    yield
    try:  # a connection stuck on a dead server must not hold the shutdown up
        async with asyncio.timeout(POOL_CLOSE_TIMEOUT):
            await app[POOL].close()
    except TimeoutError:
        app[POOL].terminate()


async def log_reader(app: web.Application) -> AsyncIterator[None]:
    async with LogReader(app[SETTINGS].database_url or "", app[POOL]) as reader:
        app[READER] = reader
        yield


async def event_store(app: web.Application) -> AsyncIterator[None]:
    async with EventStore(app[POOL], CatalogProjection()) as store:
        app[STORE] = store
        app[SERVICE] = FunkoService(EventSourcedFunkos(store), CatalogReadModel(app[POOL]))
        yield


def create_app(settings: Settings) -> web.Application:
    """A new app for ``settings`` (whose database_url must be set); nothing runs until started."""
    middlewares = [
        send_within,
        request_ids,
        monitoring.time_commands,
        problems,
        deadline,
        same_origin,
    ]
    app = web.Application(
        client_max_size=BODY_LIMIT,
        middlewares=middlewares,
        handler_args={**REQUEST_HEAD_LIMITS, "lingering_time": LINGERING, "logger": ServerLog()},
    )
    app.on_response_prepare.append(send_request_id)
    app.on_response_prepare.append(lift_deadline)
    app[SETTINGS] = settings
    app[TOKENS] = TokenVerifier(settings.jwt_secret)
    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(event_store)
    app.cleanup_ctx.append(log_reader)
    funkos.add_routes(app)
    audit.add_routes(app)
    health.add_routes(app)
    streams.add_routes(app)
    monitoring.add_routes(app)
    openapi.add_routes(app)
    dashboard.add_routes(app)
    return app
