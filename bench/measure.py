"""Measurements that run in a fresh process each: the import race, the AppTest reruns and the engines.

`python -m bench.measure import|reruns|engines ARGS.json RESULT.json` — bench.run starts these, so every
measurement gets a clean interpreter (no Streamlit caches or memory carried over from the one before).
The import race also starts `import-peak` children of its own: one import (the project's or the pyarrow
baseline's) in a fresh interpreter, whose peak resident memory the race reads from os.wait4.
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard.py"
NAIVE_APP = ROOT / "bench" / "naive_app.py"
SHOWING = re.compile(r"Showing ([\d,]+) of ([\d,]+) events")


# --- import -----------------------------------------------------------------------------------------


def project_import(path: Path, dataset_id: str, root: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """The project's import of path into a fresh store at root, as `python -m timeline import` runs it
    (streamed_import.read_path: a file of up to two batches mapped into memory and read whole, a larger
    one read in batches and spilled to disk; then store.save): its times and summary."""
    from timeline import store, streamed_import
    from timeline.ingest import ImportOptions, version_meta

    t0 = time.perf_counter()
    max_bytes = max(path.stat().st_size + 1, ImportOptions.max_bytes)
    options = ImportOptions(file_name=path.name, max_bytes=max_bytes)
    source, result = streamed_import.read_path(path, options)
    t1 = time.perf_counter()
    meta = version_meta(result, name=dataset_id, source_file=path.name, options=options)
    try:
        info = store.save(
            result.events, result.rejects, meta, dataset_id=dataset_id, root=root, source=source
        )
    finally:
        result.close()
    t2 = time.perf_counter()
    parquet_bytes = (info.path / store.EVENTS_FILE).stat().st_size
    summary = {**result.summary(), "version": info.version, "parquet_bytes": parquet_bytes}
    return {"total": t2 - t0, "read_events": t1 - t0, "save": t2 - t1}, summary


def baseline_import(path: Path, target: Path) -> float:
    """pyarrow read_csv + write_table of path into target: seconds."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    table = pcsv.read_csv(path)
    pq.write_table(table, target)
    return time.perf_counter() - t0


def import_peak(side: str, csv: str, work: str, dataset_id: str) -> dict[str, Any]:
    """One import (side "project" or "baseline") in this fresh process: what import_race reads the peak
    resident memory of (from outside, through os.wait4) and its time."""
    path, work_dir = Path(csv), Path(work)
    if side == "project":
        seconds = project_import(path, dataset_id, work_dir / "store")[0]["total"]
    else:
        seconds = baseline_import(path, work_dir / "baseline.parquet")
    return {"side": side, "seconds": seconds, "vmhwm_bytes": _vmhwm_bytes()}


def _vmhwm_bytes() -> int | None:
    """This process's peak resident memory since its exec (VmHWM), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def _peak_child(side: str, csv: str, work_dir: Path, dataset_id: str, timeout_s: float) -> dict[str, Any]:
    """import_peak in a fresh interpreter: its peak resident memory, its time, or {"error": ...}.

    The peak is the child's own VmHWM, which it reads just before it ends. ru_maxrss from os.wait4 is
    kept too, but it is at least this process's peak when the child was started (Linux carries the
    high-water mark of the memory a child leaves at exec over into it, and a vforked child leaves its
    parent's): import_race starts these children before its own imports for that reason."""
    child_dir = work_dir / f"peak-{side}"
    shutil.rmtree(child_dir, ignore_errors=True)
    child_dir.mkdir(parents=True)
    args_file, result_file = child_dir / "args.json", child_dir / "result.json"
    args_file.write_text(
        json.dumps({"side": side, "csv": csv, "work": str(child_dir), "dataset_id": dataset_id})
    )
    command = [sys.executable, "-m", "bench.measure", "import-peak", str(args_file), str(result_file)]
    with (child_dir / "log.txt").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            process.returncode = -9
            return {"error": f"{side} import did not finish within {timeout_s:.0f} s"}
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    try:
        # Only the result counts: Arrow's thread pool can abort a finishing process (see timeline.cli.run).
        if not result_file.exists():
            lines = (child_dir / "log.txt").read_text(errors="replace").strip().splitlines() or [
                "(no output)"
            ]
            return {"error": f"{side} import exited with status {process.returncode}: {lines[-1][:300]}"}
        found = json.loads(result_file.read_text())
        maxrss = usage.ru_maxrss * 1024  # Linux: KiB
        return {
            "seconds": found["seconds"],
            "peak_bytes": found.get("vmhwm_bytes") or maxrss,
            "ru_maxrss_bytes": maxrss,
        }
    finally:
        shutil.rmtree(child_dir, ignore_errors=True)


