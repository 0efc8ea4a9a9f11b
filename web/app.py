"""The application factory: every resource the app holds, its middlewares and its routes."""

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

from aiohttp import web

from infrastructure import bootstrap
from infrastructure.group_delivery import GroupDelivery
from infrastructure.group_members import GroupMembers
from infrastructure.groups import Groups
from infrastructure.idempotency_keys import forget_old_keys
from infrastructure.settings import Settings
from web import audit, dashboard, funkos, group_members, groups, health, monitoring, streams
from web.auth import TokenVerifier
from web.deadline import deadline, lift_deadline, send_within
from web.funkos import BODY_LIMIT
from web.idempotency import Retries
from web.keys import (
    AUDIT_LOG,
    GROUPS,
    MEMBERS,
    METRICS,
    READER,
    READS,
    RETRIES,
    SERVICE,
    SETTINGS,
    STATUS,
    STORE,
    SUBSCRIBERS,
    TOKENS,
)
from web.metrics import Metrics
from web.min_position import min_position
from web.openapi import document
from web.origins import check_origin
from web.problems import Handler, problems
from web.request_ids import request_ids, send_request_id
from web.server_log import ServerLog
from web.subscribers import Subscribers

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


async def the_service(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the pool, the event store with its projection, the service, the log's
    readers (auditors', its status, the change stream's), all built by bootstrap."""
    settings = app[SETTINGS]
    url = settings.url
    async with (
        bootstrap.running(url, settings.database_replica_url) as parts,
        bootstrap.log_reader(url, parts.reads) as reader,
    ):
        app[SERVICE], app[STORE] = parts.service, parts.store
        app[AUDIT_LOG], app[STATUS], app[READER] = parts.audit_log, parts.status, reader
        app[READS], app[GROUPS] = parts.reads, Groups(parts.pool)
        app[MEMBERS] = GroupMembers(GroupDelivery(parts.pool, uuid4()))
        app[RETRIES] = Retries(parts.keys)
        forgetting = asyncio.create_task(forget_old_keys(parts.keys), name="old-keys")
        yield
        forgetting.cancel()
        await asyncio.gather(forgetting, return_exceptions=True)


def create_app(settings: Settings) -> web.Application:
    """A new app for ``settings`` (their database resolved: bootstrap.with_database); nothing
    runs until it starts."""
    middlewares = [
        send_within,
        request_ids,
        monitoring.time_commands,
        problems,
        deadline,
        same_origin,
        min_position,
    ]
    app = web.Application(
        client_max_size=BODY_LIMIT,
        middlewares=middlewares,
        handler_args={**REQUEST_HEAD_LIMITS, "lingering_time": LINGERING, "logger": ServerLog()},
    )
    app[SETTINGS] = settings
    app[TOKENS] = TokenVerifier(settings.jwt_secret)
    app[SUBSCRIBERS] = Subscribers(settings.send_timeout, settings.ws_heartbeat)
    app[METRICS] = Metrics()
    app[METRICS].registry.register(monitoring.counts(app))
    app[METRICS].registry.register(monitoring.replica_gauges(app))
    app[METRICS].registry.register(monitoring.group_counts(app))
    app.cleanup_ctx.append(the_service)
    app.cleanup_ctx.append(streams.watch_subscribers)
    app.cleanup_ctx.append(group_members.keep_members)
    app.on_startup.append(document.write_document)
    app.on_shutdown.append(streams.say_goodbye)
    app.on_shutdown.append(group_members.say_goodbye)
    app.on_response_prepare.append(send_request_id)
    app.on_response_prepare.append(lift_deadline)
    modules = (funkos, audit, groups, group_members, health, streams, monitoring, document)
    for module in (*modules, dashboard):
        module.add_routes(app)
    return app
