"""The dashboard's consumer groups panel in a real browser: with an admin token pasted in, it
lists every group's checkpoint, lag, members, events in flight and parked, refreshed every 2 s;
it says so when the token is refused or the server cannot be reached; the token is kept in the
tab's memory only."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientWebSocketResponse, WSMsgType
from playwright.async_api import Browser, Page, Request, Route, expect

from tests.browser.dashboard_kit import PHONE, READ_TABLE, Api, Site, on_a_phone
from tests.support.answers import ask
from tests.support.shop import unique
from tests.support.tokens import ADMIN, AUDITOR, CONSUMER, bearer

pytestmark = pytest.mark.asyncio(loop_scope="module")

GROUPS, ROWS, STATUS = "/api/v1/groups", "#groups tbody tr", "#groups .groups-status"
ADMIN_TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")
REFRESH = 2_000  # ms between the panel's requests
# Every place a page could keep a secret between loads, as text.
READ_KEPT = """() => JSON.stringify({
  local: Object.entries(localStorage), session: Object.entries(sessionStorage),
  cookie: document.cookie, address: location.href, history: history.state,
})"""


class Groups:
    """Consumer groups made through the API for one test, and deleted after it."""

    def __init__(self, api: Api) -> None:
        self.session = api.session
        self.made: list[str] = []

    async def create(self, name: str | None = None, **settings: Any) -> str:
        name = name or unique("group").lower()
        path = f"{GROUPS}/{name}"
        answer = await ask(self.session, "PUT", path, json=settings, headers=ADMIN)
        assert answer.status == 201, answer
        self.made.append(name)
        return name

    async def delete(self, name: str) -> None:
        answer = await ask(self.session, "DELETE", f"{GROUPS}/{name}", headers=ADMIN)
        assert answer.status == 204, answer
        self.made.remove(name)

    async def join(self, name: str) -> ClientWebSocketResponse:
        """A member of the group, as a service would connect one."""
        path = f"/ws/v1/groups/{name}?prefetch=10"
        return await self.session.ws_connect(path, headers=CONSUMER)


@pytest_asyncio.fixture(loop_scope="module")
async def groups(api: Api) -> AsyncIterator[Groups]:
    made = Groups(api)
    yield made
    for name in list(made.made):
        await made.delete(name)


async def paste(page: Page, token: str) -> None:
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Show groups").click()


def row(page: Page, name: str) -> Any:
    return page.locator(f'{ROWS}[data-name="{name}"] td')


async def received(member: ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events sent to ``member``."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            message = await member.receive()
            assert message.type is WSMsgType.TEXT, message
            got.append(json.loads(message.data))
    return got


async def test_the_panel_shows_each_groups_checkpoint_lag_members_in_flight_and_parked(
    page: Page, api: Api, groups: Groups
) -> None:
    start = await api.head()
    idle = await groups.create()
    busy = await groups.create(maxAttempts=1)
    await paste(page, ADMIN_TOKEN)
    await expect(row(page, idle)).to_have_text([idle, str(start), "0", "0", "0", "0"])
    await expect(row(page, busy)).to_have_text([busy, str(start), "0", "0", "0", "0"])

    funkos = [await api.create() for _ in range(3)]
    await api.amend(funkos[0], stock=1)
    await expect(row(page, idle)).to_have_text([idle, str(start), "4", "0", "0", "0"])
    member = await groups.join(busy)
    creates = {e["funkoId"]: e["position"] for e in await received(member, 3)}  # one per Funko
    parked = creates.pop(funkos[1]["id"])
    await member.send_json({"type": "NACK", "positions": [parked], "reason": "no"})
    await expect(row(page, busy)).to_have_text([busy, str(start), "4", "1", "2", "1"])

    await member.send_json({"type": "ACK", "positions": list(creates.values())})
    (update,) = await received(member, 1)  # the first Funko's, after its create
    await member.send_json({"type": "ACK", "positions": [update["position"]]})
    head = await api.head()
    await expect(row(page, busy)).to_have_text([busy, str(head), "0", "1", "0", "1"])
    await expect(row(page, idle)).to_have_text([idle, str(start), "4", "0", "0", "0"])
    await member.close()
    await expect(row(page, busy)).to_have_text([busy, str(head), "0", "0", "0", "1"])


async def test_a_token_not_valid_expired_or_without_the_admin_role_is_refused_on_the_page(
    page: Page, groups: Groups
) -> None:
    name = await groups.create()
    forget = page.get_by_role("button", name="Forget token")

    await paste(page, "not-a-token")
    await expect(page.locator(STATUS)).to_contain_text("Token refused: The token is not valid")
    expired = bearer("admin", ttl=-60)["Authorization"]  # pasted with its "Bearer " prefix
    await paste(page, expired)
    await expect(page.locator(STATUS)).to_have_text(
        "Token refused: The token has expired. Paste another."
    )
    await expect(forget).to_be_disabled()
    await paste(page, AUDITOR["Authorization"].removeprefix("Bearer "))
    await expect(page.locator(STATUS)).to_contain_text("needs the admin role")
    await expect(page.locator(ROWS)).to_have_count(0)
    await expect(page.locator("#groups table")).to_be_hidden()

    await paste(page, ADMIN_TOKEN)
    await expect(row(page, name).first).to_have_text(name)
    await expect(page.locator(STATUS)).to_be_hidden()
    await expect(forget).to_be_enabled()


async def test_the_token_is_kept_in_no_storage_cookie_or_address_and_a_reload_forgets_it(
    page: Page, groups: Groups
) -> None:
    name = await groups.create()
    await paste(page, ADMIN_TOKEN)
    await expect(row(page, name).first).to_have_text(name)
    await page.wait_for_timeout(REFRESH + 500)  # a refresh or two with the token

    kept = await page.evaluate(READ_KEPT)
    assert ADMIN_TOKEN not in kept, f"the token was kept: {kept}"
    assert await page.context.cookies() == []
    assert await page.get_by_label("Admin token").input_value() == ""

    await page.reload()
    await expect(page.locator(STATUS)).to_have_text(
        "Paste an admin token to see the consumer groups."
    )
    await page.wait_for_timeout(REFRESH + 500)
    await expect(page.locator(ROWS)).to_have_count(0)


async def test_forgetting_the_token_empties_the_panel_and_stops_its_requests(
    page: Page, groups: Groups
) -> None:
    name = await groups.create()
    asked: list[str | None] = []
    page.on("request", recorder(asked))
    await paste(page, ADMIN_TOKEN)
    await expect(row(page, name).first).to_have_text(name)
    await page.wait_for_timeout(REFRESH + 500)
    assert len(asked) >= 2 and set(asked) == {f"Bearer {ADMIN_TOKEN}"}, asked

    await page.get_by_role("button", name="Forget token").click()
    await expect(page.locator(ROWS)).to_have_count(0)
    asked.clear()
    await page.wait_for_timeout(REFRESH * 2)
    assert asked == [], "the panel kept asking after the token was forgotten"


def recorder(asked: list[str | None]) -> Callable[[Request], None]:
    """A listener of the page's requests: the Authorization header of each for the groups."""

    def record(request: Request) -> None:
        if request.url.endswith(GROUPS):
            asked.append(request.headers.get("authorization"))

    return record


