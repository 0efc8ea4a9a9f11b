"""The app as ``run.py serve`` builds it, but in the test's own process: on the database a
test names, with the tests' secret, and any setting overridden."""

from typing import Any

from aiohttp import web

from infrastructure.settings import Settings
from tests.support.tokens import SECRET
from web.app import create_app


def app_for(database_url: str, **settings: Any) -> web.Application:
    """``create_app`` on ``database_url``; ``settings`` replace the defaults (ws_buffer, …)."""
    return create_app(Settings(database_url=database_url, jwt_secret=SECRET, **settings))
