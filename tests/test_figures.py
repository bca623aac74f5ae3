"""The timeline figure, tested as a Plotly object: lanes, colours, honest intervals, hover, size bounds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
import pytest

from tests.canonical import canonical_events
from timeline import figures, loading, store
from timeline import frame as frames
from timeline import schema as s

BUNDLED = "crocus-city-hall-2024"
MOSCOW = "Europe/Moscow"
TWO_MB = 2_000_000

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


def _generated(n: int, *, actors: int = 200, days: int = 60, seed: int = 7) -> pd.DataFrame:
    """n events of 10 types by `actors` actors over `days` days, mostly minute precision (fixed seed)."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-03-01", tz="UTC").value // 1000
    start = np.sort(rng.integers(t0, t0 + days * 86_400_000_000, n))
    columns = {c.name: pa.nulls(n, c.type) for c in s.COLUMNS}
    columns[s.EVENT_ID] = pa.array(np.char.add("e", np.arange(n).astype(str)))
    columns[s.TIMESTAMP] = pa.array(start, s.UTC_MICROS)
    columns[s.TIME_PRECISION] = pa.array(rng.choice(np.array(s.PRECISIONS[:4]), n, p=[0.2, 0.6, 0.1, 0.1]))
    columns[s.UTC_OFFSET_MINUTES] = pa.array(np.zeros(n, np.int16))
    names = pa.array([f"actor {i:03d}" for i in range(actors)])
    columns[s.ACTOR] = names.take(pa.array(rng.integers(0, actors, n)))
    columns[s.EVENT_TYPE] = pa.array(list(s.EVENT_TYPES[:10])).take(pa.array(rng.integers(0, 10, n)))
    return frames.prepare(pa.table(columns, schema=s.ARROW_SCHEMA))


def _lane_traces(fig: go.Figure) -> list:
    return [trace for trace in fig.data if trace.yaxis == "y2" and trace.type != "heatmap"]


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
    assert row[1] == "21 Mar 2024 21:00 – 22 Mar 2024 21:00 (day stated in UTC+03:00)"
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
    fig = figures.timeline_figure(frame=hostile, anchor_id="e0", title="<i>mine</i>")
    texts = _strings(fig.to_plotly_json())
    for tag in ("<script", "<img", "<a ", "<b>odd", "<i>"):
        assert not any(tag in text for text in texts), tag
    (trace,) = _lane_traces(fig)
    assert trace.customdata[0][3] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert trace.customdata[0][2] == "&lt;img src=x onerror=alert(1)&gt;"
    assert trace.name == "&lt;b&gt;odd&lt;/b&gt;"


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
    """Too many events: a heatmap of counts per lane and bin, no per-event traces, a sentence saying so."""
    fig = figures.timeline_figure(frame=bundled, tz=MOSCOW, max_events=10)
    assert fig.layout.meta == {"mode": "aggregated", "events": 101, "bin": "day", "tz": MOSCOW, "lanes": 63}
    assert {trace.type for trace in fig.data} == {"bar", "heatmap"}
    assert all(trace.customdata is None for trace in fig.data)
    (heatmap,) = [trace for trace in fig.data if trace.type == "heatmap"]
    assert np.nansum(heatmap.z) == 101
    assert list(heatmap.y) == figures.lane_order(bundled)
    assert _strip_total(fig) == 101
    assert "101 events in view: counts per lane and day. Narrow the filters" in fig.layout.title.text


def test_million_events_stay_under_two_megabytes():
    """1,000,000 events by 200 actors over 60 days make a figure whose JSON is under 2 MB."""
    million = _generated(1_000_000)
    fig = figures.timeline_figure(frame=million, tz=MOSCOW)
    assert fig.layout.meta["mode"] == "aggregated"
    assert len(pio.to_json(fig, validate=False)) < TWO_MB
    (heatmap,) = [trace for trace in fig.data if trace.type == "heatmap"]
    assert np.nansum(heatmap.z) == 1_000_000 == _strip_total(fig)


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


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"tz": MOSCOW, "lane": "actor_group", "title": "A <b>title</b>"},
        {"focus_us": (1_711_000_000_000_000, 1_712_000_000_000_000)},
        {"relative_to_us": 1_711_130_000_000_000},
        {"relative_to_us": 1_711_130_000_000_000, "log": True},
        {"max_events": 10},
    ],
    ids=["events", "groups-titled", "focused", "relative", "log", "aggregated"],
)
def test_figures_pass_plotlys_validation(bundled, options):
    """The builders skip Plotly's validation for speed; every kind of figure they make must pass it."""
    fig = figures.timeline_figure(frame=bundled, anchor_id=bundled[s.EVENT_ID].iloc[0], **options)
    validated = go.Figure(fig.to_dict())
    assert len(validated.data) == len(fig.data)
    assert json.loads(pio.to_json(validated)) == json.loads(pio.to_json(fig))


def test_many_events_figure_passes_plotlys_validation():
    fig = figures.timeline_figure(frame=_generated(3_000, actors=20))
    assert any(trace.type == "scattergl" for trace in go.Figure(fig.to_dict()).data)


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
