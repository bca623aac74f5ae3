"""Property tests of the importer on generated CSV files: its own errors only, conservation, round trip."""

from __future__ import annotations

import codecs
import csv
import io
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from timeline import dates, engines, exports, ingest, schema, sniff, store
from timeline.errors import BadInputError, UsageError
from timeline.ingest import ImportOptions, ImportResult, read_events, version_meta

EXAMPLES = 500  # per property, 300 for the round trip: together about 20 s (60 s on a loaded machine)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)
ROUND_TRIP_SETTINGS = settings(SETTINGS, max_examples=300)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
DELIMITERS = (",", ";", "\t", "|")
# Header names the importer knows (its synonyms), and a few that only look like them.
KNOWN_NAMES = (
    "date", "datetime", "event_date", "timestamp", "when", "time", "year", "month", "day", "SQLDATE",
    "actor", "who", "actor1", "Actor1Name", "group", "country", "type", "event_type", "category",
    "title", "headline", "notes", "description", "message", "url", "SOURCEURL", "source", "nkill",
    "fatalities", "injured", "latitude", "longitude", "id", "event_id", "end", "location", "target",
    "Date ", "DATE", "dates", "actor_2", "time_precision", "extra", "",
)  # fmt: skip
FORMULA_START = ("=", "+", "-", "@")
YEAR_ONE_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z, the first instant a CSV export can write
# What the export changes on purpose: spreadsheet formulas are neutralised with a leading quote.
ROUND_TRIP_COLUMNS = tuple(
    c for c in schema.COLUMN_NAMES if c not in (schema.UTC_OFFSET_MINUTES, schema.EXTRA)
)


def _text(encoding: str, max_size: int = 12) -> st.SearchStrategy[str]:
    """Cell text the encoding can hold: letters, digits, punctuation, quotes, delimiters, newlines."""
    characters = st.characters(codec=encoding, exclude_characters="\x00", exclude_categories=("Cs",))
    return st.text(characters, max_size=max_size)


def _two(n: int) -> str:
    return f"{n:02d}"


@st.composite
def _dates(draw: st.DrawFn, encoding: str) -> str:
    """A date or time as spreadsheets and exports write them, or something that only looks like one."""
    year = draw(st.integers(1, 9999) | st.sampled_from([1970, 2000, 2024, 2024, 2024]))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 31))
    hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    offset = draw(st.sampled_from(["", "", "Z", "+03:00", "-05:00", "+05:45", "+0100", "+14:00", "-12:00"]))
    iso_day = f"{year:04d}-{_two(month)}-{_two(day)}"
    forms = [
        iso_day,
        f"{iso_day}T{_two(hour)}:{_two(minute)}:{_two(second)}{offset}",
        f"{iso_day} {_two(hour)}:{_two(minute)}{offset}",
        f"{year:04d}-{_two(month)}",
        f"{year:04d}",
        f"{_two(day)}/{_two(month)}/{year:04d}",
        f"{month}/{day}/{year:04d}",
        f"{_two(day)}.{_two(month)}.{year:04d} {_two(hour)}:{_two(minute)}",
        f"{year:04d}{_two(month)}{_two(day)}",
        str(draw(st.integers(-(10**12), 10**12))),
        f"{day} March {year}",
        draw(
            st.sampled_from(["", "NA", "yesterday", "2024-02-30", "2024-13-01", "0000-01-01", "24:00", "-"])
        ),
        draw(_text(encoding, 8)),
    ]
    return draw(st.sampled_from(forms))


@st.composite
def csv_files(draw: st.DrawFn, usable: bool = False) -> tuple[bytes, str]:
    """CSV bytes: random header (known synonyms and junk), delimiter, quoting, line ends, encoding, rows.

    usable=True always names a date column and writes at least one row.
    """
    encoding = draw(st.sampled_from(ENCODINGS))
    width = draw(st.integers(1, 7))
    names = draw(st.lists(st.sampled_from(KNOWN_NAMES) | _text(encoding, 10), min_size=width, max_size=width))
    if usable or draw(st.booleans()):
        names[draw(st.integers(0, width - 1))] = draw(st.sampled_from(["date", "when", "timestamp", "Date"]))
    date_columns = {
        i for i, name in enumerate(names) if name.strip().lower() in ("date", "when", "timestamp")
    }
    cell = st.one_of(
        _text(encoding), st.sampled_from(["", "NA", "12", "-3", "1,234", "=1+2", "@x", "+7", '"'])
    )
    count = draw(st.integers(1 if usable else 0, 10))
    dates = _dates(encoding)
    rows = [[draw(dates) if i in date_columns else draw(cell) for i in range(width)] for _ in range(count)]
    if rows and draw(st.booleans()):
        rows.append(list(draw(st.sampled_from(rows))))  # an exact duplicate
    if rows and draw(st.integers(0, 4)) == 0:
        rows[-1] = rows[-1][: draw(st.integers(0, width))] + ["extra"] * draw(st.integers(0, 2))  # ragged
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=draw(st.sampled_from(DELIMITERS)),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
    )
    writer.writerow(names)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if encoding == "utf-16" and not data.startswith(codecs.BOM_UTF16):
        data = codecs.BOM_UTF16 + data
    return data, encoding


