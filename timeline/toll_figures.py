"""Plotly figure for the casualties view: one incident's reports and the highest certainly public so far per
kind of reporter, or, for many incidents, the totals per period."""

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
from timeline.frame import START_US

EMPTY_TOLL = "No event in view reports casualties."
MAX_REPORTS_SHOWN = 2000  # reports of one measure drawn one by one by toll_figure before it thins them
MEASURE_STYLES: dict[str, dict[str, str]] = {
    s.FATALITIES: {"color": "#882255", "dash": "solid", "noun": "killed", "axis": "deaths reported"},
    s.INJURED: {"color": "#0072B2", "dash": "dash", "noun": "injured", "axis": "injured reported"},
}
# Kinds of reporter differ by colour and by marker symbol, so neither colour alone tells them apart.
REPORTER_STYLES: dict[str, dict[str, str]] = {
    casualties.OFFICIALS: {"color": "#0072B2", "symbol": "circle"},
    casualties.MEDIA: {"color": "#CC79A7", "symbol": "diamond"},
    casualties.OTHERS: {"color": "#009E73", "symbol": "square"},
}
DISAGREES_NAME = "disagrees with another report"
# One sentence, over two lines of the subtitle (Plotly does not wrap titles).
REPORTS_SUBTITLE: tuple[str, ...] = (
    "Each line is the highest figure one kind of reporter had certainly made public by then; "
    "each marker is a report placed",
    "when it was certainly public, after a faint bar of when it could have been made "
    "(hollow: not known to the minute), ringed if it disagrees with another report.",
)
# Characters of the reports one disagrees with, in hover text: at most _DISAGREEMENT_CHARS, fewer (down to
# _DISAGREEMENT_MIN_CHARS) when many drawn reports disagree, so one measure's share stays near
# _DISAGREEMENT_BUDGET and the figure within what the page may send.
_DISAGREEMENT_CHARS = 300
_DISAGREEMENT_MIN_CHARS = 40
_DISAGREEMENT_BUDGET = 150_000
_PRECISE = (s.PRECISIONS[SECOND], s.PRECISIONS[MINUTE])
_TOLL_HOVER = (
    "<b>%{customdata[1]}</b><br>Reported by %{customdata[2]}<br>Stated: %{customdata[3]}"
    "<br>%{customdata[4]}<br>Source: %{customdata[5]}%{customdata[6]}<extra></extra>"
)
_PERIOD_WORDS = {"day": "day", "week": "week (from Monday)", "month": "month", "year": "year"}


def toll_figure(
    *,
    reports: pd.DataFrame,
    tz: str = "UTC",
    anchor: r.Anchor | None = None,
    mode: str = "reports",
    max_reports: int = MAX_REPORTS_SHOWN,
) -> go.Figure:
    """The toll in view, one row per measure, times in tz, in one of casualties.MODES.

    "reports" (one incident): every report as a marker at the moment it was certainly public, coloured and
    shaped by its kind of reporter, with the interval it could have been made in as a faint bar before it;
    per kind a step line of the highest figure certainly public so far; reports that disagree with another
    (casualties.with_disagreements) ringed, the hover naming with which. Above max_reports reports of a
    measure, only the highest and lowest report of each period and every report that raised a line are
    drawn, and a line of more than max_reports // 4 steps keeps the last rise of each period (it may rise
    late, never early); the figure says so.
    "totals" (many incidents): bars of casualties.period_totals, the hover giving the number of events and
    the deadliest one.
    layout.meta says the mode and what is drawn (measures, reporters, counts).
    """
    validate_zone(tz)
    if mode not in casualties.MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, casualties.MODES))}; got {mode!r}")
    if not isinstance(max_reports, int) or max_reports < 2:
        raise ValueError(f"max_reports must be an integer of at least 2; got {max_reports!r}")
    if len(reports) == 0:
        fig = parts.empty_figure(EMPTY_TOLL, None)
        fig.update_xaxes(type="date", title={"text": display.label_text("Time in " + display.zone_label(tz))})
        return fig
    measures = [m for m in casualties.MEASURES if (reports[casualties.MEASURE] == m).any()]
    fig = make_subplots(rows=len(measures), cols=1, shared_xaxes=True, vertical_spacing=0.08)
    if mode == "reports":
        notes, meta = _draw_reports(fig, reports, measures, tz, max_reports)
    else:
        notes, meta = _draw_totals(fig, reports, measures, tz)
    heading = "<br>".join(f"<sup>{display.label_text(note)}</sup>" for note in notes)
    fig.update_layout(
        height=110 + 20 * len(notes) + 260 * len(measures),
        margin={"t": 50 + 20 * len(notes), "b": 60, "l": 10, "r": 10},
        hovermode="closest",
        hoverlabel={"align": "left"},
        template="plotly_white",
        title={"text": heading, "x": 0, "xanchor": "left"},
        legend={"tracegroupgap": 12},
        meta={"mode": mode, "measures": measures, "reports": len(reports), "tz": tz, **meta},
        uirevision="toll",
    )
    first_us = int(reports[START_US].min())
    zone = display.zone_label(tz, pd.Timestamp(first_us, unit="us", tz="UTC"))
    fig.update_xaxes(type="date")
    fig.update_xaxes(title={"text": display.label_text("Time in " + zone)}, row=len(measures), col=1)
    if anchor is not None:
        x = parts.date_text(display.local_micros(np.array([anchor.start_us]), tz))[0]
        parts.add_anchor_line(fig, x, "anchor: " + parts.shorten(anchor.title, parts.NAME_CHARS))
    return fig


