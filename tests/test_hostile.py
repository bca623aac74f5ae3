"""Hostile files through every door: the importer, the command line and the page's upload (issue #6).

Each file of tests/data/hostile/ (and three big ones made here) gets one clear message or an import
that conserves its rows; never a traceback, never a write on failure. README.md there lists them all.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from streamlit.testing.v1 import AppTest

from tests import page_uploads
from timeline import bundled, cli, exports, figures, frame, ingest, schema, store
from timeline.errors import BadInputError
from timeline.ingest import ImportOptions, ImportResult, read_events

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = Path(__file__).parent / "data" / "hostile"
OVER_LIMIT_BYTES = 1_000_000  # the limit the million-row file is tried against
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Answer:
    """What a hostile file must get: one message holding `says`, or an import with these counts."""

    says: str | None = None
    counts: tuple[int, int, int] | None = None  # accepted, rejected, duplicates; None: not pinned
    max_bytes: int = ingest.DEFAULT_MAX_BYTES

    def refused(self, data: bytes, options: ImportOptions) -> bool:
        """Whether the page and the CLI refuse the file: the importer does, or it accepts no row."""
        if self.says is not None:
            return True
        if self.counts is not None:
            return self.counts[0] == 0
        return read_events(data, options).accepted == 0


EXPECTED: dict[str, Answer] = {
    # unusable: one message, nothing written
    "empty.csv": Answer("the file is empty"),
    "whitespace_only.csv": Answer("the file is empty"),
    "bom_only.csv": Answer("the file is empty"),
    "header_only.csv": Answer("no data rows"),
    "header_only_no_newline.csv": Answer("no data rows"),
    "header_and_blank_lines.csv": Answer("no data rows"),
    "random_binary.csv": Answer("not a text file"),
    "png_image.csv": Answer("PNG image"),
    "zip_archive.csv": Answer("ZIP archive"),
    "pdf_document.csv": Answer("PDF document"),
    "gzip_archive.csv": Answer("gzip archive"),
    "nul_bytes.csv": Answer("NUL bytes"),
    "bom_then_invalid_utf8.csv": Answer("not valid UTF-8"),
    "invalid_utf8_middle.csv": Answer("not valid UTF-8"),
    "one_column_text.csv": Answer("no usable date column"),
    "only_delimiters.csv": Answer("no usable date column"),
    "million_rows_over_limit.csv": Answer("over the limit", max_bytes=OVER_LIMIT_BYTES),
    # read, but no row usable: the importer reports every reject; the page and the CLI save nothing
    "every_date_invalid.csv": Answer(counts=(0, 5, 0)),
    "unbalanced_quotes.csv": Answer(counts=(0, 1, 0)),  # the unclosed record is rejected, naming the quote
    # imported, with a report
    "all_duplicates.csv": Answer(counts=(1, 0, 4)),
    "carriage_returns_only.csv": Answer(counts=(2, 0, 0)),
    "control_characters.csv": Answer(counts=(2, 0, 0)),
    "cp1252_undefined_bytes.csv": Answer(counts=(1, 0, 0)),
    "duplicate_headers.csv": Answer(counts=(2, 0, 0)),
    "epoch_extremes.csv": Answer(counts=(1, 3, 0)),
    "formula_cells.csv": Answer(counts=(5, 0, 0)),
    "hostile_event_ids.csv": Answer(counts=(4, 0, 0)),
    "hostile_header_names.csv": Answer(counts=(2, 0, 0)),
    "hostile_urls.csv": Answer(counts=(7, 0, 0)),
    "html_script.csv": Answer(counts=(4, 0, 0)),
    "mixed_offsets.csv": Answer(counts=(7, 1, 0)),
    "numbers_overflow.csv": Answer(counts=(3, 0, 0)),
    "odd_timestamps.csv": Answer(counts=(3, 3, 0)),
    "one_column_dates.csv": Answer(counts=(3, 0, 0)),
    "ragged_extremes.csv": Answer(counts=(3, 1, 0)),
    "rtl_and_emoji.csv": Answer(counts=(4, 0, 0)),
    "sql_and_shell_text.csv": Answer(counts=(2, 0, 0)),
    "stray_quotes.csv": Answer(counts=(2, 0, 0)),
    "terminal_escapes.csv": Answer(counts=(1, 1, 0)),
    "unique_hostile_ids.csv": Answer(counts=(5, 0, 0)),
    "utf16le_no_bom.csv": Answer(counts=(3, 0, 0)),
    "utf16be_no_bom.csv": Answer(counts=(3, 0, 0)),
    "very_long_header_name.csv": Answer(counts=(1, 0, 0)),
    "years_0_and_9999.csv": Answer(counts=(3, 3, 0)),
    "wide_2000_columns.csv": Answer(counts=(3, 0, 0)),
    "field_5mb.csv": Answer(counts=(2, 0, 0)),
}
GENERATED = ("million_rows_over_limit.csv", "wide_2000_columns.csv", "field_5mb.csv")
TOO_BIG_FOR_THE_PAGE = ("million_rows_over_limit.csv",)  # Streamlit itself refuses uploads over the limit


def _wide() -> bytes:
    header = ["date", "actor", *(f"column {n}" for n in range(3, 2001))]
    rows = [[f"2024-03-2{n}", f"actor {n}", *(f"r{n}c{c}" for c in range(3, 2001))] for n in range(3)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue().encode()


def _five_mb_field() -> bytes:
    field = ("Крокус " * 500_000)[:3_000_000]  # 5 MB of UTF-8, one field, with a quote and newlines
    field = field[:1000] + '"quoted"\nnext line' + field[1000:]
    quoted = '"' + field.replace('"', '""') + '"'
    return f"date,actor,description\n2024-03-22,A,{quoted}\n2024-03-23,B,short\n".encode()


def _million_rows() -> bytes:
    rows = (
        f"2024-03-{1 + n % 28:02d}T{n % 24:02d}:00:00Z,actor {n % 200},event {n}\n" for n in range(1_000_000)
    )
    return ("date,actor,title\n" + "".join(rows)).encode()


MAKERS: dict[str, Callable[[], bytes]] = {
    "million_rows_over_limit.csv": _million_rows,
    "wide_2000_columns.csv": _wide,
    "field_5mb.csv": _five_mb_field,
}


@pytest.fixture(autouse=True)
def as_an_import_process_reads() -> Iterator[None]:
    """The corpus is read here as the command line and the page's import worker read it: with the settings
    their mains give the process (a 5 MB value is over the csv module's default field limit)."""
    with cli.import_process_settings():
        yield


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every hostile file: the committed ones and the big ones generated into a temporary directory."""
    made = tmp_path_factory.mktemp("hostile-generated")
    files = {path.name: path for path in sorted(HOSTILE.glob("*.csv"))}
    for name, make in MAKERS.items():
        files[name] = made / name
        files[name].write_bytes(make())
    return files


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under root with the hash of its content: equal snapshots mean nothing was written."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        if path.is_file()
        else "dir"
        for path in sorted(root.rglob("*"))
    }


def _check_result(result: ImportResult, answer: Answer) -> None:
    """Conservation, the canonical schema, unique ids, only http(s) links, extra as JSON objects."""
    assert result.rows_read == result.accepted + result.rejected + result.duplicates
    if answer.counts is not None:
        assert (result.accepted, result.rejected, result.duplicates) == answer.counts
    events = result.events
    assert events.schema.equals(schema.ARROW_SCHEMA)
    assert pc.count_distinct(events[schema.EVENT_ID]).as_py() == events.num_rows
    for name in schema.REQUIRED:
        assert events[name].null_count == 0, name
    assert set(events[schema.TIME_PRECISION].to_pylist()) <= set(schema.PRECISIONS)
    for url in events[schema.SOURCE_URL].drop_null().to_pylist():
        assert re.match(r"(?i)https?://", url), url
    for extra in events[schema.EXTRA].drop_null().to_pylist():
        assert isinstance(json.loads(extra), dict)
    reasons = result.rejects["reason"].to_pylist()
    assert all(reasons) and result.rejects["line"].null_count == 0


def _options(name: str) -> ImportOptions:
    return ImportOptions(file_name=name, max_bytes=EXPECTED[name].max_bytes)


def test_the_corpus_is_complete_and_small() -> None:
    """At least 30 committed hostile files, each in the table of expected answers and under 100 KB."""
    committed = sorted(path.name for path in HOSTILE.glob("*.csv"))
    assert len(committed) >= 30
    assert sorted(EXPECTED) == sorted([*committed, *GENERATED])
    assert all((HOSTILE / name).stat().st_size < 100_000 for name in committed)
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    assert [name for name in EXPECTED if f"`{name}`" not in readme] == []


# --- the importer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_importer_answers_with_its_error_or_a_conserving_import(corpus: dict[str, Path], name: str) -> None:
    """read_events raises only BadInputError, naming file and problem on one line; else rows are conserved."""
    answer = EXPECTED[name]
    data = corpus[name].read_bytes()
    if answer.says is not None:
        with pytest.raises(BadInputError) as raised:
            read_events(data, _options(name))
        message = str(raised.value)
        assert answer.says in message and name in message and "\n" not in message
        return
    _check_result(read_events(data, _options(name)), answer)


@pytest.mark.parametrize("name", EXPECTED)
def test_a_mapped_file_imports_exactly_as_its_bytes(corpus: dict[str, Path], name: str) -> None:
    """read_file maps a file into memory (an mmap has few bytes methods, and `in` on it compares single
    bytes): every hostile file gives the same events, rejects and messages as its bytes."""
    options = _options(name)
    path = corpus[name]

    def outcome(read: Callable[[], object]) -> object:
        try:
            result = read_events(read(), options)
        except BadInputError as exc:
            return str(exc)
        return result.events, result.rejects, result.summary()

    from_bytes = outcome(path.read_bytes)
    mapped = outcome(lambda: ingest.read_file(path, max(options.max_bytes, path.stat().st_size)))
    if isinstance(from_bytes, str):
        assert mapped == from_bytes
        return
    assert all(a.equals(b) for a, b in zip(mapped[:2], from_bytes[:2], strict=True))
    assert mapped[2] == from_bytes[2]


def test_read_file_maps_a_regular_file_and_reads_a_pipe(tmp_path: Path) -> None:
    import mmap

    path = tmp_path / "events.csv"
    path.write_bytes(b"date,who\n2024-03-22,A\n")
    assert isinstance(ingest.read_file(path), mmap.mmap)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert ingest.read_file(empty) == b""  # an empty file cannot be mapped
    read, write = os.pipe()
    os.write(write, b"date,who\n2024-03-22,A\n")
    os.close(write)
    assert ingest.read_file(Path(f"/dev/fd/{read}")) == b"date,who\n2024-03-22,A\n"
    os.close(read)


CONTENT = [
    # file, column, every value it must hold, in input order
    ("rtl_and_emoji.csv", "actor", ["الدولة الإسلامية", "ישראל", "\u202eevil\u202c actor", "Ünïcödé 🇷🇺"]),
    ("rtl_and_emoji.csv", "title", ["بيان 📢", "תנחומים 🕯️", "👨‍👩‍👧‍👦 family", "\u200b\u200d\ufeff"]),
    ("formula_cells.csv", "title", ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", '=HYPERLINK("http://x","y")']),
    ("html_script.csv", "description", ["<script>alert(1)</script>"] * 3 + ["<iframe src=//evil>"]),
    ("html_script.csv", "source_url", [None] * 4),
    ("control_characters.csv", "actor", ["A\x01B", "C\x7f"]),
    ("cp1252_undefined_bytes.csv", "actor", ["Café"]),
    ("utf16le_no_bom.csv", "actor", ["Gunmen", "Islamic State", "Vladimir Putin"]),
    ("utf16be_no_bom.csv", "utc_offset_minutes", [180, 0, 0]),
    ("unique_hostile_ids.csv", "event_id",
     ["../../etc/passwd", "<script>alert(1)</script>", "javascript:alert(1)", "=1+2", "\u202eevil"]),
    ("hostile_urls.csv", "source_url", [None] * 6 + ["https://example.org/a?b="]),
    ("mixed_offsets.csv", "utc_offset_minutes", [180, 0, -300, 345, 840, -720, 0]),  # naive: UTC chosen
    ("stray_quotes.csv", "title", ['5" gun', 'a "quoted" word']),
    ("one_column_dates.csv", "actor", [schema.UNKNOWN_ACTOR] * 3),
]  # fmt: skip


@pytest.mark.parametrize(("name", "column", "values"), CONTENT, ids=[f"{n}-{c}" for n, c, _ in CONTENT])
def test_hostile_text_is_stored_verbatim(name: str, column: str, values: list) -> None:
    """Scripts, formulas, right-to-left text, emoji and control characters are kept exactly as written."""
    result = read_events((HOSTILE / name).read_bytes(), _options(name))
    assert result.events[column].to_pylist() == values


def test_mixed_offsets_land_on_one_utc_instant() -> None:
    """Six offsets from -12:00 to +14:00 stating the same instant give one UTC time; +25:00 is rejected."""
    result = read_events((HOSTILE / "mixed_offsets.csv").read_bytes())
    times = result.events.filter(pc.not_equal(result.events[schema.ACTOR], "Naive"))[schema.TIMESTAMP]
    assert {t.isoformat() for t in times.to_pylist()} == {"2024-03-22T14:00:00+00:00"}
    assert "+2500" in result.rejects["reason"][0].as_py()


def test_years_one_and_9999_are_kept_and_year_zero_is_rejected_with_a_reason() -> None:
    """The first and last years a timestamp can hold import; year 0, 10000 and BCE dates are rejected."""
    result = read_events((HOSTILE / "years_0_and_9999.csv").read_bytes())
    assert [t.year for t in result.events[schema.TIMESTAMP].to_pylist()] == [1, 9999, 9999]
    assert result.rejects["line"].to_pylist() == [2, 6, 7]
    assert "year outside 1-9999" in result.rejects["reason"][0].as_py()


def test_hostile_header_names_stay_keys_of_valid_json() -> None:
    """Header names with quotes, backslashes, newlines and markup are kept as keys of valid JSON."""
    result = read_events((HOSTILE / "hostile_header_names.csv").read_bytes())
    extra = json.loads(result.events[schema.EXTRA][0].as_py())
    assert {'a"b', "\\", "x\ny", "<script>", "=cmd"} <= set(extra)


def test_two_thousand_columns_keep_every_unmapped_value(corpus: dict[str, Path]) -> None:
    """A 2,000-column file keeps its 1,998 unmapped columns in extra."""
    result = read_events(corpus["wide_2000_columns.csv"].read_bytes())
    extra = json.loads(result.events[schema.EXTRA][0].as_py())
    assert len(extra) == 1998 and extra["column 2000"] == "r0c2000"


def test_a_five_megabyte_field_is_kept_whole(corpus: dict[str, Path]) -> None:
    """One 5 MB quoted field with quotes and newlines inside comes through to the last character."""
    data = corpus["field_5mb.csv"].read_bytes()
    result = read_events(data)
    description = result.events[schema.DESCRIPTION][0].as_py()
    assert len(description.encode()) > 5_000_000
    assert next(csv.reader(io.StringIO(data.decode()[23:])))[2] == description


def test_importer_size_limit_is_a_clear_message() -> None:
    """Over max_bytes, read_events refuses the file at once with its size and the limit."""
    with pytest.raises(BadInputError, match=r"over the limit"):
        read_events(
            b"date,actor\n" + b"2024-03-22,A\n" * 100, ImportOptions(file_name="x.csv", max_bytes=100)
        )


def test_importer_size_message_names_the_configured_limit() -> None:
    """A file just over the default limit is said to be over 200 MB, as .streamlit/config.toml says."""
    with pytest.raises(BadInputError, match=r"over the limit of 200 MB"):
        read_events(b"x" * (ingest.DEFAULT_MAX_BYTES + 1))


def _many_columns(columns: int, rows: int = 3) -> bytes:
    """A file of many columns named as people name them: repeated names (made unique on reading) and words
    the mapping looks for, so that every step of header handling has work to do."""
    names = ["date", *(f"value {n % 40} notes" if n % 3 else "value" for n in range(1, columns))]
    records = [",".join([f"2024-03-2{r}", *(str(n) for n in range(1, columns))]) for r in range(rows)]
    return ("\n".join([",".join(names), *records]) + "\n").encode()


def test_a_file_over_the_column_limit_is_refused_at_once() -> None:
    """The issue's 2.4 MB file of 3 rows and 100,000 columns: refused before any work per column, saying
    how many columns it has, the limit, and what to do (it kept a core busy for minutes)."""
    data = _many_columns(100_000)
    started = time.perf_counter()
    with pytest.raises(BadInputError) as refused:
        read_events(data, ImportOptions(file_name="wide.csv"))
    assert time.perf_counter() - started < 2.0
    assert str(refused.value) == (
        "wide.csv: the file has 100,000 columns; an import reads at most 2,000 (keep only the columns the "
        "timeline needs (a date, who, what, ...) and import it again)"
    )
    assert ImportOptions().max_columns == ingest.DEFAULT_MAX_COLUMNS == 2_000
    with pytest.raises(BadInputError, match="the file has 51 columns; an import reads at most 50"):
        read_events(_many_columns(51), ImportOptions(max_columns=50))
    assert read_events(_many_columns(50), ImportOptions(max_columns=50)).accepted == 3


def _seconds_to_read(data: bytes) -> float:
    """The shortest of two reads of a small file (one of a large one) with no column limit; an error, e.g. a
    header only, ends a read too."""
    times = []
    for _ in range(2 if len(data) < 100_000 else 1):
        started = time.perf_counter()
        with contextlib.suppress(BadInputError):
            read_events(data, ImportOptions(max_columns=10**7))
        times.append(time.perf_counter() - started)
    return min(times)


@pytest.mark.parametrize(("rows", "fewer"), [(3, 1_000), (0, 2_500)], ids=["with rows", "header only"])
def test_reading_time_grows_linearly_with_the_column_count(rows: int, fewer: int) -> None:
    """Eight times the columns take about eight times as long, not sixty-four (a membership test on a list
    in a loop, a table looked up by name per column and the name matcher made it quadratic: 5,000 columns
    took 14 s, 20,000 took 194 s). A header-only file is scanned in linear time too. The bound sits between
    linear (8x) and quadratic (64x) with room for a loaded 2-core machine (22x was seen under load)."""
    small, large = (_seconds_to_read(_many_columns(n, rows)) for n in (fewer, 8 * fewer))
    assert large < 32 * small, (small, large)


def test_cli_refuses_a_file_over_max_columns(cli_store: Path, tmp_path: Path) -> None:
    """`--max-columns` sets the limit for the command line: over it, one line and exit 1; under, a read."""
    wide = tmp_path / "wide.csv"
    wide.write_bytes(_many_columns(60))
    done = _cli(cli_store, "validate", str(wide), "--max-columns", "59")
    assert done.returncode == 1
    assert "wide.csv: the file has 60 columns; an import reads at most 59" in _one_line(done.stderr)
    assert _cli(cli_store, "validate", str(wide), "--max-columns", "60").returncode == 0


def test_non_http_source_urls_are_kept_in_extra() -> None:
    """A javascript:, data: or file: source_url is never a link, but its text is kept in extra."""
    result = read_events((HOSTILE / "hostile_urls.csv").read_bytes())
    kept = [json.loads(e).get("source_url") if e else None for e in result.events[schema.EXTRA].to_pylist()]
    assert kept[:6] == [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "javascript:alert(1)",
    ]


def test_unbalanced_quote_is_reported() -> None:
    """A quote opened and never closed is reported (notice or reject), not silently merged with later rows."""
    result = read_events((HOSTILE / "unbalanced_quotes.csv").read_bytes())
    told = " ".join([*result.notices, *result.rejects["reason"].to_pylist()])
    assert "quote" in told.lower()


def test_chart_text_shows_double_quotes_as_quotes() -> None:
    """Lane names and hover text escape markup without turning a double quote into a visible &quot;."""
    result = read_events((HOSTILE / "stray_quotes.csv").read_bytes())
    figure = figures.timeline_figure(
        frame=frame.prepare(result.events),
        tz="UTC",
        lane="actor",
        anchor_id=None,
        focus_us=None,
        relative_to_us=None,
        log=False,
    )
    assert "&quot;" not in figure.to_json()


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def earlier_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one dataset already, to show that a failed import leaves it untouched."""
    root = tmp_path_factory.mktemp("hostile-earlier-store")
    result = read_events((Path(__file__).parent / "data" / "plain_date_who_what.csv").read_bytes())
    meta = ingest.version_meta(result, name="earlier", source_file="plain.csv", options=ImportOptions())
    store.save(result.events, result.rejects, meta, dataset_id="earlier", root=root)
    return root


@pytest.fixture
def cli_store(earlier_store: Path, tmp_path: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(earlier_store, root)
    return root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`python -m timeline ARGS` in a subprocess on the store at root."""
    env = {"TIMELINE_DATA_DIR": str(root), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "timeline", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


def _one_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8")
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text
    return text.strip()


@pytest.mark.parametrize("name", EXPECTED)
def test_cli_import_answers_in_one_line_or_saves_a_conserving_version(
    corpus: dict[str, Path], cli_store: Path, name: str
) -> None:
    """`import --json`: exit 1, one stderr line and an untouched store; or exit 0 with the counts saved."""
    answer = EXPECTED[name]
    before = _snapshot(cli_store)
    done = _cli(cli_store, "import", str(corpus[name]), "--json", "--max-bytes", str(answer.max_bytes))
    if answer.refused(corpus[name].read_bytes(), _options(name)):
        message = _one_line(done.stderr)
        assert done.returncode == 1 and done.stdout == b""
        assert name in message and (answer.says or "no row could be imported") in message
        assert _snapshot(cli_store) == before
        return
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["rows_read"] == report["accepted"] + report["rejected"] + report["duplicates"]
    expected = read_events(corpus[name].read_bytes(), _options(name))
    assert (report["accepted"], report["rejected"], report["duplicates"]) == (
        expected.accepted,
        expected.rejected,
        expected.duplicates,
    )
    assert store.load(report["dataset"], root=cli_store).equals(store.in_stored_order(expected.events))
    assert store.load_rejects(report["dataset"], root=cli_store).num_rows == expected.rejected
    assert Path(report["rejects_file"]).resolve().is_relative_to(cli_store.resolve())
    assert store.load("earlier", root=cli_store).num_rows > 0


def test_cli_refuses_a_file_over_max_bytes(cli_store: Path) -> None:
    """The hidden --max-bytes limit refuses a small file over it: exit 1, size and limit in one line."""
    plain = Path(__file__).parent / "data" / "plain_date_who_what.csv"
    before = _snapshot(cli_store)
    done = _cli(cli_store, "import", str(plain), "--max-bytes", "100")
    assert done.returncode == 1
    assert re.search(
        r"plain_date_who_what\.csv: the file is \d+ bytes, over the limit of 100 bytes",
        _one_line(done.stderr),
    )
    assert _snapshot(cli_store) == before


def test_cli_refuses_a_huge_file_without_reading_it(cli_store: Path, tmp_path: Path) -> None:
    """A 4 GB (sparse) file over the default 200 MB limit is refused at once, by its size."""
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(4 * 1024**3)
    done = _cli(cli_store, "validate", str(huge))
    assert done.returncode == 1
    assert "huge.csv: the file is 4096 MB, over the limit of 200 MB" in _one_line(done.stderr)


def test_cli_default_limit_matches_the_page_upload_limit() -> None:
    """The importer's default limit is server.maxUploadSize of .streamlit/config.toml, counted in MiB."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert (
        config["server"]["maxUploadSize"] * 1024 * 1024
        == ingest.DEFAULT_MAX_BYTES
        == ImportOptions().max_bytes
    )


def test_cli_prints_no_terminal_control_sequences(cli_store: Path) -> None:
    """Escape sequences in header names and cells are shown escaped in the report, never sent raw."""
    done = _cli(cli_store, "validate", str(HOSTILE / "terminal_escapes.csv"))
    assert done.returncode == 0
    assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout
    assert b"\\u001b]0;owned\\u0007title" in done.stdout


def test_cli_validate_of_an_all_rejected_file_reports_and_fails(cli_store: Path) -> None:
    """validate lists every reject of a file with no usable row, then exits 1; nothing is written."""
    before = _snapshot(cli_store)
    done = _cli(cli_store, "validate", str(HOSTILE / "every_date_invalid.csv"))
    assert done.returncode == 1
    assert done.stdout.decode().count("rejected line") == 5
    assert "no row could be imported" in _one_line(done.stderr)
    assert _snapshot(cli_store) == before


@pytest.mark.parametrize("name", [n for n, a in EXPECTED.items() if a.says is None and n not in GENERATED])
def test_exported_csv_neutralises_formula_cells(name: str) -> None:
    """In the CSV export of an imported hostile file no text cell starts with =, +, -, @, tab or CR."""
    result = read_events((HOSTILE / name).read_bytes())
    rows = list(csv.DictReader(io.StringIO(exports.csv_bytes(result.events).decode("utf-8"), newline="")))
    text_columns = [f.name for f in schema.ARROW_SCHEMA if f.type == pa.string()]
    for row in rows:
        for column in text_columns:
            assert not row[column].startswith(FORMULA_START), (column, row[column])


def test_cli_export_of_formula_cells_prefixes_a_quote(cli_store: Path, tmp_path: Path) -> None:
    """`export --format csv` of the formula file writes '=1+2 where the import holds =1+2."""
    assert _cli(cli_store, "import", str(HOSTILE / "formula_cells.csv"), "--name", "formulas").returncode == 0
    target = tmp_path / "out.csv"
    done = _cli(cli_store, "export", "formulas", "--format", "csv", "-o", str(target))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"), newline="")))
    assert [row["title"] for row in rows] == [
        "'=1+2",
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1:A2)",
        '\'=HYPERLINK("http://x","y")',
    ]
    assert all(row["actor"].startswith("'") and row["description"].startswith("'") for row in rows)


