"""The dashboard while its server is SIGKILLed and started again on the same port: the page
says so, reconnects by itself, and its feed goes on with nothing missing and nothing twice."""

from decimal import Decimal
from uuid import UUID

import pytest
from playwright.async_api import Page, expect

from infrastructure import bootstrap
from tests.browser.dashboard_kit import FEED, ROWS, Api, Site, as_shown, event_rows, shown
from tests.support.shop import funko_fields

pytestmark = pytest.mark.asyncio(loop_scope="module")
RESTART_TIMEOUT = 20_000  # ms: the backoff's longest wait (5 s) after a start of 1–2 s


async def test_after_a_kill_and_restart_the_feed_resumes_with_nothing_missing_or_twice(
    site: Site, page: Page, api: Api
) -> None:
    connection = page.locator("#connection")
    start = await api.head()
    kept = await api.create()
    await api.amend(kept, stock=4)
    await api.create()
    await expect(page.locator(FEED)).to_have_count(3)

    await site.kill()
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    await expect(connection).to_have_text("Reconnecting…")
    # Written by another process on the same database while this one is down: only a page
    # that resumes with `after` sees these.
    async with bootstrap.running(site.database_url) as parts:
        written = funko_fields(name="Written while down", price=Decimal(5))
        await parts.service.create(written, "ops")
        await parts.service.amend(UUID(kept["id"]), {"stock": 5}, "ops")

    await site.start()
    await expect(connection).to_have_attribute("data-state", "live", timeout=RESTART_TIMEOUT)
    await expect(connection).to_have_text("Live")
    await api.delete(kept)
    await api.create()

    log = await api.log_after(start)
    assert len(log) == 7
    await expect(page.locator(FEED)).to_have_count(len(log))
    assert shown(list(reversed(await event_rows(page)))) == as_shown(log)
    live = {e["data"]["name"] for e in log if e["type"] == "CREATE"} - {kept["name"]}
    await expect(page.locator(f"{ROWS} td.name")).to_have_text(sorted(live))
