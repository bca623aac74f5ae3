"""Run every benchmark side by side and write bench/RESULTS.md (`python -m bench.run [--quick]`).

For each size: generate the CSV, with an id column and without one (the importer then hashes each row for its
id and to find duplicates); race the project's import of each against pyarrow read_csv + write_table (best
of 5, of 3 from 10M events) and measure each side's peak resident memory in fresh child processes; time
AppTest reruns after an actor, a time-window and a search change on the project's page and on the naive
peer (bench/naive_app.py, up to PEER_MAX_SIZE events only), with the figure bytes each sends; open both in
headless Chromium from a fresh server and time the first drawn chart; record the servers' peak memory;
time the query layer alone (count and timeline figure per view) on DuckDB and on Spark local[2], for
information. Prints one table of figures and ratios, writes it with the machine's description to
bench/RESULTS.md (or --results) and the raw numbers to <--out>/results.json. Verdicts use PRODUCT.md's
targets for the size: the 1M targets from 1,000,000 events, the 10M ones from 10,000,000 (rerun ≤ 0.5 s
without a peer, server peak ≤ 1.5 GB, import peak ≤ 3 GB). Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import browser, generate

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = "bench/out/results.json"
COMMAND = ".venv/bin/python -m bench.run"
SEED = 0
TWO_MB = 2_000_000
# Targets from PRODUCT.md ("Performance targets"), stated for 1,000,000 events and for 10,000,000: each
# size is judged by the targets of the largest of these it reaches (below 1M: information only).
TARGET_SIZE = 1_000_000
IMPORT_MAX_RATIO = 2.0
RERUN_MAX_S = 0.3
RERUN_MIN_SPEEDUP = 8.0
COLD_OPEN_MAX_S = 3.0
BIG_SIZE = 10_000_000
BIG_IMPORT_MAX_RATIO = 2.0
BIG_IMPORT_PEAK_MAX_BYTES = 3_000_000_000
BIG_RERUN_MAX_S = 0.5  # no speedup over the peer: it is not run at this size
BIG_COLD_OPEN_MAX_S = 3.0
BIG_SERVER_PEAK_MAX_BYTES = 1_500_000_000
# The naive peer loads every event into pandas and plots them all: above this it needs > 10 GB and minutes
# per rerun, so its reruns and browser runs are not run.
PEER_MAX_SIZE = 1_000_000
PEER_SKIPPED = "not run (peer ≤ 1M only)"
# Import repetitions (best of): fewer from BIG_SIZE, where one import takes tens of seconds; and how many
# fresh child processes per side measure the import's peak memory.
IMPORT_REPS = 5
BIG_IMPORT_REPS = 3
QUICK_IMPORT_REPS = 2
IMPORT_PEAK_REPS = 1
# The query layer alone on each engine (information): median of ENGINE_REPS after a warm-up.
ENGINE_KINDS = ("duckdb", "spark")
SPARK_MASTER = "local[2]"
ENGINE_REPS = 3
SCENARIO_TITLES = {"actor": "actor filter", "window": "time window", "search": "search"}
# The CSVs an import is raced on, by whether they have an id column (the import targets hold for both).
ID_KINDS = {True: "with an id column", False: "without an id column"}
ID_CHOICES = {"both": (True, False), "with": (True,), "without": (False,)}


def _label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _worker(kind: str, args: dict[str, Any], out: Path, timeout_s: float) -> dict[str, Any]:
    """Run bench.measure in a fresh interpreter; its result, or {"error": ...}."""
    args_file = out / f"{kind}-args.json"
    result_file = out / f"{kind}-result.json"
    args_file.write_text(json.dumps(args))
    result_file.unlink(missing_ok=True)
    log = out / f"{kind}-{args.get('app', 'import')}-{args.get('dataset_id', '')}.log"
    with log.open("wb") as output:
        try:
            code = subprocess.run(
                [sys.executable, "-m", "bench.measure", kind, str(args_file), str(result_file)],
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            return {"error": f"{kind} did not finish within {timeout_s:.0f} s (log: {log})"}
    if code != 0 or not result_file.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        return {"error": f"{kind} exited with status {code}: {tail[0][:400]} (log: {log})"}
    return json.loads(result_file.read_text())


def _scenarios(parquet: str) -> dict[str, list[Any]]:
    """The two values each scenario alternates between, picked from the data (actors by popularity)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    counts = pc.value_counts(pq.read_table(parquet, columns=["actor"])["actor"]).to_pylist()
    ranked = [c["values"] for c in sorted(counts, key=lambda c: (-c["counts"], c["values"]))]
    three = [ranked[min(i, len(ranked) - 1)] for i in (4, 24, 99)]
    return {
        "actor": [[ranked[0]], three],
        "window": [["2024-03-10", "2024-03-16"], ["2024-03-22", "2024-03-22"]],
        "search": ["ceasefire", "border"],
    }


