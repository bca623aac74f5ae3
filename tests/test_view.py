"""The view: the URL grammar (from_query/to_query), reconcile, the time window and apply."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from timeline import frame, schema, store, view
from timeline.bundled import DATASET_ID
from timeline.view import MAX_TEXT, PARAMS, TABS, View

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return store.load(DATASET_ID, root=store.DEFAULT_ROOT).to_pylist()


@pytest.fixture(scope="module")
def prepared() -> pd.DataFrame:
    return frame.prepare(store.load(DATASET_ID, root=store.DEFAULT_ROOT))


# --- the grammar ------------------------------------------------------------------------------------


def test_params_follow_the_product_table() -> None:
    """PARAMS lists PRODUCT.md's parameters in its order, then the view options; one per View field."""
    assert [p.key for p in PARAMS] == [
        "dataset",
        "v",
        "actor",
        "group",
        "type",
        "from",
        "to",
        "q",
        "tz",
        "tab",
        "anchor",
        "event",
        "lanes",
        "axis",
        "by",
        "react",
        "raxis",
        "toll",
    ]
    assert [p.field for p in PARAMS] == [f.name for f in dataclasses.fields(View)]
    assert [p.key for p in PARAMS if p.repeatable] == ["actor", "group", "type", "react"]
    assert all(p.meaning for p in PARAMS)


