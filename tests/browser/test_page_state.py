"""What an impatient reader does to the page: clicks and typing that interrupt reruns never drop or swap a
choice, a typed window is the window drawn, and a zone change keeps the window's instants."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.csv as pcsv
import pytest
from playwright.sync_api import Page, expect

from bench import generate
from tests.browser.conftest import BUNDLED, ROOT, Server, running_server
from timeline import store
from timeline.ingest import ImportOptions, read_events, version_meta

WaitReady = Callable[[Page], None]
Showing = Callable[[Page], tuple[int, int]]
TOTAL = 101  # events in the bundled dataset
GENERATED = "generated-events"
GENERATED_ROWS = 200_000
# The chart's lanes subplot: its x axis (xaxis2) carries the window drawn.
X_RANGE = """() => {
  const gd = Array.from(document.querySelectorAll('.js-plotly-plot')).find((g) => g._fullLayout?.xaxis2);
  return gd ? gd._fullLayout.xaxis2.range : null;
}"""


def _save(root: Path, dataset_id: str, name: str, data: bytes, file_name: str) -> None:
    options = ImportOptions(file_name=file_name)
    result = read_events(data, options)
    meta = version_meta(result, name=name, source_file=file_name, options=options)
    store.save(result.events, result.rejects, meta, dataset_id=dataset_id, root=root, source=data)


@pytest.fixture(scope="module")
def several(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The page on a store of three datasets: one whose id sorts before the bundled one (so that it is
    the first in the dataset box), the bundled dataset, and 200,000 generated events over 60 days."""
    root = tmp_path_factory.mktemp("several-store")
    shutil.copytree(ROOT / "data" / BUNDLED, root / BUNDLED)
    acled = ROOT / "tests" / "data" / "acled_like.csv"
    _save(root, "acled-like", "ACLED-like extract", acled.read_bytes(), acled.name)
    sink = tmp_path_factory.mktemp("generated") / "events.csv"
    pcsv.write_csv(generate.table(GENERATED_ROWS, seed=7), sink)
    _save(root, GENERATED, "Generated events", sink.read_bytes(), sink.name)
    with running_server(root, tmp_path_factory.mktemp("several-server"), as_make_run=True) as server:
        yield server


def _line(page: Page) -> str:
    """The whole "Showing N of M events · times in … · filters" line, as the reader sees it."""
    line = page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"^Showing [\d,]+ of"))
    return line.first.inner_text()


@pytest.mark.parametrize("attempt", range(4))
def test_a_click_during_the_first_run_never_switches_the_dataset_or_the_zone(
    page: Page, several: Server, wait_ready: WaitReady, showing: Showing, attempt: int
) -> None:
    """Table clicked the moment it appears, then a search typed: the page keeps the linked dataset, its
    zone and the search (it used to show the first dataset, in the first zone, without the search)."""
    page.goto(f"{several.url}/?dataset={BUNDLED}&tz=Europe/Moscow")
    # Clicked the moment the tab appears: the first run is still loading the events, and the click
    # interrupts it (the old page lost its widgets' values to this in three tries of four).
    table = page.get_by_role("tab", name="Table")
    table.wait_for()
    table.click()
    page.wait_for_timeout(3000)
    search = page.get_by_label("Search text", exact=True)
    search.fill("putin")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=putin(&|$)"))
    wait_ready(page)

    found, total = showing(page)
    line = _line(page)
    assert total == TOTAL and 0 < found < TOTAL, line
    assert "times in Europe/Moscow" in line and "search: putin" in line, line
    expect(page.get_by_role("tab", name="Table", selected=True)).to_be_visible()
    expect(search).to_have_value("putin")
    # Must not happen: the first dataset or the first zone of the lists, silently.
    expect(page.get_by_text("Africa/Abidjan")).to_have_count(0)
    expect(page.get_by_text("ACLED-like extract")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"[?&]tz=Europe%2FMoscow(&|$)"))
    expect(page).to_have_url(re.compile(rf"[?&]dataset={BUNDLED}(&|$)"))