def _apps(n_label: str, store_dir: Path, dataset_id: str, parquet: Path) -> list[browser.App]:
    return [
        browser.project_app(f"project-{n_label}", store_dir, f"/?dataset={dataset_id}"),
        browser.App(
            name=f"peer-{n_label}",
            script=BENCH / "naive_app.py",
            env={"BENCH_PARQUET": str(parquet)},
            query="/",
            search_label="Search",
            from_label="From",
            to_label="To",
        ),
    ]


def bench_import(n: int, with_id: bool, out: Path, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Generate the CSV (with or without its id column) and race its import: the figures, the dataset id
    and the store the first import was saved in."""
    label = f"{_label(n)}{'' if with_id else '-noid'}"
    dataset_id = f"bench-{label}"
    csv = out / f"events-{label}.csv"
    t0 = time.perf_counter()
    generate.generate(csv, n, SEED, with_id=with_id)
    generate_s = time.perf_counter() - t0
    log(f"[{label}] generated {csv.name} ({csv.stat().st_size / 1e6:.0f} MB) in {generate_s:.1f} s")
    store_dir = out / f"store-{label}"
    # Best of 5 (3 from BIG_SIZE): the first import of a fresh process is about twice as slow (this VM is
    # slow to touch fresh memory) for the project and the baseline alike.
    big = n >= BIG_SIZE
    imported = _worker(
        "import",
        {
            "csv": str(csv),
            "work": str(out / f"import-work-{label}"),
            "store_dir": str(store_dir),
            "dataset_id": dataset_id,
            "reps": QUICK_IMPORT_REPS if quick else BIG_IMPORT_REPS if big else IMPORT_REPS,
            "peak_reps": IMPORT_PEAK_REPS,
            "peak_timeout": 3600 if big else 900,
        },
        out,
        timeout_s=7200 if big else 1800,
    )
    imported.update(generate_s=generate_s, dataset_id=dataset_id, store_dir=str(store_dir))
    if "error" in imported:
        log(f"[{label}] import FAILED: {imported['error']}")
    else:
        log(
            f"[{label}] import: project {imported['project_s']:.2f} s, "
            f"pyarrow read_csv + write_table {imported['baseline_s']:.2f} s; peak memory project "
            f"{_bytes(imported.get('project_peak_bytes'))}, "
            f"pyarrow {_bytes(imported.get('baseline_peak_bytes'))}"
        )
    return imported


def bench_engines(
    n: int,
    dataset_id: str,
    store_dir: Path,
    scenarios: dict[str, list[Any]],
    out: Path,
    quick: bool,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The query layer alone on each engine, each in a fresh process (information): {engine: result}."""
    found: dict[str, Any] = {}
    for engine in ENGINE_KINDS:
        measured = _worker(
            "engines",
            {
                "app": engine,  # names the log
                "engine": engine,
                "store_dir": str(store_dir),
                "dataset_id": dataset_id,
                "scenarios": scenarios,
                "reps": 2 if quick else ENGINE_REPS,
                "spark_master": SPARK_MASTER,
            },
            out,
            timeout_s=3600 if n >= BIG_SIZE else 1200,
        )
        found[engine] = measured
        if "error" in measured:
            log(f"[{_label(n)}] engine {engine} FAILED: {measured['error']}")
        else:
            views = measured.get("views", [])
            total = sum(v.get("count_s", 0) + v.get("figure_s", 0) for v in views)
            failed = sum("error" in v for v in views)
            log(
                f"[{_label(n)}] engine {engine}: session {measured['session_start_s']:.2f} s, "
                f"{len(views)} views count + figure {total:.2f} s in all"
                + (f", {failed} views failed" if failed else "")
            )
    return found


def bench_size(
    n: int,
    out: Path,
    quick: bool,
    log: Callable[[str], None],
    id_kinds: tuple[bool, ...] = (True, False),
    engines: bool = True,
) -> dict[str, Any]:
    """Import races for each kind of CSV, then reruns and cold opens on the first kind's store (the peer's
    only up to PEER_MAX_SIZE), then the engines' query layer alone."""
    label = _label(n)
    imports = {ID_KINDS[with_id]: bench_import(n, with_id, out, quick, log) for with_id in id_kinds}
    imported = imports[ID_KINDS[id_kinds[0]]]
    dataset_id, store_dir = imported["dataset_id"], Path(imported["store_dir"])
    result: dict[str, Any] = {"n": n, "dataset_id": dataset_id, "imports": imports}
    if "error" in imported:
        return result
    scenarios = _scenarios(imported["events_parquet"])
    result["scenarios"] = scenarios
    peer = n <= PEER_MAX_SIZE
    parquet = out / f"peer-{label}.parquet"
    if peer:
        shutil.copyfile(imported["events_parquet"], parquet)  # the peer reads the same canonical events
    else:
        log(f"[{label}] peer {PEER_SKIPPED}")
        result["reruns_peer"] = {"skipped": PEER_SKIPPED}
        result["browser_peer"] = {"skipped": PEER_SKIPPED}

    for app in ("project", "peer") if peer else ("project",):
        reruns = _worker(
            "reruns",
            {
                "app": app,
                "dataset_id": dataset_id,
                "store_dir": str(store_dir),
                "parquet": str(parquet),
                "scenarios": scenarios,
                "reps": 2 if quick else 3,
                "timeout": 900,
            },
            out,
            timeout_s=2400,
        )
        result[f"reruns_{app}"] = reruns
        if "error" in reruns:
            log(f"[{label}] {app} reruns FAILED: {reruns['error']}")
        else:
            medians = ", ".join(
                f"{k} " + " / ".join(f"{p['median_s']:.3f}" for p in v["per_value"]) + " s"
                for k, v in reruns["scenarios"].items()
            )
            log(f"[{label}] {app} reruns (median): {medians}")

    for app in _apps(label, store_dir, dataset_id, parquet)[: 2 if peer else 1]:
        kind = app.name.split("-")[0]
        measured = browser.measure(
            app,
            out,
            cold_timeout_s=60 if kind == "project" else 240,
            reps=2 if quick else 3,
            cold_opens=1 if quick else 3,
        )
        result[f"browser_{kind}"] = measured
        shown = measured.get("cold_open_s")
        shown_text = f"{shown:.2f} s" if shown is not None else "not drawn"
        hwm = measured.get("memory", {}).get("hwm_bytes", 0)
        log(f"[{label}] {kind} cold open {shown_text}, server peak {hwm / 1e9:.2f} GB {measured['notes']}")
    if engines:
        result["engines"] = bench_engines(n, dataset_id, store_dir, scenarios, out, quick, log)
    return result


# --- the table --------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _bytes(value: float | None) -> str:
    if value is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f} B"


