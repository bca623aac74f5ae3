"""The timeline figure, tested as a Plotly object: lanes, colours, honest intervals, hover, size bounds."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
import pytest
from plotly.colors import sample_colorscale, unlabel_rgb

from tests.canonical import canonical_events
from timeline import display, figures, loading, store
from timeline import frame as frames
from timeline import schema as s

BUNDLED = "crocus-city-hall-2024"
MOSCOW = "Europe/Moscow"
BERLIN = "Europe/Berlin"
TWO_MB = 2_000_000
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return frames.prepare(store.load(BUNDLED, root=store.DEFAULT_ROOT))


def _events(*rows: dict) -> pa.Table:
    """Canonical events from a few fields per row; the rest null, ids and actors made up."""
    return canonical_events(
        *rows,
        event_type="statement",
        time_precision="minute",
        timestamp="2024-03-22T17:00Z",
        utc_offset_minutes=180,
    )


def _generated(
    n: int,
    *,
    actors: int = 200,
    days: int = 60,
    seed: int = 7,
    months: int = 0,
    actor_name: str = "actor {:03d}",
) -> pd.DataFrame:
    """n events of 10 types by `actors` actors (named by actor_name's format) over `days` days from 1 March
    2024, mostly minute precision (fixed seed); `months` of them, evenly spread, known only to the month."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-03-01", tz="UTC").value // 1000
    start = np.sort(rng.integers(t0, t0 + days * 86_400_000_000, n))
    precision = rng.choice(np.array(s.PRECISIONS[:4]), n, p=[0.2, 0.6, 0.1, 0.1])
    coarse = np.linspace(0, n - 1, months).astype(int)
    precision[coarse] = "month"
    start[coarse] = t0
    columns = {c.name: pa.nulls(n, c.type) for c in s.COLUMNS}
    columns[s.EVENT_ID] = pa.array(np.char.add("e", np.arange(n).astype(str)))
    columns[s.TIMESTAMP] = pa.array(start, s.UTC_MICROS)
    columns[s.TIME_PRECISION] = pa.array(precision)
    columns[s.UTC_OFFSET_MINUTES] = pa.array(np.zeros(n, np.int16))
    names = pa.array([actor_name.format(i) for i in range(actors)])
    columns[s.ACTOR] = names.take(pa.array(rng.integers(0, actors, n)))
    columns[s.EVENT_TYPE] = pa.array(list(s.EVENT_TYPES[:10])).take(pa.array(rng.integers(0, 10, n)))
    return frames.prepare(pa.table(columns, schema=s.ARROW_SCHEMA))


def _lane_traces(fig: go.Figure) -> list:
    """The traces of single events (not the heatmap)."""
    return [trace for trace in fig.data if trace.yaxis == "y2" and trace.type != "heatmap"]


def _heatmap(fig: go.Figure):
    (heatmap,) = [trace for trace in fig.data if trace.type == "heatmap"]
    return heatmap


def _cell_bins(fig: go.Figure) -> list[tuple[str, int, int, int]]:
    """Each non-empty cell as (lane, bin start, bin stop, count), the bin in UTC microseconds: the heatmap's
    counts on the grid of bins the figure gives drill_down."""
    heatmap = _heatmap(fig)
    counts = np.asarray(heatmap.customdata)
    edges = fig.layout.meta["cells"]["utc_edges"]
    lanes, bins = np.nonzero(counts)
    return sorted(
        (heatmap.y[lane], edges[b], edges[b + 1], int(counts[lane, b]))
        for lane, b in zip(lanes.tolist(), bins.tolist(), strict=True)
    )


def _us(moment: str, tz: str = "UTC") -> int:
    """An instant as UTC microseconds: a wall-clock time in tz, or a time with its own offset."""
    stamp = pd.Timestamp(moment)
    return (stamp if stamp.tzinfo else stamp.tz_localize(tz)).value // 1000


