"""The reactions and casualties figures, tested as Plotly objects, and the standalone HTML page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pytest

from tests.canonical import canonical_events
from timeline import aftermath_figures as af
from timeline import casualties, reactions, store
from timeline import frame as frames
from timeline import schema as s
from timeline.errors import UsageError

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


@pytest.mark.parametrize(
    ("us", "rounding", "expected"),
    [
        (0, "nearest", "T+0"),
        (45_000_000, "nearest", "T+45 s"),
        (45_000_000, "down", "T+0"),
        (45_000_000, "up", "T+1 min"),
        (12 * MINUTE, "nearest", "T+12 min"),
        (3 * HOUR + 12 * MINUTE, "nearest", "T+3 h 12 min"),
        (4 * HOUR, "nearest", "T+4 h"),
        (28 * HOUR + 40 * MINUTE, "nearest", "T+1 d 5 h"),
        (28 * HOUR + 40 * MINUTE, "down", "T+1 d 4 h"),
        (48 * HOUR, "nearest", "T+2 d"),
    ],
)
def test_latency_text_reads_like_a_clock(us: int, rounding: str, expected: str) -> None:
    """Latencies read as T+ minutes, hours and minutes, or days and hours; bounds round outwards."""
    assert af.latency_text(us, rounding=rounding) == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (168 * MINUTE, 170 * MINUTE, "T+2 h 49 min"),
        (0, 4 * HOUR + 2 * MINUTE, "between T+0 and T+4 h 2 min"),
        (90 * MINUTE + 30_000_000, 3 * HOUR + 30_000_000, "between T+1 h 30 min and T+3 h 1 min"),
    ],
)
def test_latency_range_text_says_between_when_the_range_is_wide(low: int, high: int, expected: str) -> None:
    """Two precise times give one latency; a coarse one gives the range it could lie in."""
    assert af.latency_range_text(low, high) == expected


def test_reactions_figure_puts_the_fastest_lane_on_top(first: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """y is categorical in rank order, reversed so that rank 1 is drawn at the top."""
    fig = af.reactions_figure(reactions=first, anchor=anchor)
    order = list(fig.layout.yaxis.categoryarray)
    assert order[-1] == first.sort_values(reactions.RANK)[reactions.LANE].iloc[0]
    assert order[0] == first.sort_values(reactions.RANK)[reactions.LANE].iloc[-1]
    assert len(order) == len(first) == fig.layout.meta["lanes"]


def test_reactions_figure_draws_a_range_bar_and_a_middle_dot_per_type(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """Per event type: a bar from min to max latency (hours) and a marker at the middle, one legend entry."""
    fig = af.reactions_figure(reactions=first, anchor=anchor)
    bars = [t for t in fig.data if t.type == "bar"]
    dots = [t for t in fig.data if t.type == "scatter" and t.mode == "markers" and t.showlegend is not False]
    types = set(first[s.EVENT_TYPE])
    assert {t.name for t in bars} == {t.name for t in dots} == types
    islamic_state = first[first[reactions.LANE] == "Islamic State"].iloc[0]
    claim_bar = next(t for t in bars if t.name == "claim")
    row = list(claim_bar.y).index("Islamic State")
    assert claim_bar.base[row] == pytest.approx(islamic_state[reactions.MIN_US] / HOUR)
    assert claim_bar.base[row] + claim_bar.x[row] == pytest.approx(islamic_state[reactions.MAX_US] / HOUR)
    claim_dot = next(t for t in dots if t.name == "claim")
    assert claim_dot.x[list(claim_dot.y).index("Islamic State")] == pytest.approx(
        islamic_state[reactions.MID_US] / HOUR
    )
    assert all(t.marker.color == next(d for d in dots if d.name == t.name).marker.color for t in bars)


@pytest.mark.parametrize(("log", "axis_type"), [(False, "linear"), (True, "log")])
def test_reactions_figure_axis_is_hours_after_the_anchor(
    first: pd.DataFrame, anchor: reactions.Anchor, log: bool, axis_type: str
) -> None:
    """The x axis is hours after the anchor, named by its title with T+, linear or logarithmic."""
    fig = af.reactions_figure(reactions=first, anchor=anchor, log=log)
    assert fig.layout.xaxis.type == axis_type
    assert fig.layout.xaxis.title.text.startswith("hours after Gunmen open fire")
    assert "(T+)" in fig.layout.xaxis.title.text
    assert all(str(text).startswith("T+") for text in fig.layout.xaxis.ticktext)


def test_log_axis_draws_immediate_reactions_at_one_minute(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """On a log axis a latency of 0 is drawn at T+1 min, and the hover says so."""
    fig = af.reactions_figure(reactions=first, anchor=anchor, log=True)
    bases = np.concatenate([np.asarray(t.base, dtype=float) for t in fig.data if t.type == "bar"])
    assert bases.min() == pytest.approx(1 / 60)
    hovers = np.concatenate([np.asarray(t.customdata)[:, 2] for t in fig.data if t.customdata is not None])
    assert any("T+0 is drawn at T+1 min" in text for text in hovers)


def test_reactions_hover_holds_lane_latency_title_and_source(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """Hover holds lane, T+ latency, title, type, stated time and source; customdata[0] is the event id."""
    fig = af.reactions_figure(reactions=first, anchor=anchor, tz=MOSCOW)
    podolyak = next(
        row
        for t in fig.data
        if t.type == "scatter" and t.customdata is not None
        for row in t.customdata
        if row[1] == "Mykhailo Podolyak"
    )
    assert podolyak[0] == "2024-03-22-podolyak-denies-ukraine-role"
    assert podolyak[2] == "T+2 h 49 min"
    assert podolyak[6] == "22 Mar 2024 22:47"
    ids = {row[0] for t in fig.data if t.customdata is not None for row in t.customdata}
    assert ids == set(first[s.EVENT_ID])


def test_reactions_figure_grows_with_its_lanes(first: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """More lanes make a taller figure, so that every lane stays readable."""
    small = af.reactions_figure(reactions=first.head(5), anchor=anchor)
    large = af.reactions_figure(reactions=first, anchor=anchor)
    assert large.layout.height > small.layout.height
    assert large.layout.height >= 20 * len(first)


def test_reactions_figure_escapes_every_text() -> None:
    """Titles, lanes, types and sources holding markup reach Plotly escaped."""
    frame, anchor = _hostile()
    first = reactions.first_reactions(frame, anchor=anchor, types=["<b>odd</b>"])
    fig = af.reactions_figure(reactions=first, anchor=anchor, title=SCRIPT)
    text = _texts(fig)
    assert "<script>" not in text
    assert "<b>odd</b>" not in text
    assert "&lt;script&gt;" in text
    assert fig.layout.yaxis.categoryarray == ("&lt;script&gt;alert(1)&lt;/script&gt;",)


def test_empty_reactions_say_so(anchor: reactions.Anchor) -> None:
    """No reactions: a sentence instead of empty axes, in both reaction figures."""
    nothing = reactions.first_reactions(frames.prepare(s.empty_table()), anchor=anchor)
    fig = af.reactions_figure(reactions=nothing, anchor=anchor)
    assert [a.text for a in fig.layout.annotations] == [af.EMPTY_REACTIONS]
    assert not fig.data
    curve = af.reacted_curve_figure(curve=reactions.reacted_curve(nothing))
    assert [a.text for a in curve.layout.annotations] == [af.EMPTY_REACTIONS]


@pytest.mark.parametrize(("log", "axis_type"), [(False, "linear"), (True, "log")])
def test_reacted_curve_figure_has_two_shaded_step_lines(
    first: pd.DataFrame, log: bool, axis_type: str
) -> None:
    """Two step lines (certainly, possibly reacted) with the area between them shaded; x in hours."""
    curve = reactions.reacted_curve(first)
    fig = af.reacted_curve_figure(curve=curve, log=log)
    assert [t.name for t in fig.data] == ["certainly reacted", "possibly reacted"]
    assert all(t.line.shape == "hv" for t in fig.data)
    assert fig.data[1].fill == "tonexty"
    assert list(fig.data[0].y) == curve[reactions.CERTAIN].tolist()
    assert fig.layout.xaxis.type == axis_type
    if log:
        assert min(fig.data[0].x) == pytest.approx(1 / 60)
    else:
        assert list(fig.data[0].x) == pytest.approx((curve[reactions.T_US] / HOUR).tolist())


def test_toll_figure_has_a_row_per_measure_with_reports_and_highest_line(bundled: pd.DataFrame) -> None:
    """Fatalities and injured each get markers for every report and a step line of the highest so far."""
    reports = casualties.toll_reports(bundled)
    fig = af.toll_figure(reports=reports, tz=MOSCOW)
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
    fig = af.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW)
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
    fig = af.toll_figure(reports=casualties.toll_reports(bundled), tz=MOSCOW, anchor=anchor)
    line = next(shape for shape in fig.layout.shapes if shape.name == "anchor")
    assert (line.x0, line.yref, line.y0, line.y1) == ("2024-03-22T19:58:00", "paper", 0, 1)
    assert any(a.text.startswith("anchor: Gunmen open fire") for a in fig.layout.annotations)


def test_toll_figure_escapes_every_text() -> None:
    """Reporter, title and source holding markup reach Plotly escaped."""
    frame, anchor = _hostile()
    fig = af.toll_figure(reports=casualties.toll_reports(frame), anchor=anchor)
    text = _texts(fig)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_empty_toll_says_so() -> None:
    """No report: a sentence instead of empty axes, and the zone still named."""
    fig = af.toll_figure(reports=casualties.toll_reports(frames.prepare(s.empty_table())), tz=MOSCOW)
    assert [a.text for a in fig.layout.annotations] == [af.EMPTY_TOLL]
    assert fig.layout.xaxis.title.text.startswith("Time in Europe/Moscow")


@pytest.fixture(scope="module")
def page(first: pd.DataFrame, anchor: reactions.Anchor) -> bytes:
    fig = af.reactions_figure(reactions=first, anchor=anchor)
    return af.standalone_html(fig, title="Reactions <of> the attack")


def test_standalone_html_embeds_plotly_and_reaches_no_cdn(page: bytes) -> None:
    """The page holds plotly.js itself (over 3 MB) and names no CDN, so it opens offline."""
    text = page.decode("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert len(page) > 3_000_000
    assert "Plotly.newPlot" in text
    assert "plotly.js v" in text  # the library's own banner: it is inline, not linked
    assert "https://cdn" not in text
    assert "cdn.plot.ly" not in text
    assert '<script src="http' not in text


def test_standalone_html_title_is_escaped(page: bytes) -> None:
    """The page title is the given title, escaped."""
    assert b"<title>Reactions &lt;of&gt; the attack</title>" in page


def test_reactions_figure_draws_only_the_fastest_lanes_when_there_are_many(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """Past max_lanes, the fastest lanes are drawn and the heading says how many reacted in all."""
    fig = af.reactions_figure(reactions=first, anchor=anchor, max_lanes=10)
    assert len(fig.layout.yaxis.categoryarray) == 10
    assert fig.layout.yaxis.categoryarray[-1] == first[reactions.LANE].iloc[0]
    assert f"The 10 fastest of {len(first)} are shown" in fig.layout.title.text


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
    fig = af.toll_figure(reports=reports, max_reports=200)
    dots = next(t for t in fig.data if t.name == "fatalities: each report")
    highest = casualties.highest_so_far(reports, "fatalities")
    assert len(dots.y) < 400
    assert set(highest[s.EVENT_ID]) <= {row[0] for row in dots.customdata}
    assert max(dots.y) == 2999 and min(dots.y) == 0
    step = next(t for t in fig.data if t.name == "fatalities: highest figure reported so far")
    assert list(step.y) == highest[casualties.VALUE].tolist()
    assert "of 3,000 reports drawn" in fig.layout.title.text


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda a: af.reactions_figure(reactions=pd.DataFrame(), anchor=a, max_lanes=0),
            ValueError,
            "max_lanes",
        ),
        (lambda a: af.toll_figure(reports=pd.DataFrame(), max_reports=1), ValueError, "max_reports"),
        (lambda a: af.toll_figure(reports=pd.DataFrame(), tz="Mars/Olympus"), UsageError, "Mars/Olympus"),
        (
            lambda a: af.reactions_figure(reactions=pd.DataFrame(), anchor=a, tz="Mars/Olympus"),
            UsageError,
            "Mars",
        ),
    ],
)
def test_bad_arguments_are_refused_by_name(
    anchor: reactions.Anchor, build, error: type, message: str
) -> None:
    """Wrong limits or zones raise an error naming the argument or the value."""
    with pytest.raises(error, match=message):
        build(anchor)
