"""Request ids: each request is named, in its log lines and its response's ``X-Request-Id``.

The id is the client's ``X-Request-Id`` when that is a short token, else a fresh one. It is
sent back on every response (WebSocket upgrades and streams too) and set, while the request is
handled, where infrastructure/json_logs.py stamps it on every log line.
"""

import logging
import re
import uuid

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from infrastructure import json_logs
from infrastructure.json_logs import REQUEST_ID
from web.problems import Handler

HEADER = "X-Request-Id"
KEY = web.RequestKey("request_id", str)
ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Name the request, for its log lines and its response."""
    given = request.headers.get(HEADER, "")
    request[KEY] = given if ACCEPTABLE.fullmatch(given) else uuid.uuid4().hex
    token = REQUEST_ID.set(request[KEY])
    try:
        return await handler(request)
    finally:
        REQUEST_ID.reset(token)


async def send_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, streamed ones included, names its request."""
    if KEY in request:
        response.headers[HEADER] = request[KEY]


class AccessLog(AbstractAccessLogger):
    """One line per request, after its response: method, path, status, duration, id.

    The line is the JSON line json_logs writes for any record, written straight to stderr:
    through ``logging`` and its JSON formatter it cost about a tenth of a request's time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        method, path, status = request.method, request.path, response.status
        json_logs.write_line(
            "INFO",
            self.logger.name,
            f"{method} {path} {status}",
            request_id=request.get(KEY),
            method=method,
            path=path,
            status=status,
            duration_ms=round(time * 1000, 3),
            remote=request.remote,
        )
