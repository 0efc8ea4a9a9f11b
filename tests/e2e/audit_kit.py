"""What an auditor sends: a Funko's history, its state at a version, the log by position."""

from typing import Any

from aiohttp import ClientResponse

from tests.e2e.rest import Client, body_of
from tests.support.contract import ENVELOPE_KEYS, FUNKO_KEYS, RFC3339_MICROS
from tests.support.shop import EVENTS, FUNKOS, decode
from tests.support.tokens import AUDITOR

NDJSON = "application/x-ndjson"
Envelope = dict[str, Any]


def history_path(funko_id: str, version: object = None) -> str:
    path = f"{FUNKOS}/{funko_id}/history"
    return path if version is None else f"{path}/{version}"


def check_envelope(envelope: Envelope) -> None:
    """Assert the contract's auditor envelope shape (keys, kinds, time format)."""
    assert set(envelope) == set(ENVELOPE_KEYS), envelope
    assert envelope["entity"] == "FUNKOS"
    assert envelope["type"] in ("CREATE", "UPDATE", "DELETE")
    assert isinstance(envelope["position"], int) and envelope["position"] > 0
    assert isinstance(envelope["version"], int) and envelope["version"] >= 1
    assert set(envelope["data"]) == set(FUNKO_KEYS), envelope["data"]
    assert envelope["data"]["id"] == envelope["funkoId"]
    assert envelope["data"]["version"] == envelope["version"]
    assert isinstance(envelope["changes"], dict)
    assert isinstance(envelope["actor"], str) and envelope["actor"]
    assert RFC3339_MICROS.match(envelope["createdAt"]), envelope["createdAt"]


async def history(client: Client, funko_id: str) -> list[Envelope]:
    """The Funko's events as an auditor reads them (the answer must be 200)."""
    document = await body_of(await client.get(history_path(funko_id), headers=AUDITOR), 200)
    assert set(document) == {"funkoId", "events"}, document
    assert document["funkoId"] == funko_id
    events: list[Envelope] = document["events"]
    return events


async def events_page(client: Client, **query: object) -> dict[str, Any]:
    """One JSON page of GET /events (must be 200), shape checked."""
    params = {k: str(v) for k, v in query.items()}
    page: dict[str, Any] = await body_of(
        await client.get(EVENTS, params=params, headers=AUDITOR), 200
    )
    assert set(page) == {"events", "next", "head"}, page
    for envelope in page["events"]:
        check_envelope(envelope)
    return page


async def log_head(client: Client) -> int:
    """The newest position, as /events reports it."""
    head: int = (await events_page(client, limit=1))["head"]
    return head


async def walk(client: Client, after: int, upto: int, limit: int) -> list[Envelope]:
    """Every envelope in (after, upto], following `next` through JSON pages of ``limit``."""
    found: list[Envelope] = []
    while after < upto:
        page = await events_page(client, after=after, limit=limit)
        assert page["events"], f"no events after {after}, yet the head was {upto}"
        found += [e for e in page["events"] if e["position"] <= upto]
        after = page["next"]
    return found


async def open_stream(client: Client, after: int, **query: object) -> ClientResponse:
    """GET /events as NDJSON from ``after``; the caller reads (or drops) the body."""
    params = {"after": str(after), **{k: str(v) for k, v in query.items()}}
    return await client.get(EVENTS, params=params, headers={**AUDITOR, "Accept": NDJSON})


async def stream(client: Client, after: int, **query: object) -> tuple[int, list[Envelope]]:
    """The NDJSON stream from ``after``: its X-Log-Head and its envelopes, lines checked."""
    response = await open_stream(client, after, **query)
    text = await response.text()
    assert response.status == 200, f"{response.status}: {text}"
    assert response.content_type == NDJSON
    head = int(response.headers["X-Log-Head"])
    if not text:
        return head, []
    assert text.endswith("\n"), text[-200:]
    envelopes = [decode(line) for line in text[:-1].split("\n")]
    for envelope in envelopes:
        check_envelope(envelope)
    return head, envelopes
