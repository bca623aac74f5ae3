"""Every text from data, file names, column headers and the link is shown as stated, in Chromium: no link,
image, formula, strike, colour, icon or emoji comes of it, and no request leaves for another host."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, BrowserContext, Page, Route

from bench.browser import free_port, healthy, streamlit_command
from tests.browser.conftest import BUSY, ROOT, START_S, STOP_S, VIEWPORT, WAIT_S, Server, running_server
from timeline import frame, store
from timeline import view as views
from timeline.ingest import ImportOptions, read_events, version_meta

WaitReady = Callable[[Page], None]
DATASET = "payloads"
SOURCE_URL = "https://source.example.org/report"  # the data's own link: the one other address allowed
HOST = "evil.example"
LABEL_CHARS = 120  # a button's label is cut to this (dashboard.LABEL_CHARS)
# Each construct Streamlit's Markdown would act on, aimed at another host where it can be.
LINK = f"[Session expired - log in again](http://{HOST}/login)"
IMAGE = f"![](http://{HOST}/i.png)"
LATEX = "$$x^2$$ and $y$"
STRIKE = "~~struck~~"
EMOJI = ":smile: :+1:"
COLOUR = ":red[alarm] :blue-background[calm]"
ICON = ":material/home: :material_warning: :streamlit:"
HTML = f"<img src=http://{HOST}/x onerror=alert(1)>"
ADDRESSES = f"http://{HOST}/bare www.example http://intranet boss@{HOST}"
MARKUP = "# big | a | **b** _c_ -> d -- e"
CODE_BREAK = f"x` [pwn](http://{HOST}/) `y"
CONSTRUCTS = (LINK, IMAGE, LATEX, STRIKE, EMOJI, COLOUR, ICON, HTML, ADDRESSES, MARKUP, CODE_BREAK)
EVERY = " ".join(CONSTRUCTS[:-1])

NAME = f"Dataset {LINK} {COLOUR}"
FILE_NAME = f"{IMAGE} {EMOJI}.csv"
DATE_HEADER = f"when {LINK} {IMAGE}"  # named in the import's notice that its dates read both ways
EXTRA_HEADER = f"note {LATEX} {COLOUR}"  # kept in `extra`
ANCHOR_ID = f"attack {CODE_BREAK}"
TITLE = f"Title {EVERY}"
DESCRIPTION = f"Text {LINK} {LATEX} {STRIKE} {EMOJI} {COLOUR} {ICON} {ADDRESSES} {MARKUP}"
ACTOR = f"Actor {COLOUR} {EMOJI}"
SILENT_ACTOR = f"Silent {IMAGE} {LATEX}"
GROUP = f"Group {ICON} www.example"
EVENT_TYPE = f"statement {STRIKE} {LATEX}"
TARGET = f"Target http://intranet boss@{HOST}"
SOURCE_NAME = f"Source {IMAGE} {HTML}"
LOCATION = f"# Place {MARKUP}"
COMMON = {
    "actor_group": GROUP,
    "target": TARGET,
    "source_name": SOURCE_NAME,
    "source_url": SOURCE_URL,
    "location": LOCATION,
}
# Every date reads both ways (day and month 12 or less): the import names the date column in a notice.
ROWS = [
    {
        DATE_HEADER: "03/04/2024 18:00",
        "event_id": ANCHOR_ID,
        "actor": ACTOR,
        "event_type": "attack",
        "title": TITLE,
        "description": DESCRIPTION,
        "fatalities": "10",
        EXTRA_HEADER: f"kept {EMOJI}",
        **COMMON,
    },
    {
        DATE_HEADER: "03/04/2024 19:30",
        "event_id": "reaction",
        "actor": ACTOR,
        "event_type": EVENT_TYPE,
        "title": f"Reaction {LINK}",
        "description": f"Said {COLOUR}",
        "fatalities": "12",
        EXTRA_HEADER: f"kept {ICON}",
        **COMMON,
    },
    {
        DATE_HEADER: "03/03/2024 10:00",
        "event_id": "before",
        "actor": SILENT_ACTOR,
        "event_type": EVENT_TYPE,
        "title": f"Earlier {IMAGE}",
        "description": HTML,
        **COMMON,
    },
]
# The page's own Markdown structure: its title, the sidebar's heading and the facts listed in the Dataset tab.
OWN_STRUCTURE = {
    "headings": ["Event Timeline", "Filters"],
    "items": [
        "Dataset id:",
        "Version:",
        "Created:",
        "Source file:",
        "Layout:",
        "Naive times read in:",
        "Saved by:",
    ],
}
# Constructs that must leave no trace in the page: links, images, formulas, strikes, colours, icons, script,
# and Markdown structure (headings, lists, tables, quotes, rules, emphasis) other than the page's own.
RENDERED = """([allowed, own]) => {
  const found = [];
  const elsewhere = (address) => {
    try {
      const url = new URL(address, location.href);
      return url.origin !== location.origin && !['data:', 'blob:'].includes(url.protocol);
    } catch (error) {
      return true;
    }
  };
  // HTML and SVG (the charts) alike: an SVG link or image names its address in href or xlink:href.
  const address = (element, name) =>
    element.getAttribute(name) ?? element.getAttributeNS('http://www.w3.org/1999/xlink', 'href');
  for (const a of document.querySelectorAll('a')) {
    const href = address(a, 'href');
    if (href !== null && elsewhere(href) && href !== allowed) found.push(`link to ${href}: ${a.textContent}`);
  }
  for (const img of document.querySelectorAll('img, image')) {
    const src = address(img, img.tagName === 'IMG' ? 'src' : 'href') || '';
    if (elsewhere(src)) found.push(`image from ${src}`);
    if (img.closest('[data-testid="stMarkdownContainer"]')) found.push(`image in text: ${img.alt}`);
  }
  const text = (element) => (element.innerText || '').trim();
  const structure =
    '[data-testid="stMarkdownContainer"] :is(h1, h2, h3, h5, h6, li, table, blockquote, hr, em)';
  const marks = [
    ['.katex, .katex-display, mjx-container, math', 'formula'],
    ['del, s, strike', 'strikethrough'],
    ['.stMarkdownColoredText, .stMarkdownColoredBackground, .stMarkdownBadge', 'colour directive'],
    ['[data-testid="stMarkdownContainer"] [role="img"]', 'icon or emoji'],
    ['[onerror], [onload], iframe, object, embed', 'live markup'],
    [structure, 'Markdown structure'],
  ];
  const isOwn = (element) =>
    own.headings.includes(text(element)) ||
    (element.tagName === 'LI' && own.items.some((label) => text(element).startsWith(label)));
  for (const [selector, what] of marks) {
    for (const element of document.querySelectorAll(selector)) {
      if (what === 'Markdown structure' && isOwn(element)) continue;
      found.push(`${what}: <${element.tagName.toLowerCase()}> ${text(element).slice(0, 60)}`);
    }
  }
  return found;
}"""
# The text of everything that renders Markdown: text, captions, alerts, headings, labels of buttons, tabs,
# radios and checkboxes.
SHOWN_TEXT = """() => Array.from(document.querySelectorAll(
  '[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"], [data-testid="stText"], '
  + '[data-testid="stAlert"], [data-testid="stLinkButton"], [data-testid="stButton"], [role="tab"]'
)).map((element) => element.innerText).join('\\n')"""
# Emoji that the shortcodes above would become: none is in the data, so none may be on the page.
EMOJI_SHOWN = re.compile("[\U0001f604\U0001f44d\u26a0]")


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(ROWS[0]))
    writer.writeheader()
    writer.writerows(ROWS)
    return out.getvalue().encode()


@dataclass
class Visit:
    """A page whose requests to any host but the app's are refused and recorded."""

    page: Page
    refused: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def payload_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The page on a store of one dataset whose every text carries Markdown, LaTeX, emoji shortcodes, colour
    directives, addresses and HTML: its events, its name, its source file's name and its column headers."""
    root = tmp_path_factory.mktemp("payload-store")
    data = _csv()
    options = ImportOptions(file_name=FILE_NAME)
    result = read_events(data, options)
    assert result.accepted == len(ROWS), result.rejects.to_pylist()
    assert any(DATE_HEADER in notice for notice in result.notices), result.notices
    meta = version_meta(result, name=NAME, source_file=FILE_NAME, options=options)
    store.save(result.events, result.rejects, meta, dataset_id=DATASET, root=root, source=data)
    with running_server(root, tmp_path_factory.mktemp("payload-server")) as server:
        yield server


