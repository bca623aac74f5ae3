"""No script runs from data: markup and javascript: links in events are shown as text everywhere."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chart import spot_in_lane

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 30_000
DATASET = "hostile-script"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_URL = "javascript:alert(1)"
PWNED = "window.__pwned=1"  # a payload that leaves a trace even where a dialog would be swallowed
ROWS = [
    ["date", "actor", "event_type", "title", "description", "source_name", "source_url"],
    [
        "2024-03-22T17:00:00Z",
        SCRIPT,
        "attack",
        SCRIPT,
        IMG,
        "<b onmouseover=alert(1)>bold source</b>",
        JS_URL,
    ],
    [
        "2024-03-22T19:00:00Z",
        f"<img src=x onerror={PWNED}>",
        "statement",
        IMG,
        f"<script>{PWNED}</script>",
        "evil source",
        "JAVASCRIPT:alert(document.cookie)",
    ],
    [
        "2024-03-22T21:00:00Z",
        '<a href="javascript:alert(1)">link actor</a>',
        "claim",
        "<svg onload=alert(1)>",
        '<iframe src="javascript:alert(1)"></iframe>',
        f'<a href="{JS_URL}">click me</a>',
        "https://example.org/ok?q=<script>",
    ],
]


WaitReady = Callable[[Page], None]
Showing = Callable[[Page], tuple[int, int]]


@pytest.fixture(scope="module")
def hostile_dataset(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The hostile events imported into the server's store with the command line; the dataset id."""
    source = tmp_path_factory.mktemp("no-script") / "hostile.csv"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(ROWS)
    source.write_text(buffer.getvalue(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "timeline", "import", str(source), "--name", DATASET, "--json"],
        cwd=ROOT,
        env={**os.environ, "TIMELINE_DATA_DIR": str(store_dir)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["accepted"] == len(ROWS) - 1
    return report["dataset"]


def _nothing_ran(page: Page) -> None:
    """No injected element, no javascript: link, no trace of a payload having run."""
    expect(page.locator('a[href^="javascript:" i]')).to_have_count(0)
    expect(page.locator('[href*="javascript:" i], [src*="javascript:" i]')).to_have_count(0)
    expect(
        page.locator('img[src="x"], svg[onload], iframe[src^="javascript" i], [onerror], [onmouseover]')
    ).to_have_count(0)
    expect(page.locator("script").filter(has_text=re.compile(r"alert\(|__pwned"))).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None


def _open(page: Page, server: str, wait_ready: WaitReady, **params: str) -> None:
    query = "&".join(f"{key}={value}" for key, value in {"dataset": DATASET, **params}.items())
    page.goto(f"{server}/?{query}")
    wait_ready(page)


def test_timeline_hover_and_details_show_markup_as_text(
    page: Page, server: str, hostile_dataset: str, wait_ready: WaitReady, showing: Showing, browser_log
) -> None:
    """Hovering each event shows its <script> title literally; its details show every field as text."""
    _open(page, server, wait_ready)
    assert showing(page) == (3, 3)
    lanes = page.locator(".js-plotly-plot .yaxislayer-above text")
    expect(lanes.filter(has_text=SCRIPT).first).to_be_visible()  # the lane is named by the literal text

    hover = page.locator(".hoverlayer .hovertext").first
    seen = {}
    for lane in (SCRIPT, ROWS[2][1], ROWS[3][1]):  # quotes and markup shown as typed, never as entities
        # A long lane name is shortened on the axis (its start stays): the hover names it in full.
        x, y = spot_in_lane(page, lane[:24], exact=False)
        page.mouse.move(0, 0)  # leave the chart, so the next label is this lane's, not the last one
        page.mouse.move(x, y)
        expect(hover).to_contain_text(lane)  # the label names the lane's actor once it is this event's
        seen[lane] = hover.text_content() or ""
    assert SCRIPT in seen[SCRIPT] and IMG in seen[ROWS[2][1]] and "<svg onload=alert(1)>" in seen[ROWS[3][1]]
    assert not any("&quot;" in text or "&lt;" in text for text in seen.values()), seen
    expect(page.locator(".hoverlayer img, .hoverlayer script, .hoverlayer a")).to_have_count(0)

    details = page.get_by_test_id("stMain")
    heading = details.get_by_role("heading").filter(has_text=SCRIPT).first
    for _attempt in range(3):  # a click during a rerun can be lost: aim again, at most three times
        x, y = spot_in_lane(page, SCRIPT, exact=False)
        page.mouse.move(0, 0)
        page.mouse.move(x, y)
        expect(hover).to_contain_text(SCRIPT)
        page.mouse.click(x, y)
        try:
            expect(heading).to_be_visible(timeout=10_000)
            break
        except AssertionError:
            wait_ready(page)
    expect(heading).to_be_visible()
    # The description is HTML read as plain text (an image tag alone says nothing); the stored field is
    # listed as typed, as text, in the table of every field.
    expect(details.locator("[role=gridcell]").filter(has_text=IMG).first).to_be_attached()
    # javascript: is never a source link: no "Open source" button, the name is shown as text.
    expect(page.get_by_role("link", name=re.compile(r"^Open source"))).to_have_count(0)
    expect(details.get_by_text("<b onmouseover=alert(1)>bold source</b>").first).to_be_visible()

    _nothing_ran(page)
    assert browser_log.dialogs == []


def test_table_shows_markup_as_text_and_links_only_http(
    page: Page, server: str, hostile_dataset: str, wait_ready: WaitReady, browser_log
) -> None:
    """The table lists hostile titles and actors as typed in its cells and reads a description as plain
    text (its tags gone); its only source link is the https one."""
    _open(page, server, wait_ready, tab="table")
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    rows = table.locator('[role="row"]')
    for text in (SCRIPT, IMG, "<svg onload=alert(1)>", ROWS[3][1]):
        expect(rows.filter(has_text=text).first).to_be_attached()
    expect(rows.filter(has_text="<iframe")).to_have_count(0)
    expect(table.locator("a")).to_have_count(0)  # the grid draws links on its canvas, never as <a>

    _nothing_ran(page)
    assert browser_log.dialogs == []


@pytest.mark.parametrize("tab", ["reactions", "casualties", "dataset"])
def test_other_views_run_no_script(
    page: Page, server: str, hostile_dataset: str, wait_ready: WaitReady, browser_log, tab: str
) -> None:
    """The reactions, casualties and dataset views of the hostile dataset run nothing from it either."""
    _open(page, server, wait_ready, tab=tab)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    _nothing_ran(page)
    assert browser_log.dialogs == []
