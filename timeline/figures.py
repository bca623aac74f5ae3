"""Plotly figures for the timeline view."""

from __future__ import annotations

import functools
import html
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa

from timeline import display, loading, overview
from timeline import figure_parts as parts
from timeline import schema as s
from timeline.dates import MINUTE, SECOND, validate_zone
from timeline.frame import START_US, STOP_US

# Okabe–Ito first, then Paul Tol's muted scheme: distinguishable with the common colour-vision deficiencies.
EVENT_TYPE_COLORS: dict[str, str] = {
    "attack": parts.ANCHOR_COLOR,  # vermillion
    "claim": "#CC79A7",  # reddish purple
    "statement": "#0072B2",  # blue
    "condemnation": "#E69F00",  # orange
    "condolence": "#56B4E9",  # sky blue
    "warning": "#F0E442",  # yellow
    "arrest": "#000000",  # black
    "casualty_update": "#009E73",  # bluish green
    "mourning": "#882255",  # Tol wine
    "investigation": "#999933",  # Tol olive
    "meeting": "#44AA99",  # Tol teal
    "other": "#BBBBBB",  # Tol grey
}
# Paul Tol's muted scheme, for event types outside the bundled vocabulary.
_TYPE_CYCLE: tuple[str, ...] = (
    "#332288",
    "#88CCEE",
    "#117733",
    "#DDCC77",
    "#CC6677",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
)
LANES: tuple[str, ...] = (s.ACTOR, s.ACTOR_GROUP)
NO_GROUP = overview.NO_GROUP
EMPTY_MESSAGE = "No events match the filters."

MAX_EVENTS = 5000  # above this many events in view, counts per lane and time bin are drawn instead
DRILL_HINT = "Drag a box over cells (a small one for one cell) to show their events."
LANE_LABEL_CHARS = 32  # a lane's label on the y axis is cut to about this long; its hover has it all
# What a figure of counts reads: a caller with more than max_events rows need only copy these columns.
AGGREGATED_COLUMNS: tuple[str, ...] = (s.EVENT_ID, s.ACTOR, s.ACTOR_GROUP, START_US, STOP_US)
MAX_FIGURE_BYTES = 1_900_000  # the product allows 2 MB per figure; what Streamlit sends is pio.to_json
# (headline, actor and source) characters in hover text: in full, then shortened if the figure is too big.
_HOVER_TEXT_CAPS = ((120, 80), (40, 30))
_WEBGL_FROM = 2_000  # point events drawn with WebGL above this many
_LOG_FLOOR_HOURS = 1 / 60  # on a log axis, a reaction in the anchor's first minute is drawn at T+1 min
_LOG_TICKS = {
    1 / 60: "1 min",
    10 / 60: "10 min",
    1: "1 h",
    6: "6 h",
    24: "1 d",
    72: "3 d",
    168: "1 wk",
    720: "30 d",
    8760: "1 yr",
}
_STRIP_PX = 80
_MARGIN_TOP, _MARGIN_BOTTOM = 40, 60
_US_PER_MINUTE = 60_000_000
_US_PER_HOUR = 60 * _US_PER_MINUTE
# Counts per cell: one light-to-dark blue, readable with any colour vision; a single event is never white.
_COUNT_COLORS = [[0.0, "#9ECAE1"], [1.0, "#08306B"]]
_STRIP_INSIDE = "#6B6B6B"
_STRIP_SPREAD = "#BDBDBD"
_INTERVAL_OPACITY = 0.55
_PRECISE = (SECOND, MINUTE)


def type_colors(types: Iterable[str]) -> dict[str, str]:
    """A colour per event type: the fixed colours first (schema order), then the others sorted by name."""
    present = {str(t) for t in types if t is not None and not (isinstance(t, float) and math.isnan(t))}
    colors = {name: color for name, color in EVENT_TYPE_COLORS.items() if name in present}
    others = sorted(present - EVENT_TYPE_COLORS.keys())
    colors.update({name: _TYPE_CYCLE[i % len(_TYPE_CYCLE)] for i, name in enumerate(others)})
    return colors


def lane_order(frame: pd.DataFrame, *, lane: str = "actor") -> list[str]:
    """Lane names ordered by their first event (earliest first), ties by name."""
    _check_lane(lane)
    return overview.frame_lanes(frame, lane)[1]


