"""The server stays quick for everyone while someone imports a large file (issue 12, item 4).

A fresh session's open time (to "Showing N of M events") is measured while another session's import of
a wide file runs, against the same measure with the server idle. The import runs in a worker process at
low priority, so readers keep their share of the two cores and the server's interpreter.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import SHOWING, WAIT_S, Server
from timeline import import_job

OPENS = 5  # a median of five opens: one or two slow opens on a loaded machine do not decide
ALLOWED = 1.5  # the bound: during an import, at most 1.5 times the idle open time (printed)
IMPORTING = re.compile(r"^Reading the file")
WaitReady = Callable[[Page], None]


def _wide_file(columns: int = 2_000, rows: int = 3_000) -> bytes:
    """At the column limit, every value different: the worker reads it for half a minute on this machine."""
    header = ",".join(["date", *(f"c{n}" for n in range(1, columns))])
    lines = [header] + [
        ",".join([f"2024-03-{1 + r % 28:02d}", *(f"{r}.{n}" for n in range(1, columns))]) for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _open_seconds(new_page: Callable[[], Page], server: str) -> float:
    """How long a fresh session takes from the address to its "Showing N of M events" line."""
    page = new_page()
    started = time.perf_counter()
    page.goto(server)
    expect(page.get_by_text(SHOWING)).to_be_visible(timeout=WAIT_S * 2000)
    seconds = time.perf_counter() - started
    page.context.close()
    return seconds


def _start_import(new_page: Callable[[], Page], server: str, wide: Path, wait_ready: WaitReady) -> Page:
    """A session that uploads the wide file; returned once its import runs and the rest of its page is
    drawn (what is measured is an import, not another session drawing its charts)."""
    importer = new_page()
    importer.goto(server)
    expect(importer.get_by_text(SHOWING)).to_be_visible()
    importer.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(wide)
    expect(importer.get_by_text(IMPORTING).first).to_be_visible(timeout=WAIT_S * 2000)
    wait_ready(importer)
    return importer


def test_a_fresh_session_opens_during_a_wide_import_whose_worker_yields_the_cores(
    new_page: Callable[[], Page], server: str, streamlit_server: Server, tmp_path: Path, wait_ready: WaitReady
) -> None:
    """While another session imports a wide file, its worker runs at the lowest priority (niceness 19) and a
    fresh session opens to its "Showing N of M events" line. How much slower an open is during an import
    (the issue's bound: 1.5 times the idle open) is printed here, not asserted: a timed ratio on a shared
    2-core machine fails on load from elsewhere, and targets of speed live in the benchmarks."""
    wide = tmp_path / "wide.csv"
    wide.write_bytes(_wide_file())
    _open_seconds(new_page, server)  # the first open of a server warms its caches
    idle, during = [], []
    for _ in range(OPENS):
        importer = _start_import(new_page, server, wide, wait_ready)
        workers = _running_workers(streamlit_server.process.pid)
        assert workers, "no import worker runs"
        assert {_niceness(pid) for pid in workers} == {19}
        during.append(_open_seconds(new_page, server))
        # The measure counts only if the import ran all along.
        assert importer.get_by_text(IMPORTING).count(), (
            "the import ended before the open: make the file larger"
        )
        importer.get_by_role("button", name="Cancel the import").click()
        expect(importer.get_by_text("The import was cancelled; nothing was saved.")).to_be_visible()
        wait_ready(importer)
        idle.append(_open_seconds(new_page, server))  # the same two sessions, one page each: no import
        importer.context.close()
    ratio = statistics.median(during) / statistics.median(idle)
    print(f"open: {idle} s idle, {during} s during an import: {ratio:.2f} times (bound {ALLOWED})")


def _niceness(pid: int) -> int:
    """A process's niceness (field 19 of /proc/PID/stat)."""
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[16])


def _running_workers(server_pid: int) -> list[int]:
    """The import workers the server started that still run (a reaped or zombie process does not)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == server_pid and fields[0] != "Z" and b"timeline.import_job" in command:
            found.append(int(stat.parent.name))
    return found


def test_an_import_stops_when_its_page_is_closed(
    new_page: Callable[[], Page], server: str, streamlit_server: Server, tmp_path: Path, wait_ready: WaitReady
) -> None:
    """Closing the tab ends the session: its import is stopped (it went on for minutes before)."""
    wide = tmp_path / "wide.csv"
    wide.write_bytes(_wide_file())
    importer = _start_import(new_page, server, wide, wait_ready)
    pid = streamlit_server.process.pid
    assert _running_workers(pid), "no import worker runs"
    importer.context.close()
    deadline = time.monotonic() + import_job.DEFAULT_SESSION_GRACE_S + WAIT_S
    while _running_workers(pid):
        assert time.monotonic() < deadline, "the import went on after its page was closed"
        time.sleep(0.5)