def _overlapping(frame: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """The events whose interval overlaps the window, as the page keeps them."""
    return frame[(frame[frames.STOP_US] > window[0]) & (frame[frames.START_US] < window[1])]


def _strip_edges(fig: go.Figure) -> tuple[str, str]:
    """Where the count strip's bars start and end, as wall-clock text."""
    bars = [trace for trace in fig.data if trace.yaxis == "y"]
    starts = [pd.Timestamp(x) for trace in bars for x in trace.x]
    ends = [
        pd.Timestamp(x) + pd.Timedelta(milliseconds=w)
        for trace in bars
        for x, w in zip(trace.x, trace.width, strict=True)
    ]
    return min(starts).isoformat(), max(ends).isoformat()


def _strip_total(fig: go.Figure) -> int:
    return int(sum(np.sum(trace.y) for trace in fig.data if trace.yaxis == "y"))


def _where(fig: go.Figure, event_id: str) -> tuple:
    """The trace holding an event and the event's position in it."""
    for trace in _lane_traces(fig):
        ids = [row[0] for row in trace.customdata]
        if event_id in ids:
            return trace, ids.index(event_id)
    raise AssertionError(f"{event_id} is in no trace")


def _strings(value) -> list[str]:
    """Every string anywhere in a nested figure dict."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list | tuple | np.ndarray):
        return [text for item in value for text in _strings(item)]
    return []


def test_one_lane_per_actor_in_order_of_first_event(bundled):
    """The y categories are the actors, earliest first event on top (Plotly lists categories bottom-up)."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    order = figures.lane_order(bundled)
    assert len(order) == bundled[s.ACTOR].nunique() == fig.layout.meta["lanes"]
    assert order[0] == "Hamas"
    axis = fig.layout.yaxis2
    assert axis.type == "category" and axis.categoryorder == "array" and axis.automargin is True
    assert list(axis.categoryarray) == order[::-1]
    assert {y for trace in _lane_traces(fig) for y in trace.y} == set(order)


def test_lane_order_ties_by_name_and_groups_without_a_group():
    """Lanes starting at the same moment are ordered by name; events without a group get their own lane."""
    prepared = frames.prepare(
        _events(
            {s.ACTOR: "Zed", s.ACTOR_GROUP: "B"},
            {s.ACTOR: "Abe", s.ACTOR_GROUP: "A"},
            {s.ACTOR: "Cat", s.TIMESTAMP: "2024-03-21T17:00Z"},
        )
    )
    assert figures.lane_order(prepared) == ["Cat", "Abe", "Zed"]
    assert figures.lane_order(prepared, lane="actor_group") == [figures.NO_GROUP, "A", "B"]
    fig = figures.timeline_figure(frame=prepared, lane="actor_group")
    assert list(fig.layout.yaxis2.categoryarray) == ["B", "A", figures.NO_GROUP]


def test_traces_per_type_with_fixed_colours(bundled):
    """Each event type has its colour, its legend group and exactly one legend entry."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    traces = _lane_traces(fig)
    assert {t.name for t in traces} == set(bundled[s.EVENT_TYPE].astype(str))
    for trace in traces:
        assert trace.legendgroup == trace.name  # escaped like the name
        assert trace.marker.color == figures.EVENT_TYPE_COLORS[trace.name]
    shown = [t.name for t in traces if t.showlegend is not False]
    assert sorted(shown) == sorted(set(shown)) == sorted(set(bundled[s.EVENT_TYPE].astype(str)))
    assert fig.layout.legend.title.text == "Event type"


def test_type_colors():
    """The twelve bundled types have distinct fixed colours; other types cycle deterministically by name."""
    assert set(figures.EVENT_TYPE_COLORS) == set(s.EVENT_TYPES)
    assert len(set(figures.EVENT_TYPE_COLORS.values())) == len(s.EVENT_TYPES)
    colors = figures.type_colors(["zeta", "attack", "alpha", "zeta"])
    assert list(colors) == ["attack", "alpha", "zeta"]
    assert colors["attack"] == figures.EVENT_TYPE_COLORS["attack"]
    assert colors == figures.type_colors(["alpha", "zeta", "attack"])
    assert colors["alpha"] != colors["zeta"]


def test_day_events_are_bars_from_local_midnight(bundled):
    """A Moscow day is a hatched bar from 00:00 in Moscow time, which is 21:00 the day before in UTC."""
    event = "2024-03-22-fsb-reports-shooting-and-fire"
    for tz, base in ((MOSCOW, "2024-03-22T00:00:00"), ("UTC", "2024-03-21T21:00:00")):
        trace, i = _where(figures.timeline_figure(frame=bundled, tz=tz), event)
        assert trace.type == "bar" and trace.orientation == "h"
        assert trace.base[i] == base
        assert trace.x[i] == 86_400_000
        assert trace.marker.pattern.shape[i] == "/"
        assert trace.opacity == pytest.approx(0.55)


def test_hour_and_month_events_are_intervals_too(bundled):
    """Times known to the hour or month are drawn over that hour or month, never as points."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    hour, i = _where(fig, "2024-03-22-fsb-toll-40")
    assert (hour.type, hour.base[i], hour.x[i]) == ("bar", "2024-03-22T22:00:00", 3_600_000)
    month, j = _where(fig, "2024-02-intra-palestinian-talks-in-moscow")
    assert (month.type, month.base[j], month.x[j]) == ("bar", "2024-02-01T00:00:00", 29 * 86_400_000)


def test_minute_events_are_markers(bundled):
    """A minute-precision event is a marker at its local time (SVG for a few, WebGL for many)."""
    trace, i = _where(figures.timeline_figure(frame=bundled, tz=MOSCOW), "2024-03-22-attack-begins")
    assert trace.type == "scatter" and trace.mode == "markers"
    assert trace.x[i] == "2024-03-22T19:58:00"
    assert trace.y[i] == "Four gunmen"


def test_events_with_an_end_are_solid_bars():
    """A real duration is a bar without hatching, from its start to its end."""
    prepared = frames.prepare(_events({s.TIMESTAMP: "2024-03-22T16:58Z", s.END: "2024-03-22T17:11Z"}))
    trace, i = _where(figures.timeline_figure(frame=prepared, tz=MOSCOW), "e0")
    assert trace.type == "bar"
    assert (trace.base[i], trace.x[i], trace.marker.pattern.shape[i]) == ("2024-03-22T19:58:00", 780_000, "")


def test_customdata_holds_every_event_id_once(bundled):
    """Selecting a point gives its event_id as the first customdata column."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    ids = [row[0] for trace in _lane_traces(fig) for row in trace.customdata]
    assert sorted(ids) == sorted(bundled[s.EVENT_ID])
    for trace in _lane_traces(fig):
        assert trace.hovertemplate.endswith("<extra></extra>")


def test_hover_shows_the_stated_time_and_text(bundled):
    """Hover holds the time as stated in the zone shown, the actor, the title and the source."""
    trace, i = _where(
        figures.timeline_figure(frame=bundled, tz="UTC"), "2024-03-22-fsb-reports-shooting-and-fire"
    )
    row = list(trace.customdata[i])
    # The day as the source stated it first, then its interval in the zone shown.
    assert row[1] == "22 Mar 2024, time not stated, UTC+03:00 · in UTC: 21 Mar 2024 21:00 – 22 Mar 2024 21:00"
    assert row[2] == "FSB"
    assert row[3] == "FSB reports shooting and fire at Crocus City Hall"
    assert row[4]
    assert "%{fullData.name}" in trace.hovertemplate


def test_hover_text_is_escaped():
    """HTML in event text reaches Plotly's hover, legend and axes only as escaped text."""
    hostile = frames.prepare(
        _events(
            {
                s.TITLE: "<script>alert(1)</script>",
                s.ACTOR: "<img src=x onerror=alert(1)>",
                s.EVENT_TYPE: "<b>odd</b>",
                s.SOURCE_NAME: "<a href='javascript:alert(1)'>src</a>",
            }
        )
    )
    for options in ({}, {"max_events": 1}):  # single events, and counts with their selectable cells
        fig = figures.timeline_figure(frame=hostile, anchor_id="e0", title="<i>mine</i>", **options)
        texts = _strings(fig.to_plotly_json())
        for tag in ("<script", "<img", "<a ", "<b>odd", "<i>"):
            assert not any(tag in text for text in texts), tag
    (trace,) = _lane_traces(figures.timeline_figure(frame=hostile))
    assert trace.customdata[0][2] == "&lt;img src=x onerror=alert(1)&gt;"
    assert trace.name == "&lt;b&gt;odd&lt;/b&gt;"


def test_titles_read_as_stated_and_descriptions_as_plain_text():
    """A title is shown as its source wrote it (escaped); where there is none, the description stands in,
    as plain text: a TimelineJS description is HTML, and its tags are not what its author meant to show."""
    prepared = frames.prepare(
        _events(
            {s.TITLE: "<script>alert(1)</script>"},
            {s.TITLE: None, s.DESCRIPTION: "<p><i>Arrests</i> in Moscow &amp; beyond</p>"},
            {s.TITLE: "a < b > c"},
        )
    )
    fig = figures.timeline_figure(frame=prepared, anchor_id="e1")
    (trace,) = _lane_traces(fig)
    headlines = {row[0]: row[3] for row in trace.customdata}
    assert headlines == {
        "e0": "&lt;script&gt;alert(1)&lt;/script&gt;",
        "e1": "Arrests in Moscow &amp; beyond",
        "e2": "a &lt; b &gt; c",
    }


def test_long_descriptions_are_cut_for_hover():
    """Without a title, the first 120 characters of the description stand in for it."""
    prepared = frames.prepare(_events({s.DESCRIPTION: "x" * 300}))
    (trace,) = _lane_traces(figures.timeline_figure(frame=prepared))
    assert trace.customdata[0][3] == "x" * 119 + "…"


def test_anchor_line_at_the_first_attack(bundled):
    """The anchor is a vertical line through both rows at its local start, labelled with its title."""
    attacks = bundled[bundled[s.EVENT_TYPE] == "attack"]
    first = attacks.loc[attacks[frames.START_US].idxmin(), s.EVENT_ID]
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW, anchor_id=first)
    lines = [shape for shape in fig.layout.shapes if shape.type == "line"]
    assert len(lines) == 1
    assert (lines[0].x0, lines[0].x1, lines[0].yref, lines[0].y0, lines[0].y1) == (
        "2023-10-07T00:00:00",
        "2023-10-07T00:00:00",
        "paper",
        0,
        1,
    )
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("anchor: ")]
    assert labels == ["anchor: Hamas attacks Israel from Gaza, starting the Israel-Hamas war"]
    crocus = figures.timeline_figure(frame=bundled, tz=MOSCOW, anchor_id="2024-03-22-attack-begins")
    assert [shape.x0 for shape in crocus.layout.shapes if shape.type == "line"] == ["2024-03-22T19:58:00"]


