"""The field rules of ``domain.rules`` as JSON Schema, for the OpenAPI document only.

Annotations on the request models (``WithJsonSchema``): they shape the document and change
no validation, so the domain stays the one place the rules are enforced.
"""

from pydantic import WithJsonSchema

from domain.rules import CATEGORY_MAX, CENTS, IMAGE_MAX, NAME_MAX, PRICE_MAX, STOCK_MAX

# Some text that is not all whitespace and has no NUL: what is left after trimming is checked.
TRIMMED = r"^[^\u0000]*\S[^\u0000]*$"
NAME_DOC = WithJsonSchema(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": NAME_MAX,
        "pattern": TRIMMED,
        "description": f"Trimmed, then 1 to {NAME_MAX} characters.",
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
        "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]",
        "description": "An absolute http(s) URL.",
    }
)
CATEGORY_DOC = WithJsonSchema(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": CATEGORY_MAX,
        "pattern": TRIMMED,
        "description": f"Trimmed and upper-cased, then 1 to {CATEGORY_MAX} characters.",
    }
)