# --- the page --------------------------------------------------------------------------------------


@pytest.fixture
def page_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private store holding a copy of the bundled dataset, the one the page opens."""
    root = tmp_path / "page-store"
    shutil.copytree(store.DEFAULT_ROOT / bundled.DATASET_ID, root / bundled.DATASET_ID)
    monkeypatch.setenv("TIMELINE_DATA_DIR", str(root))
    return root


def _page(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _save_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.label.startswith("Save as dataset")]


@pytest.mark.parametrize("name", [n for n in EXPECTED if n not in TOO_BIG_FOR_THE_PAGE])
def test_page_upload_answers_with_one_error_or_a_preview(
    corpus: dict[str, Path], page_store: Path, name: str
) -> None:
    """An upload gives one st.error and no Save, or a preview with the counts; nothing is saved until Save."""
    answer = EXPECTED[name]
    before = _snapshot(page_store)
    at = _page()
    page_uploads.until_read(
        at.sidebar.file_uploader[0].upload(name, corpus[name].read_bytes(), "text/csv").run()
    )
    assert not at.exception
    assert _snapshot(page_store) == before
    if answer.refused(corpus[name].read_bytes(), _options(name)):
        assert len(at.error) == 1
        # The page escapes Markdown in messages; the reader sees them unescaped.
        shown = re.sub(r"\\(.)", r"\1", at.error[0].value)
        assert (answer.says or "No row could be imported") in shown
        assert not _save_buttons(at)
        return
    assert not at.error, [e.value for e in at.error]
    expected = read_events(corpus[name].read_bytes(), _options(name))
    line = next(m.value for m in at.markdown if "rows read" in m.value)
    assert line.startswith(f"**{expected.rows_read:,} rows read: {expected.accepted:,} accepted")
    [save] = _save_buttons(at)
    save.click().run()
    assert not at.exception and not at.error
    dataset_id = at.selectbox(key="w:dataset").value
    assert store.load(dataset_id, root=page_store).equals(store.in_stored_order(expected.events))


@pytest.mark.parametrize("tab", ["timeline", "table", "reactions", "casualties", "dataset"])
def test_page_shows_every_imported_hostile_dataset_in_every_tab(
    corpus: dict[str, Path], page_store: Path, tab: str
) -> None:
    """Each imported hostile dataset opens from a link in every tab without an exception or an error."""
    for name, answer in EXPECTED.items():
        if answer.says is not None or name in GENERATED:
            continue
        result = read_events(corpus[name].read_bytes(), _options(name))
        if result.accepted == 0:
            continue
        meta = ingest.version_meta(result, name=name, source_file=name, options=ImportOptions())
        dataset_id = store.slugify(Path(name).stem)
        store.save(result.events, result.rejects, meta, dataset_id=dataset_id, root=page_store)
        at = _page(dataset=dataset_id, tab=tab)
        assert not at.exception, (name, [e.value for e in at.exception])
        assert not at.error, (name, [e.value for e in at.error])
        showing = next(m.value for m in at.markdown if m.value.startswith("**Showing"))
        assert showing.startswith(f"**Showing {result.accepted:,} of {result.accepted:,} events**"), name


def test_page_upload_limit_is_the_configured_one(page_store: Path) -> None:
    """The page's uploader refuses files over server.maxUploadSize, the limit the importer also uses."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    at = _page()
    assert at.sidebar.file_uploader[0].proto.max_upload_size_mb == config["server"]["maxUploadSize"]
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == ingest.DEFAULT_MAX_BYTES
