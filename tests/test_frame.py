"""The prepared frame: canonical columns as pandas dtypes plus start_us, stop_us and search."""

from __future__ import annotations

import calendar
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timeline import frame, schema, store
from timeline.bundled import DATASET_ID
from timeline.errors import UsageError
from timeline.frame import START_US, STOP_US

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(text: str) -> datetime:
    """An ISO time with an offset (or Z) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _us(text: str) -> int:
    return (_utc(text) - EPOCH) // timedelta(microseconds=1)


def _events(*rows: dict) -> pa.Table:
    """A canonical table from partial rows; required fields get placeholders."""
    full = []
    for number, row in enumerate(rows):
        filled = {name: None for name in schema.COLUMN_NAMES}
        filled.update(
            {
                schema.EVENT_ID: f"e{number:03d}",
                schema.TIMESTAMP: "2024-03-22T00:00Z",
                schema.TIME_PRECISION: "day",
                schema.ACTOR: "Someone",
                schema.EVENT_TYPE: "statement",
            }
        )
        filled.update(row)
        for name in (schema.TIMESTAMP, schema.END):
            if isinstance(filled[name], str):
                filled[name] = _utc(filled[name])
        full.append(filled)
    return pa.Table.from_pylist(full, schema=schema.ARROW_SCHEMA)


@pytest.fixture(scope="module")
def bundled_frame() -> pd.DataFrame:
    return frame.prepare(store.load(DATASET_ID, root=store.DEFAULT_ROOT))


@pytest.mark.parametrize(
    ("timestamp", "precision", "offset", "end", "stop"),
    [
        ("2024-03-22T17:00:05Z", "second", 180, None, "2024-03-22T17:00:06Z"),
        ("2024-03-22T16:58Z", "minute", 180, None, "2024-03-22T16:59Z"),
        ("2024-03-22T19:00Z", "hour", 180, None, "2024-03-22T20:00Z"),
        # 22 March in Moscow (+03:00) runs from 21 March 21:00 UTC to 22 March 21:00 UTC.
        ("2024-03-21T21:00Z", "day", 180, None, "2024-03-22T21:00Z"),
        ("2024-03-22T04:00Z", "day", -240, None, "2024-03-23T04:00Z"),
        ("2024-03-22T00:00Z", "day", None, None, "2024-03-23T00:00Z"),
        # February 2024 in Moscow: a leap month of 29 days.
        ("2024-01-31T21:00Z", "month", 180, None, "2024-02-29T21:00Z"),
        ("2023-12-31T21:00Z", "year", 180, None, "2024-12-31T21:00Z"),
        ("2024-03-22T17:00Z", "minute", 180, "2024-03-22T19:00Z", "2024-03-22T19:00Z"),
        ("2024-03-21T21:00Z", "day", 180, "2024-03-21T23:00Z", "2024-03-21T23:00Z"),
        ("2024-03-22T17:00Z", "minute", 0, "2024-03-22T17:00Z", "2024-03-22T17:01Z"),
    ],
)
def test_derived_interval(
    timestamp: str, precision: str, offset: int | None, end: str | None, stop: str
) -> None:
    """start_us is the timestamp; stop_us the end when later, else the end of the precision's interval."""
    prepared = frame.prepare(
        _events(
            {
                schema.TIMESTAMP: timestamp,
                schema.TIME_PRECISION: precision,
                schema.UTC_OFFSET_MINUTES: offset,
                schema.END: end,
            }
        )
    )
    assert prepared[START_US].tolist() == [_us(timestamp)]
    assert prepared[STOP_US].tolist() == [_us(stop)]


@pytest.mark.parametrize(
    ("column", "dtype"),
    [
        (schema.EVENT_ID, "str"),
        (schema.TIMESTAMP, "datetime64[us, UTC]"),
        (schema.END, "datetime64[us, UTC]"),
        (schema.TIME_PRECISION, "category"),
        (schema.ACTOR, "category"),
        (schema.ACTOR_GROUP, "category"),
        (schema.ACTOR_TYPE, "category"),
        (schema.EVENT_TYPE, "category"),
        (schema.UTC_OFFSET_MINUTES, "Int16"),
        (schema.FATALITIES, "Int32"),
        (schema.INJURED, "Int32"),
        (schema.LATITUDE, "float64"),
        (schema.TITLE, "str"),
        (schema.SOURCE_URL, "str"),
        (schema.EXTRA, "str"),
        (START_US, "int64"),
        (STOP_US, "int64"),
    ],
)
def test_column_dtypes(bundled_frame: pd.DataFrame, column: str, dtype: str) -> None:
    """Each column has the pandas dtype the views rely on (categories for filters, nullable ints)."""
    assert str(bundled_frame[column].dtype) == dtype


