"""Tests of the store's layout for engines: events sorted by time in row groups with statistics, the
events file an engine reads (events_path), and the rollups counted once per version."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.test_store import T0, _events
from timeline import bundled, schema, store
from timeline import frame as frames
from timeline.errors import DatasetNotFound, InvalidDatasetId, UsageError

META = {"name": "Layout", "source_file": "layout.csv", "tz": "UTC"}
NO_REJECTS = store.REJECTS_SCHEMA.empty_table()
OPERATOR = store.Author("ops", "cli")
ROWS_PER_GROUP = 65_536  # what the store writes (row groups of a fixed number of rows)


def _many_events(n: int, seed: int = 0) -> pa.Table:
    """n events in no order, over 60 days: skewed actors, empty groups and types, every precision, offsets
    (some unstated), a few stated ends, and many events sharing a timestamp."""
    rng = np.random.default_rng(seed)
    minutes = rng.integers(0, 60 * 24 * 60, n)
    actors = np.array([f"actor {k:03d}" for k in range(300)], dtype=object)[rng.zipf(1.5, n) % 300]
    groups = rng.choice(np.array(["Russia", "Ukraine", "ÄÖ", "Zeta", None], dtype=object), n)
    kinds = rng.choice(np.array(["state", "media", None], dtype=object), n, p=[0.2, 0.3, 0.5])
    t0_us = int(T0.timestamp()) * 1_000_000
    starts = pa.array(t0_us + minutes * 60_000_000, pa.int64()).cast(schema.UTC_MICROS)
    offsets = rng.choice(np.array([0, 180, -240, 330], dtype=np.int16), n)
    ends = np.where(rng.random(n) < 0.05, minutes * 60_000_000 + rng.integers(-(10**9), 10**11, n), 0)
    columns = {
        schema.EVENT_ID: pa.array([f"e{k:06d}" for k in rng.permutation(n)]),
        schema.TIMESTAMP: starts,
        schema.TIME_PRECISION: pa.array(rng.choice(np.array(schema.PRECISIONS, dtype=object), n)),
        schema.UTC_OFFSET_MINUTES: pa.array(offsets, pa.int16(), mask=rng.random(n) < 0.1),
        schema.END: pa.array(t0_us + ends, pa.int64(), mask=ends == 0).cast(schema.UTC_MICROS),
        schema.ACTOR: pa.array(actors, pa.string()),
        schema.ACTOR_GROUP: pa.array(groups, pa.string()),
        schema.ACTOR_TYPE: pa.array(kinds, pa.string()),
        schema.EVENT_TYPE: pa.array(rng.choice(np.array(["attack", "claim", "statement"], dtype=object), n)),
        schema.DESCRIPTION: pa.array([f"text {k}" for k in range(n)]),
    }
    return pa.table(
        [columns.get(field.name, pa.nulls(n, field.type)) for field in schema.ARROW_SCHEMA],
        schema=schema.ARROW_SCHEMA,
    )


def _expected_rollups(events: pa.Table) -> store.Rollups:
    """The rollups of events computed another way: timeline.frame over all of them at once."""
    prepared = frames.prepare(events)
    start, stop = prepared[frames.START_US].to_numpy(), prepared[frames.STOP_US].to_numpy()
    reach = np.maximum(stop, start)
    placed = pd.DataFrame({"first": start, "stop": reach, "last": np.maximum(reach - 1, start)})
    spans = {}
    for name in store.LANE_COLUMNS:
        lanes = placed.assign(value=events[name].to_pandas().astype(object)).groupby("value", dropna=False)
        frame = lanes.agg(
            first=("first", "min"), stop=("stop", "max"), last=("last", "max"), events=("first", "size")
        )
        spans[name] = frame.reset_index()
    return store.Rollups(
        rows=events.num_rows,
        counts={name: frames.counts(prepared, name) for name in store.ROLLUP_COLUMNS},
        null_counts={name: events[name].null_count for name in store.ROLLUP_COLUMNS},
        min_start_us=int(start.min()) if len(start) else None,
        max_stop_us=int(stop.max()) if len(stop) else None,
        max_span_us=int((stop - start).max()) if len(start) else None,
        spans=spans,
    )


def _span_rows(spans: pa.Table | pd.DataFrame) -> list[tuple]:
    """Spans as comparable rows, by value (the empty value first)."""
    frame = spans.to_pandas() if isinstance(spans, pa.Table) else spans
    rows = frame[["value", "first", "stop", "last", "events"]].astype(object).itertuples(index=False)
    return sorted(
        (tuple(None if pd.isna(v) else v for v in row) for row in rows),
        key=lambda r: (r[0] is not None, r[0] or ""),
    )


def _assert_same_rollups(got: store.Rollups, expected: store.Rollups) -> None:
    assert (got.rows, got.min_start_us, got.max_stop_us, got.max_span_us) == (
        expected.rows,
        expected.min_start_us,
        expected.max_stop_us,
        expected.max_span_us,
    )
    assert got.null_counts == expected.null_counts
    assert list(got.counts) == list(expected.counts) == list(store.ROLLUP_COLUMNS)
    for name in store.ROLLUP_COLUMNS:
        pd.testing.assert_series_equal(got.counts[name], expected.counts[name])
    if got.spans and expected.spans:  # a rollups.parquet written before spans were kept has none
        assert list(got.spans) == list(expected.spans) == list(store.LANE_COLUMNS)
        for name in store.LANE_COLUMNS:
            assert _span_rows(got.spans[name]) == _span_rows(expected.spans[name]), name


def _save_the_old_way(events: pa.Table, root: Path, dataset_id: str) -> store.VersionInfo:
    """A version as the store wrote them before its layout for engines: events in the order given, no
    statistics, no rollups.parquet (and a version id that is no hash of this content, as for a version
    written under an older schema)."""
    info = store.save(
        _events({"event_id": "placeholder"}), NO_REJECTS, META, dataset_id=dataset_id, root=root
    )
    (info.path / store.ROLLUPS_FILE).unlink()
    (info.path / store.EVENTS_FILE).unlink()
    pq.write_table(
        events,
        info.path / store.EVENTS_FILE,
        compression="lz4_raw",
        write_statistics=False,
        row_group_size=10**6,
    )
    return info


# --- the events, laid out for engines --------------------------------------------------------------


def test_a_version_stores_its_events_by_time_then_event_id(tmp_path: Path) -> None:
    """Whatever order events come in, a version holds them by timestamp, ties by event_id; so the same
    events give the same version whatever their order in the file imported."""
    given = _events(
        {"event_id": "late", "minutes": 30},
        {"event_id": "tie-b", "minutes": 10},
        {"event_id": "early", "minutes": -5},
        {"event_id": "tie-a", "minutes": 10},
    )
    info = store.save(given, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    stored = store.load("demo", root=tmp_path)
    assert stored.column(schema.EVENT_ID).to_pylist() == ["early", "tie-a", "tie-b", "late"]
    assert stored.equals(store.in_stored_order(given))
    reversed_order = given.take(pa.array([3, 2, 1, 0]))
    again = store.save(reversed_order, NO_REJECTS, META, dataset_id="demo", root=tmp_path / "other")
    assert again.version == info.version
    assert store.in_stored_order(stored) is stored  # already in order: nothing moved


def test_row_groups_carry_statistics_an_engine_prunes_a_time_window_by(tmp_path: Path) -> None:
    """A version of 150,000 events in no order is stored in row groups of 65,536 rows, each covering
    its own stretch of time, with min/max statistics (none for free text); a dataset reader asked for
    a window inside one group's stretch reads that group alone."""
    events = _many_events(150_000)
    store.save(events, NO_REJECTS, META, dataset_id="big", root=tmp_path)
    path = store.events_path("big", root=tmp_path)
    metadata = pq.ParquetFile(path).metadata
    assert [metadata.row_group(k).num_rows for k in range(metadata.num_row_groups)] == [
        65_536,
        65_536,
        18_928,
    ]
    position = {name: k for k, name in enumerate(schema.COLUMN_NAMES)}
    spans = []
    for k in range(metadata.num_row_groups):
        group = metadata.row_group(k)
        stats = group.column(position[schema.TIMESTAMP]).statistics
        assert stats is not None and stats.has_min_max
        spans.append((stats.min, stats.max))
        for name in (schema.DESCRIPTION, schema.TITLE, schema.SOURCE_URL, schema.EXTRA):
            assert group.column(position[name]).statistics is None
        for name in (schema.ACTOR, schema.EVENT_TYPE, schema.EVENT_ID, schema.END):
            assert group.column(position[name]).statistics is not None
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))
    declared = pq.SortingColumn.from_ordering(schema.ARROW_SCHEMA, list(store.STORED_ORDER))
    assert metadata.row_group(0).sorting_columns == declared

    low, high = spans[1]
    inside = low + (high - low) / 3
    window = (ds.field(schema.TIMESTAMP) >= inside) & (
        ds.field(schema.TIMESTAMP) < inside + timedelta(hours=1)
    )
    [fragment] = ds.dataset(path, format="parquet").get_fragments()
    [kept] = fragment.split_by_row_group(window)
    assert [group.id for group in kept.row_groups] == [1]


