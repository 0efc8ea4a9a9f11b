"""What the browser tests share: the server they drive, the API they write through, and what
they read off the dashboard page."""

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.support.answers import ask, events_after, events_page
from tests.support.ports import steady_port
from tests.support.servers import Servers
from tests.support.shop import FUNKOS, decode, funko_fields
from tests.support.tokens import ADMIN

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=375, height=740)
FEED, REPLAYED, ROWS = "#feed > li", "#replayed > li", "#catalog tbody tr"
Event = dict[str, Any]
Funko = dict[str, Any]
# What each event row shows, read in the page.
READ_EVENT_ROWS = """rows => rows.map(row => ({
  position: Number(row.dataset.position),
  type: row.querySelector('.type').textContent,
  name: row.querySelector('.name').textContent,
  fields: [...row.querySelectorAll('.changes > li')].map(field => field.textContent),
  time: row.querySelector('time').dateTime,
}))"""
READ_TABLE = "rows => rows.map(row => [...row.cells].map(cell => cell.textContent))"


class Site:
    """``run.py serve`` on a database of its own, on a port it keeps when killed and restarted
    (below the ephemeral range, so no outgoing connection takes it meanwhile)."""

    def __init__(self, database_url: str, logs: Path) -> None:
        self.database_url = database_url
        self.port = steady_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.servers = Servers(logs)

    async def start(self) -> None:
        await self.servers.start(self.database_url, port=self.port)

    async def kill(self) -> None:
        """SIGKILL: no close frames, no goodbye; the kernel resets the connections."""
        server = self.servers.started[-1]
        server.signal(signal.SIGKILL)
        assert await server.exited(within=5) == -signal.SIGKILL

    async def stop(self) -> None:
        await self.servers.stop()


class Api:
    """The REST API as the shop's staff (writes) and auditors (the log) call it."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def create(self, **fields: Any) -> Funko:
        answer = await ask(self.session, "POST", FUNKOS, json=funko_fields(**fields), headers=ADMIN)
        assert answer.status == 201, answer
        funko: Funko = decode(answer.text)
        return funko

    async def amend(self, funko: Funko, **fields: Any) -> None:
        path = f"{FUNKOS}/{funko['id']}"
        answer = await ask(self.session, "PATCH", path, json=fields, headers=ADMIN)
        assert answer.status == 200, answer

    async def delete(self, funko: Funko) -> None:
        answer = await ask(self.session, "DELETE", f"{FUNKOS}/{funko['id']}", headers=ADMIN)
        assert answer.status == 204, answer

    async def head(self) -> int:
        """The log's newest position."""
        head: int = (await events_page(self.session, 0, 1))["head"]
        return head

    async def log_after(self, position: int) -> list[Event]:
        """Every event after ``position``, as an auditor reads them."""
        return await events_after(self.session, position)


async def open_dashboard(context: BrowserContext, base: str) -> Page:
    """The dashboard in a new tab of ``context``, once its feed is live."""
    page = await context.new_page()
    await page.goto(f"{base}/")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return page


@asynccontextmanager
async def on_a_phone(browser: Browser, base: str) -> AsyncIterator[Page]:
    """The dashboard in a phone's browser (a touch screen, no hover), closed at the end."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        yield await open_dashboard(context, base)
    finally:
        await context.close()


async def event_rows(page: Page, selector: str = FEED) -> list[dict[str, Any]]:
    """The rows of the live feed (newest first), or of another list of events."""
    rows: list[dict[str, Any]] = await page.locator(selector).evaluate_all(READ_EVENT_ROWS)
    return rows


async def table(page: Page) -> list[list[str]]:
    """The catalog table's cells, row by row: name, category, price, stock, updated."""
    cells: list[list[str]] = await page.locator(ROWS).evaluate_all(READ_TABLE)
    return cells


def as_shown(events: list[Event]) -> list[tuple[int, str, str]]:
    """(position, type, name) of each event, as a feed row shows them."""
    return [(e["position"], e["type"], e["data"]["name"]) for e in events]


def shown(rows: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    return [(row["position"], row["type"], row["name"]) for row in rows]