def test_unknown_anchor_draws_nothing(bundled):
    """An anchor id not in the filtered events adds no line."""
    fig = figures.timeline_figure(frame=bundled, anchor_id="no-such-event")
    assert not fig.layout.shapes


def test_height_grows_with_lanes(bundled):
    """Every lane gets its height; a few lanes still get a usable figure."""
    assert figures.timeline_figure(frame=bundled).layout.height == 120 + 22 * 63
    assert figures.timeline_figure(frame=bundled, height_per_lane=30).layout.height == 120 + 30 * 63
    few = bundled[bundled[s.ACTOR].isin(["Hamas", "FSB"])]
    assert figures.timeline_figure(frame=few).layout.height == 450


def test_x_axis_is_dates_named_by_zone(bundled):
    """Both rows share a date axis whose title names the zone and its offset."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    assert fig.layout.xaxis.type == fig.layout.xaxis2.type == "date"
    assert fig.layout.xaxis.matches == "x2"
    assert fig.layout.xaxis2.title.text == "Time in Europe/Moscow (UTC+03:00)"
    assert figures.timeline_figure(frame=bundled).layout.xaxis2.title.text == "Time in UTC"


def test_x_axis_title_names_both_offsets_across_a_clock_change(bundled):
    """Over a daylight-saving change the title gives both offsets of the zone."""
    fig = figures.timeline_figure(frame=bundled, tz="Europe/Berlin")
    assert fig.layout.xaxis2.title.text.startswith("Time in Europe/Berlin (UTC+01:00 and UTC+02:00")


def test_count_strip_counts_every_event(bundled):
    """The bars of the count strip add up to the number of events, with 50-200 bins or so over the span."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    assert _strip_total(fig) == len(bundled)
    assert fig.layout.meta["bin"] == "day"
    days = bundled[bundled[frames.START_US] >= pd.Timestamp("2024-03-22T12:00Z").value // 1000]
    days = days[days[frames.START_US] < pd.Timestamp("2024-03-24T00:00Z").value // 1000]
    zoomed = figures.timeline_figure(frame=days, tz=MOSCOW)
    assert zoomed.layout.meta["bin"] == "hour"
    assert _strip_total(zoomed) == len(days)


def test_layout_keeps_zoom_and_reads_well(bundled):
    """Zoom survives reruns; drag zooms; hover labels align left; meta says what is shown."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    assert fig.layout.uirevision and fig.layout.dragmode == "zoom"
    assert fig.layout.hoverlabel.align == "left"
    assert fig.layout.meta == {"mode": "events", "events": 101, "bin": "day", "tz": MOSCOW, "lanes": 63}


def test_aggregated_above_max_events(bundled):
    """Too many events: a heatmap of counts per lane and bin, no per-event traces, a sentence saying so and
    how to see the events of some cells."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW, max_events=10)
    meta = dict(fig.layout.meta)
    assert set(meta.pop("cells")) == {"x_edges", "utc_edges", "rest"}
    assert meta == {"mode": "aggregated", "events": 101, "bin": "day", "tz": MOSCOW, "lanes": 63}
    assert {trace.type for trace in fig.data} == {"bar", "heatmap"}
    assert not _lane_traces(fig)
    heatmap = _heatmap(fig)
    assert np.sum(heatmap.customdata) == 101
    assert list(heatmap.y) == figures.lane_order(bundled)
    assert _strip_total(fig) == 101
    assert "101 events in view: counts per lane and day. " + figures.DRILL_HINT in fig.layout.title.text


def test_million_events_stay_under_two_megabytes():
    """1,000,000 events by 200 actors over 60 days make a figure whose JSON is under 2 MB."""
    million = _generated(1_000_000)
    fig = figures.timeline_figure(frame=million, tz=MOSCOW)
    assert fig.layout.meta["mode"] == "aggregated"
    assert len(pio.to_json(fig, validate=False)) < TWO_MB
    assert np.sum(_heatmap(fig).customdata) == 1_000_000 == _strip_total(fig)
    assert fig.layout.meta["bin"] == "day"


def test_wordy_events_stay_under_two_megabytes():
    """5,000 events with long non-Latin text fit the budget: hover text shortens, or counts are shown."""
    wordy = _generated(5_000, actors=2_000, days=3).copy()
    wordy[s.TITLE] = pd.Series(["Заявление министерства " * 6] * len(wordy), index=wordy.index, dtype="str")
    wordy[s.SOURCE_NAME] = pd.Series(
        ["Агентство новостей & Co " * 4] * len(wordy), index=wordy.index, dtype="str"
    )
    fig = figures.timeline_figure(frame=wordy, tz=MOSCOW)
    assert len(pio.to_json(fig, validate=False)) <= figures.MAX_FIGURE_BYTES < TWO_MB
    assert fig.layout.meta["events"] == 5_000


def test_empty_frame(bundled):
    """No events: a figure that says so, with no error."""
    fig = figures.timeline_figure(frame=bundled.iloc[:0], tz=MOSCOW)
    assert not fig.data
    assert [a.text for a in fig.layout.annotations] == ["No events match the filters."]
    assert fig.layout.meta["mode"] == "empty"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"lane": "nope"}, ("lane", "'actor'", "'actor_group'", "'nope'")),
        ({"max_events": 0}, ("max_events", "0")),
    ],
)
def test_bad_arguments_are_named(bundled, arguments, words):
    """A wrong argument raises ValueError naming it, the allowed values and the value received."""
    with pytest.raises(ValueError) as raised:
        figures.timeline_figure(frame=bundled, **arguments)
    assert all(word in str(raised.value) for word in words)
    if "lane" in arguments:
        with pytest.raises(ValueError, match="'nope'"):
            figures.lane_order(bundled, lane="nope")


