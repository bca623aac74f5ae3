"""Cold open in headless Chromium: a fresh `streamlit run`, a new browser context, time to a drawn chart.

Also a search typed into the page (time until the chart is drawn again) and a time window, and the
server process's peak resident memory (VmHWM from /proc) over all of it. Everything is on 127.0.0.1,
every wait is bounded, and the server is stopped (its own process group, which this module started).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",  # WebGL still works, through SwiftShader (scattergl needs it)
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
START_S = 90.0
STOP_S = 10.0
ACTION_S = 120.0

# True once a Plotly chart that is not one of window.__benchOld has drawn its traces: SVG marks, a heatmap
# image or bars, and every WebGL (scattergl) scene drawn (plotly.js clears scene.dirty after drawing).
DRAWN = """() => {
  const old = window.__benchOld || [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const layout = gd._fullLayout, data = gd._fullData;
    if (!layout || !data || !data.length || old.includes(data)) continue;
    const scenes = Object.values(layout._plots || {}).map((p) => p && p._scene).filter(Boolean);
    if (scenes.some((s) => s.dirty)) continue;
    const marks = gd.querySelector(
      '.scatterlayer .point, .scatterlayer .js-line, .heatmaplayer image, .barlayer .point'
    );
    if (marks || scenes.length) return true;
  }
  return false;
}"""
MARK_OLD = """() => {
  window.__benchOld = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map((gd) => gd._fullData).filter(Boolean);
}"""
# Installed before the page's own scripts: when the websocket opened, the bytes of its messages and when
# the first chart element was mounted (performance.now(), ms since navigation started).
PROBE = """(() => {
  const probe = (window.__bench = { wsOpen: null, chartMounted: null, bytes: 0, messages: 0 });
  const Native = window.WebSocket;
  class Counted extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('open', () => { if (probe.wsOpen === null) probe.wsOpen = performance.now(); });
      this.addEventListener('message', (event) => {
        const data = event.data;
        probe.bytes += data.byteLength ?? data.size ?? data.length ?? 0;
        probe.messages += 1;
      });
    }
  }
  window.WebSocket = Counted;
  new MutationObserver((_, observer) => {
    if (document.querySelector('.js-plotly-plot')) {
      probe.chartMounted = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
})();"""
PROBED = "() => ({ ...window.__bench, now: performance.now() })"
ALERTS = """() => Array.from(
  document.querySelectorAll('[data-testid="stAlert"], [data-testid="stException"]')
).map((e) => e.innerText.slice(0, 300))"""


@dataclass
class App:
    """What differs between the project's page and the peer's for the browser run."""

    name: str
    script: Path
    env: dict[str, str]
    query: str
    search_label: str
    from_label: str
    to_label: str
    interact: bool = True  # type a search and a window after the cold open


def project_app(name: str, store_dir: Path, query: str) -> App:
    """The project's page served as `make run` serves it (serve.py: dashboard.py behind the security
    headers), on the store at store_dir, opened at query."""
    return App(
        name=name,
        script=ROOT / "serve.py",
        env={"TIMELINE_DATA_DIR": str(store_dir)},
        query=query,
        search_label="Search text",
        from_label="From",
        to_label="To (inclusive)",
    )


def streamlit_command(script: Path | str, port: int) -> list[str]:
    """`streamlit run script` headless on 127.0.0.1:port, without file watching or usage statistics."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether a Streamlit server at url answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except (urllib.error.URLError, OSError):
        return False


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """pid and its descendants, from /proc/<pid>/task/<tid>/children."""
    found, todo = [], [pid]
    while todo and len(found) < 1000:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                todo.extend(int(child) for child in (task / "children").read_text().split())
    return found


def peak_memory(pid: int) -> dict[str, int]:
    """Peak (VmHWM) and current (VmRSS) resident memory of the server process tree, in bytes."""
    pids = _tree(pid)
    return {
        "hwm_bytes": sum(_status_kib(p, "VmHWM") for p in pids) * 1024,
        "rss_bytes": sum(_status_kib(p, "VmRSS") for p in pids) * 1024,
        "processes": len(pids),
    }


class Server:
    """`streamlit run SCRIPT` on a free port in its own process group; a context manager that stops it."""

    def __init__(self, app: App, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = streamlit_command(app.script, self.port)
        env = {**os.environ, **app.env, "PYTHONUNBUFFERED": "1"}
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            t0 = time.perf_counter()
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + START_S
        while not healthy(self.url):
            if self.process.poll() is not None:
                raise RuntimeError(f"the server for {app.name} exited; see {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server for {app.name} did not answer within {START_S:.0f} s")
            time.sleep(0.1)
        self.start_s = time.perf_counter() - t0

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_S)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _redrawn(page: Any, action: Any, timeout_s: float) -> tuple[float, int]:
    """Seconds from action() to a newly drawn chart, and the websocket bytes received meanwhile."""
    page.evaluate(MARK_OLD)
    before = page.evaluate(PROBED)["bytes"]
    t0 = time.perf_counter()
    action()
    page.wait_for_function(DRAWN, timeout=timeout_s * 1000, polling=50)
    elapsed = time.perf_counter() - t0
    return elapsed, page.evaluate(PROBED)["bytes"] - before


