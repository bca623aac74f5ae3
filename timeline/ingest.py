"""CSV bytes in, canonical events and rejected rows out: every input row is stored or reported."""

from __future__ import annotations

import csv
import functools
import io
import json
import mmap
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from timeline import dates, presets, sniff
from timeline import schema as s
from timeline.errors import BadInputError, UsageError
from timeline.spilled import SpilledEvents

_MB = 1024 * 1024  # as Streamlit counts server.maxUploadSize
DEFAULT_MAX_BYTES = 200 * _MB  # matches server.maxUploadSize in .streamlit/config.toml
# Each column costs a few Arrow calls: 2,000 read in about a second, and no event needs that many.
DEFAULT_MAX_COLUMNS = 2_000
_MISSING_MARKERS = (
    "",
    "NA",
    "N/A",
    "n/a",
    "#N/A",
    "NULL",
    "null",
    "Null",
    "None",
    "none",
    "nan",
    "NaN",
    "-",
    "--",
)
_MISSING_PATTERN = r"^\*+$"
_LONGEST_MARKER = max(len(marker) for marker in _MISSING_MARKERS)
_MISSING_COORDINATES = (-9.0, -99.0, -999.0, -9999.0)  # "unknown" codes, as the slow path's ^-9+$
_NUMERIC_FIELDS = (s.FATALITIES, s.INJURED, s.LATITUDE, s.LONGITUDE)
_URL_PATTERN = r"https?://[^\s;,<>\"']+"
REJECT_SCHEMA = pa.schema([("line", pa.int64()), ("reason", pa.string()), ("record", pa.string())])
SAMPLES_PER_COLUMN = 3
SAMPLE_CHARS = 60  # a sample shows what a column holds: a 5 MB cell is cut, not carried along
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HASH_KEY = "0123456789123456"  # pandas' default SipHash key: the ids of every file imported so far
_SECOND_HASH_KEY = "timeline-2nd-key"  # an independent hash, to confirm repeats across batches
_HASHED_ROWS = 1 << 16  # rows joined and hashed at once: 20 MB of text for a typical event row
SAMPLED_ROWS = 2000  # samples come from the top of the file: a million rows cost no more than ten
# What an import is doing, in the order it does it: read_events names each stage as it starts.
STAGES: tuple[str, ...] = (
    "checking the encoding",
    "finding the columns",
    "reading the rows",
    "reading the times",
    "checking ids and duplicates",
    "building the events",
)


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file: its name (for messages), mapping overrides, zone of naive times, date order."""

    file_name: str = "upload.csv"
    mapping: Mapping[str, str | None] = field(default_factory=dict)
    tz: str = "UTC"
    date_order: str = "auto"
    max_bytes: int = DEFAULT_MAX_BYTES
    max_columns: int = DEFAULT_MAX_COLUMNS


@dataclass(frozen=True)
class ImportResult:
    """What an import produced: the events, the rejected rows and the counts that must add up."""

    events: pa.Table | SpilledEvents  # spilled: a large file read in batches (see streamed_import)
    rejects: pa.Table
    rows_read: int
    duplicates: int
    mapping: dict[str, str]
    preset: str
    encoding: str
    delimiter: str
    notices: tuple[str, ...]
    columns: tuple[str, ...]
    # Input column -> its first few distinct values near the top of the file (for the mapping editor).
    samples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.events.num_rows

    def close(self) -> None:
        """Remove the events spilled to disk, if any (once they are saved, or not wanted)."""
        if isinstance(self.events, SpilledEvents):
            self.events.close()

    @property
    def rejected(self) -> int:
        return self.rejects.num_rows

    def summary(self) -> dict:
        """The counts and choices, as recorded in a version's meta.json and printed by --json."""
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "mapping": self.mapping,
            "preset": self.preset,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "notices": list(self.notices),
        }


@dataclass
class Records:
    """Raw records as string columns, with the physical line each starts on (found when first asked
    for: only rejected rows need it, and counting a large file's lines is not free)."""

    table: pa.Table
    line_numbers: Callable[[], np.ndarray]
    structural: list[tuple[int, str, str]]
    notices: list[str]

    @functools.cached_property
    def lines(self) -> np.ndarray:
        return self.line_numbers()


def read_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> sniff.Content:
    """A file's content for read_events: a regular file is mapped into memory, not copied (a million rows
    are 300 MB); anything else is read. Never more than max_bytes: a huge file, a device or a pipe
    cannot fill the memory."""
    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            size = status.st_size
            if size > max_bytes:
                data = b""
            elif stat.S_ISREG(status.st_mode) and size > 0:
                data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            else:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise BadInputError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    if size > max_bytes or len(data) > max_bytes:
        stated = f"{_size(size)}, " if size > max_bytes else ""
        raise BadInputError(f"the file is {stated}over the limit of {_size(max_bytes)}", file=path.name)
    return data


def _size(n: int) -> str:
    """A byte count as people read it: 200 MB, 1.5 MB, 900 bytes."""
    return f"{n / _MB:.1f}".removesuffix(".0") + " MB" if n >= _MB else f"{n:,} bytes"


def read_events(
    data: sniff.Content,
    options: ImportOptions | None = None,
    *,
    on_stage: Callable[[str], object] | None = None,
) -> ImportResult:
    """Read CSV/TSV bytes into canonical events; raises BadInputError if the file cannot be used at all.

    on_stage is called with each of STAGES as it starts (a progress bar's steps)."""
    options = options or ImportOptions()
    name = options.file_name
    dates.validate_zone(options.tz)
    if options.date_order not in dates.DATE_ORDERS:
        raise UsageError(
            f"date order must be one of {', '.join(dates.DATE_ORDERS)}; got {options.date_order!r}"
        )
    if len(data) > options.max_bytes:
        raise BadInputError(
            f"the file is {len(data) / _MB:.1f} MB, over the limit of {options.max_bytes / _MB:.0f} MB",
            file=name,
        )
    with ThreadPoolExecutor(max_workers=1) as pool:
        return _read(data, options, pool, on_stage or _no_report)


def _no_report(stage: str) -> None:
    pass


