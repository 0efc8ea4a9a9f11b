"""Every operation the service offers, as OpenAPI 3.1 operation objects, keyed by route.

The statuses are those API.md names for each route; 5xx other than 503 is never documented,
since the contract says it never happens.
"""

from web.audit import EventsParams
from web.dashboard import FILES
from web.group_members import MemberParams
from web.media_types import EVENT_STREAM, JSON, NDJSON
from web.openapi.docs import ASSETS
from web.openapi.objects import (
    ACCEPT,
    FOR_ADMINS,
    FOR_AUDITORS,
    FOR_CONSUMERS,
    FUNKO_ID,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    IF_NONE_MATCH,
    LAST_EVENT_ID,
    PUBLIC,
    VERSION,
    WRITTEN,
    Json,
    body,
    content,
    funko_ok,
    operation,
    path,
    problems,
    query,
    ref,
)
from web.schemas import SearchParams
from web.streams import StreamParams

TEXT = {"type": "string"}
GROUP_NAME = path(
    "name", {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}, "The group's name."
)
STREAM_QUERY = {
    "after": "Replay every event after this position first (at most the newest).",
    "since": "Instead of `after`: replay from the first event created at or after this time"
    " (RFC 3339).",
    "funkoId": "Only this Funko's events.",
    "types": "Only these types, comma-separated.",
}
PARKED_POSITION = path(
    "position", {"type": "integer", "minimum": 1}, "The parked event's position."
)
WRITE_PROBLEMS = (400, 401, 403, 404, 408, 412, 413, 422, 503)


