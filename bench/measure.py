"""Measurements that run in a fresh process each: the import race and the AppTest reruns.

`python -m bench.measure import|reruns ARGS.json RESULT.json` — bench.run starts these, so every measurement
gets a clean interpreter (no Streamlit caches or memory carried over from the one before).
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard.py"
NAIVE_APP = ROOT / "bench" / "naive_app.py"
SHOWING = re.compile(r"Showing ([\d,]+) of ([\d,]+) events")


# --- import -----------------------------------------------------------------------------------------


def import_race(csv: str, work: str, store_dir: str, dataset_id: str, reps: int) -> dict[str, Any]:
    """Best of reps: the project's import (read_events + store.save) vs pyarrow read_csv + write_table.

    The two alternate which goes first, and each project import writes into a fresh store, so no save
    is short-cut by finding its version already there. The first import's store is kept for the pages.
    """
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from timeline import store
    from timeline.ingest import ImportOptions, read_events, read_file, version_meta

    path, work_dir = Path(csv), Path(work)
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    project: list[dict[str, float]] = []
    baseline: list[float] = []
    summary: dict[str, Any] = {}

    def run_project(i: int) -> None:
        nonlocal summary
        t0 = time.perf_counter()
        # As `python -m timeline import` reads it (the file mapped into memory).
        max_bytes = max(path.stat().st_size + 1, ImportOptions.max_bytes)
        data = read_file(path, max_bytes)
        options = ImportOptions(file_name=path.name, max_bytes=max_bytes)
        result = read_events(data, options)
        t1 = time.perf_counter()
        meta = version_meta(result, name=dataset_id, source_file=path.name, options=options)
        info = store.save(
            result.events, result.rejects, meta, dataset_id=dataset_id, root=work_dir / f"s{i}", source=data
        )
        t2 = time.perf_counter()
        project.append({"total": t2 - t0, "read_events": t1 - t0, "save": t2 - t1})
        parquet_bytes = (info.path / store.EVENTS_FILE).stat().st_size
        summary = {**result.summary(), "version": info.version, "parquet_bytes": parquet_bytes}

    def run_baseline(i: int) -> None:
        t0 = time.perf_counter()
        table = pcsv.read_csv(path)
        pq.write_table(table, work_dir / f"baseline-{i}.parquet")
        baseline.append(time.perf_counter() - t0)

    for i in range(reps):
        order = (run_project, run_baseline) if i % 2 == 0 else (run_baseline, run_project)
        for step in order:
            step(i)
            gc.collect()
    target = Path(store_dir)
    shutil.rmtree(target, ignore_errors=True)
    (work_dir / "s0").rename(target)
    shutil.rmtree(work_dir, ignore_errors=True)
    best = min(project, key=lambda r: r["total"])
    return {
        "project_s": best["total"],
        "project_best": best,
        "project_all": project,
        "baseline_s": min(baseline),
        "baseline_all": baseline,
        "csv_bytes": path.stat().st_size,
        "summary": summary,
        "events_parquet": str(next(target.glob(f"{dataset_id}/*/events.parquet"))),
    }


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


def main(argv: list[str]) -> int:
    kind, args_file, result_file = argv
    args = json.loads(Path(args_file).read_text())
    if kind == "import":
        from timeline import cli

        with cli.import_process_settings():  # as the command line and the page's import worker run
            result = import_race(**args)
    elif kind == "reruns":
        result = reruns(**args)
    else:
        raise SystemExit(f"unknown measurement {kind!r}")
    Path(result_file).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
