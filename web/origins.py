"""The Origin check: browsers may write or subscribe only from ALLOWED_ORIGINS (default: us)."""

from aiohttp import web

from web.keys import SETTINGS
from web.problems import Problem


def check_origin(request: web.Request) -> None:
    """Problem 403 if the request carries an Origin header outside the allowed ones."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    allowed = request.app[SETTINGS].allowed_origins or (f"{request.scheme}://{request.host}",)
    if origin.rstrip("/") not in allowed:
        raise Problem(403, "Forbidden", f"Origin {origin!r} is not allowed.")
