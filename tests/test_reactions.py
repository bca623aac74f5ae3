"""Reaction latency from an anchor event: who reacted first, how fast, and how sure we can be."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.canonical import canonical_events
from timeline import display, reactions, store
from timeline import frame as frames
from timeline import schema as s
from timeline.frame import START_US, STOP_US

BUNDLED = "crocus-city-hall-2024"
BUNDLED_ANCHOR = "2024-03-22-attack-begins"
PODOLYAK = "2024-03-22-podolyak-denies-ukraine-role"  # known to the minute: 22:47 Kyiv time, T+2 h 49 min
IRAN_FM = "2024-03-22-iran-fm-condemns"  # known to the day (22 March, Tehran time): T+0 to T+3 h 32 min
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


def test_two_minute_times_five_minutes_apart_read_as_five_minutes() -> None:
    """A latency between two minute-precision times reads as the difference the sources state."""
    first = _first({s.TIMESTAMP: "2024-03-22T17:05Z"})
    low, high = first[reactions.MIN_US].iloc[0], first[reactions.MAX_US].iloc[0]
    assert reactions.latency_range_text(low, high) == "T+5 min"


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
    """A lane's first reaction had certainly come earliest (smallest max); ties: the smaller min, then id."""
    first = _first(
        {s.EVENT_ID: "late", s.ACTOR: "A", s.TIMESTAMP: "2024-03-22T19:00Z"},
        {s.EVENT_ID: "early", s.ACTOR: "A", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.EVENT_ID: "b-hour", s.ACTOR: "B", s.TIMESTAMP: "2024-03-22T18:00Z", s.TIME_PRECISION: "hour"},
        {s.EVENT_ID: "b-2", s.ACTOR: "B", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.EVENT_ID: "b-1", s.ACTOR: "B", s.TIMESTAMP: "2024-03-22T18:00Z"},
        # Same max (the end of 22 March, UTC): the hour may have come at once, the minute not before 23:59.
        {s.EVENT_ID: "c-minute", s.ACTOR: "C", s.TIMESTAMP: "2024-03-22T23:59Z"},
        {s.EVENT_ID: "c-hour", s.ACTOR: "C", s.TIMESTAMP: "2024-03-22T23:00Z", s.TIME_PRECISION: "hour"},
    )
    assert dict(zip(first[reactions.LANE], first[s.EVENT_ID], strict=True)) == {
        "A": "early",
        "B": "b-1",
        "C": "c-hour",
    }


def test_a_precise_reaction_certainly_earlier_beats_a_coarse_one_that_starts_earlier() -> None:
    """A lane's statement known only to its day (T+0 to T+7 h) loses to one known to the minute at T+1 h."""
    first = _first(
        {s.EVENT_ID: "day", s.ACTOR: "A", s.TIMESTAMP: "2024-03-22T00:00Z", s.TIME_PRECISION: "day"},
        {s.EVENT_ID: "minute", s.ACTOR: "A", s.TIMESTAMP: "2024-03-22T18:00Z"},
    )
    assert first[s.EVENT_ID].tolist() == ["minute"]
    assert (first[reactions.MIN_US].iloc[0], first[reactions.MAX_US].iloc[0]) == (59 * MINUTE, 61 * MINUTE)


def test_lanes_are_ranked_by_when_they_had_certainly_reacted() -> None:
    """Rank 1 has the smallest max latency, not the smallest middle; equal maxima go to the smaller min,
    then the lane name."""
    first = _first(
        {s.ACTOR: "slow", s.TIMESTAMP: "2024-03-23T17:00Z"},
        {s.ACTOR: "hour", s.TIMESTAMP: "2024-03-22T23:00Z", s.TIME_PRECISION: "hour"},  # 5 h 59 min to 7 h
        {s.ACTOR: "day", s.TIMESTAMP: "2024-03-22T00:00Z", s.TIME_PRECISION: "day"},  # T+0 to 7 h
        {s.ACTOR: "minute", s.TIMESTAMP: "2024-03-22T21:00Z"},  # 3 h 59 min to 4 h 1 min
        {s.ACTOR: "b same", s.TIMESTAMP: "2024-03-22T18:00Z"},
        {s.ACTOR: "a same", s.TIMESTAMP: "2024-03-22T18:00Z"},
    )
    assert first[reactions.LANE].tolist() == ["a same", "b same", "minute", "day", "hour", "slow"]
    assert first[reactions.RANK].tolist() == [1, 2, 3, 4, 5, 6]
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
    """For any pair of intervals: 0 <= min <= max, and the bounds are the documented formulas."""
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
    low, high = (int(first[name].iloc[0]) for name in (reactions.MIN_US, reactions.MAX_US))
    assert 0 <= low <= high
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


def test_bundled_minute_reaction_certainly_earlier_ranks_above_a_day_one(bundled: pd.DataFrame) -> None:
    """Podolyak, known to the minute at T+2 h 49 min, outranks Iran's foreign minister, known only to the
    day (T+0 to T+3 h 32 min), though the day's range starts earlier: first is who had certainly reacted."""
    first = reactions.first_reactions(bundled, anchor=reactions.anchor_of(bundled, BUNDLED_ANCHOR))
    rows = first.set_index(s.EVENT_ID)
    podolyak, iran = rows.loc[PODOLYAK], rows.loc[IRAN_FM]
    assert (podolyak[s.TIME_PRECISION], iran[s.TIME_PRECISION]) == ("minute", "day")
    assert iran[reactions.MIN_US] < podolyak[reactions.MIN_US]
    assert podolyak[reactions.MAX_US] < iran[reactions.MAX_US]
    assert (podolyak[reactions.RANK], iran[reactions.RANK]) == (1, 2)
    assert (first[reactions.MAX_US].diff().dropna() >= 0).all()