def _read(
    data: sniff.Content, options: ImportOptions, pool: ThreadPoolExecutor, on_stage: Callable[[str], object]
) -> ImportResult:
    name = options.file_name
    stages = iter(STAGES)
    on_stage(next(stages))
    text = sniff.decode(data, file_name=name)
    on_stage(next(stages))
    found = file_layout(text.utf8, text.encoding, options)
    on_stage(next(stages))
    rows = _read_rows(text.utf8, found.layout, found.names, found.skip)
    _reject_unclosed_quote(rows, text.utf8, found.layout.delimiter)
    rows_read = rows.table.num_rows + len(rows.structural)
    if rows_read == 0:
        raise BadInputError("the file has a header row but no data rows", file=name)
    mapping = presets.resolve_mapping(found.names, found.preset, options.mapping)
    notices, top = list(rows.notices), samples(rows.table)
    read = import_rows(rows, found, mapping, options, pool, on_stage=lambda: on_stage(next(stages)))
    if read.id_notice:
        notices.append(read.id_notice)
    if read.mapping.get(s.ACTOR) and read.all_unknown_actors and read.events.num_rows:
        notices.append(one_lane_notice(read.mapping))
    return ImportResult(
        events=read.events,
        rejects=read.rejects,
        rows_read=rows_read,
        duplicates=read.duplicates,
        mapping=read.mapping,
        preset=found.preset.name,
        encoding=text.encoding,
        delimiter=found.layout.delimiter,
        notices=tuple(notices + read.date_notices),
        columns=tuple(found.names),
        samples=top,
    )


@dataclass(frozen=True)
class FileLayout:
    """What the top of a file decides for all its rows: the encoding, delimiter and header, the known
    layout (preset) it matches, the column names and how many lines come before the first record."""

    encoding: str
    layout: sniff.Layout
    preset: presets.Preset
    names: tuple[str, ...]
    skip: int


def file_layout(utf8: sniff.Content, encoding: str, options: ImportOptions) -> FileLayout:
    """The layout of UTF-8 text (a whole file, or enough of its top for sniff.detect_layout)."""
    layout = sniff.detect_layout(sniff.Text(utf8, encoding), file_name=options.file_name)
    if layout.field_count > options.max_columns:
        # Refused before anything is done per column.
        raise BadInputError(
            f"the file has {layout.field_count:,} columns; an import reads at most {options.max_columns:,}",
            file=options.file_name,
            hint="keep only the columns the timeline needs (a date, who, what, ...) and import it again",
        )
    preset = presets.detect(layout.header, layout.field_count)
    if preset.column_names is not None:
        return FileLayout(encoding, layout, preset, preset.column_names, 0)
    return FileLayout(encoding, layout, preset, sniff.unique_names(layout.header), layout.header_lines)


@dataclass
class RowsImported:
    """What import_rows made of some records: events, rejected rows and what the whole file's counts,
    ids and notices are made from (a file read in batches adds these up: see streamed_import)."""

    events: pa.Table
    rejects: pa.Table  # REJECT_SCHEMA
    reject_rows: np.ndarray  # the position in the records of each reject (-1: not a record Arrow read)
    duplicates: int
    mapping: dict[str, str]
    id_notice: str | None
    ids_from_column: bool  # the event ids are the id column's values
    first_occurrences: np.ndarray  # per record: not an exact duplicate of a record before it
    kept: np.ndarray  # per record: stored as an event
    hashes: tuple[np.ndarray, np.ndarray] | None  # per record: two independent 64-bit hashes, if asked for
    source_ids: pa.ChunkedArray | None  # per record: the id column, cleaned (if one is mapped)
    date_notices: list[str]
    order_votes: dates.OrderVotes
    all_unknown_actors: bool  # no event states its actor (or there is no event)


def import_rows(
    rows: Records,
    found: FileLayout,
    mapping: dict[str, str],
    options: ImportOptions,
    pool: ThreadPoolExecutor,
    *,
    on_stage: Callable[[], object] = lambda: None,
    find_time_columns: bool = True,
    hash_rows: bool = False,
) -> RowsImported:
    """The events and rejected rows of records read from a file with this layout and mapping (a copy is
    completed with the time columns found, when find_time_columns). hash_rows: hash every record (two
    independent hashes), even where a unique id column makes it needless. on_stage is called as each of
    the last three STAGES starts. rows is used up: its records are dropped as the events are built."""
    name, preset = options.file_name, found.preset
    raw = rows.table
    mapping = dict(mapping)
    # Arrow's kernels and numpy release the GIL: once the CSV reader (which keeps both cores busy) is
    # done, the id and source columns are cleaned and read on the second core while this one cleans
    # the other columns and reads the dates. Neither needs the other's results.
    side_fields = {f: mapping[f] for f in (s.EVENT_ID, s.SOURCE_NAME, s.SOURCE_URL) if f in mapping}
    side = pool.submit(_ids_and_sources, raw, side_fields, preset, hash_rows)
    main_clean = _without_missing_markers(raw.drop_columns(_side_only(side_fields, mapping)))
    on_stage()
    if find_time_columns:
        _find_time_columns(mapping, main_clean, name)
    start = _read_start(main_clean, mapping, preset, options)
    on_stage()
    side_clean, identity, sources = side.result()
    # By name in one dict: a table's look-up by name scans its schema, once per column of a wide file.
    cleaned = {**_by_name(side_clean), **_by_name(main_clean)}
    clean = pa.table([cleaned[c] for c in raw.column_names], names=raw.column_names)
    keep = identity.keep.copy()
    duplicates = int((~keep).sum())
    rejects: list[tuple[np.ndarray, list[str]]] = []

    for column, value, reason in preset.not_events:
        if column in found.names:
            marked = pc.fill_null(pc.equal(pc.utf8_lower(clean[column]), value), False).to_numpy(
                zero_copy_only=False
            )
            marked &= keep
            rejects.append((np.flatnonzero(marked), [reason] * int(marked.sum())))
            keep &= ~marked

    bad = keep & ~start.ok
    bad_idx = np.flatnonzero(bad)
    rejects.append((bad_idx, _date_reasons(clean, mapping, start, bad_idx)))
    keep &= start.ok

    reject_table, reject_rows = _reject_table(raw, rows, rejects, found.layout.delimiter)
    source_ids = clean[mapping[s.EVENT_ID]] if s.EVENT_ID in mapping else None
    on_stage()
    event_ids, first_occurrences = identity.ids, identity.keep
    id_notice, ids_from_column, hashes = identity.notice, identity.from_column, identity.hashes
    if keep.all():
        events = _build_events(clean, start, event_ids, mapping, preset, options, sources)
    else:
        # The kept rows are copied a column at a time, and every other reference to the file's rows is
        # dropped first, so each column read is freed as its copy is made: the text is never held twice
        # (ten million rows are 3 GB of it).
        column_names, columns = clean.column_names, clean.columns
        rows.table = rows.line_numbers = None
        del raw, rows, side, side_clean, main_clean, cleaned, clean, sources, identity
        kept = pa.array(np.flatnonzero(keep))
        for i, column in enumerate(columns):
            columns[i] = column.take(kept)
        kept_rows = pa.table(columns, names=column_names)
        del columns
        events = _build_events(
            kept_rows, start.take(keep), event_ids.take(kept), mapping, preset, options, None
        )
    return RowsImported(
        events=events,
        rejects=reject_table,
        reject_rows=reject_rows,
        duplicates=duplicates,
        mapping=mapping,
        id_notice=id_notice,
        ids_from_column=ids_from_column,
        first_occurrences=first_occurrences,
        kept=keep,
        hashes=hashes,
        source_ids=source_ids,
        date_notices=start.notices,
        order_votes=start.order_votes,
        all_unknown_actors=_all_unknown_actors(events),
    )


