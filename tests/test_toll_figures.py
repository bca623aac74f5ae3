"""The casualties figure, tested as a Plotly object."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pytest

from tests.canonical import canonical_events
from timeline import casualties, reactions, store
from timeline import frame as frames
from timeline import schema as s
from timeline import toll_figures as tf

BUNDLED = "crocus-city-hall-2024"
BUNDLED_ANCHOR = "2024-03-22-attack-begins"
MOSCOW = "Europe/Moscow"
MINUTE = 60_000_000
HOUR = 60 * MINUTE
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return frames.prepare(store.load(BUNDLED, root=store.DEFAULT_ROOT))


@pytest.fixture(scope="module")
def anchor(bundled: pd.DataFrame) -> reactions.Anchor:
    return reactions.anchor_of(bundled, BUNDLED_ANCHOR)


@pytest.fixture(scope="module")
def first(bundled: pd.DataFrame, anchor: reactions.Anchor) -> pd.DataFrame:
    return reactions.first_reactions(bundled, anchor=anchor)


def _events(*rows: dict) -> pa.Table:
    """Canonical events from a few fields per row: minute-precision UTC statements unless stated."""
    return canonical_events(*rows, event_type="statement", time_precision="minute", utc_offset_minutes=0)


def _hostile() -> tuple[pd.DataFrame, reactions.Anchor]:
    """An anchor and one reaction whose every text is markup."""
    frame = frames.prepare(
        _events(
            {s.EVENT_ID: "a", s.EVENT_TYPE: "attack", s.TIMESTAMP: "2024-03-22T17:00Z", s.TITLE: SCRIPT},
            {
                s.EVENT_ID: "r",
                s.ACTOR: SCRIPT,
                s.TITLE: SCRIPT,
                s.SOURCE_NAME: SCRIPT,
                s.EVENT_TYPE: "<b>odd</b>",
                s.TIMESTAMP: "2024-03-22T17:00Z",
                s.FATALITIES: 3,
            },
        )
    )
    return frame, reactions.anchor_of(frame, "a")


def _texts(fig: go.Figure) -> str:
    """Every string the figure would send to the browser."""
    return json.dumps(fig.to_plotly_json(), default=str)


def test_toll_figure_has_a_row_per_measure_with_reports_and_highest_line(bundled: pd.DataFrame) -> None:
    """Fatalities and injured each get markers for every report and a step line of the highest so far."""
    reports = casualties.toll_reports(bundled)
    fig = tf.toll_figure(reports=reports, tz=MOSCOW)
    markers = [t for t in fig.data if t.mode == "markers"]
    steps = [t for t in fig.data if t.line.shape == "hv"]
    assert [t.name for t in markers] == ["fatalities: each report", "injured: each report"]
    assert [t.name for t in steps] == [
        "fatalities: highest figure reported so far",
        "injured: highest figure reported so far",
    ]
    assert markers[0].yaxis != markers[1].yaxis
    assert markers[0].marker.color != markers[1].marker.color
    assert steps[0].line.dash != steps[1].line.dash
    for trace, measure in zip(markers, casualties.MEASURES, strict=True):
        assert sorted(trace.y) == sorted(reports[reports[casualties.MEASURE] == measure][casualties.VALUE])
    assert fig.layout.xaxis2.title.text == "Time in Europe/Moscow (UTC+03:00)"


def test_toll_reports_sit_in_local_time_and_coarse_ones_carry_their_interval(bundled: pd.DataFrame) -> None:
    """x is local wall-clock time; a coarse report is a hollow dot on its interval, a precise one filled."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW)
    deaths = next(t for t in fig.data if t.name == "fatalities: each report")
    rows = {row[0]: i for i, row in enumerate(deaths.customdata)}
    fsb = rows["2024-03-22-fsb-toll-40"]  # 19:00-20:00 UTC, known to the hour
    assert deaths.x[fsb] == "2024-03-22T22:30:00"
    assert deaths.marker.symbol[fsb] == "circle-open"
    more_than_60 = rows["2024-03-23-toll-more-than-60"]  # 21:30 UTC to the minute
    assert deaths.x[more_than_60] == "2024-03-23T00:30:00"
    assert deaths.marker.symbol[more_than_60] == "circle"
    intervals = next(t for t in fig.data if t.name == "fatalities: interval of a report")
    assert "2024-03-22T22:00:00" in intervals.x
    assert "2024-03-22T23:00:00" in intervals.x
    assert deaths.customdata[fsb][1:4].tolist() == ["40 killed", "FSB", "22 Mar 2024, 22:00–23:00"]


def test_toll_figure_marks_the_anchor(bundled: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """With an anchor, a vertical line at its start (local time) crosses every row."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW, anchor=anchor)
    line = next(shape for shape in fig.layout.shapes if shape.name == "anchor")
    assert (line.x0, line.yref, line.y0, line.y1) == ("2024-03-22T19:58:00", "paper", 0, 1)
    assert any(a.text.startswith("anchor: Gunmen open fire") for a in fig.layout.annotations)


def test_toll_figure_escapes_every_text() -> None:
    """Reporter, title and source holding markup reach Plotly escaped."""
    frame, anchor = _hostile()
    fig = tf.toll_figure(reports=casualties.toll_reports(frame), anchor=anchor)
    text = _texts(fig)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_empty_toll_says_so() -> None:
    """No report: a sentence instead of empty axes, and the zone still named."""
    fig = tf.toll_figure(reports=casualties.toll_reports(frames.prepare(s.empty_table())), tz=MOSCOW)
    assert [a.text for a in fig.layout.annotations] == [tf.EMPTY_TOLL]
    assert fig.layout.xaxis.title.text.startswith("Time in Europe/Moscow")


def _many_reports(n: int) -> pd.DataFrame:
    """n fatality reports, one a minute, values shuffled (fixed seed), the largest in the middle."""
    rng = np.random.default_rng(3)
    values = rng.permutation(n).astype(np.int32)
    start = pd.Timestamp("2024-03-22T17:00Z")
    rows = [
        {s.TIMESTAMP: start + pd.Timedelta(minutes=i), s.FATALITIES: int(v), s.TITLE: f"report {i}"}
        for i, v in enumerate(values)
    ]
    return casualties.toll_reports(frames.prepare(_events(*rows)))


def test_toll_figure_thins_many_reports_but_keeps_every_rise() -> None:
    """Past max_reports, each period's highest and lowest and every new highest are drawn, and it says so."""
    reports = _many_reports(3000)
    fig = tf.toll_figure(reports=reports, max_reports=200)
    dots = next(t for t in fig.data if t.name == "fatalities: each report")
    highest = casualties.highest_so_far(reports, "fatalities")
    assert len(dots.y) < 400
    assert set(highest[s.EVENT_ID]) <= {row[0] for row in dots.customdata}
    assert max(dots.y) == 2999 and min(dots.y) == 0
    step = next(t for t in fig.data if t.name == "fatalities: highest figure reported so far")
    assert list(step.y) == highest[casualties.VALUE].tolist()
    assert "of 3,000 reports drawn" in fig.layout.title.text
