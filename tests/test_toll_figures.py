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
from timeline import figure_parts as parts
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


def _traces(fig: go.Figure, role: str, measure: str | None = None, reporter: str | None = None) -> list:
    """The traces drawing one role (reports, highest, intervals, disagrees, totals), optionally of one measure
    and one kind of reporter."""
    return [
        trace
        for trace in fig.data
        if trace.meta["role"] == role
        and measure in (None, trace.meta["measure"])
        and reporter in (None, trace.meta.get("reporter"))
    ]


def _by_id(trace: go.Scatter) -> dict[str, int]:
    """Each point of a markers trace by its event_id (customdata[0])."""
    return {row[0]: i for i, row in enumerate(trace.customdata)}


def test_toll_figure_has_a_row_per_measure_and_a_line_per_kind(bundled: pd.DataFrame) -> None:
    """Each measure has its row; in it, per kind of reporter, markers for every report and a step line of the
    highest certainly public so far; every legend entry appears once."""
    reports = casualties.toll_reports(bundled)
    fig = tf.toll_figure(reports=reports, tz=MOSCOW)
    deaths = _traces(fig, "reports", "fatalities")
    injured = _traces(fig, "reports", "injured")
    assert [t.name for t in deaths] == ["officials: each report", "media: each report"]
    assert [t.name for t in injured] == ["officials: each report"]
    assert [t.name for t in _traces(fig, "highest", "fatalities")] == [
        "officials: highest certainly public so far",
        "media: highest certainly public so far",
    ]
    assert all(t.line.shape == "hv" for t in _traces(fig, "highest"))
    assert deaths[0].yaxis != injured[0].yaxis
    for measure in casualties.MEASURES:
        drawn = [y for trace in _traces(fig, "reports", measure) for y in trace.y]
        assert sorted(drawn) == sorted(reports[reports[casualties.MEASURE] == measure][casualties.VALUE])
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert len(legend) == len(set(legend))
    assert fig.layout.xaxis2.title.text == "Time in Europe/Moscow (UTC+03:00)"


def test_kinds_of_reporter_differ_by_colour_and_by_symbol(bundled: pd.DataFrame) -> None:
    """Officials and media are told apart by colour and by marker shape, never by colour alone."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW)
    officials, media = _traces(fig, "reports", "fatalities")
    assert officials.marker.color != media.marker.color
    assert {symbol.removesuffix("-open") for symbol in officials.marker.symbol} == {"circle"}
    assert {symbol.removesuffix("-open") for symbol in media.marker.symbol} == {"diamond"}
    lines = _traces(fig, "highest", "fatalities")
    assert lines[0].line.color == officials.marker.color and lines[1].line.color == media.marker.color


def test_toll_reports_sit_where_they_were_certainly_public(bundled: pd.DataFrame) -> None:
    """x is local wall-clock time at the end of the interval a report could have been made in, and a coarse
    report carries that interval as a faint bar before it; a coarse report is hollow, a precise one filled."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW)
    officials = _traces(fig, "reports", "fatalities", "officials")[0]
    rows = _by_id(officials)
    fsb = rows["2024-03-22-fsb-toll-40"]  # 19:00-20:00 UTC, known to the hour
    assert officials.x[fsb] == "2024-03-22T23:00:00"
    assert officials.marker.symbol[fsb] == "circle-open"
    more_than_60 = rows["2024-03-23-toll-more-than-60"]  # 21:30 UTC to the minute
    assert officials.x[more_than_60] == "2024-03-23T00:31:00"
    assert officials.marker.symbol[more_than_60] == "circle"
    day_93 = rows["2024-03-23-toll-93"]  # 23 Mar, Moscow: certainly public at its end
    assert officials.x[day_93] == "2024-03-24T00:00:00"
    intervals = _traces(fig, "intervals", "fatalities", "officials")[0]
    assert {"2024-03-22T22:00:00", "2024-03-22T23:00:00", "2024-03-23T00:00:00"} <= set(intervals.x)
    assert officials.customdata[fsb][1:3].tolist() == ["40 killed", "FSB (officials)"]


