"""The catalog table with the longest names the API allows (100 characters, none of them a
space): at a laptop's width prices, stock and dates stay on one line, headers stay whole, and a
long name keeps to its own column, shown in full on hover; a touch screen shows it whole."""

from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.browser.dashboard_kit import PHONE, ROWS, Api, Site, on_a_phone
from tests.support.shop import unique

pytestmark = pytest.mark.asyncio(loop_scope="module")

LAPTOP = ViewportSize(width=1280, height=800)
LONGEST_NAME, LONGEST_CATEGORY = 100, 50
# Each cell and header as laid out: the most lines any of its texts fills (a text has a box per
# line), and whether its content is wider than the cell itself.
READ_LAYOUT = """cells => cells.map(cell => {
  const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let lines = 0;
  while (texts.nextNode()) {
    range.selectNodeContents(texts.currentNode);
    lines = Math.max(lines, range.getClientRects().length);
  }
  return {
    text: cell.textContent, lines, title: cell.getAttribute('title'),
    overflows: cell.scrollWidth > cell.clientWidth,
  };
})"""
# Nothing in the cell clips what it holds: no part of the name is hidden.
HIDES_NOTHING = """cell => [cell, ...cell.querySelectorAll('*')].every(box =>
  box.scrollHeight <= box.clientHeight && box.scrollWidth <= box.clientWidth)"""


def unbroken(prefix: str, length: int = LONGEST_NAME) -> str:
    """A name of ``length`` characters with nowhere to break the line."""
    return prefix + "W" * (length - len(prefix))


async def shelve_long_names(page: Page, api: Api) -> list[str]:
    """Funkos with the longest names and the widest numbers, beside a short-named one, shown in
    the catalog at a laptop's width; their names, as the table sorts them."""
    await page.set_viewport_size(LAPTOP)
    shelf = unique("Shelf")
    names = [unbroken(f"{shelf}A"), unbroken(f"{shelf}B<b>bold</b>"), unbroken(f"{shelf}C")]
    await api.create(name=names[0], price=1.5, stock=1_000_000, category="C" * LONGEST_CATEGORY)
    await api.create(name=names[1], price=999_999.99, stock=1_000_000)
    await api.create(name=names[2], price=1.5, stock=0)
    await api.create(name=f"{shelf}D Groot", price=14, stock=40)
    names.append(f"{shelf}D Groot")
    await page.get_by_label("Name contains").fill(shelf)
    await expect(page.locator(f"{ROWS} td.name")).to_have_text(names)
    return names


async def layout(page: Page, selector: str) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = await page.locator(selector).evaluate_all(READ_LAYOUT)
    return cells


async def test_at_a_laptops_width_long_names_leave_prices_stock_and_dates_on_one_line(
    page: Page, api: Api
) -> None:
    await shelve_long_names(page, api)

    for index, column in enumerate(("price", "stock", "updated"), start=3):
        cells = await layout(page, f"{ROWS} td:nth-child({index})")
        assert [(c["lines"], c["overflows"]) for c in cells] == [(1, False)] * 4, (
            f"{column} breaks or spills: {cells}"
        )
    prices = await page.locator(f"{ROWS} td:nth-child(3)").all_text_contents()
    assert prices == ["1.50", "999999.99", "1.50", "14.00"]
    headers = await layout(page, "#catalog thead th")
    assert [(h["text"], h["lines"], h["overflows"]) for h in headers] == [
        (h["text"], 1, False) for h in headers
    ], f"a header breaks or spills: {headers}"
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= LAPTOP["width"], f"the page scrolls sideways: {width} px"


async def test_a_long_name_keeps_to_its_column_and_shows_in_full_on_hover(
    page: Page, api: Api
) -> None:
    names = await shelve_long_names(page, api)

    cells = await layout(page, f"{ROWS} td.name")
    assert [(c["text"], c["title"], c["overflows"]) for c in cells] == [
        (name, name, False) for name in names
    ], f"a name spills out of its cell or lacks its tooltip: {cells}"
    categories = await layout(page, f"{ROWS} td:nth-child(2)")
    assert not any(c["overflows"] for c in categories), f"a category spills: {categories}"
    assert await page.locator("main b:text('bold')").count() == 0, "a name was parsed as HTML"


async def test_on_a_touch_screen_with_no_hover_a_long_name_is_shown_whole(
    browser: Browser, site: Site, api: Api
) -> None:
    async with on_a_phone(browser, site.base) as page:
        shelf = unique("Shelf")
        await api.create(name=unbroken(shelf), price=999_999.99, stock=1_000_000)
        await page.get_by_label("Name contains").fill(shelf)

        name = page.locator(f"{ROWS} td.name")
        await expect(name).to_have_text([unbroken(shelf)])
        assert await name.evaluate(HIDES_NOTHING), "part of the name is hidden"
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width} px"