def timeline_figure(
    *,
    frame: pd.DataFrame | None = None,
    events: ir.Table | None = None,
    count: int | None = None,
    tz: str = "UTC",
    lane: str = "actor",
    anchor_id: str | None = None,
    max_events: int = MAX_EVENTS,
    height_per_lane: int = 22,
    title: str | None = None,
    focus_us: tuple[int, int] | None = None,
    relative_to_us: int | None = None,
    log: bool = False,
    anchor_frame: pd.DataFrame | None = None,
    window_us: tuple[int | None, int | None] | None = None,
    spans: pa.Table | None = None,
) -> go.Figure:
    """Lanes of events coloured by type under a strip of counts; counts per lane when too many.

    The events in view are given either as frame (a prepared frame) or as events, an engine's expression of
    them (timeline.query.filtered; count: how many there are, when known): then single events come back
    from the engine when there are at most max_events, else the engine counts them per lane and time bin
    (timeline.overview), and only the counts come back. Both give the same figure.

    focus_us (UTC microseconds) is the window first shown, with buttons to switch to all events.
    window_us (UTC microseconds, [start, stop); a None bound is the data's edge) is the window the user typed:
    the x axis shows exactly it (layout.meta["window"] holds it), the count strip and the heatmap cut it alone
    into bins, and focus_us is ignored. An event reaching outside it is counted once, at the middle of its
    part inside it, so the counts still add up to the events in view.
    relative_to_us (the anchor's start, UTC microseconds) turns the x axis into hours since it (T+),
    logarithmic with log=True, where events wholly before the anchor cannot be placed and are left out.
    anchor_frame is where to find the anchor when the filters leave it out of the events (its line still
    shows). With more than max_events events (after the log axis's cut) frame needs only AGGREGATED_COLUMNS;
    the cells of counts are then selectable (see drill_down). spans: with events that are a whole stored
    version, where each value of the lane's column lies (timeline.store.Rollups.spans), so the engine need
    not find it.
    """
    _check_lane(lane)
    validate_zone(tz)
    if not isinstance(max_events, int) or max_events < 1:
        raise ValueError(f"max_events must be a positive integer; got {max_events!r}")
    if not isinstance(height_per_lane, int) or height_per_lane < 1:
        raise ValueError(f"height_per_lane must be a positive integer; got {height_per_lane!r}")
    if log and relative_to_us is None:
        raise ValueError("log=True needs relative_to_us: a log axis measures time since an anchor")
    if (frame is None) == (events is None):
        raise ValueError("timeline_figure needs the events in view either as frame or as events, not both")
    _check_window(window_us)
    # Bins follow the zone's wall clock; elapsed time since an anchor is taken in UTC.
    axis_tz = tz if relative_to_us is None else None
    cut_us = relative_to_us if log else None
    options = _Options(tz, lane, anchor_id, height_per_lane, title, focus_us, relative_to_us, log, window_us)
    if events is not None:
        counted = overview.EngineEvents(
            events, lane=lane, tz=axis_tz, count=count, after_us=cut_us, spans=spans
        )
        if counted.count > max_events:
            lookups = [] if anchor_frame is None else [anchor_frame]
            return _aggregated(counted, counted.before, "in view", [*lookups, counted.event], options)
        frame, before = counted.frame(), counted.before
    else:
        _check_columns(frame, lane, aggregated=True)
        before = 0
        if log:
            after = frame[STOP_US].to_numpy(dtype=np.int64) > relative_to_us
            before = int((~after).sum())
            frame = frame[after]
    # Single events need their text; counts need only AGGREGATED_COLUMNS (callers may copy only those).
    _check_columns(frame, lane, aggregated=len(frame) > max_events)
    if len(frame) == 0:
        return _empty_figure(tz, title, window_us)

    lane_rank, lane_names = overview.frame_lanes(frame, lane)
    held = overview.FrameEvents(frame[START_US], frame[STOP_US], axis_tz, lane_rank, lane_names)
    lookups = [frame] if anchor_frame is None else [anchor_frame, frame]
    if len(frame) > max_events:
        return _aggregated(held, before, "in view", lookups, options)
    basis = _basis(held, before, lookups, options)
    bins = held.binned(basis.bin, basis.extent, basis.within)
    # Hover text is what makes single events heavy: shorten it, then aggregate, to stay under the budget.
    names = [display.label_text(name) for name in lane_names]
    labels = [display.label_text(label) for label in _lane_labels(lane_names)]
    placed = basis.placed
    for headline_chars, name_chars in _HOVER_TEXT_CAPS:
        spec = _base_figure(_height(height_per_lane, len(names)), title, placed)
        _add_count_strip(spec, bins, placed)
        _add_events(spec, frame, held, lane, names, placed, (headline_chars, name_chars))
        meta = {"mode": "events", **basis.common, "bin": bins.bin.name, "lanes": len(names)}
        _finish(spec, names, labels, meta, basis.anchor, placed)
        _frame_x_axis(spec, basis.window, focus_us, placed)
        fig = spec.figure()
        if _surely_small(spec, len(frame)) or len(pio.to_json(fig, validate=False)) <= MAX_FIGURE_BYTES:
            return fig
    return _aggregated(held, before, "carry too much text to send one by one", lookups, options)


@dataclass(frozen=True)
class _Options:
    """What timeline_figure was asked to draw, besides the events."""

    tz: str
    lane: str
    anchor_id: str | None
    height_per_lane: int
    title: str | None
    focus_us: tuple[int, int] | None
    relative_to_us: int | None
    log: bool
    window_us: tuple[int | None, int | None] | None


@dataclass(frozen=True)
class _Basis:
    """What a figure of events is drawn on: where they lie, the axis, the window, the bins to start from."""

    extent: overview.Extent
    window: tuple[int, int] | None  # the typed window, UTC microseconds, both bounds resolved
    within: tuple[int, int] | None  # the window on the axis
    placed: _Placed
    bin: overview.Bin
    anchor: _AnchorPlace | None
    common: dict  # the layout's meta common to both modes


