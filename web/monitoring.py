"""GET /metrics and the command timer: what an operator scrapes from each server process.

The log's positions and lags are read from the database at scrape time, with a short bound,
so a scrape says whether the database answers rather than hanging with it.
"""

import asyncio
import time

import asyncpg
from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from web.keys import METRICS, POOL, READER, STORE, SUBSCRIBERS
from web.metrics import Counts, Metrics
from web.problems import Handler

COMMANDS = {"POST": "create", "PUT": "replace", "PATCH": "amend", "DELETE": "delete"}
LAG_TIMEOUT = 1.0
LAGS = """
SELECT h.position,
       p.position,
       (SELECT extract(epoch FROM clock_timestamp() - created_at)::float8 FROM events
        WHERE position > p.position ORDER BY position LIMIT 1),
       (SELECT extract(epoch FROM clock_timestamp() - created_at)::float8 FROM events
        WHERE position > $1 ORDER BY position LIMIT 1)
FROM log_head h, projection_positions p WHERE p.name = 'catalog'
"""


async def _measure_lags(app: web.Application, metrics: Metrics) -> None:
    reader = app[READER].position
    metrics.log.labels("reader").set(reader)
    try:
        async with asyncio.timeout(LAG_TIMEOUT):
            row = await app[POOL].fetchrow(LAGS, reader)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        metrics.database_up.set(0)
        return
    metrics.database_up.set(1)
    if row is not None:
        head, projected, projection_lag, reader_lag = row
        metrics.log.labels("head").set(head)
        metrics.log.labels("projection").set(projected)
        metrics.lag.labels("projection").set(projection_lag or 0.0)
        metrics.lag.labels("reader").set(reader_lag or 0.0)


async def metrics_page(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    await _measure_lags(request.app, metrics)
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def time_commands(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Observe every write request's latency, labelled by command and final status."""
    command = COMMANDS.get(request.method)
    if command is None or not request.path.startswith("/api/v1/funkos"):
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        elapsed = time.perf_counter() - started
        request.app[METRICS].commands.labels(command, str(status)).observe(elapsed)


def _subscribers(app: web.Application) -> tuple[int, int, int]:
    subscribers = app[SUBSCRIBERS]
    return (len(subscribers), *subscribers.totals())


def add_routes(app: web.Application) -> None:
    app[METRICS] = metrics = Metrics()
    metrics.registry.register(Counts(lambda: app[STORE].appended, lambda: _subscribers(app)))
    app.router.add_get("/metrics", metrics_page)
