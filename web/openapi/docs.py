"""GET /api/docs: Swagger UI over /api/openapi.json, served from the swagger-ui-py package.

Only the package's static files are used (its handlers would bring Jinja templates along),
and only those our page loads, so a browser needs nothing beyond this server.
"""

from importlib.util import find_spec
from pathlib import Path

from aiohttp import web

from web.listed_files import STATIC, listed_files
from web.problems import add_get

DOCS_HTML = STATIC / "api-docs.html"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
CACHE = "public, max-age=86400"


def swagger_ui_static() -> Path:
    """The folder of Swagger UI's files inside the installed package (found, not imported)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (see requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def api_docs(request: web.Request) -> web.FileResponse:
    return web.FileResponse(DOCS_HTML, headers={"Content-Type": "text/html; charset=utf-8"})


def add_routes(app: web.Application) -> None:
    add_get(app, "/api/docs", api_docs)
    assets = listed_files(swagger_ui_static(), ASSETS, "asset", CACHE)
    add_get(app, "/api/docs/{asset}", assets)