def test_impatient_clicks_and_typing_keep_every_choice(
    page: Page, several: Server, wait_ready: WaitReady, showing: Showing
) -> None:
    """Tabs, a search, a window and a zone changed within a few hundred milliseconds of each other, each
    interrupting the rerun of the one before: every choice is in the link and on the page at the end."""
    page.goto(f"{several.url}/?dataset={BUNDLED}&tz=Europe/Moscow&actor=Hamas&actor=NEXTA")
    expect(page.get_by_text(re.compile(r"Showing \d+ of 101 events"))).to_be_visible()
    page.get_by_role("tab", name="Reactions").click()
    search = page.get_by_label("Search text", exact=True)
    search.fill("attack")
    search.press("Enter")
    time.sleep(0.2)
    page.get_by_role("tab", name="Table").click()
    start = page.get_by_label("From", exact=True)
    start.fill("2024-03-22")
    start.press("Enter")
    time.sleep(0.3)
    page.get_by_role("tab", name="Casualties").click()
    time.sleep(0.1)
    page.get_by_role("tab", name="Table").click()
    wait_ready(page)

    for pattern in (
        rf"[?&]dataset={BUNDLED}(&|$)",
        r"[?&]v=[0-9a-f]{12}(&|$)",
        r"[?&]actor=Hamas&actor=NEXTA(&|$)",
        r"[?&]q=attack(&|$)",
        r"[?&]from=2024-03-22(&|$)",
        r"[?&]tz=Europe%2FMoscow(&|$)",
        r"[?&]tab=table(&|$)",
    ):
        expect(page).to_have_url(re.compile(pattern))
    line = _line(page)
    assert "times in Europe/Moscow" in line and "search: attack" in line and "Hamas, NEXTA" in line, line
    expect(search).to_have_value("attack")
    expect(start).to_have_value("2024-03-22")
    assert showing(page)[1] == TOTAL


def _type_window(page: Page, start: str, end: str) -> None:
    for label, value in (("From", start), ("To (inclusive)", end)):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        expect(page).to_have_url(re.compile(rf"[?&]{'from' if label == 'From' else 'to'}={value}(&|$)"))


@pytest.mark.parametrize(
    ("start", "end", "drawn"),
    [
        # About 3,300 single events: each drawn.
        ("2024-03-10", "2024-03-10", ("2024-03-10", "2024-03-11")),
        # About 10,000 events: counts per lane and time bin.
        ("2024-03-10", "2024-03-12", ("2024-03-10", "2024-03-13")),
    ],
)
def test_a_typed_window_is_the_window_drawn(
    page: Page,
    several: Server,
    wait_ready: WaitReady,
    showing: Showing,
    start: str,
    end: str,
    drawn: tuple[str, str],
) -> None:
    """From and To typed on 200,000 events spread over 60 days: the chart's axis runs from the first
    instant of From to the end of To, not over the anchor's ten days with the window squeezed in."""
    page.goto(f"{several.url}/?dataset={GENERATED}")
    wait_ready(page)
    _type_window(page, start, end)
    wait_ready(page)
    found, total = showing(page)
    assert total == GENERATED_ROWS and 0 < found < total
    left, right = page.evaluate(X_RANGE)
    assert (left[:10], right[:10]) == drawn and left[10:].strip("T 0:.") == right[10:].strip("T 0:.") == ""


def test_a_zone_change_keeps_the_typed_window(
    page: Page, several: Server, wait_ready: WaitReady, showing: Showing
) -> None:
    """A window typed in UTC, then the zone changed to Moscow: the same events are shown, and From and To
    now say the same instants in Moscow time (it used to re-read the typed text in the new zone)."""
    page.goto(f"{several.url}/?dataset={GENERATED}")
    wait_ready(page)
    _type_window(page, "2024-03-10", "2024-03-10")
    wait_ready(page)
    before = showing(page)
    zone = page.get_by_role("combobox", name="Display time zone")
    zone.click()
    zone.press_sequentially("Europe/Mosc")
    page.get_by_role("option", name="Europe/Moscow", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]tz=Europe%2FMoscow(&|$)"))
    wait_ready(page)
    assert showing(page) == before
    expect(page.get_by_label("From", exact=True)).to_have_value("2024-03-10T03:00")
    expect(page.get_by_label("To (inclusive)", exact=True)).to_have_value("2024-03-11T02:59")
    assert "times in Europe/Moscow" in _line(page)
    left, right = page.evaluate(X_RANGE)
    assert left.replace("T", " ").startswith("2024-03-10 03:00") and right.replace("T", " ").startswith(
        "2024-03-11 03:00"
    )


