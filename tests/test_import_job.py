"""An import as a job (timeline.import_job), without Streamlit: its result, progress, cancel, time limit,
failures, and that its worker and files go away whenever it ends or is dropped."""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from timeline import bundled, import_job, store
from timeline.errors import BadInputError, TimelineError, UsageError
from timeline.import_job import ImportJob, JobState
from timeline.ingest import ImportOptions, read_events

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
WAIT_S = 60.0  # the longest a job of a small file may take on a loaded machine


def _slow_file(columns: int = 2_000, rows: int = 3_000) -> bytes:
    """A file that takes the worker several seconds to read: wide, and every value different."""
    header = ",".join(["date", *(f"c{n}" for n in range(1, columns))])
    lines = [header] + [
        ",".join([f"2024-03-{1 + r % 28:02d}", *(f"{r}.{n}" for n in range(1, columns))]) for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """Where the jobs of a test put their files (so that a test sees every file they leave)."""
    return tmp_path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped is a zombie: it runs no more.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _wait_until(condition, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_job_gives_the_same_result_as_reading_in_place(work_dir: Path) -> None:
    """The result comes back whole: events, rejects, counts, mapping, notices, samples."""
    data = (DATA / "duplicates_and_ids.csv").read_bytes()
    options = ImportOptions(file_name="d.csv", tz="Europe/Moscow")
    job = ImportJob(data, options, work_dir=work_dir)
    assert job.wait(WAIT_S) is JobState.DONE
    got, expected = job.result(), read_events(data, options)
    assert list(work_dir.iterdir()) == []  # mapped into memory, the files need no name on disk
    assert got.events.equals(expected.events) and got.rejects.equals(expected.rejects)
    assert got.summary() == expected.summary()
    assert (got.columns, dict(got.samples)) == (expected.columns, dict(expected.samples))
    assert got.rows_read == got.accepted + got.rejected + got.duplicates
    assert job.progress().stage == import_job.HANDING_OVER
    job.close()
    assert list(work_dir.iterdir()) == []
    assert got.events.num_rows == expected.events.num_rows  # a result already read stays usable


def test_a_file_that_cannot_be_imported_gives_the_importers_message(work_dir: Path) -> None:
    job = ImportJob(
        (DATA / "header_only.csv").read_bytes(), ImportOptions(file_name="h.csv"), work_dir=work_dir
    )
    assert job.wait(WAIT_S) is JobState.FAILED
    with pytest.raises(BadInputError, match=r"^h\.csv: the file has a header row but no data rows$"):
        job.result()
    job.close()
    assert list(work_dir.iterdir()) == []


def test_a_running_job_reports_its_stages_and_can_be_cancelled(work_dir: Path) -> None:
    """Cancel kills the worker at once, says so, and close() leaves no file behind."""
    job = ImportJob(_slow_file(), ImportOptions(file_name="slow.csv"), work_dir=work_dir)
    pid = job._run.process.pid
    _wait_until(lambda: job.progress().step > 2)
    progress = job.progress()
    assert job.state is JobState.RUNNING and progress.stage in import_job.STAGES
    assert 0 < progress.fraction < 1
    with pytest.raises(RuntimeError, match="still running"):
        job.result()
    job.cancel()
    assert job.state is JobState.CANCELLED and not _alive(pid)
    with pytest.raises(TimelineError, match="cancelled"):
        job.result()
    assert list(work_dir.iterdir()) == []


def test_a_job_over_its_time_limit_is_stopped_with_a_message(work_dir: Path) -> None:
    job = ImportJob(_slow_file(), ImportOptions(file_name="slow.csv"), time_limit_s=1.5, work_dir=work_dir)
    pid = job._run.process.pid
    started = time.monotonic()
    assert job.wait(WAIT_S) is JobState.TIMED_OUT
    assert time.monotonic() - started < 10
    assert not _alive(pid)
    with pytest.raises(TimelineError, match=r"longer than the limit of 1\.5 seconds, so it was stopped"):
        job.result()
    assert list(work_dir.iterdir()) == []


def test_a_job_whose_session_is_gone_stops_and_removes_its_files(work_dir: Path) -> None:
    present = [True]
    job = ImportJob(
        _slow_file(),
        ImportOptions(file_name="slow.csv"),
        keep_running=lambda: present[0],
        session_grace_s=0.5,
        work_dir=work_dir,
    )
    pid = job._run.process.pid
    _wait_until(lambda: job.progress().step > 1)
    present[0] = False
    _wait_until(lambda: job.state is JobState.ABANDONED)
    assert not _alive(pid)
    _wait_until(lambda: list(work_dir.iterdir()) == [])


def test_a_finished_job_nobody_uses_is_freed(work_dir: Path) -> None:
    job = ImportJob(
        (DATA / "plain_date_who_what.csv").read_bytes(), ImportOptions(), idle_s=1, work_dir=work_dir
    )
    assert job.wait(WAIT_S) is JobState.DONE
    _wait_until(lambda: job.state is JobState.RELEASED, 20)
    assert list(work_dir.iterdir()) == []
    assert job._run.result is None


def test_a_dropped_job_kills_its_worker_and_removes_its_files(work_dir: Path) -> None:
    """A session that ends drops its jobs: nothing of them may go on."""
    job = ImportJob(_slow_file(), ImportOptions(file_name="slow.csv"), work_dir=work_dir)
    run = job._run
    _wait_until(lambda: run.stage != import_job.STARTING)
    pid = run.process.pid
    del job
    gc.collect()
    assert not _alive(pid)
    assert list(work_dir.iterdir()) == []


def test_a_worker_that_dies_is_a_failure_with_a_sentence(work_dir: Path) -> None:
    job = ImportJob(_slow_file(), ImportOptions(file_name="slow.csv"), work_dir=work_dir)
    _wait_until(lambda: job.progress().step > 1)
    job._run.process.kill()  # as the kernel's out-of-memory killer would
    assert job.wait(WAIT_S) is JobState.FAILED
    with pytest.raises(TimelineError, match=r"stopped unexpectedly \(worker exit status -9\)"):
        job.result()
    job.close()
    assert list(work_dir.iterdir()) == []


def test_a_worker_whose_server_died_ends_and_removes_its_files(work_dir: Path) -> None:
    """A server killed mid-import (out of memory, kill -9) cannot stop its worker: the worker stops itself."""
    server = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "from timeline.import_job import ImportJob\n"
            "from timeline.ingest import ImportOptions\n"
            f"job = ImportJob(sys.stdin.buffer.read(), ImportOptions(), work_dir={str(work_dir)!r})\n"
            "time.sleep(2)\n"
            "print(job._run.process.pid, flush=True)\n"
            "os._exit(0)  # as if killed: no finalizer runs\n",
        ],
        input=_slow_file(),
        capture_output=True,
        cwd=ROOT,
        timeout=WAIT_S,
        check=True,
    )
    worker = int(server.stdout)
    _wait_until(lambda: not _alive(worker) and list(work_dir.iterdir()) == [], 20)