def test_columns_are_canonical_then_derived(bundled_frame: pd.DataFrame) -> None:
    """The frame holds the canonical columns in schema order, then the derived ones."""
    assert tuple(bundled_frame.columns) == schema.COLUMN_NAMES + frame.DERIVED


def test_categories_are_sorted_and_precision_follows_the_schema(bundled_frame: pd.DataFrame) -> None:
    """Filter categories are the values present, in code point order; precision categories are PRECISIONS."""
    actors = bundled_frame[schema.ACTOR].cat.categories.tolist()
    assert actors == sorted(set(bundled_frame[schema.ACTOR].astype(str)))
    assert bundled_frame[schema.TIME_PRECISION].cat.categories.tolist() == list(schema.PRECISIONS)


def test_nulls_survive(bundled_frame: pd.DataFrame) -> None:
    """Missing groups and counts stay missing (no 'nan' category, no 0 for an unknown toll)."""
    no_group = bundled_frame[schema.ACTOR_GROUP].isna()
    assert no_group.sum() == 1
    assert "nan" not in bundled_frame[schema.ACTOR_GROUP].cat.categories
    assert bundled_frame[schema.FATALITIES].isna().any()


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({schema.TITLE: "Hello World", schema.ACTOR: "NEXTA"}, "hello world\n\nnexta\n\n\n"),
        (
            {
                schema.TITLE: "T",
                schema.DESCRIPTION: "D",
                schema.ACTOR: "A",
                schema.TARGET: "X",
                schema.SOURCE_NAME: "S",
                schema.SOURCE_URL: "https://EXAMPLE.org/A",
            },
            "t\nd\na\nx\ns\nhttps://example.org/a",
        ),
        (
            {schema.TITLE: "Große Straße", schema.ACTOR: "ΣΟΦΟΣ"},
            "große straße".casefold() + "\n\nσοφοσ\n\n\n",
        ),
        ({schema.TITLE: "İstanbul ﬁle", schema.ACTOR: "Ꭰ"}, "i̇stanbul file\n\nᎠ\n\n\n"),
        ({schema.TITLE: "Крокус Сити Холл", schema.ACTOR: "ФСБ"}, "крокус сити холл\n\nфсб\n\n\n"),
        ({schema.LOCATION: "Krasnogorsk", schema.EXTRA: '{"Note": "X"}', schema.ACTOR: "a"}, "\n\na\n\n\n"),
    ],
)
def test_search_is_casefolded_text_of_the_searched_columns(row: dict, expected: str) -> None:
    """search is title, description, actor, target, source name and URL, newline-joined and casefolded."""
    assert frame.search_text(frame.prepare(_events(row))).to_pylist() == [expected]


def _search_reference(record: dict) -> str:
    return "\n".join((record[name] or "") for name in frame.SEARCHED_COLUMNS).casefold()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.text(min_size=1, max_size=8)), min_size=1, max_size=8))
def test_search_equals_python_casefold(texts: list[tuple[str, str]]) -> None:
    """For any text (any script, ß, final sigma, ligatures, Cherokee...) search is exactly str.casefold."""
    events = _events(*({schema.TITLE: title, schema.ACTOR: actor} for title, actor in texts))
    prepared = frame.prepare(events)
    assert frame.search_text(prepared).to_pylist() == [
        _search_reference(record) for record in events.to_pylist()
    ]


def test_no_character_above_the_cased_limit_changes_case() -> None:
    """Neither Python nor Arrow folds a character at or above CASED_LIMIT (the scan below it is complete)."""
    rest = "".join(chr(code) for code in range(frame.CASED_LIMIT, sys.maxunicode + 1))
    assert rest.casefold() == rest
    assert pc.utf8_lower(pa.array([rest]))[0].as_py() == rest