def _by_name(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    return dict(zip(table.column_names, table.columns, strict=True))


def samples(raw: pa.Table) -> dict[str, tuple[str, ...]]:
    """Each input column's first distinct values in the top rows (missing markers left out), each cut to
    SAMPLE_CHARS characters."""
    top = _without_missing_markers(raw.slice(0, SAMPLED_ROWS))
    samples = {}
    for name, column in zip(top.column_names, top.columns, strict=True):
        first = pc.unique(column.drop_null())[:SAMPLES_PER_COLUMN]  # in order of first appearance
        samples[name] = tuple(pc.utf8_slice_codeunits(first, 0, SAMPLE_CHARS).to_pylist())
    return samples


def _all_unknown_actors(events: pa.Table) -> bool:
    """Whether no event states its actor (every one is in the UNKNOWN_ACTOR lane)."""
    if events.num_rows == 0:
        return True
    actors = events[s.ACTOR]
    # The first event settles it for nearly every file, without comparing a million names.
    return actors[0].as_py() == s.UNKNOWN_ACTOR and pc.all(pc.equal(actors, s.UNKNOWN_ACTOR)).as_py()


def one_lane_notice(mapping: Mapping[str, str]) -> str:
    """What to say where the actor column is empty in every event: the timeline has one lane."""
    return (
        f"{mapping[s.ACTOR]!r} is empty: every event is in one lane, {s.UNKNOWN_ACTOR!r}. "
        "Choose another column as the actor for one lane per actor."
    )


def version_meta(result: ImportResult, *, name: str, source_file: str, options: ImportOptions) -> dict:
    """What a stored version records about the import that made it (store.save adds the source's hash)."""
    return {
        "name": name,
        "source_file": source_file,
        "tz": options.tz,
        "date_order": options.date_order,
        "mapping_overrides": {k: v for k, v in options.mapping.items()},
        "input_columns": list(result.columns),
        **result.summary(),
    }


# --- reading records -----------------------------------------------------------------------------


def _read_rows(utf8: sniff.Content, layout: sniff.Layout, names: tuple[str, ...], skip: int) -> Records:
    """Records via Arrow's CSV reader; ragged or blank-line files go through Python's csv module."""
    delimiter = layout.delimiter
    quoted = utf8.find(b'"') != -1
    # Arrow reads in parallel blocks cut at line ends: faster than following quotes to cut them (a third
    # of the read), and right as long as no record spans lines, which the count of rows then proves (a
    # block starting inside a quoted value can otherwise be misread without an error).
    # (A header over several lines is a quoted line break too, and the count below could not tell.)
    follow_quotes = quoted and (layout.line_breaks_in_values or skip > 1)
    table = None if follow_quotes else _arrow_rows(utf8, delimiter, names, skip, False)
    if quoted and (table is None or table.num_rows != _records_if_one_per_line(utf8) - skip):
        table = _arrow_rows(utf8, delimiter, names, skip, True)
    if table is None:  # a ragged row, or a quote Arrow cannot follow
        return _read_rows_python(utf8, delimiter, names, skip)
    read, kept = table, None
    empty = all_empty(table)
    if pc.any(empty).as_py() and (utf8.find(b"\n\n") != -1 or utf8.find(b"\n\r\n") != -1):
        # Arrow reads a blank line as a row of empty fields; a blank line is no row. (Looking for the
        # rows first: searching a large file for a blank line costs more than reading a column.)
        kept = pc.invert(empty).to_numpy(zero_copy_only=False)
        table = table.filter(kept)
    return Records(table, functools.partial(_line_numbers, read, utf8, skip, quoted, kept), [], [])


def _arrow_rows(
    utf8: sniff.Content, delimiter: str, names: tuple[str, ...], skip: int, newlines_in_values: bool
) -> pa.Table | None:
    """Every record as strings, or None where Arrow cannot read the file."""
    try:
        return pacsv.read_csv(
            pa.BufferReader(utf8),  # in place, not copied
            # Arrow's default blocks (1 MB), read in parallel: each column comes out in many chunks, and
            # stays so (concatenating them would copy the whole file).
            read_options=pacsv.ReadOptions(column_names=list(names), skip_rows=skip),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=newlines_in_values, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # sniff.decode made sure it is
            ),
        )
    except pa.ArrowInvalid:
        return None


def _records_if_one_per_line(utf8: sniff.Content) -> int:
    """How many records Arrow reads if none spans lines: one per line end, and a last unterminated one."""
    return sniff.count_line_ends(utf8) + (0 if utf8[-1:] in (b"\n", b"\r") else 1)


def _physical_lines(utf8: sniff.Content) -> int:
    return sniff.count_byte(utf8, b"\n") + (0 if utf8[-1:] == b"\n" else 1)


def all_empty(table: pa.Table) -> pa.ChunkedArray:
    """Whether every field of a row is the empty string."""
    empty = pc.equal(table.column(0), "")
    for column in table.columns[1:]:
        if not pc.any(empty).as_py():
            break
        empty = pc.and_(empty, pc.equal(column, ""))
    return empty


def _line_numbers(
    read: pa.Table, utf8: sniff.Content, skip: int, quoted: bool, kept: np.ndarray | None
) -> np.ndarray:
    """The physical line each record Arrow read starts on (of the kept ones, blank lines left out)."""
    lines = skip + 1 + np.arange(read.num_rows, dtype=np.int64)
    if quoted and read.num_rows and _physical_lines(utf8) != skip + read.num_rows:
        # Some values hold newlines: each record starts after the lines of the records before it.
        newlines = np.zeros(read.num_rows, dtype=np.int64)
        for column in read.columns:
            newlines += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
        lines += np.concatenate([[0], np.cumsum(newlines)[:-1]])
    return lines if kept is None else lines[kept]


def _reject_unclosed_quote(rows: Records, utf8: sniff.Content, delimiter: str) -> None:
    """A quote that is never closed swallows the rest of the file into one record: report, not import it."""
    if rows.table.num_rows == 0:
        return
    last = rows.table.num_rows - 1
    values = [v for v in rows.table.slice(last, 1).to_pylist()[0].values() if v is not None]
    if not any("\n" in v for v in values) or sniff.count_byte(utf8, b'"') % 2 == 0:
        return
    line = int(rows.lines[last])
    spanned = sum(v.count("\n") for v in values) + 1
    reason = (
        f"a quote opened in this record is never closed, so it runs from line {line} to the end of the "
        f"file ({spanned} lines) and the rows in it cannot be told apart; close the quote and import again"
    )
    rows.structural.append((line, reason, delimiter.join(values)))
    rows.table = rows.table.slice(0, last)
    rows.lines = rows.lines[:last]


