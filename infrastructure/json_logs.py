"""Structured logs: one JSON object a line on stderr, each naming the request it belongs to.

The web layer sets ``REQUEST_ID`` while it handles a request (web/request_ids.py); every
line logged meanwhile, from any module, carries it. Kept free of aiohttp so the CLI starts fast.
"""

import contextvars
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class WithRequestId(logging.Filter):
    """Stamps each record with the current request's id (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def write_line(level: str, logger: str, message: str, **fields: object) -> None:
    """One JSON line on stderr shaped as the handler below shapes a record, without the
    ``logging`` machinery: for the lines written on every request."""
    line = {"level": level, "logger": logger, "message": message, **fields}
    line["timestamp"] = datetime.now(UTC).isoformat()
    os.write(sys.stderr.fileno(), orjson.dumps(line) + b"\n")


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process."""
    logging.basicConfig(level=level, handlers=[json_handler(sys.stderr)], force=True)


def json_handler(stream: TextIO) -> logging.Handler:
    """A handler writing each record to ``stream`` as one JSON line with its request id."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        OrjsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,  # RFC 3339 UTC, as "timestamp"
        )
    )
    handler.addFilter(WithRequestId())
    return handler