def _type(page: Any, label: str, text: str) -> None:
    box = page.locator('[data-testid="stSidebar"]').get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")


def _open(browser: Any, url: str, timeout_s: float) -> float | None:
    """Open the page in a new context (empty browser cache): seconds until its chart is drawn."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(viewport=dict(VIEWPORT))
    context.add_init_script(PROBE)
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(DRAWN, timeout=timeout_s * 1000, polling=50)
        return time.perf_counter() - t0
    except PlaywrightError:
        return None
    finally:
        context.close()


def _filter_changes(page: Any, app: App, reps: int) -> dict[str, Any]:
    """Searches alternating two words, then (search still on) a from and to dates alternating two values.

    Each change is timed until the chart is drawn again; the peer never goes back to the unfiltered view,
    which costs it as much as a cold open.
    """
    found: dict[str, Any] = {}
    for key, label, values, before in (
        ("search", app.search_label, ("ceasefire", "border"), None),
        ("window", app.to_label, ("2024-03-16", "2024-03-23"), (app.from_label, "2024-03-10")),
    ):
        if before is not None:
            _redrawn(page, lambda before=before: _type(page, *before), ACTION_S)
        changes = [
            _redrawn(page, lambda v=values[k % 2], label=label: _type(page, label, v), ACTION_S)
            for k in range(reps)
        ]
        found[f"{key}_redraw_s"] = statistics.median(t for t, _ in changes)
        found[f"{key}_redraw_all_s"] = [t for t, _ in changes]
        found[f"{key}_bytes"] = max(b for _, b in changes)
    return found


def measure(
    app: App, log_dir: Path, cold_timeout_s: float, reps: int = 3, cold_opens: int = 3
) -> dict[str, Any]:
    """Cold open, searches, time windows, a second open; the server's peak memory; failures as notes.

    cold_open_s is the median of cold_opens cold opens, each on a freshly started server: one open
    varies by half a second from run to run on this machine.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {"app": app.name, "notes": []}
    if not CHROMIUM.exists():
        result["notes"].append(f"{CHROMIUM} is missing: no browser measurements")
        return result
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with Server(app, log_dir / f"{app.name}-server.log") as server:
                result["server_start_s"] = server.start_s
                result["memory_idle"] = peak_memory(server.process.pid)
                context = browser.new_context(viewport=dict(VIEWPORT))
                context.add_init_script(PROBE)
                context.set_default_timeout(ACTION_S * 1000)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)[:300]))
                try:
                    t0 = time.perf_counter()
                    page.goto(server.url + app.query, wait_until="commit", timeout=cold_timeout_s * 1000)
                    remaining = max(1.0, cold_timeout_s - (time.perf_counter() - t0))
                    page.wait_for_function(DRAWN, timeout=remaining * 1000, polling=50)
                    result["cold_open_s"] = time.perf_counter() - t0
                    result["cold_open_probe"] = page.evaluate(PROBED)
                    result["memory_after_open"] = peak_memory(server.process.pid)
                    if app.interact:
                        result.update(_filter_changes(page, app, reps))
                except PlaywrightError as exc:
                    stage = "cold open" if "cold_open_s" not in result else "filter change"
                    result["notes"].append(f"{stage} failed: {str(exc).splitlines()[0][:300]}")
                    if "cold_open_s" not in result:
                        result["cold_open_timeout_s"] = cold_timeout_s
                with contextlib.suppress(PlaywrightError):
                    result["alerts"] = page.evaluate(ALERTS)
                result["page_errors"] = errors[:5]
                context.close()
                if "cold_open_s" in result:
                    result["warm_open_s"] = _open(browser, server.url + app.query, cold_timeout_s)
                result["memory"] = peak_memory(server.process.pid)
            if "cold_open_s" in result:
                opens = [result["cold_open_s"]]
                for k in range(1, cold_opens):
                    with Server(app, log_dir / f"{app.name}-server-{k + 1}.log") as server:
                        opens.append(_open(browser, server.url + app.query, cold_timeout_s))
                drawn = [s for s in opens if s is not None]
                result["cold_open_all_s"] = opens
                if len(drawn) < len(opens):
                    result["notes"].append(
                        f"{len(opens) - len(drawn)} of {len(opens)} cold opens drew nothing"
                    )
                    result["cold_open_timeout_s"] = cold_timeout_s
                    del result["cold_open_s"]
                else:
                    result["cold_open_s"] = float(statistics.median(drawn))
        except RuntimeError as exc:
            result["notes"].append(str(exc))
        finally:
            browser.close()
    return result
