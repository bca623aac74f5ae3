"""The security headers in Chromium: on every response, obeyed (no frame holds the page), and never in the
way (every view, a WebGL chart, an upload, a download and "Copy link" run without a policy violation)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator

import pyarrow.csv as pcsv
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from bench import generate
from bench.browser import DRAWN
from tests.browser.conftest import BUNDLED, ROOT, WAIT_S, Server, running_server
from timeline import bundled, server, store
from timeline.ingest import ImportOptions, read_events, version_meta

WaitReady = Callable[[Page], None]
WEBGL = "webgl-events"
WEBGL_ROWS = 3_000  # above figures._WEBGL_FROM point events, below figures.MAX_EVENTS: drawn with WebGL
REQUIRED = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "permissions-policy",
)
# Reports every violation of the page's policy to the test, from every document the context opens.
REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(
  `${e.effectiveDirective} blocked ${e.blockedURI || 'inline code'} at ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture(scope="module")
def webgl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The page, started as `make run` starts it, on the bundled dataset and 3,000 generated events."""
    root = tmp_path_factory.mktemp("headers-store")
    shutil.copytree(ROOT / "data" / BUNDLED, root / BUNDLED)
    sink = tmp_path_factory.mktemp("headers-generated") / "events.csv"
    pcsv.write_csv(generate.table(WEBGL_ROWS, seed=3), sink)
    options = ImportOptions(file_name=sink.name)
    data = sink.read_bytes()
    result = read_events(data, options)
    meta = version_meta(result, name="Generated for WebGL", source_file=sink.name, options=options)
    store.save(result.events, result.rejects, meta, dataset_id=WEBGL, root=root, source=data)
    with running_server(root, tmp_path_factory.mktemp("headers-server")) as running:
        yield running


@pytest.fixture
def violations(page: Page) -> list[str]:
    """Every Content-Security-Policy violation the page's documents report, as the page goes."""
    found: list[str] = []
    context: BrowserContext = page.context
    context.expose_function("__cspViolation", lambda report: found.append(report))
    context.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and found.append(f"console: {message.text}")
        ),
    )
    return found


def _drawn(page: Page) -> None:
    page.evaluate("() => { window.__benchOld = []; }")
    page.wait_for_function(DRAWN, timeout=WAIT_S * 1000)


def test_every_response_and_the_websocket_handshake_carry_the_headers(
    page: Page, webgl_server: Server, wait_ready: WaitReady
) -> None:
    """The page, its scripts, styles and fonts, Streamlit's own endpoints and the websocket handshake: every
    answer the browser gets from the server carries the policy's headers."""
    expected = {name.lower(): value for name, value in server.security_headers({}).items()}
    seen: dict[str, dict[str, str]] = {}
    page.on("response", lambda response: seen.setdefault(response.url, response.all_headers()))
    handshakes: list[dict[str, str]] = []
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.webSocketHandshakeResponseReceived", lambda event: handshakes.append(event["response"]))

    page.goto(webgl_server.url)
    wait_ready(page)
    _drawn(page)

    ours = {url: headers for url, headers in seen.items() if url.startswith(webgl_server.url)}
    kinds = {re.sub(r"\?.*", "", url).rsplit(".", 1)[-1] for url in ours}
    assert {"js", "css", "woff2"} <= kinds and f"{webgl_server.url}/" in ours, sorted(ours)
    missing = {
        url: [name for name in REQUIRED if headers.get(name) != expected[name]]
        for url, headers in ours.items()
    }
    assert not {url: names for url, names in missing.items() if names}
    assert handshakes, "the page opened no websocket"
    for handshake in handshakes:
        headers = {name.lower(): value for name, value in handshake["headers"].items()}
        assert {name: headers.get(name) for name in REQUIRED} == {name: expected[name] for name in REQUIRED}


def test_no_other_page_can_frame_the_dashboard(page: Page, webgl_server: Server) -> None:
    """A page of another origin that puts the dashboard in a frame gets Chromium's refusal, not the page."""
    refusals: list[str] = []
    page.on("console", lambda message: "frame-ancestors" in message.text and refusals.append(message.text))
    page.set_content(f'<iframe src="{webgl_server.url}/" width="800" height="600"></iframe>')
    frame = page.frame_locator("iframe")
    page.wait_for_timeout(3000)
    expect(frame.get_by_text(re.compile(r"Showing \d+ of"))).to_have_count(0)
    assert refusals, "Chromium reported no frame-ancestors refusal"


def test_every_view_upload_download_and_copy_link_run_with_no_policy_violation(
    page: Page, webgl_server: Server, wait_ready: WaitReady, violations: list[str]
) -> None:
    """Under the policy the whole page works as without it: every tab draws, a WebGL timeline draws, an event
    opens, a CSV upload is read, a download arrives, "Copy link" copies; and Chromium reports no violation."""
    url = webgl_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    for tab in ("timeline", "reactions", "casualties"):
        page.goto(f"{url}/?tab={tab}")
        wait_ready(page)
        _drawn(page)
    # Plotly's own PNG export draws the chart into an image first.
    page.locator(".js-plotly-plot").first.hover()
    with page.expect_download(timeout=WAIT_S * 1000) as png:
        page.locator('.modebar-btn[data-title="Download plot as a PNG"]').first.click()
    assert png.value.suggested_filename.endswith(".png")

    for tab, shown in (("table", "stDataFrame"), ("dataset", "stDataFrame")):
        page.goto(f"{url}/?tab={tab}")
        wait_ready(page)
        expect(page.get_by_test_id(shown).first).to_be_visible()

    page.goto(f"{url}/?dataset={WEBGL}")
    wait_ready(page)
    _drawn(page)
    # scattergl draws on canvases; if WebGL cannot compile its code, Plotly draws nothing, not even lanes.
    expect(page.locator(".js-plotly-plot canvas").first).to_be_attached()
    expect(page.locator(".js-plotly-plot .yaxislayer-above text").first).to_be_visible()

    page.goto(f"{url}/?event={bundled.ANCHOR}")
    wait_ready(page)
    expect(page.get_by_role("link", name=re.compile(r"^Open source")).first).to_be_visible()

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        ROOT / "tests" / "data" / "plain_date_who_what.csv"
    )
    expect(page.get_by_text(re.compile(r"\d+ rows read"))).to_be_visible()

    page.goto(f"{url}/?tab=table")
    wait_ready(page)
    # The download is a link to the server's streamed route, with the view's parameters.
    href = page.get_by_role("link", name="Download CSV").get_attribute("href")
    answer = page.request.get(href)
    assert answer.status == 200
    assert re.fullmatch(
        r'attachment; filename="[a-z0-9-]+-filtered\.csv"', answer.headers["content-disposition"]
    )
    assert answer.text().startswith('"event_id","timestamp",')

    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Link copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == page.url

    assert violations == []
