"""The query layer: a view of a dataset version turned into engine expressions (Ibis), run by the engine
where the events are (DuckDB embedded, or Spark), so only what a view shows comes back.

Every read of events by the page, the command line and the exports goes through here. An expression is
built on `events(...)`, the version's Parquet with three derived columns computed by the engine from the
canonical ones (START_US, STOP_US, START_STOP_US: the interval an event could lie in, as
timeline.frame.prepare computes it), narrowed by `filtered`, and read back with `count`, `frame`,
`value_counts`, `distinct`, `batches` and the view-specific reads below. What comes back as rows is a
prepared frame (timeline.frame.prepare), so figures and tables read it as before.

Instants are compared as UTC microseconds (engines run their sessions in UTC: timeline.engines). Order is
always by timestamp, then event_id (code point order, as Python compares text), on every engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as idt
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from timeline import casualties, places, reactions, schema, store
from timeline import frame as frames
from timeline.engines import Engine
from timeline.frame import START_US, STOP_US
from timeline.view import FILTER_COLUMNS, View, window

START_STOP_US = "start_stop_us"  # the end of the interval the start could lie in (reactions.start_stops)
DERIVED: tuple[str, ...] = (START_US, STOP_US, START_STOP_US)
BATCH_ROWS = 65_536  # rows per batch of a streamed download
HELD_ROWS = 250_000  # the most rows `held` keeps of one view
HELD_VIEWS = 8  # views `held` keeps at once (the least recently asked for is dropped)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_UTC_MICROS = idt.Timestamp(timezone="UTC", scale=6)
_US = {"second": 1_000_000, "minute": 60_000_000, "hour": 3_600_000_000, "day": 86_400_000_000}
_US_PER_MINUTE = 60_000_000


@dataclass(frozen=True)
class Version:
    """A dataset version as an engine reads it: where its events are, and what the store knows of them."""

    dataset_id: str
    version: str
    path: str  # the events Parquet: a local path or an object-store URL
    max_span_us: int | None = None  # the longest interval of any event (lets a window prune its lower edge)


def events(engine: Engine, version: Version) -> ir.Table:
    """The version's events in the engine, with the derived interval columns."""
    return with_intervals(_parquet(engine, version.path))


def with_intervals(table: ir.Table) -> ir.Table:
    """A table of canonical events plus START_US, STOP_US and START_STOP_US, computed as timeline.frame and
    timeline.dates compute them: the interval each event's start could lie in, in the offset the source
    stated (none: UTC), stretched to a stated end that lies after the start."""
    start = _micros(table[schema.TIMESTAMP])
    offset_us = table[schema.UTC_OFFSET_MINUTES].cast("int64").fill_null(0) * _US_PER_MINUTE
    local = table[schema.TIMESTAMP] + table[schema.UTC_OFFSET_MINUTES].cast("int64").fill_null(0).as_interval(
        "m"
    )
    precision = table[schema.TIME_PRECISION]
    interval_end = ibis.cases(
        *((precision == name, start + length) for name, length in _US.items()),
        (precision == "month", _micros(local.truncate("M") + ibis.interval(months=1)) - offset_us),
        (precision == "year", _micros(local.truncate("Y") + ibis.interval(years=1)) - offset_us),
    )
    end = _micros(table[schema.END])
    stop = ibis.cases((table[schema.END].notnull() & (end > start), end), else_=interval_end)
    return table.mutate(**{START_US: start, STOP_US: stop, START_STOP_US: ibis.least(interval_end, stop)})