def test_default_view() -> None:
    """The default view is the bundled dataset, newest version, everything, UTC, timeline tab."""
    assert View() == View(dataset=DATASET_ID, version=None, tz="UTC", tab="timeline")
    assert view.from_query({}) == (View(), [])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"dataset": "my-events-2"}, View(dataset="my-events-2")),
        ({"v": "0123456789ab"}, View(version="0123456789ab")),
        ({"actor": "Hamas"}, View(actors=("Hamas",))),
        ({"actor": ["Hamas", "NEXTA"]}, View(actors=("Hamas", "NEXTA"))),
        ({"actor": ["NEXTA", " Hamas ", "NEXTA", "", "  "]}, View(actors=("NEXTA", "Hamas"))),
        ({"group": ["Russia", "Ukraine"]}, View(groups=("Russia", "Ukraine"))),
        ({"type": ["claim", "statement"]}, View(types=("claim", "statement"))),
        ({"from": "2024-03-22"}, View(start="2024-03-22")),
        ({"from": "2024-03-22T17:30"}, View(start="2024-03-22T17:30")),
        ({"from": "2024-03-22T17:30+03:00"}, View(start="2024-03-22T17:30+03:00")),
        ({"from": "2024-03-22T14:30Z"}, View(start="2024-03-22T14:30Z")),
        ({"to": "2024-03"}, View(end="2024-03")),
        ({"from": "2024-03-22", "to": "2024-03-22"}, View(start="2024-03-22", end="2024-03-22")),
        # A '+' that arrived as a space because the link was not percent-encoded.
        ({"from": "2024-03-22T17:30 03:00"}, View(start="2024-03-22T17:30+03:00")),
        ({"to": "2024-03-22 17:30:15 0530"}, View(end="2024-03-22T17:30:15+05:30")),
        # Every accepted time is written the one ISO way, saying no more than it states.
        ({"from": "22 March 2024"}, View(start="2024-03-22")),
        ({"from": "2024-03-22T17"}, View(start="2024-03-22T17")),
        ({"to": "20240322"}, View(end="2024-03-22")),
        ({"event": "2024-03-22-attack-begins"}, View(event="2024-03-22-attack-begins")),
        ({"raxis": "linear", "toll": "totals"}, View(reaction_axis="linear", toll="totals")),
        ({"q": "  Sikorski condemns "}, View(query="Sikorski condemns")),
        ({"lanes": "group"}, View(lanes="group")),
        ({"axis": "log", "by": "type"}, View(axis="log", by="type")),
        ({"react": ["claim", "statement"]}, View(reacts=("claim", "statement"))),
        ({"q": "x" * MAX_TEXT}, View(query="x" * MAX_TEXT)),
        ({"tz": "Europe/Moscow"}, View(tz="Europe/Moscow")),
        ({"tz": ["Asia/Tokyo", "Europe/Moscow"]}, View(tz="Europe/Moscow")),
        ({"tab": "reactions"}, View(tab="reactions")),
        ({"tab": ["table", "dataset"]}, View(tab="dataset")),
        ({"anchor": "2024-03-22-attack-begins"}, View(anchor="2024-03-22-attack-begins")),
        ({"q": "", "from": " ", "anchor": ""}, View()),
        ({"dataset": DATASET_ID, "tz": "UTC", "tab": "timeline"}, View()),
    ],
)
def test_from_query_reads_valid_values(params: dict, expected: View) -> None:
    """Every parameter's valid values are read into the view (stripped, de-duplicated, last one wins)."""
    assert view.from_query(params) == (expected, [])


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"dataset": "../../etc"}, "dataset"),
        ({"dataset": "/etc/passwd"}, "dataset"),
        ({"dataset": "Crocus"}, "dataset"),
        ({"dataset": "a" * 65}, "dataset"),
        ({"v": "abc"}, "v"),
        ({"v": "0123456789AB"}, "v"),
        ({"v": "../0123456789"}, "v"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": "+03:00"}, "tz"),
        ({"tz": "europe/moscow"}, "tz"),
        ({"tz": "dateutil/Europe/Moscow"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"tab": "graph"}, "tab"),
        ({"tab": "Timeline"}, "tab"),
        ({"lanes": "country"}, "lanes"),
        ({"axis": "symlog"}, "axis"),
        ({"by": "mood"}, "by"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2024-02-30"}, "from"),
        ({"from": "1711065600"}, "from"),
        ({"from": "2024-03-22T" + "0" * MAX_TEXT}, "from"),
        ({"to": "2024-13"}, "to"),
        ({"to": "22:00"}, "to"),
        ({"to": "2024-03-22 17 00"}, "to"),
        ({"q": "a\x00b"}, "q"),
        ({"anchor": "a\nb"}, "anchor"),
        ({"tz": "Europe/Moscow\x7f"}, "tz"),
        ({"tab": 5}, "tab"),
        ({"dataset": [None]}, "dataset"),
    ],
)
def test_from_query_drops_invalid_values_with_one_notice(params: dict, key: str) -> None:
    """An invalid value is dropped and yields one sentence naming the parameter and the value."""
    got, notices = view.from_query(params)
    assert got == View()
    assert len(notices) == 1
    assert notices[0].startswith(f"Ignored {key}=")
    value = params[key][0] if isinstance(params[key], list) else params[key]
    assert repr(value)[:12] in notices[0]


@pytest.mark.parametrize(
    ("params", "expected_view", "expected_notices"),
    [
        (
            {"tz": "Mars/Olympus"},
            View(),
            ["Ignored tz='Mars/Olympus': not an IANA time zone (e.g. Europe/Moscow)."],
        ),
        (
            {"from": "2024-03-23", "to": "2024-03-22", "tz": "Europe/Moscow"},
            View(tz="Europe/Moscow"),
            ["Ignored from='2024-03-23' and to='2024-03-22': from must be before to."],
        ),
        (
            {"actor": ["Hamas", "bad\x00", "NEXTA"]},
            View(actors=("Hamas", "NEXTA")),
            ["Ignored actor='bad\\x00': contains control characters."],
        ),
        (
            {"q": "word " * 60},
            View(query=("word " * 40).strip()),
            [f"Shortened q to its first {MAX_TEXT} characters (it had 299)."],
        ),
        (
            {"dataset": "x" * 100 + "/.."},
            View(),
            [
                "Ignored dataset='" + "x" * 60 + "…': a dataset id is 1-64 characters a-z, 0-9 and '-', "
                "not starting or ending with '-'."
            ],
        ),
    ],
)
def test_notice_sentences(params: dict, expected_view: View, expected_notices: list[str]) -> None:
    """A notice is one sentence: the key, the value (repr, at most 60 characters) and what is allowed."""
    assert view.from_query(params) == (expected_view, expected_notices)


