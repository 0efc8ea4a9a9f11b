"""The field rules of ``domain.rules`` as JSON Schema, for the OpenAPI document only.

Annotations on the request models (``WithJsonSchema``): they shape the document and change
no validation, so the domain stays the one place the rules are enforced.
"""

from pydantic import WithJsonSchema

from domain.rules import CATEGORY_MAX, CENTS, IMAGE_MAX, NAME_MAX, PRICE_MAX, STOCK_MAX
from domain.urls import HTTP_URL

# Some text that is not all whitespace and has no NUL: what is left after trimming is checked
# (trimming also takes off the invisible format characters, too many to list in a pattern).
TRIMMED = r"^[^\u0000]*\S[^\u0000]*$"
NAME_DOC = WithJsonSchema(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": NAME_MAX,
        "pattern": TRIMMED,
        "description": f"In NFC, trimmed of whitespace and invisible format characters, then 1 "
        f"to {NAME_MAX} characters.",
    }
)
PRICE_DOC = WithJsonSchema(
    {
        "type": "number",
        "minimum": 0,
        "maximum": int(PRICE_MAX),
        "multipleOf": float(CENTS),
        "description": "At most 2 decimals; kept exact.",
    }
)
STOCK_DOC = WithJsonSchema(
    {
        "type": "integer",
        "minimum": 0,
        "maximum": STOCK_MAX,
        "description": "An integer literal: 12, not 12.0.",
    }
)
IMAGE_DOC = WithJsonSchema(
    {
        "type": "string",
        "maxLength": IMAGE_MAX,
        "pattern": f"^{HTTP_URL}$",
        "description": "An absolute http(s) URL (RFC 3986: ASCII, %-encoded where needed), "
        "with a DNS name, IPv4 address or [IPv6] literal for host, and a port from 1 to 65535.",
    }
)
CATEGORY_DOC = WithJsonSchema(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": CATEGORY_MAX,
        "pattern": TRIMMED,
        "description": f"In NFC, trimmed of whitespace and invisible format characters and "
        f"upper-cased, then 1 to {CATEGORY_MAX} characters.",
    }
)
