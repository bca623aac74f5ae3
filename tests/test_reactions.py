"""Reaction latency from an anchor event: who reacted first, how fast, and how sure we can be."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.canonical import canonical_events
from timeline import frame as frames
from timeline import reactions, store
from timeline import schema as s
from timeline.frame import START_US, STOP_US

BUNDLED = "crocus-city-hall-2024"
BUNDLED_ANCHOR = "2024-03-22-attack-begins"
MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
ANCHOR_AT = "2024-03-22T17:00Z"  # the hand-made anchor: an attack known to the minute, stated in UTC


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return frames.prepare(store.load(BUNDLED, root=store.DEFAULT_ROOT))


def _events(*rows: dict) -> pa.Table:
    """Canonical events from a few fields per row: minute-precision UTC statements unless stated."""
    return canonical_events(*rows, event_type="statement", time_precision="minute", utc_offset_minutes=0)


def _anchor_row(**changes) -> dict:
    return {
        s.EVENT_ID: "anchor",
        s.ACTOR: "gunmen",
        s.EVENT_TYPE: "attack",
        s.TIMESTAMP: ANCHOR_AT,
        s.TITLE: "The attack",
        **changes,
    }


def _frame(*rows: dict, anchor: dict | None = None) -> pd.DataFrame:
    return frames.prepare(_events(_anchor_row(**(anchor or {})), *rows))


def _first(*rows: dict, anchor: dict | None = None, **options) -> pd.DataFrame:
    frame = _frame(*rows, anchor=anchor)
    return reactions.first_reactions(frame, anchor=reactions.anchor_of(frame, "anchor"), **options)


def _us(text: str) -> int:
    return pd.Timestamp(text).value // 1000


LATENCIES = [
    # reaction (timestamp, precision, UTC offset, end), expected (min_us, max_us), or None: not a reaction
    (("2024-03-22T17:05Z", "minute", 0, None), (4 * MINUTE, 6 * MINUTE)),
    (("2024-03-22T17:00Z", "minute", 0, None), (0, MINUTE)),
    (("2024-03-22T17:00:30Z", "second", 0, None), (0, 31_000_000)),
    (("2024-03-22T18:00Z", "hour", 0, None), (59 * MINUTE, 2 * HOUR)),
    # A day-precision reaction on the anchor's day: at once, or as late as the end of that day.
    (("2024-03-22T00:00Z", "day", 0, None), (0, 7 * HOUR)),
    # The same day stated in Moscow time runs 21:00-21:00 UTC.
    (("2024-03-21T21:00Z", "day", 180, None), (0, 4 * HOUR)),
    (("2024-03-01T00:00Z", "month", 0, None), (0, _us("2024-04-01") - _us(ANCHOR_AT))),
    # A stated end says how long it lasted, not when it began: the start's own minute counts.
    (("2024-03-22T17:10Z", "minute", 0, "2024-03-22T20:00Z"), (9 * MINUTE, 11 * MINUTE)),
    # Wholly before the anchor: not a reaction.
    (("2024-03-22T16:50Z", "minute", 0, None), None),
    (("2024-03-21T00:00Z", "day", 0, None), None),
    (("2024-03-22T16:30Z", "minute", 0, "2024-03-22T18:00Z"), None),
]


@pytest.mark.parametrize(("reaction", "expected"), LATENCIES)
def test_latency_bounds_follow_both_intervals(reaction: tuple, expected: tuple | None) -> None:
    """min = max(0, reaction start - anchor stop), max = reaction stop - anchor start; earlier events drop."""
    timestamp, precision, offset, end = reaction
    row = {s.TIMESTAMP: timestamp, s.TIME_PRECISION: precision, s.UTC_OFFSET_MINUTES: offset, s.END: end}
    first = _first(row)
    if expected is None:
        assert first.empty
        return
    assert len(first) == 1
    low, high = expected
    assert (first[reactions.MIN_US].iloc[0], first[reactions.MAX_US].iloc[0]) == (low, high)
    assert first[reactions.MID_US].iloc[0] == low + (high - low) // 2


def test_two_minute_times_five_minutes_apart_are_five_minutes_in_the_middle() -> None:
    """The middle of a latency between two minute-precision times is the difference the sources state."""
    first = _first({s.TIMESTAMP: "2024-03-22T17:05Z"})
    assert first[reactions.MID_US].iloc[0] == 5 * MINUTE


@pytest.mark.parametrize(
    ("reaction", "expected"),
    [
        # A day-precision anchor (22 March, UTC) widens every latency to the whole of its day.
        ("2024-03-22T17:05Z", (0, 17 * HOUR + 6 * MINUTE)),
        ("2024-03-23T01:00Z", (HOUR, DAY + HOUR + MINUTE)),
        ("2024-03-21T23:59Z", None),
    ],
)
def test_a_coarse_anchor_widens_every_latency(reaction: str, expected: tuple | None) -> None:
    """With an anchor known only to the day, a reaction could be as early as the day's end allows."""
    anchor = {s.TIMESTAMP: "2024-03-22T00:00Z", s.TIME_PRECISION: "day"}
    first = _first({s.TIMESTAMP: reaction}, anchor=anchor)
    if expected is None:
        assert first.empty
    else:
        assert tuple(first[[reactions.MIN_US, reactions.MAX_US]].iloc[0]) == expected


