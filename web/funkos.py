"""REST handlers for Funkos and categories: parse -> one service call -> serialise."""

from uuid import UUID

from aiohttp import web
from aiohttp.helpers import ETAG_ANY

from domain.funko import EventType, Funko
from domain.ports import IdempotencyKey
from domain.services import FunkoService, IfMatch
from infrastructure.json_codec import dumps
from web.auth import Principal, require
from web.idempotency import answer
from web.keys import RETRIES, SERVICE, TOKENS
from web.media_types import JSON
from web.problems import Problem, add_get
from web.roles import ADMIN
from web.schemas import (
    FunkoBody,
    FunkoPatch,
    SearchParams,
    parse_fields,
    parse_json,
    parse_query,
)

BODY_LIMIT = 64 * 1024
CREATE, UPDATE, DELETE = EventType.CREATE, EventType.UPDATE, EventType.DELETE
VERSION_DIGITS = 18  # a version is a bigint: more digits name no version


def _service(request: web.Request) -> FunkoService:
    return request.app[SERVICE]


def _admin(request: web.Request) -> Principal:
    return require(request, request.app[TOKENS], ADMIN)


def funko_id_of(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["id"])
    except ValueError:
        raise Problem(400, "Invalid id", "The Funko id must be a UUID.") from None


def _if_match(request: web.Request) -> IfMatch | None:
    """The precondition If-Match sets (RFC 9110): ``*``, or the versions its strong tags name
    (a weak tag never matches). A header with no such tag can never hold: 412."""
    tags = request.if_match
    if tags is None:
        return None
    if any(tag.value == ETAG_ANY for tag in tags):
        return IfMatch()
    return IfMatch(frozenset(_version_of(tag.value) for tag in tags if not tag.is_weak))


def _version_of(tag: str) -> int:
    # Only ASCII digits are ours ("²" and "١" pass isdigit), and few enough for int(); any
    # other tag names no version (0 is none).
    if tag.isascii() and tag.isdigit() and len(tag) <= VERSION_DIGITS:
        return int(tag)
    return 0


def _not_modified(request: web.Request, version: int) -> bool:
    """Whether If-None-Match holds a tag of ``version`` (weakly compared) or ``*``."""
    tags = request.if_none_match or ()
    return any(tag.value in (ETAG_ANY, str(version)) for tag in tags)


async def _continue_if_wanted(request: web.Request) -> None:
    """``Expect: 100-continue``: ask for the body only if it would be taken. A request that
    will be refused (no admin token, a body over the limit) gets its refusal instead, before
    the client sends the body; any other expectation is ignored."""
    if request.headers.get("Expect", "").lower() != "100-continue" or request.version < (1, 1):
        return
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        return
    try:
        _admin(request)
    except Problem:
        return
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0  # the answer proper has not started


async def _body(request: web.Request) -> object:
    # Refuse by the declared length before reading; aiohttp's client_max_size caps the rest.
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise web.HTTPRequestEntityTooLarge(max_size=BODY_LIMIT, actual_size=request.content_length)
    return parse_json(await request.read())


def funko_response(funko: Funko) -> web.Response:
    """The Funko as the contract shows it, with its version as ETag."""
    response = web.Response(text=dumps(funko.as_dict()), content_type=JSON)
    response.headers["ETag"] = f'"{funko.version}"'
    return response


async def create_funko(request: web.Request) -> web.Response:
    principal, document = _admin(request), await _body(request)

    async def write(key: IdempotencyKey | None) -> web.Response:
        fields = parse_fields(document, FunkoBody)
        return answer(CREATE, await _service(request).create(fields, principal.sub, key))

    return await request.app[RETRIES].run(request, principal.sub, document, write)


async def replace_funko(request: web.Request) -> web.Response:
    principal, funko_id, condition = _admin(request), funko_id_of(request), _if_match(request)
    document = await _body(request)

    async def write(key: IdempotencyKey | None) -> web.Response:
        fields = parse_fields(document, FunkoBody)
        replace = _service(request).replace
        return answer(UPDATE, await replace(funko_id, fields, principal.sub, condition, key))

    return await request.app[RETRIES].run(request, principal.sub, document, write)


async def amend_funko(request: web.Request) -> web.Response:
    principal, funko_id, condition = _admin(request), funko_id_of(request), _if_match(request)
    document = await _body(request)

    async def write(key: IdempotencyKey | None) -> web.Response:
        fields = parse_fields(document, FunkoPatch)
        amend = _service(request).amend
        return answer(UPDATE, await amend(funko_id, fields, principal.sub, condition, key))

    return await request.app[RETRIES].run(request, principal.sub, document, write)


async def delete_funko(request: web.Request) -> web.Response:
    principal, funko_id, condition = _admin(request), funko_id_of(request), _if_match(request)

    async def write(key: IdempotencyKey | None) -> web.Response:
        delete = _service(request).delete
        return answer(DELETE, await delete(funko_id, principal.sub, condition, key))

    return await request.app[RETRIES].run(request, principal.sub, None, write)


async def get_funko(request: web.Request) -> web.Response:
    document = await _service(request).get(funko_id_of(request))
    etag = f'"{document.version}"'
    if _not_modified(request, document.version):
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(text=document.json, content_type=JSON, headers={"ETag": etag})


async def search_funkos(request: web.Request) -> web.Response:
    query = parse_query(request, SearchParams).as_query()
    page = await _service(request).search(query)
    size, total = page.query.size, page.total
    pages = -(-total // size)
    meta = {
        "pageNumber": page.query.page,
        "pageSize": size,
        "totalElements": total,
        "totalPages": pages,
        "first": page.query.page == 0,
        "last": page.query.page >= pages - 1,
    }
    # The documents are stored as JSON: splice them in rather than decode and re-encode.
    text = '{"content":[' + ",".join(page.content) + "]," + dumps(meta)[1:]
    return web.Response(text=text, content_type=JSON)


async def list_categories(request: web.Request) -> web.Response:
    categories = await _service(request).categories()
    return web.Response(
        text=dumps([{"name": c.name, "count": c.count} for c in categories]), content_type=JSON
    )


def add_routes(app: web.Application) -> None:
    expect = _continue_if_wanted
    app.router.add_post("/api/v1/funkos", create_funko, expect_handler=expect)
    add_get(app, "/api/v1/funkos", search_funkos)
    add_get(app, "/api/v1/funkos/{id}", get_funko)
    app.router.add_put("/api/v1/funkos/{id}", replace_funko, expect_handler=expect)
    app.router.add_patch("/api/v1/funkos/{id}", amend_funko, expect_handler=expect)
    app.router.add_delete("/api/v1/funkos/{id}", delete_funko)
    add_get(app, "/api/v1/categories", list_categories)
