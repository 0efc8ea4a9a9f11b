"""The dashboard's catalog table in a real browser: it follows the API's writes in place, its
search, sort and pages ask the API for what they show, and it fits a phone."""

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.dashboard_kit import FEED, PHONE, ROWS, Api, Site, on_a_phone, table
from tests.support.shop import unique

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def search(page: Page, text: str) -> None:
    await page.get_by_label("Name contains").fill(text)


async def test_rows_appear_change_and_disappear_as_the_api_writes_without_a_reload(
    page: Page, api: Api
) -> None:
    shelf = unique("Shelf")
    await search(page, shelf)
    await expect(page.locator("#catalog .catalog-status")).to_have_text("No Funkos match.")
    await page.evaluate("window.sameDocument = true")

    yoda = await api.create(name=f"{shelf} Baby Yoda", price=19.99, stock=12, category="star wars")
    vader = await api.create(name=f"{shelf} Darth Vader", price=24.5, stock=3)
    await expect(page.locator(ROWS)).to_have_count(2)
    assert [row[:4] for row in await table(page)] == [
        [yoda["name"], "STAR WARS", "19.99", "12"],
        [vader["name"], vader["category"], "24.50", "3"],
    ]

    await api.amend(yoda, price=17.5, stock=11)
    cells = page.locator(f'{ROWS}[data-id="{yoda["id"]}"] td')
    await expect(cells.nth(2)).to_have_text("17.50")
    await expect(cells.nth(3)).to_have_text("11")

    await api.delete(vader)
    await expect(page.locator(ROWS)).to_have_count(1)
    assert [row[0] for row in await table(page)] == [yoda["name"]]
    assert await page.evaluate("window.sameDocument") is True, "the page was reloaded"


async def test_search_sort_and_pages_show_what_the_api_answers_for_them(
    page: Page, api: Api
) -> None:
    shelf = unique("Shelf")
    for number in range(12):  # names and prices in opposite orders
        await api.create(name=f"{shelf}-{number:02}", price=100 - number, stock=number)
    names = page.locator(f"{ROWS} td.name")
    info = page.locator("#catalog .page-info")

    await search(page, shelf)
    await expect(info).to_have_text("Page 1 of 2 · 12 Funkos")
    await expect(names).to_have_text([f"{shelf}-{n:02}" for n in range(10)])

    await page.get_by_role("button", name="Price").click()  # the column: ascending first
    await expect(names.first).to_have_text(f"{shelf}-11")
    await page.get_by_role("button", name="Price").click()  # again: descending
    await expect(names.first).to_have_text(f"{shelf}-00")
    await page.get_by_label("Sort by").select_option("stock")  # still descending
    await expect(names.first).to_have_text(f"{shelf}-11")
    await page.get_by_role("button", name="Descending").click()
    await expect(names.first).to_have_text(f"{shelf}-00")

    await page.get_by_role("button", name="Next").click()
    await expect(info).to_have_text("Page 2 of 2 · 12 Funkos")
    await expect(names).to_have_text([f"{shelf}-10", f"{shelf}-11"])
    await expect(page.get_by_role("button", name="Next")).to_be_disabled()

    await search(page, f"{shelf}-1")
    await expect(info).to_have_text("Page 1 of 1 · 2 Funkos")
    await expect(names).to_have_text([f"{shelf}-10", f"{shelf}-11"])


async def test_on_a_phone_nothing_scrolls_sideways_and_names_are_shown_as_text(
    browser: Browser, site: Site, api: Api
) -> None:
    async with on_a_phone(browser, site.base) as page:
        shelf = unique("Shelf")
        markup = f'{shelf} <img src="/" onerror="window.injected = true"><b>bold</b>'
        unbroken = shelf + "W" * (100 - len(shelf))  # no space to break the line at
        await api.create(name=markup, image="https://img.example/" + "i" * 470)
        await api.create(name=unbroken, category="C" * 50)
        await search(page, shelf)

        await expect(page.locator(ROWS)).to_have_count(2)
        await expect(page.locator(FEED)).to_have_count(2)
        await expect(page.locator(f"{ROWS} td.name")).to_have_text([markup, unbroken])
        await expect(page.locator(f"{FEED} .name")).to_have_text([unbroken, markup])
        assert await page.locator("main img, main b:text('bold')").count() == 0
        assert await page.evaluate("window.injected") is None
        widths = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths == [PHONE["width"]] * 2, f"the page is wider than the phone: {widths}"
