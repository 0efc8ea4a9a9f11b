"""Errors as application/problem+json (RFC 9457), mapped from exceptions in one place."""

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from domain.funko import FunkoNotFound, NothingToChange, VersionNotFound
from domain.ports import TooMuchContention
from domain.rules import InvalidFunko
from domain.services import PreconditionFailed
from infrastructure.database import UNAVAILABLE
from infrastructure.event_store import StoreUnavailable
from infrastructure.groups import GroupConflict, GroupNotFound, NotParked
from infrastructure.json_codec import dumps
from web.media_types import PROBLEM

log = logging.getLogger(__name__)
HTTP_DETAILS = {
    404: "No such resource.",
    405: "The resource does not take this method.",
    413: "The request body is over 64 KiB.",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """An error the client caused or can act on, with its HTTP status."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})
        self.close = close  # end the connection after the answer


def invalid(
    errors: Mapping[str, str], detail: str = "The request breaks the field rules."
) -> Problem:
    return Problem(400, "Invalid request", detail, errors)


def problem_response(problem: Problem) -> web.Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail or problem.title,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    response = web.Response(
        status=problem.status,
        text=dumps(body),
        content_type=PROBLEM,
        headers=problem.headers,
    )
    if problem.close:
        response.force_close()
    return response


def as_problem(error: BaseException) -> Problem | None:
    """The Problem an exception means to the client, or None if it is a bug."""
    match error:
        case Problem():
            return error
        case InvalidFunko():
            return invalid(error.errors)
        case NothingToChange():
            return Problem(400, "Invalid request", str(error))
        case VersionNotFound():
            return Problem(
                404, "Not found", f"Funko {error.funko_id} has no version {error.version}."
            )
        case FunkoNotFound():
            return Problem(404, "Not found", f"No Funko with id {error}.")
        case GroupNotFound():
            return Problem(404, "Not found", f"No consumer group named {error}.")
        case NotParked():
            return Problem(404, "Not found", f"The group has no parked event at {error}.")
        case GroupConflict():
            return Problem(
                409, "Conflict", f"The group {error} exists with other settings: nothing changed."
            )
        case PreconditionFailed():
            current = {} if error.current is None else {"ETag": f'"{error.current}"'}
            return Problem(
                412, "Precondition failed", f"If-Match does not hold: {error}.", headers=current
            )
        case TooMuchContention():
            return Problem(
                503,
                "Too much contention",
                "Writers on other server processes kept changing this Funko first; nothing"
                " was written. Retry.",
                headers={"Retry-After": "1"},
            )
        case _ if isinstance(error, (StoreUnavailable, *UNAVAILABLE)):
            return Problem(
                503,
                "Service unavailable",
                "The database is not answering; retry.",
                headers={"Retry-After": "1"},
            )
        case web.HTTPException() if error.status >= 400:
            detail = HTTP_DETAILS.get(error.status, error.reason)
            allow = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
            return Problem(error.status, error.reason, detail, headers=allow)
    return None


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every known error into problem+json; let bugs surface as 500 problem+json, logged."""
    try:
        return await handler(request)
    except Exception as error:
        if request.writer.output_size > 0:
            raise  # a response already under way cannot turn into a problem: aiohttp cuts it
        problem = as_problem(error)
        if problem is None:
            log.exception("unhandled error on %s %s", request.method, request.path)
            problem = Problem(500, "Internal server error", "An unexpected error; it was logged.")
        return problem_response(problem)


async def _nothing_to_expect(request: web.Request) -> None:
    """A request without a body expects nothing of us: Expect is ignored (RFC 9110, 10.1.1,
    allows a 417 for an expectation not understood; aiohttp's plain-text one helps no one)."""


def add_get(app: web.Application, path: str, handler: Handler) -> None:
    """A GET (and HEAD) route; any Expect header is ignored (see _nothing_to_expect)."""
    app.router.add_get(path, handler, expect_handler=_nothing_to_expect)
