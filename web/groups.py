"""Consumer groups' routes for admins (issue 17): create, show, list, delete, parked events and
their retry. Members connect in web/group_members.py."""

import re
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from domain.funko import EventType
from infrastructure.groups import GroupSettings, GroupStanding
from infrastructure.json_codec import dumps
from web.auth import require
from web.keys import GROUPS, TOKENS
from web.media_types import JSON
from web.problems import Problem, add_get, invalid
from web.roles import ADMIN
from web.schemas import field_errors, parse_json, whole_number

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
BODY_LIMIT = 4 * 1024


class GroupBody(BaseModel):
    """A group's settings, all optional: from the head, every type, 5 attempts."""

    model_config = ConfigDict(extra="forbid")
    startAfter: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    types: Annotated[list[EventType], Field(min_length=1, max_length=3)] | None = None
    maxAttempts: Annotated[StrictInt, Field(ge=1, le=100)] | None = None


def group_name(request: web.Request) -> str:
    name = request.match_info["name"]
    if not NAME.fullmatch(name):
        rule = "must match [a-z0-9][a-z0-9._-]{0,63}"
        raise invalid({"name": rule}, "The group's name is not valid.")
    return name


def _position(request: web.Request) -> int:
    position = whole_number(request.match_info["position"], 1, 2**63)
    if position is None:
        raise invalid({"position": "must be a whole number from 1"}, "The position is not valid.")
    return position


async def _settings(request: web.Request, name: str) -> GroupSettings:
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise web.HTTPRequestEntityTooLarge(max_size=BODY_LIMIT, actual_size=request.content_length)
    raw = await request.read()
    document = parse_json(raw) if raw.strip() else {}
    if not isinstance(document, dict):
        raise Problem(400, "Invalid request", "The body must be a JSON object.")
    try:
        body = GroupBody.model_validate(document)
    except ValidationError as error:
        raise invalid(field_errors(error)) from None
    types = tuple(t.value for t in body.types) if body.types else GroupSettings.types
    attempts = body.maxAttempts or GroupSettings.max_attempts
    return GroupSettings(name, body.startAfter, types, attempts)


def _shown(group: GroupStanding) -> dict[str, object]:
    settings = group.settings
    return {
        "name": settings.name,
        "startAfter": settings.start_after,
        "types": list(settings.types),
        "maxAttempts": settings.max_attempts,
        "checkpoint": group.checkpoint,
        "head": group.head,
        "lag": group.lag,
        "members": group.members,
        "inFlight": group.in_flight,
        "parked": group.parked,
    }


async def put_group(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], ADMIN)
    name = group_name(request)
    groups = request.app[GROUPS]
    created = await groups.put(await _settings(request, name))
    shown = dumps(_shown(await groups.standing(name)))
    return web.Response(status=201 if created else 200, text=shown, content_type=JSON)


async def get_group(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], ADMIN)
    group = await request.app[GROUPS].standing(group_name(request))
    return web.Response(text=dumps(_shown(group)), content_type=JSON)


async def list_groups(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], ADMIN)
    groups = await request.app[GROUPS].every()
    return web.Response(text=dumps([_shown(g) for g in groups]), content_type=JSON)


async def parked_events(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], ADMIN)
    parked = await request.app[GROUPS].parked(group_name(request))
    return web.Response(text='{"events":[' + ",".join(parked) + "]}", content_type=JSON)


async def retry_parked(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], ADMIN)
    position = _position(request)
    await request.app[GROUPS].retry(group_name(request), position)
    return web.Response(status=202)


async def delete_group(request: web.Request) -> web.Response:
    require(request, request.app[TOKENS], ADMIN)
    await request.app[GROUPS].delete(group_name(request))
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    add_get(app, "/api/v1/groups", list_groups)
    add_get(app, "/api/v1/groups/{name}", get_group)
    add_get(app, "/api/v1/groups/{name}/parked", parked_events)
    app.router.add_put("/api/v1/groups/{name}", put_group)
    app.router.add_post("/api/v1/groups/{name}/parked/{position}/retry", retry_parked)
    app.router.add_delete("/api/v1/groups/{name}", delete_group)