def test_bundled_lane_keeps_its_reaction_certainly_made_first(bundled: pd.DataFrame) -> None:
    """Putin's first reaction is the mourning decree known to the minute (T+19 h 32 min), not the thanks to
    doctors known only to 23 March, whose day starts earlier but ends later."""
    first = reactions.first_reactions(bundled, anchor=reactions.anchor_of(bundled, BUNDLED_ANCHOR))
    putin = first[first[reactions.LANE] == "Vladimir Putin"].iloc[0]
    assert putin[s.EVENT_ID] == "2024-03-23-putin-declares-mourning"
    thanks = bundled[bundled[s.EVENT_ID] == "2024-03-23-putin-thanks-doctors"].iloc[0]
    assert thanks[START_US] < putin[START_US]
    assert putin[reactions.MAX_US] < thanks[STOP_US] - reactions.anchor_of(bundled, BUNDLED_ANCHOR).start_us


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
    assert reactions.latency_text(us, rounding=rounding) == expected


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
    assert reactions.latency_range_text(low, high) == expected


# The latency table's headers in reading order, as the page shows them (it hides event_id).
TABLE_COLUMNS = [
    "rank",
    "actor",
    "first reaction",
    "stated time",
    "latency",
    "certainly by",
    "source",
    "source link",
    "event_id",
]


def test_bundled_latency_table_follows_the_ranking(bundled: pd.DataFrame) -> None:
    """One row per first reaction in rank order, columns in reading order with event_id last; the latency
    and certainly-by texts of a precise and a day-precision reaction; the stated time as display gives it."""
    first = reactions.first_reactions(bundled, anchor=reactions.anchor_of(bundled, BUNDLED_ANCHOR))
    table = reactions.latency_table(first.sample(frac=1, random_state=7), "Europe/Moscow")
    assert list(table.columns) == TABLE_COLUMNS
    assert table[s.EVENT_ID].tolist() == first[s.EVENT_ID].tolist()
    assert table[reactions.RANK].tolist() == list(range(1, len(first) + 1))
    assert table["actor"].tolist() == first[reactions.LANE].tolist()
    top = table.iloc[:2][[s.EVENT_ID, reactions.LATENCY, reactions.CERTAINLY_BY]].to_numpy().tolist()
    assert top == [
        [PODOLYAK, "T+2 h 49 min", "T+2 h 50 min"],
        [IRAN_FM, "between T+0 and T+3 h 32 min", "T+3 h 32 min"],
    ]
    stated = display.stated_times(first, "Europe/Moscow")
    assert table[reactions.STATED_TIME].tolist() == stated.tolist()
    links = table[reactions.SOURCE_LINK]
    assert (links.str.match(r"https?://") | (links == "")).all()
    assert links.iloc[0] == first[s.SOURCE_URL].iloc[0]


def test_latency_table_names_the_lane_by_its_grouping(bundled: pd.DataFrame) -> None:
    """By actor group or type, the lane column is headed "actor group" or "actor type"."""
    anchor = reactions.anchor_of(bundled, BUNDLED_ANCHOR)
    for by, header in (("group", "actor group"), ("type", "actor type")):
        first = reactions.first_reactions(bundled, anchor=anchor, by=by)
        table = reactions.latency_table(first, "UTC", by=by)
        assert table.columns[1] == header
        assert table[header].tolist() == first[reactions.LANE].tolist()
    with pytest.raises(ValueError, match="got 'country'"):
        reactions.latency_table(first, "UTC", by="country")


def test_latency_table_fills_missing_titles_and_keeps_only_web_links() -> None:
    """A missing title reads "(no title)"; a source link is an http(s) address or empty, no other scheme."""
    first = _first(
        {s.ACTOR: "a", s.TIMESTAMP: "2024-03-22T17:10Z", s.TITLE: None, s.SOURCE_URL: "javascript:alert(1)"},
        {
            s.ACTOR: "b",
            s.TIMESTAMP: "2024-03-22T17:20Z",
            s.TITLE: "Said",
            s.SOURCE_URL: "HTTPS://b.example/x",
        },
        {s.ACTOR: "c", s.TIMESTAMP: "2024-03-22T17:30Z", s.TITLE: "  ", s.SOURCE_URL: None},
    )
    table = reactions.latency_table(first, "UTC")
    assert table[reactions.FIRST_REACTION].tolist() == ["(no title)", "Said", "(no title)"]
    assert table[reactions.SOURCE_LINK].tolist() == ["", "HTTPS://b.example/x", ""]


def test_latency_table_of_no_reactions_has_every_column() -> None:
    """No reactions: an empty table that still has its columns."""
    empty = frames.prepare(s.empty_table())
    anchor = reactions.Anchor("gone", _us(ANCHOR_AT), _us(ANCHOR_AT) + MINUTE, "gone")
    table = reactions.latency_table(reactions.first_reactions(empty, anchor=anchor), "UTC")
    assert table.empty
    assert list(table.columns) == TABLE_COLUMNS
