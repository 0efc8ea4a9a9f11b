"""Request models: what a body or query may hold (types, names). Field rules live in the domain.

The ``*_DOC`` annotations only describe those rules in the OpenAPI document (built from these
models); they change no validation, so the domain's messages stay the ones sent.
"""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from domain.ports import CatalogQuery, Direction, SortKey
from domain.rules import FIELDS, plain_text
from web.openapi.rule_schemas import CATEGORY_DOC, IMAGE_DOC, NAME_DOC, PRICE_DOC, STOCK_DOC
from web.problems import Problem, invalid

Q = TypeVar("Q", bound=BaseModel)
Price = Annotated[Decimal, Field(strict=True)] | StrictInt
WHOLE_NUMBER = re.compile(r"-?[0-9]+")
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def written_as(pattern: re.Pattern[str], message: str) -> BeforeValidator:
    """Refuse a query value not spelt as ``pattern``, before pydantic's lenient parsing
    (which takes "1_0", "+5", " 5", "1.0", "1e3", "١")."""

    def check(value: object) -> object:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise PydanticCustomError("query_number", message)
        return value

    return BeforeValidator(check)


# Numbers in query strings: ASCII digits, a "-" only so that a negative hears "≥ 0". The
# document keeps saying integer and number: a query string writes them plainly.
WHOLE = written_as(WHOLE_NUMBER, "must be a whole number written in digits")
QueryInt = Annotated[int, WHOLE]
# The check outside the None: pydantic then still documents a field's ge/le as minimum/maximum.
OptionalQueryInt = Annotated[int | None, WHOLE]
# RFC 3339's date-time (section 5.6): a full date, a time and an offset; "t" and "z" may be
# lower case. A "+" sent unencoded in a query string arrives as a space: taken as the "+".
RFC_3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+\- ][0-9]{2}:[0-9]{2})"
)


def rfc_3339(value: object) -> object:
    """An RFC 3339 time as an aware datetime, rounded up to the microsecond (so "at or after"
    it keeps its meaning at PostgreSQL's precision)."""
    if not isinstance(value, str):
        return value
    written = RFC_3339.fullmatch(value)
    if written is None:
        raise PydanticCustomError(
            "rfc_3339", "must be an RFC 3339 time, like 2026-12-07T09:00:00Z or …+01:00"
        )
    date, time, fraction, offset = written.groups()
    digits = (fraction or ".")[1:]
    offset = "+00:00" if offset in "Zz" else offset.replace(" ", "+")
    try:
        when = datetime.fromisoformat(f"{date}T{time}.{digits[:6]:0<6}{offset}")
        if digits[6:].strip("0"):
            when += timedelta(microseconds=1)
        return when.astimezone(UTC)
    except ValueError:  # no such date or time (a 61st second, February 30th)
        raise PydanticCustomError("rfc_3339", "must be a real date and time") from None
    except OverflowError:  # before year 1 or after 9999 in UTC
        raise PydanticCustomError("rfc_3339", "must be within the years 1 to 9999") from None


QueryTime = Annotated[
    datetime,
    BeforeValidator(rfc_3339),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
QueryDecimal = Annotated[
    Decimal, written_as(PLAIN_DECIMAL, "must be a decimal number written in digits, like 19.99")
]
# Query bounds: prices have at most 2 decimals, so bounds do too (and stay encodable).
PriceBound = Annotated[
    QueryDecimal,
    Field(ge=0, le=10**9, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 10**9, "multipleOf": 0.01}),
]
# Normalised as names and categories are by the catalog (domain.rules: search_key, category_of).
SearchText = Annotated[str, Field(max_length=200), AfterValidator(plain_text)]


class FunkoBody(BaseModel):
    """A whole Funko, for POST and PUT."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[StrictStr, NAME_DOC]
    price: Annotated[Price, PRICE_DOC]
    stock: Annotated[StrictInt, STOCK_DOC]
    image: Annotated[StrictStr, IMAGE_DOC] | None = None
    category: Annotated[StrictStr, CATEGORY_DOC]


def _patch_document(schema: dict[str, Any]) -> None:
    """In the document, a patch names a field at least, and a field left out keeps its value
    (so none has a default)."""
    schema["minProperties"] = 1
    for field in schema["properties"].values():
        field.pop("default", None)


class FunkoPatch(BaseModel):
    """Some fields of a Funko, for PATCH; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_document)
    # null is no name, price, stock or category (the rules refuse it): the document says so.
    name: Annotated[StrictStr | None, NAME_DOC] = None
    price: Annotated[Price | None, PRICE_DOC] = None
    stock: Annotated[StrictInt | None, STOCK_DOC] = None
    image: Annotated[StrictStr, IMAGE_DOC] | None = None
    category: Annotated[StrictStr | None, CATEGORY_DOC] = None