def test_anchor_line_stays_when_filters_hide_the_anchor_event() -> None:
    """With the anchor filtered out of the frame, anchor_frame still places its line."""
    full = frames.prepare(store.load("crocus-city-hall-2024", root=store.DEFAULT_ROOT))
    others = full[full[s.ACTOR] == "White House"]
    anchor = "2024-03-22-attack-begins"
    without = figures.timeline_figure(frame=others, anchor_id=anchor)
    with_line = figures.timeline_figure(frame=others, anchor_id=anchor, anchor_frame=full)
    assert not [sh for sh in without.layout.shapes if sh.name == "anchor"]
    assert [sh for sh in with_line.layout.shapes if sh.name == "anchor"]


def test_many_point_events_use_webgl_markers() -> None:
    """Above the WebGL threshold, point events are drawn with Scattergl."""
    n = 3_000
    start = pd.Timestamp("2024-03-22T17:00Z").value // 1000 + np.arange(n, dtype=np.int64) * 60_000_000
    table = pa.table(
        {
            s.EVENT_ID: [f"e{i}" for i in range(n)],
            s.TIMESTAMP: pa.array(start, s.UTC_MICROS),
            s.TIME_PRECISION: ["minute"] * n,
            s.UTC_OFFSET_MINUTES: pa.array([0] * n, pa.int16()),
            s.ACTOR: [f"actor {i % 7}" for i in range(n)],
            s.EVENT_TYPE: ["statement"] * n,
        }
    )
    full = pa.table(
        {c.name: table[c.name] if c.name in table.column_names else pa.nulls(n, c.type) for c in s.COLUMNS},
        schema=s.ARROW_SCHEMA,
    )
    fig = figures.timeline_figure(frame=frames.prepare(full))
    assert {t.type for t in fig.data if t.name == "statement"} == {"scattergl"}


