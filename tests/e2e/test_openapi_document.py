"""GET /api/openapi.json: a valid OpenAPI 3.1 document of every route the app has."""

import re

from openapi_spec_validator import validate

from tests.e2e.openapi_kit import fetch_document
from tests.e2e.rest import Client

PROBLEM = "application/problem+json"
ROLES = {"admin", "auditor", "consumer"}


async def test_the_document_is_valid_openapi_3_1(client: Client) -> None:
    document = await fetch_document(client)

    assert document["openapi"].startswith("3.1.")
    validate(document)


async def test_every_route_of_the_app_is_documented_and_nothing_else(client: Client) -> None:
    document = await fetch_document(client)
    # aiohttp adds a HEAD beside every GET: documenting the GET covers it.
    registered = {
        (route.method.lower(), route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}

    assert registered - documented == set(), "routes without documentation"
    assert documented - registered == set(), "documented operations the app does not have"


async def test_every_operation_says_who_may_call_it_and_declares_its_path_parameters(
    client: Client,
) -> None:
    document = await fetch_document(client)
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")

    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            assert "security" in operation, label
            for requirement in operation["security"]:
                assert set(requirement) == {"bearerAuth"}, label
                assert set(requirement["bearerAuth"]) <= ROLES, label
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), label
            if operation["security"]:
                assert {"401", "403"} <= operation["responses"].keys(), label


async def test_errors_are_documented_as_problem_json(client: Client) -> None:
    document = await fetch_document(client)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == [PROBLEM], f"{method} {path} {status}"
                assert not status.startswith("5") or status == "503", f"{method} {path}"


async def test_the_write_statuses_of_the_contract_are_documented(client: Client) -> None:
    paths = (await fetch_document(client))["paths"]

    assert {"201", "400", "401", "403", "413", "503"} <= paths["/api/v1/funkos"]["post"][
        "responses"
    ].keys()
    for method in ("put", "patch"):
        responses = paths["/api/v1/funkos/{id}"][method]["responses"]
        assert {"200", "400", "401", "403", "404", "412", "413", "503"} <= responses.keys()
    assert {"204", "404", "412"} <= paths["/api/v1/funkos/{id}"]["delete"]["responses"].keys()
    assert {"200", "304", "400", "404"} <= paths["/api/v1/funkos/{id}"]["get"]["responses"].keys()
    assert {"101", "400", "403"} <= paths["/ws/v1/funkos"]["get"]["responses"].keys()


async def test_the_field_rules_are_in_the_request_schemas(client: Client) -> None:
    schemas = (await fetch_document(client))["components"]["schemas"]
    body = schemas["FunkoBody"]

    assert set(body["required"]) == {"name", "price", "stock", "category"}
    assert body["additionalProperties"] is False
    price = body["properties"]["price"]
    assert (price["type"], price["minimum"], price["maximum"]) == ("number", 0, 1_000_000)
    assert price["multipleOf"] == 0.01
    name, category = body["properties"]["name"], body["properties"]["category"]
    assert (name["minLength"], name["maxLength"]) == (1, 100)
    assert (category["minLength"], category["maxLength"]) == (1, 50)
    stock = body["properties"]["stock"]
    assert (stock["type"], stock["minimum"], stock["maximum"]) == ("integer", 0, 1_000_000)
    image = body["properties"]["image"]["anyOf"]
    assert image[0]["maxLength"] == 500 and image[1] == {"type": "null"}
    assert "required" not in schemas["FunkoPatch"]
    assert schemas["FunkoPatch"]["properties"]["price"]["type"] == "number"


async def test_query_parameters_come_from_the_models_that_check_them(client: Client) -> None:
    paths = (await fetch_document(client))["paths"]

    search = {
        p["name"]: p["schema"]
        for p in paths["/api/v1/funkos"]["get"]["parameters"]
        if p["in"] == "query"
    }
    assert set(search) == {
        "name",
        "category",
        "minPrice",
        "maxPrice",
        "minStock",
        "page",
        "size",
        "sortBy",
        "direction",
    }
    assert (search["size"]["minimum"], search["size"]["maximum"]) == (1, 100)
    assert set(search["sortBy"]["enum"]) == {
        "id",
        "name",
        "price",
        "stock",
        "category",
        "createdAt",
        "updatedAt",
    }
    events = {p["name"]: p for p in paths["/api/v1/events"]["get"]["parameters"]}
    assert (events["limit"]["schema"]["minimum"], events["limit"]["schema"]["maximum"]) == (
        1,
        1000,
    )
    assert events["Accept"]["in"] == "header"
    stream = {p["name"] for p in paths["/ws/v1/funkos"]["get"]["parameters"] if p["in"] == "query"}
    assert stream == {"after", "since", "funkoId", "types"}
