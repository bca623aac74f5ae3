"""The events of one dataset version as a DataFrame with the derived columns every view needs.

The frame keeps the stored order: by timestamp, then event_id (store.STORED_ORDER; the importer keeps
the file's order and the store sorts each version as it saves it); what is shown in order (the table) is
ordered with `ordered`.
The search text is an index built on demand (`search_text`), not a column: most views never search.
A frame may hold only LIGHT_COLUMNS, what filters, lanes and counts read; `with_details` adds the
other columns to the rows that are shown one by one, so a million rows of text need not be loaded.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from timeline import dates, schema
from timeline.errors import UsageError

START_US = "start_us"
STOP_US = "stop_us"
DERIVED: tuple[str, ...] = (START_US, STOP_US)

CATEGORY_COLUMNS: tuple[str, ...] = (
    schema.TIME_PRECISION,
    schema.ACTOR,
    schema.ACTOR_GROUP,
    schema.ACTOR_TYPE,
    schema.EVENT_TYPE,
)
SEARCHED_COLUMNS: tuple[str, ...] = (
    schema.TITLE,
    schema.DESCRIPTION,
    schema.ACTOR,
    schema.TARGET,
    schema.SOURCE_NAME,
    schema.SOURCE_URL,
)
SEARCH_SEPARATOR = "\n"
LIGHT_COLUMNS: tuple[str, ...] = (
    schema.EVENT_ID,
    schema.TIMESTAMP,
    schema.TIME_PRECISION,
    schema.UTC_OFFSET_MINUTES,
    schema.END,
    schema.ACTOR,
    schema.ACTOR_GROUP,
    schema.ACTOR_TYPE,
    schema.EVENT_TYPE,
)
DETAIL_COLUMNS: tuple[str, ...] = tuple(name for name in schema.COLUMN_NAMES if name not in LIGHT_COLUMNS)

# Above this code point no character has a case mapping (tests/test_frame.py checks it).
CASED_LIMIT = 0x20000
_NULLABLE_INTS = {pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype()}


def prepare(events: pa.Table) -> pd.DataFrame:
    """Canonical events as a DataFrame, in stored order, plus start_us and stop_us (the interval of each).

    events needs LIGHT_COLUMNS; of the other canonical columns, those it holds are kept.
    """
    events = _canonical(events)
    start = _micros(events[schema.TIMESTAMP])
    precision = _precision_codes(events[schema.TIME_PRECISION])
    offset = pc.fill_null(events[schema.UTC_OFFSET_MINUTES], 0).to_numpy().astype(np.int64)
    end = events[schema.END]
    stated_end = _micros(pc.fill_null(end, pa.scalar(0, schema.UTC_MICROS)))
    has_end = pc.is_valid(end).to_numpy()
    interval_end = dates.end_of_interval(start, precision, offset)
    stop = np.where(has_end & (stated_end > start), stated_end, interval_end)

    plain = _plain(events.drop_columns(list(CATEGORY_COLUMNS)))
    columns = {}
    for name in events.column_names:
        if name == schema.TIME_PRECISION:
            columns[name] = pd.Categorical.from_codes(precision, categories=pd.Index(schema.PRECISIONS))
        elif name in CATEGORY_COLUMNS:
            columns[name] = _categorical(events[name])
        else:
            columns[name] = plain[name]
    columns[START_US] = start
    columns[STOP_US] = stop
    return pd.DataFrame(columns, index=pd.RangeIndex(events.num_rows))


def with_details(rows: pd.DataFrame, details: pa.Table) -> pd.DataFrame:
    """Rows of a frame (their index: positions in the version) with the columns of details, a table of
    other canonical columns of the same version in stored order; columns in canonical order."""
    added = _plain(_take(details, rows.index.to_numpy()))
    added.index = rows.index
    combined = pd.concat([rows, added.drop(columns=[c for c in added.columns if c in rows.columns])], axis=1)
    order = [name for name in (*schema.COLUMN_NAMES, *DERIVED) if name in combined.columns]
    return combined[order]


def _take(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """The rows at positions of a table read in many chunks, taken chunk by chunk: Arrow's take on a
    chunked table first joins the chunks, a copy of every column, even for a single row."""
    batches = table.to_batches()
    if len(batches) <= 1:
        return table.take(pa.array(positions, pa.int64()))
    bounds = np.cumsum([0] + [batch.num_rows for batch in batches])
    batch_of = np.searchsorted(bounds, positions, side="right") - 1
    order = np.argsort(batch_of, kind="stable")
    parts = [
        batches[k].take(pa.array(positions[order][batch_of[order] == k] - bounds[k], pa.int64()))
        for k in np.unique(batch_of)
    ]
    grouped = pa.Table.from_batches(parts, schema=table.schema)
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))
    return grouped.take(pa.array(back))


def ordered(frame: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The rows by the start of their interval, then event_id; only the first `limit` when given."""
    start = frame[START_US].to_numpy()
    if limit is not None and limit < len(frame):
        # Only rows starting no later than the limit-th earliest can be among the first `limit`.
        cut = np.partition(start, limit - 1)[limit - 1]
        frame = frame[start <= cut]
        start = frame[START_US].to_numpy()
    ids = frame[schema.EVENT_ID].to_numpy(dtype=object)
    order = np.lexsort((ids, start)) if len(frame) > 1 else np.arange(len(frame))
    return frame.iloc[order[:limit]]