def import_race(
    csv: str,
    work: str,
    store_dir: str,
    dataset_id: str,
    reps: int,
    peak_reps: int = 1,
    peak_timeout: float = 1800,
) -> dict[str, Any]:
    """Best of reps: the project's import (read_path + store.save) vs pyarrow read_csv + write_table.

    The two alternate which goes first, and each project import writes into a fresh store, so no save
    is short-cut by finding its version already there. The first import's store is kept for the pages.
    Before them, peak memory: peak_reps imports per side, each in a fresh child process (the same code:
    the project's import or the baseline), the largest peak resident memory per side.
    """
    path, work_dir = Path(csv), Path(work)
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    project: list[dict[str, float]] = []
    baseline: list[float] = []
    summary: dict[str, Any] = {}
    # Peaks first, while this process is small (see _peak_child).
    peaks: dict[str, list[dict[str, Any]]] = {"project": [], "baseline": []}
    for k in range(peak_reps):
        for side in ("project", "baseline") if k % 2 == 0 else ("baseline", "project"):
            peaks[side].append(_peak_child(side, csv, work_dir, dataset_id, peak_timeout))

    def run_project(i: int) -> None:
        nonlocal summary
        times, summary = project_import(path, dataset_id, work_dir / f"s{i}")
        project.append(times)

    def run_baseline(i: int) -> None:
        baseline.append(baseline_import(path, work_dir / f"baseline-{i}.parquet"))

    for i in range(reps):
        order = (run_project, run_baseline) if i % 2 == 0 else (run_baseline, run_project)
        for step in order:
            step(i)
            gc.collect()
        if i > 0:  # only the first store is kept: the others would fill the disk at 10M events
            shutil.rmtree(work_dir / f"s{i}", ignore_errors=True)
            (work_dir / f"baseline-{i}.parquet").unlink(missing_ok=True)
    target = Path(store_dir)
    shutil.rmtree(target, ignore_errors=True)
    (work_dir / "s0").rename(target)
    for name in ("baseline-0.parquet",):
        (work_dir / name).unlink(missing_ok=True)
    shutil.rmtree(work_dir, ignore_errors=True)
    best = min(project, key=lambda r: r["total"])
    found: dict[str, Any] = {
        "project_s": best["total"],
        "project_best": best,
        "project_all": project,
        "baseline_s": min(baseline),
        "baseline_all": baseline,
        "csv_bytes": path.stat().st_size,
        "summary": summary,
        "events_parquet": str(next(target.glob(f"{dataset_id}/*/events.parquet"))),
        "peaks": peaks,
    }
    for side, runs in peaks.items():
        measured = [run["peak_bytes"] for run in runs if "peak_bytes" in run]
        if measured and len(measured) == len(runs):
            found[f"{side}_peak_bytes"] = max(measured)
        errors = [run["error"] for run in runs if "error" in run]
        if errors:
            found[f"{side}_peak_error"] = errors[0]
    return found


# --- reruns (AppTest) -------------------------------------------------------------------------------


