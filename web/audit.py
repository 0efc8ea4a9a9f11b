"""Auditor routes: a Funko's history, its state at a version, and the whole log by position."""

from contextlib import aclosing

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from infrastructure.audit_log import AuditLog
from infrastructure.json_codec import dumps
from web.auth import require
from web.deadline import send_part
from web.funkos import funko_id_of, funko_response
from web.keys import AUDIT_LOG, SERVICE, TOKENS
from web.media_types import JSON, NDJSON
from web.min_position import at_least
from web.problems import Problem, add_get, invalid
from web.roles import AUDITORS
from web.schemas import (
    OptionalQueryInt,
    QueryInt,
    QueryTime,
    parse_query,
    refuse_after_with_since,
    refuse_beyond_head,
    whole_number,
)


class EventsParams(BaseModel):
    """The query string of GET /events."""

    model_config = ConfigDict(extra="forbid")
    after: OptionalQueryInt = Field(None, ge=0, le=2**63 - 1)  # 0 unless since is given
    since: QueryTime | None = None
    limit: QueryInt = Field(100, ge=1, le=1000)


def _version(request: web.Request) -> int:
    version = whole_number(request.match_info["version"], 1, 2**31)
    if version is None:
        raise invalid({"version": "must be a whole number from 1"}, "The version is not valid.")
    return version


def _wants_ndjson(request: web.Request) -> bool:
    accepted = request.headers.get("Accept", "")
    return any(part.split(";")[0].strip().lower() == NDJSON for part in accepted.split(","))


async def funko_history(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], *AUDITORS)
    identity = funko_id_of(request)
    envelopes = await request.app[AUDIT_LOG].history(identity)
    if not envelopes:
        raise Problem(404, "Not found", f"No Funko with id {identity}.")
    text = f'{{"funkoId":"{identity}","events":[' + ",".join(envelopes) + "]}"
    return web.Response(text=text, content_type=JSON)


async def funko_at_version(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], *AUDITORS)
    identity, version = funko_id_of(request), _version(request)
    return funko_response(await request.app[SERVICE].state_at(identity, version))


async def log_events(request: web.Request) -> web.StreamResponse:
    require(request, request.app[TOKENS], *AUDITORS)
    params, log = parse_query(request, EventsParams), request.app[AUDIT_LOG]
    refuse_after_with_since(params.after, params.since)
    after = params.after or 0
    if params.since is not None:
        after = await log.start_at(params.since)
    with at_least(after):
        if _wants_ndjson(request):
            return await _stream_events(request, log, after)
        page = await log.page(after, params.limit)
    refuse_beyond_head(after, page.head)
    meta = dumps({"next": page.next, "head": page.head})
    return web.Response(
        text='{"events":[' + ",".join(page.envelopes) + "]," + meta[1:], content_type=JSON
    )


async def _stream_events(request: web.Request, log: AuditLog, after: int) -> web.StreamResponse:
    """Every event in (after, head at the start], one envelope a line, a page at a time."""
    head = await log.head()
    refuse_beyond_head(after, head)
    response = web.StreamResponse(headers={"Content-Type": NDJSON, "X-Log-Head": str(head)})
    await response.prepare(request)
    async with aclosing(log.pages(after, head)) as pages:
        async for _, envelopes in pages:
            await send_part(request, response, ("\n".join(envelopes) + "\n").encode())
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    add_get(app, "/api/v1/funkos/{id}/history", funko_history)
    add_get(app, "/api/v1/funkos/{id}/history/{version}", funko_at_version)
    add_get(app, "/api/v1/events", log_events)
