"""GET /api/docs: a browsable page of the document, whose every file comes from this server."""

import re

from tests.e2e.rest import Client, problem

TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}


async def test_the_page_loads_swagger_ui_and_the_document_from_this_server(client: Client) -> None:
    response = await client.get("/api/docs")
    page = await response.text()

    assert response.status == 200 and response.content_type == "text/html"
    assert 'url: "/api/openapi.json"' in page
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/api/docs/swagger-ui-bundle.js" in links and "/api/docs/swagger-ui.css" in links
    for link in links:
        assert link.startswith("/api/docs/"), f"{link} is not served here"
        asset = await client.get(link)
        assert asset.status == 200, link
        assert asset.content_type == TYPES[link[link.rindex(".") :]], link
        assert len(await asset.read()) > 100, link


async def test_the_bundle_is_swagger_ui_5_which_renders_openapi_3_1(client: Client) -> None:
    bundle = await (await client.get("/api/docs/swagger-ui-bundle.js")).text()

    assert "SwaggerUIBundle" in bundle
    assert re.search(r'"5\.\d+\.\d+"', bundle)


async def test_files_beside_those_the_page_needs_are_not_served(client: Client) -> None:
    for name in ("swagger-editor.js", "oauth2-redirect.html", "..%2F__init__.py", "LICENSE"):
        await problem(await client.get(f"/api/docs/{name}"), 404)