class _App:
    """One app under AppTest, its filter widgets reached the same way for the project and the peer."""

    def __init__(self, app: str, dataset_id: str, timeout: float, script: Path | None = None) -> None:
        from streamlit.testing.v1 import AppTest

        self.app = app
        self.dataset_id = dataset_id
        script = script or (DASHBOARD if app == "project" else NAIVE_APP)
        self.at = AppTest.from_file(str(script), default_timeout=timeout)
        if app == "project":
            self.at.query_params["dataset"] = dataset_id

    def _text(self, project_name: str, peer_label: str) -> Any:
        if self.app == "project":
            return self.at.text_input(key=f"w:{project_name}")
        return next(w for w in self.at.text_input if w.label == peer_label)

    def set(self, scenario: str, value: Any) -> None:
        """Set a scenario's widgets: actor (a list), window ([from, to]) or search (a string); None clears."""
        if scenario == "actor":
            if self.app == "project":
                widget = self.at.multiselect(key="w:actors")
            else:
                widget = next(w for w in self.at.multiselect if w.label == "Actor")
            widget.set_value(list(value or []))
        elif scenario == "window":
            start, end = value or ("", "")
            self._text("start", "From").set_value(start)
            self._text("end", "To").set_value(end)
        elif scenario == "search":
            self._text("query", "Search").set_value(value or "")
        else:
            raise ValueError(f"unknown scenario {scenario!r}")

    def run(self) -> float:
        t0 = time.perf_counter()
        self.at.run()
        elapsed = time.perf_counter() - t0
        problems = [str(e.value)[:500] for e in self.at.exception] + [
            str(e.value)[:500] for e in self.at.error
        ]
        if problems:
            raise RuntimeError(f"the {self.app} page failed: {' | '.join(problems)}")
        return elapsed

    def figure_bytes(self) -> int:
        return sum(len(chart.proto.spec.encode("utf-8")) for chart in self.at.get("plotly_chart"))

    def page_bytes(self) -> int:
        """Serialized size of every element on the page (figure, table, widgets, text)."""

        def walk(node: Any) -> int:
            children = getattr(node, "children", None)
            if children is not None:
                return sum(walk(child) for child in children.values())
            proto = getattr(node, "proto", None)
            return proto.ByteSize() if proto is not None and hasattr(proto, "ByteSize") else 0

        return walk(self.at._tree)

    def showing(self) -> int | None:
        for markdown in self.at.markdown:
            found = SHOWING.search(markdown.value)
            if found:
                return int(found.group(1).replace(",", ""))
        return None

    def state(self) -> dict[str, Any]:
        return {
            "figure_bytes": self.figure_bytes(),
            "page_bytes": self.page_bytes(),
            "showing": self.showing(),
        }


