"""Events written out as files a batch at a time (CSV, Parquet), so a download of millions of events is
streamed: no more than one batch is ever held, as events or as bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from timeline import display, query, schema, store
from timeline import frame as frames
from timeline import view as views
from timeline.engines import Engine
from timeline.errors import UsageError

DOWNLOAD_PATH = "download"  # the route of a view's events as a file, under the page's address
STATED_TIME_COLUMN = "time_as_stated"  # the page's wording of each time, last in a CSV the page offers
FORMATS: tuple[str, ...] = ("csv", "parquet")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
# A cell a spreadsheet would run as a formula starts with one of these: written with a ' before it.
_FORMULA_START = r"^([=+\-@\t\r])"
_US_PER_SECOND = 1_000_000


@dataclass(frozen=True)
class Download:
    """A view's events as a file: its name, media type, and its bytes as they are made."""

    file_name: str
    media_type: str
    chunks: Iterator[bytes]


def download_link(page_link: str, fmt: str) -> str:
    """The address of the events a page's link shows, as a file of fmt: the link's parameters (the view)
    at DOWNLOAD_PATH/events.<fmt> under the page's path."""
    _check_format(fmt)
    address = urlsplit(page_link)
    return urlunsplit(address._replace(path=f"{address.path.rstrip('/')}/{DOWNLOAD_PATH}/events.{fmt}"))


def view_download(params: Mapping[str, str | Sequence[str]], fmt: str, engine: Engine) -> Download:
    """The events a link's parameters show (the page's rules: what the version lacks is ignored), as a
    file of fmt made a batch at a time: CSV with each time worded as the page words it, or Parquet in the
    canonical schema."""
    _check_format(fmt)
    view, _ = views.from_query(params)
    info = store.version_info(view.dataset, view.version)
    rollups = store.rollups(info.dataset_id, info.version)
    events = query.events(
        engine, query.version(info.dataset_id, info.version, max_span_us=rollups.max_span_us)
    )
    present = views.Present(
        values={column: frozenset(counts.index) for column, counts in rollups.counts.items()},
        has_event=lambda event_id: query.has_event(events, event_id),
    )
    view, _ = views.reconcile(view, present)
    # The stream runs on a connection of its own, read from whichever thread the server iterates it in.
    reading = engine.detached()
    where = query.version(info.dataset_id, info.version, max_span_us=rollups.max_span_us)
    shown = query.filtered(query.events(reading, where), view, max_span_us=rollups.max_span_us)
    chunks = _file_chunks(query.batches(shown), fmt, stated_in=view.tz)
    return Download(
        f"{info.dataset_id}-{info.version}-filtered.{fmt}", MEDIA_TYPES[fmt], _closing(chunks, reading)
    )


def version_download(dataset_id: str, version: str | None, fmt: str, engine: Engine) -> Download:
    """A whole version's events (the newest without a version) as a file of fmt, in order, made a batch
    at a time: CSV with UTC times only (the command line's export), or Parquet in the canonical schema."""
    _check_format(fmt)
    info = store.version_info(dataset_id, version)
    reading = engine.detached()
    batches = query.batches(query.events(reading, query.version(info.dataset_id, info.version)))
    chunks = _file_chunks(batches, fmt)
    return Download(f"{info.dataset_id}-{info.version}.{fmt}", MEDIA_TYPES[fmt], _closing(chunks, reading))


def _file_chunks(batches: Iterator[pa.Table], fmt: str, *, stated_in: str | None = None) -> Iterator[bytes]:
    return (
        csv_chunks(batches, stated_in=stated_in)
        if fmt == "csv"
        else parquet_chunks(batches, schema.ARROW_SCHEMA)
    )


def _closing(chunks: Iterator[bytes], engine: Engine) -> Iterator[bytes]:
    """chunks, then the engine closed (also when the reader stops half-way)."""
    try:
        yield from chunks
    finally:
        engine.close()


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown file format {fmt!r}", hint=f"allowed: {', '.join(FORMATS)}")


def csv_chunks(tables: Iterable[pa.Table], *, stated_in: str | None = None) -> Iterator[bytes]:
    """UTF-8 CSV of the tables' rows, header first: times as ISO 8601 UTC (whole seconds when a time has
    no fraction), formula-like text cells quoted with '. With stated_in (a zone), each row ends with its
    time worded as the page words it (display.stated_times), so a reader of the file meets the stated day
    first too."""
    header = True
    for table in tables:
        if stated_in is not None:
            stated = display.stated_times(frames.prepare(table), stated_in)
            table = table.append_column(STATED_TIME_COLUMN, pa.array(stated, pa.string()))
        sink = pa.BufferOutputStream()
        pcsv.write_csv(_csv_cells(table), sink, pcsv.WriteOptions(include_header=header))
        header = False
        yield sink.getvalue().to_pybytes()


def parquet_chunks(tables: Iterable[pa.Table], schema: pa.Schema) -> Iterator[bytes]:
    """A Parquet file of the tables' rows (one row group per table), yielded as it is written."""
    sink = _Chunks()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for table in tables:
            writer.write_table(table.cast(schema))
            yield sink.take()
    yield sink.take()


def csv_bytes(table: pa.Table) -> bytes:
    """One table as CSV bytes (csv_chunks of it)."""
    return b"".join(csv_chunks([table]))


def _csv_cells(table: pa.Table) -> pa.Table:
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = _iso_text(column)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.replace_substring_regex(column, pattern=_FORMULA_START, replacement=r"'\1")
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _iso_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO 8601 UTC text of each time: whole seconds when it has no fraction, else with microseconds."""
    micros = column.cast(pa.timestamp("us", tz="UTC"))
    values = pc.cast(micros, pa.int64())
    # Integer division truncates, so the remainder is 0 exactly for whole seconds, before 1970 too.
    whole = pc.equal(pc.subtract(values, pc.multiply(pc.divide(values, _US_PER_SECOND), _US_PER_SECOND)), 0)
    whole_seconds = pc.cast(micros, pa.timestamp("s", tz="UTC"), safe=False)
    seconds = pc.strftime(whole_seconds, format="%Y-%m-%dT%H:%M:%SZ")
    # %S of a microsecond timestamp carries the fraction: 17:00:00.250000
    fractional = pc.strftime(micros, format="%Y-%m-%dT%H:%M:%SZ")
    return pc.if_else(whole, seconds, fractional)


class _Chunks:
    """A write-only file whose written bytes are taken away as they come."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
