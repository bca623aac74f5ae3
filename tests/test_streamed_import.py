"""A large file read in batches (streamed_import) gives what a whole-file read gives, holding one batch.

Files here are small; the batch size is made small to match, so every file is cut into several batches
(the sizes are chosen to put a cut in every awkward place: a duplicate, a multi-line value, the first
day-first date). The benchmark measures the memory at ten million rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timeline import cli, ingest, spilled, store, streamed_import
from timeline import schema as s
from timeline.spilled import SpilledEvents

DATA = Path(__file__).parent / "data"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
# Read whole instead, by design (see streamed_import's docstring): not UTF-8, ragged rows (GDELT 1.0's
# older rows have a field fewer).
READ_WHOLE = {
    "gtd_like_cp1252.csv",
    "utf16_bom_tab.tsv",
    "utf16be_bom_comma.csv",
    "ragged_rows.csv",
    "gtd_1970_1971_first1000_cp1252.csv",
    "gdelt1_events_export_tab_noheader.csv",
}


def _options(path: Path, **kwargs: object) -> ingest.ImportOptions:
    return ingest.ImportOptions(file_name=path.name, max_bytes=1 << 40, **kwargs)


def _whole(path: Path, **kwargs: object) -> ingest.ImportResult:
    return ingest.read_events(ingest.read_file(path, 1 << 40), _options(path, **kwargs))


def _streamed(path: Path, batch_bytes: int, **kwargs: object) -> ingest.ImportResult:
    _, result = streamed_import.read_path(
        path, _options(path, **kwargs), whole_file_bytes=2 * batch_bytes - 1, batch_bytes=batch_bytes
    )
    return result


def _events(result: ingest.ImportResult) -> pa.Table:
    if isinstance(result.events, SpilledEvents):
        groups = list(result.events.in_order(store.in_stored_order, 1000))
        return pa.concat_tables(groups) if groups else s.ARROW_SCHEMA.empty_table()
    return store.in_stored_order(result.events)


def _assert_same(whole: ingest.ImportResult, streamed: ingest.ImportResult) -> None:
    """Everything a reader or the store sees of an import, in the order they see it."""
    try:
        events = _events(streamed)
        assert events.schema == s.ARROW_SCHEMA
        expected = _events(whole)
        for name in s.COLUMN_NAMES:
            assert events[name].to_pylist() == expected[name].to_pylist(), name
        assert streamed.rejects.to_pylist() == whole.rejects.to_pylist()
        for field in ("rows_read", "duplicates", "mapping", "preset", "encoding", "delimiter", "notices"):
            assert getattr(streamed, field) == getattr(whole, field), field
        assert streamed.columns == whole.columns
        assert streamed.samples == whole.samples
        assert streamed.accepted == whole.accepted
        assert streamed.rows_read == streamed.accepted + streamed.rejected + streamed.duplicates
    finally:
        streamed.close()


def _corpus() -> list[Path]:
    files = sorted(p for p in DATA.iterdir() if p.suffix in (".csv", ".tsv"))
    if REAL.is_dir():
        files += sorted(REAL.glob("*.csv"))
    return files


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_every_sample_file_reads_the_same_in_batches(path: Path) -> None:
    """Each shape the importer knows, cut into about 3 and about 7 batches: the same import, or the
    same refusal."""
    size = path.stat().st_size
    for batch_bytes in (max(size // 7, 120), max(size // 3, 120)):
        try:
            whole = _whole(path)
        except Exception as refused:
            with pytest.raises(type(refused)) as raised:
                _streamed(path, batch_bytes)
            assert str(raised.value) == str(refused)
            continue
        streamed = _streamed(path, batch_bytes)
        if (
            size > 2 * batch_bytes
            and path.name not in READ_WHOLE
            and _one_record_per_block(path, batch_bytes)
        ):
            assert isinstance(streamed.events, SpilledEvents), f"{path.name} was not read in batches"
        _assert_same(whole, streamed)


def _one_record_per_block(path: Path, batch_bytes: int) -> bool:
    """Whether every record fits in a read block (a larger one is read whole: Arrow cannot stream it)."""
    longest = max(len(line) for line in path.read_bytes().split(b"\n"))
    return longest * 3 < batch_bytes


def _write(path: Path, header: list[str], rows: list[list[str]], *, blank_every: int = 0) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for number, row in enumerate(rows, start=1):
            writer.writerow(row)
            if blank_every and number % blank_every == 0:
                handle.write("\n")
    return path


def _rows(n: int, start_day: int = 1) -> list[list[str]]:
    return [
        [
            f"2024-03-{(start_day + i) % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:00+03:00",
            f"Actor {i % 17}",
            ["statement", "claim", "arrest"][i % 3],
            f"Event {i}",
            f"A description, with a comma, of event {i}",
        ]
        for i in range(n)
    ]


HEADER = ["date", "actor", "type", "title", "description"]


def test_duplicates_across_batches_are_dropped_and_counted(tmp_path: Path) -> None:
    """A file without ids whose exact duplicates sit in other batches than their first occurrence; some
    of those duplicates also have a bad date (a duplicate, not a rejected row, as in a whole read)."""
    rows = _rows(600)
    bad = ["not a date", "Actor 1", "claim", "Broken", "no date here"]
    rows += [rows[5], rows[100], rows[599], bad]
    rows += _rows(300, start_day=3)
    rows += [rows[5], bad]
    path = _write(tmp_path / "dups.csv", HEADER, rows, blank_every=97)
    whole = _whole(path)
    assert whole.duplicates == 5 and whole.rejected == 1
    _assert_same(whole, _streamed(path, 4000))


def test_a_repeating_id_column_found_in_a_later_batch_falls_back_to_hashed_ids(tmp_path: Path) -> None:
    """Unique in every batch, repeated across them: ids come from the rows' content, with the notice."""
    rows = [[f"id-{i % 500}", *row] for i, row in enumerate(_rows(900))]
    path = _write(tmp_path / "ids.csv", ["id", *HEADER], rows)
    whole = _whole(path)
    assert any("cannot serve as event id" in notice for notice in whole.notices)
    _assert_same(whole, _streamed(path, 6000))


