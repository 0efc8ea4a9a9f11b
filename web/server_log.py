"""aiohttp's server log, telling what a client did apart from what went wrong in the server.

Anyone can send a malformed request or hang up mid-answer, and aiohttp logs both as an ERROR
with a traceback: anyone could flood the log. Through this logger a malformed request is one
WARNING line and a client gone away one INFO line, neither with a traceback; any other
exception aiohttp reports (a bug of ours, a 500) stays an ERROR with its traceback.
"""

import asyncio
import logging
import sys
from types import TracebackType
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

ExcInfo = (
    bool
    | BaseException
    | tuple[type[BaseException], BaseException, TracebackType | None]
    | tuple[None, None, None]
    | None
)
# A client gone, as aiohttp sees it: a ConnectionError on its connection (a reset, or "Connection
# lost" when a write was waiting for it to read), or its request cancelled. But a connection
# refused is one the server opened, to PostgreSQL say: that is ours to fix.
CLIENT_GONE = (ConnectionError, asyncio.CancelledError)
BRIEF = 200  # characters of the client's mistake: its request, say, is quoted in it


def raised(exc_info: ExcInfo) -> BaseException | None:
    """The exception that ``exc_info``, as the logging calls take it, refers to."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):
        return exc_info[1]
    return sys.exc_info()[1] if exc_info else None


def client_caused(error: BaseException | None) -> int | None:
    """The level at which to log ``error`` if a client caused it; None if the server did."""
    if isinstance(error, HttpProcessingError):
        return logging.WARNING
    if isinstance(error, CLIENT_GONE) and not isinstance(error, ConnectionRefusedError):
        return logging.INFO
    return None


def brief(error: BaseException) -> str:
    """``error`` as a few words on one line (aiohttp's parser errors span several)."""
    text = error.message if isinstance(error, HttpProcessingError) else str(error)
    return f"{type(error).__name__}: {' '.join(text.split())}"[:BRIEF]


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """The "aiohttp.server" logger, for ``handler_args``: client mistakes in one line each."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("aiohttp.server"))

    def exception(
        self, msg: object, *args: object, exc_info: ExcInfo = True, **kwargs: Any
    ) -> None:
        error = raised(exc_info)
        level = client_caused(error)
        if error is None or level is None:
            super().exception(msg, *args, exc_info=exc_info, **kwargs)
        else:
            self.log(level, "%s: %s", str(msg) % args if args else msg, brief(error))
