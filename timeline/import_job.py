"""An import run as a job: in a process of its own, with a time limit, progress, cancel and cleanup.

The page must stay quick for every reader while someone imports a large or hostile file, and an import
nobody waits for any more must stop and give its memory back. So the file is read by a separate Python
process (its main() below), at low CPU priority: it can be killed at any moment, and
neither its CPU time nor its memory is the page server's. It hands the result back as Arrow IPC files
that the page maps into memory (the events are not copied, and their pages are the file's, which the
system can drop and read again, not the server's heap).

A thread per job watches it: it reads the stages the worker reports, kills the worker past the time
limit or once its session has been gone a while, and frees a finished result nobody has asked for in a
while. Dropping the job object (its session ended) kills the worker and removes its files too.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

import pyarrow as pa

from timeline import cli, errors, ingest
from timeline.errors import TimelineError
from timeline.ingest import ImportOptions, ImportResult

DEFAULT_TIME_LIMIT_S = 300.0
DEFAULT_IDLE_S = 600.0  # a finished import nobody looked at for this long is freed
DEFAULT_SESSION_GRACE_S = 15.0  # a session gone this long (not a network blip) stops its import
TIME_LIMIT_SETTING = "TIMELINE_IMPORT_TIME_LIMIT"  # seconds, for the operator
STARTING, HANDING_OVER = "starting", "handing the result over"
STAGES: tuple[str, ...] = (STARTING, *ingest.STAGES, HANDING_OVER)
_WORKER_NICENESS = 19  # the lowest priority: every reader's request comes before an import
# The worker's command: its priority is lowered before it imports anything (pandas and Arrow take a second).
_WORKER_START = f"import os, sys; os.nice({_WORKER_NICENESS}); from {__name__} import main; sys.exit(main())"
_WATCH_S = 0.2  # how often the watcher looks at the worker
_UPLOAD, _OPTIONS, _EVENTS, _REJECTS, _SUMMARY = (
    "upload",
    "options.json",
    "events.arrow",
    "rejects.arrow",
    "summary.json",
)
_log = logging.getLogger(__name__)


class JobState(enum.Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the file cannot be imported (its message says why), or the worker broke
    CANCELLED = "cancelled"
    TIMED_OUT = "timed out"
    ABANDONED = "abandoned"  # its session was gone: stopped, files removed
    RELEASED = "released"  # done, then unused for idle_s: result and files freed


@dataclass(frozen=True)
class Progress:
    """Where a job is: the stage it is in (words), its position among STAGES, and the time so far."""

    stage: str
    step: int  # 1-based, of len(STAGES)
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return self.step / len(STAGES)


def time_limit_setting(environ: Mapping[str, str] | None = None) -> float:
    """The operator's time limit for an import, in seconds (TIMELINE_IMPORT_TIME_LIMIT; default 300)."""
    text = (os.environ if environ is None else environ).get(TIME_LIMIT_SETTING, "").strip()
    if not text:
        return DEFAULT_TIME_LIMIT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise errors.UsageError(f"{TIME_LIMIT_SETTING} must be a number of seconds above 0; it is {text!r}")
    return seconds


