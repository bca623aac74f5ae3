"""Pieces shared by the figures: the anchor line, the empty figure, hover text columns, date text, and
the standalone HTML page of a figure."""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from timeline import display, richtext
from timeline import schema as s

ANCHOR_COLOR = "#D55E00"
HEADLINE_CHARS = 120  # characters of a headline in hover text
NAME_CHARS = 80  # characters of an actor or source name in hover text
# Map-only addresses inside plotly.js (topojson for geo traces, icons for map traces): these figures draw
# no maps, so the standalone page points them nowhere and never reaches a CDN.
_CDN_ADDRESS = re.compile(r"https://cdn[\w.\-/@]*")


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


def add_anchor_line(fig: go.Figure, x: float | str, label: str | None) -> None:
    fig.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=x,
        x1=x,
        y0=0,
        y1=1,
        line={"color": ANCHOR_COLOR, "width": 1.5, "dash": "dash"},
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
        font={"color": ANCHOR_COLOR},
    )


def empty_figure(message: str, title: str | None, height: int = 380) -> go.Figure:
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


def stated(frame: pd.DataFrame, tz: str) -> pd.Series:
    """When the source placed each event, in tz, with its precision (display.stated_times)."""
    return display.stated_times(frame.reset_index(drop=True), tz)


def customdata(point: object) -> list:
    """The customdata of a point a browser selected, as a list: the page receives a row of an object array
    as a list, a row of a numeric array as an object keyed "0", "1", …, and a single value as itself."""
    data = point.get("customdata") if isinstance(point, dict) else None
    if isinstance(data, dict):
        try:
            return [data[key] for key in sorted(data, key=int)]
        except (TypeError, ValueError):
            return []
    if isinstance(data, list | tuple):
        return list(data)
    return [] if data is None else [data]


def headlines(frame: pd.DataFrame) -> pd.Series:
    """Each event's title as stated, else its description as plain text (TimelineJS descriptions are HTML),
    else "(no title)"; indexed from 0."""
    title = frame[s.TITLE].astype(object)
    titled = title.notna() & (title.astype(str).str.strip() != "")
    if s.DESCRIPTION in frame.columns:
        described = richtext.plain_texts(frame[s.DESCRIPTION]).astype(object)
        title = title.where(titled, described)
        titled = title.notna() & (title.astype(str).str.strip() != "")
    return title.where(titled, "(no title)").reset_index(drop=True)


def sources(frame: pd.DataFrame) -> pd.Series:
    source = frame[s.SOURCE_NAME].astype(object)
    if s.SOURCE_URL in frame.columns:
        source = source.fillna(frame[s.SOURCE_URL].astype(object))
    return source.fillna("not stated").reset_index(drop=True)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def date_text(local_us: np.ndarray) -> np.ndarray:
    """Wall-clock microseconds as ISO text to the second: what Plotly reads on a date axis."""
    moments = np.asarray(local_us, dtype=np.int64).astype("M8[us]").astype("M8[s]")
    return np.datetime_as_string(moments, unit="s").astype(object)
