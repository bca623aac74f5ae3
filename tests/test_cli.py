"""The command line: import, validate, list, export, with the exit statuses of the contract."""

from __future__ import annotations

import csv
import getpass
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from timeline import cli, store

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


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\u202eevil"
# What a terminal acts on: C0 controls but the tab between fields and the line end, DEL, C1, bidi controls.
TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _hostile_csv(tmp_path: Path) -> Path:
    """A file whose name, column names and rejection reasons carry terminal escapes and a bidi override."""
    path = tmp_path / f"{HOSTILE}.csv"
    path.write_text(
        f"date,who,what,{HOSTILE}\n2024-03-22,FSB,statement,x\nnot a date {HOSTILE},FSB,claim,y\n"
    )
    return path


def test_every_printed_name_is_printable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dataset name, a file name, a column name, a reason and a withdrawal reason that hold terminal
    escapes and a right-to-left override are printed as visible escapes by import, validate, list,
    withdraw and the errors; --json stays JSON that reads back as the raw text."""
    source = _hostile_csv(tmp_path)
    outputs = []
    for args in (
        ["import", str(source), "--name", HOSTILE],
        ["import", str(source), "--name", HOSTILE, "--tz", "Europe/Moscow"],
        ["validate", str(source)],
        ["list"],
    ):
        code, out, err = _run(args, capsys)
        assert code == 0, err
        outputs += [out, err]
    listed = outputs[-2]
    assert "\\u001b]0;pwned\\u0007\\u001b[2J\\u202eevil" in listed
    [dataset] = json.loads(_run(["list", "--json"], capsys)[1])
    assert dataset["name"] == HOSTILE
    code, out, err = _run(
        ["withdraw", dataset["dataset"], dataset["version"], "--reason", HOSTILE, "--by", HOSTILE], capsys
    )
    assert code == 0, err
    outputs += [out, err]
    for args in (
        ["list", "--all"],
        ["list", "--all", "--json"],
        ["validate", str(source), "--map", f"title={HOSTILE}", "--json"],
    ):
        outputs += _run(args, capsys)[1:]
    [listed] = json.loads(outputs[-4])
    assert listed["withdrawn"][0]["reason"] == HOSTILE and listed["withdrawn"][0]["by"]["name"] == HOSTILE
    assert json.loads(outputs[-2])["mapping"]["title"] == HOSTILE
    for args in (
        ["export", dataset["dataset"], "--version", dataset["version"]],
        ["import", str(source), "--map", f"actor={HOSTILE}x"],
    ):
        code, out, err = _run(args, capsys)
        assert code == 2 and "\\u001b" in err
        outputs += [out, err]
    for text in outputs:
        assert not TERMINAL_CONTROLS.search(text), repr(text)


def test_argparse_errors_are_printable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["list", HOSTILE])  # "unrecognized arguments" quotes them as they are
    err = capsys.readouterr().err
    assert "\\u001b]0;pwned" in err and not TERMINAL_CONTROLS.search(err)


def test_an_import_records_the_operator(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI saves as the user running it, from the command line."""
    _run(["import", str(PLAIN), "--name", "plain"], capsys)
    saved_by = store.version_info("plain").meta["saved_by"]
    assert saved_by == {"name": getpass.getuser(), "email": None, "via": "cli"}


def test_the_operator_may_import_into_the_bundled_dataset(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection holds the page back, not the operator: the CLI writes into the bundled dataset."""
    code, out, err = _run(
        ["import", str(PLAIN), "--name", "Ｃｒｏｃｕｓ Ｃｉｔｙ Ｈａｌｌ 2024", "--json"], capsys
    )
    assert code == 0, err
    assert json.loads(out)["dataset"] == "crocus-city-hall-2024"


def test_append_keeps_the_datasets_name(capsys: pytest.CaptureFixture[str]) -> None:
    """`import --append` under another spelling of the name merges and keeps the name the dataset has."""
    _run(["import", str(PLAIN), "--name", "Moscow Events"], capsys)
    _run(["import", str(DATA / "pipe_delimited.csv"), "--name", "ＭＯＳＣＯＷ events", "--append"], capsys)
    [dataset] = json.loads(_run(["list", "--json"], capsys)[1])
    assert (dataset["dataset"], dataset["name"], len(dataset["versions"])) == (
        "moscow-events",
        "Moscow Events",
        2,
    )


def test_withdraw_hides_a_version_from_list_and_export(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`withdraw` hides a version from list and export (which says who withdrew it and why), keeps its
    files and records it; `list --all` shows it flagged; the last version left cannot be withdrawn."""
    _run(["import", str(PLAIN), "--name", "plain"], capsys)
    _run(["import", str(DATA / "pipe_delimited.csv"), "--name", "plain"], capsys)
    [dataset] = json.loads(_run(["list", "--json"], capsys)[1])
    bad, good = dataset["versions"]
    code, out, err = _run(["withdraw", "plain", bad, "--reason", "wrong file", "--by", "Ops Team"], capsys)
    assert code == 0, err
    assert f"version {bad} of 'plain' was withdrawn on " in out and f"now opens at version {good}" in out
    [listed] = json.loads(_run(["list", "--json"], capsys)[1])
    assert (listed["version"], listed["versions"]) == (good, [good])
    assert "withdrawn" not in listed and bad not in _run(["list"], capsys)[1]
    all_lines = _run(["list", "--all"], capsys)[1]
    withdrawn = f"WITHDRAWN\tversion {bad} of 'plain' was withdrawn on "
    assert withdrawn in all_lines and "by Ops Team from the command line: wrong file" in all_lines
    code, out, err = _run(["export", "plain", "--version", bad], capsys)
    assert code == 2 and out == "" and "by Ops Team from the command line: wrong file" in err
    assert (store_dir / "plain" / bad / "events.parquet").is_file()
    record = [json.loads(line) for line in (store_dir / "plain" / "withdrawn.jsonl").read_text().splitlines()]
    assert [(r["version"], r["reason"], r["by"]) for r in record] == [
        (bad, "wrong file", {"name": "Ops Team", "email": None, "via": "cli"})
    ]
    code, _, err = _run(["withdraw", "plain", good, "--reason", "x"], capsys)
    assert code == 2 and "only version of 'plain' left" in err
    with pytest.raises(SystemExit) as usage:
        cli.main(["withdraw", "plain", good])
    assert usage.value.code == 2 and "--reason" in capsys.readouterr().err


def test_every_command_on_the_store_first_removes_leftovers(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What an interrupted write left (.tmp-* in a dataset) is removed when the next command starts."""
    _run(["import", str(PLAIN), "--name", "plain"], capsys)
    leftover = store_dir / "plain" / ".tmp-0123456789abcdef"
    leftover.mkdir()
    (leftover / "events.parquet").write_bytes(b"PAR1")
    _run(["validate", str(PLAIN)], capsys)
    assert leftover.exists()  # validate writes nothing, and touches no store
    assert _run(["list"], capsys)[0] == 0
    assert not leftover.exists()


def test_the_cli_reads_values_longer_than_the_csv_modules_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line's main raises Python's csv field limit for its run (a 200,000-character value is
    read, through the csv module a ragged row sends the file to), and restores it on the way out."""
    path = tmp_path / "long.csv"
    path.write_text(f'date,who,what\n2024-03-22,A,"{"x" * 200_000}"\n2024-03-23,B,short,one too many\n')
    limit = csv.field_size_limit()
    code, out, _ = _run(["validate", str(path), "--json"], capsys)
    assert code == 0
    assert json.loads(out)["accepted"] == 1
    assert csv.field_size_limit() == limit
