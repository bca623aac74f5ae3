"""Load: concurrent browser sessions on one local server (`python -m bench.load_test [--sessions 20]`).

Starts one `streamlit run dashboard.py` on a free loopback port over a private store (the bundled
dataset, and with --size N also N generated events, opened by the links), then N browser contexts of
one headless Chromium at once: each opens a shared link (various filters), waits for the drawn chart,
changes a filter in the sidebar and waits for the chart to be drawn again. Prints the median and 95th
percentile of both times and every error (timeouts, page errors, error boxes on the page). Bounded:
every wait has a timeout, the whole run a deadline, and the server is stopped at the end. Not part of
the test suite; timings are reported, never asserted. Needs Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench import browser, generate
from bench.browser import Server, project_app

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "load"
BUNDLED = "crocus-city-hall-2024"
GENERATED = "load-generated"
ACTION_S = 60.0  # the longest one open or one filter change may take
DEADLINE_S = 600.0  # the whole run
# Links a team would share: (query parameters, the filter then changed: sidebar label, typed value).
BUNDLED_LINKS = (
    ({}, ("Search text", "Kremlin")),
    ({"actor": "Hamas"}, ("Search text", "delegation")),
    ({"type": "statement", "tz": "Europe/Moscow"}, ("From", "2024-03-23")),
    ({"from": "2024-03-22", "to": "2024-03-23"}, ("Search text", "condolences")),
    ({"q": "moscow"}, ("To (inclusive)", "2024-03-22")),
    ({"lanes": "group"}, ("Search text", "claim")),
    ({"type": ["claim", "statement"]}, ("From", "2024-03-22T18:00")),
    ({"tz": "America/New_York", "q": "putin"}, ("Search text", "Putin address")),
)
GENERATED_LINKS = (
    ({}, ("Search text", "ceasefire")),
    ({"from": "2024-03-10", "to": "2024-03-16"}, ("Search text", "border")),
    ({"q": "strike"}, ("To (inclusive)", "2024-03-20")),
    ({"tz": "Europe/Moscow"}, ("From", "2024-04-01")),
)


@dataclass
class Session:
    """One browser session's link, timings and problems."""

    number: int
    link: str
    change: tuple[str, str]
    open_s: float | None = None
    change_s: float | None = None
    errors: list[str] = field(default_factory=list)


def _store(size: int) -> tuple[Path, list[tuple[dict, tuple[str, str]]]]:
    """A fresh store with the bundled dataset (and N generated events), and the links to open in it."""
    store_dir = OUT / "store"
    shutil.rmtree(store_dir, ignore_errors=True)
    shutil.copytree(ROOT / "data" / BUNDLED, store_dir / BUNDLED)
    links = list(BUNDLED_LINKS)
    if size:
        from timeline import store
        from timeline.ingest import ImportOptions, read_events, version_meta

        csv = generate.generate(OUT / f"events-{size}.csv", size)
        options = ImportOptions(file_name=csv.name, max_bytes=1 << 40)
        data = csv.read_bytes()
        result = read_events(data, options)
        meta = version_meta(result, name=GENERATED, source_file=csv.name, options=options)
        store.save(result.events, result.rejects, meta, dataset_id=GENERATED, root=store_dir, source=data)
        links = [({"dataset": GENERATED, **query}, change) for query, change in GENERATED_LINKS]
    return store_dir, links


async def _drawn(page, timeout_s: float) -> None:
    await page.wait_for_function(browser.DRAWN, timeout=timeout_s * 1000, polling=50)


