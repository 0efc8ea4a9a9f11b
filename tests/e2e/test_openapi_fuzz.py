"""Schemathesis against the running app, driven by the app's own OpenAPI document.

Every documented operation gets schema-valid and schema-breaking requests, as an admin; it
must never answer 5xx, and every answer must be documented: status, media type and body.
The generation is derandomized (fixed seed, no example database), so a run repeats.
GET /ws/v1/funkos is fuzzed as plain HTTP (schemathesis cannot upgrade): its query checks
and 400s; the upgrade itself (101) is left to the stream tests. GET /api/v1/stream never ends
when it is accepted: its 200s are checked by their head, then dropped.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis import BaseSchema, Case, CheckContext, HookContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.audit_kit import NDJSON
from tests.e2e.live_server import live_server
from tests.support.apps import app_for
from tests.support.shop import funko_fields
from tests.support.streams import SSE
from tests.support.tokens import ADMIN

SEED = 20261126
EXAMPLES = 100  # per operation and mode, beside the coverage phase's boundary cases
KNOWN_FUNKOS = 6
NDJSON_LINES = 200


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    with live_server(app_for(database_url)) as url:
        yield url


@pytest.fixture(scope="module")
def known_funkos(base_url: str) -> dict[str, list[str]]:
    """Funkos that exist, so that reads, writes and audits get past 404: some to delete, and
    some kept for the other operations (DELETE comes first)."""
    ids = []
    for _ in range(2 * KNOWN_FUNKOS):
        response = requests.post(f"{base_url}/api/v1/funkos", json=funko_fields(), headers=ADMIN)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return {"DELETE": ids[:KNOWN_FUNKOS], "other": ids[KNOWN_FUNKOS:]}


@pytest.fixture
def api_schema(
    request: pytest.FixtureRequest, base_url: str, known_funkos: dict[str, list[str]]
) -> BaseSchema:
    # schemathesis 4.32 renames the test node through Node._nodeid, which pytest 9.2 lacks.
    request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "headers": ADMIN,
            "generation": {
                "max-examples": EXAMPLES,
                "mode": "all",
                "deterministic": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            # Generation speed is not what this test is about, and CI may be busy.
            "suppress-health-check": ["too_slow", "filter_too_much"],
        }
    )
    # from_dict rather than from_url, which would leave out the operation serving the document.
    served = requests.get(f"{base_url}/api/openapi.json", timeout=10)
    schema = schemathesis.openapi.from_dict(served.json(), config=config)

    @schema.hook("flatmap_path_parameters")
    def half_the_time_a_known_funko(context: HookContext, parameters: Any) -> Any:
        if not parameters or "id" not in parameters:
            return st.just(parameters)
        method = context.operation.method.upper() if context.operation else ""
        pool = known_funkos["DELETE" if method == "DELETE" else "other"]
        known = st.sampled_from(pool).map(lambda funko_id: {**parameters, "id": funko_id})
        if "version" in parameters:  # versions 1 and 2 are likelier to exist than others
            known = st.tuples(known, st.sampled_from([1, 2])).map(
                lambda pair: {**pair[0], "version": pair[1]}
            )
        return st.one_of(st.just(parameters), known)

    return schema


def ndjson_lines_conform(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """The first lines of an NDJSON answer fit the schema documented for its media type (the
    stream may hold the whole log, shared with every other test: its shape shows early)."""
    media_type = response.headers.get("content-type", [""])[0].split(";")[0]
    if media_type != NDJSON:
        return None
    document = case.operation.schema.raw_schema
    documented = case.operation.definition.raw["responses"][str(response.status_code)]
    schema = {**documented["content"][NDJSON]["schema"], "components": document["components"]}
    validator = Draft202012Validator(schema)
    # Split on "\n" only: JSON strings may hold U+2028, U+0085 and the like unescaped.
    lines = response.content.decode().split("\n")[:-1][:NDJSON_LINES]
    for number, line in enumerate(lines, 1):
        errors = [e.message for e in validator.iter_errors(json.loads(line))]
        assert not errors, f"NDJSON line {number}: {errors}"
    return True


CHECKED = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ndjson_lines_conform,
]
fuzzed = schemathesis.pytest.from_fixture("api_schema")


@fuzzed.parametrize()
def test_every_operation_answers_as_documented_and_never_5xx(
    case: Case[Any], base_url: str
) -> None:
    if case.operation.path == SSE:
        open_stream_and_drop_it(case, base_url)
    else:
        case.call_and_validate(checks=CHECKED)


def open_stream_and_drop_it(case: Case[Any], base_url: str) -> None:
    """GET /api/v1/stream: a refusal is validated as any answer; a stream by its head alone."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    with requests.request(**kwargs, stream=True, timeout=10) as response:
        if response.status_code == 200:
            assert response.headers["Content-Type"] == "text/event-stream"
            return
        case.validate_response(Response.from_requests(response, verify=False), checks=CHECKED)
