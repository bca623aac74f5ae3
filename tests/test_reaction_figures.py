"""The reactions figures, tested as Plotly objects, and the standalone HTML page of a figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pytest

from tests.canonical import canonical_events
from timeline import figure_parts as parts
from timeline import frame as frames
from timeline import reaction_figures as rf
from timeline import reactions, store
from timeline import schema as s
from timeline import toll_figures as tf
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
    assert rf.latency_text(us, rounding=rounding) == expected


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
    assert rf.latency_range_text(low, high) == expected


def test_reactions_figure_puts_the_fastest_lane_on_top(first: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """y is categorical in rank order, reversed so that rank 1 is drawn at the top."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor)
    order = list(fig.layout.yaxis.categoryarray)
    assert order[-1] == first.sort_values(reactions.RANK)[reactions.LANE].iloc[0]
    assert order[0] == first.sort_values(reactions.RANK)[reactions.LANE].iloc[-1]
    assert len(order) == len(first) == fig.layout.meta["lanes"]


def test_reactions_figure_draws_a_range_bar_and_a_middle_dot_per_type(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """Per event type: a bar from min to max latency (hours) and a marker at the middle, one legend entry."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor)
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
    fig = rf.reactions_figure(reactions=first, anchor=anchor, log=log)
    assert fig.layout.xaxis.type == axis_type
    assert fig.layout.xaxis.title.text.startswith("hours after Gunmen open fire")
    assert "(T+)" in fig.layout.xaxis.title.text
    assert all(str(text).startswith("T+") for text in fig.layout.xaxis.ticktext)


def test_log_axis_draws_immediate_reactions_at_one_minute(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """On a log axis a latency of 0 is drawn at T+1 min, and the hover says so."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor, log=True)
    bases = np.concatenate([np.asarray(t.base, dtype=float) for t in fig.data if t.type == "bar"])
    assert bases.min() == pytest.approx(1 / 60)
    hovers = np.concatenate([np.asarray(t.customdata)[:, 2] for t in fig.data if t.customdata is not None])
    assert any("T+0 is drawn at T+1 min" in text for text in hovers)


def test_reactions_hover_holds_lane_latency_title_and_source(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """Hover holds lane, T+ latency, title, type, stated time and source; customdata[0] is the event id."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor, tz=MOSCOW)
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
    small = rf.reactions_figure(reactions=first.head(5), anchor=anchor)
    large = rf.reactions_figure(reactions=first, anchor=anchor)
    assert large.layout.height > small.layout.height
    assert large.layout.height >= 20 * len(first)


def test_reactions_figure_escapes_every_text() -> None:
    """Titles, lanes, types and sources holding markup reach Plotly escaped."""
    frame, anchor = _hostile()
    first = reactions.first_reactions(frame, anchor=anchor, types=["<b>odd</b>"])
    fig = rf.reactions_figure(reactions=first, anchor=anchor, title=SCRIPT)
    text = _texts(fig)
    assert "<script>" not in text
    assert "<b>odd</b>" not in text
    assert "&lt;script&gt;" in text
    assert fig.layout.yaxis.categoryarray == ("&lt;script&gt;alert(1)&lt;/script&gt;",)


def test_empty_reactions_say_so(anchor: reactions.Anchor) -> None:
    """No reactions: a sentence instead of empty axes, in both reaction figures."""
    nothing = reactions.first_reactions(frames.prepare(s.empty_table()), anchor=anchor)
    fig = rf.reactions_figure(reactions=nothing, anchor=anchor)
    assert [a.text for a in fig.layout.annotations] == [rf.EMPTY_REACTIONS]
    assert not fig.data
    curve = rf.reacted_curve_figure(curve=reactions.reacted_curve(nothing))
    assert [a.text for a in curve.layout.annotations] == [rf.EMPTY_REACTIONS]


@pytest.mark.parametrize(("log", "axis_type"), [(False, "linear"), (True, "log")])
def test_reacted_curve_figure_has_two_shaded_step_lines(
    first: pd.DataFrame, log: bool, axis_type: str
) -> None:
    """Two step lines (certainly, possibly reacted) with the area between them shaded; x in hours."""
    curve = reactions.reacted_curve(first)
    fig = rf.reacted_curve_figure(curve=curve, log=log)
    assert [t.name for t in fig.data] == ["certainly reacted", "possibly reacted"]
    assert all(t.line.shape == "hv" for t in fig.data)
    assert fig.data[1].fill == "tonexty"
    assert list(fig.data[0].y) == curve[reactions.CERTAIN].tolist()
    assert fig.layout.xaxis.type == axis_type
    if log:
        assert min(fig.data[0].x) == pytest.approx(1 / 60)
    else:
        assert list(fig.data[0].x) == pytest.approx((curve[reactions.T_US] / HOUR).tolist())


@pytest.fixture(scope="module")
def page(first: pd.DataFrame, anchor: reactions.Anchor) -> bytes:
    fig = rf.reactions_figure(reactions=first, anchor=anchor)
    return parts.standalone_html(fig, title="Reactions <of> the attack")


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
    fig = rf.reactions_figure(reactions=first, anchor=anchor, max_lanes=10)
    assert len(fig.layout.yaxis.categoryarray) == 10
    assert fig.layout.yaxis.categoryarray[-1] == first[reactions.LANE].iloc[0]
    assert f"The 10 fastest of {len(first)} are shown" in fig.layout.title.text


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda a: rf.reactions_figure(reactions=pd.DataFrame(), anchor=a, max_lanes=0),
            ValueError,
            "max_lanes",
        ),
        (lambda a: tf.toll_figure(reports=pd.DataFrame(), max_reports=1), ValueError, "max_reports"),
        (lambda a: tf.toll_figure(reports=pd.DataFrame(), tz="Mars/Olympus"), UsageError, "Mars/Olympus"),
        (
            lambda a: rf.reactions_figure(reactions=pd.DataFrame(), anchor=a, tz="Mars/Olympus"),
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
