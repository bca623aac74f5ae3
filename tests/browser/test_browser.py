"""What only a browser shows: the drawn chart, the address bar, uploads, clicks and hovers on events."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chart import points, spot_in_lane

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 30_000
TOTAL = 101  # events in the bundled dataset


WaitReady = Callable[[Page], None]
Showing = Callable[[Page], tuple[int, int]]


def _no_error_page(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Something went wrong")).to_have_count(0)


def test_default_view_draws_every_lane(
    page: Page, server: str, wait_ready: WaitReady, showing: Showing
) -> None:
    """The bare URL draws the whole bundled timeline; a full-page screenshot is kept in test-artifacts/."""
    page.goto(server)
    wait_ready(page)
    assert showing(page) == (TOTAL, TOTAL)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(points(page).first).to_be_visible()

    # The main area scrolls inside the app; a viewport as tall as its content shows everything at once.
    height = page.evaluate(
        """() => Math.max(...['stMain', 'stSidebarContent', 'stSidebar']
            .map(id => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight ?? 0))"""
    )
    page.set_viewport_size({"width": 1400, "height": max(int(height) + 40, 1000)})
    wait_ready(page)
    main = page.get_by_test_id("stMain")
    assert main.evaluate("e => e.scrollHeight <= e.clientHeight + 1"), "the main area still scrolls"
    chart = page.locator(".js-plotly-plot").first.bounding_box()
    assert chart is not None and chart["y"] + chart["height"] <= page.viewport_size["height"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "default-view.png", full_page=True)

    _no_error_page(page)


def test_filters_go_into_the_url_and_a_fresh_browser_opens_the_same_view(
    page: Page, new_page: Callable[[], Page], server: str, wait_ready: WaitReady, showing: Showing
) -> None:
    """Filters picked in the sidebar land in the address bar, and that link reproduces the view elsewhere."""
    page.goto(server)
    wait_ready(page)
    actors = page.get_by_role("combobox", name="Actors", exact=True)
    actors.click()
    actors.press_sequentially("Hamas")
    # Enter would take the first option, "Select all matches" (the fuzzy search also matches Murashko).
    page.get_by_role("option", name=re.compile(r"^Hamas\b")).click()
    actors.press("Escape")
    expect(page).to_have_url(re.compile(r"[?&]actor=Hamas(&|$)"))
    start = page.get_by_label("From", exact=True)
    start.fill("2024-03-22")
    start.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]from=2024-03-22(&|$)"))
    wait_ready(page)
    expect(page).to_have_url(re.compile(r"[?&]actor=Hamas(&|$)"))
    count = showing(page)
    assert 0 < count[0] < TOTAL
    link = page.url

    fresh = new_page()
    fresh.goto(link)
    wait_ready(fresh)
    assert showing(fresh) == count
    chosen = fresh.get_by_test_id("stMultiSelect").filter(
        has=fresh.get_by_role("combobox", name="Actors", exact=True)
    )
    expect(chosen).to_contain_text("Hamas")
    expect(fresh.get_by_label("From", exact=True)).to_have_value("2024-03-22")

    expect(fresh.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    expect(fresh.get_by_text("Ignored")).to_have_count(0)


@pytest.mark.parametrize("word", ["Sikorski", "Hamas", "NEXTA", "White House", "Islamic State"])
def test_search_finds_the_reactions_the_articles_report(
    page: Page, server: str, wait_ready: WaitReady, showing: Showing, word: str
) -> None:
    """A search link for a name from the news coverage shows its events, on the timeline and in the table."""
    page.goto(f"{server}/?q={quote(word)}")
    wait_ready(page)
    found, total = showing(page)
    assert total == TOTAL

    page.goto(f"{server}/?q={quote(word)}&tab=table")
    wait_ready(page)
    assert showing(page) == (found, total)
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    # The grid draws on a canvas; its accessible table carries the cells of the rows in view.
    expect(table.locator('[role="row"]').filter(has_text=word).first).to_be_attached()

    assert found >= 1, f"q={word} found no event"


def test_upload_saves_a_dataset_and_opens_it(
    page: Page, server: str, store_dir: Path, wait_ready: WaitReady, showing: Showing
) -> None:
    """An uploaded CSV previews its counts, saves under the typed name, and the page switches to it."""
    page.goto(server)
    wait_ready(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        ROOT / "tests" / "data" / "plain_date_who_what.csv"
    )
    expect(page.get_by_text(re.compile(r"\d+ rows read"))).to_be_visible()
    name = page.get_by_label("Dataset name", exact=True)
    name.fill("browser upload")
    name.press("Enter")
    save = page.get_by_role("button", name=re.compile(r"^Save as dataset"))
    expect(save).to_contain_text("browser-upload")
    save.click()
    expect(page).to_have_url(re.compile(r"[?&]dataset=browser-upload(&|$)"))
    expect(page.get_by_text(re.compile(r"^Saved"))).to_be_visible()
    wait_ready(page)
    assert showing(page)[1] == 6  # 7 rows read, one without a date rejected
    assert (store_dir / "browser-upload").is_dir()

    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def test_clicking_an_event_shows_its_source_link(page: Page, server: str, wait_ready: WaitReady) -> None:
    """Hovering an event names its actor; clicking it opens the detail with an http(s) source link."""
    page.goto(f"{server}/?actor=Islamic%20State&tz=Europe/Moscow")
    wait_ready(page)
    x, y = spot_in_lane(page, "Islamic State")

    page.mouse.move(x, y)
    expect(page.locator(".hoverlayer .hovertext").first).to_contain_text("Islamic State")
    page.mouse.click(x, y)
    source = page.get_by_role("link", name=re.compile(r"^Open source"))
    expect(source).to_be_visible()
    expect(source).to_have_attribute("href", re.compile(r"^https?://"))

    expect(page.locator('a[href^="javascript:" i]')).to_have_count(0)


def test_a_bad_link_gives_notices_and_the_default_view(
    page: Page, server: str, wait_ready: WaitReady, showing: Showing
) -> None:
    """A link with an unknown zone, a path-like dataset and an unknown actor still renders, with notices."""
    page.goto(f"{server}/?tz=Mars/Olympus&dataset=../../etc&actor=Nobody")
    wait_ready(page)
    warnings = page.get_by_test_id("stAlertContentWarning")
    for mentioned in ("Mars/Olympus", "../../etc", "Nobody"):
        expect(warnings.filter(has_text=mentioned).first).to_be_visible()
    assert showing(page) == (TOTAL, TOTAL)

    _no_error_page(page)
