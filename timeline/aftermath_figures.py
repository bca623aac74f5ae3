"""Plotly figures for the reactions and casualties views, and the standalone HTML page of a figure."""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from timeline import casualties, display, figures
from timeline import reactions as r
from timeline import schema as s
from timeline.dates import MINUTE, SECOND, validate_zone
from timeline.frame import START_US, STOP_US

EMPTY_REACTIONS = "No reactions after the anchor match the filters."
EMPTY_TOLL = "No event in view reports casualties."
LOG_FLOOR_HOURS = 1 / 60  # on a log axis, latencies under a minute (T+0 included) are drawn at T+1 min
# A latency range this narrow (two minute-precision times) reads as one value.
PRECISE_SPAN_US = 2 * 60_000_000
MAX_LANES_SHOWN = 300  # the fastest lanes drawn by reactions_figure; the title counts the others
MAX_REPORTS_SHOWN = 2000  # reports of one measure drawn one by one by toll_figure before it thins them
MEASURE_STYLES: dict[str, dict[str, str]] = {
    s.FATALITIES: {"color": "#882255", "dash": "solid", "noun": "killed", "axis": "deaths reported"},
    s.INJURED: {"color": "#0072B2", "dash": "dash", "noun": "injured", "axis": "injured reported"},
}
_ANCHOR_COLOR = "#D55E00"
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
_HEADLINE_CHARS = 120
_NAME_CHARS = 80
_LANE_PX = 26
_LANES_BEFORE_TOP_TICKS = 15
_PRECISE = (s.PRECISIONS[SECOND], s.PRECISIONS[MINUTE])
_REACTION_HOVER = (
    "<b>%{customdata[1]}</b><br>%{customdata[2]}<br>%{customdata[3]}<br>%{customdata[4]} by %{customdata[5]}"
    "<br>Stated: %{customdata[6]}<br>Source: %{customdata[7]}<extra></extra>"
)
_TOLL_HOVER = (
    "<b>%{customdata[1]}</b><br>Reported by %{customdata[2]}<br>Stated: %{customdata[3]}"
    "<br>%{customdata[4]}<br>Source: %{customdata[5]}<extra></extra>"
)
# Map-only addresses inside plotly.js (topojson for geo traces, icons for map traces): these figures draw
# no maps, so the standalone page points them nowhere and never reaches a CDN.
_CDN_ADDRESS = re.compile(r"https://cdn[\w.\-/@]*")


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
    x_title = f"hours after {_shorten(anchor.title, _NAME_CHARS)} (T+)"
    if log:
        x_title += ", log scale: T+0 drawn at T+1 min"
    if len(reactions) == 0:
        fig = _empty(EMPTY_REACTIONS, title)
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
            display.hover_texts(_headlines(shown), _HEADLINE_CHARS),
            display.hover_texts(shown[s.EVENT_TYPE]),
            display.hover_texts(shown[s.ACTOR], _NAME_CHARS),
            display.hover_texts(_stated(shown, tz)),
            display.hover_texts(_sources(shown), _NAME_CHARS),
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
        _add_anchor_line(fig, 0, None)  # the T+0 tick names it
    return fig


def reacted_curve_figure(
    *, curve: pd.DataFrame, log: bool = False, anchor: r.Anchor | None = None
) -> go.Figure:
    """How many lanes had certainly and possibly reacted by each moment since the anchor: two step lines with
    the uncertainty shaded between them."""
    x_title = (
        "hours after " + ("the anchor" if anchor is None else _shorten(anchor.title, _NAME_CHARS)) + " (T+)"
    )
    if log:
        x_title += ", log scale: T+0 drawn at T+1 min"
    if len(curve) == 0:
        fig = _empty(EMPTY_REACTIONS, None, height=320)
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


