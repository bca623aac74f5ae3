"""The page's first paint: built with Plotly alone, so it is drawn before pandas and pyarrow load."""

from __future__ import annotations

import plotly.graph_objects as go

LOADING_MESSAGE = "Loading the events…"
CHART_TABS = ("timeline", "reactions", "casualties")


def loading_figure() -> go.Figure:
    """Empty axes saying the events are loading: sent first, so the browser fetches and compiles Plotly's
    JavaScript (megabytes) while the server imports its libraries and loads the events."""
    return go.Figure(
        layout={
            "height": 450,
            "template": "plotly_white",
            "meta": {"mode": "loading", "events": 0, "lanes": 0},
            "showlegend": False,
            "annotations": [centred_message(LOADING_MESSAGE)],
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
        }
    )


def centred_message(text: str) -> dict:
    """A sentence in the middle of a chart that has nothing to draw."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 16},
    }