def _records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The reader's records; a value over the csv module's field limit is said plainly. The limit is the
    process's own (128 KiB by default): the command line and the page's import worker raise it for their
    whole process (cli.import_process_settings), which library code must not do."""
    try:
        yield from reader
    except csv.Error as exc:
        if "field larger than field limit" not in str(exc):
            raise
        raise BadInputError(
            "a value is longer than Python's csv module reads in this process (128 KiB unless it was raised)",
            row=getattr(reader, "line_num", None),
            hint="import it with `python -m timeline import` or from the page, which read values up to 1 GiB",
        ) from None


def _read_rows_python(utf8: sniff.Content, delimiter: str, names: tuple[str, ...], skip: int) -> Records:
    width = len(names)
    columns: list[list[str]] = [[] for _ in names]
    lines: list[int] = []
    structural: list[tuple[int, str, str]] = []
    short = 0
    reader = csv.reader(io.StringIO(str(utf8, "utf-8"), newline=""), delimiter=delimiter)
    previous = 0
    for record in _records(reader):
        start, previous = previous + 1, reader.line_num
        if start <= skip or not any(record):
            continue  # the header, or a blank line: no row
        while len(record) > width and record[-1] == "":
            record.pop()
        if len(record) > width:
            reason = f"the row has {len(record)} fields but the header has {width}"
            structural.append((start, reason, delimiter.join(record)))
            continue
        if len(record) < width:
            short += 1
            record = record + [""] * (width - len(record))
        lines.append(start)
        for values, value in zip(columns, record, strict=True):
            values.append(value)
    table = pa.table({n: pa.array(v, pa.string()) for n, v in zip(names, columns, strict=True)})
    notices = []
    if short:
        notices.append(
            f"{short} rows had fewer fields than the header; their missing fields were read as empty."
        )
    return Records(table, lambda: np.array(lines, dtype=np.int64), structural, notices)


def _side_only(side_fields: Mapping[str, str], mapping: Mapping[str, str]) -> list[str]:
    """The id and source columns that nothing else is read from: only the second core cleans those."""
    elsewhere = {column for field_name, column in mapping.items() if field_name not in side_fields}
    return sorted(set(side_fields.values()) - elsewhere)


def _ids_and_sources(raw: pa.Table, side_fields: Mapping[str, str], preset: presets.Preset, hash_rows: bool):
    """The id and source columns cleaned, the identities read from them, and the sources."""
    clean = _without_missing_markers(raw.select(sorted(set(side_fields.values()))))
    identities = _identities(raw, clean, side_fields, preset, hash_rows)
    sources = _sources(*(_source_text(clean, side_fields, preset, f) for f in (s.SOURCE_NAME, s.SOURCE_URL)))
    return clean, identities, sources


def _without_missing_markers(table: pa.Table) -> pa.Table:
    """Trimmed values with the missing-value markers (empty, NA, NULL, ***...) as nulls."""
    if table.num_columns == 0:
        return table  # a table built from no columns would have no rows
    columns = []
    for column in table.columns:
        first, last = dates.value_ends(column)
        if dates.may_need_trimming(first, last):
            column = pc.utf8_trim_whitespace(column)
            first, _ = dates.value_ends(column)
        columns.append(_markers_as_nulls(column, first))
    return pa.table(columns, names=table.column_names)


def _markers_as_nulls(values: pa.ChunkedArray, first: np.ndarray) -> pa.ChunkedArray:
    """Values with the missing-value markers as nulls: a new validity bitmap over the same text, which is
    not copied. Only an empty value, a short one, or one starting with '*' can be a marker: only short
    values are looked up, and only those starting with '*' matched against the pattern."""
    lengths = pc.binary_length(values).to_numpy(zero_copy_only=False)
    missing = lengths == 0
    short = ~missing & (lengths <= _LONGEST_MARKER)
    if short.any():
        missing[short] = pc.is_in(values.filter(short), value_set=pa.array(_MISSING_MARKERS)).to_numpy(
            zero_copy_only=False
        )
    starred = first == ord("*")
    if starred.any():
        stars = pc.match_substring_regex(values.filter(starred), _MISSING_PATTERN)
        missing[starred] |= pc.fill_null(stars, False).to_numpy(zero_copy_only=False)
    if not missing.any():
        return values
    valid = values.is_valid().to_numpy(zero_copy_only=False) & ~missing
    chunks, start = [], 0
    for chunk in values.chunks:
        # A validity bitmap counts from the start of the buffers, where a sliced chunk does not start.
        bitmap = pa.array(
            np.concatenate([np.zeros(chunk.offset, dtype=bool), valid[start : start + len(chunk)]])
        )
        chunks.append(
            pa.Array.from_buffers(
                chunk.type, len(chunk), [bitmap.buffers()[1], *chunk.buffers()[1:]], offset=chunk.offset
            )
        )
        start += len(chunk)
    return pa.chunked_array(chunks, values.type)


def _joined(table: pa.Table) -> pa.Array:
    """Each row's fields in one string (bytes), to tell rows apart and to hash them."""
    if table.num_columns == 1:
        joined = pc.fill_null(table.column(0), "")
    else:
        joined = pc.binary_join_element_wise(*[pc.fill_null(c, "") for c in table.columns], "\x1f")
    return joined.combine_chunks().cast(pa.binary())


def _row_hashes(table: pa.Table, keys: tuple[str, ...] = (_HASH_KEY,)) -> list[np.ndarray]:
    """Each row's 64-bit hash per key: pandas' SipHash of its joined fields (the first key's made every id
    saved so far).

    The rows are joined and hashed a slice at a time: as bytes objects, which pandas hashes without
    encoding them again (a str would be), and without a copy of the whole file's text held at once."""
    hashes = [np.empty(table.num_rows, dtype=np.uint64) for _ in keys]
    for start in range(0, table.num_rows, _HASHED_ROWS):
        joined = _joined(table.slice(start, _HASHED_ROWS)).to_numpy(zero_copy_only=False)
        for hashed, key in zip(hashes, keys, strict=True):
            hashed[start : start + len(joined)] = pd.util.hash_array(joined, hash_key=key, categorize=False)
    return hashes