def test_coarse_anchor_interval_is_in_the_anchor() -> None:
    """anchor_of gives the interval the anchor's start could lie in, and its title."""
    frame = _frame(
        anchor={s.TIMESTAMP: "2024-03-21T21:00Z", s.TIME_PRECISION: "day", s.UTC_OFFSET_MINUTES: 180}
    )
    anchor = reactions.anchor_of(frame, "anchor")
    assert anchor == reactions.Anchor(
        "anchor", _us("2024-03-21T21:00Z"), _us("2024-03-22T21:00Z"), "The attack"
    )


def test_an_anchor_with_a_duration_is_time_zero_at_its_start() -> None:
    """An anchor with a stated end keeps the interval of its start, not the whole duration."""
    frame = _frame(anchor={s.END: "2024-03-22T17:13Z"})
    anchor = reactions.anchor_of(frame, "anchor")
    assert (anchor.start_us, anchor.stop_us) == (_us(ANCHOR_AT), _us(ANCHOR_AT) + MINUTE)


@pytest.mark.parametrize(
    ("anchor_id", "expected"),
    [(None, None), ("no such event", None), ("anchor", "anchor")],
)
def test_anchor_of_needs_an_id_in_the_frame(anchor_id: str | None, expected: str | None) -> None:
    """anchor_of is None without an id, or with an id the frame does not hold."""
    anchor = reactions.anchor_of(_frame(), anchor_id)
    assert (anchor.event_id if anchor else None) == expected


def test_an_untitled_anchor_is_named_by_type_and_actor() -> None:
    """An anchor without a title is called by its event type and actor."""
    anchor = reactions.anchor_of(_frame(anchor={s.TITLE: None}), "anchor")
    assert anchor.title == "attack by gunmen"


def test_each_lane_keeps_its_first_reaction_only() -> None:
    """A lane's first reaction is its earliest start; ties go to the earlier stop, then the event id."""
    first = _first(
        {s.EVENT_ID: "late", s.ACTOR: "A", s.TIMESTAMP: "2024-03-22T19:00Z"},
        {s.EVENT_ID: "early", s.ACTOR: "A", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.EVENT_ID: "b-hour", s.ACTOR: "B", s.TIMESTAMP: "2024-03-22T18:00Z", s.TIME_PRECISION: "hour"},
        {s.EVENT_ID: "b-2", s.ACTOR: "B", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.EVENT_ID: "b-1", s.ACTOR: "B", s.TIMESTAMP: "2024-03-22T18:00Z"},
    )
    assert dict(zip(first[reactions.LANE], first[s.EVENT_ID], strict=True)) == {"A": "early", "B": "b-1"}


