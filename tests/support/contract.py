"""What API.md promises a client sees: the keys of a Funko and of an auditor's event envelope,
in the order they are written, and the time format of every timestamp."""

import re

FUNKO_KEYS = [
    "id",
    "name",
    "price",
    "stock",
    "image",
    "category",
    "version",
    "createdAt",
    "updatedAt",
]
ENVELOPE_KEYS = [
    "entity",
    "type",
    "position",
    "funkoId",
    "version",
    "data",
    "changes",
    "createdAt",
    "actor",
]
RFC3339_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