def limit_words(seconds: float) -> str:
    """A time limit as people say it: 5 minutes, 90 seconds, 1 minute."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


class _Run:
    """A job's shared state: the worker, its directory and what is known of it. The watcher thread holds
    this, never the job, so that dropping the job (its session ended) finalizes it."""

    def __init__(self, process: subprocess.Popen, directory: Path, time_limit_s: float) -> None:
        self.process = process
        self.directory = directory
        self.time_limit_s = time_limit_s
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.state = JobState.RUNNING
        self.ending: JobState | None = None  # the state an end() in progress moves the job to
        self.stage = STARTING
        self.message: str | None = None  # why it failed or stopped
        self.error_kind = "TimelineError"
        self.result: ImportResult | None = None
        self.last_used = time.monotonic()

    def end(self, state: JobState, message: str | None = None) -> None:
        """Move a running (or done) job to its final state. The first to end it names the state; the worker
        is killed and its files removed (an ended job has no result to read from them) before the state
        is set, so that whoever waits sees all of it ended."""
        with self.lock:
            claimed = self.ending is None and (
                self.state is JobState.RUNNING or (self.state is JobState.DONE and state is JobState.RELEASED)
            )
            if claimed:
                self.ending = state
        if claimed:
            self.remove_files()  # kills the worker first
        with self.lock:
            if claimed:
                self.state, self.message = state, message
                if state is JobState.RELEASED:
                    self.result = None
            self.changed.notify_all()

    def remove_files(self) -> None:
        _kill(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - a killed process always ends
        _log.warning("import worker %s did not end after SIGKILL", process.pid)
    if process.stdout is not None:
        process.stdout.close()


class ImportJob:
    """One file read by a worker process. Start it, then ask its state, progress and result; cancel() or
    close() stop it. Everything it holds (process, files, result) goes when it is closed or dropped."""

    def __init__(
        self,
        data: bytes,
        options: ImportOptions,
        *,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        keep_running: Callable[[], bool] | None = None,
        session_grace_s: float = DEFAULT_SESSION_GRACE_S,
        idle_s: float = DEFAULT_IDLE_S,
        work_dir: Path | None = None,
    ) -> None:
        """keep_running: whether whoever waits for the job is still there (a page's session); it is
        stopped once that has been False for session_grace_s. work_dir: where its files go (default the
        system's temporary directory; it should be on disk, not in memory)."""
        try:
            directory = Path(tempfile.mkdtemp(prefix="timeline-import-", dir=work_dir))
        except OSError as exc:
            raise TimelineError(f"the server cannot keep the file to read it: {exc.strerror or exc}") from exc
        try:
            (directory / _UPLOAD).write_bytes(data)
            (directory / _OPTIONS).write_text(json.dumps(asdict(options)), encoding="utf-8")
            process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_START, str(directory)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,  # the stages, one JSON object a line
                env=_worker_environment(),
            )
        except OSError as exc:  # a full or read-only disk: the file is not read, and the user is told why
            shutil.rmtree(directory, ignore_errors=True)
            raise TimelineError(f"the server cannot keep the file to read it: {exc.strerror or exc}") from exc
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        self._run = _Run(process, directory, time_limit_s)
        self.time_limit_s = time_limit_s
        self._finalizer = weakref.finalize(self, self._run.remove_files)
        watcher = threading.Thread(
            target=_watch,
            args=(self._run, keep_running or _always, session_grace_s, idle_s),
            name=f"import-watch-{process.pid}",
            daemon=True,
        )
        watcher.start()

    @property
    def state(self) -> JobState:
        return self._run.state

    @property
    def message(self) -> str | None:
        """Why the job failed or stopped, in words (None while it runs or once it is done)."""
        return self._run.message

    @property
    def directory(self) -> Path:
        return self._run.directory

    def progress(self) -> Progress:
        run = self._run
        step = STAGES.index(run.stage) + 1 if run.stage in STAGES else 1
        return Progress(run.stage, step, time.monotonic() - run.started)

    def wait(self, timeout_s: float) -> JobState:
        """Wait until the job is no longer running, or timeout_s; its state then."""
        with self._run.changed:
            self._run.changed.wait_for(lambda: self._run.state is not JobState.RUNNING, timeout_s)
            return self._run.state

    def result(self) -> ImportResult:
        """What the file imported as; raises the importer's error (or a TimelineError saying why the job
        stopped) when there is none. A job still running raises RuntimeError."""
        run = self._run
        with run.lock:
            run.last_used = time.monotonic()
            if run.state is JobState.DONE:
                if run.result is None:
                    run.result = _load(run.directory)
                    # Mapped, the files stay readable to the result alone; their disk space goes with it.
                    run.remove_files()
                return run.result
            if run.state is JobState.RUNNING:
                raise RuntimeError("the import is still running")
            error = getattr(errors, run.error_kind, TimelineError)
            if not (isinstance(error, type) and issubclass(error, TimelineError)):
                error = TimelineError
            raise error(run.message or f"the import was {run.state.value}")

    def cancel(self) -> None:
        self._run.end(JobState.CANCELLED, "the import was cancelled")

    def close(self) -> None:
        """Stop the worker and remove the job's files (a result already read stays usable)."""
        if self._run.state is JobState.DONE:
            self._run.end(JobState.RELEASED, "the file's preview was closed")
        else:
            self._run.end(JobState.CANCELLED, "the import was cancelled")
        self._finalizer()


def _always() -> bool:
    return True


def _worker_environment() -> dict[str, str]:
    """The server's environment, with this package importable wherever the server was started."""
    root = str(Path(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}


def _watch(run: _Run, keep_running: Callable[[], bool], grace_s: float, idle_s: float) -> None:
    """The job's watcher: reads the worker's reports and enforces the time limit, the session and idleness."""
    stream = run.process.stdout
    assert stream is not None
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    gone_since: float | None = None
    try:
        while run.state is JobState.RUNNING:
            if selector.select(_WATCH_S):
                line = stream.readline()
                if not line:
                    _ended_without_report(run)  # end of output: the worker exited
                    break
                _take_report(run, line)
            now = time.monotonic()
            if now - run.started > run.time_limit_s:
                run.end(
                    JobState.TIMED_OUT,
                    f"reading the file took longer than the limit of {limit_words(run.time_limit_s)}, so it "
                    "was stopped; import a smaller file, or ask the operator to raise the limit",
                )
            gone_since = _gone_since(keep_running, gone_since, now)
            if gone_since is not None and now - gone_since > grace_s:
                run.end(JobState.ABANDONED, "the import was stopped: its page was closed")
    except (OSError, ValueError):  # the stream was closed: the job was stopped meanwhile
        pass
    finally:
        selector.close()
        stream.close()
    while run.state is JobState.DONE:
        time.sleep(min(_WATCH_S * 5, idle_s))
        now = time.monotonic()
        gone_since = _gone_since(keep_running, gone_since, now)
        if now - run.last_used > idle_s or (gone_since is not None and now - gone_since > grace_s):
            run.end(JobState.RELEASED, "the file's preview was freed after a while unused")


def _gone_since(keep_running: Callable[[], bool], since: float | None, now: float) -> float | None:
    try:
        present = keep_running()
    except Exception:  # a broken check must not keep an import running forever, nor kill the watcher
        _log.exception("checking whether an import's session is open failed")
        present = False
    return None if present else (since if since is not None else now)


def _take_report(run: _Run, line: bytes) -> None:
    try:
        report = json.loads(line)
    except ValueError:
        return  # not the worker's: a library printing to stdout
    if not isinstance(report, dict):
        return
    if "stage" in report:
        with run.lock:
            run.stage = str(report["stage"])
    elif "done" in report:
        with run.lock:
            if run.state is JobState.RUNNING:
                run.state = JobState.DONE
                run.last_used = time.monotonic()
            run.changed.notify_all()
        run.process.wait()
    elif "failed" in report:
        run.error_kind = str(report.get("kind", "TimelineError"))
        run.end(JobState.FAILED, str(report["failed"]))


def _ended_without_report(run: _Run) -> None:
    code = run.process.wait()
    run.end(
        JobState.FAILED,
        f"reading the file stopped unexpectedly (worker exit status {code}); the server log may say why",
    )


# --- the result on disk ---------------------------------------------------------------------------------


def _save(result: ImportResult, directory: Path) -> None:
    for name, table in ((_EVENTS, result.events), (_REJECTS, result.rejects)):
        with pa.OSFile(str(directory / name), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    summary = {
        "rows_read": result.rows_read,
        "duplicates": result.duplicates,
        "mapping": result.mapping,
        "preset": result.preset,
        "encoding": result.encoding,
        "delimiter": result.delimiter,
        "notices": list(result.notices),
        "columns": list(result.columns),
        "samples": {column: list(values) for column, values in result.samples.items()},
    }
    (directory / _SUMMARY).write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")


def _load(directory: Path) -> ImportResult:
    """The result the worker left, its tables mapped into memory (not copied)."""
    tables = {
        name: pa.ipc.open_file(pa.memory_map(str(directory / name))).read_all()
        for name in (_EVENTS, _REJECTS)
    }
    summary = json.loads((directory / _SUMMARY).read_text(encoding="utf-8"))
    return ImportResult(
        events=tables[_EVENTS],
        rejects=tables[_REJECTS],
        rows_read=summary["rows_read"],
        duplicates=summary["duplicates"],
        mapping=summary["mapping"],
        preset=summary["preset"],
        encoding=summary["encoding"],
        delimiter=summary["delimiter"],
        notices=tuple(summary["notices"]),
        columns=tuple(summary["columns"]),
        samples={column: tuple(values) for column, values in summary["samples"].items()},
    )


# --- the worker -------------------------------------------------------------------------------------------


def _report(**message: object) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def work(directory: Path) -> None:
    """Read the upload in directory with its options, leave the result there, and report on stdout."""
    options = ImportOptions(**json.loads((directory / _OPTIONS).read_text(encoding="utf-8")))
    try:
        data = ingest.read_file(directory / _UPLOAD, options.max_bytes)
        result = ingest.read_events(data, options, on_stage=lambda stage: _report(stage=stage))
        _report(stage=HANDING_OVER)
        _save(result, directory)
    except TimelineError as exc:
        _report(failed=str(exc), kind=type(exc).__name__)
        return
    except MemoryError:
        _report(failed="the file needs more memory than the server can give an import")
        return
    _report(done=True)


def _end_with_parent(parent: int, directory: Path) -> None:
    """A server that died (killed, out of memory) cannot stop its workers: each stops itself, and removes
    its files, once its parent is gone."""
    while os.getppid() == parent:
        time.sleep(1)
    _end(directory)


def _end(directory: Path) -> NoReturn:
    shutil.rmtree(directory, ignore_errors=True)
    os._exit(1)  # at once: no result, no report, nothing flushed to a closed pipe


def main(argv: list[str] | None = None) -> int:
    """The worker process's main, given its directory (see _WORKER_START)."""
    (directory,) = sys.argv[1:] if argv is None else argv
    logging.basicConfig()  # a failure's traceback goes to the server's log, through stderr
    threading.Thread(target=_end_with_parent, args=(os.getppid(), Path(directory)), daemon=True).start()
    try:
        with cli.import_process_settings():
            work(Path(directory))
    except BrokenPipeError:  # nobody reads the reports any more: the server is gone
        _end(Path(directory))
    except Exception as exc:  # a bug: one sentence for the page, the traceback for the server log
        _log.exception("the import worker failed")
        _report(
            failed=f"reading the file failed unexpectedly ({type(exc).__name__}); the server log says more"
        )
    return 0