CROCUS_DAYS = (1_711_054_800_000_000, 1_711_227_600_000_000)  # 22 and 23 March 2024 in Moscow


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"tz": MOSCOW, "lane": "actor_group", "title": "A <b>title</b>"},
        {"focus_us": (1_711_000_000_000_000, 1_712_000_000_000_000)},
        {"relative_to_us": 1_711_130_000_000_000},
        {"relative_to_us": 1_711_130_000_000_000, "log": True},
        {"max_events": 10},
        {"max_events": 10, "lane": "actor_group"},
        {"tz": MOSCOW, "window_us": CROCUS_DAYS},
        {"tz": MOSCOW, "window_us": CROCUS_DAYS, "max_events": 10},
        {"window_us": (None, CROCUS_DAYS[1])},
        {"relative_to_us": 1_711_130_000_000_000, "window_us": CROCUS_DAYS, "max_events": 10},
        {"relative_to_us": 1_711_130_000_000_000, "log": True, "window_us": CROCUS_DAYS},
    ],
    ids=[
        "events",
        "groups-titled",
        "focused",
        "relative",
        "log",
        "aggregated",
        "aggregated-groups",
        "window",
        "window-aggregated",
        "window-to-only",
        "window-relative-aggregated",
        "window-log",
    ],
)
def test_figures_pass_plotlys_validation(bundled, options):
    """The builders skip Plotly's validation for speed; every kind of figure they make must pass it."""
    fig = figures.timeline_figure(frame=bundled, anchor_id=bundled[s.EVENT_ID].iloc[0], **options)
    validated = go.Figure(fig.to_dict())
    assert len(validated.data) == len(fig.data)
    assert json.loads(pio.to_json(validated)) == json.loads(pio.to_json(fig))


def test_many_events_figure_passes_plotlys_validation():
    """WebGL markers for many single events, and a figure of many counts, pass Plotly's validation."""
    fig = figures.timeline_figure(frame=_generated(3_000, actors=20))
    assert any(trace.type == "scattergl" for trace in go.Figure(fig.to_dict()).data)
    counts = figures.timeline_figure(frame=_generated(20_000, actors=100), tz=BERLIN)
    assert counts.layout.meta["mode"] == "aggregated"
    assert json.loads(pio.to_json(go.Figure(counts.to_dict()))) == json.loads(pio.to_json(counts))


def test_loading_figure_has_no_traces_and_says_it_is_loading():
    fig = loading.loading_figure()
    assert not fig.data
    assert fig.layout.meta["mode"] == "loading"
    assert fig.layout.annotations[0].text == loading.LOADING_MESSAGE


def test_the_loading_figure_needs_neither_pandas_nor_pyarrow():
    """The page draws it before importing them (a third of a second in a fresh server)."""
    probe = "import sys, timeline.loading; print(sorted({'pandas', 'pyarrow'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", ["empty", "loading"])
def test_empty_and_loading_figures_pass_plotlys_validation(bundled, kind):
    fig = figures.timeline_figure(frame=bundled.iloc[:0]) if kind == "empty" else loading.loading_figure()
    assert json.loads(pio.to_json(go.Figure(fig.to_dict()))) == json.loads(pio.to_json(fig))


# --- a typed window -------------------------------------------------------------------------------------

DAY_IN_MOSCOW = (_us("2024-03-05", MOSCOW), _us("2024-03-06", MOSCOW))


def test_a_typed_day_is_the_x_range_of_single_events_cut_into_quarter_hours():
    """From/To one day over ten days of events, some known only to the month (reaching weeks past the day):
    the x axis spans exactly that day in the zone shown, the strip bins it alone; no focus buttons."""
    shown = _overlapping(_generated(300, days=10, months=3), DAY_IN_MOSCOW)
    assert shown[frames.STOP_US].max() > DAY_IN_MOSCOW[1] + 20 * DAY_US  # the coarse events stretch the data
    fig = figures.timeline_figure(frame=shown, tz=MOSCOW, window_us=DAY_IN_MOSCOW, focus_us=CROCUS_DAYS)
    assert fig.layout.meta["mode"] == "events"
    assert list(fig.layout.xaxis2.range) == ["2024-03-05T00:00:00", "2024-03-06T00:00:00"]
    assert fig.layout.meta["window"] == list(DAY_IN_MOSCOW)
    assert fig.layout.meta["bin"] == "15-minute period"
    first, last = _strip_edges(fig)
    assert first >= "2024-03-05T00:00:00" and last <= "2024-03-06T00:00:00"
    assert _strip_total(fig) == len(shown)
    assert not fig.layout.updatemenus


def test_a_typed_day_is_the_x_range_and_the_bins_of_counts():
    """The same day over 200,000 events, drawn as counts: the heatmap's bins are that day's quarter hours,
    and every event in view is counted once."""
    shown = _overlapping(_generated(200_000, days=10, months=50), DAY_IN_MOSCOW)
    fig = figures.timeline_figure(frame=shown, tz=MOSCOW, window_us=DAY_IN_MOSCOW)
    assert fig.layout.meta["mode"] == "aggregated"
    assert list(fig.layout.xaxis2.range) == ["2024-03-05T00:00:00", "2024-03-06T00:00:00"]
    heatmap = _heatmap(fig)
    assert (heatmap.x[0], heatmap.x[-1], len(heatmap.x)) == ("2024-03-05T00:00:00", "2024-03-06T00:00:00", 97)
    assert np.sum(heatmap.customdata) == len(shown) == _strip_total(fig)
    bins = _cell_bins(fig)
    assert (min(b[1] for b in bins), max(b[2] for b in bins)) == DAY_IN_MOSCOW
    assert len(pio.to_json(fig, validate=False)) <= figures.MAX_FIGURE_BYTES