@pytest.mark.parametrize(("text", "seconds"), [("", 300.0), ("90", 90.0), (" 2.5 ", 2.5)])
def test_the_time_limit_setting(text: str, seconds: float) -> None:
    assert import_job.time_limit_setting({import_job.TIME_LIMIT_SETTING: text}) == seconds


@pytest.mark.parametrize("text", ["0", "-1", "soon", "inf", "nan"])
def test_a_bad_time_limit_setting_is_refused_by_name(text: str) -> None:
    with pytest.raises(UsageError, match=import_job.TIME_LIMIT_SETTING):
        import_job.time_limit_setting({import_job.TIME_LIMIT_SETTING: text})


def test_limits_are_worded_as_people_say_them() -> None:
    assert [import_job.limit_words(s) for s in (300, 60, 90, 1.5)] == [
        "5 minutes",
        "1 minute",
        "90 seconds",
        "1.5 seconds",
    ]


# --- the page ---------------------------------------------------------------------------------------------


@pytest.fixture
def page_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    shutil.copytree(store.DEFAULT_ROOT / bundled.DATASET_ID, root / bundled.DATASET_ID)
    monkeypatch.setenv("TIMELINE_DATA_DIR", str(root))
    return root


def _page() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()


def _cancel_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.label == "Cancel the import"]


def test_the_page_shows_a_running_import_with_its_stage_and_cancels_it(page_store: Path) -> None:
    """A large upload shows its stage in a progress bar with Cancel; Cancel stops it and says so, nothing
    is saved, and "Read the file again" starts it anew."""
    before = sorted(p.name for p in page_store.iterdir())
    at = _page()
    at.sidebar.file_uploader[0].upload("slow.csv", _slow_file(), "text/csv").run()
    assert not at.exception and not at.error
    [bar] = at.get("progress")
    assert bar.proto.text.startswith("Reading the file: ") and "(stopped after 5 minutes)" in bar.proto.text
    [cancel] = _cancel_buttons(at)
    cancel.click().run()
    assert not at.exception
    assert [i.value for i in at.info] == ["The import was cancelled; nothing was saved."]
    assert not _cancel_buttons(at) and not at.get("progress")
    assert not [b for b in at.button if b.label.startswith("Save as dataset")]
    assert sorted(p.name for p in page_store.iterdir()) == before
    next(b for b in at.button if b.label == "Read the file again").click().run()
    assert _cancel_buttons(at)
    _cancel_buttons(at)[0].click().run()


def test_the_page_refuses_a_file_of_too_many_columns_in_one_sentence(page_store: Path) -> None:
    at = _page()
    header = ",".join(["date", *(f"c{n}" for n in range(1, 100_000))])
    at.sidebar.file_uploader[0].upload(
        "wide.csv", f"{header}\n2024-03-22{',x' * 99_999}\n".encode(), "text/csv"
    )
    at.run()
    assert not at.exception
    [error] = at.error
    assert "the file has 100,000 columns; an import reads at most 2,000" in re.sub(
        r"\\(.)", r"\1", error.value
    )