def test_copy_link_copies_in_one_click_a_link_that_pins_the_version(
    page: Page, several: Server, wait_ready: WaitReady, showing: Showing, new_page: Callable[[], Page]
) -> None:
    """One click on "Copy link" puts on the clipboard a link naming the dataset and its version (v), even
    though the page was opened without them; opened elsewhere, it shows the same events."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=several.url)
    page.goto(f"{several.url}/?tz=Europe/Moscow&type=statement")
    wait_ready(page)
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Link copied")).to_be_visible()
    link = page.evaluate("navigator.clipboard.readText()")
    assert re.search(rf"[?&]dataset={BUNDLED}(&|$)", link), link
    assert re.search(r"[?&]v=[0-9a-f]{12}(&|$)", link), link
    assert "type=statement" in link and "tz=Europe%2FMoscow" in link
    assert link == page.url
    fresh = new_page()
    fresh.goto(link)
    wait_ready(fresh)
    assert showing(fresh) == showing(page)


def test_dragging_a_box_over_cells_of_counts_shows_their_events(
    page: Page, several: Server, wait_ready: WaitReady, showing: Showing
) -> None:
    """Counts per lane and time: a box dragged over some cells narrows the view to their lanes and time
    span (the link says so), and the events inside are drawn one by one."""
    page.goto(f"{several.url}/?dataset={GENERATED}&from=2024-03-10&to=2024-03-12")
    wait_ready(page)
    before = showing(page)[0]
    expect(page.get_by_text(re.compile(r"Drag a box over cells")).first).to_be_visible()
    # A small box around the middle of the first lane's row of cells.
    label = page.locator(".js-plotly-plot .y2tick text").first.bounding_box()
    plot = page.locator(".js-plotly-plot .nsewdrag").last.bounding_box()
    assert label is not None and plot is not None
    left, middle = plot["x"] + plot["width"] * 0.3, label["y"] + label["height"] / 2
    page.mouse.move(left, middle - 6)
    page.mouse.down()
    page.mouse.move(left + plot["width"] * 0.05, middle, steps=6)
    page.mouse.move(left + plot["width"] * 0.1, middle + 6, steps=6)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"[?&]actor="))
    wait_ready(page)
    after = showing(page)[0]
    assert 0 < after < before
    assert page.evaluate(X_RANGE) is not None
    expect(page.get_by_text(re.compile(r"Drag a box over cells"))).to_have_count(0)
    actors = re.findall(r"[?&]actor=([^&]+)", page.url)
    assert len(actors) == 1, page.url


def test_choosing_the_first_row_of_who_reacted_first_opens_that_event(
    page: Page, server: str, wait_ready: WaitReady
) -> None:
    """The latency table's first row is Podolyak's statement, to the minute; choosing the row opens the
    statement's details and puts it in the link (choosing a row used to do nothing)."""
    page.goto(f"{server}/?tab=reactions&tz=Europe/Moscow")
    wait_ready(page)
    expect(page.get_by_text("Who reacted first")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    table.scroll_into_view_if_needed()
    expect(table.locator('[role="row"]').nth(1)).to_contain_text("Mykhailo Podolyak")
    box = table.bounding_box()
    assert box is not None
    # The grid draws on a canvas: its first column holds each row's selection box; rows are 35 px high.
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 / 2)
    expect(page).to_have_url(re.compile(r"[?&]event=2024-03-22-podolyak-denies-ukraine-role(&|$)"))
    wait_ready(page)
    expect(page.get_by_role("heading").filter(has_text="Podolyak").first).to_be_visible()
    expect(page.get_by_role("button", name="Close")).to_be_visible()