def test_events_reaching_outside_the_window_are_counted_inside_it():
    """A month seen through a one-day window is counted once, at the middle of the day (its part inside);
    a meeting from 23:50 to 00:20 at the middle of its minutes after midnight; both as spread (hatched)."""
    prepared = frames.prepare(
        _events(
            {s.TIMESTAMP: "2024-02-29T21:00Z", s.TIME_PRECISION: "month"},
            {s.TIMESTAMP: "2024-03-04T23:50+03:00", s.END: "2024-03-05T00:20+03:00"},
        )
    )
    fig = figures.timeline_figure(frame=prepared, tz=MOSCOW, window_us=DAY_IN_MOSCOW, max_events=1)
    cells = sorted(cell[1:] for cell in _cell_bins(fig))
    assert cells == [
        (_us("2024-03-05T00:00", MOSCOW), _us("2024-03-05T00:15", MOSCOW), 1),
        (_us("2024-03-05T12:00", MOSCOW), _us("2024-03-05T12:15", MOSCOW), 1),
    ]
    (spread,) = [trace for trace in fig.data if trace.yaxis == "y"]
    assert "spanning more than one 15-minute period" in spread.name and "in the window" in spread.name
    assert list(spread.x) == ["2024-03-05T00:00:00", "2024-03-05T12:00:00"]


def test_a_window_on_the_relative_and_the_log_axis(bundled):
    """Since the anchor, the x range is the window in hours since it; on a log axis their log10, a start
    before the anchor floored at one minute."""
    anchor = _us("2024-03-22T17:00Z")
    window = (anchor - 2 * HOUR_US, anchor + 48 * HOUR_US)
    shown = _overlapping(bundled, window)
    relative = figures.timeline_figure(frame=shown, relative_to_us=anchor, window_us=window)
    assert list(relative.layout.xaxis2.range) == [-2.0, 48.0]
    log = figures.timeline_figure(frame=shown, relative_to_us=anchor, log=True, window_us=window)
    assert list(log.layout.xaxis2.range) == pytest.approx([math.log10(1 / 60), math.log10(48)])
    assert log.layout.meta["window"] == list(window)


def test_a_window_with_one_bound_takes_the_other_from_the_data(bundled):
    """From alone: the axis runs from it to the end of the last event in view."""
    start = _us("2024-03-22", MOSCOW)
    shown = bundled[bundled[frames.STOP_US] > start]
    fig = figures.timeline_figure(frame=shown, tz=MOSCOW, window_us=(start, None))
    assert fig.layout.meta["window"] == [start, int(shown[frames.STOP_US].max())]
    assert fig.layout.xaxis2.range[0] == "2024-03-22T00:00:00"


def test_an_empty_window_still_spans_the_window(bundled):
    """No events in the window: the empty figure's axis still shows the window typed."""
    fig = figures.timeline_figure(frame=bundled.iloc[:0], tz=MOSCOW, window_us=DAY_IN_MOSCOW)
    assert fig.layout.meta["mode"] == "empty"
    assert list(fig.layout.xaxis.range) == ["2024-03-05T00:00:00", "2024-03-06T00:00:00"]


@pytest.mark.parametrize("window", [(5, 5), (6, 5), ("2024-03-05", None), (1, 2, 3)])
def test_a_bad_window_is_named(bundled, window):
    """A window not (start, stop) in microseconds, start before stop, raises ValueError naming it."""
    with pytest.raises(ValueError, match="window_us"):
        figures.timeline_figure(frame=bundled, window_us=window)


# --- counts: colour, selection, drill-down --------------------------------------------------------------


def _counts_frame(counts: dict[str, int], at: str = "2024-03-22T17:00Z") -> pd.DataFrame:
    """Events known to the second at one moment, `counts[actor]` of them per actor: what a figure of counts
    reads (cut into seconds)."""
    actors = [actor for actor, n in counts.items() for _ in range(n)]
    start = np.full(len(actors), _us(at), dtype=np.int64)
    return pd.DataFrame(
        {
            s.EVENT_ID: [f"e{i}" for i in range(len(actors))],
            s.ACTOR: pd.Categorical(actors),
            s.ACTOR_GROUP: pd.Categorical([None] * len(actors)),
            frames.START_US: start,
            frames.STOP_US: start + 1_000_000,
        }
    )


def _cell_colour(heatmap, count: int) -> tuple[float, ...]:
    """The colour Plotly paints the cell holding `count` events: the colour scale at its z."""
    (z,) = np.asarray(heatmap.z)[np.asarray(heatmap.customdata) == count]
    where = (z - heatmap.zmin) / (heatmap.zmax - heatmap.zmin)
    return unlabel_rgb(sample_colorscale([list(stop) for stop in heatmap.colorscale], [where])[0])


def test_counts_are_coloured_on_a_log_scale():
    """Beside a cell of 20,000 events, one of 2 is clearly lighter than one of 500 and a lone event still has
    the scale's light blue; the colour bar reads 1, 10, 100 ...; hover gives the true count."""
    fig = figures.timeline_figure(frame=_counts_frame({"A": 1, "B": 2, "C": 500, "D": 20_000}), max_events=10)
    heatmap = _heatmap(fig)
    assert np.nanmax(heatmap.z) == pytest.approx(math.log10(20_000))
    assert _cell_colour(heatmap, 1) == (158, 202, 225)
    assert math.dist(_cell_colour(heatmap, 2), _cell_colour(heatmap, 500)) > 100
    assert list(heatmap.colorbar.ticktext) == ["1", "10", "100", "1,000", "10,000"]
    assert list(heatmap.colorbar.tickvals) == [0, 1, 2, 3, 4]
    assert "%{customdata:,} events" in heatmap.hovertemplate
    counts = np.asarray(heatmap.customdata)
    assert sorted(counts[counts > 0].tolist()) == [1, 2, 500, 20_000]