def _times(peer: float | None, project: float | None, better: str, worse: str) -> str:
    """How many times better the project is than the peer (peer / project), or worse."""
    if not peer or not project:
        return "—"
    ratio = peer / project
    return f"{ratio:.1f}× {better}" if ratio >= 1 else f"{1 / ratio:.1f}× {worse}"


def _met(ok: bool | None, binding: bool) -> str:
    if ok is None:
        return "—"
    if binding:
        return "yes" if ok else "**NO**"
    return "(yes)" if ok else "(no)"


def _opens(measured: dict[str, Any] | None) -> int:
    """How many cold opens a browser measurement's cold_open_s is the median of."""
    return len(_get(measured or {}, "cold_open_all_s") or [None])


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


@dataclass(frozen=True)
class Targets:
    """PRODUCT.md's targets a size is judged by: binding from TARGET_SIZE (the 1M targets) and from BIG_SIZE
    (the 10M ones); below TARGET_SIZE every verdict but figure bytes is information, in parentheses."""

    binding: bool
    import_max_ratio: float
    import_peak_max_bytes: float | None  # None: no target (information)
    rerun_max_s: float
    rerun_min_speedup: float | None  # None: no comparison with the peer
    cold_open_max_s: float
    server_peak_max_bytes: float | None

    @classmethod
    def of(cls, n: int) -> Targets:
        if n >= BIG_SIZE:
            return cls(
                True,
                BIG_IMPORT_MAX_RATIO,
                BIG_IMPORT_PEAK_MAX_BYTES,
                BIG_RERUN_MAX_S,
                None,
                BIG_COLD_OPEN_MAX_S,
                BIG_SERVER_PEAK_MAX_BYTES,
            )
        return cls(
            n >= TARGET_SIZE, IMPORT_MAX_RATIO, None, RERUN_MAX_S, RERUN_MIN_SPEEDUP, COLD_OPEN_MAX_S, None
        )