def reruns(
    app: str,
    dataset_id: str,
    store_dir: str,
    parquet: str,
    scenarios: dict[str, list[Any]],
    reps: int,
    timeout: float,
) -> dict[str, Any]:
    """Cold first run, a warm rerun, then per scenario: one priming change and reps timed changes per value.

    The timed changes alternate between the scenario's values (v0 primed, then v1 v0 v1 v0 ...), so each
    one really changes the filter, and each value gets its own median: two values can cost very
    differently (212k events vs 44k), and one median over both would just pick the more frequent one.
    The priming change also clears the previous scenario, so each scenario starts from no other filter.
    Each value's first run is also reported on its own (first_s: the priming change for v0, the first timed
    change for the others): the page keeps a search's matches (timeline.query.held), so a value searched
    again costs less than one searched for the first time, and the median alone would hide that.
    """
    os.environ["TIMELINE_DATA_DIR"] = store_dir
    os.environ["BENCH_PARQUET"] = parquet
    page = _App(app, dataset_id, timeout)
    out: dict[str, Any] = {"app": app, "scenarios": {}}
    out["first_run_s"] = page.run()
    out["unfiltered"] = page.state()
    out["warm_rerun_s"] = page.run()
    previous: str | None = None
    for name, values in scenarios.items():
        if previous is not None:
            page.set(previous, None)
        page.set(name, values[0])
        priming = page.run()
        states: dict[int, dict[str, Any]] = {0: page.state()}
        times: dict[int, list[float]] = {i: [] for i in range(len(values))}
        for k in range(1, reps * len(values) + 1):
            index = k % len(values)
            page.set(name, values[index])
            times[index].append(page.run())
            states[index] = page.state()
        out["scenarios"][name] = {
            "priming_s": priming,
            "per_value": [
                {
                    "value": values[i],
                    "first_s": priming if i == 0 else times[i][0],
                    "median_s": statistics.median(times[i]),
                    "times_s": times[i],
                    **states[i],
                }
                for i in range(len(values))
            ],
        }
        previous = name
    out["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


# --- engines (DuckDB and Spark on the stored version, no page) -----------------------------------------


def _error(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines() or [""]
    return f"{type(exc).__name__}: {lines[0][:300]}"


def engine_views(
    engine: str,
    store_dir: str,
    dataset_id: str,
    scenarios: dict[str, list[Any]],
    reps: int,
    spark_master: str,
) -> dict[str, Any]:
    """The page's query layer on one engine, without the page: the session start, then per view (unfiltered,
    every scenario value) the count and the timeline figure (figures.timeline_figure on the filtered
    expression), each the median of reps after one warm-up. Every failure is recorded, never raised."""
    out: dict[str, Any] = {"engine": engine, "views": []}
    try:
        from timeline import engines, figures, query, store
        from timeline import view as views

        settings = engines.EngineSettings.read(
            {engines.ENGINE_VARIABLE: engine, engines.SPARK_MASTER_VARIABLE: spark_master}
        )
        out["describe"] = settings.describe()
        t0 = time.perf_counter()
        connected = engines.connect(settings)
        out["session_start_s"] = time.perf_counter() - t0
    except Exception as exc:  # reported in the table: e.g. PySpark or Java missing
        out["error"] = _error(exc)
        return out
    try:
        root = Path(store_dir)
        info = store.version_info(dataset_id, root=root)
        rollups = store.rollups(dataset_id, info.version, root=root)
        where = query.version(dataset_id, info.version, max_span_us=rollups.max_span_us, root=root)
        events = query.events(connected, where)
        wanted: list[tuple[str, Any, dict[str, Any]]] = [("unfiltered", None, {})]
        for name, values in scenarios.items():
            for value in values:
                params = (
                    {"actor": list(value)}
                    if name == "actor"
                    else {"from": value[0], "to": value[1]}
                    if name == "window"
                    else {"q": value}
                )
                wanted.append((name, value, params))
        for name, value, params in wanted:
            row: dict[str, Any] = {"scenario": name, "value": value}
            out["views"].append(row)
            try:
                current, _ = views.from_query(params)
                window = views.window(current)
                windowed = window != (None, None)
                shown = query.filtered(events, current, max_span_us=rollups.max_span_us)
                counts, draws = [], []
                for k in range(reps + 1):
                    t0 = time.perf_counter()
                    n = query.count(shown)
                    t1 = time.perf_counter()
                    fig = figures.timeline_figure(
                        events=shown,
                        count=n,
                        tz=current.tz,
                        lane="actor",
                        window_us=window if windowed else None,
                    )
                    t2 = time.perf_counter()
                    if k > 0:  # the first is the warm-up
                        counts.append(t1 - t0)
                        draws.append(t2 - t1)
                row.update(
                    events=n,
                    count_s=statistics.median(counts),
                    count_all_s=counts,
                    figure_s=statistics.median(draws),
                    figure_all_s=draws,
                    figure_mode=(fig.layout.meta or {}).get("mode")
                    if isinstance(fig.layout.meta, dict)
                    else None,
                )
            except Exception as exc:  # one view's failure is a row, not the end
                row["error"] = _error(exc)
    except Exception as exc:
        out["error"] = _error(exc)
    finally:
        t0 = time.perf_counter()
        try:
            connected.close()
            out["close_s"] = time.perf_counter() - t0
        except Exception as exc:
            out.setdefault("error", f"closing the engine: {type(exc).__name__}: {exc}"[:300])
    return out


def main(argv: list[str]) -> int:
    kind, args_file, result_file = argv
    args = json.loads(Path(args_file).read_text())
    if kind == "import":
        from timeline import cli

        with cli.import_process_settings():  # as the command line and the page's import worker run
            result = import_race(**args)
    elif kind == "import-peak" and args["side"] == "baseline":
        result = import_peak(**args)  # pyarrow alone: nothing of the project loaded
    elif kind == "import-peak":
        from timeline import cli

        with cli.import_process_settings():
            result = import_peak(**args)
    elif kind == "reruns":
        result = reruns(**args)
    elif kind == "engines":
        args.pop("app", None)  # names bench.run's log only
        result = engine_views(**args)
    else:
        raise SystemExit(f"unknown measurement {kind!r}")
    Path(result_file).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