OPTIONS = st.builds(
    ImportOptions,
    file_name=st.just("generated.csv"),
    tz=st.sampled_from(
        ["UTC", "UTC", "Europe/Moscow", "America/New_York", "Asia/Kathmandu", "Pacific/Kiritimati"]
    ),
    date_order=st.sampled_from(["auto", "auto", "dayfirst", "monthfirst"]),
)


def _read(data: bytes, options: ImportOptions) -> ImportResult | None:
    """The import, or None when the importer refused the file with one of its own errors."""
    try:
        return read_events(data, options)
    except (BadInputError, UsageError) as error:
        event(f"refused: {type(error).__name__}")
        return None


def _check(result: ImportResult) -> None:
    assert result.rows_read == result.accepted + result.rejected + result.duplicates
    events = result.events
    assert events.schema.equals(schema.ARROW_SCHEMA)
    assert pc.count_distinct(events[schema.EVENT_ID]).as_py() == events.num_rows
    for name in schema.REQUIRED:
        assert events[name].null_count == 0, name
    for extra in events[schema.EXTRA].drop_null().to_pylist():
        assert isinstance(json.loads(extra), dict)
    for url in events[schema.SOURCE_URL].drop_null().to_pylist():
        assert url.lower().startswith(("http://", "https://")), url


@SETTINGS
@given(file=csv_files(), options=OPTIONS)
def test_importer_raises_only_its_own_errors_and_conserves_rows(
    file: tuple[bytes, str], options: ImportOptions
) -> None:
    """Any generated CSV is imported with rows read = accepted + rejected + duplicates, or refused cleanly."""
    data, encoding = file
    event(f"encoding {encoding}")
    result = _read(data, options)
    if result is not None:
        event("imported" if result.accepted else "imported, no row accepted")
        _check(result)


@SETTINGS
@given(
    file=csv_files(),
    overrides=st.dictionaries(
        st.sampled_from([*schema.MAPPABLE_FIELDS, "nonsense", "extra"]),
        st.none() | st.sampled_from(["date", "actor", "title", "no such column", ""]),
        max_size=3,
    ),
)
def test_mapping_overrides_give_a_usage_error_or_an_import(file: tuple[bytes, str], overrides: dict) -> None:
    """Random --map overrides (unknown fields, missing columns, none) never raise anything but our errors."""
    result = _read(file[0], ImportOptions(file_name="generated.csv", mapping=overrides))
    if result is not None:
        _check(result)


def _exportable(events: pa.Table) -> bool:
    """Each coarse start on a whole minute in its stated offset (not so in zones with second offsets)."""
    micros = pc.cast(events[schema.TIMESTAMP], pa.int64()).to_numpy()
    offsets = pc.fill_null(events[schema.UTC_OFFSET_MINUTES], 0).to_numpy().astype("int64")
    coarse = pc.not_equal(events[schema.TIME_PRECISION], "second").to_numpy()
    return bool(((micros + offsets * 60_000_000)[coarse] % 60_000_000 == 0).all())


def _neutralised(value: object) -> object:
    """What the CSV export makes of a stored text value on purpose: a formula gets a leading quote."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


@ROUND_TRIP_SETTINGS
@given(file=csv_files(usable=True), options=OPTIONS)
def test_round_trip_through_the_store_and_the_csv_export(
    file: tuple[bytes, str], options: ImportOptions
) -> None:
    """CSV -> import -> store.save -> export CSV -> import gives the same events, every column and id, in
    the order the store keeps them (by time, then event_id)."""
    first = _read(file[0], options)
    assume(first is not None and first.accepted > 0)
    assume(_exportable(first.events))  # the known exception, pinned by an xfail test below
    event("round trip")
    with tempfile.TemporaryDirectory() as root:
        meta = version_meta(first, name="generated", source_file="generated.csv", options=options)
        store.save(first.events, first.rejects, meta, dataset_id="generated", root=Path(root))
        engine = engines.connect(engines.EngineSettings())
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("TIMELINE_DATA_DIR", root)
                exported = b"".join(exports.version_download("generated", None, "csv", engine).chunks)
        finally:
            engine.close()
    second = read_events(exported, ImportOptions(file_name="export.csv"))
    counts = (second.rows_read, second.accepted, second.rejected, second.duplicates)
    assert counts == (first.accepted, first.accepted, 0, 0)
    stored = store.in_stored_order(first.events)
    for column in schema.COLUMN_NAMES:
        expected, got = stored[column].to_pylist(), second.events[column].to_pylist()
        if stored[column].type == pa.string():
            expected = [_neutralised(value) for value in expected]
        assert got == expected, column


def test_round_trip_keeps_offsets_and_extra() -> None:
    """An export re-imported keeps each event's stated offset, its UTC start and its extra columns."""
    data = b"date,actor,note\n2024-03-22,A,kept\n2024-03-22T17+05:45,B,\n"
    first = read_events(data, ImportOptions(tz="Europe/Moscow"))
    second = read_events(exports.csv_bytes(first.events))
    for column in (schema.TIMESTAMP, schema.UTC_OFFSET_MINUTES, schema.EXTRA):
        assert second.events[column].to_pylist() == first.events[column].to_pylist(), column