@pytest.fixture
def visit(browser: Browser, payload_server: Server) -> Iterator[Callable[[dict], Visit]]:
    """visit(params) opens the page with these link parameters in a fresh browser context."""
    contexts: list[BrowserContext] = []
    origin = payload_server.url

    def open_page(params: dict) -> Visit:
        context = browser.new_context(viewport=dict(VIEWPORT))
        context.set_default_timeout(WAIT_S * 1000)
        contexts.append(context)
        page = context.new_page()
        opened = Visit(page)

        def guard(route: Route) -> None:
            address = urlsplit(route.request.url)
            if f"{address.scheme}://{address.netloc}" == origin or address.scheme in ("data", "blob"):
                route.continue_()
            else:
                opened.refused.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        page.on(
            "dialog", lambda dialog: (opened.refused.append(f"dialog {dialog.message}"), dialog.dismiss())
        )
        page.goto(f"{origin}/?{urlencode(params, doseq=True)}")
        return opened

    yield open_page
    for context in contexts:
        context.close()


def _shown(page: Page) -> str:
    """The text the reader sees where the page renders Markdown, runs of spaces as one space."""
    return " ".join(page.evaluate(SHOWN_TEXT).split())


def _assert_shown_as_stated(opened: Visit, wait_ready: WaitReady, *texts: str) -> None:
    """Each text is on the page as stated, and nothing was rendered from any text."""
    page = opened.page
    wait_ready(page)
    deadline = time.monotonic() + WAIT_S  # on a busy machine the open event may be drawn a moment later
    while True:
        shown = _shown(page)
        missing = [text for text in texts if " ".join(text.split()) not in shown]
        if not missing or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    assert not missing, f"not shown as stated: {missing}\nthe page shows: {shown[:3000]}"
    page.wait_for_timeout(500)  # images and fonts a rendered text would load have been asked for by now
    rendered = page.evaluate(RENDERED, [SOURCE_URL, OWN_STRUCTURE])
    assert not rendered, rendered
    assert not EMOJI_SHOWN.search(shown), EMOJI_SHOWN.findall(shown)
    assert not opened.refused, f"requests for other hosts: {opened.refused}"