def test_several_invalid_values_are_all_reported() -> None:
    """Every invalid value gets its own notice, and the valid ones still apply."""
    got, notices = view.from_query(
        {
            "dataset": "../../etc",
            "v": "zz",
            "tz": "Mars/Olympus",
            "tab": "x",
            "q": "ok",
            "actor": ["A", "\x01"],
        }
    )
    assert got == View(query="ok", actors=("A",))
    assert [notice.split("=")[0] for notice in notices] == [
        "Ignored dataset",
        "Ignored v",
        "Ignored actor",
        "Ignored tz",
        "Ignored tab",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"foo": "bar"},
        {"Actor": "Hamas", "TZ": "Mars/Olympus"},
        {"utm_source": ["x", "y"], "": "z", "embed": "true"},
    ],
)
def test_unknown_keys_are_ignored_silently(params: dict) -> None:
    """Parameters outside the grammar (keys are case-sensitive) change nothing and say nothing."""
    assert view.from_query(params) == (View(), [])


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (View(), {}),
        (View(dataset=DATASET_ID, tz="UTC", tab="timeline", query=""), {}),
        (
            View(actors=("NEXTA", "Hamas"), start="2024-03-22", tz="Europe/Moscow"),
            {"actor": ["NEXTA", "Hamas"], "from": ["2024-03-22"], "tz": ["Europe/Moscow"]},
        ),
        (
            View(dataset="other", version="0123456789ab", types=("claim",), end="2024-03", query="a b"),
            {"dataset": ["other"], "v": ["0123456789ab"], "type": ["claim"], "to": ["2024-03"], "q": ["a b"]},
        ),
        (
            View(tab="dataset", anchor="e1", groups=("Russia",)),
            {"group": ["Russia"], "tab": ["dataset"], "anchor": ["e1"]},
        ),
    ],
)
def test_to_query_writes_only_what_differs_from_the_defaults(given: View, expected: dict) -> None:
    """to_query omits default values and gives every parameter as a list, repeatable ones in order."""
    assert view.to_query(given) == expected


# --- properties ---------------------------------------------------------------------------------------