def test_cells_are_read_by_a_dragged_box_on_a_grid_of_bins_in_utc(bundled):
    """A figure of counts selects with a dragged box (single events keep zoom), and tells drill_down its bins:
    their edges as the x axis places them (Moscow midnights) and in UTC."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW, max_events=10)
    assert fig.layout.dragmode == "select"
    assert figures.timeline_figure(frame=bundled, tz=MOSCOW).layout.dragmode == "zoom"  # single events
    grid = fig.layout.meta["cells"]
    heatmap = _heatmap(fig)
    assert grid["utc_edges"] == [_us(x, MOSCOW) for x in heatmap.x]
    assert grid["x_edges"] == [_us(x) for x in heatmap.x]  # wall clock, read as if it were UTC
    assert grid["rest"] is False
    assert sum(cell[3] for cell in _cell_bins(fig)) == 101


def _box(fig: go.Figure, lanes: tuple[str, ...], start: str, stop: str, yref: str = "y2") -> dict:
    """A selection as the browser reports a box dragged from start to stop (wall clock) over the rows of the
    given lanes (halfway into the first and last)."""
    rows = list(fig.layout.yaxis2.categoryarray)
    at = [rows.index(lane) for lane in lanes]
    return {
        "box": [
            {
                "xref": yref.replace("y", "x"),
                "yref": yref,
                "x": [start, stop],
                "y": [min(at) - 0.2, max(at) + 0.2],
            }
        ]
    }


def test_drill_down_one_cell():
    """A small box inside one cell gives its lane as the data spells it and its bin in UTC."""
    lane = "Smith & Sons <Ltd>"
    fig = figures.timeline_figure(frame=_counts_frame({lane: 3, "B": 1}), max_events=1)
    layout = figures.drill_layout(fig)
    escaped = display.label_text(lane)
    selection = _box(fig, (escaped,), "2024-03-22 17:00:00.2", "2024-03-22 17:00:00.4")
    start = _us("2024-03-22T17:00Z")
    assert figures.drill_down(selection, layout) == figures.Drill(
        lanes=(lane,), start_us=start, stop_us=start + 1_000_000
    )


def test_drill_down_several_cells(bundled):
    """A box over several lanes and days gives those lanes, sorted, and the days it touches, in UTC; a box
    over the strip of counts gives its days for every lane; single events or a box off the cells, None."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW, max_events=10)
    layout = figures.drill_layout(fig)
    rows = list(fig.layout.yaxis2.categoryarray)
    lanes = tuple(rows[10:13])
    box = _box(fig, lanes, "2024-03-22 18:00", "2024-03-23 06:00")
    drill = figures.drill_down(box, layout)
    assert figures.drill_down(box, fig.layout.to_plotly_json()) == drill  # the part kept reads as the whole
    assert drill == figures.Drill(
        lanes=tuple(sorted(lanes)), start_us=_us("2024-03-22", MOSCOW), stop_us=_us("2024-03-24", MOSCOW)
    )
    strip = {"box": [{"xref": "x", "yref": "y", "x": ["2024-03-22 12:00", "2024-03-22 13:00"], "y": [0, 5]}]}
    assert figures.drill_down(strip, layout) == figures.Drill(
        lanes=(), start_us=_us("2024-03-22", MOSCOW), stop_us=_us("2024-03-23", MOSCOW)
    )
    events = figures.timeline_figure(frame=bundled, tz=MOSCOW)
    assert figures.drill_layout(events) is None
    assert (
        figures.drill_down(_box(fig, lanes, "2024-03-22", "2024-03-23"), events.layout.to_plotly_json())
        is None
    )
    for junk in ({}, {"box": []}, _box(fig, lanes, "1990-01-01", "1990-01-02"), {"box": [{"x": ["a", "b"]}]}):
        assert figures.drill_down(junk, layout) is None


def _hourly(window: tuple[int, int]) -> pd.DataFrame:
    """One event at half past every UTC hour in the window (which starts on an hour)."""
    start = np.arange(window[0], window[1], HOUR_US, dtype=np.int64) + HOUR_US // 2
    frame = _counts_frame({"A": len(start)})
    frame[frames.START_US], frame[frames.STOP_US] = start, start + 60_000_000
    return frame


def test_day_bins_across_berlins_spring_clock_change_start_at_local_midnight():
    """Berlin moves its clocks on 31 March 2024: that day's bin is 23 hours long in UTC, and the bins on
    either side of it still start at Berlin's midnight (never shifted by the offset of the window's start)."""
    window = (_us("2024-03-15", BERLIN), _us("2024-05-15", BERLIN))
    fig = figures.timeline_figure(frame=_hourly(window), tz=BERLIN, window_us=window, max_events=1)
    assert fig.layout.meta["bin"] == "day"
    bins = [cell[1:3] for cell in _cell_bins(fig)]
    midnights = pd.date_range("2024-03-15", "2024-05-15", freq="D", tz=BERLIN).as_unit("us").asi8.tolist()
    assert bins == list(itertools.pairwise(midnights))
    assert (_us("2024-03-31", BERLIN), _us("2024-04-01", BERLIN)) in bins
    assert _us("2024-04-01", BERLIN) - _us("2024-03-31", BERLIN) == 23 * HOUR_US


