"""Times shown as the source stated them: in the display zone, never more precise than stated."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.canonical import canonical_events
from timeline import display, store
from timeline import frame as frames
from timeline import schema as s
from timeline.errors import UsageError


def _events(*rows: dict) -> pa.Table:
    """Canonical events from a few fields per row; the rest null, ids and actors made up."""
    return canonical_events(*rows, event_type="statement")


def _one(precision: str, utc: str, offset: int | None, end: str | None = None) -> pd.DataFrame:
    row = {s.TIME_PRECISION: precision, s.TIMESTAMP: utc, s.UTC_OFFSET_MINUTES: offset, s.END: end}
    return frames.prepare(_events(row))


STATED = [
    # precision, UTC instant, stated offset, display zone, end, expected
    ("second", "2024-03-22T16:58:07Z", 180, "Europe/Moscow", None, "22 Mar 2024 19:58:07"),
    ("second", "2024-03-22T16:58:07Z", None, "UTC", None, "22 Mar 2024 16:58:07"),
    ("minute", "2024-03-22T16:58Z", 180, "Europe/Moscow", None, "22 Mar 2024 19:58"),
    ("minute", "2024-03-22T16:58Z", 180, "UTC", None, "22 Mar 2024 16:58"),
    ("minute", "2024-03-07T08:15Z", 180, "Europe/Moscow", None, "7 Mar 2024 11:15"),
    ("hour", "2024-03-22T16:00Z", 180, "Europe/Moscow", None, "22 Mar 2024, 19:00–20:00"),
    ("hour", "2024-03-22T16:00Z", 180, "UTC", None, "22 Mar 2024, 16:00–17:00"),
    # A Moscow hour seen in India is not an Indian clock hour: the note says whose hour it is.
    (
        "hour",
        "2024-03-22T16:00Z",
        180,
        "Asia/Kolkata",
        None,
        "22 Mar 2024, 21:30–22:30 (hour stated in UTC+03:00)",
    ),
    ("day", "2024-03-21T21:00Z", 180, "Europe/Moscow", None, "22 Mar 2024, time not stated"),
    # The Moscow day shown in UTC runs 21:00 to 21:00: printed as that range, never as "21 Mar".
    (
        "day",
        "2024-03-21T21:00Z",
        180,
        "UTC",
        None,
        "21 Mar 2024 21:00 – 22 Mar 2024 21:00 (day stated in UTC+03:00)",
    ),
    ("day", "2024-03-22T04:00Z", -240, "America/New_York", None, "22 Mar 2024, time not stated"),
    ("day", "2024-03-23T00:00Z", 0, "UTC", None, "23 Mar 2024, time not stated"),
    # A day stated as +01:00 on the day Berlin moves its clocks is 24 hours, not one Berlin day.
    (
        "day",
        "2024-03-30T23:00Z",
        60,
        "Europe/Berlin",
        None,
        "31 Mar 2024 00:00 – 1 Apr 2024 01:00 (day stated in UTC+01:00)",
    ),
    ("month", "2024-01-31T21:00Z", 180, "Europe/Moscow", None, "Feb 2024, day not stated"),
    (
        "month",
        "2024-01-31T21:00Z",
        180,
        "UTC",
        None,
        "31 Jan 2024 21:00 – 29 Feb 2024 21:00 (month stated in UTC+03:00)",
    ),
    ("year", "2023-12-31T21:00Z", 180, "Europe/Moscow", None, "2024, month not stated"),
    (
        "year",
        "2023-12-31T21:00Z",
        180,
        "UTC",
        None,
        "31 Dec 2023 21:00 – 31 Dec 2024 21:00 (year stated in UTC+03:00)",
    ),
    ("year", "1939-01-01T00:00Z", 0, "UTC", None, "1939, month not stated"),
    ("minute", "2024-03-22T16:58Z", 180, "Europe/Moscow", "2024-03-22T17:11Z", "22 Mar 2024 19:58 – 20:11"),
    (
        "minute",
        "2024-03-22T20:30Z",
        180,
        "Europe/Moscow",
        "2024-03-22T21:30Z",
        "22 Mar 2024 23:30 – 23 Mar 2024 00:30",
    ),
    ("second", "2024-03-22T16:58:07Z", 0, "UTC", "2024-03-22T16:59:30Z", "22 Mar 2024 16:58:07 – 16:59:30"),
    # Days 22 to 24 March in Moscow: the end is exclusive, the last day shown is the 24th.
    ("day", "2024-03-21T21:00Z", 180, "Europe/Moscow", "2024-03-24T21:00Z", "22 Mar 2024 – 24 Mar 2024"),
]


@pytest.mark.parametrize(("precision", "utc", "offset", "tz", "end", "expected"), STATED)
def test_stated_times(precision, utc, offset, tz, end, expected):
    """Each precision has its form in the zone shown; a coarse unit not of that zone prints as a range."""
    assert display.stated_times(_one(precision, utc, offset, end), tz).tolist() == [expected]


SOURCE = [
    ("day", "2024-03-21T21:00Z", 180, None, "22 Mar 2024, time not stated (UTC+03:00)"),
    ("minute", "2024-03-22T16:58Z", 180, None, "22 Mar 2024 19:58 (UTC+03:00)"),
    ("hour", "2024-03-22T16:00Z", 180, None, "22 Mar 2024, 19:00–20:00 (UTC+03:00)"),
    ("day", "2024-03-22T04:00Z", -240, None, "22 Mar 2024, time not stated (UTC-04:00)"),
    ("day", "2024-03-21T20:30Z", 210, None, "22 Mar 2024, time not stated (UTC+03:30)"),
    ("month", "2024-01-31T21:00Z", 180, None, "Feb 2024, day not stated (UTC+03:00)"),
    ("minute", "2024-03-22T16:58Z", 180, "2024-03-22T17:11Z", "22 Mar 2024 19:58 – 20:11 (UTC+03:00)"),
    ("second", "2024-03-22T16:58:07Z", None, None, ""),
]


@pytest.mark.parametrize(("precision", "utc", "offset", "end", "expected"), SOURCE)
def test_source_time(precision, utc, offset, end, expected):
    """The time in the source's own offset reads as the source wrote it, or is empty without an offset."""
    assert display.source_time(_one(precision, utc, offset, end)).tolist() == [expected]