def toll_figure(
    *,
    reports: pd.DataFrame,
    tz: str = "UTC",
    anchor: r.Anchor | None = None,
    max_reports: int = MAX_REPORTS_SHOWN,
) -> go.Figure:
    """Every reported figure as a marker at the time it was reported (in tz), one row per measure, under a
    step line of the highest figure reported so far; reports with a coarse time carry their interval.

    Above max_reports reports of a measure, only the highest and lowest report of each period and every
    report that raised the highest figure are drawn (the step line uses them all); the figure says so.
    """
    validate_zone(tz)
    if not isinstance(max_reports, int) or max_reports < 2:
        raise ValueError(f"max_reports must be an integer of at least 2; got {max_reports!r}")
    if len(reports) == 0:
        fig = _empty(EMPTY_TOLL, None)
        fig.update_xaxes(type="date", title={"text": display.label_text("Time in " + display.zone_label(tz))})
        return fig
    measures = [m for m in casualties.MEASURES if (reports[casualties.MEASURE] == m).any()]
    fig = make_subplots(rows=len(measures), cols=1, shared_xaxes=True, vertical_spacing=0.08)
    notes = [
        "Filled dot: a report with a time to the minute. Hollow dot and bar: a report whose time is "
        "known only to the hour or day; the bar is the interval it could lie in."
    ]
    shown = 0
    for row, measure in enumerate(measures, start=1):
        part = reports[(reports[casualties.MEASURE] == measure).to_numpy()]
        highest = casualties.highest_so_far(part, measure)
        drawn = part[_thinned(part, highest, max_reports)]
        shown += len(drawn)
        if len(drawn) < len(part):
            notes.append(
                f"{measure}: {len(drawn):,} of {len(part):,} reports drawn: the highest and the lowest of "
                "each period and every one that raised the highest figure. Narrow the filters to see all."
            )
        _add_measure(fig, drawn, highest, measure, tz, row)
    first_us = int(reports[START_US].min())
    heading = "<br>".join(f"<sup>{display.label_text(note)}</sup>" for note in notes)
    fig.update_layout(
        height=110 + 20 * len(notes) + 260 * len(measures),
        margin={"t": 50 + 20 * len(notes), "b": 60, "l": 10, "r": 10},
        hovermode="closest",
        hoverlabel={"align": "left"},
        template="plotly_white",
        title={"text": heading, "x": 0, "xanchor": "left"},
        legend={"tracegroupgap": 12},
        meta={"measures": measures, "reports": len(reports), "shown": shown, "tz": tz},
        uirevision="toll",
    )
    zone = display.zone_label(tz, pd.Timestamp(first_us, unit="us", tz="UTC"))
    fig.update_xaxes(type="date")
    fig.update_xaxes(title={"text": display.label_text("Time in " + zone)}, row=len(measures), col=1)
    if anchor is not None:
        x = _date_text(display.local_micros(np.array([anchor.start_us]), tz))[0]
        _add_anchor_line(fig, x, "anchor: " + _shorten(anchor.title, _NAME_CHARS))
    return fig


def standalone_html(fig: go.Figure, *, title: str) -> bytes:
    """A whole HTML page holding the figure and plotly.js itself: it opens offline and fetches nothing."""
    div = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        config={"displaylogo": False, "responsive": True},
        default_height=f"{fig.layout.height or 450}px",
        validate=False,
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{display.label_text(title)}</title>\n"
        "<style>body { margin: 0; font-family: sans-serif; }</style>\n"
        f'<script type="text/javascript">{_offline_plotlyjs()}</script>\n'
        f"</head>\n<body>\n{div}\n</body>\n</html>\n"
    )
    return page.encode("utf-8")


@functools.cache
def _offline_plotlyjs() -> str:
    return _CDN_ADDRESS.sub("offline-unavailable/", get_plotlyjs())


