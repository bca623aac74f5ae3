"""Counts per lane and time bin computed by the engine (timeline.overview.EngineEvents): the figure of counts
drawn from an engine's expression is the very figure drawn from the same events in memory, byte for byte,
in zones with and without clock changes, at every bin size, with windows, relative and log axes, many lanes;
on every engine (tests/conftest.py's engine fixture).
"""

from __future__ import annotations

from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.io as pio
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from timeline import engines, figures, overview, query, store
from timeline import schema as s
from timeline.frame import START_US, STOP_US

ZONES = ("UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu")
US_PER_DAY = 86_400_000_000
TYPES = list(s.EVENT_TYPES[:10])


def _us(moment: str) -> int:
    return int(pd.Timestamp(moment, tz="UTC").as_unit("us").asm8.view("i8"))


def _generated(
    n: int,
    first: str,
    last: str,
    *,
    precisions: tuple[str, ...],
    longest_end_us: int,
    actors: int = 40,
    actor_name: str = "actor {:04d}",
    seed: int = 3,
) -> pa.Table:
    """n canonical events from `first` to `last` (UTC) at the given precisions, stated in offsets of several
    zones; a fifth with an end up to longest_end_us later (some before the start, which is then ignored);
    actors by actor_name's format, groups of which some are missing and one is literally NO_GROUP; and four
    actors whose first events tie, named to sort differently by code point than by letter."""
    rng = np.random.default_rng(seed)
    start = rng.integers(_us(first), _us(last), n)
    ends = rng.random(n) < 0.2
    end = start + rng.integers(-3_600_000_000, longest_end_us, n)
    columns = {c.name: pa.nulls(n, c.type) for c in s.COLUMNS}
    columns[s.EVENT_ID] = pa.array(np.char.add("e", np.arange(n).astype(str)))
    columns[s.TIMESTAMP] = pa.array(start, s.UTC_MICROS)
    columns[s.END] = pa.array(np.where(ends, end, 0), s.UTC_MICROS, mask=~ends)
    columns[s.TIME_PRECISION] = pa.array(rng.choice(np.array(precisions), n))
    columns[s.UTC_OFFSET_MINUTES] = pa.array(rng.choice(np.array([0, 60, -300, 345, 630], np.int16), n))
    names = [actor_name.format(i) for i in range(actors)]
    actor = np.array(names, dtype=object)[rng.integers(0, actors, n)]
    ties = ["Zed", "abc", "Ábc", "ábc"]
    actor[: len(ties)] = ties
    start[: len(ties)] = start.min()
    columns[s.TIMESTAMP] = pa.array(start, s.UTC_MICROS)
    columns[s.ACTOR] = pa.array(actor.tolist(), pa.string())
    groups = pa.array(["G1", "G2", None, overview.NO_GROUP])
    columns[s.ACTOR_GROUP] = groups.take(pa.array(rng.integers(0, 4, n)))
    columns[s.EVENT_TYPE] = pa.array(TYPES).take(pa.array(rng.integers(0, 10, n)))
    return pa.table(columns, schema=s.ARROW_SCHEMA)


