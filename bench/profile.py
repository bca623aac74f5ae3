"""Where the project's time goes: pyinstrument profiles of its import and of each rerun scenario.

`.venv/bin/python -m bench.profile [--size 1000000] [--skip-import]` — reuses bench/out/events-<size>.csv
and bench/out/store-<size>/ from a `python -m bench.run` when they exist, else makes them. Writes
bench/out/profile-<size>-<step>.txt and .html and prints the top of each. Needs pyinstrument
(not in requirements.txt: `pip install pyinstrument==5.1.3`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import generate, measure, run

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard.py"
PAGE = Path(__file__).with_name("_profiled_page.py")
ARMED: Any = None  # the Profiler bench/_profiled_page.py starts around each script run
SHOWN_LINES = 45


def _profiler() -> Any:
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit(
            "bench.profile needs pyinstrument: .venv/bin/pip install pyinstrument==5.1.3"
        ) from None
    return Profiler(interval=0.001)


def _write(profiler: Any, out: Path, label: str, step: str, note: str) -> None:
    from pyinstrument.renderers import ConsoleRenderer

    session = profiler.last_session
    if session is None:
        print(f"--- {step}: nothing recorded")
        return
    text = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False).render(session)
    (out / f"profile-{label}-{step}.txt").write_text(text)
    (out / f"profile-{label}-{step}.html").write_text(profiler.output_html())
    print(f"\n--- {step}: {note}")
    print("\n".join(text.splitlines()[:SHOWN_LINES]))


def profile_import(csv: Path, out: Path, label: str) -> None:
    import tempfile

    profiler = _profiler()
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        profiler.start()
        measure.project_import(csv, "profile", Path(tmp))
        profiler.stop()
    _write(profiler, out, label, "import", f"streamed_import.read_path + store.save of {csv.name}")


def profile_page(
    store_dir: Path, dataset_id: str, scenarios: dict[str, list[Any]], out: Path, label: str
) -> None:
    global ARMED
    os.environ["TIMELINE_DATA_DIR"] = str(store_dir)
    page = measure._App("project", dataset_id, 900, script=PAGE)

    def profiled(step: str, note: str, changes: list[tuple[str | None, Any]]) -> None:
        global ARMED
        ARMED = _profiler()
        t0 = time.perf_counter()
        for name, value in changes:
            if name:
                page.set(name, value)
            page.run()
        elapsed = time.perf_counter() - t0
        _write(ARMED, out, label, step, f"{note}: {len(changes)} runs in {elapsed:.2f} s under the profiler")
        ARMED = None

    profiled("first-run", "the first run (load, prepare, draw)", [(None, None)])
    profiled("unfiltered-rerun", "reruns with nothing changed", [(None, None)] * 3)
    previous = None
    for name, values in scenarios.items():
        if previous is not None:
            page.set(previous, None)
        page.set(name, values[0])
        page.run()
        changes = [(name, values[k % len(values)]) for k in range(1, 5)]
        profiled(name, f"{run.SCENARIO_TITLES[name]} changes alternating {values}", changes)
        previous = name
    ARMED = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    label = run._label(args.size)
    dataset_id = f"bench-{label}"
    csv = out / f"events-{label}.csv"
    if not csv.exists():
        generate.generate(csv, args.size, run.SEED)
    if not args.skip_import:
        profile_import(csv, out, label)
    store_dir = out / f"store-{label}"
    if not store_dir.exists():
        measure.import_race(str(csv), str(out / f"import-work-{label}"), str(store_dir), dataset_id, 1)
    parquet = next(store_dir.glob(f"{dataset_id}/*/events.parquet"))
    profile_page(store_dir, dataset_id, run._scenarios(str(parquet)), out, label)
    return 0


if __name__ == "__main__":
    from bench import profile as this  # the state lives in bench.profile, where the page looks for it

    sys.exit(this.main())
