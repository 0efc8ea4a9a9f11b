"""Idempotency-Key on writes: a retry gets the first answer again, and no key makes two events.

A write that carries a key is fingerprinted (method, path, JSON body as parsed, If-Match) and
its command runs with the key, which the event store records in the transaction of the event it
appends. The store refuses a key that already made an event (KeyTaken): only then, or when the
command is refused otherwise (a retry may find its Funko changed or deleted by its own first
try), is the key looked up, and a key that made an event answers with the first answer again,
rebuilt from that event, plus ``Idempotent-Replayed: true`` (422 if the fingerprint differs).
So a first try costs no lookup of its own. In a process, a duplicate waits for the first to
finish. A request that fails records nothing: it may be sent again.
"""

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from hashlib import sha256
from typing import Any
from uuid import UUID

from aiohttp import web

from domain.funko import EventType
from domain.ports import IdempotencyKey, KeyTaken, Recorded
from infrastructure.idempotency_keys import IdempotencyKeys, KeptAnswer
from web.media_types import JSON
from web.problems import Problem, as_problem, invalid

HEADER = "Idempotency-Key"
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]{1,255}")
Write = Callable[[IdempotencyKey | None], Awaitable[web.Response]]


def written(
    kind: EventType, json_text: str, version: int, funko_id: UUID, position: int
) -> web.Response:
    """A write's answer, from the event it appended: the first answer and its replays alike."""
    headers = {"X-Log-Position": str(position)}
    if kind is EventType.DELETE:
        return web.Response(status=204, headers=headers)
    headers["ETag"] = f'"{version}"'
    if kind is EventType.CREATE:
        headers["Location"] = f"/api/v1/funkos/{funko_id}"
    status = 201 if kind is EventType.CREATE else 200
    return web.Response(status=status, text=json_text, content_type=JSON, headers=headers)


def answer(kind: EventType, recorded: Recorded) -> web.Response:
    return written(kind, recorded.json, recorded.version, recorded.funko_id, recorded.position)


def _replayed(kept: KeptAnswer, key: IdempotencyKey) -> web.Response:
    if kept.fingerprint != key.fingerprint:
        raise Problem(
            422,
            "Idempotency-Key reused",
            f"The key {key.key!r} was used for another request (method, path, body or If-Match);"
            " nothing was done.",
        )
    response = written(kept.type, kept.json, kept.version, kept.funko_id, kept.position)
    response.headers["Idempotent-Replayed"] = "true"
    return response


class Retries:
    """The writes of this process that carry an Idempotency-Key, and those recorded."""

    def __init__(self, keys: IdempotencyKeys) -> None:
        self._keys = keys
        self._running: dict[tuple[str, str], asyncio.Event] = {}

    async def run(
        self, request: web.Request, owner: str, document: Any, write: Write
    ) -> web.Response:
        """``write`` (given the request's key, if it carries one), at most once per key."""
        given = key_of(request)
        if given is None:
            return await write(None)
        key = IdempotencyKey(owner, given, fingerprint(request, document))
        return await self._once(key, write)

    async def _once(self, key: IdempotencyKey, write: Write) -> web.Response:
        owned = (key.owner, key.key)
        while (running := self._running.get(owned)) is not None:
            await running.wait()  # a duplicate in this process: its outcome first
        done = self._running[owned] = asyncio.Event()
        try:
            return await write(key)
        except Exception as error:
            if not _maybe_beaten(error):
                raise
            kept = await self._keys.find(key.owner, key.key)
            if kept is None:
                raise
            return _replayed(kept, key)
        finally:
            del self._running[owned]
            done.set()


def _maybe_beaten(error: Exception) -> bool:
    """Whether an earlier request under the key (its first try, or a duplicate on another
    process) may be why a write was refused: then this request gets that one's answer, not
    the refusal. Any refusal of the client's may be: a request unlike the first under its key
    is 422, whatever else is wrong with it."""
    if isinstance(error, KeyTaken):
        return True
    refusal = as_problem(error)
    return refusal is not None and refusal.status < 500


def key_of(request: web.Request) -> str | None:
    """The request's Idempotency-Key, if it sends one; Problem 400 if it is not 1 to 255
    visible ASCII characters, or comes twice."""
    given = request.headers.getall(HEADER, [])
    if not given:
        return None
    if len(given) > 1 or not VISIBLE_ASCII.fullmatch(given[0]):
        rule = "must be 1 to 255 visible ASCII characters, sent once"
        raise invalid({HEADER: rule}, f"The {HEADER} header is not valid.")
    return given[0]


def fingerprint(request: web.Request, document: Any) -> bytes:
    """What a request asked for, as a retry must ask it again: method, path, body (as parsed
    JSON: key order, spacing and how a number is written do not count) and If-Match."""
    parts = (
        request.method,
        request.raw_path,
        _canonical(document),
        request.headers.get("If-Match", ""),
    )
    return sha256("\n".join(parts).encode()).digest()


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{_canonical(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return format(Decimal(value).normalize(), "f")
    return json.dumps(value)  # a string, true, false or null