def test_stated_times_keep_order_and_index():
    """One string per row, aligned with the frame's index, whatever the mix of precisions."""
    prepared = frames.prepare(
        _events(
            {s.TIME_PRECISION: "day", s.TIMESTAMP: "2024-03-21T21:00Z", s.UTC_OFFSET_MINUTES: 180},
            {s.TIME_PRECISION: "minute", s.TIMESTAMP: "2024-03-22T16:58Z", s.UTC_OFFSET_MINUTES: 180},
            {s.TIME_PRECISION: "month", s.TIMESTAMP: "2024-01-31T21:00Z", s.UTC_OFFSET_MINUTES: 180},
        )
    )
    shuffled = prepared.iloc[[2, 0, 1]]
    texts = display.stated_times(shuffled, "Europe/Moscow")
    assert list(texts.index) == list(shuffled.index)
    expected = {
        "minute": "22 Mar 2024 19:58",
        "day": "22 Mar 2024, time not stated",
        "month": "Feb 2024, day not stated",
    }
    assert texts.tolist() == [expected[str(p)] for p in shuffled[s.TIME_PRECISION]]


def test_stated_times_of_the_bundled_dataset():
    """In Moscow time every Moscow-stated event prints its own unit; in UTC its days become ranges."""
    bundled = frames.prepare(store.load("crocus-city-hall-2024", root=store.DEFAULT_ROOT))
    moscow = bundled[s.UTC_OFFSET_MINUTES] == 180
    in_moscow = display.stated_times(bundled, "Europe/Moscow")
    in_utc = display.stated_times(bundled, "UTC")
    assert (in_moscow != "").all()
    assert not in_moscow[moscow].str.contains("stated in").any()
    moscow_days = moscow & (bundled[s.TIME_PRECISION] == "day")
    assert in_utc[moscow_days].str.endswith("(day stated in UTC+03:00)").all()
    assert in_utc[moscow_days].str.contains(" 21:00 – ").all()