def _basis(
    source: overview.FrameEvents | overview.EngineEvents,
    before: int,
    lookups: list[pd.DataFrame | Callable[[str], pd.DataFrame]],
    options: _Options,
) -> _Basis:
    """The axis, window, first bins and anchor for the events of a source (in memory, or in an engine).
    lookups: where to look for the anchor's row, in order (frames, or functions of its id)."""
    extent = source.extent()
    window = _resolve_window(options.window_us, extent.utc_start, extent.utc_stop)
    shown_lo, shown_hi = window or (extent.utc_start, extent.utc_stop)
    tz = options.tz
    if options.relative_to_us is None:
        placed = _Placed(x_title=_zone_title(tz, shown_lo, shown_hi), tz=tz)
    else:
        note = f" ({before:,} events before the anchor cannot be shown on a log axis)" if before else ""
        placed = _Placed(f"hours since the anchor (T+){note}", options.relative_to_us, options.log, tz)
    if window is None:
        within = None
        span = extent.stop - extent.start
    else:
        lo, hi = placed.from_utc(np.array(window, dtype=np.int64)).tolist()
        within = (lo, hi)
        span = hi - lo
    anchor = None if placed.log else _anchor_place(options.anchor_id, lookups, placed)
    common = {"events": extent.events, "tz": tz, **({} if window is None else {"window": list(window)})}
    return _Basis(extent, window, within, placed, overview.choose_bin(span), anchor, common)


def _aggregated(
    source: overview.FrameEvents | overview.EngineEvents,
    before: int,
    reason: str,
    lookups: list[pd.DataFrame | Callable[[str], pd.DataFrame]],
    options: _Options,
) -> go.Figure:
    """Counts per lane and time bin, from a source in memory or in an engine."""
    basis = _basis(source, before, lookups, options)
    placed = basis.placed
    lane_names, total = source.lanes()
    rest = total > overview.MAX_LANES
    if rest:
        hidden = total - (overview.MAX_LANES - 1)
        lane_names = [*lane_names[: overview.MAX_LANES - 1], f"({hidden:,} more lanes)"]
    names = [display.label_text(name) for name in lane_names]
    labels = [display.label_text(label) for label in _lane_labels(lane_names)]
    bins = _fitting_bins(source, basis, names)
    events = basis.extent.events
    message = f"{events:,} events {reason}: counts per lane and {bins.bin.name}. {DRILL_HINT}"
    spec = _base_figure(_height(options.height_per_lane, len(names)), options.title, placed, message)
    # A dragged box selects cells (to show their events) rather than stretching them; zoom is in the mode bar.
    spec.layout["dragmode"] = "select"
    _add_count_strip(spec, bins, placed)
    _add_heatmap(spec, bins, names, placed)
    # Where the cells lie, for drill_down: heatmaps emit no selected points, so a dragged box is read by
    # where it lies. Bins are cut in the zone's wall clock: their edges go back to UTC one by one (a bin
    # holding a clock change is an hour shorter or longer), and a typed window's edges are its own instants.
    utc_edges = placed.to_utc(bins.edges)
    if basis.window is not None:
        utc_edges[[0, -1]] = basis.window
    # Bin edges as a box's x gives them: wall-clock microseconds on a clock axis, hours when relative.
    x_edges = bins.edges if placed.origin is None else placed.position(bins.edges)
    grid = {"x_edges": x_edges.tolist(), "utc_edges": utc_edges.tolist(), "rest": rest}
    meta = {"mode": "aggregated", **basis.common, "bin": bins.bin.name, "lanes": len(names), "cells": grid}
    _finish(spec, names, labels, meta, basis.anchor, placed)
    _frame_x_axis(spec, basis.window, options.focus_us, placed)
    return spec.figure()


@dataclass(frozen=True)
class Drill:
    """What a box dragged over cells of counts asks to see: their lanes and the time span covering them."""

    lanes: tuple[str, ...]  # lane names as in the data (NO_GROUP: events without a group); () for every lane
    start_us: int  # UTC microseconds, the span is [start_us, stop_us)
    stop_us: int


def drill_layout(fig: go.Figure) -> dict | None:
    """What drill_down reads of a figure's layout: its grid of cells and its lower axes (None for a figure
    of single events). Smaller and faster to keep between reruns than the whole `to_plotly_json()`."""
    meta = fig.layout.meta
    if not meta or meta.get("mode") != "aggregated":
        return None
    return {
        "meta": {"cells": meta.get("cells")},
        "xaxis2": {"type": fig.layout.xaxis2.type},
        "yaxis2": {"categoryarray": list(fig.layout.yaxis2.categoryarray or ())},
    }