def hex_digits(values: np.ndarray) -> pa.Array:
    """Each uint64 as 16 lower-case hex digits ("%016x"), built as one Arrow string buffer (a byte a
    digit: ten million ids take 160 MB on the way, not the 1.3 GB a uint64 a digit would)."""
    octets = values.astype(">u8").view(np.uint8).reshape(-1, 8)  # most significant first
    nibbles = np.empty((len(values), 16), dtype=np.uint8)
    nibbles[:, 0::2] = octets >> 4
    nibbles[:, 1::2] = octets & 0xF
    digits = _HEX_DIGITS[nibbles]
    offsets = np.arange(0, 16 * len(values) + 1, 16, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(digits)]
    )


def _find_time_columns(mapping: dict[str, str], clean: pa.Table, file_name: str) -> None:
    """Where no column is named as a date, the first whose values read as dates (and a time beside it)."""
    taken = set(mapping.values())
    if presets.DATE not in mapping and presets.YEAR not in mapping:
        for column in clean.column_names:
            if column not in taken and dates.looks_like_dates(_sample(clean[column])):
                mapping[presets.DATE] = column
                taken.add(column)
                break
        else:
            raise BadInputError(
                "no usable date column: no column is named like a date and none holds dates",
                file=file_name,
                hint="map one with --map timestamp=COLUMN, or choose it in the mapping",
            )
    if presets.DATE in mapping and presets.TIME not in mapping:
        for column in clean.column_names:
            if column not in taken and dates.looks_like_times(_sample(clean[column])):
                mapping[presets.TIME] = column
                break


def _sample(values: pa.ChunkedArray, size: int = 500) -> pa.Array:
    present = values.drop_null()
    return present.slice(0, size).combine_chunks() if len(present) else pa.array([], pa.string())


# --- time ----------------------------------------------------------------------------------------


def _parts(
    clean: pa.Table, mapping: Mapping[str, str], options: ImportOptions, names: tuple[str, str, str, str, str]
):
    """Date components from a date column (plus a time column) or from year/month/day columns."""
    date_field, time_field, year_field, month_field, day_field = names
    notices: list[str] = []
    if date_field in mapping:
        column = mapping[date_field]
        parts, notices = dates.read_parts(
            clean[column].combine_chunks(), date_order=options.date_order, column=column
        )
    elif year_field in mapping:

        def col(field_name: str) -> pa.Array | None:
            return clean[mapping[field_name]].combine_chunks() if field_name in mapping else None

        parts = dates.parts_from_columns(col(year_field), col(month_field), col(day_field))
    else:
        return None, notices
    if time_field in mapping:
        dates.read_time_parts(parts, clean[mapping[time_field]].combine_chunks())
    return parts, notices


def _read_start(
    clean: pa.Table,
    mapping: Mapping[str, str],
    preset: presets.Preset,
    options: ImportOptions,
) -> dates.Parsed:
    fields = (presets.DATE, presets.TIME, presets.YEAR, presets.MONTH, presets.DAY)
    parts, date_notices = _parts(clean, mapping, options, fields)
    parsed = dates.resolve(
        parts, tz=options.tz, column=mapping.get(presets.DATE, mapping.get(presets.YEAR, ""))
    )
    parsed.notices = date_notices
    if parts is not None:
        parsed.order_votes = parts.order_votes
    if s.UTC_OFFSET_MINUTES in mapping:
        # A file that states each event's offset beside a UTC time (this tool's own export) keeps it.
        stated, _ = _integers_signed(clean[mapping[s.UTC_OFFSET_MINUTES]].combine_chunks())
        present = stated.is_valid().to_numpy(zero_copy_only=False)
        given = present & parsed.has_offset
        parsed.offset_minutes = np.where(
            given, stated.fill_null(0).to_numpy(zero_copy_only=False), parsed.offset_minutes
        )
        # An empty cell there means the source stated no offset: the UTC 'Z' of the export is not one.
        parsed.has_offset = parsed.has_offset & present
    if s.TIME_PRECISION in mapping:
        stated = clean[mapping[s.TIME_PRECISION]].combine_chunks()
        codes = {**{p: p for p in s.PRECISIONS}, **preset.precision_codes}
        stated_index = np.array(
            [s.PRECISIONS.index(codes[v]) if v in codes else -1 for v in pc.utf8_lower(stated).to_pylist()]
            if len(codes) > len(s.PRECISIONS)
            else _precision_index(pc.utf8_lower(stated)),
            dtype=np.int8,
        )
        coarser = stated_index > parsed.precision
        parsed.precision = np.maximum(parsed.precision, stated_index).astype(np.int8)
        if coarser.any():
            moved = dates.start_of_interval(parsed.utc_us, parsed.precision, parsed.offset_minutes)
            parsed.utc_us = np.where(coarser, moved, parsed.utc_us)
    return parsed


def _precision_index(values: pa.Array) -> np.ndarray:
    index = pc.index_in(values, value_set=pa.array(s.PRECISIONS))
    return pc.fill_null(index, -1).to_numpy(zero_copy_only=False)


def _date_reasons(
    clean: pa.Table, mapping: Mapping[str, str], parsed: dates.Parsed, idx: np.ndarray
) -> list[str]:
    if presets.DATE in mapping:
        column = mapping[presets.DATE]
        values = clean[column].take(pa.array(idx)).to_pylist()
        reasons = []
        for value, error in zip(values, parsed.errors[idx], strict=True):
            if value is None:
                reasons.append(f"column {column!r}: no date")
            else:
                reasons.append(f"column {column!r}: {value!r} {error}")
        return reasons
    fields = [f for f in (presets.YEAR, presets.MONTH, presets.DAY, presets.TIME) if f in mapping]
    values = {f: clean[mapping[f]].take(pa.array(idx)).to_pylist() for f in fields}
    reasons = []
    for position, error in enumerate(parsed.errors[idx]):
        stated = [f"{mapping[f]}={values[f][position]!r}" for f in fields if values[f][position] is not None]
        if values[presets.YEAR][position] is None:
            reasons.append(f"column {mapping[presets.YEAR]!r}: no year")
        else:
            reasons.append(f"{', '.join(stated)} {error}")
    return reasons


def _read_end(clean: pa.Table, mapping: Mapping[str, str], options: ImportOptions, start_us: np.ndarray):
    fields = (presets.END_DATE, presets.END_TIME, presets.END_YEAR, presets.END_MONTH, presets.END_DAY)
    parts, _ = _parts(clean, mapping, options, fields)
    if parts is None:
        return None, np.zeros(len(start_us), dtype=bool)
    parsed = dates.resolve(parts, tz=options.tz, column="end")
    # A coarse end ("1946") means the end of that interval; a precise end is the instant itself.
    interval_end = dates.end_of_interval(parsed.utc_us, parsed.precision, parsed.offset_minutes)
    end_us = np.where(parsed.precision >= dates.DAY, interval_end, parsed.utc_us)
    usable = parsed.ok & (end_us >= start_us)
    stated = parts.matched | (parts.error != None)  # noqa: E711 - elementwise test on an object array
    return pa.array(end_us, type=s.UTC_MICROS, mask=~usable), stated & ~usable


