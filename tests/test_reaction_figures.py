"""The reactions figures, tested as Plotly objects, and the standalone HTML page of a figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pytest

from tests.canonical import canonical_events
from timeline import display, reactions, store
from timeline import figure_parts as parts
from timeline import frame as frames
from timeline import reaction_figures as rf
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


def test_reactions_figure_puts_the_fastest_lane_on_top(first: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """y is categorical in rank order, reversed so that rank 1 is drawn at the top."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor)
    order = list(fig.layout.yaxis.categoryarray)
    assert order[-1] == first.sort_values(reactions.RANK)[reactions.LANE].iloc[0]
    assert order[0] == first.sort_values(reactions.RANK)[reactions.LANE].iloc[-1]
    assert len(order) == len(first) == fig.layout.meta["lanes"]


def test_reactions_figure_draws_a_range_bar_and_a_certainly_by_dot_per_type(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """Per event type: a bar from min to max latency (hours) and a marker at the max, the moment by which
    the reaction had certainly come (what ranks it), one legend entry; the subtitle says so."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor, log=False)
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
        islamic_state[reactions.MAX_US] / HOUR
    )
    assert all(t.marker.color == next(d for d in dots if d.name == t.name).marker.color for t in bars)
    assert "dot: by when it had certainly come, which ranks the rows" in fig.layout.title.text


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


def test_log_axis_draws_immediate_reactions_at_one_minute_and_says_so_once(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """On a log axis a latency of 0 is drawn at T+1 min; the axis title says so, not every hover."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor, log=True)
    bases = np.concatenate([np.asarray(t.base, dtype=float) for t in fig.data if t.type == "bar"])
    assert bases.min() == pytest.approx(1 / 60)
    assert fig.layout.xaxis.title.text.endswith("log scale: T+0 drawn at T+1 min")
    assert _texts(fig).count("T+1 min") == 1 + 2  # the title, and the first tick on the bottom and top axes
    hovers = np.concatenate([np.asarray(t.customdata)[:, 2] for t in fig.data if t.customdata is not None])
    assert not any("T+1 min" in text for text in hovers)


def test_the_default_scale_is_the_log_axis_with_t_plus_ticks(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """Unless asked for linear, the figure is on a log axis from T+1 min with T+ ticks from minutes to
    weeks, on which the first hour and the first day take most of the width of the bundled reactions."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor)
    axis = fig.layout.xaxis
    assert (axis.type, fig.layout.meta["log"]) == ("log", True)
    ticks = dict(zip(axis.tickvals, axis.ticktext, strict=True))
    assert {1 / 60: "T+1 min", 1: "T+1 h", 24: "T+1 d", 168: "T+1 wk"}.items() <= ticks.items()
    assert list(axis.tickvals) == sorted(axis.tickvals)
    low, high = axis.range
    assert low < np.log10(1 / 60) < np.log10(first[reactions.MAX_US].max() / HOUR) < high
    assert (np.log10(1) - low) / (high - low) > 0.4  # the first hour
    assert (np.log10(24) - low) / (high - low) > 0.7  # the first day
    assert rf.reacted_curve_figure(curve=reactions.reacted_curve(first)).layout.xaxis.type == "log"


def test_linear_axis_opens_where_most_had_reacted_with_a_button_for_the_whole_span(
    first: pd.DataFrame, anchor: reactions.Anchor
) -> None:
    """On a linear axis the bundled reactions open on the span by which 90% of lanes had certainly reacted;
    the subtitle counts the dots beyond it, and two buttons switch between that view and the whole span."""
    fig = rf.reactions_figure(reactions=first, anchor=anchor, log=False)
    high = np.sort(first[reactions.MAX_US].to_numpy() / HOUR)
    opened, whole = fig.layout.xaxis.range, high[-1]
    assert high[int(np.ceil(0.9 * len(high))) - 1] < opened[1] < whole
    beyond = int((high > opened[1]).sum())
    assert beyond == fig.layout.meta["beyond"] > 0
    assert f"the dots of {beyond} of {len(first)} lanes lie beyond it" in fig.layout.title.text
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == [rf.MOST_REACTIONS, rf.WHOLE_SPAN]
    most, everything = (b.args[0] for b in menu.buttons)
    assert list(most["xaxis.range"]) == list(opened)
    assert everything["xaxis.range"][1] > whole
    for view in (most, everything):
        top = view["xaxis.range"][1]
        assert max(view["xaxis.tickvals"]) <= top
        assert view["xaxis.ticktext"][0] == "T+0"
        assert view["xaxis2.tickvals"] == view["xaxis.tickvals"]


def test_linear_axis_shows_the_whole_span_when_it_is_not_much_wider() -> None:
    """When every reaction lies near the rest, the linear axis shows them all: no buttons, nothing beyond."""
    frame = frames.prepare(
        _events(
            {s.EVENT_ID: "a", s.EVENT_TYPE: "attack", s.TIMESTAMP: "2024-03-22T17:00Z"},
            *({s.TIMESTAMP: f"2024-03-22T{17 + n}:30Z"} for n in range(1, 6)),
        )
    )
    anchor = reactions.anchor_of(frame, "a")
    fig = rf.reactions_figure(
        reactions=reactions.first_reactions(frame, anchor=anchor), anchor=anchor, log=False
    )
    assert fig.layout.meta["beyond"] == 0
    assert not fig.layout.updatemenus
    assert fig.layout.xaxis.range[1] > 5.5


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
    rows = first[first[s.EVENT_ID] == podolyak[0]]
    assert podolyak[6] == display.hover_texts(parts.stated(rows, MOSCOW))[0]


def test_every_drawn_mark_carries_its_event_id(first: pd.DataFrame, anchor: reactions.Anchor) -> None:
    """Every trace with points has customdata whose first column is the event id of its lane's reaction, at
    that lane; meta lists the drawn event ids in rank order."""
    for log in (True, False):
        fig = rf.reactions_figure(reactions=first, anchor=anchor, log=log)
        lane_of = dict(
            zip(fig.layout.meta["event_ids"], reversed(fig.layout.yaxis.categoryarray), strict=True)
        )
        for trace in fig.data:
            assert trace.customdata is not None
            assert [lane_of[row[0]] for row in trace.customdata] == list(trace.y)
        ids = {row[0] for t in fig.data for row in t.customdata}
        assert ids == set(first[s.EVENT_ID])
        assert fig.layout.meta["event_ids"] == first[s.EVENT_ID].tolist()


def test_long_lane_names_are_cut_on_the_axis_unique_and_whole_in_the_hover() -> None:
    """Lane names over 32 characters are cut with "…" on the y axis, one label per lane even where names
    share their first 32 or their first and last characters; the hover has the whole name."""
    heads = "Military Forces of Russia (2000-) Military Intelligence"
    names = [
        heads + " Air Force",
        heads + " Navy",
        "Unidentified Armed Group (Russia) 1 of the" + " same tail" * 5,
        "Unidentified Armed Group (Russia) 2 of the" + " same tail" * 5,
        "Protesters (Russia)",
    ]
    frame = frames.prepare(
        _events(
            {s.EVENT_ID: "a", s.ACTOR: "gunmen", s.EVENT_TYPE: "attack", s.TIMESTAMP: "2024-03-22T17:00Z"},
            *({s.ACTOR: name, s.TIMESTAMP: f"2024-03-22T18:{n:02d}Z"} for n, name in enumerate(names)),
        )
    )
    anchor = reactions.anchor_of(frame, "a")
    first = reactions.first_reactions(frame, anchor=anchor)
    fig = rf.reactions_figure(reactions=first, anchor=anchor)
    labels = list(reversed(fig.layout.yaxis.categoryarray))
    assert len(set(labels)) == len(labels) == len(names)
    assert all(len(label) <= rf.LANE_LABEL_CHARS for label in labels)
    assert labels[-1] == "Protesters (Russia)"
    assert all("…" in label for label in labels[:-1])
    assert labels[0].startswith("Military Forces") and labels[0].endswith("Air Force")
    hover = {row[1] for t in fig.data for row in t.customdata}
    assert hover == set(names)


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