def test_lanes_are_ranked_fastest_first() -> None:
    """Rank 1 is the smallest middle latency; equal middles go to the smaller maximum, then the lane name."""
    first = _first(
        {s.ACTOR: "slow", s.TIMESTAMP: "2024-03-23T17:00Z"},
        {s.ACTOR: "fast", s.TIMESTAMP: "2024-03-22T17:30Z"},
        {s.ACTOR: "b same", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.ACTOR: "a same", s.TIMESTAMP: "2024-03-22T18:00Z"},
    )
    assert first[reactions.LANE].tolist() == ["fast", "a same", "b same", "slow"]
    assert first[reactions.RANK].tolist() == [1, 2, 3, 4]
    assert list(first.columns) == list(reactions.REACTION_COLUMNS)


def test_the_anchors_own_actor_reacts_but_the_anchor_does_not() -> None:
    """The anchor's actor's later events count; the anchor itself never does, whatever types are asked."""
    later_claim = {
        s.EVENT_ID: "claim",
        s.ACTOR: "gunmen",
        s.EVENT_TYPE: "claim",
        s.TIMESTAMP: "2024-03-22T19:00Z",
    }
    first = _first(later_claim, types=["attack", "claim"])
    assert first[s.EVENT_ID].tolist() == ["claim"]


def test_actors_with_no_reaction_are_listed_as_silent() -> None:
    """Lanes without a reaction are no rows; silent_lanes names them (by name), including the anchor's."""
    frame = _frame(
        {s.ACTOR: "speaker", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.ACTOR: "early bird", s.TIMESTAMP: "2024-03-22T12:00Z"},
        {s.ACTOR: "counter", s.EVENT_TYPE: "casualty_update", s.TIMESTAMP: "2024-03-22T20:00Z"},
    )
    first = reactions.first_reactions(frame, anchor=reactions.anchor_of(frame, "anchor"))
    assert first[reactions.LANE].tolist() == ["speaker"]
    assert reactions.silent_lanes(frame, first) == ["counter", "early bird", "gunmen"]


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (None, ["condoler", "speaker"]),
        (["condolence"], ["condoler"]),
        (["casualty_update"], ["counter"]),
        ([], []),
    ],
)
def test_types_choose_what_counts_as_a_reaction(types: list[str] | None, expected: list[str]) -> None:
    """By default every type but attack and casualty_update reacts; `types` narrows or widens that."""
    first = _first(
        {s.ACTOR: "speaker", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.ACTOR: "condoler", s.EVENT_TYPE: "condolence", s.TIMESTAMP: "2024-03-22T17:30Z"},
        {s.ACTOR: "counter", s.EVENT_TYPE: "casualty_update", s.TIMESTAMP: "2024-03-22T17:20Z"},
        types=types,
    )
    assert first[reactions.LANE].tolist() == expected


def test_reaction_types_are_the_present_types_but_attack_and_casualty_update() -> None:
    """reaction_types lists the frame's types that react by default, sorted."""
    frame = _frame(
        {s.EVENT_TYPE: "condolence", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.EVENT_TYPE: "casualty_update", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.EVENT_TYPE: "claim", s.TIMESTAMP: "2024-03-22T18:00Z"},
    )
    assert reactions.reaction_types(frame) == ["claim", "condolence"]


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("actor", ["a1", "a2", "a3"]),
        ("group", ["Russia", "(not stated)"]),
        ("type", ["official", "(not stated)"]),
    ],
)
def test_lanes_can_be_actors_groups_or_types(by: str, expected: list[str]) -> None:
    """by picks the lane column; a null group or type is the lane "(not stated)"."""
    first = _first(
        {s.ACTOR: "a1", s.ACTOR_GROUP: "Russia", s.ACTOR_TYPE: "official", s.TIMESTAMP: "2024-03-22T17:10Z"},
        {s.ACTOR: "a2", s.ACTOR_GROUP: "Russia", s.ACTOR_TYPE: "official", s.TIMESTAMP: "2024-03-22T17:20Z"},
        {s.ACTOR: "a3", s.TIMESTAMP: "2024-03-22T17:30Z"},
        by=by,
    )
    assert first[reactions.LANE].tolist() == expected