async def _run_session(chromium, session: Session, start: asyncio.Event) -> None:
    """Open the link, wait for the chart; change the filter, wait for the chart to be drawn anew."""
    context = await chromium.new_context(viewport=dict(browser.VIEWPORT))
    context.set_default_timeout(ACTION_S * 1000)
    page = await context.new_page()
    page.on("pageerror", lambda error: session.errors.append(f"page error: {str(error)[:200]}"))
    try:
        await start.wait()
        t0 = time.perf_counter()
        await page.goto(session.link, wait_until="commit")
        await _drawn(page, ACTION_S)
        session.open_s = time.perf_counter() - t0

        label, value = session.change
        box = page.get_by_test_id("stSidebar").get_by_label(label, exact=True)
        await page.evaluate(browser.MARK_OLD)
        t0 = time.perf_counter()
        await box.fill(value)
        await box.press("Enter")
        await _drawn(page, ACTION_S)
        session.change_s = time.perf_counter() - t0
        for alert in await page.evaluate(browser.ALERTS):
            if "Something went wrong" in alert or "Traceback" in alert:
                session.errors.append(f"error box: {alert[:200]}")
    except Exception as exc:  # a session's failure is a result to report, not a reason to stop the others
        stage = "open" if session.open_s is None else "filter change"
        session.errors.append(f"{stage}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await context.close()


async def _run_all(url: str, sessions: list[Session]) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(browser.CHROMIUM), args=browser.CHROMIUM_ARGS
        )
        try:
            start = asyncio.Event()
            tasks = [asyncio.create_task(_run_session(chromium, s, start)) for s in sessions]
            await asyncio.sleep(0.5)  # every context created, then all go at once
            start.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=DEADLINE_S)
        finally:
            await chromium.close()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants, from /proc."""
    total = 0
    for each in browser._tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value at least share of the values are at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _summary(name: str, values: list[float], total: int) -> str:
    if not values:
        return f"{name:<28} no session got this far (of {total})"
    return (
        f"{name:<28} median {statistics.median(values):6.2f} s   p95 {_percentile(values, 0.95):6.2f} s   "
        f"max {max(values):6.2f} s   ({len(values)} of {total})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_test", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default 20)")
    parser.add_argument("--size", type=int, default=0, help="also generate N events and open links on them")
    args = parser.parse_args(argv)
    if not browser.CHROMIUM.exists():
        print(f"{browser.CHROMIUM} is missing: cannot run the load test", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    store_dir, links = _store(args.size)
    app = project_app("load", store_dir, "")
    with Server(app, OUT / "server.log") as server:
        sessions = []
        for n in range(args.sessions):
            query, change = links[n % len(links)]
            link = f"{server.url}/?{urlencode(query, doseq=True)}" if query else f"{server.url}/"
            sessions.append(Session(n, link, change))
        started, cpu_before = time.perf_counter(), _cpu_seconds(server.process.pid)
        try:
            asyncio.run(_run_all(server.url, sessions))
        except TimeoutError:
            print(f"the run passed its {DEADLINE_S:.0f} s deadline; unfinished sessions count as errors")
        wall = time.perf_counter() - started
        server_cpu = _cpu_seconds(server.process.pid) - cpu_before
        memory = browser.peak_memory(server.process.pid)

    opens = [s.open_s for s in sessions if s.open_s is not None]
    changes = [s.change_s for s in sessions if s.change_s is not None]
    failed = [s for s in sessions if s.errors or s.change_s is None]
    dataset = f"{GENERATED} ({args.size:,} events)" if args.size else f"{BUNDLED} (bundled)"
    print(
        f"{args.sessions} concurrent sessions, one server on 127.0.0.1, dataset {dataset}; "
        f"wall {wall:.1f} s; load average before {load:.2f}"
    )
    print(_summary("link opened -> chart drawn", opens, len(sessions)))
    print(_summary("filter changed -> redrawn", changes, len(sessions)))
    cores = os.cpu_count() or 1
    print(
        f"server: {server_cpu:.1f} CPU-seconds of the {wall * cores:.0f} that {cores} cores had "
        f"(the browsers used the rest), peak memory {memory['hwm_bytes'] / 2**20:,.0f} MiB"
    )
    print(f"sessions with errors: {len(failed)}")
    for session in failed:
        for error in session.errors or ["did not finish"]:
            print(
                f"  session {session.number} ({session.link.split('?', 1)[-1] or 'no parameters'}): {error}"
            )
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