def test_empty_frame_gives_empty_series():
    """No events, no strings, no error."""
    empty = frames.prepare(s.empty_table())
    assert display.stated_times(empty, "Europe/Moscow").tolist() == []
    assert display.source_time(empty).tolist() == []


@pytest.mark.parametrize(
    ("tz", "at", "expected"),
    [
        ("Europe/Moscow", "2024-03-22T17:00Z", "Europe/Moscow (UTC+03:00)"),
        ("America/New_York", "2024-01-15T12:00Z", "America/New_York (UTC-05:00)"),
        ("America/New_York", "2024-07-01T12:00Z", "America/New_York (UTC-04:00)"),
        ("Asia/Kolkata", "2024-03-22T17:00Z", "Asia/Kolkata (UTC+05:30)"),
        ("America/St_Johns", "2024-01-15T12:00Z", "America/St_Johns (UTC-03:30)"),
        ("UTC", "2024-03-22T17:00Z", "UTC"),
    ],
)
def test_zone_label(tz, at, expected):
    """A zone is named with the offset it has at that moment."""
    assert display.zone_label(tz, pd.Timestamp(at)) == expected


def test_zone_label_without_a_moment_and_unknown_zone():
    """Without a moment the current offset is used; an unknown zone is a usage error naming it."""
    assert display.zone_label("Asia/Tokyo") == "Asia/Tokyo (UTC+09:00)"
    with pytest.raises(UsageError, match="Mars/Olympus"):
        display.zone_label("Mars/Olympus")


def test_local_times_converts_to_naive_wall_clock():
    """17:00 UTC is 20:00 in Moscow, given to Plotly as a naive time; the index is kept."""
    utc = pd.Series(pd.to_datetime(["2024-03-22T17:00Z", "2024-01-01T00:00Z"]), index=[5, 7])
    local = display.local_times(utc, "Europe/Moscow")
    assert local.dt.tz is None
    assert local.tolist() == [pd.Timestamp("2024-03-22 20:00"), pd.Timestamp("2024-01-01 03:00")]
    assert list(local.index) == [5, 7]
    assert display.local_times(utc, "UTC").tolist() == [
        pd.Timestamp("2024-03-22 17:00"),
        pd.Timestamp("2024-01-01"),
    ]


def test_local_times_refuses_naive_input():
    """Naive datetimes are ambiguous: the error names the argument and what it got."""
    with pytest.raises(ValueError, match="utc must be a tz-aware"):
        display.local_times(pd.Series(pd.to_datetime(["2024-03-22 17:00"])), "Europe/Moscow")


@pytest.mark.parametrize(("minutes", "expected"), [(180, "UTC+03:00"), (0, "UTC+00:00"), (-210, "UTC-03:30")])
def test_offset_label(minutes, expected):
    """Offsets in minutes print as UTC±HH:MM."""
    assert display.offset_label(minutes) == expected


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=40), st.floats(allow_nan=False)), max_size=30),
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=30)),
)
def test_hover_texts_are_label_text_of_each_value_cut_to_the_limit(values: list, limit: int | None) -> None:
    """The vectorised escape gives, value by value, what label_text gives for the value cut to limit."""

    def one(value: object) -> str:
        text = "" if value is None else str(value)
        if limit is not None and len(text) > limit:
            text = text[: limit - 1] + "…"
        return display.label_text(text)

    series = pd.Series(values, dtype=object)
    assert display.hover_texts(series, limit).tolist() == [one(value) for value in values]
    texts = [value for value in values if not isinstance(value, float)]
    as_arrow = pd.Series(texts, dtype="string[pyarrow]")
    assert display.hover_texts(as_arrow, limit).tolist() == [one(value) for value in texts]


def test_hover_texts_escape_markup_and_keep_quotes() -> None:
    texts = pd.Series(['<b>"A" & B</b>', None, "x" * 10])
    assert display.hover_texts(texts, 5).tolist() == ['&lt;b&gt;"…', "", "xxxx…"]
