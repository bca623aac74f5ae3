"""Plotly figure for the casualties view: every reported figure, and the highest reported so far."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from timeline import casualties, display
from timeline import figure_parts as parts
from timeline import reactions as r
from timeline import schema as s
from timeline.dates import MINUTE, SECOND, validate_zone
from timeline.frame import START_US, STOP_US

EMPTY_TOLL = "No event in view reports casualties."
MAX_REPORTS_SHOWN = 2000  # reports of one measure drawn one by one by toll_figure before it thins them
MEASURE_STYLES: dict[str, dict[str, str]] = {
    s.FATALITIES: {"color": "#882255", "dash": "solid", "noun": "killed", "axis": "deaths reported"},
    s.INJURED: {"color": "#0072B2", "dash": "dash", "noun": "injured", "axis": "injured reported"},
}
_PRECISE = (s.PRECISIONS[SECOND], s.PRECISIONS[MINUTE])
_TOLL_HOVER = (
    "<b>%{customdata[1]}</b><br>Reported by %{customdata[2]}<br>Stated: %{customdata[3]}"
    "<br>%{customdata[4]}<br>Source: %{customdata[5]}<extra></extra>"
)


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
        fig = parts.empty_figure(EMPTY_TOLL, None)
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
        x = parts.date_text(display.local_micros(np.array([anchor.start_us]), tz))[0]
        parts.add_anchor_line(fig, x, "anchor: " + parts.shorten(anchor.title, parts.NAME_CHARS))
    return fig


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
            display.hover_texts(part[s.ACTOR], parts.NAME_CHARS),
            display.hover_texts(parts.stated(part, tz)),
            display.hover_texts(parts.headlines(part), parts.HEADLINE_CHARS),
            display.hover_texts(parts.sources(part), parts.NAME_CHARS),
        ]
    )
    name = display.label_text(measure)
    color = style["color"]
    if coarse.any():
        ends = np.column_stack([start[coarse], stop[coarse], np.zeros(int(coarse.sum()), dtype=np.int64)])
        xs = parts.date_text(display.local_micros(ends.ravel(), tz)).reshape(-1, 3)
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
            x=parts.date_text(display.local_micros(highest[casualties.T_US].to_numpy(dtype=np.int64), tz)),
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
            x=parts.date_text(display.local_micros(at, tz)),
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