# --- canonical columns ---------------------------------------------------------------------------


def _text(clean: pa.Table, mapping: Mapping[str, str], field_name: str, n: int) -> pa.Array | pa.ChunkedArray:
    if field_name not in mapping:
        return pa.nulls(n, pa.string())
    return clean[mapping[field_name]]


def _source_text(
    clean: pa.Table, mapping: Mapping[str, str], preset: presets.Preset, field_name: str
) -> pa.Array | pa.ChunkedArray:
    """A source field's text as _build_events gives it to _sources (labelled, where the preset labels it)."""
    return _labelled(_text(clean, mapping, field_name, clean.num_rows), preset.value_labels.get(field_name))


def _labelled(values: pa.Array, labels: Mapping[str, str] | None) -> pa.Array:
    if not labels:
        return values
    codes = pa.array(list(labels))
    index = pc.index_in(values, value_set=codes)
    labelled = pc.take(pa.array(list(labels.values())), index)
    return pc.coalesce(labelled, values)


def _integers_signed(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Whole numbers that may be negative (offsets in minutes); anything else is missing."""
    numeric = pc.fill_null(pc.match_substring_regex(values, r"^[+-]?\d{1,5}$"), False)
    number = pc.cast(pc.if_else(numeric, values, None), pa.int64())
    within = pc.fill_null(pc.less_equal(pc.abs(number), 18 * 60), False)
    return pc.if_else(within, number, None), pc.and_(pc.is_valid(values), pc.invert(within))


def _nothing_unusable(values: pa.Array) -> pa.Array:
    return pa.array(np.zeros(len(values), dtype=bool))


def _integers(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Counts: whole non-negative numbers ("1,234", "12.0" too); negative codes are missing."""
    try:  # the common case, every present value a plain integer, in one cast
        number = pc.cast(values, pa.int32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        negative = pc.fill_null(pc.less(number, 0), False)
        return pc.if_else(negative, None, number), _nothing_unusable(values)
    grouped = pc.fill_null(pc.match_substring_regex(values, r"^\d{1,3}([, ]\d{3})+$"), False)
    text = pc.if_else(grouped, pc.replace_substring_regex(values, "[, ]", ""), values)
    text = pc.replace_substring_regex(text, r"\.0+$", "")
    numeric = pc.fill_null(pc.match_substring_regex(text, r"^-?\d{1,9}$"), False)
    number = pc.cast(pc.if_else(numeric, text, None), pa.int64())
    negative = pc.fill_null(pc.less(number, 0), False)
    result = pc.cast(pc.if_else(negative, None, number), pa.int32())
    unusable = pc.and_(pc.is_valid(values), pc.invert(numeric))
    return result, unusable


def _coordinates(values: pa.Array, limit: float) -> tuple[pa.Array, pa.Array]:
    """Degrees from text, tolerating decimal commas and stray literal '\\t'; out of range is missing."""
    try:  # the common case, every present value a plain number in range, in one cast
        number = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        if pc.all(pc.less_equal(pc.abs(number), limit)).as_py() in (True, None):
            coded = pc.is_in(number, value_set=pa.array(_MISSING_COORDINATES))
            return pc.if_else(coded, None, number), _nothing_unusable(values)
    text = pc.replace_substring(values, "\\t", "")
    text = pc.utf8_trim_whitespace(text)
    text = pc.replace_substring_regex(text, r"^(-?\d+),(\d+)$", r"\1.\2")
    numeric = pc.fill_null(pc.match_substring_regex(text, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), False)
    number = pc.cast(pc.if_else(numeric, text, None), pa.float64())
    in_range = pc.fill_null(pc.less_equal(pc.abs(number), limit), False)
    negative_code = pc.fill_null(pc.match_substring_regex(text, r"^-9+$"), False)
    result = pc.if_else(pc.and_(in_range, pc.invert(negative_code)), number, None)
    unusable = pc.and_(pc.is_valid(values), pc.invert(pc.or_(in_range, negative_code)))
    return result, unusable


def _sources(name_values: pa.Array, url_values: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """source_name and source_url, and which name / url cells did not fit whole (they go to extra).

    A cell that starts with a link is a link (several links: the first one is used); a cell
    that holds no http(s) link at all ("Spreadsheet", "javascript:...") is a name.
    """
    one_link = pc.match_substring_regex(url_values, "^" + _URL_PATTERN + "$", ignore_case=True)
    named_by_link = pc.match_substring_regex(name_values, "^https?://", ignore_case=True)
    if pc.all(one_link).as_py() in (True, None) and not pc.any(named_by_link).as_py():
        # The common case: every link cell is one clean link and no name cell is a link.
        unchanged = _nothing_unusable(url_values)
        return name_values, url_values, unchanged, unchanged
    name_is_link = pc.fill_null(
        pc.match_substring_regex(name_values, "^" + _URL_PATTERN, ignore_case=True), False
    )
    candidates = pc.coalesce(url_values, pc.if_else(name_is_link, name_values, None))
    found = pc.fill_null(pc.match_substring_regex(candidates, _URL_PATTERN, ignore_case=True), False)
    first = pc.struct_field(pc.extract_regex(candidates, "(?i)(?P<url>" + _URL_PATTERN + ")"), "url")
    url = pc.if_else(found, first, None)
    url_is_name = pc.and_(pc.is_valid(url_values), pc.invert(found))
    own_name = pc.if_else(name_is_link, None, name_values)
    # A link cell without a link names the source only where no name is given; else it goes to extra.
    url_is_name = pc.and_(url_is_name, pc.is_null(own_name))
    name = pc.coalesce(own_name, pc.if_else(url_is_name, url_values, None))

    def not_whole(values: pa.Array) -> pa.Array:
        return pc.and_(pc.is_valid(values), pc.invert(pc.fill_null(pc.equal(url, values), False)))

    url_cell_kept = pc.and_(not_whole(url_values), pc.invert(url_is_name))
    name_cell_kept = pc.and_(name_is_link, not_whole(name_values))
    return name, url, name_cell_kept, url_cell_kept


@dataclass(frozen=True)
class _Identity:
    """Which rows are first occurrences (not exact duplicates), every row's event id, whether those are
    the id column's, a notice, and the rows' two hashes where they were computed with both keys."""

    keep: np.ndarray
    ids: pa.Array | pa.ChunkedArray
    from_column: bool
    notice: str | None
    hashes: tuple[np.ndarray, np.ndarray] | None


def _identities(
    raw: pa.Table, clean: pa.Table, mapping: Mapping[str, str], preset: presets.Preset, hash_rows: bool
) -> _Identity:
    """Which rows are first occurrences, and every row's event id (see _Identity).

    An id column serves when its values are unique among the distinct rows; otherwise ids are a
    stable hash of the row's content. A unique id column also proves there are no identical rows,
    so the rows need not be hashed at all (unless hash_rows asks for both hashes of every row).
    """
    n = raw.num_rows
    ids = clean[mapping[s.EVENT_ID]] if s.EVENT_ID in mapping else None
    unique_ids = ids is not None and ids.null_count == 0 and len(pc.unique(ids)) == n
    if unique_ids and not hash_rows:
        return _Identity(np.ones(n, dtype=bool), ids, True, None, None)
    hashes, *second = _row_hashes(raw, (_HASH_KEY, _SECOND_HASH_KEY) if hash_rows else (_HASH_KEY,))
    both = (hashes, second[0]) if hash_rows else None
    if unique_ids:
        return _Identity(np.ones(n, dtype=bool), ids, True, None, both)
    # codes[i] numbers row i's hash among the distinct hashes, in the order they first appear.
    codes, distinct_hashes = pd.factorize(hashes)
    repeated = len(distinct_hashes) < n
    keep = np.ones(n, dtype=bool)
    if repeated and not preset.rows_are_distinct:
        keep = _first_occurrences(raw, codes)
    notice = None
    if ids is not None:
        kept_ids = ids.filter(pa.array(keep))
        distinct = len(pc.unique(kept_ids))
        if kept_ids.null_count == 0 and distinct == len(kept_ids):
            return _Identity(keep, ids, True, None, both)
        notice = id_column_notice(mapping[s.EVENT_ID], distinct, len(kept_ids), kept_ids.null_count > 0)
    return _Identity(keep, hashed_ids(hashes, codes if repeated else None), False, notice, both)


def id_column_notice(column: str, distinct: int, rows: int, some_empty: bool) -> str:
    """What to say where an id column cannot serve: its values repeat among distinct rows, or are missing."""
    return (
        f"Column {column!r} cannot serve as event id ({distinct} distinct values in "
        f"{rows} rows{', some empty' if some_empty else ''}); "
        "ids were computed from each row's content instead."
    )


def hashed_ids(hashes: np.ndarray, codes: np.ndarray | None) -> pa.Array:
    """Event ids from row hashes: 16 hex digits, and where rows share a hash (codes: pd.factorize of the
    hashes, None where none repeats), the second and later of them its occurrence number too
    ("…-2"): identical rows kept as distinct incidents still get stable ids on re-import."""
    hashed = hex_digits(hashes)
    if codes is None:
        return hashed
    shared = np.flatnonzero(np.bincount(codes)[codes] > 1)
    again, occurrence = later_occurrences(codes[shared])
    return numbered(hashed, shared[again], occurrence)


def later_occurrences(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of rows numbered by the hash they have (codes, in file order): where the second and later rows of a
    hash are, and their occurrence numbers (2, 3, ...)."""
    repeat = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    return np.flatnonzero(repeat > 0), repeat[repeat > 0] + 1


def numbered(ids: pa.Array, positions: np.ndarray, occurrence: np.ndarray) -> pa.Array:
    """ids with the ones at positions given their occurrence number ("…-2")."""
    if not len(positions):
        return ids
    joined = pc.binary_join_element_wise(
        ids.take(pa.array(positions)), pa.array(occurrence).cast(pa.string()), "-"
    )
    later = np.zeros(len(ids), dtype=bool)
    later[positions] = True
    return pc.replace_with_mask(ids, pa.array(later), joined)


def _first_occurrences(raw: pa.Table, codes: np.ndarray) -> np.ndarray:
    """True for the first of each group of rows identical in every field (hash-equal, then compared).

    codes number the rows' hashes in the order they first appear (pd.factorize): a row is the first of
    its hash where its code is higher than every code before it."""
    seen = np.maximum.accumulate(codes)
    is_first = np.ones(len(codes), dtype=bool)
    is_first[1:] = codes[1:] > seen[:-1]
    first_row = np.flatnonzero(is_first)
    candidates = np.flatnonzero(~is_first)
    # Confirm each hash repeat against its first occurrence's text, so a collision never drops a row.
    same = pc.equal(
        _joined(raw.take(pa.array(candidates))), _joined(raw.take(pa.array(first_row[codes[candidates]])))
    )
    keep = np.ones(len(codes), dtype=bool)
    keep[candidates[same.to_numpy(zero_copy_only=False)]] = False
    return keep


def _json_strings(values: pa.Array) -> pa.Array:
    """Each value as a JSON string literal (with quotes); nulls stay null."""
    text = values
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, char, escaped)
    if pc.any(pc.match_substring_regex(text, "[\x00-\x1f]")).as_py():
        for code in range(0x20):
            text = pc.replace_substring(text, chr(code), f"\\u{code:04x}")
    return pc.binary_join_element_wise('"', text, '"', "")


def _extra(clean: pa.Table, columns: list[str], kept_raw: dict[str, pa.Array]) -> pa.Array:
    """One JSON object per row of the given columns and kept raw values; null where all are missing."""
    pieces = []
    sources = [(c, clean[c].combine_chunks()) for c in columns] + list(kept_raw.items())
    for position, (name, values) in enumerate(sources):
        key = ("" if position == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        literal = _json_strings(values)
        pieces.append(pc.fill_null(pc.binary_join_element_wise(key, literal, ""), ""))
    if not pieces:
        return pa.nulls(clean.num_rows, pa.string())
    joined = pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]
    joined = pc.replace_substring_regex(joined, "^,", "")
    body = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(pc.equal(joined, ""), None, body)


def _merged_extra(given: pa.Array, extra: pa.Array) -> pa.Array:
    """An input `extra` column of JSON objects (this tool's export) merged with the new extra keys."""
    is_object = pc.fill_null(pc.match_substring_regex(given, r"(?s)^\{.*\}$"), False)
    valid = np.array([_is_json_object(v) for v in given.filter(is_object).to_pylist()], dtype=bool)
    mask = is_object.to_numpy(zero_copy_only=False).copy()
    mask[mask] = valid
    usable = pa.array(mask)
    inner = pc.utf8_slice_codeunits(given, 1, -1)  # the object's members, without its braces
    new_inner = pc.utf8_slice_codeunits(extra, 1, -1)
    both = pc.and_(
        pc.is_valid(extra), pc.invert(pc.fill_null(pc.equal(pc.utf8_trim_whitespace(inner), ""), True))
    )
    merged = pc.if_else(
        both,
        pc.binary_join_element_wise("{", inner, ",", new_inner, "}", ""),
        pc.coalesce(pc.if_else(pc.is_valid(extra), extra, None), given),
    )
    # A cell that is not a JSON object is an ordinary unmapped value.
    fallback = _extra_single("extra", given, extra)
    return pc.if_else(usable, merged, fallback)


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _extra_single(name: str, values: pa.Array, extra: pa.Array) -> pa.Array:
    """extra with one more key, name: value, for the rows where value is present."""
    member = pc.binary_join_element_wise(json.dumps(name) + ":", _json_strings(values), "")
    inner = pc.utf8_slice_codeunits(extra, 1, -1)
    with_extra = pc.binary_join_element_wise("{", inner, ",", member, "}", "")
    alone = pc.binary_join_element_wise("{", member, "}", "")
    combined = pc.if_else(pc.is_valid(extra), with_extra, alone)
    return pc.if_else(pc.is_valid(values), combined, extra)


def _build_events(
    clean: pa.Table,
    start: dates.Parsed,
    event_id: pa.Array,
    mapping: dict[str, str],
    preset: presets.Preset,
    options: ImportOptions,
    sources: tuple[pa.Array, pa.Array, pa.Array, pa.Array] | None,
) -> pa.Table:
    """The canonical events of these rows; sources is what _sources gives for them, if already read."""
    n = clean.num_rows
    kept_raw: dict[str, pa.Array] = {}

    def keep_where(field_name: str, unusable: pa.Array) -> None:
        if not pc.any(unusable).as_py():
            return
        column = mapping[field_name]
        values = clean[column].combine_chunks()
        masked = pc.if_else(unusable, values, None)
        if masked.null_count < n:
            kept_raw[column] = masked

    text = {f: _text(clean, mapping, f, n) for f in s.TEXT_COLUMNS}
    for field_name, labels in preset.value_labels.items():
        if field_name in mapping:
            kept_raw[mapping[field_name]] = text[field_name]
            text[field_name] = _labelled(text[field_name], labels)
    actor = text[s.ACTOR]
    for column in preset.actor_fallbacks:
        if column in clean.column_names:
            actor = pc.coalesce(actor, clean[column].combine_chunks())
    text[s.ACTOR] = pc.fill_null(actor, s.UNKNOWN_ACTOR)
    event_type = text[s.EVENT_TYPE]
    for column, value, label in preset.ranges:
        if column in clean.column_names:
            is_range = pc.fill_null(pc.equal(pc.utf8_lower(clean[column].combine_chunks()), value), False)
            event_type = pc.if_else(is_range, label, event_type)
    text[s.EVENT_TYPE] = pc.fill_null(event_type, s.UNKNOWN_EVENT_TYPE)

    numbers = {}
    for field_name in s.INTEGER_COLUMNS:
        numbers[field_name] = pa.nulls(n, pa.int32())
        if field_name in mapping:
            numbers[field_name], unusable = _integers(_text(clean, mapping, field_name, n))
            keep_where(field_name, unusable)
    for field_name, limit in ((s.LATITUDE, 90.0), (s.LONGITUDE, 180.0)):
        numbers[field_name] = pa.nulls(n, pa.float64())
        if field_name in mapping:
            numbers[field_name], unusable = _coordinates(_text(clean, mapping, field_name, n), limit)
            keep_where(field_name, unusable)
    name, url, name_not_whole, url_not_whole = sources or _sources(text[s.SOURCE_NAME], text[s.SOURCE_URL])
    for field_name, unusable in ((s.SOURCE_NAME, name_not_whole), (s.SOURCE_URL, url_not_whole)):
        if field_name in mapping:
            keep_where(field_name, unusable)
    text[s.SOURCE_NAME], text[s.SOURCE_URL] = name, url

    end, end_unusable = _read_end(clean, mapping, options, start.utc_us)
    if end is None:
        end = pa.nulls(n, s.UTC_MICROS)
    elif end_unusable.any():
        for field_name in (presets.END_DATE, presets.END_YEAR):
            if field_name in mapping:
                keep_where(field_name, pa.array(end_unusable))

    if s.TIME_PRECISION in mapping and preset.precision_codes:
        kept_raw[mapping[s.TIME_PRECISION]] = clean[mapping[s.TIME_PRECISION]].combine_chunks()
    unmapped = [c for c in clean.column_names if c not in set(mapping.values())]
    extra = _extra(clean, unmapped, kept_raw)
    if s.EXTRA in mapping:
        extra = _merged_extra(clean[mapping[s.EXTRA]].combine_chunks(), extra)

    offset = pa.array(np.where(start.has_offset, start.offset_minutes, 0), pa.int16(), mask=~start.has_offset)
    columns = {
        s.EVENT_ID: event_id,
        s.TIMESTAMP: pa.array(start.utc_us, s.UTC_MICROS),
        s.TIME_PRECISION: pc.take(pa.array(s.PRECISIONS), pa.array(start.precision.astype(np.int64))),
        s.UTC_OFFSET_MINUTES: offset,
        s.END: end,
        s.FATALITIES: numbers[s.FATALITIES],
        s.INJURED: numbers[s.INJURED],
        s.LATITUDE: numbers[s.LATITUDE],
        s.LONGITUDE: numbers[s.LONGITUDE],
        s.EXTRA: extra,
        **text,
    }
    # In input order: the store sorts each version by timestamp, then event_id, as it saves it
    # (store.STORED_ORDER), so sorting here would be done twice.
    return pa.table([columns[c] for c in s.COLUMN_NAMES], schema=s.ARROW_SCHEMA)


def _reject_table(
    raw: pa.Table, rows: Records, rejects: list[tuple[np.ndarray, list[str]]], delimiter: str
) -> tuple[pa.Table, np.ndarray]:
    """The rejected rows by line, and the position of each among the records (-1: rows.structural)."""
    lines, reasons, records, positions = [], [], [], []
    for line, reason, record in rows.structural:
        lines.append(line)
        reasons.append(reason)
        records.append(record)
        positions.append(-1)
    for idx, why in rejects:
        if len(idx) == 0:
            continue
        subset = raw.take(pa.array(idx)).to_pylist()
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="")
        for position, row, reason in zip(idx, subset, why, strict=True):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(row.values())
            lines.append(int(rows.lines[position]))
            reasons.append(reason)
            records.append(buffer.getvalue())
            positions.append(int(position))
    table = pa.table([lines, reasons, records], schema=REJECT_SCHEMA)
    order = pc.sort_indices(table, sort_keys=[("line", "ascending")])
    return table.take(order), np.array(positions, dtype=np.int64)[order.to_numpy()]