def test_a_coarser_row_does_not_cut_fractions_of_other_rows() -> None:
    """A sub-second time keeps its fraction when another row of the file states a coarser precision."""
    data = b"date,time_precision,actor\n2024-03-22T17:00:00.250Z,second,A\n2024-03-23T00:00:00Z,day,B\n"
    first = read_events(data).events[schema.TIMESTAMP][0].as_py()
    assert first.microsecond == 250_000


@pytest.mark.xfail(
    strict=True,
    reason="dates.resolve: in a zone whose historic offset has seconds (Paris +00:09:21 before 1911, "
    "Moscow +02:30:17 before 1919) a day is stored from the exact offset but utc_offset_minutes keeps whole "
    "minutes, so the start is 23:50:39 the day before in the stated offset; shown and re-imported, "
    "it moves a day",
)
def test_a_day_in_a_zone_with_a_seconds_offset_keeps_its_day() -> None:
    """1 Jan 1900 read in Europe/Paris starts at midnight in its stated offset, and round-trips unchanged."""
    first = read_events(b"date,actor\n1900-01-01,A\n", ImportOptions(tz="Europe/Paris")).events
    start = pc.cast(first[schema.TIMESTAMP], pa.int64())[0].as_py()
    offset = first[schema.UTC_OFFSET_MINUTES][0].as_py()
    assert (start + offset * 60_000_000) % 86_400_000_000 == 0
    again = read_events(exports.csv_bytes(first)).events
    assert again[schema.TIMESTAMP].equals(first[schema.TIMESTAMP])


def test_a_date_before_year_one_in_utc_is_rejected_or_kept_exportable() -> None:
    """0001-01-01 in Europe/Moscow is rejected with a reason, or stored at or after 0001-01-01T00:00Z."""
    result = read_events(b"date,actor\n0001-01-01,A\n0002-01-01,B\n", ImportOptions(tz="Europe/Moscow"))
    micros = pc.cast(result.events[schema.TIMESTAMP], pa.int64()).to_pylist()
    assert all(m >= YEAR_ONE_US for m in micros)
    assert read_events(exports.csv_bytes(result.events)).rejected == 0


def test_no_offset_stated_stays_none_through_the_round_trip() -> None:
    """An event read from Unix seconds has no stated offset, before and after an export and re-import."""
    first = read_events(b"timestamp,actor\n1711126800,A\n").events
    assert first[schema.UTC_OFFSET_MINUTES].to_pylist() == [None]
    assert read_events(exports.csv_bytes(first)).events[schema.UTC_OFFSET_MINUTES].to_pylist() == [None]


def test_the_whitespace_list_is_what_arrow_trims() -> None:
    """dates.WHITESPACE (which bytes may start or end a value that needs trimming) is exactly what
    pc.utf8_trim_whitespace removes, over every code point."""
    characters = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    trimmed = pc.utf8_trim_whitespace(pa.array(["x" + c for c in characters])).to_pylist()
    assert "".join(c for c, t in zip(characters, trimmed, strict=True) if t == "x") == dates.WHITESPACE


def test_markers_become_nulls_in_any_chunk_layout() -> None:
    """Trimming and missing-value markers give the same values whatever the chunks (sliced ones too)."""
    values = [" a", "NA", "b ", "", "***", "*x", "--", "c", "null", " - "]
    expected = ["a", None, "b", None, None, "*x", None, "c", None, None]
    whole = pa.array(["lead", *values, "tail"])
    for chunks in ([whole.slice(1, len(values))], [whole.slice(1, 3), whole.slice(4, 7)]):
        table = pa.table({"x": pa.chunked_array(chunks)})
        assert ingest._without_missing_markers(table)["x"].to_pylist() == expected


@given(st.binary(max_size=64) | st.text(max_size=16).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_the_utf8_check_agrees_with_python(data: bytes) -> None:
    """sniff's in-place UTF-8 check accepts exactly what bytes.decode("utf-8") accepts."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert not sniff._is_utf8(data)
    else:
        assert sniff._is_utf8(data)