def test_a_unique_id_column_is_kept(tmp_path: Path) -> None:
    rows = [[f"ev-{i:05d}", *row] for i, row in enumerate(_rows(900))]
    path = _write(tmp_path / "ids.csv", ["id", *HEADER], rows)
    streamed = _streamed(path, 6000)
    assert isinstance(streamed.events, SpilledEvents) and streamed.events.ids_unique
    assert sorted(_events(streamed)[s.EVENT_ID].to_pylist()) == [f"ev-{i:05d}" for i in range(900)]
    _assert_same(_whole(path), streamed)


def test_day_first_dates_decided_in_a_later_batch_are_read_so_everywhere(tmp_path: Path) -> None:
    """The first batches hold only ambiguous dates (every number 12 or less); a later one proves the file
    is day-first: the first batches are read day-first too, with no notice."""
    rows = [[f"{i % 12 + 1:02d}/{i % 12 + 1:02d}/2024", f"Actor {i % 5}", f"text {i}"] for i in range(600)]
    rows += [[f"{i % 16 + 13:02d}/{i % 12 + 1:02d}/2024", f"Actor {i % 5}", f"text {i}"] for i in range(200)]
    path = _write(tmp_path / "dayfirst.csv", ["date", "who", "what"], rows)
    whole = _whole(path)
    streamed = _streamed(path, 3000)
    assert whole.notices == ()
    _assert_same(whole, streamed)