def filtered(events: ir.Table, view: View, *, max_span_us: int | None = None) -> ir.Table:
    """The events the view's filters keep (timeline.view.select's rules): actors, groups and types by value
    (empty: all), every event whose interval [start, stop) overlaps the window, and every word of the search
    text in the title, description, actor, target or source (case aside, as plain text, never a pattern).

    max_span_us (Version.max_span_us) bounds the window's lower edge on the timestamp itself, so an engine
    skips the row groups of a time-sorted file that lie wholly before the window.
    """
    conditions = []
    for field, column in FILTER_COLUMNS.items():
        selected = getattr(view, field)
        if selected:
            conditions.append(events[column].isin(list(selected)))
    start, stop = window(view)
    if stop is not None:
        conditions.append(events[schema.TIMESTAMP] < _instant(stop))
    if start is not None:
        conditions.append(events[STOP_US] > start)
        if max_span_us is not None:
            conditions.append(events[schema.TIMESTAMP] >= _instant(start - max_span_us))
    for word in view.query.split():
        # The word is lowered by the engine, as the columns are: str.casefold would make "Straße" "strasse",
        # which no lowered column holds, so the very text of an event would not find it.
        folded = _lowered(ibis.literal(word), word)
        conditions.append(
            ibis.or_(
                *(
                    _lowered(events[name], word).contains(folded).fill_null(False)
                    for name in frames.SEARCHED_COLUMNS
                )
            )
        )
    return events.filter(*conditions) if conditions else events


def held(engine: Engine, events: ir.Table, where: Version, view: View) -> tuple[ir.Table, int | None]:
    """The events of `where` the view's filters keep (`filtered`), kept by the engine as a table of their
    own, and how many they are, when they are at most HELD_ROWS; else the expression `filtered` gives (and
    None). A search reads every text of the version, and a view takes several passes over its rows (the
    overview two or three, the count, the list): kept, the search is read once, and the passes after it
    (and later reruns with the same filters, from any session) read only its matches. The table is named by
    the version and the filters (the window as instants: the same window in another zone is the same
    table). On Spark, which is not asked to keep anything here, the expression is returned as it is."""
    shown = filtered(events, view, max_span_us=where.max_span_us)
    if engine.kind != "duckdb":
        return shown, None
    filters = [sorted(getattr(view, field)) for field in FILTER_COLUMNS]
    key = json.dumps([where.path, filters, window(view), view.query.split()])
    name = "held_" + hashlib.sha256(key.encode()).hexdigest()[:32]
    backend = engine.backend()

    # SQL of its own: Ibis 12's create_table(overwrite=True) and drop_table write a DROP that DuckDB 2
    # cannot parse. The name is hexadecimal: nothing to escape.
    def drop(table: str) -> None:
        engine.backend().raw_sql(f'DROP TABLE IF EXISTS "{table}"')

    def make() -> int | None:
        backend.raw_sql(f'CREATE OR REPLACE TABLE "{name}" AS {backend.compile(shown.limit(HELD_ROWS + 1))}')
        rows = count(backend.table(name))
        if rows <= HELD_ROWS:
            return rows
        drop(name)
        return None

    rows = engine.keep(name, make, drop, most=HELD_VIEWS)
    return (shown, None) if rows is None else (backend.table(name), rows)


def ordered(expr: ir.Table) -> ir.Table:
    """By the start of the interval (the timestamp), then event_id."""
    return expr.order_by([schema.TIMESTAMP, schema.EVENT_ID])


def count(expr: ir.Table) -> int:
    return int(expr.count().execute())