def test_highest_lines_rise_only_when_reports_were_certainly_public(bundled: pd.DataFrame) -> None:
    """The officials' line is 40 until 60 is certainly public and ends at 144; the media line holds 150."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW)
    officials = _traces(fig, "highest", "fatalities", "officials")[0]
    media = _traces(fig, "highest", "fatalities", "media")[0]
    before_60 = [y for x, y in zip(officials.x, officials.y, strict=True) if x < "2024-03-23T00:31:00"]
    assert before_60 == [40]
    assert 93 not in officials.y and officials.y[-1] == 144
    assert set(media.y) == {150} and media.x[0] == "2024-03-24T03:00:00"


def test_disagreeing_reports_are_ringed_and_say_with_which(bundled: pd.DataFrame) -> None:
    """Reports that disagree get a ring (a legend entry of its own), and their hover names the others:
    140 and 143 of 27 Mar, and the article's 150 against the officials' 144."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW)
    rings = _traces(fig, "disagrees", "fatalities")
    assert [t.name for t in rings] == [tf.DISAGREES_NAME]
    assert rings[0].showlegend is not False and rings[0].marker.size > 10
    ringed = {row[0] for row in rings[0].customdata}
    assert {
        "2024-03-27-murashko-toll-140",
        "2024-03-27-emergencies-ministry-toll-143",
        "2024-03-23-article-toll-nearly-150",
        "2024-03-29-murashko-toll-144",
    } <= ringed
    assert "2024-03-22-fsb-toll-40" not in ringed
    officials = _traces(fig, "reports", "fatalities", "officials")[0]
    hover = officials.customdata[_by_id(officials)["2024-03-27-emergencies-ministry-toll-143"]][6]
    assert "Disagrees with" in hover and "140 by Mikhail Murashko" in hover
    media = _traces(fig, "reports", "fatalities", "media")[0]
    assert "144 by Mikhail Murashko" in media.customdata[0][6]
    assert officials.customdata[_by_id(officials)["2024-03-22-fsb-toll-40"]][6] == ""
    assert not _traces(fig, "disagrees", "injured")


def test_toll_figure_says_what_lines_and_markers_mean_and_what_it_drew(bundled: pd.DataFrame) -> None:
    """The subtitle explains the lines and the markers; layout.meta gives the mode, kinds and counts."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW)
    assert "highest figure" in fig.layout.title.text and "certainly public" in fig.layout.title.text
    meta = fig.layout.meta
    assert (meta["mode"], meta["reporters"], meta["reports"], meta["shown"]) == (
        "reports",
        ["officials", "media"],
        18,
        18,
    )
    assert meta["disagreeing"] >= 6


def test_toll_figure_marks_the_anchor(bundled: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """With an anchor, a vertical line at its start (local time) crosses every row."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW, anchor=anchor)
    line = next(shape for shape in fig.layout.shapes if shape.name == "anchor")
    assert (line.x0, line.yref, line.y0, line.y1) == ("2024-03-22T19:58:00", "paper", 0, 1)
    assert any(a.text.startswith("anchor: Gunmen open fire") for a in fig.layout.annotations)


@pytest.mark.parametrize("mode", casualties.MODES)
def test_toll_figure_escapes_every_text(mode: str) -> None:
    """Reporter, title, source, location and the disagreement wording holding markup reach Plotly escaped."""
    frame, anchor = _hostile()
    hostile = frames.prepare(
        _events(
            {s.ACTOR: SCRIPT, s.LOCATION: SCRIPT, s.FATALITIES: 9, s.TIMESTAMP: "2024-03-22T17:00Z"},
            {s.ACTOR: SCRIPT, s.TITLE: SCRIPT, s.FATALITIES: 3, s.TIMESTAMP: "2024-03-24T17:00Z"},
        )
    )
    for events in (frame, hostile):
        fig = tf.toll_figure(reports=casualties.toll_reports(events), anchor=anchor, mode=mode)
        text = _texts(fig)
        assert "<script>" not in text
        assert "&lt;script&gt;" in text
    assert mode == "totals" or fig.layout.meta["disagreeing"] == 2


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
    """Past max_reports, each period's highest and lowest and every rise of a line are drawn; it says so."""
    reports = _many_reports(3000)
    fig = tf.toll_figure(reports=reports, max_reports=200)
    dots = _traces(fig, "reports", "fatalities", "others")[0]  # no actor_type: others
    highest = casualties.highest_so_far(reports, "fatalities", reporter="others")
    assert len(dots.y) < 400
    assert set(highest[s.EVENT_ID]) <= {row[0] for row in dots.customdata}
    assert max(dots.y) == 2999 and min(dots.y) == 0
    step = _traces(fig, "highest", "fatalities", "others")[0]
    assert list(step.y) == highest[casualties.VALUE].tolist()
    assert "of 3,000 reports drawn" in fig.layout.title.text


