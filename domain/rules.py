"""Field rules of a Funko, as the public contract states them.

Each rule takes a raw value and returns it normalised (NFC, trimmed, upper-cased,
quantised) or raises ``ValueError`` with a message meant for the client.
Trimming takes off whitespace and the format characters that show nothing (Unicode Cf: zero
width spaces and joiners, BOM, soft hyphen, bidi marks...), so invisible text is empty text.
"""

import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from domain.urls import is_http_url

NAME_MAX = 100
CATEGORY_MAX = 50
IMAGE_MAX = 500
PRICE_MAX = Decimal("1000000")
STOCK_MAX = 1_000_000
CENTS = Decimal("0.01")
FIELDS = ("name", "price", "stock", "image", "category")
# Format characters (Cf) that show a glyph: the Arabic number sign and its kin lead the digits
# they span, so one at the start of a name is text, not padding.
VISIBLE_FORMAT = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
)
# Tag characters end an emoji tag sequence (the flags of England, Scotland, Wales).
TAGS = ("\U000e0020", "\U000e007f")


class InvalidFunko(ValueError):
    """Raised when fields break the rules; ``errors`` maps each field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def plain_text(value: str) -> str:
    """``value`` if it is storable text: no NUL, no lone surrogate (JSON allows both)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _invisible(char: str) -> bool:
    """Whitespace, or a format character that shows nothing (U+200B, U+FEFF, U+00AD...)."""
    return char.isspace() or (unicodedata.category(char) == "Cf" and char not in VISIBLE_FORMAT)


def _tags_from(text: str, start: int, end: int) -> int:
    """Where the run of tag characters that ends ``text[:end]`` begins (``end``: none)."""
    while end > start and TAGS[0] <= text[end - 1] <= TAGS[1]:
        end -= 1
    return end


def _end_of_trimmed(text: str, start: int) -> int:
    """Where ``text`` ends once trimmed (``start``: where it begins)."""
    end = len(text)
    while end > start:
        tags = _tags_from(text, start, end)
        if tags < end:  # tags after something visible are an emoji's: they stay
            if tags > start and not _invisible(text[tags - 1]):
                return end
            end = tags
        elif _invisible(text[end - 1]):
            end -= 1
        else:
            return end
    return end


def trimmed(text: str) -> str:
    """``text`` in NFC without whitespace or invisible format characters at either end."""
    text = unicodedata.normalize("NFC", text)
    start = 0
    while start < len(text) and _invisible(text[start]):
        start += 1
    return text[start : _end_of_trimmed(text, start)]


def category_of(text: str) -> str:
    """``text`` as a category is kept: trimmed, upper-cased, in NFC."""
    # Upper-casing can leave NFC: "ΐ" becomes Ι and two combining marks, which NFC composes.
    return unicodedata.normalize("NFC", trimmed(text).upper())


def _text(value: Any, limit: int, normalise: Callable[[str], str] = trimmed) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    text = normalise(plain_text(value))
    if not 1 <= len(text) <= limit:
        raise ValueError(f"must be 1 to {limit} characters after trimming")
    return text


def name_rule(value: Any) -> str:
    return _text(value, NAME_MAX)


def category_rule(value: Any) -> str:
    # Upper-casing can lengthen text ("ß" -> "SS"): the limit holds for what is stored.
    return _text(value, CATEGORY_MAX, category_of)


def price_rule(value: Any) -> Decimal:
    # bool is an int in Python, floats drift: only exact numbers are prices.
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a number")
    price = Decimal(value)
    if not price.is_finite():
        raise ValueError("must be a finite number")
    if price < 0:
        raise ValueError("must be ≥ 0")
    if price > PRICE_MAX:
        raise ValueError("must be ≤ 1000000")
    if price != price.quantize(CENTS):
        raise ValueError("must have at most 2 decimals")
    return abs(price.quantize(CENTS))  # abs: -0 is a price of 0, never served as -0.0


def stock_rule(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    if not 0 <= value <= STOCK_MAX:
        raise ValueError("must be between 0 and 1000000")
    return value


def image_rule(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string or null")
    plain_text(value)
    if len(value) > IMAGE_MAX:
        raise ValueError(f"must be at most {IMAGE_MAX} characters")
    if not is_http_url(value):
        raise ValueError("must be an absolute http(s) URL")
    return value


RULES: dict[str, Callable[[Any], Any]] = {
    "name": name_rule,
    "price": price_rule,
    "stock": stock_rule,
    "image": image_rule,
    "category": category_rule,
}


def check_fields(fields: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    """Normalise ``fields`` by the rules; with ``required`` every field but image must be there."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        rule = RULES.get(key)
        if rule is None:
            errors[key] = "is not a Funko field"
            continue
        try:
            clean[key] = rule(value)
        except ValueError as error:
            errors[key] = str(error)
    if required:
        for key in FIELDS:
            if key not in fields and key != "image":
                errors[key] = "is required"
        clean.setdefault("image", None)
    if errors:
        raise InvalidFunko(errors)
    return clean


def search_key(text: str) -> str:
    """``text`` as names are matched and sorted: case-folded (so "ΣΊΣΥΦΟΣ" is "σίσυφος" and
    "İstanbul" is itself), in NFC on both sides of the fold."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
