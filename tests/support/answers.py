"""Asking a running server over HTTP as any client would: timed answers, and the log read
page by page as an auditor reads it."""

import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.shop import EVENTS, decode
from tests.support.tokens import AUDITOR


@dataclass(frozen=True)
class Answer:
    """What a request got: status, media type, body, and how long it took."""

    status: int
    content_type: str
    text: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.text)


async def ask(session: aiohttp.ClientSession, method: str, path: str, **options: Any) -> Answer:
    """One request through ``session``, timed; a transport error is an AssertionError."""
    started = time.monotonic()
    try:
        async with session.request(method, path, **options) as response:
            text = await response.text()
            return Answer(response.status, response.content_type, text, time.monotonic() - started)
    except (aiohttp.ClientError, TimeoutError) as error:
        elapsed = time.monotonic() - started
        raise AssertionError(f"{method} {path}: no answer in {elapsed:.1f} s ({error!r})") from None


async def events_page(session: aiohttp.ClientSession, after: int, limit: int) -> Any:
    """One page of GET /api/v1/events, as an auditor reads it (prices as exact decimals)."""
    params = {"after": after, "limit": limit}
    answer = await ask(session, "GET", EVENTS, params=params, headers=AUDITOR)
    assert answer.status == 200, answer
    return decode(answer.text)


async def events_after(session: aiohttp.ClientSession, after: int) -> list[dict[str, Any]]:
    """Every event after ``after``, page by page."""
    events: list[dict[str, Any]] = []
    while True:
        page = await events_page(session, after, 1000)
        events += page["events"]
        if page["next"] >= page["head"]:
            return events
        after = page["next"]


async def metric(session: aiohttp.ClientSession, name: str, **labels: str) -> float:
    """One sample of the server's /metrics (0 when it has none yet)."""
    answer = await ask(session, "GET", "/metrics")
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    return 0.0
