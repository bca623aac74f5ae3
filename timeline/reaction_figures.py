"""Plotly figures for the reactions view: first reactions ranked on a T+ axis, and how many had reacted."""

from __future__ import annotations

import math

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
# A latency range this narrow (two minute-precision times) reads as one value.
PRECISE_SPAN_US = 2 * 60_000_000
MAX_LANES_SHOWN = 300  # the fastest lanes drawn by reactions_figure; the title counts the others
_US_PER_MINUTE = 60_000_000
_US_PER_HOUR = 60 * _US_PER_MINUTE
_LOG_TICKS = {
    1 / 60: "T+1 min",
    10 / 60: "T+10 min",
    1: "T+1 h",
    6: "T+6 h",
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


def latency_text(us: int, *, rounding: str = "nearest") -> str:
    """A latency as "T+3 h 12 min" (minutes under a day, hours from a day on); rounding: nearest/down/up."""
    us = max(int(us), 0)
    if 0 < us < _US_PER_MINUTE and rounding == "nearest":
        return f"T+{round(us / 1_000_000)} s"
    unit = _US_PER_HOUR if us >= 24 * _US_PER_HOUR else _US_PER_MINUTE
    count = {"nearest": round, "down": math.floor, "up": math.ceil}[rounding](us / unit)
    if count == 0:
        return "T+0"
    if unit == _US_PER_HOUR:
        days, hours = divmod(count, 24)
        return f"T+{days} d" + (f" {hours} h" if hours else "")
    hours, minutes = divmod(count, 60)
    if hours == 0:
        return f"T+{minutes} min"
    return f"T+{hours} h" + (f" {minutes} min" if minutes else "")


def latency_range_text(min_us: int, max_us: int) -> str:
    """ "T+2 h 49 min" when the range is narrow (two precise times), else "between T+0 and T+4 h 2 min"."""
    if max_us - min_us <= PRECISE_SPAN_US:
        return latency_text(min_us + (max_us - min_us) // 2)
    return f"between {latency_text(min_us, rounding='down')} and {latency_text(max_us, rounding='up')}"


def reactions_figure(
    *,
    reactions: pd.DataFrame,
    tz: str = "UTC",
    log: bool = False,
    anchor: r.Anchor,
    title: str | None = None,
    max_lanes: int = MAX_LANES_SHOWN,
) -> go.Figure:
    """One row per lane, fastest on top: a bar over the latencies the first reaction could have, a dot at the
    middle, coloured by event type. x is hours since the anchor's start (log=True: a log axis).
    Only the max_lanes fastest lanes are drawn; the title says how many more reacted."""
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
    mid_us = shown[r.MID_US].to_numpy(dtype=np.int64)
    low, high, mid = (_hours(values, log) for values in (low_us, high_us, mid_us))
    lanes = np.array([display.label_text(str(lane)) for lane in shown[r.LANE]], dtype=object)
    latency = [latency_range_text(a, b) for a, b in zip(low_us.tolist(), high_us.tolist(), strict=True)]
    if log:
        floor_us = round(LOG_FLOOR_HOURS * _US_PER_HOUR)
        latency = [
            text + (" (on the log axis, T+0 is drawn at T+1 min)" if a < floor_us else "")
            for text, a in zip(latency, low_us.tolist(), strict=True)
        ]
    customdata = np.column_stack(
        [
            shown[s.EVENT_ID].astype(str).to_numpy(),
            lanes,
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
                x=mid[rows],
                y=lanes[rows],
                mode="markers",
                name=label,
                legendgroup=label,
                marker={"color": color, "size": 10, "line": {"width": 1, "color": "#333333"}},
                customdata=customdata[rows],
                hovertemplate=_REACTION_HOVER,
            )
        )

    heading = display.label_text(title) if title else ""
    note = (
        "Bar: when each first reaction could have come, given how precisely both times are stated; "
        "dot: the middle of that range."
    )
    if len(shown) < len(reactions):
        note += (
            f" The {len(shown):,} fastest of {len(reactions):,} are shown; narrow the filters for the others."
        )
    heading = f"{heading}<br><sup>{note}</sup>" if heading else f"<sup>{note}</sup>"
    fig.update_layout(
        height=max(380, 150 + _LANE_PX * len(lanes)),
        margin={"t": 90 if len(lanes) > _LANES_BEFORE_TOP_TICKS else 70, "b": 60, "l": 10, "r": 10},
        barmode="overlay",
        hovermode="closest",
        hoverlabel={"align": "left"},
        legend={"title": {"text": "Event type"}, "tracegroupgap": 0},
        template="plotly_white",
        title={"text": heading, "x": 0, "xanchor": "left"},
        meta={"lanes": len(lanes), "reacted": len(reactions), "log": log, "anchor": anchor.event_id},
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
    _hours_axis(fig, float(high.max()), log, x_title)
    if len(lanes) > _LANES_BEFORE_TOP_TICKS:
        # A tall figure: the same ticks on top too, so T+ can be read without scrolling to the bottom.
        axis = fig.layout.xaxis
        fig.update_layout(
            xaxis2={
                "overlaying": "x",
                "matches": "x",
                "side": "top",
                "type": axis.type,
                "tickvals": axis.tickvals,
                "ticktext": axis.ticktext,
                "showgrid": False,
            }
        )
        fig.add_trace(
            go.Scatter(
                x=[mid[0]],
                y=[lanes[0]],
                xaxis="x2",
                mode="markers",
                marker={"opacity": 0},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    if not log:
        parts.add_anchor_line(fig, 0, None)  # the T+0 tick names it
    return fig


def reacted_curve_figure(
    *, curve: pd.DataFrame, log: bool = False, anchor: r.Anchor | None = None
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
    when = np.array([latency_text(t) for t in t_us.tolist()], dtype=object)
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
    _hours_axis(fig, float(hours.max()), log, x_title)
    return fig


def _hours(us: np.ndarray, log: bool) -> np.ndarray:
    hours = np.asarray(us, dtype=np.int64) / _US_PER_HOUR
    return np.maximum(hours, LOG_FLOOR_HOURS) if log else hours


def _hours_axis(fig: go.Figure, top: float, log: bool, title: str) -> None:
    """An x axis of hours since the anchor, its ticks written as T+ (minutes, hours, days)."""
    if log:
        top = max(top, 1.0)
        ticks = {v: t for v, t in _LOG_TICKS.items() if v <= top * 1.5}
        fig.update_xaxes(
            type="log",
            range=[math.log10(LOG_FLOOR_HOURS) - 0.15, math.log10(top) + 0.1],
            tickvals=list(ticks),
            ticktext=list(ticks.values()),
        )
    else:
        top = max(top, LOG_FLOOR_HOURS)
        step = next((h for h in _TICK_STEPS_HOURS if top / h <= _MAX_TICKS), _TICK_STEPS_HOURS[-1])
        values = np.arange(0, math.floor(top / step) + 1) * step
        fig.update_xaxes(
            type="linear",
            range=[-top * 0.02, top * 1.04],
            tickvals=values.tolist(),
            ticktext=[_tick_text(v) for v in values.tolist()],
            zeroline=False,
        )
    fig.update_xaxes(title={"text": display.label_text(title)}, showgrid=True)


def _tick_text(hours: float) -> str:
    if hours == 0:
        return "T+0"
    return latency_text(round(hours * _US_PER_HOUR))
