"""The application factory: resources in cleanup contexts, middlewares, routes."""

from collections.abc import AsyncIterator

from aiohttp import web

from domain.services import FunkoService
from infrastructure.catalog import CatalogReadModel
from infrastructure.database import create_pool, migrate
from infrastructure.event_store import EventStore
from infrastructure.funko_repository import EventSourcedFunkos
from infrastructure.projection import CatalogProjection
from infrastructure.settings import Settings
from web import funkos, health
from web.auth import TokenVerifier
from web.funkos import BODY_LIMIT
from web.keys import POOL, SERVICE, SETTINGS, STORE, TOKENS
from web.problems import Handler, Problem, problems

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@web.middleware
async def same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A write carrying an Origin outside ALLOWED_ORIGINS (default: our own) is refused."""
    origin = request.headers.get("Origin")
    if origin is not None and request.method in WRITES:
        allowed = request.app[SETTINGS].allowed_origins or (f"{request.scheme}://{request.host}",)
        if origin.rstrip("/") not in allowed:
            raise Problem(403, "Forbidden", f"Origin {origin!r} is not allowed.")
    return await handler(request)


async def database(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].database_url
    if url is None:
        raise ValueError("create_app needs settings with a database_url")
    await migrate(url)
    app[POOL] = await create_pool(url)
    await CatalogProjection().catch_up(app[POOL])
    yield
    await app[POOL].close()


async def event_store(app: web.Application) -> AsyncIterator[None]:
    async with EventStore(app[POOL], CatalogProjection()) as store:
        app[STORE] = store
        app[SERVICE] = FunkoService(EventSourcedFunkos(store), CatalogReadModel(app[POOL]))
        yield


def create_app(settings: Settings) -> web.Application:
    """A new app for ``settings`` (whose database_url must be set); nothing runs until started."""
    app = web.Application(client_max_size=BODY_LIMIT, middlewares=[problems, same_origin])
    app[SETTINGS] = settings
    app[TOKENS] = TokenVerifier(settings.jwt_secret)
    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(event_store)
    funkos.add_routes(app)
    health.add_routes(app)
    return app
