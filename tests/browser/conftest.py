"""Browser harness: one Streamlit server on a copy of the bundled data, Debian's Chromium, a page per test."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect, sync_playwright

from bench.browser import CHROMIUM_ARGS, free_port, healthy, streamlit_command  # as the benchmark does

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = "serve.py"
CHROMIUM = Path("/usr/bin/chromium")
BUNDLED = "crocus-city-hall-2024"
VIEWPORT = {"width": 1400, "height": 1000}
WAIT_S = 30.0  # the longest any single wait may take
START_S = 60.0  # the longest the server may take to answer its health check
STOP_S = 10.0  # how long the server gets to stop before it is killed
SHOWING = re.compile(r"Showing ([\d,]+) of ([\d,]+) events")
# Streamlit marks the page busy with its status widget and dims the elements of the previous run.
BUSY = '[data-testid="stStatusWidget"], [data-stale="true"]'


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the running page in headless Chromium")
    expect.set_options(timeout=WAIT_S * 1000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder is a `browser` test, skipped with the reason when Chromium is missing."""
    here = Path(__file__).parent
    missing = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: install Debian's chromium (`make test` does) to run browser tests"
    )
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(missing)


# --- the server ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private store holding a copy of the bundled dataset, so the page never writes into data/."""
    root = tmp_path_factory.mktemp("browser-store")
    shutil.copytree(ROOT / "data" / BUNDLED, root / BUNDLED)
    return root


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(the server log is empty)"


@dataclass(frozen=True)
class Server:
    """The running page: its base URL, its process and the file its output goes to."""

    url: str
    process: subprocess.Popen
    log: Path

    def state(self) -> str:
        code = self.process.poll()
        alive = "running" if code is None else f"EXITED with status {code}"
        return f"server {alive}; log {self.log}:\n{_tail(self.log)}"


@contextlib.contextmanager
def running_server(
    store: Path,
    log_dir: Path,
    *,
    as_make_run: bool = False,
    env: Mapping[str, str] | None = None,
    secrets: Path | None = None,
) -> Iterator[Server]:
    """`streamlit run serve.py` (dashboard.py behind the security headers, as `make run` starts it) on a free
    port serving the given store; stopped on leaving.

    as_make_run: with Streamlit's own defaults, as `make run` starts it (its file watcher on, which makes
    each first run slower, so that a click interrupts it as readily as on a reader's server).
    env: variables set for the server besides this process's (e.g. TIMELINE_WRITERS).
    secrets: the server's only secrets file (e.g. an [auth] section), instead of Streamlit's defaults."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_dir / "streamlit.log"
    command = streamlit_command(LAUNCHER, port)
    if as_make_run:
        command = [part for part in command if part not in ("--server.fileWatcherType", "none")]
    if secrets is not None:
        command += ["--secrets.files", str(secrets)]
    server_env = {**os.environ, **(env or {}), "TIMELINE_DATA_DIR": str(store), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(url=url, process=process, log=log)
    try:
        deadline = time.monotonic() + START_S
        while not healthy(url):
            if process.poll() is not None:
                pytest.fail(f"The Streamlit server did not start: {server.state()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(
                    f"The Streamlit server did not answer {url}/_stcore/health within {START_S:.0f} s: "
                    f"{server.state()}",
                    pytrace=False,
                )
            time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_S)


@pytest.fixture(scope="session")
def streamlit_server(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The page serving the private store of the bundled dataset; stopped after the session."""
    with running_server(store_dir, tmp_path_factory.mktemp("browser-server")) as server:
        yield server


@pytest.fixture(scope="session")
def server(streamlit_server: Server) -> str:
    """The base URL of the running page, e.g. http://127.0.0.1:PORT."""
    return streamlit_server.url


# --- the browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (a Playwright browser download does not work here)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium (`make test` does) to run browser tests"
        )
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@dataclass
class BrowserLog:
    """What the pages of one test reported: console errors, uncaught page errors and dialogs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(
            [f"console error: {e}" for e in self.console_errors]
            + [f"page error: {e}" for e in self.page_errors]
            + [f"dialog: {d}" for d in self.dialogs]
        )


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def new_page(
    browser: Browser, browser_log: BrowserLog, streamlit_server: Server, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Page]]:
    """Opens a page in a new browser context (fresh session, no shared storage) and records its problems."""
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        context = browser.new_context(viewport=dict(VIEWPORT))
        context.set_default_timeout(WAIT_S * 1000)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: message.type == "error" and browser_log.console_errors.append(message.text),
        )
        page.on("pageerror", lambda error: browser_log.page_errors.append(str(error)))

        def on_dialog(dialog: Dialog) -> None:
            browser_log.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    yield open_page
    for context in contexts:
        context.close()
    if browser_log.text():
        request.node.add_report_section("teardown", "browser", browser_log.text())
    request.node.add_report_section("teardown", "server", streamlit_server.state())
    if browser_log.dialogs:
        pytest.fail(f"A dialog opened: {browser_log.dialogs}", pytrace=False)


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """A page in its own browser context, 1400x1000."""
    return new_page()


# --- helpers ------------------------------------------------------------------------------------------


def _wait_ready(page: Page) -> None:
    """Wait until exactly one "Showing N of M events" line is shown and the page has not changed for 1 s."""
    line = page.get_by_text(SHOWING)
    crashed = page.get_by_test_id("stException")
    deadline = time.monotonic() + WAIT_S
    last, since = None, time.monotonic()
    while True:
        now = time.monotonic()
        if crashed.count():
            raise AssertionError(f"The page shows an exception box: {crashed.first.text_content()!r}")
        state = (tuple(line.all_text_contents()), page.locator(BUSY).count())
        if state != last:
            last, since = state, now
        elif len(state[0]) == 1 and state[1] == 0 and now - since >= 1.0:
            return
        if now > deadline:
            raise AssertionError(f"The page did not settle within {WAIT_S:.0f} s (showing, busy): {state}")
        time.sleep(0.1)


def _showing(page: Page) -> tuple[int, int]:
    """N and M of the "Showing N of M events" line."""
    line = page.get_by_text(SHOWING)
    expect(line).to_have_count(1, timeout=WAIT_S * 1000)
    match = SHOWING.search(line.text_content() or "")
    assert match, line.text_content()
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


@pytest.fixture
def wait_ready() -> Callable[[Page], None]:
    """wait_ready(page): the page has drawn its "Showing N of M events" line and finished running."""
    return _wait_ready


@pytest.fixture
def showing() -> Callable[[Page], tuple[int, int]]:
    """showing(page) -> (N, M) from the "Showing N of M events" line."""
    return _showing
