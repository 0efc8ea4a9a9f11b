"""The shop's Funkos as every suite writes them: the API's paths, random fields no other test
uses, bulky ones that fill a socket, and JSON read with exact prices."""

import asyncio
import json
from decimal import Decimal
from typing import Any
from uuid import uuid4

from domain.services import FunkoService

FUNKOS = "/api/v1/funkos"
CATEGORIES = "/api/v1/categories"
EVENTS = "/api/v1/events"


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid4().hex[:10]}"


def funko_fields(**overrides: Any) -> dict[str, Any]:
    """A valid Funko body with a random name and category; ``overrides`` replace fields."""
    return {
        "name": unique("Funko"),
        "price": 19.99,
        "stock": 12,
        "image": "https://img.example/funko.png",
        "category": unique("cat"),
        **overrides,
    }


def decode(text: str) -> Any:
    """JSON with decimals kept exact, so float drift in a price shows."""
    return json.loads(text, parse_float=Decimal)


def bulky_fields() -> dict[str, Any]:
    """A Funko with the longest fields the rules allow (≈1.3 KB as an event envelope)."""
    return {
        "name": unique("Bulky").ljust(100, "x"),
        "price": Decimal("999.99"),
        "stock": 7,
        "image": "https://img.example/" + "i" * 470,
        "category": unique("c").ljust(50, "y"),
    }


async def create_bulky(service: FunkoService, count: int, burst: int = 50) -> None:
    """``count`` bulky Funkos written straight through ``service``, ``burst`` at a time."""
    for start in range(0, count, burst):
        await asyncio.gather(
            *(service.create(bulky_fields(), "bulk") for _ in range(min(burst, count - start)))
        )