def search_text(events: pa.Table | pd.DataFrame) -> pa.ChunkedArray:
    """Per row, the searched columns (of a frame, or of a table of them) joined by newlines (nulls as
    empty text) and case-folded."""
    joined = pc.binary_join_element_wise(
        *(_arrow_text(events[name]) for name in SEARCHED_COLUMNS),
        pa.scalar(SEARCH_SEPARATOR, pa.large_string()),
        null_handling="replace",
        null_replacement="",
    )
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    return pa.chunked_array([_casefold(joined)])


def _arrow_text(values: pd.Series | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A text or categorical column as Arrow large strings (no copy of Arrow-backed text)."""
    return pc.cast(values if isinstance(values, pa.ChunkedArray) else pa.array(values), pa.large_string())


def counts(frame: pd.DataFrame, column: str) -> pd.Series:
    """How many rows hold each value of a column, most frequent first, then by value; no zero counts."""
    tally = frame[column].value_counts(sort=False, dropna=True)
    table = pd.DataFrame({"value": np.asarray(tally.index, dtype=object), "count": tally.to_numpy()})
    table = table[table["count"] > 0].sort_values(["count", "value"], ascending=[False, True], kind="stable")
    return pd.Series(
        table["count"].to_numpy(dtype=np.int64),
        index=pd.Index(table["value"].tolist(), name=column, dtype="str"),
        name="count",
    )


def to_table(frame: pd.DataFrame) -> pa.Table:
    """The canonical columns of a prepared (possibly filtered) frame as an Arrow table, for export."""
    canonical = frame[list(schema.COLUMN_NAMES)]
    return pa.Table.from_pandas(canonical, preserve_index=False).cast(schema.ARROW_SCHEMA)


def fold(text: str) -> str:
    """Text folded the way the search column is, for case-insensitive matching against it."""
    return text.casefold()


def _canonical(events: pa.Table) -> pa.Table:
    missing = [name for name in LIGHT_COLUMNS if name not in events.column_names]
    if missing:
        raise UsageError(
            f"events lack the canonical columns {', '.join(missing)}", hint="see timeline.schema.COLUMNS"
        )
    present = pa.schema([field for field in schema.ARROW_SCHEMA if field.name in events.column_names])
    return events.select(present.names).cast(present)


def _plain(table: pa.Table) -> pd.DataFrame:
    """Columns other than the categories as pandas: text as str, counts and offsets as nullable ints."""
    return table.to_pandas(types_mapper=_NULLABLE_INTS.get)


def _micros(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.cast(values, pa.int64()).to_numpy()


def _precision_codes(values: pa.ChunkedArray) -> np.ndarray:
    codes = pc.index_in(values, value_set=pa.array(schema.PRECISIONS))
    if codes.null_count:
        unknown = pc.unique(pc.filter(values, pc.is_null(codes))).to_pylist()
        raise UsageError(
            f"unknown time_precision values {', '.join(map(repr, unknown[:5]))}",
            hint=f"allowed: {', '.join(schema.PRECISIONS)}",
        )
    return codes.to_numpy().astype(np.int8)


def _categorical(values: pa.ChunkedArray) -> pd.Categorical:
    """A categorical whose categories are the values present, in code point order."""
    uniques = pc.unique(values.drop_null())
    uniques = uniques.take(pc.array_sort_indices(uniques))
    codes = pc.fill_null(pc.index_in(values, value_set=uniques), -1).to_numpy()
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques.to_pylist(), dtype="str"))


def _casefold(values: pa.Array) -> pa.Array:
    """str.casefold of each value, vectorised: ASCII rows by Arrow's ascii_lower, the others by its
    utf8_lower, and only rows holding a character the two fold differently (ß, ς, ...) by Python."""
    folded = pc.ascii_lower(values)
    other = ~pc.string_is_ascii(values).to_numpy(zero_copy_only=False)
    if not other.any():
        return folded
    rows = np.flatnonzero(other)
    text = values.take(rows)
    lowered = pc.utf8_lower(text)
    odd = pc.match_substring_regex(text, _differently_folded_pattern()).to_numpy(zero_copy_only=False)
    if odd.any():
        exact = [value.casefold() for value in text.filter(pa.array(odd)).to_pylist()]
        lowered = pc.replace_with_mask(lowered, pa.array(odd), pa.array(exact, values.type))
    return pc.replace_with_mask(folded, pa.array(other), lowered)


@functools.cache
def _differently_folded_pattern() -> str:
    """A regex class of the characters Arrow's utf8_lower folds differently from str.casefold (ß, ς, ...)."""
    codes = np.arange(0x80, CASED_LIMIT, dtype=np.uint32)
    codes = codes[(codes < 0xD800) | (codes > 0xDFFF)]
    chars = codes.view("<U1")
    lowered = pc.utf8_lower(pa.array(chars))
    folded = pa.array([char.casefold() for char in chars.tolist()], pa.string())
    differ = codes[pc.not_equal(lowered, folded).to_numpy(zero_copy_only=False)]
    return "[" + "".join(f"\\x{{{code:x}}}" for code in differ) + "]"