def test_an_unknown_grouping_is_refused_by_name() -> None:
    """by must be actor, group or type; the error names the allowed values and the one received."""
    frame = _frame()
    with pytest.raises(ValueError, match=r"'actor', 'group', 'type'; got 'country'"):
        reactions.first_reactions(frame, anchor=reactions.anchor_of(frame, "anchor"), by="country")


def test_an_empty_frame_has_no_reactions() -> None:
    """No events: no reactions (with every column), no silent lanes, an empty curve."""
    empty = frames.prepare(s.empty_table())
    anchor = reactions.Anchor("gone", _us(ANCHOR_AT), _us(ANCHOR_AT) + MINUTE, "gone")
    first = reactions.first_reactions(empty, anchor=anchor)
    assert first.empty
    assert list(first.columns) == list(reactions.REACTION_COLUMNS)
    assert reactions.silent_lanes(empty, first) == []
    assert reactions.reacted_curve(first).empty
    assert reactions.anchor_of(empty, "gone") is None


def test_reacted_curve_counts_certain_and_possible_lanes() -> None:
    """certain counts lanes whose max is reached, possible those whose min is; one row per bound and T+0."""
    first = _first(
        {s.ACTOR: "minute", s.TIMESTAMP: "2024-03-22T17:05Z"},
        {s.ACTOR: "day", s.TIMESTAMP: "2024-03-22T00:00Z", s.TIME_PRECISION: "day"},
    )
    curve = reactions.reacted_curve(first)
    assert curve.to_dict("list") == {
        reactions.T_US: [0, 4 * MINUTE, 6 * MINUTE, 7 * HOUR],
        reactions.CERTAIN: [0, 0, 1, 2],
        reactions.POSSIBLE: [1, 2, 2, 2],
    }


def test_relative_hours_are_hours_since_the_anchor_start() -> None:
    """relative_hours: UTC microseconds to signed hours since the anchor's start."""
    anchor = reactions.Anchor("a", _us(ANCHOR_AT), _us(ANCHOR_AT) + MINUTE, "a")
    hours = reactions.relative_hours(np.array([_us(ANCHOR_AT) - HOUR, _us(ANCHOR_AT) + 90 * MINUTE]), anchor)
    assert hours.tolist() == [-1.0, 1.5]


@settings(max_examples=150, deadline=None)
@given(
    anchor_minutes=st.integers(0, 60 * 24 * 40),
    anchor_precision=st.sampled_from(s.PRECISIONS[:5]),
    reaction_minutes=st.integers(0, 60 * 24 * 60),
    reaction_precision=st.sampled_from(s.PRECISIONS[:5]),
    offset=st.sampled_from([0, 180, -240, 330]),
)
def test_latency_bounds_hold_for_any_intervals(
    anchor_minutes: int, anchor_precision: str, reaction_minutes: int, reaction_precision: str, offset: int
) -> None:
    """For any pair of intervals: 0 <= min <= mid <= max, and the bounds are the documented formulas."""
    base = pd.Timestamp("2024-01-01T00:00Z")
    reaction = {
        s.EVENT_ID: "r",
        s.TIMESTAMP: _aligned(base + pd.Timedelta(minutes=reaction_minutes), reaction_precision, offset),
        s.TIME_PRECISION: reaction_precision,
        s.UTC_OFFSET_MINUTES: offset,
    }
    anchor = {
        s.TIMESTAMP: _aligned(base + pd.Timedelta(minutes=anchor_minutes), anchor_precision, 0),
        s.TIME_PRECISION: anchor_precision,
    }
    frame = _frame(reaction, anchor=anchor)
    origin = reactions.anchor_of(frame, "anchor")
    first = reactions.first_reactions(frame, anchor=origin)
    row = frame[frame[s.EVENT_ID] == "r"].iloc[0]
    if row[STOP_US] <= origin.start_us:
        assert first.empty
        return
    low, mid, high = (
        int(first[name].iloc[0]) for name in (reactions.MIN_US, reactions.MID_US, reactions.MAX_US)
    )
    assert 0 <= low <= mid <= high
    assert low == max(0, row[START_US] - origin.stop_us)
    assert high == row[STOP_US] - origin.start_us