def test_hour_bins_across_berlins_clock_changes_hold_their_own_hours():
    """Hour bins in Berlin's wall clock: in spring every cell is one UTC hour (02:00 does not exist, so has no
    cell); in autumn the 02:00 that happens twice is one cell of two hours and two events."""
    spring = (_us("2024-03-30", BERLIN), _us("2024-04-02", BERLIN))
    fig = figures.timeline_figure(frame=_hourly(spring), tz=BERLIN, window_us=spring, max_events=1)
    assert fig.layout.meta["bin"] == "hour"
    cells = np.array([cell[1:] for cell in _cell_bins(fig)], dtype=np.int64)
    assert cells[:, 0].tolist() == list(range(spring[0], spring[1], HOUR_US))
    assert set((cells[:, 1] - cells[:, 0]).tolist()) == {HOUR_US} and set(cells[:, 2].tolist()) == {1}
    autumn = (_us("2024-10-26", BERLIN), _us("2024-10-29", BERLIN))
    fig = figures.timeline_figure(frame=_hourly(autumn), tz=BERLIN, window_us=autumn, max_events=1)
    cells = np.array([cell[1:] for cell in _cell_bins(fig)], dtype=np.int64)
    (twice,) = cells[cells[:, 2] == 2].tolist()
    assert twice == [_us("2024-10-27T00:00Z"), _us("2024-10-27T02:00Z"), 2]
    assert np.sum(cells[:, 2]) == len(range(autumn[0], autumn[1], HOUR_US))


# --- long lane names ------------------------------------------------------------------------------------

LONG_NAMES = [
    "FSB",
    "Military Forces of Russia (2000-)",
    "Military Forces of Russia (2000-) Air Force",
    "Military Forces of Russia (2000-) Navy",
    "Police Forces of Ukraine (2019-) National Guard of Ukraine & Co",
]


@pytest.mark.parametrize("options", [{}, {"max_events": 1}], ids=["events", "aggregated"])
def test_long_lane_names_are_short_on_the_axis_and_whole_in_hover(options):
    """Lane labels are cut to about 32 characters ending "…", one for each lane even where names share a long
    start; lanes are placed by their full names, and an event's hover names its actor in full (a browser
    shows the shortened label for %{y}, so the hover never relies on it)."""
    prepared = frames.prepare(_events(*({s.ACTOR: name, s.TITLE: name} for name in LONG_NAMES)))
    fig = figures.timeline_figure(frame=prepared, **options)
    axis = fig.layout.yaxis2
    labels = dict(zip(axis.tickvals, axis.ticktext, strict=True))
    assert labels == {
        "FSB": "FSB",
        "Military Forces of Russia (2000-)": "Military Forces of Russia (2000-)",
        "Military Forces of Russia (2000-) Air Force": "Military Forces of Russia (2000-) A…",
        "Military Forces of Russia (2000-) Navy": "Military Forces of Russia (2000-) N…",
        display.label_text(
            LONG_NAMES[-1]
        ): "Police Forces of Ukraine (2019-…",  # full names escaped, as shown
    }
    assert set(axis.categoryarray) == set(labels)
    lanes = [trace for trace in fig.data if trace.yaxis == "y2"]
    assert {y for trace in lanes for y in trace.y} == set(labels)
    events = [
        trace for trace in lanes if trace.customdata is not None and isinstance(trace.customdata[0][0], str)
    ]
    for trace in events:
        assert "%{y}" not in trace.hovertemplate and "<br>%{customdata[2]} · " in trace.hovertemplate
        assert {row[2] for row in trace.customdata} <= {display.label_text(name) for name in LONG_NAMES}


def test_group_lanes_name_the_actor_and_the_group_in_hover():
    """With a lane per group, an event's hover names its actor and, in full, its group."""
    prepared = frames.prepare(_events({s.ACTOR: "Lavrov", s.ACTOR_GROUP: "Russia " * 10}))
    (trace,) = _lane_traces(figures.timeline_figure(frame=prepared, lane="actor_group"))
    assert trace.y[0] == "Russia " * 10
    assert trace.customdata[0][2] == "Lavrov (" + "Russia " * 10 + ")"


def test_the_largest_figure_of_counts_stays_under_the_budget():
    """1,200 lanes with 80-character names busy every day stay under the budget; the 201 lanes past 999 are
    one row, which a dragged box never picks as a lane."""
    frame = _generated(300_000, actors=1_200, actor_name="{:04d} Ministry of Foreign Affairs " + "x" * 45)
    fig = figures.timeline_figure(frame=frame, tz=MOSCOW)
    assert len(pio.to_json(fig, validate=False)) <= figures.MAX_FIGURE_BYTES
    assert _heatmap(fig).y[-1] == "(201 more lanes)" and fig.layout.meta["cells"]["rest"] is True
    assert np.sum(_heatmap(fig).customdata) == 300_000
    rows = list(fig.layout.yaxis2.categoryarray)  # bottom row first: the rest
    box = {"box": [{"xref": "x2", "yref": "y2", "x": ["2024-03-05", "2024-03-06"], "y": [-0.4, 1.2]}]}
    drill = figures.drill_down(box, fig.layout.to_plotly_json())
    assert drill is not None and drill.lanes == (rows[1],)


@pytest.mark.parametrize("options", [{}, {"max_events": 1}], ids=["events", "aggregated"])
def test_the_lanes_fill_the_plot_without_blank_rows(options):
    """The lanes' axis spans exactly its lanes: no blank rows above the first or below the last (the
    selectable cells of counts padded it by ten rows on each side)."""
    prepared = frames.prepare(_events(*({s.ACTOR: f"actor {i}"} for i in range(40))))
    fig = figures.timeline_figure(frame=prepared, **options)
    assert list(fig.layout.yaxis2.range) == [-0.5, 39.5]