class SearchParams(BaseModel):
    """The query string of GET /funkos."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)
    name: SearchText | None = None
    category: SearchText | None = None
    min_price: PriceBound | None = Field(None, alias="minPrice")
    max_price: PriceBound | None = Field(None, alias="maxPrice")
    min_stock: OptionalQueryInt = Field(None, alias="minStock", ge=0, le=10**9)
    page: QueryInt = Field(0, ge=0, le=10**7)
    size: QueryInt = Field(10, ge=1, le=100)
    sort_by: SortKey = Field("name", alias="sortBy")
    direction: Direction = "asc"

    def as_query(self) -> CatalogQuery:
        return CatalogQuery(
            name=self.name or None,
            category=self.category or None,
            min_price=self.min_price,
            max_price=self.max_price,
            min_stock=self.min_stock,
            page=self.page,
            size=self.size,
            sort_by=self.sort_by,
            direction=self.direction,
        )


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's errors as {field: message}, one message per field."""
    errors: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "body"
        if item["type"] == "extra_forbidden":
            message = "is not a known field"
        elif item["type"] == "missing":
            message = "is required"
        elif field == "price" and item["type"] in ("is_instance_of", "int_type", "decimal_type"):
            message = "must be a number"
        else:
            message = item["msg"]
        errors.setdefault(field, message)
    return errors


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Decode a JSON body, keeping decimals exact; Problem 400 if it is not JSON."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise Problem(400, "Malformed JSON", f"The body is not valid JSON: {error}.") from None


def parse_fields(document: Any, model: type[FunkoBody] | type[FunkoPatch]) -> dict[str, Any]:
    """The Funko fields a body sets (only those given, for a patch)."""
    if not isinstance(document, dict):
        raise Problem(400, "Invalid request", "The body must be a JSON object.")
    try:
        parsed = model.model_validate(document)
    except ValidationError as error:
        raise invalid(field_errors(error)) from None
    return {
        k: getattr(parsed, k)
        for k in FIELDS
        if k in parsed.model_fields_set or (model is FunkoBody and k == "image")
    }


def single_values(query: Mapping[str, str]) -> dict[str, str]:
    """A query string as one value per name; Problem 400 when a name comes twice."""
    params: dict[str, str] = {}
    for key, value in query.items():
        if key in params:
            raise invalid({key: "is repeated"}, f"The query names {key!r} twice.")
        params[key] = value
    return params


def parse_query(request: web.Request, model: type[Q]) -> Q:
    """The request's query string as ``model``; Problem 400 naming each bad parameter."""
    try:
        return model.model_validate(single_values(request.query))
    except ValidationError as error:
        raise invalid(field_errors(error), "The query string is not valid.") from None


def refuse_after_with_since(after: int | None, since: datetime | None) -> None:
    """Problem 400 if a query names both a position and a time to start from."""
    if after is not None and since is not None:
        both = "give either after or since, not both"
        raise invalid({"after": both, "since": both}, "The query string is not valid.")


def refuse_beyond_head(after: int | None, head: int, name: str = "after") -> None:
    """Problem 400 if ``after`` (the query's, or the header ``name``) names a position the log
    has not reached."""
    if after is not None and after > head:
        where = "query string" if name == "after" else f"{name} header"
        raise invalid(
            {name: f"is beyond the newest position, {head}"}, f"The {where} is not valid."
        )


def position_in_header(request: web.Request, name: str) -> int | None:
    """The position the header ``name`` carries, if the request sends it (400 if it is not
    one: a whole number from 0 below 2**63, sent once)."""
    given = request.headers.getall(name, [])
    if not given or given == [""]:
        return None
    position = whole_number(given[0] if len(given) == 1 else "", 0, 2**63)
    if position is None:
        rule = "must be a position: a whole number from 0, sent once"
        raise invalid({name: rule}, f"The {name} header is not valid.")
    return position


def whole_number(raw: str, low: int, below: int) -> int | None:
    """``raw`` as a number from ``low`` up to (not with) ``below``, if it is one written in
    ASCII digits ("²" and "١" pass isdigit); else None. A long one is out of range before it is
    a number (int() refuses over 4300 digits)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(below)):
        return None
    number = int(raw)
    return number if low <= number < below else None
