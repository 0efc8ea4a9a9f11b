"""The OpenAPI document as the tests read it: what an operation documents, and checks against it."""

import json
from typing import Any

from aiohttp import ClientResponse
from jsonschema import Draft202012Validator

from tests.e2e.rest import Client

Document = dict[str, Any]
OPENAPI = "/api/openapi.json"


async def fetch_document(client: Client) -> Document:
    response = await client.get(OPENAPI)
    assert response.status == 200, await response.text()
    document: Document = await response.json()
    return document


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def conforms(document: Document, instance: Any, schema: dict[str, Any]) -> None:
    """Assert ``instance`` fits ``schema`` (whose $refs point into the document's components)."""
    root = {**schema, "components": document["components"]}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, f"{errors} in {instance!r}"


def documented_response(document: Document, method: str, path: str, status: int) -> dict[str, Any]:
    operation = document["paths"][path][method.lower()]
    responses: dict[str, Any] = operation["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}"
    response: dict[str, Any] = responses[str(status)]
    return response


async def check_response(
    document: Document, method: str, path: str, response: ClientResponse
) -> Any:
    """Assert the response's status and media type are documented for the operation (a path
    template) and its body fits the schema given for them; the decoded body, if JSON."""
    documented = documented_response(document, method, path, response.status)
    media_types = documented.get("content", {})
    if not media_types:
        assert not await response.read(), f"{method} {path} {response.status} has a body"
        return None
    assert response.content_type in media_types, (response.content_type, list(media_types))
    text = await response.text()
    schema = media_types[response.content_type].get("schema")
    if response.content_type == "application/x-ndjson":
        lines = [json.loads(line) for line in text.split("\n")[:-1]]  # "\n" ends each
        for line in lines:
            conforms(document, line, schema)
        return lines
    if not response.content_type.endswith("json"):
        return text
    body = json.loads(text)
    conforms(document, body, schema)
    return body
