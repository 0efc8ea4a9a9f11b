"""The pieces operations are made of in the OpenAPI document: parameters, bodies, responses.

Query parameters are read off the models that validate query strings, so the document
cannot drift from what the server accepts.
"""

from typing import Any

from pydantic import BaseModel

from web.media_types import JSON, NDJSON, PROBLEM
from web.roles import ADMIN, AUDITORS, CONSUMER

Json = dict[str, Any]
# Who may call an operation: anyone, or a bearer token of one of these roles.
PUBLIC: list[Json] = []
FOR_ADMINS: list[Json] = [{"bearerAuth": [ADMIN]}]
FOR_AUDITORS: list[Json] = [{"bearerAuth": [role]} for role in AUDITORS]
FOR_CONSUMERS: list[Json] = [{"bearerAuth": [role]} for role in (CONSUMER, ADMIN)]
PROBLEMS = {
    400: "The request breaks the rules (fields, types, unknown fields, JSON, query, id).",
    401: "No bearer token, or one that is malformed, badly signed or expired.",
    403: "The token lacks the role, or the Origin header is not allowed.",
    404: "No such Funko, version or resource (a deleted Funko is not found).",
    408: "The body did not arrive within 3 s: nothing was done, and the connection is closed.",
    422: "The Idempotency-Key was used for another request: nothing was done.",
    409: "A consumer group of this name exists with other settings: nothing changed.",
    412: "If-Match does not hold (another version, only weak tags, or a deleted Funko):"
    " nothing changed.",
    413: "The body is over 64 KiB.",
    503: "No answer within 3 s (the server too busy, the database slow or down), or writers on"
    " other server processes kept changing this Funko first: retry.",
}
PROBLEM_HEADERS: dict[int, Json] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    412: {"ETag": {"description": "The current version.", "schema": {"type": "string"}}},
    503: {"Retry-After": {"schema": {"type": "string"}}},
}
ETAG = {"ETag": {"description": 'The version, quoted: "3".', "schema": {"type": "string"}}}


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def content(media_type: str, schema: Json, description: str, headers: Json | None = None) -> Json:
    response = {"description": description, "content": {media_type: {"schema": schema}}}
    return response | ({"headers": headers} if headers else {})


def problems(*statuses: int) -> dict[str, Json]:
    """The responses for error ``statuses``: problem+json, with the headers each one sends."""
    return {
        str(s): content(PROBLEM, ref("ProblemDetails"), PROBLEMS[s], PROBLEM_HEADERS.get(s))
        for s in statuses
    }


def query(model: type[BaseModel], **descriptions: str) -> list[Json]:
    """One query parameter per field of ``model`` (by alias), with its schema minus null."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, given in schema["properties"].items():
        field = {k: v for k, v in given.items() if k != "title" and (k, v) != ("default", None)}
        branches = [b for b in field.pop("anyOf", ()) if b != {"type": "null"}]
        if len(branches) == 1:
            field = branches[0] | field
        elif branches:
            field["anyOf"] = branches
        parameter = {"name": name, "in": "query", "required": name in required, "schema": field}
        if name in descriptions:
            parameter["description"] = descriptions[name]
        parameters.append(parameter)
    return parameters


def path(name: str, schema: Json, description: str) -> Json:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def header(name: str, description: str, schema: Json | None = None) -> Json:
    return {
        "name": name,
        "in": "header",
        "schema": schema or {"type": "string"},
        "description": description,
    }


FUNKO_ID = path("id", {"type": "string", "format": "uuid"}, "The Funko's id.")
VERSION = path("version", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "A version.")
# An ETag is a version in quotes; a tag of another form names no version (If-Match: 412).
ETAG_LIST = {
    "type": "string",
    "pattern": r'^\s*(\*|(W/)?"[0-9]{1,18}"(\s*,\s*(W/)?"[0-9]{1,18}")*)\s*$',
}
IF_MATCH = header(
    "If-Match",
    'Apply only if the Funko is live and at one of these versions (RFC 9110: "2", "3"), or at'
    ' any ("*"). Tags compare strongly: a weak one (W/"3") never holds. Not holding: 412.',
    ETAG_LIST,
)
IF_NONE_MATCH = header(
    "If-None-Match",
    'ETags already held, or "*": 304 when one of them (compared weakly) is the current version.',
    ETAG_LIST,
)
IDEMPOTENCY_KEY = header(
    "Idempotency-Key",
    "Makes retrying this write safe: the first request with a key appends at most one event;"
    " a retry with the same method, path, JSON body and If-Match gets the first answer again"
    " (with Idempotent-Replayed: true), anything else under the key gets 422. Keys are the"
    " token's sub's own, kept at least 24 hours; a request that fails records nothing.",
    {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
)
WRITTEN = {
    "X-Log-Position": {
        "description": "The position of the event the write appended.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "Idempotent-Replayed": {
        "description": "true when this is the first answer again, for a retried key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
LAST_EVENT_ID = header(
    "Last-Event-ID",
    "A reconnecting client's last event id (a position): the stream resumes after it, whatever"
    " the query says about where to start. Beyond the newest position: 400.",
    {"type": "string", "pattern": "^[0-9]{1,19}$"},
)
MIN_POSITION = header(
    "X-Min-Position",
    "A position a write answered (its X-Log-Position): the answer reflects every event up to"
    " it, on any server process, reading a replica or not (the server waits for its replica,"
    " or reads the primary). Without it, a replica-backed read may trail the newest write.",
    {"type": "string", "pattern": "^[0-9]{1,18}$"},
)
ACCEPT = header(
    "Accept",
    f"{NDJSON} streams every event after `after` (up to the head at the start), one a line.",
    {"type": "string", "enum": [JSON, NDJSON]},
)


def body(model: str) -> Json:
    return {"required": True, "content": {JSON: {"schema": ref(model)}}}


def operation(op_id: str, tag: str, summary: str, security: list[Json], **parts: Any) -> Json:
    """An operation object; ``security`` names the roles (empty: anyone, no token needed)."""
    return {"operationId": op_id, "tags": [tag], "summary": summary, "security": security} | parts


def funko_ok(description: str, status: str = "200", headers: Json | None = None) -> dict[str, Json]:
    return {status: content(JSON, ref("Funko"), description, ETAG | (headers or {}))}