@pytest.mark.parametrize(
    ("firsts", "expected"),
    [((3, 13, 13, 4), "mixes day-first and month-first"), ((3, 4, 5, 6), "numeric dates are ambiguous")],
)
def test_the_date_order_notice_is_the_whole_files(
    tmp_path: Path, firsts: tuple[int, ...], expected: str
) -> None:
    rows = [
        [f"{firsts[i % 4]:02d}/{(i % 12) + 1:02d}/2024", f"Actor {i % 5}", f"text {i}"] for i in range(800)
    ]
    rows += [
        [f"05/{(i % 12) + 13}/2024", "Actor", f"late {i}"] for i in range(20 if "mixes" in expected else 0)
    ]
    path = _write(tmp_path / "order.csv", ["date", "who", "what"], rows)
    whole = _whole(path)
    assert [n for n in whole.notices if expected in n]
    _assert_same(whole, _streamed(path, 3000))


def test_multi_line_values_keep_the_lines_of_rejected_rows(tmp_path: Path) -> None:
    """Values that span lines shift every later record's line: rejected rows in later batches are
    reported at the line they start on in the file."""
    rows = []
    for i in range(700):
        date = "someday" if i % 90 == 89 else f"2024-03-{i % 28 + 1:02d}"
        text = f"first line {i}\nsecond line\nthird" if i % 7 == 0 else f"one line {i}"
        rows.append([date, f"Actor {i % 9}", text])
    path = _write(tmp_path / "lines.csv", ["date", "who", "what"], rows)
    whole = _whole(path)
    assert whole.rejected == 7
    streamed = _streamed(path, 5000)
    lines = path.read_text().split("\n")
    for rejected in streamed.rejects.to_pylist():
        assert lines[rejected["line"] - 1].startswith("someday,")
    _assert_same(whole, streamed)


def test_identical_rows_of_a_layout_that_keeps_them_are_numbered_across_batches(tmp_path: Path) -> None:
    """GTD counts identical rows as distinct incidents: each later one gets its occurrence number in its
    id, numbered over the whole file."""
    header = ["eventid", "iyear", "imonth", "iday", "gname", "attacktype1_txt", "target1", "summary", "city",
              "latitude", "longitude", "nkill", "nwound", "scite1"]  # fmt: skip
    row = ["", "1970", "1", "2", "Unknown", "Bombing", "Office", "A bomb", "Town", "", "", "0", "0", ""]
    rows = [[str(i), "1970", "1", str(i % 28 + 1), f"Group {i % 6}", "Armed Assault", "People", f"s {i}",
             "City", "", "", "1", "0", ""] for i in range(400)]  # fmt: skip
    rows = rows[:50] + [row] * 3 + rows[50:300] + [row] * 2 + rows[300:]
    path = _write(tmp_path / "gtd.csv", header, rows)
    whole = _whole(path)
    assert whole.preset == "gtd" and whole.duplicates == 0
    assert sum(1 for i in whole.events[s.EVENT_ID].to_pylist() if "-" in i) == 4
    _assert_same(whole, _streamed(path, 4000))