def _stored_frame() -> pd.DataFrame:
    result = read_events(_csv(), ImportOptions(file_name=FILE_NAME))
    return frame.prepare(result.events)


def test_an_open_event_and_its_filters_are_shown_as_stated(
    visit: Callable[[dict], Visit], wait_ready: WaitReady
) -> None:
    """Timeline tab, the anchor event's details open and its actor chosen: title, caption, text, source
    button and the "Showing" line say what the data says."""
    opened = visit({"dataset": DATASET, "event": ANCHOR_ID, "actor": ACTOR})
    stated = views.describe(views.View(dataset=DATASET, actors=(ACTOR,)))
    _assert_shown_as_stated(
        opened,
        wait_ready,
        TITLE,
        ACTOR,
        "attack",
        DESCRIPTION,
        f"Open source: {SOURCE_NAME}"[:LABEL_CHARS],
        stated,
    )
    # Boxes and their lists show their options as plain text, unescaped: the dataset's name, the actors.
    page = opened.page
    assert page.get_by_label("Dataset", exact=True).input_value() == f"{NAME} ({DATASET})"
    page.get_by_label("Actor groups", exact=True).click()
    options = page.get_by_role("option").all_inner_texts()
    assert f"{GROUP} (3)" in options, options
    assert not page.evaluate(RENDERED, [SOURCE_URL, OWN_STRUCTURE])