def _aligned(moment: pd.Timestamp, precision: str, offset: int) -> str:
    """The start of the precision's unit holding moment, in the local time of offset, as UTC text."""
    local = (moment + pd.Timedelta(minutes=offset)).tz_localize(None)
    unit = {"second": "s", "minute": "min", "hour": "h", "day": "D"}.get(precision)
    start = local.floor(unit) if unit else local.normalize().replace(day=1)
    return (start - pd.Timedelta(minutes=offset)).tz_localize("UTC").isoformat()


def test_bundled_first_reactions_come_within_hours_of_the_attack(bundled: pd.DataFrame) -> None:
    """On the bundled data the fastest lane reacted within 6 h of 16:58 UTC; nothing precedes the anchor."""
    anchor = reactions.anchor_of(bundled, BUNDLED_ANCHOR)
    assert pd.Timestamp(anchor.start_us, unit="us", tz="UTC") == pd.Timestamp("2024-03-22T16:58Z")
    assert anchor.stop_us - anchor.start_us == MINUTE
    first = reactions.first_reactions(bundled, anchor=anchor)
    fastest = first[first[reactions.RANK] == 1].iloc[0]
    assert fastest[reactions.MAX_US] < 6 * HOUR
    assert (first[reactions.MIN_US] >= 0).all()
    assert (first[STOP_US] > anchor.start_us).all()
    assert {"Islamic State", "White House", "Radoslaw Sikorski"} <= set(first[reactions.LANE])
    claim = first[first[reactions.LANE] == "Islamic State"].iloc[0]
    assert claim[s.EVENT_TYPE] == "claim"


def test_bundled_reacted_curve_only_rises(bundled: pd.DataFrame) -> None:
    """The bundled curve never falls, never counts more certain than possible lanes, and ends with all."""
    first = reactions.first_reactions(bundled, anchor=reactions.anchor_of(bundled, BUNDLED_ANCHOR))
    curve = reactions.reacted_curve(first)
    for column in (reactions.T_US, reactions.CERTAIN, reactions.POSSIBLE):
        assert (np.diff(curve[column].to_numpy()) >= 0).all()
    assert (curve[reactions.CERTAIN] <= curve[reactions.POSSIBLE]).all()
    assert curve[reactions.CERTAIN].iloc[-1] == curve[reactions.POSSIBLE].iloc[-1] == len(first)


def test_bundled_default_anchor_is_the_declared_one(bundled: pd.DataFrame) -> None:
    """The declared anchor opens the reactions view; focus_window still spans it (existing behaviour)."""
    assert reactions.default_anchor(bundled, BUNDLED_ANCHOR) == BUNDLED_ANCHOR
    lo, hi = reactions.focus_window(reactions.anchor_of(bundled, BUNDLED_ANCHOR))
    start = reactions.anchor_of(bundled, BUNDLED_ANCHOR).start_us
    assert (start - lo, hi - start) == (reactions.FOCUS_BEFORE_US, reactions.FOCUS_AFTER_US)


def test_light_frame_with_details_gives_the_same_first_reactions(bundled: pd.DataFrame) -> None:
    """On the page's light frame, the chosen rows' title and source come from the details table."""
    table = store.load(BUNDLED, root=store.DEFAULT_ROOT)
    light = frames.prepare(table.select(list(frames.LIGHT_COLUMNS)))
    anchor = reactions.anchor_of(bundled, BUNDLED_ANCHOR)
    details = table.select(list(frames.DETAIL_COLUMNS))
    expected = reactions.first_reactions(bundled, anchor=anchor)
    pd.testing.assert_frame_equal(reactions.first_reactions(light, anchor=anchor, details=details), expected)