def test_rows_keep_the_stored_order_and_ordered_sorts_by_start_then_event_id() -> None:
    """prepare keeps the stored order (fresh RangeIndex); ordered sorts by start_us, ties by event_id."""
    events = _events(
        {schema.EVENT_ID: "b", schema.TIMESTAMP: "2024-03-22T10:00Z"},
        {schema.EVENT_ID: "c", schema.TIMESTAMP: "2024-03-21T10:00Z"},
        {schema.EVENT_ID: "a", schema.TIMESTAMP: "2024-03-22T10:00Z"},
        {schema.EVENT_ID: "Z", schema.TIMESTAMP: "2024-03-22T10:00Z"},
        {schema.EVENT_ID: "d", schema.TIMESTAMP: "2024-03-22", schema.TIME_PRECISION: "day"},
    )
    prepared = frame.prepare(events)
    assert prepared[schema.EVENT_ID].tolist() == ["b", "c", "a", "Z", "d"]
    assert prepared.index.tolist() == [0, 1, 2, 3, 4]
    assert frame.ordered(prepared)[schema.EVENT_ID].tolist() == ["c", "d", "Z", "a", "b"]
    assert frame.ordered(prepared, 3)[schema.EVENT_ID].tolist() == ["c", "d", "Z"]
    assert frame.ordered(prepared, 10)[schema.EVENT_ID].tolist() == ["c", "d", "Z", "a", "b"]
    assert frame.ordered(prepared.iloc[:0], 3).empty


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.text("ab", max_size=3)),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[1],
    ),
    st.integers(1, 40),
)
def test_ordered_head_is_the_head_of_the_full_order(keys: list[tuple[int, str]], limit: int) -> None:
    """The first `limit` rows of ordered equal the head of the whole sort, ties at the cut included."""
    events = _events(
        *({schema.EVENT_ID: f"id-{name}", schema.TIMESTAMP: f"2024-03-2{day}T10:00Z"} for day, name in keys)
    )
    prepared = frame.prepare(events)
    expected = sorted((int(row[START_US]), row[schema.EVENT_ID]) for _, row in prepared.iterrows())[:limit]
    head = frame.ordered(prepared, limit)
    assert list(zip(head[START_US], head[schema.EVENT_ID], strict=True)) == expected


def test_bundled_dataset_prepares(bundled_frame: pd.DataFrame) -> None:
    """The bundled dataset gives 101 rows with unique ids and stop after start everywhere."""
    assert len(bundled_frame) == 101
    assert bundled_frame[schema.EVENT_ID].is_unique
    assert (bundled_frame[STOP_US] > bundled_frame[START_US]).all()
    assert pc.sum(pc.match_substring(frame.search_text(bundled_frame), "sikorski")).as_py() == 1


def test_empty_table_prepares() -> None:
    """A dataset without events gives an empty frame with every column."""
    prepared = frame.prepare(schema.empty_table())
    assert len(prepared) == 0
    assert tuple(prepared.columns) == schema.COLUMN_NAMES + frame.DERIVED


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (_events({}).drop_columns([schema.ACTOR, schema.TITLE, schema.EVENT_TYPE]), "actor, event_type"),
        (_events({schema.TIME_PRECISION: "week"}), "'week'"),
    ],
)
def test_unusable_tables_are_refused(events: pa.Table, message: str) -> None:
    """A table without canonical columns, or with an unknown precision, raises UsageError naming it."""
    with pytest.raises(UsageError, match=message):
        frame.prepare(events)


def _stop_reference(start_us: int, precision: str, offset: int | None, end_us: int | None) -> int:
    """The end of the interval an event could lie in, with datetime arithmetic in the stated offset."""
    if end_us is not None and end_us > start_us:
        return end_us
    shift = timedelta(minutes=offset or 0)
    local = EPOCH + timedelta(microseconds=start_us) + shift
    if precision == "year":
        stop = local.replace(year=local.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif precision == "month":
        days = calendar.monthrange(local.year, local.month)[1]
        stop = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days)
    elif precision == "day":
        stop = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        stop = local + {"hour": timedelta(hours=1), "minute": timedelta(minutes=1)}.get(
            precision, timedelta(seconds=1)
        )
    return (stop - shift - EPOCH) // timedelta(microseconds=1)


def test_generated_events_match_a_row_by_row_reference() -> None:
    """On 3,000 generated shuffled events, order and stop_us equal a plain per-row computation."""
    rng = np.random.default_rng(11)
    n = 3000
    precisions = rng.choice(np.array(schema.PRECISIONS), n).tolist()
    offsets = rng.choice(np.array([0, 60, 180, -240, 330, 840, -720]), n).tolist()
    moments = (datetime(2023, 12, 1) + timedelta(seconds=int(s)) for s in rng.integers(0, 120 * 86_400, n))
    ids = [f"g{i:05d}" for i in rng.permutation(n)]
    rows = []
    for event_id, moment, precision, offset, has_end, length in zip(
        ids, moments, precisions, offsets, rng.random(n) < 0.2, rng.integers(-5, 5_000, n), strict=True
    ):
        names = ("year", "month", "day", "hour", "minute", "second")
        stated = {name: getattr(moment, name) for name in names[: names.index(precision) + 1]}
        start = datetime(**{"month": 1, "day": 1, **stated}, tzinfo=UTC) - timedelta(minutes=offset)
        end = start + timedelta(seconds=int(length)) if has_end else None
        rows.append(
            {
                schema.EVENT_ID: event_id,
                schema.TIMESTAMP: start,
                schema.TIME_PRECISION: precision,
                schema.UTC_OFFSET_MINUTES: offset,
                schema.END: end,
            }
        )
    prepared = frame.prepare(_events(*rows))
    expected = sorted(
        (
            _us(row[schema.TIMESTAMP].isoformat()),
            row[schema.EVENT_ID],
            _stop_reference(
                _us(row[schema.TIMESTAMP].isoformat()),
                row[schema.TIME_PRECISION],
                row[schema.UTC_OFFSET_MINUTES],
                None if row[schema.END] is None else _us(row[schema.END].isoformat()),
            ),
        )
        for row in rows
    )
    prepared = frame.ordered(prepared)
    assert (
        list(zip(prepared[START_US], prepared[schema.EVENT_ID], prepared[STOP_US], strict=True)) == expected
    )