async def test_a_deleted_group_leaves_the_list_within_a_refresh_and_none_left_says_so(
    page: Page, groups: Groups
) -> None:
    first, second = await groups.create(), await groups.create()
    await paste(page, ADMIN_TOKEN)
    await expect(page.locator(ROWS)).to_have_count(2)

    await groups.delete(first)
    await expect(page.locator(ROWS)).to_have_count(1, timeout=REFRESH + 2_000)
    await expect(row(page, second).first).to_have_text(second)
    await groups.delete(second)
    await expect(page.locator(STATUS)).to_have_text("No groups.", timeout=REFRESH + 2_000)
    await expect(page.locator("#groups table")).to_be_hidden()


async def test_an_unreachable_or_failing_server_is_said_and_the_panel_recovers(
    page: Page, groups: Groups
) -> None:
    name = await groups.create()
    await paste(page, ADMIN_TOKEN)
    await expect(row(page, name).first).to_have_text(name)

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route(f"**{GROUPS}", unreachable)
    await expect(page.locator(STATUS)).to_have_text(
        "Not up to date: the server cannot be reached. Trying again every 2 s."
    )
    await expect(row(page, name).first).to_have_text(name)  # the last list stays shown
    await page.unroute(f"**{GROUPS}")

    async def failing(route: Route) -> None:
        await route.fulfill(status=503, json={"title": "Service Unavailable"})

    await page.route(f"**{GROUPS}", failing)
    await expect(page.locator(STATUS)).to_have_text(
        "Not up to date: the server answered 503. Trying again every 2 s."
    )
    await page.unroute(f"**{GROUPS}")
    await expect(page.locator(STATUS)).to_be_hidden()
    await expect(row(page, name).first).to_have_text(name)


async def test_on_a_phone_the_groups_are_cards_and_nothing_scrolls_sideways(
    browser: Browser, site: Site, groups: Groups
) -> None:
    name = await groups.create(f"{unique('group')}-{'w' * 64}"[:64].lower())  # the longest
    async with on_a_phone(browser, site.base) as page:
        await paste(page, ADMIN_TOKEN)
        await expect(row(page, name).first).to_have_text(name)
        cells = await page.locator(ROWS).evaluate_all(READ_TABLE)
        assert cells == [[name, *cells[0][1:]]] and all(c.isdigit() for c in cells[0][1:])
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width} px"
