"""GET /: the live dashboard, plain HTML, CSS and JavaScript modules from web/static/.

No build step and no CDN: the browser loads the modules as written, from this server only.
"""

from aiohttp import web

from web.listed_files import STATIC, listed_files
from web.problems import add_get

DASHBOARD_HTML = STATIC / "dashboard.html"
# The files the page loads, and only those (web/static/ holds other pages' files too).
FILES = {
    "dashboard.css": "text/css",
    "dashboard.js": "text/javascript",
    "catalog.js": "text/javascript",
    "live-stream.js": "text/javascript",
    "feed.js": "text/javascript",
    "replay.js": "text/javascript",
    "groups.js": "text/javascript",
    "format.js": "text/javascript",
}
# Without a build step the files keep their names from one release to the next, so browsers
# ask again each time (a 304 while unchanged) rather than run stale modules.
CACHE = "no-cache"
# The page needs nothing but this server: anything else it would load is refused.
POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


async def dashboard(request: web.Request) -> web.FileResponse:
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": CACHE,
        "Content-Security-Policy": POLICY,
    }
    return web.FileResponse(DASHBOARD_HTML, headers=headers)


def add_routes(app: web.Application) -> None:
    add_get(app, "/", dashboard)
    add_get(app, "/static/{file}", listed_files(STATIC, FILES, "file", CACHE))