def _peer_skipped(r: dict[str, Any]) -> bool:
    return "skipped" in (r.get("reruns_peer") or {})


def _theirs(r: dict[str, Any], value: str) -> str:
    """The peer's cell: PEER_SKIPPED when the peer was not run at this size."""
    return PEER_SKIPPED if _peer_skipped(r) else value


def _rerun_verdict(
    targets: Targets, mine: float | None, speedup: float | None, peer_run: bool
) -> tuple[str, bool | None]:
    """A rerun row's target text and whether it is met (None: not measured)."""
    limit = f"≤ {targets.rerun_max_s:g} s"
    if targets.rerun_min_speedup is None:
        return limit, None if mine is None else mine <= targets.rerun_max_s
    if not peer_run:  # judged on the time alone
        text = f"{limit} (≥ {targets.rerun_min_speedup:g}× faster: peer not run)"
        return text, None if mine is None else mine <= targets.rerun_max_s
    text = f"{limit} and ≥ {targets.rerun_min_speedup:g}× faster"
    ok = None if mine is None else mine <= targets.rerun_max_s and (speedup or 0) >= targets.rerun_min_speedup
    return text, ok


def table_rows(sizes: list[dict[str, Any]], floor: dict[str, Any] | None) -> list[list[str]]:
    rows: list[list[str]] = []
    for r in sizes:
        n = r["n"]
        targets = Targets.of(n)
        at_target = targets.binding
        size = f"{n:,}"
        peer_run = not _peer_skipped(r)
        for kind, imp in r.get("imports", {}).items():
            if "project_s" in imp:
                ratio = imp["project_s"] / imp["baseline_s"]
                rows.append(
                    [
                        f"import CSV {kind} ({_bytes(imp['csv_bytes'])}), best of {len(imp['baseline_all'])}",
                        size,
                        _s(imp["project_s"]),
                        _s(imp["baseline_s"]),
                        f"{ratio:.2f}× baseline",
                        f"≤ {targets.import_max_ratio:g}× baseline",
                        _met(ratio <= targets.import_max_ratio, at_target),
                    ]
                )
            else:
                rows.append(
                    [
                        f"import CSV {kind}",
                        size,
                        "failed",
                        "—",
                        "—",
                        f"≤ {targets.import_max_ratio:g}×",
                        "**NO**",
                    ]
                )
            if "project_s" in imp or "peaks" in imp:
                rows.append(_import_peak_row(kind, imp, size, targets))
        project, peer = r.get("reruns_project", {}), r.get("reruns_peer", {})
        for name, title in SCENARIO_TITLES.items():
            mine_values = _get(project, "scenarios", name, "per_value") or []
            theirs_values = _get(peer, "scenarios", name, "per_value") or []
            for i, value in enumerate(r.get("scenarios", {}).get(name, [])):
                mine_value = mine_values[i] if i < len(mine_values) else {}
                theirs_value = theirs_values[i] if i < len(theirs_values) else {}
                mine, theirs = mine_value.get("median_s"), theirs_value.get("median_s")
                speedup = theirs / mine if mine and theirs else None
                target_text, ok = _rerun_verdict(targets, mine, speedup, peer_run)
                shown = mine_value.get("showing")
                shown_text = f", {shown:,} events" if shown is not None else ""
                reps = len(mine_value.get("times_s", []))
                first = mine_value.get("first_s")
                if name == "search" and first is not None:  # a text searched for the first time
                    first_target, first_ok = f"≤ {targets.rerun_max_s:g} s", first <= targets.rerun_max_s
                    rows.append(
                        [
                            f"rerun, {title} → {_describe(name, value)}{shown_text}, first time searched",
                            size,
                            _s(first),
                            "—",
                            "—",
                            first_target,
                            _met(first_ok, at_target),
                        ]
                    )
                rows.append(
                    [
                        f"rerun, {title} → {_describe(name, value)}{shown_text}, median of {reps}",
                        size,
                        _s(mine) if mine is not None else "failed",
                        _theirs(r, _s(theirs) if theirs is not None else "failed"),
                        _times(theirs, mine, "faster", "slower"),
                        target_text,
                        _met(ok, at_target),
                    ]
                )
        settings = [("unfiltered", ("unfiltered",))] + [
            (f"{title} (larger of 2)", ("scenarios", name)) for name, title in SCENARIO_TITLES.items()
        ]
        for title, path in settings:
            mine = _figure_bytes(project, path)
            theirs = _figure_bytes(peer, path)
            rows.append(
                [
                    f"figure bytes sent, {title}",
                    size,
                    _bytes(mine),
                    _theirs(r, _bytes(theirs)),
                    _times(theirs, mine, "smaller", "larger"),
                    "≤ 2 MB at any setting",
                    _met(None if mine is None else mine <= TWO_MB, True),
                ]
            )
        mine = _get(r, "browser_project", "cold_open_probe", "bytes")
        theirs = _get(r, "browser_peer", "cold_open_probe", "bytes")
        rows.append(
            _info_row(
                "page bytes over the websocket, cold open (figure, table, widgets)",
                size,
                _bytes(mine),
                _theirs(r, _bytes(theirs)),
                _times(theirs, mine, "smaller", "larger"),
            )
        )
        mine = _get(r, "browser_project", "cold_open_s")
        theirs = _get(r, "browser_peer", "cold_open_s")
        rows.append(
            [
                "cold open to drawn chart, headless Chromium, "
                f"median of {_opens(r.get('browser_project'))} fresh servers",
                size,
                _s(mine) if mine is not None else _not_drawn(r.get("browser_project")),
                _theirs(r, _s(theirs) if theirs is not None else _not_drawn(r.get("browser_peer"))),
                _times(theirs, mine, "faster", "slower"),
                f"≤ {targets.cold_open_max_s:g} s",
                _met(None if mine is None else mine <= targets.cold_open_max_s, at_target),
            ]
        )
        redraws = len(_get(r, "browser_project", "search_redraw_all_s") or [])
        for key, title in (
            ("warm_open_s", "open again, warm server (new browser context)"),
            ("search_redraw_s", f"search typed → chart redrawn, median of {redraws}"),
            ("window_redraw_s", f"“to” date typed (search on) → chart redrawn, median of {redraws}"),
        ):
            mine = _get(r, "browser_project", key)
            theirs = _get(r, "browser_peer", key)
            rows.append(
                _info_row(
                    f"browser: {title}",
                    size,
                    _s(mine),
                    _theirs(r, _s(theirs)),
                    _times(theirs, mine, "faster", "slower"),
                )
            )
        mine = _get(r, "browser_project", "memory", "hwm_bytes")
        theirs = _get(r, "browser_peer", "memory", "hwm_bytes")
        memory_row = [
            "server peak memory (VmHWM): cold open, filter changes, second open",
            size,
            _bytes(mine),
            _theirs(r, _bytes(theirs)),
            f"{mine / theirs:.2f}× peer" if mine and theirs else "—",
        ]
        if targets.server_peak_max_bytes is None:
            rows.append(_info_row(*memory_row))
        else:
            ok = None if not mine else mine <= targets.server_peak_max_bytes
            rows.append([*memory_row, f"≤ {_bytes(targets.server_peak_max_bytes)}", _met(ok, at_target)])
        mine, theirs = _get(project, "first_run_s"), _get(peer, "first_run_s")
        rows.append(
            _info_row(
                "first run, empty cache (AppTest: load + draw)",
                size,
                _s(mine),
                _theirs(r, _s(theirs)),
                _times(theirs, mine, "faster", "slower"),
            )
        )
        rows += _engine_rows(r, size)
    if floor is not None:
        rows.append(
            [
                f"floor: cold open of a 10-point Streamlit + Plotly page, median of {_opens(floor)}",
                "—",
                _s(floor.get("cold_open_s")),
                f"warm server: {_s(floor.get('warm_open_s'))}",
                "—",
                "(calibration)",
                "—",
            ]
        )
    return rows


