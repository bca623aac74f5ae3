"""A large CSV file imported in batches, so an import's memory does not grow with the file.

read_path reads a file over WHOLE_FILE_BYTES with Arrow's streaming CSV reader, a batch of about
BATCH_BYTES of text at a time. Each batch goes through ingest.import_rows like a whole file, and its
events are spilled to disk (spilled.SpilledEvents); what must be decided for the whole file is added up
batch by batch and settled at the end, so the result is the one a whole-file read gives:

- the date order: every batch counts the day-first and month-first votes of its numeric dates; a batch
  reads them in the order the votes so far decide. When the whole file's votes decide otherwise (or a
  batch read before any vote), the file is read again in the file's order;
- ids and duplicates: a file whose id column is unique in every batch and across them keeps its ids
  without hashing a row (the first batch where it is not starts the file again, hashing). Otherwise
  every row is hashed with two independent keys: a row whose two hashes match a row of an earlier
  batch is an exact duplicate (within a batch, rows are compared whole, as in a whole-file read), and
  the ids, occurrence numbers included, are given from the hashes of the whole file;
- the notices, the counts and the rejected rows (with their lines in the file).

What is read whole instead (ingest.read_events on the mapped file): files up to WHOLE_FILE_BYTES,
files not in UTF-8, and the few a stream cannot follow: a record Arrow cannot split into the header's
fields (a ragged row), bytes that are not UTF-8 after the top, and a quote left open at the end.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from timeline import dates, ingest, presets, sniff
from timeline import schema as s
from timeline.errors import BadInputError
from timeline.spilled import ROW, SpilledEvents

# A whole-file read holds about five times the file's size at its peak (the text, its columns, the
# events, their Parquet): larger files are read in batches, so an import stays under 3 GB.
WHOLE_FILE_BYTES = 512 * 1024 * 1024
BATCH_BYTES = 64 * 1024 * 1024  # of text per batch: about 200,000 event rows
_READ_BLOCK_BYTES = 4 * 1024 * 1024  # Arrow's read blocks (parsed in parallel, then gathered in batches)
_HEAD_BYTES = 1024 * 1024  # read first, to find the encoding and the layout
_HASH = "__hash"  # hidden spilled columns: the row's first hash, and its id column's value
_SOURCE_ID = "__source_id"
_UTF8 = ("utf-8", "utf-8-sig")


class _ReadAgain(Exception):
    """The file must be read again from its start, knowing what the first reading found."""

    def __init__(self, *, date_order: str | None = None, hash_rows: bool = False) -> None:
        super().__init__()
        self.date_order = date_order
        self.hash_rows = hash_rows


class _ReadWhole(Exception):
    """A stream cannot follow this file: read it whole."""


def read_path(
    path: Path,
    options: ingest.ImportOptions | None = None,
    *,
    whole_file_bytes: int | None = None,
    batch_bytes: int | None = None,
) -> tuple[sniff.Content | Path, ingest.ImportResult]:
    """What was read (the content, or for a file read in batches, its path) and the file's import, as
    ingest.read_events gives it for the content. A file over whole_file_bytes (WHOLE_FILE_BYTES) is read
    in batches of about batch_bytes (BATCH_BYTES): its events are then SpilledEvents (ImportResult.close
    removes them). Raises BadInputError as read_events does."""
    options = options or ingest.ImportOptions()
    whole_file_bytes = WHOLE_FILE_BYTES if whole_file_bytes is None else whole_file_bytes
    batch_bytes = BATCH_BYTES if batch_bytes is None else batch_bytes
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadInputError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    if size <= whole_file_bytes or size > options.max_bytes:
        return _read_whole(path, options)
    dates.validate_zone(options.tz)
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    head = head[: head.rfind(b"\n") + 1] or head  # whole lines: a character is never cut
    try:
        text = sniff.decode(head, file_name=options.file_name)
    except BadInputError:  # said of the whole file, as it is (UTF-16 is cut in its characters here)
        text = None
    if text is None or text.encoding not in _UTF8:
        return _read_whole(path, options)
    found = ingest.file_layout(text.utf8, text.encoding, options)
    mapping = presets.resolve_mapping(found.names, found.preset, options.mapping)
    date_order, hash_rows = options.date_order, s.EVENT_ID not in mapping
    for _ in range(3):  # at most: once hashing, once in the file's date order
        try:
            return path, _Stream(path, found, mapping, options, batch_bytes).read(date_order, hash_rows)
        except _ReadAgain as again:
            date_order = again.date_order or date_order
            hash_rows = hash_rows or again.hash_rows
        except _ReadWhole:
            break
    return _read_whole(path, options)


def _read_whole(path: Path, options: ingest.ImportOptions) -> tuple[sniff.Content, ingest.ImportResult]:
    data = ingest.read_file(path, options.max_bytes)
    return data, ingest.read_events(data, options)


@dataclass
class _Batch:
    """What is kept of one batch once its events are spilled: what the whole file is settled from."""

    rows: int  # records read (blank lines left out)
    read_dayfirst: bool | None  # the order its numeric dates were read in; None: it had none
    first_occurrences: np.ndarray  # per record
    kept: np.ndarray  # per record: spilled as an event
    hashes: tuple[np.ndarray, np.ndarray] | None  # per record
    kept_source_ids: pa.ChunkedArray | None  # the id column of its first occurrences
    event_ids: pa.ChunkedArray | None  # of its events, where they are the id column's


@dataclass(frozen=True)
class _Identities:
    """The whole file's ids and duplicates, settled once every batch is read."""

    notice: str | None
    duplicate_rows: np.ndarray  # sorted: records that repeat a record of an earlier batch exactly
    duplicates: int  # how many records are exact duplicates, in all
    events: int


