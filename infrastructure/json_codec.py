"""JSON out: orjson, with prices (Decimal) written as JSON numbers."""

from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> Any:
    # A price has at most 2 decimals and 9 digits, so the shortest float repr is exact.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """Encode ``value`` as compact JSON text."""
    return orjson.dumps(value, default=_default).decode()


def dumpb(value: Any) -> bytes:
    """Encode ``value`` as compact JSON bytes."""
    return orjson.dumps(value, default=_default)
