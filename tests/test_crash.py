"""Crashes and concurrency at the command line: SIGKILL mid-import, eight imports at once; nothing lost."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from timeline import schema, store

ROOT = Path(__file__).resolve().parents[1]
SEED = 6
KILLS = 10  # SIGKILLs at seeded moments spread over one import
WRITE_KILLS = 4  # of which these come 0-5 ms after the import starts writing its version
CRASH_ROWS = 250_000  # an import of about a second on the 2-core machine (more while it is optimised)
CONCURRENT = 8
CONCURRENT_ROWS = 20_000
TIMEOUT_S = 120
EVENT_TYPES = ("attack", "claim", "statement", "condolence", "arrest")
ZONES = ("UTC", "Europe/Moscow", "Asia/Tokyo", "America/New_York", "Europe/Paris")


def _csv(rows: int, seed: int, *, first_id: int = 0) -> bytes:
    """A plain events CSV with ids, offsets, a few bad dates and exact duplicates; same seed, same bytes."""
    rng = random.Random(seed)
    lines = ["id,date,actor,event_type,title,fatalities,source_url"]
    for n in range(first_id, first_id + rows):
        stamp = f"2024-03-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{rng.randrange(60):02d}+03:00"
        if n % 997 == 0:
            stamp = "not a date"
        lines.append(
            f"e{seed}-{n},{stamp},actor {rng.randrange(200)},{EVENT_TYPES[n % 5]},event {n},{n % 7},https://example.org/{n}"
        )
        if n % 1999 == 0:
            lines.append(lines[-1])  # an exact duplicate
    return ("\n".join(lines) + "\n").encode()


def _env(root: Path) -> dict[str, str]:
    return {
        "TIMELINE_DATA_DIR": str(root),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
    }


def _start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "timeline", *args],
        cwd=ROOT,
        env=_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _import(root: Path, path: Path, name: str, *extra: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "timeline", "import", str(path), "--name", name, "--json", *extra],
        cwd=ROOT,
        env=_env(root),
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Stored:
    """A version as it was: the hash of each of its files and its events."""

    files: dict[str, str]
    rows: int


def _versions(root: Path) -> dict[tuple[str, str], Stored]:
    """Every complete version in the store, read back in full, with its files' hashes."""
    found = {}
    for dataset in store.list_datasets(root=root):
        for info in dataset.versions:
            events = store.load(dataset.dataset_id, info.version, root=root)
            assert events.schema.equals(schema.ARROW_SCHEMA)
            files = {n: hashlib.sha256((info.path / n).read_bytes()).hexdigest() for n in store.VERSION_FILES}
            found[(dataset.dataset_id, info.version)] = Stored(files, events.num_rows)
    return found


def _tmp_dirs(dataset_dir: Path) -> set[str]:
    """The hidden directories a save writes a version into before renaming it into place."""
    return (
        {p.name for p in dataset_dir.iterdir() if p.name.startswith(".tmp-")}
        if dataset_dir.is_dir()
        else set()
    )


def _wait_for_a_new_tmp_dir(dataset_dir: Path, before: set[str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not _tmp_dirs(dataset_dir) - before and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0002)


def _check_complete(root: Path, dataset_id: str, version: str) -> dict:
    """A version's three files are whole and agree: Parquet readable, meta parseable, counts consistent."""
    path = root / dataset_id / version
    events = pq.read_table(path / store.EVENTS_FILE)
    meta = json.loads((path / store.META_FILE).read_text(encoding="utf-8"))
    rejects = store.load_rejects(dataset_id, version, root=root)
    assert meta["rows"] == events.num_rows
    assert meta["rows_read"] == meta["accepted"] + meta["rejected"] + meta["duplicates"]
    assert rejects.num_rows == meta["rejected"]
    if not meta.get("parent_version"):
        assert meta["accepted"] == events.num_rows
    assert len(set(events[schema.EVENT_ID].to_pylist())) == events.num_rows
    return meta


def test_sigkill_at_any_moment_of_an_import_loses_nothing(tmp_path: Path) -> None:
    """Killed at ten seeded moments of an import, the store still opens with every earlier version intact."""
    root = tmp_path / "store"
    first, second, big = tmp_path / "first.csv", tmp_path / "second.csv", tmp_path / "big.csv"
    first.write_bytes(_csv(500, seed=1))
    second.write_bytes(_csv(800, seed=2))
    big.write_bytes(_csv(CRASH_ROWS, seed=3))
    _import(root, first, "target")
    _import(root, second, "target")
    _import(root, first, "bystander")

    durations = []
    for name in ("timed-1", "timed-2"):  # how long one whole import takes here, to spread the kills over it
        started = time.monotonic()
        _import(root, big, name)
        durations.append(time.monotonic() - started)
    whole = min(durations)
    before = _versions(root)
    assert len(before) == 5

    rng = random.Random(SEED)
    # Most kills at moments spread over the import; the last ones just after it starts writing its version.
    moments = sorted(rng.uniform(0.05 * whole, 0.9 * whole) for _ in range(KILLS - WRITE_KILLS))
    moments += [("writing", rng.uniform(0, 0.005)) for _ in range(WRITE_KILLS)]
    killed, mid_write = 0, 0
    for n, moment in enumerate(moments):
        # A zone of its own makes each import's content (its meta) new, so each one has a version to write.
        append = ("--append",) if n % 2 else ()
        tmp_before = _tmp_dirs(root / "target")
        process = _start(root, "import", str(big), "--name", "target", "--tz", ZONES[n % len(ZONES)], *append)
        if isinstance(moment, tuple):
            _wait_for_a_new_tmp_dir(root / "target", tmp_before, process)
            time.sleep(moment[1])
        else:
            time.sleep(moment)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.communicate(timeout=TIMEOUT_S)
        mid_write += len(_tmp_dirs(root / "target") - tmp_before)
        after = _versions(root)  # list_datasets works and every listed version reads back whole
        assert {key: after[key] for key in before} == before, (
            f"an earlier version changed (kill {n}: {moment})"
        )
        for dataset_id, version in after:
            _check_complete(root, dataset_id, version)
        before = after
    print(f"one import took {whole:.2f} s; {killed} of {KILLS} killed mid-import, {mid_write} while writing")
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} imports were still running when killed"

    report = _import(root, second, "target", "--append")  # no lock or leftover blocks the next import
    assert report["accepted"] == 800 - 1  # one bad date in 800 rows
    for path in (root / "target").iterdir():  # killed writes left at most hidden .tmp- directories
        assert path.name.startswith(".") or all((path / name).is_file() for name in store.VERSION_FILES), path