# Spans that choose every kind of bin: seconds, minutes and hours across clock changes (London and New York
# fall back on 27 October and 3 November 2024, Lord Howe springs forward half an hour on 6 October), weeks,
# months, years before and after 1970, multi-year periods back to when zones kept local mean time.
SCENARIOS: dict[str, dict] = {
    "seconds": {
        "first": "2024-10-27T00:58:30",
        "last": "2024-10-27T01:01:30",
        "precisions": ("second",),
        "longest_end_us": 20_000_000,
    },
    "minutes": {
        "first": "2024-11-03T05:10",
        "last": "2024-11-03T06:50",
        "precisions": ("second", "minute"),
        "longest_end_us": 600_000_000,
    },
    "hours": {
        "first": "2024-10-05T00:00",
        "last": "2024-10-11T00:00",
        "precisions": ("second", "minute", "hour"),
        "longest_end_us": 3 * 3_600_000_000,
    },
    "weeks": {
        "first": "2024-03-20",
        "last": "2024-11-20",
        "precisions": tuple(s.PRECISIONS[:5]),
        "longest_end_us": 40 * US_PER_DAY,
    },
    "years": {
        "first": "1950-01-01",
        "last": "2030-01-01",
        "precisions": tuple(s.PRECISIONS),
        "longest_end_us": 400 * US_PER_DAY,
    },
    "centuries": {
        "first": "1650-01-01",
        "last": "2024-01-01",
        "precisions": tuple(s.PRECISIONS),
        "longest_end_us": 4000 * US_PER_DAY,
    },
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each scenario's events as a version's Parquet file."""
    folder = tmp_path_factory.mktemp("overview")
    paths = {}
    for name, scenario in SCENARIOS.items():
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(_generated(1_500, **scenario), paths[name])
    return paths


def _in_engine(engine: engines.Engine, path: Path) -> ir.Table:
    return query.events(engine, query.Version("overview", path.stem, str(path)))


def _both(events: ir.Table, **options) -> tuple[str, str, dict]:
    """The figure as JSON drawn from the events in memory and from the engine, and the engine's meta."""
    from_frame = figures.timeline_figure(frame=query.frame(events), **options)
    from_engine = figures.timeline_figure(events=events, **options)
    return pio.to_json(from_frame, validate=False), pio.to_json(from_engine, validate=False), from_engine


def _middle(path: Path, share: float) -> int:
    """The instant `share` of the way through a scenario's span."""
    scenario = SCENARIOS[path.stem]
    lo, hi = _us(scenario["first"]), _us(scenario["last"])
    return lo + int((hi - lo) * share)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("tz", ZONES)
def test_counts_on_the_wall_clock_are_those_counted_in_memory(engine, stored, scenario, tz):
    events = _in_engine(engine, stored[scenario])
    expected, got, fig = _both(events, tz=tz, max_events=100)
    assert fig.layout.meta["mode"] == "aggregated"
    assert got == expected


@pytest.mark.parametrize("scenario", ["minutes", "hours", "weeks", "centuries"])
@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"])
def test_counts_in_a_typed_window_are_those_counted_in_memory(engine, stored, scenario, tz):
    path = stored[scenario]
    events = _in_engine(engine, path)
    # Wide enough that its wall-clock end comes after its start: one lying inside an hour the clock repeats
    # fails alike on both paths (timeline.figures cannot cut it into bins yet).
    window = (_middle(path, 0.1), _middle(path, 0.9))
    shown = events.filter(events[STOP_US] > window[0], events[START_US] < window[1])  # as the page keeps them
    for bounds in (window, (window[0], None), (None, window[1])):
        expected, got, fig = _both(shown, tz=tz, max_events=50, window_us=bounds, lane="actor_group")
        assert fig.layout.meta["mode"] == "aggregated"
        assert got == expected, bounds


@pytest.mark.parametrize("scenario", ["hours", "weeks", "years"])
@pytest.mark.parametrize("log", [False, True], ids=["relative", "log"])
def test_counts_since_an_anchor_are_those_counted_in_memory(engine, stored, scenario, log):
    path = stored[scenario]
    events = _in_engine(engine, path)
    anchor = _middle(path, 0.4)
    expected, got, fig = _both(events, tz="Europe/London", max_events=100, relative_to_us=anchor, log=log)
    assert got == expected
    if log:  # the events wholly before the anchor are left out, and said to be
        assert "events before the anchor cannot be shown on a log axis" in fig.layout.xaxis2.title.text
    window = (_middle(path, 0.2), _middle(path, 0.9))
    expected, got, _ = _both(events, max_events=100, relative_to_us=anchor, log=log, window_us=window)
    assert got == expected


def test_more_lanes_than_drawn_share_a_row_and_long_names_coarsen_the_bins(engine, tmp_path):
    # 1,500 actors with long names over 200 days: day bins would make the figure too big, weeks fit.
    path = tmp_path / "lanes.parquet"
    table = _generated(
        20_000,
        "2024-01-01",
        "2024-07-19",
        precisions=("minute",),
        longest_end_us=US_PER_DAY,
        actors=1_500,
        actor_name="a rather long actor name to weigh on the figure {:04d}",
    )
    pq.write_table(table, path)
    events = _in_engine(engine, path)
    expected, got, fig = _both(events, tz="Europe/London", max_events=1_000)
    assert got == expected
    assert fig.layout.meta["lanes"] == overview.MAX_LANES
    assert fig.layout.meta["cells"]["rest"]
    assert fig.layout.meta["bin"] == "week"  # coarser than the days the span alone would choose


@pytest.mark.parametrize("scenario", ["seconds", "weeks", "centuries"])
@pytest.mark.parametrize("lane", [s.ACTOR, s.ACTOR_GROUP])
def test_the_lanes_a_version_kept_give_the_figure_the_engine_finds(engine, tmp_path, scenario, lane):
    """The overview of a whole version reads its lanes and extent from the rollups the store kept
    (store.Rollups.spans) instead of a pass over the events: the same figure, byte for byte, in a zone
    with clock changes and on a relative axis (on a log axis the spans are not used: some events are cut)."""
    table = _generated(1_500, **SCENARIOS[scenario])
    info = store.save(table, store.REJECTS_SCHEMA.empty_table(), {"name": "o"}, dataset_id="o", root=tmp_path)
    events = query.events(engine, query.version("o", info.version, root=tmp_path))
    spans = store.rollups("o", root=tmp_path).spans[lane]
    anchor = _middle(Path(scenario), 0.4)
    for options in (
        {"tz": "Europe/London"},
        {"relative_to_us": anchor},
        {"relative_to_us": anchor, "log": True},
    ):
        found = figures.timeline_figure(events=events, lane=lane, max_events=100, **options)
        kept = figures.timeline_figure(events=events, lane=lane, max_events=100, spans=spans, **options)
        assert pio.to_json(kept, validate=False) == pio.to_json(found, validate=False), options


def test_more_lanes_than_drawn_are_cut_alike_from_the_kept_lanes(engine, tmp_path):
    table = _generated(
        6_000,
        "2024-01-01",
        "2024-03-01",
        precisions=("minute", "day"),
        longest_end_us=US_PER_DAY,
        actors=1_200,
    )
    info = store.save(table, store.REJECTS_SCHEMA.empty_table(), {"name": "o"}, dataset_id="o", root=tmp_path)
    events = query.events(engine, query.version("o", info.version, root=tmp_path))
    spans = store.rollups("o", root=tmp_path).spans[s.ACTOR]
    found = figures.timeline_figure(events=events, max_events=100)
    kept = figures.timeline_figure(events=events, max_events=100, spans=spans)
    assert kept.layout.meta["lanes"] == overview.MAX_LANES
    assert pio.to_json(kept, validate=False) == pio.to_json(found, validate=False)


def test_few_events_come_back_one_by_one(engine, stored):
    events = _in_engine(engine, stored["weeks"])
    expected, got, fig = _both(events, tz="Europe/London", anchor_id="e7")
    assert fig.layout.meta["mode"] == "events"
    assert got == expected
    # On a log axis, what is counted against max_events is what the axis can show.
    anchor = _middle(stored["weeks"], 0.95)
    expected, got, fig = _both(events, relative_to_us=anchor, log=True, max_events=200)
    assert fig.layout.meta["mode"] == "events"
    assert got == expected


def test_counts_bring_no_events_back(engine, stored, monkeypatch):
    events = _in_engine(engine, stored["weeks"])
    count = query.count(events)

    def refused(*args, **kwargs):
        raise AssertionError("a figure of counts read events back")

    monkeypatch.setattr(query, "frame", refused)
    monkeypatch.setattr(query, "arrow", refused)
    fig = figures.timeline_figure(events=events, count=count, tz="Europe/London", max_events=100)
    assert fig.layout.meta["mode"] == "aggregated"
    assert fig.layout.meta["events"] == count
    assert sum(np.asarray(trace.y).sum() for trace in fig.data if trace.yaxis == "y") == count


def test_the_anchor_line_is_found_in_the_engine(engine, stored):
    events = _in_engine(engine, stored["weeks"])
    expected, got, fig = _both(events, tz="Asia/Kathmandu", max_events=100, anchor_id="e11")
    assert got == expected
    assert [shape.name for shape in fig.layout.shapes][-1] == "anchor"


def test_offset_changes_are_the_zone_databases():
    lo, hi = _us("1880-01-01"), _us("2040-01-01")
    for tz in ("Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Apia"):
        changes, offsets = overview._offset_changes(tz, lo, hi)
        probes = np.array([lo, *changes, *(c - 1_000_000 for c in changes)], dtype=np.int64)
        expected = pd.DatetimeIndex(probes.view("M8[us]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
        at = np.searchsorted(np.array(changes), probes, side="right")
        assert (probes + np.array(offsets)[at] == expected.as_unit("us").asi8).all(), tz


def test_frame_or_events_not_both(engine, stored):
    events = _in_engine(engine, stored["weeks"])
    with pytest.raises(ValueError, match="either as frame or as events"):
        figures.timeline_figure(frame=query.frame(events), events=events)
    with pytest.raises(ValueError, match="either as frame or as events"):
        figures.timeline_figure()