_NAME = (
    st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
_ZONES = st.sampled_from(["UTC", "Europe/Moscow", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"])
_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M+03:00",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m",
)
_TIME = st.builds(
    lambda moment, fmt: moment.strftime(fmt),
    st.datetimes(datetime(1900, 1, 1), datetime(2100, 12, 31)),
    st.sampled_from(_FORMATS),
)


@st.composite
def _views(draw: st.DrawFn) -> View:
    tz = draw(_ZONES)
    start, end = draw(st.none() | _TIME), draw(st.none() | _TIME)
    candidate = View(
        dataset=draw(st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", fullmatch=True)),
        version=draw(st.none() | st.from_regex(r"[0-9a-f]{12}", fullmatch=True)),
        actors=tuple(draw(st.lists(_NAME, unique=True, max_size=4))),
        groups=tuple(draw(st.lists(_NAME, unique=True, max_size=3))),
        types=tuple(draw(st.lists(_NAME, unique=True, max_size=3))),
        start=start,
        end=end,
        query=draw(st.just("") | _NAME.filter(lambda text: len(text) <= MAX_TEXT)),
        tz=tz,
        tab=draw(st.sampled_from(TABS)),
        anchor=draw(st.none() | _NAME),
    )
    low, high = view.window(candidate)
    assume(low is None or high is None or low < high)
    return candidate


@settings(max_examples=200, deadline=None)
@given(_views())
def test_round_trip(given: View) -> None:
    """Every valid view survives to_query then from_query unchanged and without notices."""
    assert view.from_query(view.to_query(given)) == (given, [])


_KEYS = st.sampled_from([p.key for p in PARAMS] + ["", "Actor", "utm_source"]) | st.text(max_size=6)
_EXAMPLES = st.sampled_from(
    ["2024-03-22", "2024-03-22T17:30+03:00", "Europe/Moscow", "table", DATASET_ID, "0123456789ab", "Hamas"]
)
_TEXT = (
    st.text(max_size=40)
    | _EXAMPLES
    | st.builds(lambda unit, count: unit * count, st.text(min_size=1, max_size=3), st.integers(0, 20_000))
    | st.builds(lambda text, suffix: text + suffix, _EXAMPLES, st.text(max_size=5))
)
_VALUES = _TEXT | st.lists(_TEXT, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=8))
def test_from_query_never_raises(params: dict) -> None:
    """Any parameters give a view (valid: it round-trips) and notices that are sentences, never an error."""
    got, notices = view.from_query(params)
    assert view.from_query(view.to_query(got)) == (got, [])
    assert all(isinstance(n, str) and n.endswith(".") and len(n) < 400 for n in notices)


# --- time window --------------------------------------------------------------------------------------

# Days from 1970-01-01 to 2024-03-22: 54 years with 13 leap days (19,723) + 31 + 29 + 21 = 19,804,
# so 2024-03-22T00:00Z is 19,804 * 86,400 s = 1,711,065,600 s.
MIDNIGHT_22_UTC = 1_711_065_600_000_000
HOUR = 3_600_000_000
MINUTE = 60_000_000
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("start", "end", "tz", "expected"),
    [
        (None, None, "Europe/Moscow", (None, None)),
        ("2024-03-22", None, "UTC", (MIDNIGHT_22_UTC, None)),
        (None, "2024-03-22", "UTC", (None, MIDNIGHT_22_UTC + DAY)),
        (
            "2024-03-22",
            "2024-03-22",
            "Europe/Moscow",
            (MIDNIGHT_22_UTC - 3 * HOUR, MIDNIGHT_22_UTC + 21 * HOUR),
        ),
        (
            "2024-03-22T17:30",
            "2024-03-22T17:30",
            "Europe/Moscow",
            (MIDNIGHT_22_UTC + 14 * HOUR + 30 * MINUTE, MIDNIGHT_22_UTC + 14 * HOUR + 31 * MINUTE),
        ),
        ("2024-03-22T17:30+03:00", None, "UTC", (MIDNIGHT_22_UTC + 14 * HOUR + 30 * MINUTE, None)),
        (
            "2024-03-22T14:30Z",
            "2024-03-22T17:00Z",
            "Europe/Moscow",
            (1_711_117_800_000_000, 1_711_126_860_000_000),
        ),
        (None, "2024-03-22T17:30:00", "UTC", (None, MIDNIGHT_22_UTC + 17 * HOUR + 30 * MINUTE + 1_000_000)),
        (None, "2024-03-22T20", "Europe/Moscow", (None, MIDNIGHT_22_UTC + 18 * HOUR)),
        # March 2024 in UTC: 1 March is 21 days before the 22nd; the window ends at 1 April.
        ("2024-03", "2024-03", "UTC", (MIDNIGHT_22_UTC - 21 * DAY, MIDNIGHT_22_UTC + 10 * DAY)),
        # Berlin springs forward on 31 March 2024: that day starts at +01:00 and ends at +02:00 (23 hours).
        ("2024-03-31", "2024-03-31", "Europe/Berlin", (1_711_839_600_000_000, 1_711_922_400_000_000)),
        # ... and falls back on 27 October 2024: 25 hours from 26 Oct 22:00Z to 27 Oct 23:00Z.
        (None, "2024-10-27", "Europe/Berlin", (None, 1_730_070_000_000_000)),
    ],
)
def test_window(start: str | None, end: str | None, tz: str, expected: tuple) -> None:
    """from starts where it states (in tz unless it has an offset); to includes the whole unit it states."""
    assert view.window(View(start=start, end=end, tz=tz)) == expected


# --- apply --------------------------------------------------------------------------------------------


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _interval(event: dict) -> tuple[int, int]:
    """[start, stop) of an event in plain datetime arithmetic, in the offset the source stated."""
    start = _us(event[schema.TIMESTAMP])
    if event[schema.END] is not None and _us(event[schema.END]) > start:
        return start, _us(event[schema.END])
    shift = timedelta(minutes=event[schema.UTC_OFFSET_MINUTES] or 0)
    local = event[schema.TIMESTAMP] + shift
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    stop = {
        "second": local + timedelta(seconds=1),
        "minute": local + timedelta(minutes=1),
        "hour": local + timedelta(hours=1),
        "day": midnight + timedelta(days=1),
        "month": (midnight.replace(day=1) + timedelta(days=32)).replace(day=1),
        "year": midnight.replace(year=local.year + 1, month=1, day=1),
    }[event[schema.TIME_PRECISION]]
    return start, _us(stop - shift)


def _reference(events: list[dict], shown: View) -> list[str]:
    """The event ids a view keeps, decided one row at a time."""
    low, high = view.window(shown)
    words = shown.query.casefold().split()
    kept = []
    for event in events:
        start, stop = _interval(event)
        text = "\n".join(event[name] or "" for name in frame.SEARCHED_COLUMNS).casefold()
        if (
            (not shown.actors or event[schema.ACTOR] in shown.actors)
            and (not shown.groups or event[schema.ACTOR_GROUP] in shown.groups)
            and (not shown.types or event[schema.EVENT_TYPE] in shown.types)
            and (low is None or stop > low)
            and (high is None or start < high)
            and all(word in text for word in words)
        ):
            kept.append(event[schema.EVENT_ID])
    return sorted(kept)


WINDOW_18_20_MOSCOW = View(start="2024-03-22T18:00", end="2024-03-22T20:00", tz="Europe/Moscow")


@pytest.mark.parametrize(
    ("shown", "count"),
    [
        (View(), 101),
        (View(actors=("Hamas",)), 5),
        (View(types=("claim",)), 3),
        (View(query="sikorski"), 1),
        (View(query="SIKORSKI"), 1),
        (View(query="putin condolence"), 6),
        (View(query="putin"), 20),
        (View(actors=("Hamas", "NEXTA")), 6),
        (View(groups=("Russia", "Ukraine"), types=("statement",)), None),
        (WINDOW_18_20_MOSCOW, None),
        (View(start="2024-03-23", tz="Europe/Moscow"), None),
        (View(end="2024-03-21"), None),
        (View(start="2024-03", end="2024-03-22T17:00Z", query="attack"), None),
        (View(start="2024-03-22T20:00+03:00", end="2024-03-23", types=("condemnation", "condolence")), None),
        (View(actors=("Nobody",)), 0),
        (View(actors=("Vladimir Putin", "Hamas"), query="condolences"), None),
        (View(types=("claim",), query="AMAQ telegram"), 1),
    ],
)
def test_apply_matches_a_row_by_row_reference(
    prepared: pd.DataFrame, events: list[dict], shown: View, count: int | None
) -> None:
    """apply keeps exactly the events a plain per-row check keeps, for filters, window and search."""
    kept = view.apply(prepared, shown)
    expected = _reference(events, shown)
    assert sorted(kept[schema.EVENT_ID]) == expected
    if count is not None:
        assert len(expected) == count


def test_apply_keeps_coarse_events_that_overlap_the_window(prepared: pd.DataFrame) -> None:
    """A 2-hour Moscow window keeps the events dated only to that day, and not the minute after it."""
    kept = set(view.apply(prepared, WINDOW_18_20_MOSCOW)[schema.EVENT_ID])
    assert {
        "2024-03-22-fsb-reports-shooting-and-fire",  # day precision, 22 March Moscow
        "2024-03-22-guterres-condemns",  # day precision, 22 March New York
        "2024-03-22-attack-begins",  # 16:58Z = 19:58 Moscow
    } <= kept
    assert "2024-03-22-gunmen-enter-auditorium" not in kept  # 17:03Z = 20:03 Moscow
    assert "2024-03-07-us-embassy-warning" not in kept


def test_search_words_are_anded(prepared: pd.DataFrame) -> None:
    """Each word of q must occur; two words keep fewer rows than either alone."""
    both = set(view.apply(prepared, View(query="putin condolence"))[schema.EVENT_ID])
    putin = set(view.apply(prepared, View(query="putin"))[schema.EVENT_ID])
    condolence = set(view.apply(prepared, View(query="condolence"))[schema.EVENT_ID])
    assert both == putin & condolence
    assert both < putin
    assert both < condolence


def test_sikorski_row(prepared: pd.DataFrame) -> None:
    """q=Sikorski finds the Sikorski statement whatever the case."""
    for query in ("sikorski", "Sikorski", "SIKORSKI", "  sIkOrSkI  "):
        kept = view.apply(prepared, View(query=query))
        assert kept[schema.EVENT_ID].tolist() == ["2024-03-22-sikorski-condemns-terrorism"]


def test_apply_keeps_columns_order_and_labels(prepared: pd.DataFrame) -> None:
    """The result has the frame's columns and its rows in order, with their labels; the frame is untouched."""
    before = prepared.copy()
    kept = view.apply(prepared, View(types=("statement",), start="2024-03-22"))
    assert list(kept.columns) == list(prepared.columns)
    assert kept.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(kept, prepared.loc[kept.index])
    pd.testing.assert_frame_equal(prepared, before)
    assert view.apply(prepared, View()) is prepared


def test_rows_copy_only_what_is_asked_and_fetch_details(prepared: pd.DataFrame) -> None:
    """rows gives the kept rows with the columns asked for; columns a light frame lacks come from details."""
    table = store.load(DATASET_ID, root=store.DEFAULT_ROOT)
    light = frame.prepare(table.select(list(frame.LIGHT_COLUMNS)))
    details = table.select(list(frame.DETAIL_COLUMNS))
    chosen = view.select(light, View(types=("statement",), start="2024-03-22"))
    assert chosen.dtype == bool
    assert len(chosen) == len(light)
    full = view.rows(light, chosen, details=details)
    pd.testing.assert_frame_equal(full, view.apply(prepared, View(types=("statement",), start="2024-03-22")))
    narrow = view.rows(light, chosen, [frame.START_US, schema.ACTOR])
    assert list(narrow.columns) == [frame.START_US, schema.ACTOR]
    assert narrow.index.equals(full.index)
    with pytest.raises(ValueError, match="title"):
        view.rows(light, chosen, [schema.TITLE])
    everything = np.ones(len(light), dtype=bool)
    assert view.rows(light, everything) is light
    # the same search whether the index is built from the frame or from a table of its columns
    searched = View(query="moscow")
    index = frame.search_text(table.select(list(frame.SEARCHED_COLUMNS)))
    assert view.select(light, searched, index).tolist() == view.select(prepared, searched).tolist()


def test_search_treats_punctuation_literally(prepared: pd.DataFrame) -> None:
    """Regex characters in q are plain text."""
    assert len(view.apply(prepared, View(query="tvpworld.com/76581135"))) == 1
    assert len(view.apply(prepared, View(query="tvpworldxcom"))) == 0
    assert len(view.apply(prepared, View(query=".*"))) == 0
    assert len(view.apply(prepared, View(query="death with death"))) == 1


# --- reconcile and describe ---------------------------------------------------------------------------


def test_reconcile_keeps_a_view_that_fits(prepared: pd.DataFrame) -> None:
    """A view whose values all occur comes back unchanged, without notices."""
    fitting = View(actors=("Hamas",), groups=("Russia",), types=("claim",), anchor="2024-03-22-attack-begins")
    assert view.reconcile(fitting, view.Present.of_frame(prepared)) == (fitting, [])


@pytest.mark.parametrize(
    ("given", "expected", "notices"),
    [
        (
            View(actors=("Hamas", "Nobody")),
            View(actors=("Hamas",)),
            ["Ignored actor='Nobody': not in this dataset."],
        ),
        (
            View(groups=("Mars",), types=("claim", "parade")),
            View(types=("claim",)),
            ["Ignored group='Mars': not in this dataset.", "Ignored type='parade': not in this dataset."],
        ),
        (
            View(actors=tuple(f"A{i}" for i in range(7))),
            View(),
            ["Ignored actor='A0', 'A1', 'A2', 'A3', 'A4' and 2 more: not in this dataset."],
        ),
        (
            View(anchor="no-such-event", tz="Europe/Moscow"),
            View(tz="Europe/Moscow"),
            ["Ignored anchor='no-such-event': no event with that id in this dataset."],
        ),
    ],
)
def test_reconcile_drops_what_the_dataset_lacks(
    prepared: pd.DataFrame, given: View, expected: View, notices: list[str]
) -> None:
    """Actors, groups, types and an anchor not in the opened dataset are dropped, one notice per parameter."""
    assert view.reconcile(given, view.Present.of_frame(prepared)) == (expected, notices)


@pytest.mark.parametrize(
    ("given", "sentence"),
    [
        (View(), "no filters"),
        (View(tab="table", anchor="x", dataset="other"), "no filters"),
        (
            View(actors=("Hamas", "NEXTA"), start="2024-03-22", tz="Europe/Moscow"),
            "actors: Hamas, NEXTA; from 2024-03-22 (Europe/Moscow)",
        ),
        (
            View(groups=("Russia",), types=("claim",), start="2024-03-22", end="2024-03-23", query="putin"),
            "groups: Russia; types: claim; from 2024-03-22 to 2024-03-23 (UTC); search: putin",
        ),
        (View(end="2024-03"), "to 2024-03 (UTC)"),
        (View(actors=tuple("ABCDEFG")), "actors: A, B, C, D, E and 2 more"),
    ],
)
def test_describe(given: View, sentence: str) -> None:
    """describe names the active filters in one sentence."""
    assert view.describe(given) == sentence


def test_timeline_package_never_imports_streamlit() -> None:
    """Importing the view and frame modules does not load Streamlit."""
    code = "import sys, timeline.view, timeline.frame; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("typed", "iso", "other"),
    [
        ("03/04/2024", "2024-03-04", "2024-04-03"),
        ("03/04/2024 17:30", "2024-03-04T17:30", "2024-04-03T17:30"),
    ],
)
def test_an_ambiguous_typed_date_is_read_one_way_and_the_notice_names_both(
    typed: str, iso: str, other: str
) -> None:
    """03/04/2024 reads both ways: the view holds the reading taken, and the notice names it and the other."""
    chosen, notices = view.from_query({"from": typed})
    assert chosen.start == iso
    assert len(notices) == 1
    assert "month first, as 4 March 2024" in notices[0] and iso in notices[0]
    assert f"For 3 April 2024, type {other}" in notices[0]