def _draw_reports(
    fig: go.Figure, reports: pd.DataFrame, measures: list[str], tz: str, max_reports: int
) -> tuple[list[str], dict]:
    """Reports mode: each measure's rows; returns the subtitle's notes and what layout.meta adds."""
    if casualties.DISAGREES not in reports.columns:
        reports = casualties.with_disagreements(reports)
    reports = reports.reset_index(drop=True)
    disagreeing = reports[casualties.DISAGREES].to_numpy(dtype=bool)
    disagreement = casualties.disagreement_texts(reports, tz).to_numpy(dtype=object)
    notes = list(REPORTS_SUBTITLE)
    shown = 0
    in_legend: set[str] = set()
    for row, measure in enumerate(measures, start=1):
        rows = np.flatnonzero((reports[casualties.MEASURE] == measure).to_numpy())
        part = reports.iloc[rows]
        if len(part) > casualties.MAX_COMPARED:
            notes.append(
                f"{measure}: disagreements are looked for among at most {casualties.MAX_COMPARED:,} reports, "
                f"not {len(part):,}. Narrow the filters to see them."
            )
        full_lines = {
            kind: casualties.highest_so_far(part, measure, reporter=kind)
            for kind in casualties.REPORTER_KINDS
            if (part[casualties.REPORTER] == kind).any()
        }
        lines = {kind: _thinned_line(line, max_reports // 4) for kind, line in full_lines.items()}
        raised = pd.concat([line[s.EVENT_ID] for line in lines.values()])
        drawn = _thinned(part, raised, max_reports)
        shown += int(drawn.sum())
        if not drawn.all():
            notes.append(
                f"{measure}: {int(drawn.sum()):,} of {len(part):,} reports drawn: the highest and the lowest "
                "of each period and every one that raised a line. Narrow the filters to see all."
            )
        if any(len(lines[kind]) < len(line) for kind, line in full_lines.items()):
            notes.append(
                f"{measure}: each line shows only the last rise of each period, so it may rise later than "
                "it could, never earlier."
            )
        picked = rows[drawn]
        hover = _disagreement_lines(disagreement[picked])
        _add_measure(fig, reports.iloc[picked], hover, lines, measure, tz, row, in_legend)
    kinds = [kind for kind in casualties.REPORTER_KINDS if (reports[casualties.REPORTER] == kind).any()]
    meta = {"reporters": kinds, "shown": shown, "disagreeing": int(disagreeing.sum())}
    return notes, meta


def _disagreement_lines(texts: np.ndarray) -> np.ndarray:
    """The hover's last lines from casualties.disagreement_texts: escaped, cut to the budget, one report a
    line ("" where there is no disagreement)."""
    said = int((texts != "").sum())
    chars = min(_DISAGREEMENT_CHARS, max(_DISAGREEMENT_MIN_CHARS, _DISAGREEMENT_BUDGET // max(said, 1)))
    escaped = pd.Series(display.hover_texts(pd.Series(texts, dtype=object), chars), dtype=object)
    lines = "<br><b>Disagrees with</b><br>" + escaped.str.replace("; ", "<br>", regex=False)
    return lines.where(escaped != "", "").to_numpy(dtype=object)


def _thinned_line(line: pd.DataFrame, limit: int) -> pd.DataFrame:
    """A highest-so-far series of at most about limit steps: past it, the first step, the last and the last
    rise of each time period; a later rise never moves earlier, so the line never shows a figure too soon."""
    if len(line) <= max(limit, 2):
        return line
    t = line[casualties.T_US].to_numpy(dtype=np.int64)
    period = (t - t[0]) * limit // (t[-1] - t[0] + 1)
    last_of_period = np.r_[period[1:] != period[:-1], True]
    last_of_period[0] = True
    return line[last_of_period]


def _thinned(part: pd.DataFrame, raised: pd.Series, limit: int) -> np.ndarray:
    """Which reports of one measure to draw: all up to limit, else per time period the highest and the lowest
    report, and every report that raised a line."""
    if len(part) <= limit:
        return np.ones(len(part), dtype=bool)
    public = part[casualties.PUBLIC_US].to_numpy(dtype=np.int64)
    periods = max(limit // 2 - raised.nunique(), 1)
    span = max(int(public.max() - public.min()), 1)
    period = (public - public.min()) * periods // (span + 1)
    value = pd.Series(part[casualties.VALUE].to_numpy(dtype=np.int64))
    grouped = value.groupby(period)
    keep = np.zeros(len(part), dtype=bool)
    keep[grouped.idxmax().to_numpy()] = True
    keep[grouped.idxmin().to_numpy()] = True
    keep |= part[s.EVENT_ID].isin(raised).to_numpy()
    return keep


def _add_measure(
    fig: go.Figure,
    part: pd.DataFrame,
    disagreement: np.ndarray,
    lines: dict[str, pd.DataFrame],
    measure: str,
    tz: str,
    row: int,
    in_legend: set[str],
) -> None:
    """One measure's row: per kind of reporter its reports' intervals, its highest-so-far step line and its
    reports; then the rings of the disagreeing reports. Each legend entry appears once (in_legend: shown)."""
    style = MEASURE_STYLES[measure]
    value = part[casualties.VALUE].to_numpy(dtype=np.int64)
    start = part[START_US].to_numpy(dtype=np.int64)
    public = part[casualties.PUBLIC_US].to_numpy(dtype=np.int64)
    x = parts.date_text(display.local_micros(public, tz))
    coarse = ~part[s.TIME_PRECISION].astype(object).isin(_PRECISE).to_numpy()
    kind = part[casualties.REPORTER].to_numpy(dtype=object)
    customdata = np.column_stack(
        [
            part[s.EVENT_ID].astype(str).to_numpy(),
            np.array([f"{v:,} {style['noun']}" for v in value.tolist()], dtype=object),
            display.hover_texts(part[s.ACTOR], parts.NAME_CHARS) + " (" + kind + ")",
            display.hover_texts(parts.stated(part, tz)),
            display.hover_texts(parts.headlines(part), parts.HEADLINE_CHARS),
            display.hover_texts(parts.sources(part), parts.NAME_CHARS),
            disagreement,
        ]
    )

    def legend(name: str) -> bool:
        """Whether this trace carries the legend entry of name (only the first one does)."""
        first = name not in in_legend
        in_legend.add(name)
        return first

    for reporter, line in lines.items():
        look = REPORTER_STYLES[reporter]
        mine = kind == reporter
        barred = mine & coarse
        if barred.any():
            ends = np.column_stack(
                [start[barred], public[barred], np.zeros(int(barred.sum()), dtype=np.int64)]
            )
            xs = parts.date_text(display.local_micros(ends.ravel(), tz)).reshape(-1, 3)
            xs[:, 2] = None
            ys = np.column_stack([value[barred], value[barred], np.full(int(barred.sum()), np.nan)])
            fig.add_trace(
                go.Scatter(
                    x=xs.ravel(),
                    y=ys.ravel(),
                    mode="lines",
                    line={"color": look["color"], "width": 6},
                    opacity=0.25,
                    name=f"{reporter}: interval a report could have been made in",
                    legendgroup=f"{reporter} reports",
                    showlegend=False,
                    hoverinfo="skip",
                    connectgaps=False,
                    meta={"measure": measure, "reporter": reporter, "role": "intervals"},
                ),
                row=row,
                col=1,
            )
        line_name = f"{reporter}: highest certainly public so far"
        fig.add_trace(
            go.Scatter(
                x=parts.date_text(display.local_micros(line[casualties.T_US].to_numpy(dtype=np.int64), tz)),
                y=line[casualties.VALUE].to_numpy(dtype=np.int64),
                mode="lines",
                line={"shape": "hv", "color": look["color"], "width": 2, "dash": style["dash"]},
                name=line_name,
                legendgroup=line_name,
                showlegend=legend(line_name),
                hovertemplate=f"{line_name}: %{{y:,}} {style['noun']}<extra></extra>",
                meta={"measure": measure, "reporter": reporter, "role": "highest"},
            ),
            row=row,
            col=1,
        )
        if not mine.any():
            continue  # every report of this kind was thinned away; its line stays
        markers_name = f"{reporter}: each report"
        fig.add_trace(
            go.Scatter(
                x=x[mine],
                y=value[mine],
                mode="markers",
                name=markers_name,
                legendgroup=f"{reporter} reports",
                showlegend=legend(markers_name),
                marker={
                    "color": look["color"],
                    "size": 10,
                    "symbol": np.where(coarse[mine], look["symbol"] + "-open", look["symbol"]).tolist(),
                    "line": {"width": 2, "color": look["color"]},
                },
                customdata=customdata[mine],
                hovertemplate=_TOLL_HOVER,
                meta={"measure": measure, "reporter": reporter, "role": "reports"},
            ),
            row=row,
            col=1,
        )
    ringed = part[casualties.DISAGREES].to_numpy(dtype=bool)
    if ringed.any():
        fig.add_trace(
            go.Scatter(
                x=x[ringed],
                y=value[ringed],
                mode="markers",
                name=DISAGREES_NAME,
                legendgroup=DISAGREES_NAME,
                showlegend=legend(DISAGREES_NAME),
                marker={"color": "#000000", "size": 20, "symbol": "circle-open", "line": {"width": 2}},
                customdata=customdata[ringed, :1],
                hoverinfo="skip",  # the report under the ring answers the hover
                meta={"measure": measure, "role": "disagrees"},
            ),
            row=row,
            col=1,
        )
    fig.update_yaxes(title={"text": style["axis"]}, rangemode="tozero", tickformat=",d", row=row, col=1)


def _draw_totals(
    fig: go.Figure, reports: pd.DataFrame, measures: list[str], tz: str
) -> tuple[list[str], dict]:
    """Totals mode: a bar per period per measure; returns the subtitle's notes and what layout.meta adds."""
    totals = casualties.period_totals(reports, tz)
    unit = str(totals[casualties.PERIOD].iloc[0])
    for row, measure in enumerate(measures, start=1):
        style = MEASURE_STYLES[measure]
        part = totals[(totals[casualties.MEASURE] == measure).to_numpy()]
        start = part[casualties.PERIOD_START].to_numpy().astype("M8[us]").astype(np.int64)
        stop = part[casualties.PERIOD_STOP].to_numpy().astype("M8[us]").astype(np.int64)
        events = part[casualties.EVENTS].to_numpy(dtype=np.int64)
        deadliest = part[casualties.DEADLIEST_VALUE].to_numpy(dtype=np.int64)
        customdata = np.column_stack(
            [
                _period_labels(start, unit),
                np.array(
                    [f"in {n:,} event" + ("" if n == 1 else "s") for n in events.tolist()], dtype=object
                ),
                display.hover_texts(part[casualties.DEADLIEST], parts.HEADLINE_CHARS)
                + np.array([f" ({v:,} {style['noun']})" for v in deadliest.tolist()], dtype=object),
            ]
        )
        fig.add_trace(
            go.Bar(
                x=parts.date_text(start),
                y=part[casualties.TOTAL].to_numpy(dtype=np.int64),
                width=(stop - start) / 1000,  # milliseconds, what a date axis measures in
                offset=0,
                marker={"color": style["color"]},
                name=f"{measure}: total per {unit}",
                customdata=customdata,
                hovertemplate=(
                    f"<b>%{{customdata[0]}}</b><br>%{{y:,}} {style['noun']} %{{customdata[1]}}"
                    "<br>Deadliest: %{customdata[2]}<extra></extra>"
                ),
                meta={"measure": measure, "role": "totals"},
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(
            title={"text": f"{style['noun']} per {unit}"}, rangemode="tozero", tickformat=",d", row=row, col=1
        )
    zone = display.zone_label(tz, pd.Timestamp(int(reports[START_US].min()), unit="us", tz="UTC"))
    notes = [
        f"Each bar sums the figures the events in view carry per {_PERIOD_WORDS[unit]} in {zone}, each event "
        "counted as a separate incident; the hover gives how many events and names the deadliest."
    ]
    meta = {"period": unit, "periods": len(totals), "events": int(reports[s.EVENT_ID].nunique())}
    return notes, meta


def _period_labels(local_start_us: np.ndarray, unit: str) -> np.ndarray:
    """How a period is named in hover: "22 Mar 2024", "week from 18 Mar 2024", "Mar 2024", "2024"."""
    starts = pd.DatetimeIndex(local_start_us.astype("M8[us]"))
    if unit == "year":
        return starts.strftime("%Y").to_numpy(dtype=object)
    if unit == "month":
        return starts.strftime("%b %Y").to_numpy(dtype=object)
    days = starts.day.astype(str).to_numpy(dtype=object) + starts.strftime(" %b %Y").to_numpy(dtype=object)
    return ("week from " + days) if unit == "week" else days