def test_the_reactions_tab_shows_the_anchor_and_the_silent_as_stated(
    visit: Callable[[dict], Visit], wait_ready: WaitReady
) -> None:
    """The anchor's caption holds its title and its id (a backtick in it breaks no code span), and the
    actors who did not react are named as stated."""
    opened = visit({"dataset": DATASET, "tab": "reactions", "anchor": ANCHOR_ID, "event": "reaction"})
    _assert_shown_as_stated(opened, wait_ready, TITLE, ANCHOR_ID, SILENT_ACTOR, f"Reaction {LINK}")


@pytest.mark.parametrize("tab", ["casualties", "table"])
def test_the_casualties_and_table_tabs_render_nothing_from_the_data(
    visit: Callable[[dict], Visit], wait_ready: WaitReady, tab: str
) -> None:
    """Charts, tables and the open event's details of the other tabs: nothing rendered, nothing fetched."""
    opened = visit({"dataset": DATASET, "tab": tab, "event": "reaction"})
    _assert_shown_as_stated(opened, wait_ready, f"Reaction {LINK}", f"{ACTOR} · {EVENT_TYPE}")


def test_the_dataset_tab_shows_name_file_and_import_notices_as_stated(
    visit: Callable[[dict], Visit], wait_ready: WaitReady
) -> None:
    """The dataset's name, its source file's name and the notice naming a column header, as stated."""
    opened = visit({"dataset": DATASET, "tab": "dataset"})
    notice = next(n for n in read_events(_csv(), ImportOptions()).notices if DATE_HEADER in n)
    _assert_shown_as_stated(opened, wait_ready, NAME, FILE_NAME, notice)


def test_link_parameters_are_echoed_as_stated(visit: Callable[[dict], Visit], wait_ready: WaitReady) -> None:
    """Every parameter of a link carrying payloads is named in a notice as stated, and none renders."""
    payloads = {
        "actor": [IMAGE, ACTOR],
        "group": LINK,
        "type": LATEX,
        "react": [COLOUR, EMOJI],
        "anchor": CODE_BREAK,
        "event": ICON,
        "tab": HTML,
        "tz": ADDRESSES,
        "from": STRIKE,
        "to": MARKUP,
        "lanes": EMOJI,
        "axis": COLOUR,
        "by": ICON,
        "raxis": LINK,
        "toll": IMAGE,
        "v": "http://intranet",
    }
    opened = visit({"dataset": DATASET, **payloads})
    read, notices = views.from_query({k: v if isinstance(v, list) else [v] for k, v in payloads.items()})
    _, dropped = views.reconcile(
        dataclasses.replace(read, dataset=DATASET), views.Present.of_frame(_stored_frame())
    )
    assert len(notices) + len(dropped) >= 12, (notices, dropped)
    _assert_shown_as_stated(
        opened, wait_ready, *notices, *dropped, views.describe(views.View(actors=(ACTOR,)))
    )


