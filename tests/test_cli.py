"""The command line: import, validate, list, export, with the exit statuses of the contract."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from timeline import cli

DATA = Path(__file__).parent / "data"
PLAIN = DATA / "plain_date_who_what.csv"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    monkeypatch.setenv("TIMELINE_DATA_DIR", str(root))
    return root


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_import_json_reports_counts_and_saves(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`import --json` prints the contract's keys, conservation holds, and the dataset is stored."""
    code, out, _ = _run(["import", str(PLAIN), "--name", "My Events", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    for key in ("dataset", "rows_read", "accepted", "rejected", "duplicates", "mapping", "rejects_file"):
        assert key in report
    assert report["dataset"] == "my-events"
    assert report["rows_read"] == report["accepted"] + report["rejected"] + report["duplicates"]
    assert Path(report["rejects_file"]).is_file()
    assert Path(report["rejects_file"]).resolve().is_relative_to(store_dir.resolve())


def test_validate_writes_nothing(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`validate` reports like import but leaves the store empty."""
    code, out, _ = _run(["validate", str(PLAIN)], capsys)
    assert code == 0
    assert "rows read" in out
    assert list(store_dir.iterdir()) == []


def test_list_and_export_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An imported dataset is listed, and exports as Parquet with the same events and as CSV."""
    _run(["import", str(PLAIN), "--name", "plain"], capsys)
    code, out, _ = _run(["list", "--json"], capsys)
    listing = json.loads(out)
    assert code == 0 and [d["dataset"] for d in listing] == ["plain"]
    target = tmp_path / "out.parquet"
    code, _, _ = _run(["export", "plain", "--format", "parquet", "-o", str(target)], capsys)
    assert code == 0
    assert pq.read_table(target).num_rows == listing[0]["rows"]
    code, out, _ = _run(["export", "plain", "--format", "csv"], capsys)
    header = next(csv.reader(io.StringIO(out)))
    assert code == 0 and header[:2] == ["event_id", "timestamp"]


def test_append_adds_a_version(capsys: pytest.CaptureFixture[str]) -> None:
    """Importing into an existing dataset with --append keeps the old version and adds a new one."""
    _run(["import", str(PLAIN), "--name", "plain"], capsys)
    _run(["import", str(DATA / "pipe_delimited.csv"), "--name", "plain", "--append"], capsys)
    _, out, _ = _run(["list", "--json"], capsys)
    assert len(json.loads(out)[0]["versions"]) == 2


def test_map_overrides_one_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--map FIELD=COLUMN replaces the automatic choice for that field only."""
    source = tmp_path / "two_texts.csv"
    source.write_text("when,who,what,note\n2024-03-22,Kremlin,statement,first\n", encoding="utf-8")
    code, out, _ = _run(["validate", str(source), "--map", "title=note", "--json"], capsys)
    assert code == 0
    mapping = json.loads(out)["mapping"]
    assert mapping["title"] == "note" and mapping["actor"] == "who"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["import", "missing-file.csv"], 1, "missing-file.csv"),
        (["import", str(DATA / "empty.csv")], 1, "empty.csv"),
        (["import", str(DATA / "header_only.csv")], 1, "no data rows"),
        (["import", str(DATA / "no_date_column.csv")], 1, "no usable date column"),
        (["import", str(DATA / "binary.csv")], 1, "binary.csv"),
        (["validate", str(PLAIN), "--map", "nonsense=when"], 2, "nonsense"),
        (["validate", str(PLAIN), "--map", "actor=No Such Column"], 2, "No Such Column"),
        (["validate", str(PLAIN), "--tz", "Mars/Olympus"], 2, "Mars/Olympus"),
        (["export", "../etc"], 2, "../etc"),
        (["export", "nothing-here"], 2, "nothing-here"),
        (["frobnicate"], 2, "invalid choice"),
        (["import", str(PLAIN), "--dayfirst", "--monthfirst"], 2, "not allowed"),
    ],
)
def test_errors_are_one_line_with_the_right_status(
    args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str], store_dir: Path
) -> None:
    """Unusable input exits 1, wrong usage 2; one line on stderr names the problem; nothing is written."""
    try:
        got = cli.main(args)
    except SystemExit as exc:  # argparse's own usage errors
        got = exc.code
    _, err = capsys.readouterr()
    assert got == code
    assert message in err
    assert "Traceback" not in err
    assert [p for p in store_dir.iterdir() if not p.name.startswith(".")] == []


def test_module_entry_point_never_prints_a_traceback(tmp_path: Path) -> None:
    """`python -m timeline` on a bad file exits 1 with a one-line message."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    env = {"TIMELINE_DATA_DIR": str(tmp_path / "store"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "timeline", "import", str(bad), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "PNG" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert io.StringIO(done.stdout).read() == ""