def frame(expr: ir.Table, *, limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """The rows, ordered, as a prepared frame with every canonical column (the first `limit` after
    `offset`)."""
    return frames.prepare(arrow(ordered(expr), limit=limit, offset=offset))


def arrow(expr: ir.Table, *, limit: int | None = None, offset: int = 0) -> pa.Table:
    """The canonical columns of the rows, in the canonical schema (engines differ in the types they give
    back: Spark's timestamps come without their zone, its small integers widened)."""
    canonical = expr.select(*schema.COLUMN_NAMES)
    if limit is not None or offset:
        canonical = canonical.limit(limit, offset=offset)
    return _conformed(_read_arrow(canonical))


def batches(expr: ir.Table, *, rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """The rows, ordered, a batch at a time in the canonical schema: a download of millions of events
    never holds them all."""
    reader = _batch_reader(ordered(expr).select(*schema.COLUMN_NAMES), rows)
    try:
        for batch in reader:
            yield _conformed(pa.Table.from_batches([batch]))
    finally:
        reader.close()  # a download stopped half-way frees the connection too


def value_counts(expr: ir.Table, column: str) -> pd.Series:
    """How many rows hold each value of a column, most frequent first, then by value; nulls left out
    (timeline.frame.counts)."""
    tally = (
        expr.filter(expr[column].notnull())
        .group_by(value=expr[column])
        .agg(n=ibis._.count())
        .order_by([ibis.desc("n"), "value"])
        .to_pyarrow()
    )
    return pd.Series(
        np.asarray(tally["n"].to_numpy(), dtype=np.int64),
        index=pd.Index(tally["value"].to_pylist(), name=column, dtype="str"),
        name="count",
    )


def distinct(expr: ir.Table, column: str) -> list[str | None]:
    """The values of a column among the rows, None for a missing one, in code point order (None last)."""
    values = expr.select(value=expr[column]).distinct().to_pyarrow()["value"].to_pylist()
    return sorted(values, key=lambda value: (value is None, value or ""))


def event(events: ir.Table, event_id: str | None) -> pd.DataFrame:
    """One event's row as a prepared frame with every column; no rows without an id, or when the version
    lacks it."""
    if event_id is None:
        return frames.prepare(schema.empty_table())
    return frame(events.filter(events[schema.EVENT_ID] == event_id), limit=1)


def first_of_type(events: ir.Table, event_type: str) -> str | None:
    """The id of the earliest event of a type (ties by event_id); None when there is none."""
    rows = ordered(events.filter(events[schema.EVENT_TYPE] == event_type)).select(schema.EVENT_ID).limit(1)
    found = rows.to_pyarrow()[schema.EVENT_ID].to_pylist()
    return found[0] if found else None


def has_event(events: ir.Table, event_id: str) -> bool:
    return count(events.filter(events[schema.EVENT_ID] == event_id).limit(1)) > 0


def default_anchor(events: ir.Table, declared: str | None = None) -> str | None:
    """The dataset's declared anchor when it has that event, else the first attack, else None
    (reactions.default_anchor)."""
    if declared is not None and has_event(events, declared):
        return declared
    return first_of_type(events, reactions.ANCHOR_TYPE)


def reaction_rows(
    expr: ir.Table, anchor: reactions.Anchor, *, by: str = "actor", types: Sequence[str] | None = None
) -> pd.DataFrame:
    """The candidate reactions reactions.first_reactions would choose, one per lane, as a prepared frame:
    the rest of the choice (ranks, latencies) is made on these few rows by reactions.first_reactions.

    A lane's first reaction is the one certainly come earliest (smallest START_STOP_US; ties: the smallest
    lower bound, then event_id); candidates are events of `types` (default: all but reactions.NOT_REACTIONS),
    not the anchor, whose start could lie after the anchor's start.
    """
    lane = reactions.GROUPINGS[by]
    kinds = expr[schema.EVENT_TYPE]
    of_type = kinds.isin(list(types)) if types is not None else kinds.notin(list(reactions.NOT_REACTIONS))
    candidates = expr.filter(
        of_type,
        expr[START_STOP_US] > anchor.start_us,
        expr[schema.EVENT_ID] != anchor.event_id,
    )
    low = ibis.greatest(candidates[START_US] - anchor.stop_us, 0)
    ranked = candidates.mutate(
        _place=ibis.row_number().over(
            group_by=candidates[lane],
            order_by=[candidates[START_STOP_US], low, candidates[schema.EVENT_ID]],
        )
    )
    return frame(ranked.filter(ranked["_place"] == 0))


def lane_values(expr: ir.Table, *, by: str = "actor") -> pd.DataFrame:
    """The lanes of the reactions view that have events among the rows, as a one-column frame for
    reactions.silent_lanes."""
    lane = reactions.GROUPINGS[by]
    return pd.DataFrame({lane: pd.Series(distinct(expr, lane), dtype="object")})


def toll_frame(expr: ir.Table, *, limit: int) -> tuple[pd.DataFrame, int]:
    """The rows that report a toll (fatalities or injured) as a prepared frame, the first `limit` of them,
    and how many there are."""
    reported = expr.filter(expr[schema.FATALITIES].notnull() | expr[schema.INJURED].notnull())
    return frame(reported, limit=limit), count(reported)


def default_toll_mode(events: ir.Table) -> str:
    """How the casualties view opens for a version (casualties.default_mode of all its reports): "totals"
    for many incidents; decided from the whole version, so filters never flip it."""
    reports, reporting = toll_frame(events, limit=casualties.MAX_ONE_INCIDENT + 1)
    if reporting > casualties.MAX_ONE_INCIDENT:
        return "totals"
    return casualties.default_mode(casualties.toll_reports(reports))


def _lowered(text: ir.StringValue, word: str) -> ir.StringValue:
    """Text lowered by the engine for a search for word, with every sigma as σ when the word has one: Spark
    lowers a word-final Σ to ς, DuckDB to σ (str.casefold makes both σ); other words pay nothing for it."""
    lowered = text.lower()
    return lowered.replace("ς", "σ") if any(sigma in word for sigma in "Σσς") else lowered


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(instant: _UTC_MICROS) -> idt.int64:  # type: ignore[empty-body]
    """DuckDB's own microseconds since the epoch."""


def _micros(instants: ir.TimestampValue) -> ir.IntegerValue:
    """UTC microseconds since the epoch (floor: an instant before 1970 is negative)."""
    if ibis.get_backend(instants).name == "duckdb":
        # Ibis spells delta() as DATE_DIFF, which DuckDB computes about four times slower than epoch_us
        # (0.7 s against 0.2 s over a million rows): the overview pays it on every rerun.
        return _duckdb_epoch_us(instants)
    return instants.delta(ibis.literal(_EPOCH, type=_UTC_MICROS), unit="microsecond")


def _instant(micros: int) -> ir.TimestampScalar:
    return ibis.literal(_EPOCH + dt.timedelta(microseconds=int(micros)), type=_UTC_MICROS)


def _read_arrow(expr: ir.Table) -> pa.Table:
    """The rows of an expression as Arrow, read whole."""
    backend = ibis.get_backend(expr)
    if backend.name == "pyspark":
        # Ibis 12 reads Spark results through pandas, whose nanosecond timestamps cannot hold an instant
        # before 1677 (an event of 1500 fails to read): PySpark 4 gives Arrow directly.
        return backend._session.sql(backend.compile(expr)).toArrow()
    return expr.to_pyarrow()


def _batch_reader(expr: ir.Table, rows: int) -> pa.RecordBatchReader:
    """The rows of an expression as a stream of Arrow batches of at most `rows` rows."""
    backend = ibis.get_backend(expr)
    if backend.name == "duckdb":
        # Ibis 12 streams from DuckDB with fetch_record_batch, which DuckDB 2 no longer has (and the failed
        # call leaves the thread's connection busy for every later query): DuckDB's own reader instead.
        return backend.con.sql(backend.compile(expr)).to_arrow_reader(batch_size=rows)
    return _spark_batches(expr, rows)


def _spark_batches(expr: ir.Table, rows: int) -> pa.RecordBatchReader:
    """A Spark result a partition at a time (toLocalIterator keeps a sorted result's order), cut into
    batches: PySpark has no stream of Arrow batches, and Ibis's to_pyarrow_batches reads the whole result.
    Instants travel as UTC microseconds: PySpark makes its Row datetimes in the Python process's own zone."""
    instants = [name for name, kind in expr.schema().items() if kind.is_timestamp()]
    backend = ibis.get_backend(expr)
    spark_rows = backend._session.sql(backend.compile(expr.mutate(**{n: _micros(expr[n]) for n in instants})))
    names = expr.columns
    arrow_schema = pa.schema(
        [(n, pa.timestamp("us", "UTC") if n in instants else expr.schema()[n].to_pyarrow()) for n in names]
    )

    def read() -> Iterator[pa.RecordBatch]:
        remaining = spark_rows.toLocalIterator()
        while chunk := list(itertools.islice(remaining, rows)):
            columns = [
                pa.array(
                    [row[i] for row in chunk], pa.int64() if n in instants else arrow_schema.field(n).type
                )
                for i, n in enumerate(names)
            ]
            yield pa.RecordBatch.from_arrays(
                [c.cast(arrow_schema.field(n).type) for c, n in zip(columns, names, strict=True)],
                schema=arrow_schema,
            )

    return pa.RecordBatchReader.from_batches(arrow_schema, read())


def _conformed(table: pa.Table) -> pa.Table:
    """A table read back from an engine, in the canonical schema: timestamps back in UTC (Spark gives them
    without a zone, in its session zone, which is UTC), integers at their canonical width."""
    columns = []
    for field in schema.ARROW_SCHEMA:
        column = table[field.name]
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            column = column.cast(pa.timestamp(column.type.unit, "UTC"))
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema.ARROW_SCHEMA)


_PARQUET_LOCK = threading.Lock()


def _parquet(engine: Engine, path: str) -> ir.Table:
    """The events Parquet as a table of this thread's backend, registered once per thread and file."""
    tables = engine.tables()
    table = tables.get(path)
    if table is None:
        with _PARQUET_LOCK:
            table = tables.get(path)
            if table is None:
                table = _canonical(_read_parquet(engine, path), path)
                tables[path] = table
    return table


def _read_parquet(engine: Engine, path: str) -> ir.Table:
    """A Parquet file as a table of this thread's backend. A local file the engine reads itself; an object
    store's (timeline.places) Spark reads with the cluster's own filesystems (the URL without the options
    pyarrow reads), and DuckDB, whose S3 reader (httpfs) is an extension downloaded at run time, through
    pyarrow's filesystem, as an Arrow dataset (it still pushes its filters and columns down)."""
    backend = engine.backend()
    if not places.is_url(path):
        return backend.read_parquet(path)
    if engine.kind != "duckdb":
        return backend.read_parquet(places.without_options(path))
    filesystem, key = places.arrow_file(path)
    name = "events_" + hashlib.sha256(path.encode()).hexdigest()[:32]
    backend.con.register(name, pads.dataset(key, filesystem=filesystem, format="parquet"))
    return backend.table(name)


def _canonical(table: ir.Table, path: str) -> ir.Table:
    """A Parquet file's events in the canonical schema: a version written before a nullable column existed
    (see timeline.store.events_schema_is_current), or a cluster's file whose integers are wider, reads as
    one written today, the missing columns empty (as timeline.store.load gives them)."""
    present = table.schema()
    missing_required = sorted(name for name in schema.REQUIRED if name not in present)
    if missing_required:
        raise store.StoreError(f"{path}: the events file has no column {', '.join(missing_required)}")
    columns = {}
    for field in schema.ARROW_SCHEMA:
        kind = idt.dtype(field.type).copy(nullable=True)
        if field.name not in present:
            columns[field.name] = ibis.null(kind)
        elif present[field.name].copy(nullable=True) != kind:
            columns[field.name] = table[field.name].cast(kind)
        else:
            columns[field.name] = table[field.name]
    return table.select(**columns)


def version(
    dataset_id: str, version_id: str, *, max_span_us: int | None = None, root: store.Root | None = None
) -> Version:
    """Where an engine finds a stored version's events."""
    return Version(dataset_id, version_id, store.events_path(dataset_id, version_id, root=root), max_span_us)