def _run_all(commands: list[list[str]], root: Path) -> list[dict]:
    """Start every command at once and wait for them; each must exit 0 with nothing on stderr."""
    processes = [_start(root, *command) for command in commands]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0 and err == b"", (process.returncode, err)
        reports.append(json.loads(out))
    return reports


def test_eight_concurrent_imports_into_one_dataset_and_into_eight(tmp_path: Path) -> None:
    """Eight imports at once, four into one dataset and four into their own, leave every version complete."""
    root = tmp_path / "store"
    files = []
    for n in range(CONCURRENT):
        files.append(tmp_path / f"part-{n}.csv")
        files[-1].write_bytes(_csv(CONCURRENT_ROWS, seed=10 + n))
    commands = [
        ["import", str(path), "--name", "shared" if n % 2 else f"own-{n}", "--json"]
        for n, path in enumerate(files)
    ]
    reports = _run_all(commands, root)

    datasets = {d.dataset_id: d for d in store.list_datasets(root=root)}
    assert sorted(datasets) == sorted(["shared"] + [f"own-{n}" for n in range(0, CONCURRENT, 2)])
    assert len(datasets["shared"].versions) == CONCURRENT // 2
    for dataset in datasets.values():
        for info in dataset.versions:
            meta = _check_complete(root, dataset.dataset_id, info.version)
            assert meta["rows"] == CONCURRENT_ROWS - len(range(0, CONCURRENT_ROWS, 997))
    for report in reports:
        assert report["rows_read"] == report["accepted"] + report["rejected"] + report["duplicates"]
        assert Path(report["rejects_file"]).is_file()
    assert len({info.created for info in datasets["shared"].versions}) == CONCURRENT // 2


def test_eight_concurrent_appends_keep_every_event(tmp_path: Path) -> None:
    """Eight `import --append` at once into one dataset: the newest version holds all their events."""
    root = tmp_path / "store"
    commands, expected = [], 0
    for n in range(CONCURRENT):
        path = tmp_path / f"append-{n}.csv"
        path.write_bytes(_csv(CONCURRENT_ROWS // 4, seed=20 + n))
        commands.append(["import", str(path), "--name", "appended", "--append", "--json"])
        expected += CONCURRENT_ROWS // 4 - len(range(0, CONCURRENT_ROWS // 4, 997))
    _run_all(commands, root)
    [dataset] = store.list_datasets(root=root)
    assert len(dataset.versions) == CONCURRENT
    for info in dataset.versions:
        _check_complete(root, "appended", info.version)
    assert store.load("appended", root=root).num_rows == expected


def test_the_command_line_exit_status_is_stable_under_load(tmp_path: Path) -> None:
    """Twenty-four validations, four at a time, all exit 0 with nothing on stderr (no abort at exit)."""
    path = tmp_path / "small.csv"
    path.write_bytes(_csv(300, seed=30))
    for _ in range(6):
        _run_all([["validate", str(path), "--json"]] * 4, tmp_path / "store")


def test_a_write_killed_midway_leaves_nothing_after_the_next_start(tmp_path: Path) -> None:
    """kill -9 while an import writes its version: the half-written .tmp- folder is invisible, and the next
    command that opens the store removes it (no write holds the dataset's lock by then)."""
    root = tmp_path / "store"
    big = tmp_path / "big.csv"
    big.write_bytes(_csv(CRASH_ROWS, seed=40))
    _import(root, big, "target")
    before = _versions(root)
    leftovers: set[str] = set()
    for zone in ZONES[1:]:  # a new zone, a new version to write; a few tries to catch one mid-write
        process = _start(root, "import", str(big), "--name", "target", "--tz", zone)
        _wait_for_a_new_tmp_dir(root / "target", set(), process)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=TIMEOUT_S)
        leftovers = _tmp_dirs(root / "target")
        if leftovers:
            break
    assert leftovers, "no import was caught writing its version"
    assert _versions(root) == before
    listing = subprocess.run(
        [sys.executable, "-m", "timeline", "list"], cwd=ROOT, env=_env(root), capture_output=True, check=False
    )
    assert listing.returncode == 0 and listing.stderr == b""
    assert _tmp_dirs(root / "target") == set()
    assert _versions(root) == before