def _import_peak_row(kind: str, imp: dict[str, Any], size: str, targets: Targets) -> list[str]:
    """Peak resident memory of the import and of the baseline, each in fresh child processes."""
    runs = max(len(_get(imp, "peaks", "project") or []), len(_get(imp, "peaks", "baseline") or []))
    metric = f"import peak memory, CSV {kind} (fresh process, largest of {runs})"
    mine, theirs = imp.get("project_peak_bytes"), imp.get("baseline_peak_bytes")
    mine_text = _bytes(mine) if mine is not None else "failed" if imp.get("project_peak_error") else "—"
    theirs_text = (
        _bytes(theirs) if theirs is not None else "failed" if imp.get("baseline_peak_error") else "—"
    )
    ratio = f"{mine / theirs:.2f}× baseline" if mine and theirs else "—"
    if targets.import_peak_max_bytes is None:
        return _info_row(metric, size, mine_text, theirs_text, ratio)
    limit = targets.import_peak_max_bytes
    ok = False if mine is None and imp.get("project_peak_error") else None if mine is None else mine <= limit
    return [metric, size, mine_text, theirs_text, ratio, f"≤ {_bytes(limit)}", _met(ok, targets.binding)]


def _engine_rows(r: dict[str, Any], size: str) -> list[list[str]]:
    """Information: the query layer alone on Spark (project column) and on DuckDB (the other column)."""
    measured = r.get("engines")
    if not measured:
        return []
    spark, duck = measured.get("spark") or {}, measured.get("duckdb") or {}
    title = f"Spark {SPARK_MASTER}"
    if "session_start_s" not in spark:
        problem = spark.get("error", "not run")
        return [_info_row(f"{title}: failed ({problem[:200]})", size, "failed", _duck_cell(duck, None), "—")]
    rows = [
        _info_row(
            f"{title}: session start (DuckDB: connect)",
            size,
            _s(spark["session_start_s"]),
            _s(duck.get("session_start_s")) if "session_start_s" in duck else _duck_cell(duck, None),
            _times(duck.get("session_start_s"), spark["session_start_s"], "faster", "slower"),
        )
    ]
    duck_views = {(v["scenario"], json.dumps(v["value"])): v for v in duck.get("views", [])}
    for view in spark.get("views", []):
        other = duck_views.get((view["scenario"], json.dumps(view["value"])))
        name = view["scenario"]
        what = (
            "unfiltered"
            if name == "unfiltered"
            else f"{SCENARIO_TITLES[name]} → {_describe(name, view['value'])}"
        )
        events = f", {view['events']:,} events" if "events" in view else ""
        reps = len(view.get("count_all_s", []))
        mine_total = view["count_s"] + view["figure_s"] if "count_s" in view else None
        theirs_total = other["count_s"] + other["figure_s"] if other and "count_s" in other else None
        rows.append(
            _info_row(
                f"{title}: count + timeline figure, {what}{events}"
                + (f", median of {reps}" if reps else "")
                + " (DuckDB alongside)",
                size,
                _count_figure(view),
                _duck_cell(duck, other),
                _times(theirs_total, mine_total, "faster", "slower"),
            )
        )
    if spark.get("error"):
        rows.append(_info_row(f"{title}: failed ({spark['error'][:200]})", size, "failed", "—", "—"))
    return rows


