"""GET /api/openapi.json: the OpenAPI 3.1 document of the routes an app has, and its page.

The document is written once per app, when it starts (every route is registered by then),
from the request models that validate requests and the response models of ``web.contract``.
"""

import logging
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from infrastructure.json_codec import dumpb
from web.group_members import MemberAnswer
from web.groups import GroupBody
from web.keys import OPENAPI
from web.media_types import JSON
from web.openapi import docs
from web.openapi.contract import RESPONSES
from web.openapi.objects import MIN_POSITION, problems
from web.openapi.operations import operations
from web.problems import add_get
from web.schemas import FunkoBody, FunkoPatch

log = logging.getLogger(__name__)
# Reads of the data (catalog, history, log, streams): where X-Min-Position matters.
READS = ("/api/v1/", "/ws/")
INFO = {
    "title": "Funko catalog",
    "version": "0.1.0",
    "description": "An event-sourced catalog of Funko figures: REST, auditor views of the "
    "event log, and a WebSocket of changes. Errors are application/problem+json.",
}
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "HS256 JWT with claims sub, role (admin, auditor or consumer) and exp.",
}


def routes_of(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route, less the HEADs aiohttp adds beside GETs."""
    return sorted(
        {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.resource is not None and route.method != "HEAD"
        }
    )


def components() -> dict[str, Any]:
    models = [
        (model, "validation")
        for model in (FunkoBody, FunkoPatch, GroupBody, MemberAnswer, *RESPONSES)
    ]
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    return {"schemas": schemas["$defs"], "securitySchemes": {"bearerAuth": BEARER}}


def document(app: web.Application) -> dict[str, Any]:
    """The document of ``app``'s routes; a route with no operation written is left out (logged)."""
    written, paths = operations(), dict[str, dict[str, Any]]()
    for method, path in routes_of(app):
        if (method, path) not in written:
            log.warning("%s %s is not in the OpenAPI document", method, path)
            continue
        operation = written[(method, path)]
        if method == "GET" and path.startswith(READS):
            parameters = [*operation.get("parameters", []), MIN_POSITION]
            responses = problems(400) | operation["responses"]  # a header not a position
            operation = {**operation, "parameters": parameters, "responses": responses}
        paths.setdefault(path, {})[method.lower()] = operation
    return {"openapi": "3.1.0", "info": INFO, "paths": paths, "components": components()}


async def write_document(app: web.Application) -> None:
    """on_startup: the document, written once every route is registered."""
    app[OPENAPI] = dumpb(document(app))


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type=JSON)


def add_routes(app: web.Application) -> None:
    add_get(app, "/api/openapi.json", openapi_json)
    docs.add_routes(app)