def test_a_quote_left_open_at_the_end_is_reported_as_a_whole_read_does(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    text = "date,who,what\n" + "".join(f"2024-03-{i % 28 + 1:02d},A{i},text {i}\n" for i in range(400))
    path.write_text(text + '2024-03-05,B,"never closed\n2024-03-06,C,swallowed\n')
    _assert_same(_whole(path), _streamed(path, 2000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(min_value=0, max_value=59), min_size=30, max_size=160),
    with_ids=st.booleans(),
    batch_bytes=st.integers(min_value=400, max_value=3000),
)
def test_any_file_of_repeats_reads_the_same_in_batches(
    tmp_path_factory: pytest.TempPathFactory, picks: list[int], with_ids: bool, batch_bytes: int
) -> None:
    """Rows drawn with repeats from 60 (some with bad dates, some spanning lines), with or without an id
    column that repeats where rows do, in batches of any size: the same import as a whole-file read."""
    pool = _rows(60)
    for i in range(0, 60, 11):
        pool[i][0] = "bad date"
    for i in range(0, 60, 13):
        pool[i][4] = "spans\nlines"
    rows = [([f"id-{p}"] if with_ids else []) + pool[p] for p in picks]
    path = _write(
        tmp_path_factory.mktemp("repeats") / "file.csv", (["id"] if with_ids else []) + HEADER, rows
    )
    _assert_same(_whole(path), _streamed(path, batch_bytes))


def test_saved_versions_are_the_same_bytes(tmp_path: Path) -> None:
    """Saved from a stream or from a whole read, the version is the same: its id, its events file."""
    rows = [[f"ev-{i}", *row] for i, row in enumerate(_rows(3000))]
    path = _write(tmp_path / "events.csv", ["id", *HEADER], rows)
    whole = _whole(path)
    versions = []
    for name, result in (("whole", whole), ("streamed", _streamed(path, 20_000))):
        meta = ingest.version_meta(result, name="events", source_file=path.name, options=_options(path))
        try:
            info = store.save(result.events, result.rejects, meta, dataset_id="events", root=tmp_path / name)
        finally:
            result.close()
        rollups = store.rollups("events", root=tmp_path / name)
        versions.append((info.version, (info.path / store.EVENTS_FILE).read_bytes(), _facts(rollups)))
    assert versions[0][0] == versions[1][0]
    assert versions[0][1] == versions[1][1]
    assert versions[0][2] == versions[1][2]
    assert (
        pq.ParquetFile(
            tmp_path / "streamed" / "events" / versions[0][0] / store.EVENTS_FILE
        ).metadata.num_row_groups
        == 1
    )


def _facts(rollups: store.Rollups) -> tuple:
    """What rollups say, in a comparable form (the spans' rows come in no particular order)."""
    return (
        rollups.rows,
        {name: list(counts.items()) for name, counts in rollups.counts.items()},
        rollups.null_counts,
        (rollups.min_start_us, rollups.max_stop_us, rollups.max_span_us),
        {name: sorted(spans.to_pylist(), key=repr) for name, spans in rollups.spans.items()},
    )


def test_spilled_events_come_back_in_order_across_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of a few events each, parts that overlap in time, and one instant shared by more events
    than a range holds: every event once, in stored order, in groups of the size asked for."""
    monkeypatch.setattr(spilled, "BUCKET_ROWS", 7)
    monkeypatch.setattr(spilled, "_PART_BATCH_ROWS", 3)
    rng = np.random.default_rng(5)
    tables = []
    for part in range(4):
        n = 40
        stamps = rng.integers(0, 30, n) * 1_000_000
        stamps[:12] = 15_000_000  # one instant, many events
        ids = [f"p{part}-{i:02d}" for i in range(n)]
        tables.append(_canonical(stamps, ids))
    with SpilledEvents() as events:
        for table in tables:
            events.add(table)
        events.finish(160)
        groups = list(events.in_order(store.in_stored_order, 16))
    assert [g.num_rows for g in groups] == [16] * 10
    got = pa.concat_tables(groups)
    assert got.equals(store.in_stored_order(pa.concat_tables(tables)))


def _canonical(stamps: object, ids: list[str]) -> pa.Table:
    n = len(ids)
    columns = {name: pa.nulls(n, s.ARROW_SCHEMA.field(name).type) for name in s.COLUMN_NAMES}
    columns[s.EVENT_ID] = pa.array(ids)
    columns[s.TIMESTAMP] = pa.array(stamps, s.UTC_MICROS)
    columns[s.TIME_PRECISION] = pa.array(["second"] * n)
    columns[s.ACTOR] = pa.array(["A"] * n)
    columns[s.EVENT_TYPE] = pa.array(["other"] * n)
    return pa.table(columns, schema=s.ARROW_SCHEMA)


def test_the_command_line_imports_a_large_file_in_batches_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m timeline import` of a file over the whole-file size: saved, counted, and the parts it
    spilled are gone afterwards; the version equals a whole-file import's."""
    rows = [[f"ev-{i}", *row] for i, row in enumerate(_rows(2000))]
    path = _write(tmp_path / "large.csv", ["id", *HEADER], rows)
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "store"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(streamed_import, "WHOLE_FILE_BYTES", 50_000)
    monkeypatch.setattr(streamed_import, "BATCH_BYTES", 30_000)
    spills: list[SpilledEvents] = []
    original = SpilledEvents.__init__

    def recording(self: SpilledEvents, *args: object) -> None:
        original(self, *args)
        spills.append(self)

    monkeypatch.setattr(SpilledEvents, "__init__", recording)
    code = cli.main(["import", str(path), "--name", "large", "--json", "--max-bytes", str(1 << 30)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and spills
    assert (report["rows_read"], report["accepted"], report["rejected"], report["duplicates"]) == (
        2000,
        2000,
        0,
        0,
    )
    assert os.listdir(tmp_path / "tmp") == []
    info = store.version_info("large", root=tmp_path / "store")
    whole = _whole(path)
    assert pq.read_table(info.path / store.EVENTS_FILE).equals(store.in_stored_order(whole.events))
    assert info.meta["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_bad_file_read_in_batches_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file refused after its first batches were spilled (no row has a date, say): one clear message,
    and its parts removed."""
    rows = [["no date", f"Actor {i}", f"text {i}"] for i in range(500)]
    path = _write(tmp_path / "nodates.csv", ["when", "who", "what"], rows)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    whole_error = None
    try:
        _whole(path)
    except Exception as exc:
        whole_error = exc
    before = set(os.listdir(tmp_path))
    if whole_error is None:
        result = _streamed(path, 2000)
        result.close()
    else:
        with pytest.raises(type(whole_error)):
            _streamed(path, 2000)
    assert set(os.listdir(tmp_path)) == before


def test_read_path_reads_small_files_whole(tmp_path: Path) -> None:
    path = _write(tmp_path / "small.csv", HEADER, _rows(50))
    source, result = streamed_import.read_path(path, _options(path))
    assert isinstance(result.events, pa.Table) and not isinstance(source, Path)
    assert bytes(source) == path.read_bytes()


def test_appending_merges_a_version_a_piece_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--append of a file read in batches onto a stored version, and of a small file onto that: the
    stored events win over new ones with the same id, the new ones are added, the count says how many,
    and nothing spilled is left behind."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    root = tmp_path / "store"
    first = _write(
        tmp_path / "first.csv", ["id", *HEADER], [[f"ev-{i}", *r] for i, r in enumerate(_rows(800))]
    )
    changed = [[f"ev-{i}", *r[:3], "Changed title", r[4]] for i, r in enumerate(_rows(1200))]
    second = _write(tmp_path / "second.csv", ["id", *HEADER], changed)
    for path, append in ((first, False), (second, True)):
        result = _streamed(path, 8000)
        assert isinstance(result.events, SpilledEvents)
        meta = ingest.version_meta(result, name="merged", source_file=path.name, options=_options(path))
        try:
            info = store.save(
                result.events, result.rejects, meta, dataset_id="merged", append=append, root=root
            )
        finally:
            result.close()
    assert info.meta["appended"] == 400 and info.meta["rows"] == 1200
    events = pq.read_table(info.path / store.EVENTS_FILE)
    titles = dict(zip(events[s.EVENT_ID].to_pylist(), events[s.TITLE].to_pylist(), strict=True))
    assert titles["ev-5"] == "Event 5" and titles["ev-900"] == "Changed title"
    assert events.equals(store.in_stored_order(events))
    small = _whole(_write(tmp_path / "small.csv", ["id", *HEADER], [["ev-2000", *_rows(1)[0]], changed[3]]))
    meta = ingest.version_meta(small, name="merged", source_file="small.csv", options=_options(first))
    info = store.save(small.events, small.rejects, meta, dataset_id="merged", append=True, root=root)
    assert (info.meta["appended"], info.meta["rows"]) == (1, 1201)
    assert os.listdir(tmp_path / "tmp") == []
