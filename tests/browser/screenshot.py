"""Writes the README's picture of the dashboard, only when run:
``.venv/bin/python -m tests.browser.screenshot docs/dashboard.png``.

A ``run.py serve`` on a throwaway database (on DATABASE_URL's server, else the embedded one),
some Funkos written and changed through the API while the page watches, and one replay.
"""

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Page, async_playwright, expect

from infrastructure.database import embedded_url
from tests.browser.dashboard_kit import CHROMIUM, DESKTOP, FEED, Api, Site, open_dashboard
from tests.support import databases

FUNKOS: list[dict[str, Any]] = [
    {"name": "Baby Yoda", "price": 19.99, "stock": 12, "category": "star wars"},
    {"name": "Darth Vader", "price": 24.5, "stock": 3, "category": "star wars"},
    {"name": "Groot", "price": 14.0, "stock": 40, "category": "marvel"},
    {"name": "Iron Man", "price": 21.99, "stock": 8, "category": "marvel"},
    {"name": "Hermione Granger", "price": 17.5, "stock": 15, "category": "harry potter"},
    {"name": "Pikachu", "price": 12.99, "stock": 0, "category": "pokemon"},
]


async def stage(page: Page, api: Api) -> None:
    created = [await api.create(**fields, image=None) for fields in FUNKOS]
    await api.amend(created[1], price=22.5, stock=7)
    await api.amend(created[5], stock=25)
    await api.delete(created[2])
    await expect(page.locator(FEED)).to_have_count(len(FUNKOS) + 3)
    await page.get_by_label("From position").fill("6")
    await page.get_by_role("button", name="Replay", exact=True).click()
    await expect(page.locator("#replay .summary")).to_contain_text("the newest when you asked")
    await page.wait_for_timeout(1600)  # the highlight of changed rows fades


async def main(target: Path) -> None:
    server_url = os.environ.get("DATABASE_URL") or embedded_url()
    async with databases.throwaway(server_url, "screenshot") as database_url:
        site = Site(database_url, Path(tempfile.mkdtemp()))
        try:
            await site.start()
            async with (
                aiohttp.ClientSession(base_url=site.base) as session,
                async_playwright() as pw,
            ):
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                context = await browser.new_context(viewport=DESKTOP, color_scheme="light")
                page = await open_dashboard(context, site.base)
                await stage(page, Api(session))
                await page.screenshot(path=target, full_page=True)
                await browser.close()
        finally:
            await site.stop()
    print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png")))