def _count_figure(view: dict[str, Any] | None) -> str:
    if not view:
        return "—"
    if "count_s" not in view:
        return f"failed ({view.get('error', '?')[:120]})"
    return f"{_s(view['count_s'])} + {_s(view['figure_s'])}"


def _duck_cell(duck: dict[str, Any], view: dict[str, Any] | None) -> str:
    if "error" in duck and "session_start_s" not in duck:
        return f"DuckDB failed ({duck['error'][:120]})"
    return "—" if not duck else f"DuckDB {_count_figure(view)}" if view else "—"


def _info_row(metric: str, size: str, mine: str, theirs: str, ratio: str) -> list[str]:
    """A table row reported for information: no target, so no verdict."""
    return [metric, size, mine, theirs, ratio, "(info)", "—"]


def _describe(name: str, value: Any) -> str:
    if name == "actor":
        return f"{len(value)} actor{'s' if len(value) != 1 else ''}"
    if name == "window":
        return f"{value[0]} – {value[1]}"
    return f"“{value}”"


def _figure_bytes(reruns: dict[str, Any], path: tuple[str, ...]) -> int | None:
    found = _get(reruns, *path)
    if found is None:
        return None
    states = found.get("per_value", [found])
    return max(state["figure_bytes"] for state in states)


def _not_drawn(measured: dict[str, Any] | None) -> str:
    if not measured:
        return "—"
    timeout = measured.get("cold_open_timeout_s")
    return f"> {timeout:.0f} s (not drawn)" if timeout else "failed"


