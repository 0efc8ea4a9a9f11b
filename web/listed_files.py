"""Files served by name from a fixed list, each with the media type the list gives it.

Only listed names are served (a folder may hold other files), and the type is set, not guessed:
mimetypes says application/javascript for .js on Python 3.11.
"""

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).with_name("static")  # the dashboard's files and the API docs page
FileHandler = Callable[[web.Request], Awaitable[web.FileResponse]]


def listed_files(folder: Path, files: Mapping[str, str], parameter: str, cache: str) -> FileHandler:
    """A handler serving ``folder``'s file named by the route's ``parameter`` if ``files`` (name
    to media type) lists it, with ``Cache-Control: cache``; 404 for any other name."""

    async def serve(request: web.Request) -> web.FileResponse:
        name = request.match_info[parameter]
        if name not in files:
            raise web.HTTPNotFound()
        headers = {"Content-Type": files[name], "Cache-Control": cache}
        return web.FileResponse(folder / name, headers=headers)

    return serve