def drill_down(selection: Mapping, layout: Mapping) -> Drill | None:
    """The lanes and time span of the cells under the boxes of a selection (Streamlit's: {"box": [{"xref",
    "yref", "x": [x0, x1], "y": [y0, y1]}, …]}) dragged over a figure of counts, given that figure's
    drill_layout (or its whole `fig.layout.to_plotly_json()`). A box over the lanes gives the lanes and bins
    it touches; one over the strip of counts, the bins, for every lane. None for a figure of single events,
    or no cell touched."""
    grid = (layout.get("meta") or {}).get("cells")
    if not grid:
        return None
    clock = layout.get("xaxis2", {}).get("type") == "date"
    places = np.asarray(grid["x_edges"], dtype=np.float64)
    rows = list(layout.get("yaxis2", {}).get("categoryarray", []))  # bottom row first
    if grid["rest"] and rows:
        rows[0] = None  # the row of the lanes not drawn one by one names no lane
    lanes: set[str] = set()
    touched = np.zeros(len(places) - 1, dtype=bool)
    for box in selection.get("box") or []:
        xs = [_x_value(x, clock) for x in box.get("x", [])]
        if len(xs) != 2 or None in xs:
            continue
        low, high = min(xs), max(xs)
        in_box = (places[1:] > low) & (places[:-1] < high)
        if box.get("yref") == "y2":
            ys = sorted(float(y) for y in box.get("y", []) if isinstance(y, int | float))
            if len(ys) != 2:
                continue
            picked = [
                row
                for at, row in enumerate(rows)
                if row is not None and at + 0.5 > ys[0] and at - 0.5 < ys[1]
            ]
            if not picked or not in_box.any():
                continue
            lanes.update(html.unescape(row) for row in picked)  # the figure holds names escaped, as shown
        elif not in_box.any():
            continue
        touched |= in_box
    if not touched.any():
        return None
    utc = grid["utc_edges"]
    first, last = int(np.argmax(touched)), len(touched) - 1 - int(np.argmax(touched[::-1]))
    return Drill(lanes=tuple(sorted(lanes)), start_us=int(utc[first]), stop_us=int(utc[last + 1]))


def _x_value(x: object, clock: bool) -> float | None:
    """A box's x as the grid places it: a date axis gives wall-clock text, a relative one hours."""
    if clock:
        try:
            return float(np.datetime64(str(x).replace(" ", "T"), "us").astype(np.int64))
        except ValueError:
            return None
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def _check_window(window_us: tuple[int | None, int | None] | None) -> None:
    if window_us is None:
        return
    bounds_ok = isinstance(window_us, tuple | list) and len(window_us) == 2
    if not bounds_ok or not all(b is None or isinstance(b, int | np.integer) for b in window_us):
        raise ValueError(
            f"window_us must be (start, stop) in UTC microseconds, each an int or None; got {window_us!r}"
        )
    if None not in window_us and window_us[0] >= window_us[1]:
        raise ValueError(f"window_us must start before it stops; got {window_us!r}")


def _resolve_window(
    window_us: tuple[int | None, int | None] | None, earliest_us: int, latest_us: int
) -> tuple[int, int] | None:
    """The window typed, a missing bound taken from the data (its earliest start, latest stop); None when
    nothing was typed."""
    if window_us is None or all(bound is None for bound in window_us):
        return None
    lo = earliest_us if window_us[0] is None else int(window_us[0])
    hi = latest_us if window_us[1] is None else int(window_us[1])
    if lo >= hi:
        raise ValueError(f"window_us {window_us!r} holds none of the events: they all lie beyond its bound")
    return lo, hi


def _frame_x_axis(
    spec: _Spec, window: tuple[int, int] | None, focus_us: tuple[int, int] | None, placed: _Placed
) -> None:
    """The x axis spans the typed window exactly; with none typed, it opens on the focus window."""
    if window is None:
        _focus(spec, focus_us, placed)
        return
    lo, hi = placed.axis_range(window)
    spec.layout["xaxis2"]["range"] = [lo, hi]
    spec.layout["uirevision"] = f"timeline window {lo} {hi}"  # a new window resets a zoom kept from the last


def _focus(spec: _Spec, focus_us: tuple[int, int] | None, placed: _Placed) -> None:
    """Open on the focus window, with buttons to move between it and the whole time span."""
    if focus_us is None:
        return
    lo, hi = placed.axis_range(focus_us)
    spec.layout["xaxis2"]["range"] = [lo, hi]
    spec.layout.update(
        uirevision=f"timeline {lo} {hi}",
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 1,
                "xanchor": "right",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"b": 4},
                "showactive": True,
                "buttons": [
                    {
                        "label": "Around the anchor",
                        "method": "relayout",
                        "args": [{"xaxis2.range": [lo, hi]}],
                    },
                    {"label": "All events", "method": "relayout", "args": [{"xaxis2.autorange": True}]},
                ],
            }
        ],
    )


@dataclass(frozen=True)
class _Placed:
    """Where events go on the x axis, and the axis title.

    Clock time: wall-clock microseconds in the zone shown (tz), drawn as dates. Relative time (origin set):
    UTC microseconds, drawn as hours since the origin, on a log axis when log is set.
    """

    x_title: str
    origin: int | None = None
    log: bool = False
    tz: str = "UTC"

    @property
    def axis_type(self) -> str:
        return "date" if self.origin is None else "log" if self.log else "linear"

    def from_utc(self, utc_us: np.ndarray) -> np.ndarray:
        """UTC microseconds as this axis places them: wall clock in the zone, or UTC itself when relative."""
        utc_us = np.asarray(utc_us, dtype=np.int64)
        return utc_us if self.origin is not None else display.local_micros(utc_us, self.tz)

    def to_utc(self, local_us: np.ndarray) -> np.ndarray:
        """The inverse of from_utc for bin edges: a wall time the clock skipped (spring forward) is the
        instant the clock jumped to, one it passed twice (autumn) its first passage, so that a wall-clock
        bin holds exactly the instants from_utc puts in it."""
        local_us = np.asarray(local_us, dtype=np.int64)
        if self.origin is not None:
            return local_us
        wall = pd.DatetimeIndex(local_us.astype("M8[us]"))
        utc = wall.tz_localize(self.tz, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="shift_forward")
        return utc.tz_convert("UTC").tz_localize(None).as_unit("us").asi8

    def position(self, local_us: np.ndarray) -> np.ndarray:
        """What Plotly is given as x: ISO text on a date axis, hours since the origin otherwise."""
        if self.origin is None:
            return parts.date_text(local_us)
        hours = (np.asarray(local_us, dtype=np.int64) - self.origin) / _US_PER_HOUR
        return np.maximum(hours, _LOG_FLOOR_HOURS) if self.log else hours

    def axis_range(self, utc_us: tuple[int, int]) -> list:
        """The x axis range showing [start, stop) in UTC microseconds (a log axis takes log10 of hours)."""
        ends = self.position(self.from_utc(np.array(utc_us, dtype=np.int64)))
        return np.log10(ends).tolist() if self.log else ends.tolist()

    def bin_hover(self, chosen: overview.Bin, word: str) -> str:
        """Hover text naming the bin at x: its date, or its hours since the origin."""
        return chosen.hover(word) if self.origin is None else f"{chosen.name} {word} T+%{{x:,.1f}} h"

    def length(self, start_us: np.ndarray, stop_us: np.ndarray) -> np.ndarray:
        """Bar lengths from start to stop: milliseconds on a date axis, hours otherwise."""
        if self.origin is None:
            return (np.asarray(stop_us) - np.asarray(start_us)) / 1000
        return np.maximum(self.position(stop_us) - self.position(start_us), 0)