def _thinned(part: pd.DataFrame, highest: pd.DataFrame, limit: int) -> np.ndarray:
    """Which reports of one measure to draw: all up to limit, else per time period the highest and the lowest
    report, and every report that raised the highest figure."""
    if len(part) <= limit:
        return np.ones(len(part), dtype=bool)
    start = part[START_US].to_numpy(dtype=np.int64)
    periods = max(limit // 2 - len(highest), 1)
    span = max(int(start.max() - start.min()), 1)
    period = (start - start.min()) * periods // (span + 1)
    value = pd.Series(part[casualties.VALUE].to_numpy(dtype=np.int64))
    grouped = value.groupby(period)
    keep = np.zeros(len(part), dtype=bool)
    keep[grouped.idxmax().to_numpy()] = True
    keep[grouped.idxmin().to_numpy()] = True
    keep |= part[s.EVENT_ID].isin(highest[s.EVENT_ID]).to_numpy()
    return keep


def _add_measure(
    fig: go.Figure, part: pd.DataFrame, highest: pd.DataFrame, measure: str, tz: str, row: int
) -> None:
    """One measure's reports (markers, with their interval when coarse) and its highest-so-far step line."""
    style = MEASURE_STYLES[measure]
    value = part[casualties.VALUE].to_numpy(dtype=np.int64)
    start = part[START_US].to_numpy(dtype=np.int64)
    stop = np.maximum(part[STOP_US].to_numpy(dtype=np.int64), start)
    coarse = ~part[s.TIME_PRECISION].astype(object).isin(_PRECISE).to_numpy() | part[s.END].notna().to_numpy()
    # A coarse report is no point at the start of its hour or day: its dot sits in the middle of the interval.
    at = np.where(coarse, start + (stop - start) // 2, start)
    customdata = np.column_stack(
        [
            part[s.EVENT_ID].astype(str).to_numpy(),
            np.array([f"{v:,} {style['noun']}" for v in value.tolist()], dtype=object),
            display.hover_texts(part[s.ACTOR], _NAME_CHARS),
            display.hover_texts(_stated(part, tz)),
            display.hover_texts(_headlines(part), _HEADLINE_CHARS),
            display.hover_texts(_sources(part), _NAME_CHARS),
        ]
    )
    name = display.label_text(measure)
    color = style["color"]
    if coarse.any():
        ends = np.column_stack([start[coarse], stop[coarse], np.zeros(int(coarse.sum()), dtype=np.int64)])
        xs = _date_text(display.local_micros(ends.ravel(), tz)).reshape(-1, 3)
        xs[:, 2] = None
        ys = np.column_stack([value[coarse], value[coarse], np.full(int(coarse.sum()), np.nan)])
        fig.add_trace(
            go.Scatter(
                x=xs.ravel(),
                y=ys.ravel(),
                mode="lines",
                line={"color": color, "width": 6},
                opacity=0.3,
                name=f"{name}: interval of a report",
                legendgroup=name,
                showlegend=False,
                hoverinfo="skip",
                connectgaps=False,
            ),
            row=row,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=_date_text(display.local_micros(highest[casualties.T_US].to_numpy(dtype=np.int64), tz)),
            y=highest[casualties.VALUE].to_numpy(dtype=np.int64),
            mode="lines",
            line={"shape": "hv", "color": color, "width": 2, "dash": style["dash"]},
            name=f"{name}: highest figure reported so far",
            legendgroup=name,
            hovertemplate=f"highest {name} figure so far: %{{y:,}}<extra></extra>",
        ),
        row=row,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=_date_text(display.local_micros(at, tz)),
            y=value,
            mode="markers",
            name=f"{name}: each report",
            legendgroup=name,
            marker={
                "color": color,
                "size": 10,
                "symbol": np.where(coarse, "circle-open", "circle").tolist(),
                "line": {"width": 2, "color": color},
            },
            customdata=customdata,
            hovertemplate=_TOLL_HOVER,
        ),
        row=row,
        col=1,
    )
    fig.update_yaxes(title={"text": style["axis"]}, rangemode="tozero", tickformat=",d", row=row, col=1)


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


def _add_anchor_line(fig: go.Figure, x: float | str, label: str | None) -> None:
    fig.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=x,
        x1=x,
        y0=0,
        y1=1,
        line={"color": _ANCHOR_COLOR, "width": 1.5, "dash": "dash"},
        name="anchor",
    )
    if label is None:
        return
    fig.add_annotation(
        text=display.label_text(label),
        xref="x",
        yref="paper",
        x=x,
        y=1,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font={"color": _ANCHOR_COLOR},
    )


def _empty(message: str, title: str | None, height: int = 380) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=display.label_text(message),
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 16},
    )
    fig.update_layout(
        height=height,
        template="plotly_white",
        title={"text": display.label_text(title), "x": 0, "xanchor": "left"} if title else None,
        meta={"mode": "empty"},
        showlegend=False,
    )
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_yaxes(visible=False)
    return fig


def _stated(frame: pd.DataFrame, tz: str) -> pd.Series:
    """When the source placed each event, in tz, with its precision (display.stated_times)."""
    return display.stated_times(frame.reset_index(drop=True), tz)


def _headlines(frame: pd.DataFrame) -> pd.Series:
    title = frame[s.TITLE].astype(object)
    titled = title.notna() & (title.astype(str).str.strip() != "")
    return title.where(titled, "(no title)").reset_index(drop=True)


def _sources(frame: pd.DataFrame) -> pd.Series:
    source = frame[s.SOURCE_NAME].astype(object)
    if s.SOURCE_URL in frame.columns:
        source = source.fillna(frame[s.SOURCE_URL].astype(object))
    return source.fillna("not stated").reset_index(drop=True)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _date_text(local_us: np.ndarray) -> np.ndarray:
    """Wall-clock microseconds as ISO text to the second: what Plotly reads on a date axis."""
    moments = np.asarray(local_us, dtype=np.int64).astype("M8[us]").astype("M8[s]")
    return np.datetime_as_string(moments, unit="s").astype(object)