def test_a_date_that_reads_one_way_only_gets_no_notice() -> None:
    """13/04/2024 can only be 13 April: it is read so, without a notice."""
    assert view.from_query({"to": "13/04/2024"}) == (View(end="2024-04-13"), [])


@pytest.mark.parametrize(
    ("start", "stop", "tz", "expected"),
    [
        ("2024-03-22T00:00Z", "2024-03-23T00:00Z", "UTC", ("2024-03-22", "2024-03-22")),
        ("2024-03-21T21:00Z", "2024-03-22T21:00Z", "Europe/Moscow", ("2024-03-22", "2024-03-22")),
        ("2024-03-21T21:00Z", "2024-03-22T21:00Z", "UTC", ("2024-03-21T21:00", "2024-03-22T20:59")),
        ("2024-03-22T17:30:05Z", "2024-03-22T17:31:00Z", "UTC", ("2024-03-22T17:30:05", "2024-03-22T17:30")),
        # Berlin moves its clocks forward at 02:00 on 31 March: that day lasts 23 hours.
        ("2024-03-30T23:00Z", "2024-03-31T22:00Z", "Europe/Berlin", ("2024-03-31", "2024-03-31")),
    ],
)
def test_window_text_states_a_window_briefly_and_exactly(
    start: str, stop: str, tz: str, expected: tuple
) -> None:
    """window_text words [start, stop) in the wall clock of tz, and window reads it back to those instants."""
    start_us, stop_us = (int(pd.Timestamp(v).value // 1000) for v in (start, stop))
    texts = view.window_text(start_us, stop_us, tz)
    assert texts == expected
    assert view.window(View(start=texts[0], end=texts[1], tz=tz)) == (start_us, stop_us)


def test_window_text_states_an_instant_the_clock_repeats_with_its_offset() -> None:
    """In the hour Berlin's clock runs twice (27 Oct 2024), the window still reads back to its instants."""
    start_us = int(pd.Timestamp("2024-10-27T01:15Z").value // 1000)  # 02:15, second time round
    stop_us = int(pd.Timestamp("2024-10-27T03:00Z").value // 1000)
    texts = view.window_text(start_us, stop_us, "Europe/Berlin")
    assert view.window(View(start=texts[0], end=texts[1], tz="Europe/Berlin")) == (start_us, stop_us)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin"])
def test_a_zone_change_keeps_the_window_instants_and_rewords_them(tz: str) -> None:
    """Changing the display zone keeps the instants a window was typed for; only their wording changes."""
    typed = View(start="2024-03-22", end="2024-03-22T20:59", tz="Europe/Moscow")
    moved = view.in_zone(typed, tz)
    assert moved.tz == tz
    assert view.window(moved) == view.window(typed)
    assert (moved.start, moved.end) == view.window_text(*view.window(typed), tz)


def test_a_zone_change_leaves_a_time_with_its_own_offset_as_typed() -> None:
    """A from that states its offset means the same instant in every zone, so it is not reworded."""
    typed = View(start="2024-03-22T17:30+03:00", end="2024-03-23", tz="Europe/Moscow")
    moved = view.in_zone(typed, "UTC")
    assert moved.start == "2024-03-22T17:30+03:00"
    assert moved.end == "2024-03-23T20:59"
    assert view.window(moved) == view.window(typed)


def test_reconcile_drops_an_open_event_the_dataset_lacks(prepared: pd.DataFrame) -> None:
    """A link's event= naming no event of the dataset is dropped with a notice."""
    checked, notices = view.reconcile(View(event="no-such-event"), view.Present.of_frame(prepared))
    assert checked.event is None
    assert notices == ["Ignored event='no-such-event': no event with that id in this dataset."]


def test_a_pinned_link_always_names_the_dataset_and_its_version() -> None:
    """A link the page shares pins dataset and v even when they are the defaults; it needs a version."""
    query = view.to_query(View(version="0123456789ab", tz="Europe/Moscow"), pinned=True)
    assert query == {"dataset": [DATASET_ID], "v": ["0123456789ab"], "tz": ["Europe/Moscow"]}
    assert view.from_query(query) == (View(version="0123456789ab", tz="Europe/Moscow"), [])
    with pytest.raises(ValueError, match="version"):
        view.to_query(View(), pinned=True)