def _height(height_per_lane: int, lanes: int) -> int:
    return max(450, 120 + height_per_lane * lanes)


def _finish(
    spec: _Spec,
    names: list[str],
    labels: list[str],
    meta: dict,
    anchor: _AnchorPlace | None,
    placed: _Placed,
) -> None:
    """Meta, the lanes' order and labels, the anchor. Lanes are placed by full name (what hover shows as y)
    and labelled by shortened name: a long name would squeeze the plot."""
    spec.layout["meta"] = meta
    # Plotly draws the first category at the bottom: reversed, the earliest lane is on top.
    # The range is exactly the lanes: markers (the cells' selectable ones above all) would pad it.
    spec.layout["yaxis2"].update(
        categoryorder="array",
        categoryarray=names[::-1],
        tickmode="array",
        tickvals=names,
        ticktext=labels,
        range=[-0.5, len(names) - 0.5],
    )
    spec.text_bytes += 2 * len(json.dumps(names)) + len(json.dumps(labels))
    if anchor is not None:
        _add_anchor(spec, anchor, placed)


def _lane_labels(names: list[str]) -> list[str]:
    """Lane names cut to about LANE_LABEL_CHARS characters, ending "…". A label keeps one character more than
    the name shares with any other, so no two lanes look alike (the longest shared start is with a neighbour
    in sorted order)."""
    shared = [0] * len(names)
    order = sorted(range(len(names)), key=names.__getitem__)
    for a, b in itertools.pairwise(order):
        pairs = zip(names[a], names[b], strict=False)
        common = next((i for i, (x, y) in enumerate(pairs) if x != y), min(len(names[a]), len(names[b])))
        shared[a], shared[b] = max(shared[a], common), max(shared[b], common)
    labels = []
    for name, common in zip(names, shared, strict=True):
        keep = max(LANE_LABEL_CHARS - 1, common + 1)
        labels.append(name if len(name) <= max(keep, LANE_LABEL_CHARS) else name[:keep] + "…")
    return labels


def _check_lane(lane: str) -> None:
    if lane not in LANES:
        raise ValueError(f"lane must be one of {', '.join(repr(v) for v in LANES)}; got {lane!r}")


def _check_columns(frame: pd.DataFrame, lane: str, *, aggregated: bool) -> None:
    needed = (
        AGGREGATED_COLUMNS
        if aggregated
        else (
            s.EVENT_ID,
            s.TIME_PRECISION,
            s.UTC_OFFSET_MINUTES,
            s.END,
            s.ACTOR,
            lane,
            s.EVENT_TYPE,
            s.TITLE,
            s.DESCRIPTION,
            s.SOURCE_NAME,
            START_US,
            STOP_US,
        )
    )
    missing = [name for name in dict.fromkeys(needed) if name not in frame.columns]
    if missing:
        raise ValueError(
            f"frame must be a prepared frame (timeline.frame.prepare); it lacks {', '.join(missing)}"
        )


def _fitting_bins(
    source: overview.FrameEvents | overview.EngineEvents, basis: _Basis, names: list[str]
) -> overview.Binned:
    """The finest bins, from those chosen for the span on, whose figure of counts fits MAX_FIGURE_BYTES, with
    their counts per lane and bin. Many lanes with long names get fewer, longer bins."""
    name_bytes = sum(len(json.dumps(name)) for name in names)
    chosen: overview.Bin | None = basis.bin
    while True:
        bins = source.binned(chosen, basis.extent, basis.within, len(names))
        chosen = overview.coarser(bins.bin)
        if chosen is None or _aggregated_bytes(bins.cells, name_bytes) <= MAX_FIGURE_BYTES:
            return bins


def _aggregated_bytes(counts: np.ndarray, name_bytes: int) -> int:
    """An upper bound of the JSON of a figure of counts: the lane names in the layout (categories, tick
    values and labels), the heatmap's count and colour per cell (typed arrays, base64), the strip's bars
    and the bin edges, and 60 kB for the template and the rest."""
    lanes, bins = counts.shape
    return 3 * name_bytes + lanes * bins * 8 * 4 // 3 + bins * 250 + 60_000