@pytest.mark.parametrize(
    ("actors", "expected"),
    [
        (["b", "a", "b", "c", "a", "b"], [("b", 3), ("a", 2), ("c", 1)]),
        (["z", "y", "x"], [("x", 1), ("y", 1), ("z", 1)]),
        (["Ä", "a", "A"], [("A", 1), ("a", 1), ("Ä", 1)]),
    ],
)
def test_counts_most_frequent_first_then_by_name(actors: list[str], expected: list[tuple[str, int]]) -> None:
    """counts orders values by count (descending), ties by value."""
    prepared = frame.prepare(_events(*({schema.ACTOR: actor} for actor in actors)))
    tally = frame.counts(prepared, schema.ACTOR)
    assert list(tally.items()) == expected
    assert tally.index.name == schema.ACTOR


def test_counts_leave_out_values_a_subset_lacks(bundled_frame: pd.DataFrame) -> None:
    """counts of a filtered frame lists only values that occur in it (no zero rows from the categories)."""
    subset = bundled_frame[bundled_frame[schema.ACTOR] == "Hamas"]
    assert dict(frame.counts(subset, schema.ACTOR)) == {"Hamas": 5}
    assert dict(frame.counts(subset, schema.TIME_PRECISION)) == {"day": 3, "hour": 1, "month": 1}


def test_to_table_gives_back_the_canonical_events() -> None:
    """to_table of a prepared frame is the canonical table again (ordered: sorted), ready for export."""
    events = store.load(DATASET_ID, root=store.DEFAULT_ROOT)
    expected = events.sort_by([(schema.TIMESTAMP, "ascending"), (schema.EVENT_ID, "ascending")])
    prepared = frame.prepare(events)
    assert frame.to_table(prepared).equals(events.combine_chunks())
    assert frame.to_table(frame.ordered(prepared)).equals(expected.combine_chunks())
    subset = frame.to_table(frame.ordered(prepared[prepared[schema.ACTOR] == "Hamas"]))
    assert subset.schema == schema.ARROW_SCHEMA
    assert subset.column(schema.EVENT_ID).to_pylist() == [
        row[schema.EVENT_ID] for row in expected.to_pylist() if row[schema.ACTOR] == "Hamas"
    ]


def test_light_frame_and_details_give_the_full_frame(bundled_frame: pd.DataFrame) -> None:
    """A frame of LIGHT_COLUMNS plus with_details on some rows equals those rows of the full frame."""
    events = store.load(DATASET_ID, root=store.DEFAULT_ROOT)
    light = frame.prepare(events.select(list(frame.LIGHT_COLUMNS)))
    assert tuple(light.columns) == frame.LIGHT_COLUMNS + frame.DERIVED
    chosen = light.iloc[[40, 3, 77]]
    full = frame.with_details(chosen, events.select(list(frame.DETAIL_COLUMNS)))
    pd.testing.assert_frame_equal(full, bundled_frame.iloc[[40, 3, 77]])
    assert frame.search_text(events).equals(frame.search_text(bundled_frame))


def test_details_of_rows_spread_over_chunks_come_in_the_rows_order(bundled_frame: pd.DataFrame) -> None:
    """with_details takes rows chunk by chunk from a table read in many chunks, in the rows' own order."""
    events = store.load(DATASET_ID, root=store.DEFAULT_ROOT)
    chunked = pa.Table.from_batches(events.to_batches(max_chunksize=7))
    light = frame.prepare(chunked.select(list(frame.LIGHT_COLUMNS)))
    chosen = light.iloc[[99, 0, 50, 13, 14, 3]]
    full = frame.with_details(chosen, chunked.select(list(frame.DETAIL_COLUMNS)))
    pd.testing.assert_frame_equal(full, bundled_frame.iloc[[99, 0, 50, 13, 14, 3]])
    assert frame.with_details(light.iloc[:0], chunked.select(list(frame.DETAIL_COLUMNS))).empty
