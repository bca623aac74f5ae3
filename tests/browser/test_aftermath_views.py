"""The reactions and casualties views in a browser, and the exported figure opening offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 30_000
ANCHOR = "2024-03-22-attack-begins"


def _drawn(page: Page) -> None:
    """At least one chart has drawn marks (points, bars or lines) and no error box is shown."""
    expect(page.locator(".js-plotly-plot .cartesianlayer .point").first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Something went wrong")).to_have_count(0)


def _full_screenshot(page: Page, name: str) -> None:
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 1000")
    page.set_viewport_size({"width": 1400, "height": max(int(height) + 40, 1000)})
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


@pytest.mark.parametrize(
    ("query", "heading", "shot"),
    [
        (
            f"tab=reactions&axis=log&anchor={ANCHOR}&tz=Europe%2FMoscow",
            "Time zero (anchor)",
            "reactions-view.png",
        ),
        ("tab=casualties&tz=Europe%2FMoscow", "highest certainly public so far", "casualties-view.png"),
    ],
)
def test_view_renders_and_keeps_its_link(
    page: Page, server: str, wait_ready, query: str, heading: str, shot: str
) -> None:
    """Each view draws on the bundled data, and its anchor and axis stay in the address bar."""
    page.goto(f"{server}/?{query}")
    wait_ready(page)
    expect(page.get_by_text(heading).first).to_be_visible()
    _drawn(page)
    for pair in query.split("&"):
        expect(page).to_have_url(re.compile(re.escape(pair)))
    _full_screenshot(page, shot)
    # Must not happen: a notice that a link value was dropped.
    expect(page.get_by_text("Ignored")).to_have_count(0)


def test_exported_figure_opens_offline(
    page: Page, browser: Browser, server: str, wait_ready, tmp_path: Path
) -> None:
    """The downloaded HTML figure draws in a browser that may not reach any network address."""
    page.goto(f"{server}/?tab=reactions")
    wait_ready(page)
    target = tmp_path / "reactions.html"
    for attempt in range(3):  # a click during a rerun can be lost: try again, at most three times
        try:
            with page.expect_download(timeout=15_000) as download:
                page.get_by_role("button", name="Download figure (HTML)").click()
            download.value.save_as(target)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            wait_ready(page)
    assert target.stat().st_size > 3_000_000  # plotly.js is inside

    offline = browser.new_context()
    requests: list[str] = []

    def refuse(route: Route) -> None:
        if not route.request.url.startswith("file://"):
            requests.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    offline.route("**/*", refuse)
    try:
        figure = offline.new_page()
        figure.goto(target.as_uri())
        expect(figure.locator(".js-plotly-plot .cartesianlayer .point").first).to_be_visible()
        expect(figure.get_by_text("Islamic State").first).to_be_visible()
    finally:
        offline.close()
    # Must not happen: the page reaching for anything beyond its own file.
    assert requests == []