@dataclass
class _Stream:
    path: Path
    found: ingest.FileLayout
    mapping: dict[str, str]
    options: ingest.ImportOptions
    batch_bytes: int
    batches: list[_Batch] = field(default_factory=list)

    def read(self, date_order: str, hash_rows: bool) -> ingest.ImportResult:
        spilled = SpilledEvents()
        try:
            return self._read(spilled, date_order, hash_rows)
        except BaseException:
            spilled.close()
            raise

    def _read(self, spilled: SpilledEvents, date_order: str, hash_rows: bool) -> ingest.ImportResult:
        rejects: list[pa.Table] = []
        reject_rows: list[np.ndarray] = []
        top: list[pa.Table] = []  # the first records, to sample the columns from (ingest.samples)
        found_time_columns = False
        votes, all_unknown = dates.OrderVotes(), True
        line, offset = self.found.skip, 0
        spilling: Future[None] | None = None
        # A batch's events are spilled (sorted, compressed, written) on a thread of their own while the
        # next batch is read: both release the GIL. One batch waits at most.
        with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=1) as spiller:
            for table, last in self._tables():
                records, line = _records(table, line)
                del table  # import_rows drops the records as it builds the events
                if last and _may_end_in_an_open_quote(records, self.path):
                    raise _ReadWhole
                rows = records.table.num_rows
                if offset < ingest.SAMPLED_ROWS:  # copied: a slice would hold the whole batch
                    head = records.table.slice(0, ingest.SAMPLED_ROWS - offset)
                    top.append(pa.Table.from_pylist(head.to_pylist(), head.schema))
                order = date_order if date_order != "auto" else _order_so_far(votes)
                read = ingest.import_rows(
                    records,
                    self.found,
                    self.mapping,
                    replace(self.options, date_order=order),
                    pool,
                    find_time_columns=not found_time_columns,
                    hash_rows=hash_rows,
                )
                if not found_time_columns:  # the first batch found them, if any was not named
                    found_time_columns, self.mapping = True, read.mapping
                if not hash_rows and not read.ids_from_column:
                    raise _ReadAgain(hash_rows=True)
                votes += read.order_votes
                all_unknown &= read.all_unknown_actors
                rejects.append(read.rejects)
                reject_rows.append(np.where(read.reject_rows >= 0, read.reject_rows + offset, -1))
                if spilling is not None:
                    spilling.result()
                spilling = spiller.submit(spilled.add, _with_hidden_columns(read, offset, hash_rows))
                self.batches.append(_kept(read, rows, order, hash_rows))
                offset += rows
            if spilling is not None:
                spilling.result()
        if offset == 0:
            raise BadInputError("the file has a header row but no data rows", file=self.options.file_name)
        date_notices = self._settle_date_order(votes, date_order)
        settled = self._settle_identities(spilled, hash_rows)
        kept_rejects = pa.concat_tables(rejects)
        if len(settled.duplicate_rows):
            rejected_rows = np.concatenate(reject_rows)
            kept_rejects = kept_rejects.filter(pa.array(~np.isin(rejected_rows, settled.duplicate_rows)))
        notices = [settled.notice] if settled.notice else []
        if self.mapping.get(s.ACTOR) and all_unknown and settled.events:
            notices.append(ingest.one_lane_notice(self.mapping))
        return ingest.ImportResult(
            events=spilled,
            rejects=kept_rejects.take(pc.sort_indices(kept_rejects, sort_keys=[("line", "ascending")])),
            rows_read=offset,
            duplicates=settled.duplicates,
            mapping=self.mapping,
            preset=self.found.preset.name,
            encoding=self.found.encoding,
            delimiter=self.found.layout.delimiter,
            notices=tuple(notices + date_notices),
            columns=tuple(self.found.names),
            samples=ingest.samples(pa.concat_tables(top)),
        )

    def _tables(self) -> Iterator[tuple[pa.Table, bool]]:
        """The records, a batch of about batch_bytes of text at a time, and whether it is the last."""
        names = list(self.found.names)
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(
                    column_names=names,
                    skip_rows=self.found.skip,
                    block_size=min(_READ_BLOCK_BYTES, self.batch_bytes),
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.found.layout.delimiter, newlines_in_values=True, ignore_empty_lines=False
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            pending: list[pa.RecordBatch] = []
            size = 0
            for batch in reader:
                if size >= self.batch_bytes:
                    yield pa.Table.from_batches(pending, reader.schema), False
                    pending, size = [], 0
                pending.append(batch)
                size += batch.nbytes
        except pa.ArrowInvalid as exc:  # a ragged row, or bytes that are not UTF-8
            raise _ReadWhole from exc
        yield pa.Table.from_batches(pending, reader.schema), True

    def _settle_date_order(self, votes: dates.OrderVotes, date_order: str) -> list[str]:
        """The whole file's date-order notices; the file is read again where a batch read its numeric
        dates in the other order."""
        if self.options.date_order != "auto" or presets.DATE not in self.mapping:
            return []
        dayfirst, notices = votes.decide(self.mapping[presets.DATE])
        if date_order == "auto" and any(b.read_dayfirst not in (None, dayfirst) for b in self.batches):
            raise _ReadAgain(date_order="dayfirst" if dayfirst else "monthfirst")
        return notices

    def _settle_identities(self, spilled: SpilledEvents, hash_rows: bool) -> _Identities:
        """Ids and duplicates as a whole-file read gives them; spilled is told how to fix its rows."""
        local_duplicates = sum(
            len(b.first_occurrences) - int(b.first_occurrences.sum()) for b in self.batches
        )
        if not hash_rows:  # every batch's id column was unique: the file's must be too
            ids = pa.chunked_array([chunk for b in self.batches for chunk in b.event_ids.chunks], pa.string())
            if pc.count_distinct(ids).as_py() != len(ids):
                raise _ReadAgain(hash_rows=True)
            spilled.finish(spilled.num_rows, ids_unique=True)
            return _Identities(None, np.empty(0, np.int64), local_duplicates, spilled.num_rows)
        first_hashes = np.concatenate([b.hashes[0] for b in self.batches])
        first = np.concatenate([b.first_occurrences for b in self.batches])
        batch_of = np.repeat(np.arange(len(self.batches)), [b.rows for b in self.batches])
        duplicate_rows = numbered_rows = numbers = np.empty(0, np.int64)
        ranked = np.sort(first_hashes)  # a sort finds repeats sooner than a hash table of every row
        repeated = np.unique(ranked[1:][ranked[1:] == ranked[:-1]])
        if len(repeated):
            found = np.minimum(np.searchsorted(repeated, first_hashes), len(repeated) - 1)
            shared = np.flatnonzero(repeated[found] == first_hashes)
            codes = pd.factorize(first_hashes[shared])[0]
            if not self.found.preset.rows_are_distinct:
                second_hashes = np.concatenate([b.hashes[1] for b in self.batches])
                pairs = pd.DataFrame(
                    {
                        "first": first_hashes[shared],
                        "second": second_hashes[shared],
                        "batch": batch_of[shared],
                    }
                )
                first_batch = pairs.groupby(["first", "second"], sort=False)["batch"].transform("first")
                duplicate_rows = shared[(first_batch.to_numpy() < batch_of[shared]) & first[shared]]
            again, numbers = ingest.later_occurrences(codes)
            numbered_rows = shared[again]
        kept = np.concatenate([b.kept for b in self.batches])
        events = spilled.num_rows - int(kept[duplicate_rows].sum())
        notice, use_column = None, False
        if s.EVENT_ID in self.mapping:
            kept_ids = pa.chunked_array([b.kept_source_ids for b in self.batches], pa.string())
            kept_ids = kept_ids.filter(pa.array(~np.isin(np.flatnonzero(first), duplicate_rows)))
            distinct_ids = len(pc.unique(kept_ids))
            use_column = kept_ids.null_count == 0 and distinct_ids == len(kept_ids)
            if not use_column:
                notice = ingest.id_column_notice(
                    self.mapping[s.EVENT_ID], distinct_ids, len(kept_ids), kept_ids.null_count > 0
                )
        # Hashed ids are unique (rows sharing a hash are numbered), and so is an id column that serves.
        fix = functools.partial(_fixed, duplicate_rows, use_column, numbered_rows, numbers)
        spilled.finish(events, fix, ids_unique=True)
        return _Identities(notice, duplicate_rows, local_duplicates + len(duplicate_rows), events)


def _fixed(
    duplicate_rows: np.ndarray,
    use_column: bool,
    numbered_rows: np.ndarray,
    numbers: np.ndarray,
    table: pa.Table,
) -> pa.Table:
    """Spilled rows with the file's duplicates dropped and its ids set (see _settle_identities)."""
    if len(duplicate_rows):
        table = table.filter(pa.array(~np.isin(table[ROW].to_numpy(), duplicate_rows)))
    if use_column:
        ids = table[_SOURCE_ID]
    else:
        ids = ingest.hex_digits(table[_HASH].to_numpy())
        rows = table[ROW].to_numpy()
        where = np.flatnonzero(np.isin(rows, numbered_rows))
        ids = ingest.numbered(ids, where, numbers[np.searchsorted(numbered_rows, rows[where])])
    position = table.schema.get_field_index(s.EVENT_ID)
    return table.set_column(position, table.schema.field(position), ids)


def _with_hidden_columns(read: ingest.RowsImported, offset: int, hash_rows: bool) -> pa.Table:
    """A batch's events with what settling the whole file needs: each one's record (spilled.ROW), and
    when rows are hashed, its first hash and its id column's value."""
    kept = np.flatnonzero(read.kept)
    events = read.events.append_column(ROW, pa.array(kept + offset, pa.int64()))
    if hash_rows:
        events = events.append_column(_HASH, pa.array(read.hashes[0][kept], pa.uint64()))
        if read.source_ids is not None:
            events = events.append_column(_SOURCE_ID, read.source_ids.take(pa.array(kept)))
    return events


def _kept(read: ingest.RowsImported, rows: int, order: str, hash_rows: bool) -> _Batch:
    dayfirst = order == "dayfirst" if order != "auto" else read.order_votes.decide("")[0]
    kept_ids = None
    if hash_rows and read.source_ids is not None:
        kept_ids = read.source_ids.filter(pa.array(read.first_occurrences))
    return _Batch(
        rows,
        dayfirst if read.order_votes.numeric else None,
        read.first_occurrences,
        read.kept,
        read.hashes,
        kept_ids,
        None if hash_rows else read.events[s.EVENT_ID],
    )


def _order_so_far(votes: dates.OrderVotes) -> str:
    """The date order the votes of the batches read so far decide; auto while none has decided."""
    if not (votes.only_day or votes.only_month):
        return "auto"
    return "dayfirst" if votes.decide("")[0] else "monthfirst"


def _records(table: pa.Table, line: int) -> tuple[ingest.Records, int]:
    """A batch's records without blank lines, each with the line it starts on (the batch's first
    record starts after line); and the last line of the batch."""
    breaks = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        if _holds_a_line_break(column):
            breaks += pc.count_substring(column, "\n").to_numpy()
    starts = line + 1 + np.arange(table.num_rows) + np.cumsum(breaks) - breaks
    last_line = line + table.num_rows + int(breaks.sum())
    empty = ingest.all_empty(table)
    if pc.any(empty).as_py():  # a blank line is no record (whole-file reads need not guess: see README)
        blank = empty.to_numpy(zero_copy_only=False)
        table, starts = table.filter(pa.array(~blank)), starts[~blank]
    return ingest.Records(table, lambda: starts, [], []), last_line


def _holds_a_line_break(column: pa.ChunkedArray) -> bool:
    """Whether a string column's text holds a line feed, searched in its bytes at once (most columns
    of most files hold none: counting them value by value costs ten times more)."""
    for chunk in column.chunks:
        text = chunk.buffers()[2]
        if text is not None and np.count_nonzero(np.frombuffer(text, dtype=np.uint8) == 10):
            return True
    return False


def _may_end_in_an_open_quote(records: ingest.Records, path: Path) -> bool:
    """Whether the last record may be a quote never closed, swallowing the rest of the file: a line break
    in one of its values, and an odd number of quotes in the file (a whole-file read reports it)."""
    table = records.table
    if not table.num_rows:
        return False
    if not any("\n" in (value or "") for value in table.slice(table.num_rows - 1).to_pylist()[0].values()):
        return False
    quotes = 0
    with path.open("rb") as handle:
        while piece := handle.read(_READ_BLOCK_BYTES):
            quotes += piece.count(b'"')
    return quotes % 2 == 1
