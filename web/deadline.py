"""Time limits on a request: its answer starts within DEADLINE seconds, and a whole answer is
taken by the client within the send timeout, or the connection is dropped.

A database that stops answering (a hung host, a lost network) would otherwise hold a request
for as long as asyncpg's command timeout allows, and queue the rest behind it for a
connection. Cancelling the handler is not enough: asyncpg then waits, still up to the command
timeout, to cancel the query and roll back on the connection. So the handler runs as its own
task, and at the deadline it is cancelled and left to clean up while the client gets its
answer: 408 if the client had not even sent its whole body, else 503. Once a response is under
way (an NDJSON stream, a WebSocket) it may take as long as it needs to start.

The change streams live for hours: a task per handler for that long would cost every idle
subscriber a task and its waiters. Their handlers (marked ``own_deadline``) run in aiohttp's
task and bound their own work before the stream starts with ``within_deadline``, the same way.

A write's commit may be under way in the database when the deadline comes: a 503 must then not
hide a write that commits a moment later. So the handler's writes carry a commit-by time
(event_store.COMMIT_BY), COMMIT_MARGIN before the deadline, after which the database refuses
them; only a commit the database took up before that and then took more than the margin to
finish (a host frozen at that very moment) can still land behind a 503.

A client that never reads its answers (pipelining requests, say) would hold a handler, its
connection and the kernel's buffers for ever: an answer the client has not taken within the
send timeout has its connection reset.
"""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from infrastructure.event_store import COMMIT_BY
from web.connections import reset
from web.keys import SETTINGS
from web.problems import Handler, Problem

T = TypeVar("T")
DEADLINE = 3.0
COMMIT_MARGIN = 0.5  # seconds before the deadline by which a write must be taken up to commit


class Due:
    """When the request must have started its answer; ``None`` once it has."""

    def __init__(self, at: float) -> None:
        self.at: float | None = at


DUE = web.RequestKey("deadline", Due)
OWN_DEADLINE: set[Handler] = set()  # handlers that bound their own work (see within_deadline)


def own_deadline(handler: Handler) -> Handler:
    """Mark a handler that keeps its own deadline, with ``within_deadline``."""
    OWN_DEADLINE.add(handler)
    return handler


@web.middleware
async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 503, or 408 (inside ``problems``), when the handler has not answered by the
    deadline."""
    loop = asyncio.get_running_loop()
    due = request[DUE] = Due(loop.time() + DEADLINE)
    if request.match_info.handler in OWN_DEADLINE:
        return await handler(request)
    commit_by = COMMIT_BY.set(time.time() + DEADLINE - COMMIT_MARGIN)
    try:
        work = asyncio.ensure_future(handler(request))  # in a copy of this context
    finally:
        COMMIT_BY.reset(commit_by)
    try:
        while not work.done():
            await asyncio.wait({work}, timeout=None if due.at is None else due.at - loop.time())
            if not work.done() and due.at is not None and loop.time() >= due.at:
                work.cancel()
                work.add_done_callback(_cleaned_up)
                raise _overdue(request)
    except asyncio.CancelledError:
        work.cancel()
        raise
    return work.result()


async def within_deadline(request: web.Request, work: Awaitable[T]) -> T:
    """``work``, in a task of its own that is given up at the request's deadline (503, or 408
    inside ``problems``): for handlers marked ``own_deadline``, before their answer starts."""
    task = asyncio.ensure_future(work)
    due = request[DUE].at
    timeout = None if due is None else max(0.0, due - asyncio.get_running_loop().time())
    try:
        await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not task.done():
        task.cancel()
        task.add_done_callback(_cleaned_up)
        raise _overdue(request)
    return task.result()


def _overdue(request: web.Request) -> Problem:
    if not request.content.is_eof():
        return Problem(
            408,
            "Request timeout",
            f"The request's body did not arrive within {DEADLINE:g} s; nothing was done.",
            close=True,
        )
    return Problem(
        503,
        "Service unavailable",
        f"The request was not answered within {DEADLINE:g} s and was given up: the server is"
        " too busy or its database too slow. A write given up so is not applied (its commit"
        " is refused once its time is up): send it again, under an Idempotency-Key to be sure.",
        headers={"Retry-After": "1"},
    )


def _cleaned_up(work: "asyncio.Future[Any]") -> None:
    # What a cancelled handler raised while cleaning up (a timed-out rollback) is expected.
    if not work.cancelled():
        work.exception()


async def lift_deadline(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: a response being sent is no longer bound by the deadline."""
    due = request.get(DUE)
    if due is not None:
        due.at = None


@web.middleware
async def send_within(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Send a whole (not streamed) answer here, within the send timeout, or reset the
    connection; aiohttp then finds it sent, or the connection gone."""
    response = await handler(request)
    # Only a whole Response: prepare() may be called again on it (aiohttp calls it after us).
    if response.prepared or not isinstance(response, web.Response):
        return response
    try:
        async with asyncio.timeout(request.app[SETTINGS].send_timeout):
            await response.prepare(request)
            await response.write_eof()
    except TimeoutError:
        if request.transport is not None:
            reset(request.transport)
    return response


async def send_part(request: web.Request, response: web.StreamResponse, data: bytes) -> None:
    """Write part of a streamed answer; a client that takes none of it within the send
    timeout has its connection reset (ConnectionResetError)."""
    try:
        async with asyncio.timeout(request.app[SETTINGS].send_timeout):
            await response.write(data)
    except TimeoutError:
        if request.transport is not None:
            reset(request.transport)
        raise ConnectionResetError("the client stopped reading its answer") from None
