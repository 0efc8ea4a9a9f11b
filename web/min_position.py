"""X-Min-Position: a GET whose answer must reflect every event up to a position.

A client that wrote gets the write's position in X-Log-Position; sending it back as
X-Min-Position on a read makes that read see the write on any server process, whether the
process reads a replica or the primary (read-your-writes). The position is handed to the
reads of the request through ``MIN_POSITION`` (a context variable: the handler's task and
the tasks it starts see it), and ``ReplicaReads`` picks a database that holds it.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from infrastructure.replica_reads import MIN_POSITION
from web.problems import Handler
from web.schemas import position_in_header

HEADER = "X-Min-Position"
READS = frozenset({"GET", "HEAD"})


@web.middleware
async def min_position(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Set MIN_POSITION from a GET's X-Min-Position (400 if it is not a position)."""
    if request.method not in READS:
        return await handler(request)
    position = position_in_header(request, HEADER)
    if position is None:
        return await handler(request)
    token = MIN_POSITION.set(position)
    try:
        return await handler(request)
    finally:
        MIN_POSITION.reset(token)


@contextmanager
def at_least(position: int) -> Iterator[None]:
    """Meanwhile, reads reflect every event up to ``position`` too (a read after a position
    the client names: from a replica that has not replayed it, "beyond the head" would be an
    error the client could not explain)."""
    token = MIN_POSITION.set(max(MIN_POSITION.get(), position))
    try:
        yield
    finally:
        MIN_POSITION.reset(token)
