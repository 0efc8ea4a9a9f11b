"""Random Funko fields and event-sized JSON documents for the load."""

import json
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CATEGORIES = ("MARVEL", "DISNEY", "ANIME", "DC", "STAR WARS", "GAMES", "MOVIES", "MUSIC")
WORDS = (
    "Iron",
    "Spider",
    "Captain",
    "Dark",
    "Golden",
    "Space",
    "Ninja",
    "Robo",
    "Mighty",
    "Tiny",
    "Cosmic",
    "Shadow",
    "Pixel",
    "Thunder",
    "Frost",
    "Neon",
)


def random_name() -> str:
    return f"{random.choice(WORDS)} {random.choice(WORDS)} #{random.randrange(1_000_000)}"


def random_fields() -> dict[str, Any]:
    """Fields for FunkoService.create (price as an exact Decimal)."""
    return {
        "name": random_name(),
        "price": Decimal(random.randrange(100, 100_000)) / 100,
        "stock": random.randrange(0, 1000),
        "image": f"https://images.example.com/funko/{random.randrange(100_000)}.png",
        "category": random.choice(CATEGORIES),
    }


def random_body() -> bytes:
    """A POST /api/v1/funkos body (JSON bytes)."""
    fields = random_fields()
    fields["price"] = float(fields["price"])
    return json.dumps(fields, separators=(",", ":")).encode()


def event_sized_document() -> str:
    """JSON text shaped like an event's ``data`` (~300 bytes): a whole Funko as served."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = random_fields()
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "name": fields["name"],
            "price": float(fields["price"]),
            "stock": fields["stock"],
            "image": fields["image"],
            "category": fields["category"],
            "version": 1,
            "createdAt": now,
            "updatedAt": now,
            "actor": "bench",
            "topic": "domain.funko:Funko.Created",
        },
        separators=(",", ":"),
    )