# Any text, as the page writes it (literal_markdown), read back from Chromium: markdown, caption, alert and
# the labels of a button, a checkbox and an expander.
ROUND_TRIP_APP = """
import json, os, sys
sys.path.insert(0, {root!r})
import streamlit as st
from timeline.richtext import literal_markdown

for number, text in enumerate(json.loads(open(os.environ["TEXTS_FILE"], encoding="utf-8").read())):
    shown = literal_markdown(text)
    with st.container(key=f"text-{{number}}"):
        st.markdown(shown)
        st.caption(shown)
        st.warning(shown)
        st.button(shown, key=f"button-{{number}}")
        st.checkbox(shown, key=f"checkbox-{{number}}")
        st.expander(shown)
"""
# Per text: what each place shows, and what its alert shows as a whole (an alert shows a leading emoji as
# its icon, apart from the rest: Streamlit's rule for alerts, whatever the Markdown).
READ_BACK = """(count) => Array.from({length: count}, (_, number) => {
  const box = document.querySelector(`.st-key-text-${number}`);
  if (!box) return null;
  const places = Array.from(box.querySelectorAll(
    '[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"]'
  )).filter((element) => !element.closest('[data-testid="stAlert"]'));
  const alert = box.querySelector('[data-testid="stAlert"]');
  return {places: places.map((element) => element.innerText), alert: alert ? alert.innerText : null};
})"""
# Text built from what Markdown and its plugins act on, and from any printable character.
PIECES = [
    *"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \n\tahpstwxy1",
    "://",
    "www.",
    "http",
    "smile",
    "red[",
    "material",
]
ANY_TEXT = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Co", "Cn", "Zl", "Zp"]), max_size=40
    ),
)
TEXTS_PER_PAGE = 60


def _lines(text: str) -> list[str]:
    """Text as a page shows it, line by line: runs of spaces as one, no space at either end of a line."""
    return [" ".join(line.split()) for line in text.strip(" \t\r\n").split("\n")]


@contextlib.contextmanager
def _streamlit(script: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run script` on a free port; its base URL, stopped on leaving."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            streamlit_command(script, port),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_S
        while not healthy(url):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_S)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A page that writes the texts of a JSON file as the dashboard writes data; its URL and the file."""
    folder = tmp_path_factory.mktemp("round-trip")
    script, texts = folder / "texts_page.py", folder / "texts.json"
    script.write_text(ROUND_TRIP_APP.format(root=str(ROOT)))
    texts.write_text("[]")
    with _streamlit(script, {"TEXTS_FILE": str(texts)}, folder / "streamlit.log") as url:
        yield url, texts


@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure lists every text that failed
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(texts=st.lists(ANY_TEXT, min_size=TEXTS_PER_PAGE, max_size=TEXTS_PER_PAGE))
def test_any_text_reads_back_as_itself(
    browser: Browser, round_trip: tuple[str, Path], texts: list[str]
) -> None:
    """What Chromium shows of any text written by the page's escape (innerText) is that very text: the same
    characters, line breaks where it breaks lines; only runs of spaces are one, as a page shows them. (An
    alert is read whole, spaces aside: Streamlit shows a leading emoji as its icon.)"""
    url, texts_file = round_trip
    texts = [*texts[: TEXTS_PER_PAGE - len(CONSTRUCTS)], *CONSTRUCTS]
    texts_file.write_text(json.dumps(texts), encoding="utf-8")
    context = browser.new_context(viewport=dict(VIEWPORT))
    try:
        page = context.new_page()
        page.goto(url)
        # Drawn: the last text's last place is there and the run is over.
        page.locator(f".st-key-text-{len(texts) - 1} [data-testid='stExpander']").wait_for()
        page.wait_for_function(f"() => !document.querySelector('{BUSY}')")
        page.wait_for_timeout(1000)  # the plugins a text would need (emoji, KaTeX) load after the first paint
        read_back = page.evaluate(READ_BACK, len(texts))
        rendered = page.evaluate(RENDERED, [SOURCE_URL, OWN_STRUCTURE])
    finally:
        context.close()
    read = list(zip(texts, read_back, strict=True))
    wrong = [
        (text, shown) for text, back in read for shown in back["places"] if _lines(shown) != _lines(text)
    ]
    wrong += [
        (text, back["alert"])
        for text, back in read
        if "".join(back["alert"].split()) != "".join(text.split())
    ]
    assert not wrong, wrong[:10]
    # Five places besides the alert (an empty button label has no text element): none was left out.
    left_out = [(text, back) for text, back in read if _lines(text) != [""] and len(back["places"]) != 5]
    assert not left_out, left_out
    assert not rendered, rendered