def test_a_line_of_many_rises_keeps_the_last_of_each_period_and_never_rises_early() -> None:
    """Past max_reports // 4 rises, a line keeps only steps of the full line (each period's last rise, the
    first and the end), so it never shows a figure before it was certainly public; the figure says so."""
    start = pd.Timestamp("2024-03-22T17:00Z")
    reports = casualties.toll_reports(
        frames.prepare(
            _events(*({s.TIMESTAMP: start + pd.Timedelta(minutes=i), s.FATALITIES: i} for i in range(1000)))
        )
    )
    fig = tf.toll_figure(reports=reports, max_reports=200)
    line = _traces(fig, "highest", "fatalities", "others")[0]
    full = casualties.highest_so_far(reports, "fatalities", reporter="others")
    steps = set(zip(parts.date_text(full[casualties.T_US].to_numpy()), full[casualties.VALUE], strict=True))
    assert 2 < len(line.y) <= 52
    assert set(zip(line.x, line.y, strict=True)) <= steps
    assert (line.y[0], line.y[-1]) == (0, 999)
    assert "last rise of each period" in fig.layout.title.text
    dots = _traces(fig, "reports", "fatalities", "others")[0]
    assert len(dots.y) <= 200


def _incidents(n: int) -> pd.DataFrame:
    """Toll reports of n separate incidents over 20 days in three places (fixed seed)."""
    rng = np.random.default_rng(5)
    start = pd.Timestamp("2024-05-01T00:00Z")
    rows = [
        {
            s.TIMESTAMP: start + pd.Timedelta(days=int(day)),
            s.TIME_PRECISION: "day",
            s.FATALITIES: int(dead),
            s.INJURED: int(hurt) if hurt else None,
            s.LOCATION: str(place),
            s.TITLE: f"incident {i}",
        }
        for i, (day, dead, hurt, place) in enumerate(
            zip(
                rng.integers(0, 20, n),
                rng.integers(0, 30, n),
                rng.integers(0, 5, n),
                rng.choice(["Cotonou", "Parakou", "Kandi"], n),
                strict=True,
            )
        )
    ]
    return casualties.toll_reports(frames.prepare(_events(*rows)))


def test_totals_mode_draws_a_bar_per_period_with_count_and_deadliest() -> None:
    """Many incidents: per measure, a bar per day summing its figures; hover gives the count and the
    deadliest; layout.meta says the mode and the period."""
    reports = _incidents(80)
    assert casualties.default_mode(reports) == "totals"
    fig = tf.toll_figure(reports=reports, mode="totals")
    totals = casualties.period_totals(reports, "UTC")
    bars = _traces(fig, "totals")
    assert [bar.meta["measure"] for bar in bars] == ["fatalities", "injured"]
    assert all(isinstance(bar, go.Bar) for bar in bars)
    deaths = totals[totals[casualties.MEASURE] == "fatalities"]
    assert list(bars[0].y) == deaths[casualties.TOTAL].tolist()
    assert bars[0].x[0] == "2024-05-01T00:00:00"
    assert set(bars[0].width) == {86_400_000}
    first = deaths.iloc[0]
    assert bars[0].customdata[0][0] == "1 May 2024"
    assert bars[0].customdata[0][1] == f"in {first[casualties.EVENTS]} events"
    assert bars[0].customdata[0][2].startswith(first[casualties.DEADLIEST])
    meta = fig.layout.meta
    assert (meta["mode"], meta["period"], meta["events"], meta["reports"]) == (
        "totals",
        "day",
        80,
        len(reports),
    )
    assert "per day" in fig.layout.title.text


def test_totals_mode_keeps_the_anchor_line(bundled: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """The anchor line crosses the totals too."""
    fig = tf.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW, anchor=anchor, mode="totals")
    assert [shape.name for shape in fig.layout.shapes] == ["anchor"]


def test_toll_figure_refuses_an_unknown_mode() -> None:
    """mode must be one of casualties.MODES; the error names them and the value received."""
    with pytest.raises(ValueError, match=r"'reports', 'totals'; got 'sum'"):
        tf.toll_figure(reports=_incidents(3), mode="sum")
