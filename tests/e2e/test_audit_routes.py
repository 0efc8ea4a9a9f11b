"""What auditors see of one Funko: its history, its state at any version, and who may look."""

from itertools import pairwise
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.audit_kit import NDJSON, check_envelope, events_page, history, history_path, log_head
from tests.e2e.rest import Client, body_of, create, field_error, problem, send
from tests.support.shop import EVENTS, FUNKOS, funko_fields
from tests.support.tokens import ADMIN, AUDITOR, bearer, signed_bearer

ALICE_SUB, BOB_SUB = 'alice "the buyer" ✓', "bob"
ALICE, BOB = bearer("admin", ALICE_SUB), bearer("admin", BOB_SUB)
ODD_NAME = 'Grogu "the child" \\ ✓'  # escapes the SQL-built envelope must keep
FIELDS = ("name", "price", "stock", "image", "category")


async def change(
    client: Client, method: str, path: str, writer: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """The Funko as a PATCH or PUT by ``writer`` answered it."""
    changed: dict[str, Any] = await body_of(await send(client, method, path, body, writer), 200)
    return changed


async def lived_and_died(client: Client) -> tuple[list[dict[str, Any]], str]:
    """A Funko created by Alice, amended by Bob, replaced by Alice, deleted by Bob.

    Returns the states the three changes answered (a DELETE answers nothing) and its id."""
    created = await body_of(await send(client, "POST", FUNKOS, funko_fields(), ALICE), 201)
    path = f"{FUNKOS}/{created['id']}"
    amended = await change(client, "PATCH", path, BOB, {"stock": 3, "price": 5})
    replaced = await change(client, "PUT", path, ALICE, funko_fields(name=ODD_NAME, stock=1))
    response = await send(client, "DELETE", path, None, BOB)
    assert response.status == 204
    return [created, amended, replaced], created["id"]


async def test_history_tells_every_change_in_order_with_who_made_it(client: Client) -> None:
    states, funko_id = await lived_and_died(client)
    events = await history(client, funko_id)

    for envelope in events:
        check_envelope(envelope)
        assert envelope["funkoId"] == funko_id
    assert [e["type"] for e in events] == ["CREATE", "UPDATE", "UPDATE", "DELETE"]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert all(a["position"] < b["position"] for a, b in pairwise(events))
    assert all(a["createdAt"] <= b["createdAt"] for a, b in pairwise(events))
    assert [e["actor"] for e in events] == [ALICE_SUB, BOB_SUB, ALICE_SUB, BOB_SUB]
    assert [e["data"] for e in events[:3]] == states
    assert events[2]["data"]["name"] == ODD_NAME


async def test_changes_hold_the_fields_each_event_set(client: Client) -> None:
    states, funko_id = await lived_and_died(client)
    changes = [e["changes"] for e in await history(client, funko_id)]

    assert changes[0] == {field: states[0][field] for field in FIELDS}
    assert changes[1] == {"stock": 3, "price": 5}
    assert changes[2] == {field: states[2][field] for field in FIELDS}
    assert changes[3] == {}


async def test_a_delete_shows_the_last_state_at_the_deletes_version(client: Client) -> None:
    states, funko_id = await lived_and_died(client)
    deleted = (await history(client, funko_id))[-1]["data"]

    last = states[-1]
    assert deleted["version"] == 4
    assert {k: v for k, v in deleted.items() if k not in ("version", "updatedAt")} == {
        k: v for k, v in last.items() if k not in ("version", "updatedAt")
    }
    assert deleted["updatedAt"] >= last["updatedAt"]


async def test_a_deleted_funko_keeps_its_history(client: Client) -> None:
    _, funko_id = await lived_and_died(client)
    await problem(await client.get(f"{FUNKOS}/{funko_id}"), 404)
    assert len(await history(client, funko_id)) == 4


async def test_history_shows_the_same_envelopes_as_the_log(client: Client) -> None:
    _, funko_id = await lived_and_died(client)
    for envelope in await history(client, funko_id):
        page = await events_page(client, after=envelope["position"] - 1, limit=1)
        assert page["events"] == [envelope]


async def test_history_of_an_unknown_funko_is_not_found(client: Client) -> None:
    await problem(await client.get(history_path(str(uuid4())), headers=AUDITOR), 404)
    await problem(await client.get(history_path(str(uuid4()), 1), headers=AUDITOR), 404)


@pytest.mark.parametrize("funko_id", ["nope", "123", "0000-not-a-uuid"])
async def test_history_of_a_malformed_id_is_a_bad_request(client: Client, funko_id: str) -> None:
    await problem(await client.get(history_path(funko_id), headers=AUDITOR), 400)
    await problem(await client.get(history_path(funko_id, 1), headers=AUDITOR), 400)


async def at_version(client: Client, funko_id: str, version: int) -> dict[str, Any]:
    response = await client.get(history_path(funko_id, version), headers=AUDITOR)
    state: dict[str, Any] = await body_of(response, 200)
    assert response.headers["ETag"] == f'"{version}"'
    return state


async def test_each_version_reads_as_its_event_left_it(client: Client) -> None:
    funko = await create(client)
    path = f"{FUNKOS}/{funko['id']}"
    await change(client, "PATCH", path, BOB, {"image": None, "category": "later"})
    await change(client, "PUT", path, ALICE, funko_fields(price=0.1))
    events = await history(client, funko["id"])
    live = await client.get(path)

    for envelope in events:
        assert await at_version(client, funko["id"], envelope["version"]) == envelope["data"]
    assert await at_version(client, funko["id"], 3) == await body_of(live, 200)
    assert live.headers["ETag"] == '"3"'

    await send(client, "DELETE", path)
    events = await history(client, funko["id"])
    for envelope in events:
        assert await at_version(client, funko["id"], envelope["version"]) == envelope["data"]


async def test_a_version_beyond_the_last_is_not_found(client: Client) -> None:
    funko = await create(client)
    for version in (2, 3, 2**31 - 1):
        await problem(await client.get(history_path(funko["id"], version), headers=AUDITOR), 404)
    await send(client, "DELETE", f"{FUNKOS}/{funko['id']}")
    await problem(await client.get(history_path(funko["id"], 3), headers=AUDITOR), 404)


@pytest.mark.parametrize("version", ["0", "-1", "abc", "1.5", "1e3", "+1", "١", "%20"])
async def test_a_version_must_be_a_whole_number_from_1(client: Client, version: str) -> None:
    funko = await create(client)
    await field_error(
        await client.get(history_path(funko["id"], version), headers=AUDITOR), "version"
    )


@pytest.mark.parametrize("version", [str(2**31), str(2**63), "9" * 40, "9" * 5000])
async def test_a_huge_version_is_refused_without_a_server_error(
    client: Client, version: str
) -> None:
    funko = await create(client)
    response = await client.get(history_path(funko["id"], version), headers=AUDITOR)
    assert response.status in (400, 404), await response.text()
    document = await problem(response, response.status)
    assert response.status == 404 or "version" in document.get("errors", {})


UNAUTHORIZED = {
    "no token": {},
    "garbage": {"Authorization": "Bearer not.a.token"},
    "expired": signed_bearer("auditor", ttl=-10),
    "wrong signature": signed_bearer("auditor", secret="someone-else's-" + "s" * 40),
}


async def audit_requests(client: Client, headers: dict[str, str], funko_id: str) -> list[Any]:
    """The auditor routes (the log both as JSON and as NDJSON), asked with ``headers``."""
    recent = {"after": str(max(await log_head(client) - 1, 0))}
    return [
        await client.get(history_path(funko_id), headers=headers),
        await client.get(history_path(funko_id, 1), headers=headers),
        await client.get(EVENTS, params=recent, headers=headers),
        await client.get(EVENTS, params=recent, headers={**headers, "Accept": NDJSON}),
    ]


@pytest.mark.parametrize("headers", UNAUTHORIZED.values(), ids=UNAUTHORIZED)
async def test_auditor_routes_need_a_valid_token(client: Client, headers: dict[str, str]) -> None:
    funko = await create(client)
    for funko_id in (funko["id"], str(uuid4())):
        for response in await audit_requests(client, headers, funko_id):
            await problem(response, 401)
            assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


async def test_auditor_routes_are_forbidden_to_other_roles(client: Client) -> None:
    funko = await create(client)
    for response in await audit_requests(client, signed_bearer("viewer"), funko["id"]):
        await problem(response, 403)


@pytest.mark.parametrize("headers", [AUDITOR, ADMIN], ids=["auditor", "admin"])
async def test_auditors_and_admins_may_read_the_audit_routes(
    client: Client, headers: dict[str, str]
) -> None:
    funko = await create(client)
    history_, version, page, lines = await audit_requests(client, headers, funko["id"])
    assert (await body_of(history_, 200))["events"][0]["data"] == funko
    assert await body_of(version, 200) == funko
    assert funko["id"] in {e["funkoId"] for e in (await body_of(page, 200))["events"]}
    assert lines.status == 200 and lines.content_type == NDJSON
    assert funko["id"] in await lines.text()
