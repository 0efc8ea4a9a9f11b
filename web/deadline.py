"""Every request starts its answer within DEADLINE seconds, or is answered 503.

A database that stops answering (a hung host, a lost network) would otherwise hold a request
for as long as asyncpg's command timeout allows, and queue the rest behind it for a
connection. Cancelling the handler is not enough: asyncpg then waits, still up to the command
timeout, to cancel the query and roll back on the connection. So the handler runs as its own
task, and at the deadline it is cancelled and left to clean up while the client gets its 503.
Once a response is under way (an NDJSON stream, a WebSocket) it may take as long as it needs.
"""

import asyncio

from aiohttp import web

from web.problems import Handler, Problem

DEADLINE = 3.0


class Due:
    """When the request must have started its answer; ``None`` once it has."""

    def __init__(self, at: float) -> None:
        self.at: float | None = at


DUE = web.RequestKey("deadline", Due)


@web.middleware
async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 503 (inside ``problems``) when the handler has not answered by the deadline."""
    loop = asyncio.get_running_loop()
    due = request[DUE] = Due(loop.time() + DEADLINE)
    work = asyncio.ensure_future(handler(request))
    try:
        while not work.done():
            await asyncio.wait({work}, timeout=None if due.at is None else due.at - loop.time())
            if not work.done() and due.at is not None and loop.time() >= due.at:
                work.cancel()
                work.add_done_callback(_cleaned_up)
                raise Problem(
                    503,
                    "Service unavailable",
                    f"No answer within {DEADLINE:g} s: the database is slow or unreachable.",
                    headers={"Retry-After": "1"},
                )
    except asyncio.CancelledError:
        work.cancel()
        raise
    return work.result()


def _cleaned_up(work: "asyncio.Future[web.StreamResponse]") -> None:
    # What a cancelled handler raised while cleaning up (a timed-out rollback) is expected.
    if not work.cancelled():
        work.exception()


async def lift_deadline(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: a response being sent is no longer bound by the deadline."""
    due = request.get(DUE)
    if due is not None:
        due.at = None
