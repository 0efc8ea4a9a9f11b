"""Fixtures of the browser tests: a real ``run.py serve`` per module on a database of its own,
and Debian's chromium, headless, driven by Playwright; each test gets a fresh profile."""

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.browser.dashboard_kit import CHROMIUM, DESKTOP, Api, Site, open_dashboard
from tests.support import databases

TIMEOUT = 10_000  # ms for any one wait on the page


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    async with databases.throwaway(server_url, "browser") as database_url:
        site = Site(database_url, tmp_path_factory.mktemp("browser-servers"))
        try:
            await site.start()
            yield site
        finally:
            await site.stop()


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no {CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM")
    return CHROMIUM


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    expect.set_options(timeout=TIMEOUT)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile (empty storage) at a desktop width; an error in the page fails the test."""
    context = await browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    await context.close()
    assert errors == [], f"errors in the page: {errors}"


@pytest_asyncio.fixture(loop_scope="module")
async def page(context: BrowserContext, site: Site) -> Page:
    return await open_dashboard(context, site.base)


@pytest_asyncio.fixture(loop_scope="module")
async def api(site: Site) -> AsyncIterator[Api]:
    # A connection per request: a kept-alive one would be dead after the server is killed.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(base_url=site.base, connector=connector) as session:
        yield Api(session)
