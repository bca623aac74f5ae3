"""Plotly figures for the reactions view: first reactions ranked on a T+ axis, and how many had reacted."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from timeline import display, figures
from timeline import figure_parts as parts
from timeline import reactions as r
from timeline import schema as s
from timeline.dates import validate_zone

EMPTY_REACTIONS = "No reactions after the anchor match the filters."
LOG_FLOOR_HOURS = 1 / 60  # on a log axis, latencies under a minute (T+0 included) are drawn at T+1 min
MAX_LANES_SHOWN = 300  # the fastest lanes drawn by reactions_figure; the title counts the others
LANE_LABEL_CHARS = 32  # characters of a lane's name on the y axis; the hover gives it whole
# The linear axis opens on the span by which this share of the drawn lanes had certainly reacted, unless
# the whole span is at most _OPEN_WHEN_WIDER times that; a button shows the whole span.
OPEN_SHARE = 0.9
_OPEN_WHEN_WIDER = 1.5
MOST_REACTIONS = "Most reactions"  # the labels of the linear axis's two buttons
WHOLE_SPAN = "Whole span"
_US_PER_HOUR = 3_600_000_000
_LOG_TICKS = {
    1 / 60: "T+1 min",
    10 / 60: "T+10 min",
    1: "T+1 h",
    3: "T+3 h",
    6: "T+6 h",
    12: "T+12 h",
    24: "T+1 d",
    72: "T+3 d",
    168: "T+1 wk",
    336: "T+2 wk",
    720: "T+30 d",
    8760: "T+1 yr",
}
_TICK_STEPS_HOURS = (
    1 / 60,
    5 / 60,
    10 / 60,
    0.25,
    0.5,
    1,
    2,
    3,
    6,
    12,
    24,
    48,
    72,
    168,
    336,
    720,
    2160,
    8760,
)
_MAX_TICKS = 10
_LANE_PX = 26
_LANES_BEFORE_TOP_TICKS = 15
_REACTION_HOVER = (
    "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<br>%{customdata[4]} by %{customdata[5]}"
    "<br>Stated: %{customdata[6]}<br>Source: %{customdata[7]}<extra></extra>"
)


def reactions_figure(
    *,
    reactions: pd.DataFrame,
    tz: str = "UTC",
    log: bool = True,
    anchor: r.Anchor,
    title: str | None = None,
    max_lanes: int = MAX_LANES_SHOWN,
) -> go.Figure:
    """One row per lane in rank order, fastest on top: a bar over the latencies the first reaction could
    have, a dot at the moment by which it had certainly come (what ranks it), coloured by event type.

    x is hours since the anchor's start. log=True (the default) is a log axis from T+1 min, where the
    first hour and day take most of the width; log=False is linear and opens on the span by which
    OPEN_SHARE of the lanes had certainly reacted when the rest lie far beyond, with buttons
    (MOST_REACTIONS, WHOLE_SPAN) and a subtitle saying how many lie beyond. Lane names longer than
    LANE_LABEL_CHARS are cut on the y axis (still one label per lane) and given whole in the hover. Only the
    max_lanes fastest lanes are drawn; the subtitle says how many more reacted. Every bar and dot carries
    its event_id as customdata[0]; meta["event_ids"] lists the drawn ones in rank order.
    """
    validate_zone(tz)
    if not isinstance(max_lanes, int) or max_lanes < 1:
        raise ValueError(f"max_lanes must be a positive integer; got {max_lanes!r}")
    x_title = f"hours after {parts.shorten(anchor.title, parts.NAME_CHARS)} (T+)"
    if log:
        x_title += ", log scale: T+0 drawn at T+1 min"
    if len(reactions) == 0:
        fig = parts.empty_figure(EMPTY_REACTIONS, title)
        fig.update_xaxes(title={"text": display.label_text(x_title)})
        return fig

    shown = reactions.sort_values(r.RANK, kind="stable").head(max_lanes)
    low_us = shown[r.MIN_US].to_numpy(dtype=np.int64)
    high_us = shown[r.MAX_US].to_numpy(dtype=np.int64)
    low, high = _hours(low_us, log), _hours(high_us, log)
    names = shown[r.LANE].astype(str).tolist()
    lanes = np.array([display.label_text(label) for label in _lane_labels(names)], dtype=object)
    latency = [r.latency_range_text(a, b) for a, b in zip(low_us.tolist(), high_us.tolist(), strict=True)]
    event_ids = shown[s.EVENT_ID].astype(str).to_numpy(dtype=object)
    customdata = np.column_stack(
        [
            event_ids,
            display.hover_texts(pd.Series(names)),
            display.hover_texts(pd.Series(latency)),
            display.hover_texts(parts.headlines(shown), parts.HEADLINE_CHARS),
            display.hover_texts(shown[s.EVENT_TYPE]),
            display.hover_texts(shown[s.ACTOR], parts.NAME_CHARS),
            display.hover_texts(parts.stated(shown, tz)),
            display.hover_texts(parts.sources(shown), parts.NAME_CHARS),
        ]
    )

    fig = go.Figure()
    types = shown[s.EVENT_TYPE].astype(object).fillna(s.UNKNOWN_EVENT_TYPE).astype(str).to_numpy()
    for kind, color in figures.type_colors(types).items():
        rows = types == kind
        label = display.label_text(kind)
        fig.add_trace(
            go.Bar(
                orientation="h",
                base=low[rows],
                x=high[rows] - low[rows],
                y=lanes[rows],
                width=0.55,
                name=label,
                legendgroup=label,
                showlegend=False,
                opacity=0.45,
                marker={
                    "color": color,
                    "line": {"width": 1, "color": color},
                    "pattern": {"shape": "/", "solidity": 0.35},
                },
                customdata=customdata[rows],
                hovertemplate=_REACTION_HOVER,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=high[rows],
                y=lanes[rows],
                mode="markers",
                name=label,
                legendgroup=label,
                marker={"color": color, "size": 10, "line": {"width": 1, "color": "#333333"}},
                customdata=customdata[rows],
                hovertemplate=_REACTION_HOVER,
            )
        )

    whole_axis = _axis(float(high.max()), log)
    axis = whole_axis if log else _opened_axis(high)
    edge = axis["range"][1]  # on a log axis, log10 of hours: nothing lies beyond it
    beyond = 0 if log else int((high > edge).sum())
    note = (
        "Bar: when each first reaction could have come, given how precisely both times are stated; "
        "dot: by when it had certainly come, which ranks the rows."
    )
    if beyond:
        edge_text = r.latency_text(round(edge * _US_PER_HOUR), rounding="down")
        note += (
            f"<br>Opened on T+0 to {edge_text}; the dots of {beyond:,} of {len(shown):,} lanes lie beyond it:"
            f" “{WHOLE_SPAN}” shows them."
        )
    if len(shown) < len(reactions):
        note += (
            f" The {len(shown):,} fastest of {len(reactions):,} are shown; narrow the filters for the others."
        )
    heading = display.label_text(title) if title else ""
    heading = f"{heading}<br><sup>{note}</sup>" if heading else f"<sup>{note}</sup>"
    top_ticks = len(lanes) > _LANES_BEFORE_TOP_TICKS
    fig.update_layout(
        height=max(380, 150 + _LANE_PX * len(lanes)),
        margin={"t": (90 if top_ticks else 70) + (20 if beyond else 0), "b": 60, "l": 10, "r": 10},
        barmode="overlay",
        hovermode="closest",
        hoverlabel={"align": "left"},
        legend={"title": {"text": "Event type"}, "tracegroupgap": 0},
        template="plotly_white",
        title={"text": heading, "x": 0, "xanchor": "left"},
        meta={
            "lanes": len(lanes),
            "reacted": len(reactions),
            "log": log,
            "anchor": anchor.event_id,
            "event_ids": event_ids.tolist(),
            "beyond": beyond,
        },
        uirevision="reactions",
    )
    # Plotly draws the first category at the bottom: reversed, rank 1 is on top.
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=lanes[::-1].tolist(),
        range=[-0.7, len(lanes) - 0.3],
        automargin=True,
    )
    _hours_axis(fig, axis, log, x_title)
    if top_ticks:
        # A tall figure: the same ticks on top too, so T+ can be read without scrolling to the bottom.
        fig.update_layout(
            xaxis2={
                "overlaying": "x",
                "matches": "x",
                "side": "top",
                "type": fig.layout.xaxis.type,
                "tickvals": axis["tickvals"],
                "ticktext": axis["ticktext"],
                "showgrid": False,
            }
        )
        # An axis is drawn only with a trace on it: an invisible copy of the top lane's dot.
        fig.add_trace(
            go.Scatter(
                x=high[:1],
                y=lanes[:1],
                xaxis="x2",
                mode="markers",
                marker={"opacity": 0},
                showlegend=False,
                hoverinfo="skip",
                customdata=customdata[:1],
            )
        )
    if beyond:
        views = {MOST_REACTIONS: axis, WHOLE_SPAN: whole_axis}
        fig.update_layout(
            updatemenus=[
                {
                    "type": "buttons",
                    "direction": "right",
                    "active": 0,
                    "x": 1,
                    "xanchor": "right",
                    "y": 1,
                    "yanchor": "bottom",
                    "pad": {"b": 30 if top_ticks else 4},
                    "buttons": [
                        {"label": label, "method": "relayout", "args": [_relayout(shown_axis, top_ticks)]}
                        for label, shown_axis in views.items()
                    ],
                }
            ]
        )
    if not log:
        parts.add_anchor_line(fig, 0, None)  # the T+0 tick names it
    return fig


def reacted_curve_figure(
    *, curve: pd.DataFrame, log: bool = True, anchor: r.Anchor | None = None
) -> go.Figure:
    """How many lanes had certainly and possibly reacted by each moment since the anchor: two step lines with
    the uncertainty shaded between them."""
    x_title = (
        "hours after "
        + ("the anchor" if anchor is None else parts.shorten(anchor.title, parts.NAME_CHARS))
        + " (T+)"
    )
    if log:
        x_title += ", log scale: T+0 drawn at T+1 min"
    if len(curve) == 0:
        fig = parts.empty_figure(EMPTY_REACTIONS, None, height=320)
        fig.update_xaxes(title={"text": display.label_text(x_title)})
        return fig
    t_us = curve[r.T_US].to_numpy(dtype=np.int64)
    hours = _hours(t_us, log)
    when = np.array([r.latency_text(t) for t in t_us.tolist()], dtype=object)
    certain = curve[r.CERTAIN].to_numpy(dtype=np.int64)
    possible = curve[r.POSSIBLE].to_numpy(dtype=np.int64)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=hours,
            y=certain,
            mode="lines",
            line={"shape": "hv", "color": "#0072B2", "width": 2.5},
            name="certainly reacted",
            customdata=when,
            hovertemplate="%{customdata}: %{y} certainly reacted<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=hours,
            y=possible,
            mode="lines",
            line={"shape": "hv", "color": "#56B4E9", "width": 2, "dash": "dash"},
            fill="tonexty",
            fillcolor="rgba(86, 180, 233, 0.22)",
            name="possibly reacted",
            customdata=when,
            hovertemplate="%{customdata}: %{y} possibly reacted<extra></extra>",
        )
    )
    fig.update_layout(
        height=340,
        margin={"t": 60, "b": 60, "l": 10, "r": 10},
        hovermode="closest",
        template="plotly_white",
        title={
            "text": "<sup>How many had reacted: certainly (the latest their first reaction could be) "
            "and possibly (the earliest)</sup>",
            "x": 0,
            "xanchor": "left",
        },
        legend={
            "orientation": "h",
            "traceorder": "normal",
            "x": 1,
            "xanchor": "right",
            "y": 1.02,
            "yanchor": "bottom",
        },
        meta={"log": log, "lanes": int(possible.max())},
        uirevision="reacted-curve",
    )
    fig.update_yaxes(title={"text": "lanes that had reacted"}, rangemode="tozero", tickformat=",d")
    _hours_axis(fig, _axis(float(hours.max()), log), log, x_title)
    return fig


def _hours(us: np.ndarray, log: bool) -> np.ndarray:
    hours = np.asarray(us, dtype=np.int64) / _US_PER_HOUR
    return np.maximum(hours, LOG_FLOOR_HOURS) if log else hours


def _opened_axis(high: np.ndarray) -> dict:
    """A linear axis up to the certainly-by hours of the lane at OPEN_SHARE of the ranking, or up to the
    last lane when the whole span is not much wider."""
    ordered = np.sort(high)
    opened = float(ordered[math.ceil(OPEN_SHARE * len(ordered)) - 1])
    whole = float(ordered[-1])
    return _axis(whole if whole <= _OPEN_WHEN_WIDER * opened else opened, False)


def _axis(top: float, log: bool) -> dict:
    """The range, tick values and tick texts (T+ minutes, hours, days) of an x axis up to top hours."""
    if log:
        top = max(top, 1.0)
        ticks = {v: t for v, t in _LOG_TICKS.items() if v <= top * 1.5}
        return {
            "range": [math.log10(LOG_FLOOR_HOURS) - 0.15, math.log10(top) + 0.1],
            "tickvals": list(ticks),
            "ticktext": list(ticks.values()),
        }
    top = max(top, LOG_FLOOR_HOURS)
    step = next((h for h in _TICK_STEPS_HOURS if top / h <= _MAX_TICKS), _TICK_STEPS_HOURS[-1])
    values = (np.arange(0, math.floor(top / step) + 1) * step).tolist()
    return {
        "range": [-top * 0.02, top * 1.04],
        "tickvals": values,
        "ticktext": [_tick_text(v) for v in values],
    }


def _relayout(axis: dict, top_ticks: bool) -> dict:
    """What a button sets to show an axis: the range, and the ticks on the bottom (and top) axis."""
    update = {f"xaxis.{key}": value for key, value in axis.items()}
    if top_ticks:
        update.update({f"xaxis2.{key}": axis[key] for key in ("tickvals", "ticktext")})
    return update


def _hours_axis(fig: go.Figure, axis: dict, log: bool, title: str) -> None:
    """An x axis of hours since the anchor, its ticks written as T+ (minutes, hours, days)."""
    fig.update_xaxes(
        type="log" if log else "linear",
        **axis,
        zeroline=False,
        title={"text": display.label_text(title)},
        showgrid=True,
    )


def _lane_labels(names: Sequence[str], limit: int = LANE_LABEL_CHARS) -> list[str]:
    """Lane names cut to limit characters for the y axis, one label per lane: a cut keeps the head and ends
    in "…"; names whose heads agree keep their tails too ("Military Forces of Ru… Air Force"); a label still
    shared is numbered, in rank order."""
    labels = [parts.shorten(name, limit) for name in names]
    shared = {label for label, count in Counter(labels).items() if count > 1}
    labels = [
        _cut_middle(name, limit) if label in shared else label
        for name, label in zip(names, labels, strict=True)
    ]
    taken: set[str] = set()
    unique = []
    for name, label in zip(names, labels, strict=True):
        number = 1
        while label in taken:
            number += 1
            tag = f" ({number})"
            label = _cut_middle(name, limit - len(tag)) + tag
        taken.add(label)
        unique.append(label)
    return unique


def _cut_middle(text: str, limit: int) -> str:
    """text cut to limit characters by an "…" in the middle, its last third kept."""
    if len(text) <= limit:
        return text
    tail = limit // 3
    return text[: limit - tail - 1] + "…" + text[-tail:]


def _tick_text(hours: float) -> str:
    if hours == 0:
        return "T+0"
    return r.latency_text(round(hours * _US_PER_HOUR))