def test_an_append_lays_out_the_merged_events_the_same_way(tmp_path: Path) -> None:
    """Merged events are stored exactly as a plain save of the same events stores them."""
    store.save(_events({"event_id": "b", "minutes": 5}), NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    added = _events({"event_id": "a", "minutes": 5}, {"event_id": "c", "minutes": 1})
    merged = store.save(added, NO_REJECTS, META, dataset_id="demo", append=True, root=tmp_path)
    plain = store.save(store.load("demo", root=tmp_path), NO_REJECTS, META, dataset_id="x", root=tmp_path)
    assert store.load("demo", root=tmp_path).column(schema.EVENT_ID).to_pylist() == ["c", "a", "b"]
    assert (merged.path / store.EVENTS_FILE).read_bytes() == (plain.path / store.EVENTS_FILE).read_bytes()
    _assert_same_rollups(
        store.rollups("demo", root=tmp_path), _expected_rollups(store.load("demo", root=tmp_path))
    )


# --- events_path and events_schema_is_current --------------------------------------------------------

LOOKUPS: list[tuple[str, Callable]] = [
    ("events_path", store.events_path),
    ("events_schema_is_current", store.events_schema_is_current),
    ("rollups", store.rollups),
]


def test_events_path_is_the_versions_events_file(tmp_path: Path) -> None:
    """events_path names the version's events.parquet (the newest's without a version), absolute."""
    old = store.save(_events({"event_id": "a"}), NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    new = store.save(_events({"event_id": "b"}), NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    assert store.events_path("demo", old.version, root=tmp_path) == str(old.path / store.EVENTS_FILE)
    assert store.events_path("demo", root=tmp_path) == str(new.path / store.EVENTS_FILE)
    assert Path(store.events_path("demo", root=tmp_path)).is_absolute()
    assert pq.read_table(store.events_path("demo", root=tmp_path)).equals(store.load("demo", root=tmp_path))


@pytest.mark.parametrize(("_", "lookup"), LOOKUPS, ids=[name for name, _ in LOOKUPS])
def test_lookups_refuse_what_load_refuses(tmp_path: Path, _, lookup: Callable) -> None:
    """A bad id, a missing dataset or version, a withdrawn version, a version linked from outside the
    store: each raises the error load raises, with the same message."""
    root = tmp_path / "store"
    first = store.save(_events({"event_id": "a"}), NO_REJECTS, META, dataset_id="demo", root=root)
    store.save(_events({"event_id": "b"}), NO_REJECTS, META, dataset_id="demo", root=root)
    store.withdraw("demo", first.version, reason="wrong file", author=OPERATOR, root=root)
    outside = store.save(
        _events({"event_id": "c"}), NO_REJECTS, META, dataset_id="x", root=tmp_path / "outside"
    )
    (root / "demo" / outside.version).symlink_to(outside.path)
    for dataset_id, version, error in [
        ("../etc", None, InvalidDatasetId),
        ("demo", "../../x", InvalidDatasetId),
        ("nothing", None, DatasetNotFound),
        ("demo", "000000000000", DatasetNotFound),
        ("demo", first.version, store.VersionWithdrawn),
        ("demo", outside.version, DatasetNotFound),
    ]:
        with pytest.raises(error) as expected:
            store.load(dataset_id, version, root=root)
        with pytest.raises(error) as got:
            lookup(dataset_id, version, root=root)
        assert str(got.value) == str(expected.value)


def test_events_schema_is_current_tells_an_older_schema(tmp_path: Path) -> None:
    """A version written now has the current schema; one written before a column existed has not (an
    engine reading its file would miss the column; load gives it empty)."""
    store.save(_events({"event_id": "a"}), NO_REJECTS, META, dataset_id="now", root=tmp_path)
    assert store.events_schema_is_current("now", root=tmp_path) is True
    older = _events({"event_id": "a"}).drop_columns([schema.ACTOR_TYPE, schema.EXTRA])
    _save_the_old_way(older, tmp_path, "older")
    assert store.events_schema_is_current("older", root=tmp_path) is False
    assert store.load("older", root=tmp_path).column(schema.ACTOR_TYPE).null_count == 1


# --- rollups -------------------------------------------------------------------------------------


def test_rollups_of_a_new_version_equal_what_its_events_count(tmp_path: Path) -> None:
    """A version of 150,000 events (three row groups) has a rollups.parquet whose counts, empty counts,
    earliest start, latest stop, longest span and the span of each actor and group (the timeline's lanes)
    equal timeline.frame's over all the events."""
    events = _many_events(150_000, seed=1)
    info = store.save(events, NO_REJECTS, META, dataset_id="big", root=tmp_path)
    assert (info.path / store.ROLLUPS_FILE).is_file()
    rollups = store.rollups("big", root=tmp_path)
    assert list(rollups.spans) == list(store.LANE_COLUMNS)
    _assert_same_rollups(rollups, _expected_rollups(events))
    assert rollups.null_counts[schema.ACTOR_GROUP] > 0 and rollups.null_counts[schema.ACTOR] == 0
    assert rollups.counts[schema.ACTOR].index[0] == "actor 001"  # the most frequent first


def test_an_old_layout_version_gives_the_same_rollups_and_stays_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version written before rollups (events unsorted, one row group, no statistics, no rollups file)
    gives the rollups a new version of the same events has, counted 65,536 rows at a time; nothing is
    written into it."""
    events = _many_events(150_000, seed=2)
    store.save(events, NO_REJECTS, META, dataset_id="new", root=tmp_path)
    old = _save_the_old_way(events, tmp_path, "old")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in old.path.iterdir())
    pieces: list[int] = []
    prepare = frames.prepare
    monkeypatch.setattr(frames, "prepare", lambda piece: pieces.append(piece.num_rows) or prepare(piece))

    counted = store.rollups("old", root=tmp_path)

    _assert_same_rollups(counted, store.rollups("new", root=tmp_path))
    assert pieces == [65_536, 65_536, 18_928]
    assert sorted((p.name, p.stat().st_mtime_ns) for p in old.path.iterdir()) == before


def test_an_older_schema_version_is_counted_with_its_missing_columns_empty(tmp_path: Path) -> None:
    """A version without the actor_type column (an older schema) counts every event as having none."""
    events = _many_events(1_000, seed=3)
    _save_the_old_way(events.drop_columns([schema.ACTOR_TYPE]), tmp_path, "older")
    rollups = store.rollups("older", root=tmp_path)
    assert rollups.null_counts[schema.ACTOR_TYPE] == 1_000 and rollups.counts[schema.ACTOR_TYPE].empty
    _assert_same_rollups(rollups, _expected_rollups(store.load("older", root=tmp_path)))


def test_rollups_of_the_bundled_dataset_equal_its_frame_counts(tmp_path: Path) -> None:
    """On the bundled dataset, the stored version (written before rollups) and a version built now from
    the reviewed CSV both give the counts timeline.frame.counts gives."""
    stored = store.rollups(bundled.DATASET_ID, root=store.DEFAULT_ROOT)
    _assert_same_rollups(stored, _expected_rollups(store.load(bundled.DATASET_ID, root=store.DEFAULT_ROOT)))
    rebuilt = bundled.build(root=tmp_path)
    _assert_same_rollups(store.rollups(bundled.DATASET_ID, root=tmp_path), stored)
    assert (rebuilt.path / store.ROLLUPS_FILE).is_file()
    assert stored.counts[schema.ACTOR].sum() == stored.rows == 101


def test_rollups_of_a_version_without_events(tmp_path: Path) -> None:
    """Everything rejected: no rows, nothing counted, no times."""
    store.save(schema.empty_table(), NO_REJECTS, META, dataset_id="empty", root=tmp_path)
    rollups = store.rollups("empty", root=tmp_path)
    assert (rollups.rows, rollups.min_start_us, rollups.max_stop_us, rollups.max_span_us) == (
        0,
        None,
        None,
        None,
    )
    assert all(rollups.counts[name].empty and rollups.null_counts[name] == 0 for name in store.ROLLUP_COLUMNS)


def test_a_damaged_rollups_file_is_an_error_that_names_it(tmp_path: Path) -> None:
    """A rollups.parquet that cannot be read is a StoreError naming the version and the file, never
    counts made up."""
    info = store.save(_events({"event_id": "a"}), NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    path = info.path / store.ROLLUPS_FILE
    table = pq.read_table(path)
    for damaged in (
        b"PAR1 not parquet",
        table.replace_schema_metadata({}),
        table.replace_schema_metadata({b"timeline.rollups": json.dumps({"rows": 1, "min_start_us": 1.5})}),
        table.replace_schema_metadata({b"timeline.rollups": b"[1, 2]"}),
        table.replace_schema_metadata({b"timeline.rollups": b"{not json"}),
        table.drop_columns(["count"]),
    ):
        path.unlink()
        if isinstance(damaged, bytes):
            path.write_bytes(damaged)
        else:
            pq.write_table(damaged, path)
        with pytest.raises(
            store.StoreError, match=f"rollups of dataset 'demo' version {info.version}"
        ) as err:
            store.rollups("demo", root=tmp_path)
        assert err.value.file == str(path)


def test_an_unknown_time_precision_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """Counting a version's intervals needs a known precision: an unknown one is refused, naming it."""
    with pytest.raises(UsageError, match="unknown time_precision values 'weekly'"):
        store.save(
            _events({"event_id": "a", "time_precision": "weekly"}),
            NO_REJECTS,
            META,
            dataset_id="demo",
            root=tmp_path,
        )
    assert not (tmp_path / "demo").exists()


def test_the_old_way_helper_really_writes_the_old_layout(tmp_path: Path) -> None:
    """The old-layout versions above have what versions had before: no rollups, no statistics."""
    info = _save_the_old_way(_many_events(10), tmp_path, "old")
    assert not (info.path / store.ROLLUPS_FILE).exists()
    assert pq.ParquetFile(info.path / store.EVENTS_FILE).metadata.row_group(0).column(1).statistics is None


def test_the_stored_order_is_arrows_sort_by_timestamp_then_event_id_however_the_table_is_chunked() -> None:
    """The store's own ordering (timestamps as integers, then only the tied rows by id) gives the order of
    Arrow's sort of both keys, and a table cut into many chunks is stored as the very bytes of the same
    table in one chunk (the rows of each row group are gathered on a second thread)."""
    events = _many_events(150_000, seed=3)  # many events share a minute
    expected = events.take(pc.sort_indices(events, sort_keys=list(store.STORED_ORDER)))
    assert store.in_stored_order(events).equals(expected)
    chunked = pa.Table.from_batches(events.to_batches(max_chunksize=7_001))
    assert chunked[schema.EVENT_ID].num_chunks > 20
    assert store.in_stored_order(chunked).equals(expected)
    assert bytes(store._events_parquet(chunked)) == bytes(store._events_parquet(events.combine_chunks()))
    assert pq.read_table(pa.BufferReader(bytes(store._events_parquet(chunked)))).equals(expected)