def _zone_title(tz: str, lo_us: int, hi_us: int) -> str:
    """The x-axis title: the zone and every offset it has in the span shown."""
    samples = np.linspace(lo_us, hi_us, num=overview.MAX_BINS).astype(np.int64)
    offsets = np.unique((display.local_micros(samples, tz) - samples) // _US_PER_MINUTE)
    if len(offsets) == 1:
        return "Time in " + display.zone_label(tz, pd.Timestamp(lo_us, unit="us", tz="UTC"))
    named = " and ".join(display.offset_label(int(m)) for m in offsets)
    return f"Time in {tz} ({named}: the offset changes in this span)"


@dataclass
class _Spec:
    """A timeline figure being built: its traces and layout as plain dicts, made a go.Figure once."""

    layout: dict
    traces: list[dict] = field(default_factory=list)
    text_bytes: int = 0  # JSON of its per-event text, to skip measuring the JSON of figures far below budget

    def figure(self) -> go.Figure:
        # Plotly validates every property it is given, which costs tens of milliseconds per rerun for a
        # timeline; what these builders make is validated once per kind of figure in tests/test_figures.py.
        return go.Figure(data=self.traces, layout=self.layout, _validate=False)


@functools.cache
def _template() -> dict:
    """Plotly's plotly_white template as plain data: an unvalidated figure does not resolve template names."""
    return pio.templates["plotly_white"].to_plotly_json()


def _surely_small(spec: _Spec, events: int) -> bool:
    """Whether the figure's JSON is bound to fit the budget: its per-event text (hover text, lane names) as
    JSON with every non-ASCII character escaped (the longest Plotly's encoders write it), 200 bytes per
    event for its numbers and keys, 50 kB for the layout."""
    return spec.text_bytes + 200 * events + 50_000 <= MAX_FIGURE_BYTES


def _base_figure(height: int, title: str | None, placed: _Placed, message: str | None = None) -> _Spec:
    """Two rows sharing a date x axis: the count strip on top, the lanes below."""
    heading = display.label_text(title) if title else ""
    if message:
        heading = (
            f"{heading}<br><sup>{display.label_text(message)}</sup>"
            if heading
            else display.label_text(message)
        )
    top = _MARGIN_TOP + (40 if heading else 0)
    plot_px = max(height - top - _MARGIN_BOTTOM, 2 * _STRIP_PX)
    strip = min(0.3, _STRIP_PX / plot_px)
    usable = 1 - 12 / plot_px  # 12 px between the strip and the lanes
    x_title = {"text": display.label_text(placed.x_title)}
    axis: dict = {"type": placed.axis_type}
    if placed.log:
        axis.update(tickvals=list(_LOG_TICKS), ticktext=[f"T+{t}" for t in _LOG_TICKS.values()])
    elif placed.origin is not None:
        axis.update(zeroline=True, zerolinecolor=parts.ANCHOR_COLOR, ticksuffix=" h")
    layout = {
        "height": height,
        "margin": {"t": top, "b": _MARGIN_BOTTOM, "l": 10, "r": 10},
        "barmode": "overlay",
        "dragmode": "zoom",
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "legend": {"title": {"text": "Event type"}, "tracegroupgap": 0},
        "uirevision": "timeline",
        "template": _template(),
        "title": {"text": heading, "x": 0, "xanchor": "left"} if heading else None,
        # The strip (x, y) on top shares the lanes' (x2, y2) time axis.
        "xaxis": {**axis, "anchor": "y", "domain": [0.0, 1.0], "matches": "x2", "showticklabels": False},
        "yaxis": {
            "anchor": "x",
            "domain": [1 - strip * usable, 1.0],
            "title": {"text": "events"},
            "rangemode": "tozero",
            "fixedrange": True,
        },
        "xaxis2": {**axis, "anchor": "y2", "domain": [0.0, 1.0], "title": x_title},
        "yaxis2": {
            "anchor": "x2",
            "domain": [0.0, (1 - strip) * usable],
            "type": "category",
            "automargin": True,
        },
    }
    return _Spec(layout)


def _empty_figure(tz: str, title: str | None, window_us: tuple[int | None, int | None] | None) -> go.Figure:
    """No events: the zone still named, a typed window still spanned, and a sentence instead of empty axes."""
    window = None if window_us is None or None in window_us else (int(window_us[0]), int(window_us[1]))
    layout = {
        "height": 450,
        "template": _template(),
        "title": {"text": display.label_text(title), "x": 0, "xanchor": "left"} if title else None,
        "meta": {
            "mode": "empty",
            "events": 0,
            "lanes": 0,
            "tz": tz,
            **({"window": list(window)} if window else {}),
        },
        "showlegend": False,
        "uirevision": "timeline",
        "annotations": [loading.centred_message(EMPTY_MESSAGE)],
        "xaxis": {
            "type": "date",
            "title": {"text": display.label_text("Time in " + display.zone_label(tz))},
            "showgrid": False,
            **(
                {"range": parts.date_text(display.local_micros(np.array(window), tz)).tolist()}
                if window
                else {}
            ),
        },
        "yaxis": {"visible": False},
    }
    return _Spec(layout).figure()


def _add_count_strip(spec: _Spec, bins: overview.Binned, placed: _Placed) -> None:
    """Bars of events per bin; events whose interval crosses a bin edge are stacked on top, hatched."""
    inside, spread = bins.inside, bins.spread
    top = max(int((inside + spread).max()), 1)
    step = next(k * 10**e for e in range(12) for k in (1, 2, 5) if k * 10**e * 3 >= top)
    spec.layout["yaxis"].update(tick0=0, dtick=step, tickformat=",d")  # whole events, about 3 ticks
    widths = placed.length(bins.edges[:-1], bins.edges[1:])
    starts = placed.position(bins.edges[:-1])
    name = bins.bin.name
    where = "the middle of their part in the window" if bins.windowed else "their middle"
    for counts, base, label, color, pattern in (
        (inside, None, f"events within one {name}", _STRIP_INSIDE, ""),
        (
            spread,
            inside,
            f"events spanning more than one {name} (counted at {where})",
            _STRIP_SPREAD,
            "/",
        ),
    ):
        keep = counts > 0
        if not keep.any():
            continue
        spec.traces.append(
            {
                "type": "bar",
                "xaxis": "x",
                "yaxis": "y",
                "x": starts[keep],
                "y": counts[keep],
                "base": None if base is None else base[keep],
                "width": widths[keep],
                "offset": 0,
                "name": label,
                "marker": {"color": color, "line": {"width": 0}, "pattern": {"shape": pattern}},
                "showlegend": False,
                "hovertemplate": (
                    f"{placed.bin_hover(bins.bin, 'from')}<br>%{{y:,}} "
                    f"{display.label_text(label)}<extra></extra>"
                ),
            }
        )


def _add_heatmap(spec: _Spec, bins: overview.Binned, names: list[str], placed: _Placed) -> None:
    """Counts per lane (rows) and bin on a logarithmic colour scale, so a cell of 2 events does not look like
    one of 1; empty cells stay blank. The hover gives the true count."""
    counts = bins.cells
    top = int(counts.max())
    filled = counts > 0
    z = np.full(counts.shape, np.nan, dtype=np.float32)
    z[filled] = np.log10(counts[filled])
    # Colour bar ticks at powers of ten (1, 10, 100, 1,000 ...), and at 2 and 5 too when there are few.
    steps = (1, 2, 5) if top < 100 else (1,)
    ticks = [k * 10**e for e in range(len(str(top))) for k in steps if k * 10**e <= top]
    lanes_share = spec.layout["yaxis2"]["domain"][1]
    spec.traces.append(
        {
            "type": "heatmap",
            "xaxis": "x2",
            "yaxis": "y2",
            "z": z,
            "x": placed.position(bins.edges),
            "y": names,
            "colorscale": _COUNT_COLORS,
            "zmin": 0,
            "zmax": max(math.log10(top), math.log10(2)),  # a lone event still gets the scale's light end
            "colorbar": {
                "title": {"text": "events"},
                "len": lanes_share,
                "y": 0,
                "yanchor": "bottom",
                "tickmode": "array",
                "tickvals": np.log10(ticks).tolist(),
                "ticktext": [f"{tick:,}" for tick in ticks],
            },
            "customdata": counts.astype(np.uint16 if top < 2**16 else np.uint32),
            "hovertemplate": _cell_hover(placed, bins.bin, "customdata"),
            "hoverongaps": False,
        }
    )
    spec.layout["showlegend"] = False


def _cell_hover(placed: _Placed, chosen: overview.Bin, count: str) -> str:
    """A cell's hover: its lane's full name, its bin (Plotly gives a cell's middle as its x), its count."""
    return f"%{{y}}<br>{placed.bin_hover(chosen, 'around')}<br>%{{{count}:,}} events<extra></extra>"


def _add_events(
    spec: _Spec,
    frame: pd.DataFrame,
    held: overview.FrameEvents,
    lane: str,
    names: list[str],
    placed: _Placed,
    caps: tuple[int, int],
) -> None:
    """Point events as markers, intervals (coarse times or durations) as bars: one pair of traces per type."""
    headline_chars, name_chars = caps
    # Who, named in full (cut only to fit the figure): the hover shows the axis's shortened label as %{y}.
    hover = (
        "<b>%{customdata[3]}</b><br>%{customdata[1]}<br>%{customdata[2]} · %{fullData.name}"
        "<br>Source: %{customdata[4]}<extra></extra>"
    )
    who = frame[s.ACTOR].astype(object).fillna(s.UNKNOWN_ACTOR)
    if lane != s.ACTOR:
        who = who.astype(str) + " (" + frame[lane].astype(object).fillna(NO_GROUP).astype(str) + ")"
    precision = pd.Categorical(frame[s.TIME_PRECISION].astype(object), categories=s.PRECISIONS).codes
    has_end = frame[s.END].notna().to_numpy()
    point = np.isin(precision, _PRECISE) & ~has_end
    source = frame[s.SOURCE_NAME].astype(object)
    if s.SOURCE_URL in frame.columns:
        source = source.fillna(frame[s.SOURCE_URL].astype(object))
    customdata = np.column_stack(
        [
            frame[s.EVENT_ID].astype(object).to_numpy(),
            display.hover_texts(display.stated_times(frame, placed.tz)),
            display.hover_texts(who, name_chars),
            display.hover_texts(parts.headlines(frame), headline_chars),
            display.hover_texts(source.fillna("not stated"), name_chars),
        ]
    )
    lanes = np.array(names, dtype=object)[held.lane_rank]
    starts = placed.position(held.local_start)
    durations = placed.length(held.local_start, held.local_stop)
    types = frame[s.EVENT_TYPE].astype(object).fillna(s.UNKNOWN_EVENT_TYPE).astype(str).to_numpy()
    dtype = frame[s.EVENT_TYPE].dtype
    # Colours come from every type of the dataset (categories survive filtering), so they do not shift.
    categories = list(dtype.categories) if isinstance(dtype, pd.CategoricalDtype) else []
    colors = type_colors([*categories, *np.unique(types)])
    # WebGL pays off for many markers; below that, SVG draws faster, above all without a GPU (measured
    # in headless Chromium: a tall WebGL canvas of ~1,000 markers took seconds in software rendering).
    marker_trace = "scattergl" if int(point.sum()) > _WEBGL_FROM else "scatter"
    spec.text_bytes += len(json.dumps(customdata.tolist())) + len(json.dumps(lanes.tolist()))
    for kind, color in colors.items():
        of_type = types == kind
        if not of_type.any():
            continue
        label = display.label_text(kind)
        markers = of_type & point
        bars = of_type & ~point
        if markers.any():
            spec.traces.append(
                {
                    "type": marker_trace,
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "x": starts[markers],
                    "y": lanes[markers],
                    "mode": "markers",
                    "name": label,
                    "legendgroup": label,
                    "marker": {"color": color, "size": 9, "line": {"width": 0.6, "color": "#333333"}},
                    "customdata": customdata[markers],
                    "hovertemplate": hover,
                }
            )
        if bars.any():
            spec.traces.append(
                {
                    "type": "bar",
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "orientation": "h",
                    "base": starts[bars],
                    "x": durations[bars],
                    "y": lanes[bars],
                    "width": 0.6,
                    "name": label,
                    "legendgroup": label,
                    "showlegend": not markers.any(),
                    "opacity": _INTERVAL_OPACITY,
                    "marker": {
                        "color": color,
                        "line": {"width": 1, "color": color},
                        # Hatched: the time is only known to lie somewhere in this interval.
                        "pattern": {"shape": np.where(has_end[bars], "", "/").tolist(), "solidity": 0.4},
                    },
                    "customdata": customdata[bars],
                    "hovertemplate": hover,
                }
            )


@dataclass(frozen=True)
class _AnchorPlace:
    """The anchor event and where its interval lies on the x axis (wall clock, or UTC when relative)."""

    row: pd.Series
    start: int
    stop: int


def _anchor_place(
    anchor_id: str | None, lookups: list[pd.DataFrame | Callable[[str], pd.DataFrame]], placed: _Placed
) -> _AnchorPlace | None:
    """The anchor's place, from the first of lookups holding its row (a frame, or a function giving the
    frame of an id's rows: asked only when the frames before it lack the row)."""
    if anchor_id is None:
        return None
    for lookup in lookups:
        frame = lookup(anchor_id) if callable(lookup) else lookup
        where = np.flatnonzero((frame[s.EVENT_ID] == anchor_id).to_numpy())
        if len(where):
            row = frame.iloc[where[0]]
            bounds = np.array([row[START_US], max(row[STOP_US], row[START_US])], dtype=np.int64)
            start, stop = placed.from_utc(bounds)
            return _AnchorPlace(row, int(start), int(stop))
    return None


def _add_anchor(spec: _Spec, anchor: _AnchorPlace, placed: _Placed) -> None:
    """A vertical line through both rows at the anchor's start; its interval shaded when it is coarse."""
    if placed.log:
        return  # the whole axis is time since the anchor, and T+0 lies outside a log axis
    row = anchor.row
    start, stop = placed.position(np.array([anchor.start, anchor.stop], dtype=np.int64))
    title = str(row[s.TITLE]) if pd.notna(row[s.TITLE]) else ""
    name = parts.shorten(title if title.strip() else str(row[s.EVENT_TYPE]), 80)
    shapes = spec.layout.setdefault("shapes", [])
    if str(row[s.TIME_PRECISION]) not in (s.PRECISIONS[SECOND], s.PRECISIONS[MINUTE]) or pd.notna(row[s.END]):
        shapes.append(
            {
                "type": "rect",
                "xref": "x2",
                "yref": "paper",
                "x0": start,
                "x1": stop,
                "y0": 0,
                "y1": 1,
                "fillcolor": parts.ANCHOR_COLOR,
                "opacity": 0.08,
                "line": {"width": 0},
                "layer": "below",
                "name": "anchor interval",
            }
        )
    shapes.append(
        {
            "type": "line",
            "xref": "x2",
            "yref": "paper",
            "x0": start,
            "x1": start,
            "y0": 0,
            "y1": 1,
            "line": {"color": parts.ANCHOR_COLOR, "width": 1.5, "dash": "dash"},
            "name": "anchor",
        }
    )
    spec.layout.setdefault("annotations", []).append(
        {
            "text": "anchor: " + display.label_text(name),
            "xref": "x2",
            "yref": "paper",
            "x": start,
            "y": 1,
            "xanchor": "left",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"color": parts.ANCHOR_COLOR},
        }
    )