def markdown_table(rows: list[list[str]]) -> str:
    header = ["metric", "size", "project", "peer / baseline", "ratio", "target", "met?"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- the machine ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    import pandas
    import plotly
    import pyarrow
    import streamlit

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    try:
        chromium = subprocess.run(
            [str(browser.CHROMIUM), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        chromium = "missing"
    git = _git("rev-parse", "--short", "HEAD")
    changed = _git("status", "--porcelain")
    dirty = f" + uncommitted changes in {len(changed.splitlines())} files" if changed else ""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "ram": f"{mem_kib / 1024**2:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "pandas": pandas.__version__,
        "streamlit": streamlit.__version__,
        "plotly": plotly.__version__,
        "chromium": chromium or "unknown",
        "commit": f"{git or 'unknown'}{dirty}",
    }


def _load() -> str:
    """1, 5 and 15 minute load averages: other work on the machine skews every timing here."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def notes(sizes: list[dict[str, Any]], floor: dict[str, Any] | None) -> list[str]:
    found = []
    for r in sizes:
        n = f"{r['n']:,}"
        for kind, imp in r.get("imports", {}).items():
            if "project_best" in imp:
                best = imp["project_best"]
                summary = imp.get("summary", {})
                stored = _bytes(summary.get("parquet_bytes"))
                found.append(
                    f"{n}, {kind}: the project's best import is reading {best['read_events']:.2f} s + "
                    f"store.save {best['save']:.2f} s; {summary.get('accepted', 0):,} accepted, "
                    f"{summary.get('rejected', 0):,} rejected, {summary.get('duplicates', 0):,} duplicates, "
                    f"stored Parquet {stored}."
                )
            if "error" in imp:
                found.append(f"{n}: import {kind} failed: {imp['error']}")
            for side in ("project", "baseline"):
                if f"{side}_peak_error" in imp:
                    found.append(
                        f"{n}: import {kind}, {side} peak memory failed: {imp[f'{side}_peak_error']}"
                    )
        for key in ("reruns_project", "reruns_peer"):
            if "error" in r.get(key, {}):
                found.append(f"{n}: {key} failed: {r[key]['error']}")
        if _peer_skipped(r):
            found.append(
                f"{n}: the naive peer is run up to {PEER_MAX_SIZE:,} events only (it holds every event in "
                "pandas and plots them all): no peer reruns, browser runs or speedups at this size."
            )
        for engine, measured in (r.get("engines") or {}).items():
            if measured.get("error"):
                found.append(f"{n}: engine {engine} failed: {measured['error']}")
            for view in measured.get("views", []):
                if "error" in view:
                    found.append(
                        f"{n}: engine {engine}, {view['scenario']} {json.dumps(view['value'])}: "
                        f"{view['error']}"
                    )
            counts = {
                json.dumps([v["scenario"], v["value"]]): v.get("events") for v in measured.get("views", [])
            }
            if engine != "duckdb" and counts and (r.get("engines") or {}).get("duckdb"):
                theirs = {
                    json.dumps([v["scenario"], v["value"]]): v.get("events")
                    for v in r["engines"]["duckdb"].get("views", [])
                }
                differ = [k for k in counts if k in theirs and counts[k] != theirs[k]]
                if differ:
                    found.append(f"{n}: engine {engine} counts differ from DuckDB's for {', '.join(differ)}")
        scenarios = r.get("scenarios", {})
        for name in scenarios:
            mine = _get(r, "reruns_project", "scenarios", name, "per_value") or []
            theirs = _get(r, "reruns_peer", "scenarios", name, "per_value") or []
            counts = [(a.get("showing"), b.get("showing")) for a, b in zip(mine, theirs, strict=False)]
            values = " / ".join(json.dumps(v) for v in scenarios[name])
            shown = ", ".join(
                f"{a:,} vs {b:,}" if a is not None and b is not None else "?" for a, b in counts
            )
            found.append(
                f"{n}: {SCENARIO_TITLES[name]} values {values}; events shown project vs peer: {shown}."
            )
        for kind in ("project", "peer"):
            measured = r.get(f"browser_{kind}") or {}
            probe = measured.get("cold_open_probe")
            if probe and probe.get("wsOpen") is not None and probe.get("chartMounted") is not None:
                first = "its loading placeholder" if kind == "project" else "the chart"
                found.append(
                    f"{n}: cold open, {kind}: page and scripts loaded, websocket open at "
                    f"{probe['wsOpen'] / 1000:.2f} s; first Plotly chart rendered ({first}, once plotly.js "
                    f"is loaded) at {probe['chartMounted'] / 1000:.2f} s; traces drawn at "
                    f"{measured['cold_open_s']:.2f} s (server process started "
                    f"{measured['server_start_s']:.2f} s before the navigation)."
                )
            for note in measured.get("notes", []):
                found.append(f"{n}: browser, {kind}: {note}")
            for alert in measured.get("alerts", []) or []:
                found.append(f"{n}: browser, {kind}, message on the page: {alert.splitlines()[0][:200]}")
            for error in measured.get("page_errors", []) or []:
                found.append(f"{n}: browser, {kind}, page error: {error[:200]}")
    if floor is not None:
        found += [f"floor page: {note}" for note in floor.get("notes", [])]
    return found


def write_results(report: dict[str, Any], rows: list[list[str]], target: Path = RESULTS_MD) -> str:
    m = report["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{report.get('command', COMMAND)}` (see bench/README.md) on {m['date']}, in "
        f"{report['elapsed_s'] / 60:.1f} min. Raw numbers: {report.get('results_json', RESULTS_JSON)}.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in m.items()],
        "",
        "## Figures",
        "",
        markdown_table(rows),
        "",
        f"Targets are PRODUCT.md's, stated for {TARGET_SIZE:,} events and for {BIG_SIZE:,}: each size is "
        "judged by the targets of the largest of these it reaches; met? in parentheses is for information "
        f"at a size below {TARGET_SIZE:,} (figure bytes hold at any size). From {BIG_SIZE:,} events a rerun "
        f"must take at most {BIG_RERUN_MAX_S:g} s with no comparison to the peer, the page server's peak "
        f"memory at most {_bytes(BIG_SERVER_PEAK_MAX_BYTES)} and the import's at most "
        f"{_bytes(BIG_IMPORT_PEAK_MAX_BYTES)} (both information below). The peer is run up to "
        f"{PEER_MAX_SIZE:,} events only. Import peak memory is each side's VmHWM in a fresh child "
        "process running one import (the interpreter included; pyarrow's without the project loaded). "
        f"The Spark {SPARK_MASTER} rows time the query layer alone (no page): query.count and "
        "figures.timeline_figure per view, Spark in the project column and DuckDB alongside, for "
        "information. Rerun "
        "times are AppTest's (server side: the script and its serialization), each value's median over "
        "the timed changes to it from the other value, after a warm-up; the peer is "
        "bench/naive_app.py on the same canonical events. Browser times are wall clock in headless "
        "Chromium (SwiftShader WebGL) "
        "from navigation or Enter to the chart's traces drawn.",
        "",
        "## Notes",
        "",
        *[f"- {note}" for note in report["notes"]],
        "",
    ]
    text = "\n".join(lines)
    target.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="event counts (default 100000 1000000)")
    parser.add_argument("--quick", action="store_true", help="100k only, fewer repetitions (< 3 min)")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="work directory (default bench/out)")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS_MD,
        help="where the markdown goes (default bench/RESULTS.md; e.g. /tmp/check.md for a trial run)",
    )
    parser.add_argument(
        "--no-engines",
        action="store_true",
        help=f"leave out the DuckDB / Spark {SPARK_MASTER} query-layer rows",
    )
    parser.add_argument(
        "--ids",
        choices=tuple(ID_CHOICES),
        default="both",
        help="race the import of CSVs with an id column, without, or both (default); the pages open the "
        "first one imported",
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or ([100_000] if args.quick else [100_000, 1_000_000])
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"{time.perf_counter() - started:7.1f} s  {message}", flush=True)

    report: dict[str, Any] = {"quick": args.quick, "machine": machine(), "sizes": []}
    report["command"] = " ".join([COMMAND, *(sys.argv[1:] if argv is None else argv)])
    results_json = out / "results.json"
    report["results_json"] = str(
        results_json.relative_to(ROOT) if results_json.is_relative_to(ROOT) else results_json
    )
    report["machine"]["load average at start"] = _load()
    floor_app = browser.App("floor", BENCH / "floor_app.py", {}, "/", "Search", "From", "To", interact=False)
    report["floor"] = browser.measure(floor_app, out, cold_timeout_s=60, cold_opens=1 if args.quick else 3)
    log(f"floor page cold open {report['floor'].get('cold_open_s')}")
    for n in sizes:
        report["sizes"].append(bench_size(n, out, args.quick, log, ID_CHOICES[args.ids], not args.no_engines))
        results_json.write_text(json.dumps(report, indent=1))
    report["elapsed_s"] = time.perf_counter() - started
    report["machine"]["load average at end"] = _load()
    report["notes"] = notes(report["sizes"], report["floor"])
    rows = table_rows(report["sizes"], report["floor"])
    results_json.write_text(json.dumps(report, indent=1))
    print()
    print(write_results(report, rows, args.results.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