def operations() -> dict[tuple[str, str], Json]:
    """Each operation by (method, path template); routes not registered are left out later."""
    return {
        ("POST", "/api/v1/funkos"): operation(
            "createFunko",
            "funkos",
            "Add a Funko (role admin).",
            FOR_ADMINS,
            parameters=[IDEMPOTENCY_KEY],
            requestBody=body("FunkoBody"),
            responses=funko_ok("Created.", "201", {"Location": {"schema": TEXT}} | WRITTEN)
            | problems(400, 401, 403, 408, 413, 422, 503),
        ),
        ("GET", "/api/v1/funkos"): operation(
            "searchFunkos",
            "funkos",
            "Search the catalog, a page at a time.",
            PUBLIC,
            parameters=query(
                SearchParams,
                name="A case-insensitive substring of the name.",
                category="A case-insensitive substring of the category.",
                minPrice="Inclusive.",
                maxPrice="Inclusive.",
                minStock="Inclusive.",
            ),
            responses={"200": content(JSON, ref("FunkoPage"), "A page.")} | problems(400, 503),
        ),
        ("GET", "/api/v1/funkos/{id}"): operation(
            "getFunko",
            "funkos",
            "A live Funko.",
            PUBLIC,
            parameters=[FUNKO_ID, IF_NONE_MATCH],
            responses=funko_ok("The Funko.")
            | {"304": {"description": "Not modified.", "headers": {"ETag": {"schema": TEXT}}}}
            | problems(400, 404, 503),
        ),
        ("PUT", "/api/v1/funkos/{id}"): operation(
            "replaceFunko",
            "funkos",
            "Set every field of a Funko (role admin).",
            FOR_ADMINS,
            parameters=[FUNKO_ID, IF_MATCH, IDEMPOTENCY_KEY],
            requestBody=body("FunkoBody"),
            responses=funko_ok("The Funko as changed.", headers=WRITTEN)
            | problems(*WRITE_PROBLEMS),
        ),
        ("PATCH", "/api/v1/funkos/{id}"): operation(
            "amendFunko",
            "funkos",
            "Set some fields of a Funko (role admin).",
            FOR_ADMINS,
            parameters=[FUNKO_ID, IF_MATCH, IDEMPOTENCY_KEY],
            requestBody=body("FunkoPatch"),
            responses=funko_ok("The Funko as changed.", headers=WRITTEN)
            | problems(*WRITE_PROBLEMS),
        ),
        ("DELETE", "/api/v1/funkos/{id}"): operation(
            "deleteFunko",
            "funkos",
            "Withdraw a Funko; its history stays (role admin).",
            FOR_ADMINS,
            parameters=[FUNKO_ID, IF_MATCH, IDEMPOTENCY_KEY],
            responses={"204": {"description": "Deleted.", "headers": WRITTEN}}
            | problems(400, 401, 403, 404, 412, 422, 503),
        ),
        ("PUT", "/api/v1/groups/{name}"): operation(
            "putGroup",
            "groups",
            "Create a consumer group (role admin); the same settings again change nothing.",
            FOR_ADMINS,
            parameters=[GROUP_NAME],
            requestBody={"required": False, "content": {JSON: {"schema": ref("GroupBody")}}},
            responses={
                "201": content(JSON, ref("Group"), "Created."),
                "200": content(JSON, ref("Group"), "It exists with these settings."),
            }
            | problems(400, 401, 403, 409, 413, 503),
        ),
        ("GET", "/api/v1/groups"): operation(
            "listGroups",
            "groups",
            "Every consumer group (role admin).",
            FOR_ADMINS,
            responses={"200": content(JSON, ref("Groups"), "By name.")} | problems(401, 403, 503),
        ),
        ("GET", "/api/v1/groups/{name}"): operation(
            "getGroup",
            "groups",
            "A consumer group and where it stands (role admin).",
            FOR_ADMINS,
            parameters=[GROUP_NAME],
            responses={"200": content(JSON, ref("Group"), "The group.")}
            | problems(400, 401, 403, 404, 503),
        ),
        ("GET", "/api/v1/groups/{name}/parked"): operation(
            "parkedEvents",
            "groups",
            "A consumer group's parked events, oldest first (role admin).",
            FOR_ADMINS,
            parameters=[GROUP_NAME],
            responses={"200": content(JSON, ref("ParkedEvents"), "Oldest first.")}
            | problems(400, 401, 403, 404, 503),
        ),
        ("POST", "/api/v1/groups/{name}/parked/{position}/retry"): operation(
            "retryParked",
            "groups",
            "Deliver a parked event again, its attempts starting over (role admin).",
            FOR_ADMINS,
            parameters=[GROUP_NAME, PARKED_POSITION],
            responses={"202": {"description": "It will be delivered again."}}
            | problems(400, 401, 403, 404, 503),
        ),
        ("GET", "/ws/v1/groups/{name}"): operation(
            "joinGroup",
            "groups",
            "Be a member of a consumer group (a WebSocket; role consumer or admin).",
            FOR_CONSUMERS,
            description="Text frames from the server: each a `Delivery`, at most `prefetch`"
            " unacknowledged. Answer each with a `MemberAnswer` text frame: ACK when done, NACK"
            " to have it delivered again (parked after maxAttempts). A malformed answer closes"
            " with 1007, the group's deletion with 4404, shutdown with 1001, a member not"
            " reading with 4008; what a member held unacknowledged goes to the others.",
            parameters=[GROUP_NAME, *query(MemberParams, prefetch="Unacknowledged at most.")],
            responses={"101": {"description": "Switching Protocols: a WebSocket."}}
            | problems(400, 401, 403, 404, 503),
        ),
        ("DELETE", "/api/v1/groups/{name}"): operation(
            "deleteGroup",
            "groups",
            "Delete a consumer group and its checkpoint (role admin).",
            FOR_ADMINS,
            parameters=[GROUP_NAME],
            responses={"204": {"description": "Deleted."}} | problems(400, 401, 403, 404, 503),
        ),
        ("GET", "/api/v1/categories"): operation(
            "listCategories",
            "funkos",
            "Categories with at least one live Funko.",
            PUBLIC,
            responses={"200": content(JSON, ref("Categories"), "Sorted by name.")} | problems(503),
        ),
        ("GET", "/api/v1/funkos/{id}/history"): operation(
            "funkoHistory",
            "audit",
            "Every event of a Funko, deleted ones too.",
            FOR_AUDITORS,
            parameters=[FUNKO_ID],
            responses={"200": content(JSON, ref("History"), "Oldest first.")}
            | problems(400, 401, 403, 404, 503),
        ),
        ("GET", "/api/v1/funkos/{id}/history/{version}"): operation(
            "funkoAtVersion",
            "audit",
            "A Funko as it stood at a version.",
            FOR_AUDITORS,
            parameters=[FUNKO_ID, VERSION],
            responses=funko_ok("The Funko then.") | problems(400, 401, 403, 404, 503),
        ),
        ("GET", "/api/v1/events"): operation(
            "logEvents",
            "audit",
            "The event log by position: a page, or all of it as NDJSON.",
            FOR_AUDITORS,
            parameters=[
                *query(
                    EventsParams,
                    after="Events after this position (default 0).",
                    since="Instead of `after`: from the first event created at or after this"
                    " time (RFC 3339).",
                ),
                ACCEPT,
            ],
            responses={
                "200": {
                    "description": f"A page; with Accept: {NDJSON}, one envelope a line.",
                    "headers": {"X-Log-Head": {"description": "NDJSON only.", "schema": TEXT}},
                    "content": {
                        JSON: {"schema": ref("EventsPage")},
                        NDJSON: {"schema": ref("AuditedEnvelope")},
                    },
                }
            }
            | problems(400, 401, 403, 503),
        ),
        ("GET", "/ws/v1/funkos"): operation(
            "streamFunkos",
            "stream",
            "Every Funko event as it commits (a WebSocket).",
            PUBLIC,
            description="Text frames: each an `Envelope`, and once a `CaughtUp`. "
            "Without `after`, live events only; `CaughtUp` comes first.",
            parameters=query(StreamParams, **STREAM_QUERY),
            responses={"101": {"description": "Switching Protocols: a WebSocket."}}
            | problems(400, 403, 503),
        ),
        ("GET", "/api/v1/stream"): operation(
            "streamEvents",
            "stream",
            "Every Funko event as it commits (server-sent events).",
            PUBLIC,
            description="The WebSocket's stream for EventSource and `curl -N`: each event is"
            " `id: <position>` and `data: <Envelope>`; `CaughtUp` comes as `event: caught-up`"
            " (its id the position it names). A comment line every heartbeat. The server may"
            " end the stream (shutdown, a reader too slow): reconnect with `Last-Event-ID`.",
            parameters=[*query(StreamParams, **STREAM_QUERY), LAST_EVENT_ID],
            responses={"200": content(EVENT_STREAM, TEXT, "The stream; it does not end.")}
            | problems(400, 403, 503),
        ),
        ("GET", "/health"): operation(
            "health",
            "operations",
            "Liveness: 200 while the process runs.",
            PUBLIC,
            responses={"200": content(JSON, ref("Liveness"), "Up.")},
        ),
        ("GET", "/ready"): operation(
            "ready",
            "operations",
            "Readiness: 200 when the database answers.",
            PUBLIC,
            responses={"200": content(JSON, ref("Readiness"), "Ready.")} | problems(503),
        ),
        ("GET", "/metrics"): operation(
            "metrics",
            "operations",
            "Prometheus metrics of this process.",
            PUBLIC,
            responses={"200": content("text/plain", TEXT, "Prometheus text format 0.0.4.")},
        ),
        ("GET", "/api/openapi.json"): operation(
            "openapi",
            "docs",
            "This document.",
            PUBLIC,
            responses={"200": content(JSON, {"type": "object"}, "OpenAPI 3.1.")},
        ),
        ("GET", "/api/docs"): operation(
            "apiDocs",
            "docs",
            "This document, browsable (Swagger UI).",
            PUBLIC,
            responses={"200": content("text/html", TEXT, "A page.")},
        ),
        ("GET", "/api/docs/{asset}"): file_operation(
            "apiDocsAsset", "docs", "A file the browsable page loads.", "asset", ASSETS
        ),
        ("GET", "/"): operation(
            "dashboard",
            "operations",
            "The live dashboard page.",
            PUBLIC,
            responses={"200": content("text/html", TEXT, "A page.")},
        ),
        ("GET", "/static/{file}"): file_operation(
            "dashboardFile",
            "operations",
            "A stylesheet or JavaScript module the dashboard page loads.",
            "file",
            FILES,
        ),
    }


def file_operation(
    operation_id: str, tag: str, summary: str, parameter: str, files: dict[str, str]
) -> Json:
    """GET of one of the fixed ``files`` (name to media type), named by ``parameter``."""
    return operation(
        operation_id,
        tag,
        summary,
        PUBLIC,
        parameters=[path(parameter, {"type": "string", "enum": list(files)}, "A file name.")],
        responses={
            "200": {
                "description": "The file.",
                "content": {media_type: {} for media_type in sorted(set(files.values()))},
            }
        }
        | problems(404),
    )
