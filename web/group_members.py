"""GET /ws/v1/groups/{name}: a consumer group's member (issue 17). The server sends the events
the member claims (infrastructure/group_members.py), each envelope with its ``attempt``; the
member answers ``{"type": "ACK"|"NACK", "positions": [...], "reason": "..."}``.

A malformed answer closes with 1007, a deleted group with 4404, a member that does not take
its frames within the send timeout is dropped (4008, or reset if it cannot take that either),
and every member hears 1001 at shutdown. However a member goes, what it held goes back to the
group, one attempt used.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from aiohttp import ClientConnectionResetError, WSCloseCode, WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from infrastructure.database import UNAVAILABLE
from infrastructure.envelopes import text_frame
from infrastructure.group_members import Member
from infrastructure.groups import GroupNotFound
from web.auth import require
from web.connections import within_or_reset
from web.deadline import own_deadline, within_deadline
from web.groups import group_name
from web.keys import GROUPS, MEMBER_SOCKETS, MEMBERS, READER, SETTINGS, TOKENS
from web.origins import check_origin
from web.problems import Problem, add_get
from web.roles import ADMIN, CONSUMER
from web.schemas import QueryInt, parse_query
from web.subscribers import CLOSE_TIMEOUT, STALLED, Outlet

GONE = 4404
ANSWER_LIMIT = 64 * 1024  # an ACK of a full prefetch (1000 positions) fits, with room
log = logging.getLogger(__name__)


class MemberParams(BaseModel):
    """The query string of a member's connection."""

    model_config = ConfigDict(extra="forbid")
    prefetch: QueryInt = Field(100, ge=1, le=1000)


class MemberAnswer(BaseModel):
    """A member's answer to events it was sent: done (ACK), or not (NACK, with a reason)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["ACK", "NACK"]
    positions: Annotated[list[Annotated[StrictInt, Field(ge=1)]], Field(max_length=1000)]
    reason: Annotated[str, Field(max_length=1000)] | None = None


@own_deadline
async def member_socket(request: web.Request) -> web.StreamResponse:
    require(request, request.app[TOKENS], CONSUMER, ADMIN)
    name = group_name(request)
    params = parse_query(request, MemberParams)
    socket = web.WebSocketResponse(
        heartbeat=request.app[SETTINGS].ws_heartbeat,
        max_msg_size=ANSWER_LIMIT,
        compress=False,
    )
    if not socket.can_prepare(request).ok:
        raise Problem(400, "WebSocket upgrade required", "Connect with a WebSocket client.")
    check_origin(request)
    await within_deadline(request, request.app[GROUPS].settings(name))  # 404 if unknown
    await socket.prepare(request)
    outlet, seconds = Outlet(request), request.app[SETTINGS].send_timeout

    async def send(envelopes: list[bytes]) -> None:
        async with asyncio.timeout(seconds):
            await outlet.send(b"".join(text_frame(envelope) for envelope in envelopes))

    members, sockets, reader = (
        request.app[MEMBERS],
        request.app[MEMBER_SOCKETS],
        request.app[READER],
    )
    try:
        member = await members.join(name, params.prefetch, send)
    except GroupNotFound:  # deleted since it was looked up
        await socket.close(code=GONE, message=b"group deleted")
        return socket
    except UNAVAILABLE:
        await socket.close(code=WSCloseCode.INTERNAL_ERROR, message=b"database unavailable")
        return socket
    sockets[socket] = outlet
    reader.subscribe(member)  # woken as events commit
    delivering = asyncio.create_task(_deliver(member, socket, outlet))
    try:
        await _answers(socket, member)
    except UNAVAILABLE:
        await _close(socket, outlet, WSCloseCode.INTERNAL_ERROR, b"database unavailable")
    finally:
        sockets.pop(socket, None)
        reader.unsubscribe(member)
        delivering.cancel()
        # In a task of its own: what the member held goes back even if this handler is
        # cancelled (its client gone) while it waits.
        await asyncio.shield(members.let_go(member, delivering))
    return socket


async def _deliver(member: Member, socket: web.WebSocketResponse, outlet: Outlet) -> None:
    """Run ``member`` until its connection ends, closing it when delivery cannot go on."""
    try:
        await member.run()
    except GroupNotFound:
        await _close(socket, outlet, GONE, b"group deleted")
    except TimeoutError:  # a send waited past the send timeout: the member stopped reading
        await _close(socket, outlet, STALLED, b"too slow")
    except (ClientConnectionResetError, ConnectionResetError):
        pass  # gone; the handler's receive hears it
    except UNAVAILABLE as error:
        log.warning("a group member stopped: %s", error)
        await _close(socket, outlet, WSCloseCode.INTERNAL_ERROR, b"database unavailable")


async def _answers(socket: web.WebSocketResponse, member: Member) -> None:
    """Take the member's answers until the connection ends; a malformed one closes it (1007)."""
    while True:
        message = await socket.receive()
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        answer = _parsed(message.data) if message.type is WSMsgType.TEXT else None
        if answer is None:
            text = b'answers are {"type": "ACK"|"NACK", "positions": [...]} text frames'
            await socket.close(code=WSCloseCode.INVALID_TEXT, message=text)
            return
        if answer.type == "ACK":
            await member.ack(answer.positions)
        else:
            await member.nack(answer.positions, answer.reason)


def _parsed(data: str) -> MemberAnswer | None:
    try:
        return MemberAnswer.model_validate_json(data)
    except ValidationError:
        return None


async def _close(socket: web.WebSocketResponse, outlet: Outlet, code: int, reason: bytes) -> None:
    """Close with ``code``; a peer that does not take the goodbye in time is reset."""
    await within_or_reset(socket.close(code=code, message=reason), outlet.transport, CLOSE_TIMEOUT)


async def keep_members(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: this process's renewals of its members' leases and checkpoint moves."""
    app[MEMBER_SOCKETS] = {}
    keeper = asyncio.create_task(app[MEMBERS].keep(), name="group-members")
    yield
    keeper.cancel()
    await asyncio.gather(keeper, app[MEMBERS].letting_go(), return_exceptions=True)


async def say_goodbye(app: web.Application) -> None:
    """on_shutdown: every member hears 1001 (going away); what it held goes to the others."""
    reason = b"server shutting down"
    sockets = list(app[MEMBER_SOCKETS].items())
    await asyncio.gather(
        *(_close(s, outlet, WSCloseCode.GOING_AWAY, reason) for s, outlet in sockets)
    )


def add_routes(app: web.Application) -> None:
    add_get(app, "/ws/v1/groups/{name}", member_socket)
