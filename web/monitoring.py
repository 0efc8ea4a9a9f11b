"""GET /metrics and the command timer: what an operator scrapes from each server process.

The log's positions and lags are read at scrape time (infrastructure/log_status.py), with a
short bound, so a scrape says whether the database answers rather than hanging with it.
"""

import asyncio
import time
from collections.abc import Mapping

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from infrastructure.database import UNAVAILABLE
from infrastructure.replica_reads import describe
from web.keys import GROUPS, MEMBERS, METRICS, READER, READS, STATUS, STORE, SUBSCRIBERS
from web.metrics import Counts, GroupCounts, Metrics, ReplicaGauges
from web.problems import Handler, add_get

GROUPS_BOUND = 1.0  # seconds the groups' standing may take to read at a scrape
COMMANDS = {"POST": "create", "PUT": "replace", "PATCH": "amend", "DELETE": "delete"}


async def _measure_lags(app: web.Application, metrics: Metrics) -> None:
    reader = app[READER].position
    metrics.log.labels("reader").set(reader)
    standing = await app[STATUS].standing(reader)
    metrics.database_up.set(0 if standing is None else 1)
    if standing is not None:
        metrics.log.labels("head").set(standing.head)
        metrics.log.labels("projection").set(standing.projection)
        metrics.lag.labels("projection").set(standing.projection_lag)
        metrics.lag.labels("reader").set(standing.reader_lag)


async def _measure_groups(app: web.Application, metrics: Metrics) -> None:
    """Each consumer group's lag and parked events (no series for a deleted group; none at all
    while the database does not answer within the bound)."""
    metrics.group_lag.clear()
    metrics.group_parked.clear()
    try:
        async with asyncio.timeout(GROUPS_BOUND):
            groups = await app[GROUPS].every()
    except UNAVAILABLE:
        return
    for group in groups:
        metrics.group_lag.labels(group.settings.name).set(group.lag)
        metrics.group_parked.labels(group.settings.name).set(group.parked)


async def metrics_page(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    await _measure_lags(request.app, metrics)
    await _measure_groups(request.app, metrics)
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


def counts(app: web.Application) -> Counts:
    """The counts kept by the app's store and subscribers, read at scrape time."""
    subscribers = app[SUBSCRIBERS]
    return Counts(
        lambda: app[STORE].appended,
        lambda: (subscribers.count("ws"), subscribers.count("sse"), *subscribers.totals()),
    )


def group_counts(app: web.Application) -> GroupCounts:
    """Deliveries to this process's group members, read at scrape time (once the service runs)."""

    def counts() -> tuple[Mapping[str, int], Mapping[str, int]]:
        if MEMBERS not in app:
            return {}, {}
        return app[MEMBERS].delivered, app[MEMBERS].redelivered

    return GroupCounts(counts)


def replica_gauges(app: web.Application) -> ReplicaGauges:
    """The replica's lag and where reads go, read at scrape time (once the service runs)."""
    return ReplicaGauges(lambda: describe(app[READS]) if READS in app else None)


def add_routes(app: web.Application) -> None:
    add_get(app, "/metrics", metrics_page)
