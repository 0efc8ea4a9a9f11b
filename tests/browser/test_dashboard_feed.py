"""The dashboard's live feed and replay in a real browser: each event shown once, with its type,
Funko, fields and position, as the auditor's log has it; across reloads too."""

import asyncio
import json
import re
from datetime import datetime, timedelta

import pytest
from playwright.async_api import BrowserContext, Page, WebSocketRoute, expect

from tests.browser.dashboard_kit import (
    FEED,
    REPLAYED,
    Api,
    Site,
    as_shown,
    event_rows,
    open_dashboard,
    shown,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
STORED = "funko-dashboard.feed"  # where the page keeps its feed and last position


async def test_each_event_shows_its_type_funko_fields_position_and_time(
    page: Page, api: Api
) -> None:
    start = await api.head()
    funko = await api.create(price=19.99, stock=12, category="star wars")
    await api.amend(funko, price=24.5, image=None)
    await api.delete(funko)

    await expect(page.locator(FEED)).to_have_count(3)
    log = await api.log_after(start)
    rows = list(reversed(await event_rows(page)))  # the feed shows the newest first
    assert shown(rows) == as_shown(log)
    assert [row["type"] for row in rows] == ["CREATE", "UPDATE", "DELETE"]
    assert [row["fields"] for row in rows] == [
        ["category STAR WARS", "price 19.99", "stock 12", f"image {funko['image']}"],
        ["price 24.50", "image none"],
        [],
    ]
    assert [row["time"] for row in rows] == [event["createdAt"] for event in log]


async def test_a_frame_delivered_again_is_shown_once(
    context: BrowserContext, site: Site, api: Api
) -> None:
    async def resend_everything(route: WebSocketRoute) -> None:
        # Between page and server, something (a proxy, an older resume point) sends each
        # event again, and every earlier one with it.
        server, sent = route.connect_to_server(), list[str | bytes]()

        def forward(frame: str | bytes) -> None:
            route.send(frame)
            if json.loads(frame)["type"] != "CAUGHT_UP":
                sent.append(frame)
                for earlier in sent:
                    route.send(earlier)

        server.on_message(forward)

    await context.route_web_socket(re.compile(r"/ws/v1/funkos"), resend_everything)
    page = await open_dashboard(context, site.base)
    start = await api.head()
    for _ in range(3):
        await api.create()

    log = await api.log_after(start)
    await expect(page.locator(f'{FEED}[data-position="{log[-1]["position"]}"]')).to_be_visible()
    assert shown(list(reversed(await event_rows(page)))) == as_shown(log)


async def test_a_reload_resumes_after_the_last_event_shown(page: Page, api: Api) -> None:
    start = await api.head()
    first = await api.create()
    await expect(page.locator(FEED)).to_have_count(1)

    dashboard = page.url
    await page.goto("about:blank")  # away: these happen while no page listens
    await api.amend(first, stock=1)
    await api.create()
    await page.goto(dashboard)
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    await expect(page.locator(FEED)).to_have_count(3)
    assert shown(list(reversed(await event_rows(page)))) == as_shown(await api.log_after(start))


async def test_a_stored_position_beyond_the_log_gives_way_to_the_log_live(
    context: BrowserContext, site: Site, api: Api
) -> None:
    # What a page last saw on another database behind the same address.
    elsewhere = {
        "position": 10**9,
        "entries": [
            {
                "position": 10**9,
                "type": "CREATE",
                "funkoId": "x",
                "name": "Elsewhere",
                "changes": {},
                "createdAt": "2026-01-01T00:00:00.000000Z",
            }
        ],
    }
    stored = f"localStorage.setItem({json.dumps(STORED)}, {json.dumps(json.dumps(elsewhere))})"
    await context.add_init_script(f"if (location.protocol === 'http:') {stored}")
    page = await open_dashboard(context, site.base)
    head = await api.head()

    await expect(page.locator("#live .notice")).to_contain_text(f"ends at #{head}")
    await expect(page.locator(FEED)).to_have_count(0)
    start = await api.head()
    await api.create()
    await expect(page.locator(FEED)).to_have_count(1)
    assert shown(await event_rows(page)) == as_shown(await api.log_after(start))


async def test_replay_from_a_date_and_time_starts_at_the_first_event_created_then_or_later(
    page: Page, api: Api
) -> None:
    start = await api.head()
    await api.create()
    await asyncio.sleep(1.1)  # the time field has whole seconds: a second between A and B
    await api.create()
    await api.create()
    await expect(page.locator(FEED)).to_have_count(3)
    log = await api.log_after(start)
    created = datetime.fromisoformat(log[1]["createdAt"])
    # The second B was created in, in the browser's local time, as its time field takes it.
    west_of_utc = await page.evaluate("new Date().getTimezoneOffset()")
    local = created.replace(microsecond=0) - timedelta(minutes=west_of_utc)
    await page.get_by_label("From position").fill("1")
    await page.get_by_label("or from a time").fill(local.strftime("%Y-%m-%dT%H:%M:%S"))
    assert await page.get_by_label("From position").input_value() == ""
    await page.get_by_role("button", name="Replay", exact=True).click()

    summary = page.locator("#replay .summary")
    await expect(summary).to_contain_text("2 events from ", timeout=10_000)
    await expect(summary).to_contain_text(f"up to #{log[-1]['position']}")
    assert shown(await event_rows(page, REPLAYED)) == as_shown(log[1:])


async def test_replay_shows_the_log_from_the_chosen_position_beside_the_live_feed(
    page: Page, api: Api
) -> None:
    start = await api.head()
    funko = await api.create()
    await api.create()
    await api.amend(funko, stock=3)
    await expect(page.locator(FEED)).to_have_count(3)
    log = await api.log_after(start)
    chosen = log[1]["position"]

    await page.get_by_label("From position").fill(str(chosen))
    await page.get_by_role("button", name="Replay", exact=True).click()

    summary = page.locator("#replay .summary")
    await expect(summary).to_contain_text(f"up to #{log[-1]['position']}")
    expected = await api.log_after(chosen - 1)
    assert shown(await event_rows(page, REPLAYED)) == as_shown(expected)
    await expect(summary).to_have_text(
        f"{len(expected)} events from #{chosen} up to #{log[-1]['position']}, "
        "the newest when you asked."
    )
    await expect(page.locator(FEED)).to_have_count(3)

    beyond = log[-1]["position"] + 5
    await page.get_by_label("From position").fill(str(beyond))
    await page.get_by_role("button", name="Replay", exact=True).click()
    await expect(summary).to_have_text(
        f"Nothing from #{beyond} yet: the newest event is #{log[-1]['position']}."
    )
    await expect(page.locator(REPLAYED)).to_have_count(0)
