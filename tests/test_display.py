"""Times shown as the source stated them: its own day and offset first, never more precise than stated,
then the display zone's wording where that differs."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.canonical import canonical_events
from timeline import dates, display, store
from timeline import frame as frames
from timeline import schema as s
from timeline.errors import UsageError
from timeline.ingest import ImportOptions, read_events

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _events(*rows: dict) -> pa.Table:
    """Canonical events from a few fields per row; the rest null, ids and actors made up."""
    return canonical_events(*rows, event_type="statement")


def _lead(frame: pd.DataFrame) -> pd.Series:
    """The first part of each stated time: the source's own terms (the same in every display zone)."""
    return display.stated_times(frame, "Asia/Kathmandu").str.split(" · in ").str[0]


def _one(precision: str, utc: str, offset: int | None, end: str | None = None) -> pd.DataFrame:
    row = {s.TIME_PRECISION: precision, s.TIMESTAMP: utc, s.UTC_OFFSET_MINUTES: offset, s.END: end}
    return frames.prepare(_events(row))


STATED = [
    # precision, UTC instant, stated offset, display zone, end, expected
    ("second", "2024-03-22T16:58:07Z", 180, "Europe/Moscow", None, "22 Mar 2024 19:58:07, UTC+03:00"),
    (
        "second",
        "2024-03-22T16:58:07Z",
        180,
        "UTC",
        None,
        "22 Mar 2024 19:58:07, UTC+03:00 · in UTC: 22 Mar 2024 16:58:07",
    ),
    ("minute", "2024-03-22T16:58Z", 180, "Europe/Moscow", None, "22 Mar 2024 19:58, UTC+03:00"),
    (
        "minute",
        "2024-03-22T16:58Z",
        180,
        "UTC",
        None,
        "22 Mar 2024 19:58, UTC+03:00 · in UTC: 22 Mar 2024 16:58",
    ),
    ("minute", "2024-03-07T08:15Z", 180, "Europe/Moscow", None, "7 Mar 2024 11:15, UTC+03:00"),
    # Late in the evening in Moscow is already the next day in Tokyo: the source's day comes first.
    (
        "minute",
        "2024-03-22T19:30Z",
        180,
        "Asia/Tokyo",
        None,
        "22 Mar 2024 22:30, UTC+03:00 · in Asia/Tokyo: 23 Mar 2024 04:30",
    ),
    ("minute", "2024-03-22T16:58Z", 0, "Europe/London", None, "22 Mar 2024 16:58, UTC+00:00"),
    ("hour", "2024-03-22T16:00Z", 180, "Europe/Moscow", None, "22 Mar 2024, 19:00–20:00, UTC+03:00"),
    (
        "hour",
        "2024-03-22T16:00Z",
        180,
        "UTC",
        None,
        "22 Mar 2024, 19:00–20:00, UTC+03:00 · in UTC: 22 Mar 2024, 16:00–17:00",
    ),
    # A Moscow hour seen in India is still one hour long: worded as one, on the Indian clock.
    (
        "hour",
        "2024-03-22T16:00Z",
        180,
        "Asia/Kolkata",
        None,
        "22 Mar 2024, 19:00–20:00, UTC+03:00 · in Asia/Kolkata: 22 Mar 2024, 21:30–22:30",
    ),
    ("day", "2024-03-21T21:00Z", 180, "Europe/Moscow", None, "22 Mar 2024, time not stated, UTC+03:00"),
    # The Moscow day shown in UTC runs 21:00 to 21:00: the stated day first, the UTC interval after it.
    (
        "day",
        "2024-03-21T21:00Z",
        180,
        "UTC",
        None,
        "22 Mar 2024, time not stated, UTC+03:00 · in UTC: 21 Mar 2024 21:00 – 22 Mar 2024 21:00",
    ),
    # Radosław Sikorski's statement of 22 March 2024, dated in Warsaw (UTC+01:00), shown in UTC.
    (
        "day",
        "2024-03-21T23:00Z",
        60,
        "UTC",
        None,
        "22 Mar 2024, time not stated, UTC+01:00 · in UTC: 21 Mar 2024 23:00 – 22 Mar 2024 23:00",
    ),
    # The Hamas attack on Israel, 7 October 2023 (UTC+03:00): never read as 6 October.
    (
        "day",
        "2023-10-06T21:00Z",
        180,
        "UTC",
        None,
        "7 Oct 2023, time not stated, UTC+03:00 · in UTC: 6 Oct 2023 21:00 – 7 Oct 2023 21:00",
    ),
    (
        "day",
        "2024-03-21T21:00Z",
        180,
        "Asia/Kolkata",
        None,
        "22 Mar 2024, time not stated, UTC+03:00 · in Asia/Kolkata: 22 Mar 2024 02:30 – 23 Mar 2024 02:30",
    ),
    ("day", "2024-03-22T04:00Z", -240, "America/New_York", None, "22 Mar 2024, time not stated, UTC-04:00"),
    ("day", "2024-03-21T20:30Z", 210, "Asia/Tehran", None, "22 Mar 2024, time not stated, UTC+03:30"),
    ("day", "2024-03-23T00:00Z", 0, "UTC", None, "23 Mar 2024, time not stated, UTC+00:00"),
    # UTC by another name is UTC: same wording, and named "UTC" where it differs.
    ("day", "2024-03-23T00:00Z", 0, "Etc/UTC", None, "23 Mar 2024, time not stated, UTC+00:00"),
    (
        "minute",
        "2024-03-22T16:58Z",
        180,
        "Etc/UTC",
        None,
        "22 Mar 2024 19:58, UTC+03:00 · in UTC: 22 Mar 2024 16:58",
    ),
    # A day stated as +01:00 on the day Berlin moves its clocks is 24 hours, not one Berlin day.
    (
        "day",
        "2024-03-30T23:00Z",
        60,
        "Europe/Berlin",
        None,
        "31 Mar 2024, time not stated, UTC+01:00 · in Europe/Berlin: 31 Mar 2024 00:00 – 1 Apr 2024 01:00",
    ),
    # The day before, Berlin is at +01:00 all day: the same day, nothing to add.
    ("day", "2024-03-29T23:00Z", 60, "Europe/Berlin", None, "30 Mar 2024, time not stated, UTC+01:00"),
    # The minute that ends as Berlin moves its clocks reads the same on Berlin's clock: nothing to add.
    ("minute", "2024-03-31T00:59Z", 60, "Europe/Berlin", None, "31 Mar 2024 01:59, UTC+01:00"),
    ("month", "2024-01-31T21:00Z", 180, "Europe/Moscow", None, "Feb 2024, day not stated, UTC+03:00"),
    (
        "month",
        "2024-01-31T21:00Z",
        180,
        "UTC",
        None,
        "Feb 2024, day not stated, UTC+03:00 · in UTC: 31 Jan 2024 21:00 – 29 Feb 2024 21:00",
    ),
    # A year keeps its offset too: it says where the year began.
    ("year", "2023-12-31T21:00Z", 180, "Europe/Moscow", None, "2024, month not stated, UTC+03:00"),
    (
        "year",
        "2023-12-31T21:00Z",
        180,
        "UTC",
        None,
        "2024, month not stated, UTC+03:00 · in UTC: 31 Dec 2023 21:00 – 31 Dec 2024 21:00",
    ),
    ("year", "1939-01-01T00:00Z", 0, "UTC", None, "1939, month not stated, UTC+00:00"),
    # No offset stated: the time was placed in UTC, and the wording says so.
    ("second", "2024-03-22T16:58:07Z", None, "UTC", None, "22 Mar 2024 16:58:07, UTC (no offset stated)"),
    (
        "minute",
        "2024-03-22T16:58Z",
        None,
        "Europe/Moscow",
        None,
        "22 Mar 2024 16:58, UTC (no offset stated) · in Europe/Moscow: 22 Mar 2024 19:58",
    ),
    ("day", "2024-03-22T00:00Z", None, "UTC", None, "22 Mar 2024, time not stated, UTC (no offset stated)"),
    (
        "minute",
        "2024-03-22T16:58Z",
        180,
        "Europe/Moscow",
        "2024-03-22T20:10Z",
        "22 Mar 2024 19:58 – 23:10, UTC+03:00",
    ),
    (
        "minute",
        "2024-03-22T16:58Z",
        180,
        "UTC",
        "2024-03-22T20:10Z",
        "22 Mar 2024 19:58 – 23:10, UTC+03:00 · in UTC: 22 Mar 2024 16:58 – 20:10",
    ),
    (
        "minute",
        "2024-03-22T20:30Z",
        180,
        "Europe/Moscow",
        "2024-03-22T21:30Z",
        "22 Mar 2024 23:30 – 23 Mar 2024 00:30, UTC+03:00",
    ),
    (
        "second",
        "2024-03-22T16:58:07Z",
        0,
        "UTC",
        "2024-03-22T16:59:30Z",
        "22 Mar 2024 16:58:07 – 16:59:30, UTC+00:00",
    ),
    # Days 22 to 24 March in Moscow: the end is exclusive, the last day shown is the 24th.
    (
        "day",
        "2024-03-21T21:00Z",
        180,
        "Europe/Moscow",
        "2024-03-24T21:00Z",
        "22 Mar 2024 – 24 Mar 2024, UTC+03:00",
    ),
    (
        "day",
        "2024-03-21T21:00Z",
        180,
        "UTC",
        "2024-03-24T21:00Z",
        "22 Mar 2024 – 24 Mar 2024, UTC+03:00 · in UTC: 21 Mar 2024 21:00 – 24 Mar 2024 21:00",
    ),
]


@pytest.mark.parametrize(("precision", "utc", "offset", "tz", "end", "expected"), STATED)
def test_stated_times(precision, utc, offset, tz, end, expected):
    """The source's own day, time and offset come first; the display zone's wording follows if it differs."""
    assert display.stated_times(_one(precision, utc, offset, end), tz).tolist() == [expected]


@pytest.mark.parametrize(
    ("cell", "tz", "in_moscow", "in_utc"),
    [
        # A time without an offset, imported as Moscow time: stored with Moscow's offset, worded in it.
        (
            "2024-03-22 19:58",
            "Europe/Moscow",
            "22 Mar 2024 19:58, UTC+03:00",
            "22 Mar 2024 19:58, UTC+03:00 · in UTC: 22 Mar 2024 16:58",
        ),
        (
            "2024-03-22",
            "Europe/Moscow",
            "22 Mar 2024, time not stated, UTC+03:00",
            "22 Mar 2024, time not stated, UTC+03:00 · in UTC: 21 Mar 2024 21:00 – 22 Mar 2024 21:00",
        ),
        # Imported as UTC (the default): the offset chosen is +00:00.
        (
            "2024-03-22 19:58",
            "UTC",
            "22 Mar 2024 19:58, UTC+00:00 · in Europe/Moscow: 22 Mar 2024 22:58",
            "22 Mar 2024 19:58, UTC+00:00",
        ),
        # Unix seconds are an instant with no offset at all.
        (
            "1711126687",
            "Europe/Moscow",
            "22 Mar 2024 16:58:07, UTC (no offset stated) · in Europe/Moscow: 22 Mar 2024 19:58:07",
            "22 Mar 2024 16:58:07, UTC (no offset stated)",
        ),
    ],
)
def test_stated_times_of_imported_naive_times(cell, tz, in_moscow, in_utc):
    """A naive time read in the zone the importer was given is worded on that zone's clock."""
    imported = read_events(f"date,who,what\n{cell},Someone,Said\n".encode(), ImportOptions(tz=tz))
    prepared = frames.prepare(imported.events)
    assert display.stated_times(prepared, "Europe/Moscow").tolist() == [in_moscow]
    assert display.stated_times(prepared, "UTC").tolist() == [in_utc]


_ZONES = ["UTC", "Europe/Moscow", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati"]


@settings(max_examples=200, deadline=None)
@given(
    precision=st.sampled_from(s.PRECISIONS),
    local=st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)),
    offset=st.one_of(st.none(), st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: q * 15)),
)
def test_first_part_is_the_stated_local_day_whatever_the_zone(precision, local, offset):
    """The first part never depends on the display zone and always names the day the source stated."""
    own = local.replace(microsecond=0)
    utc = pd.Timestamp(own - timedelta(minutes=offset or 0), tz="UTC")
    # Start at the start of the stated unit, as the importer stores it.
    code = np.array([s.PRECISIONS.index(precision)], dtype=np.int8)
    start_us = dates.start_of_interval(
        np.array([utc.value // 1000]), code, np.array([offset if offset else 0])
    )
    prepared = _one(precision, pd.Timestamp(int(start_us[0]), unit="us", tz="UTC").isoformat(), offset)
    firsts = {display.stated_times(prepared, tz).iloc[0].split(" · in ")[0] for tz in _ZONES}
    assert len(firsts) == 1
    first = firsts.pop()
    month = _MONTHS[own.month - 1]
    named = {"year": f"{own.year}, ", "month": f"{month} {own.year}, "}.get(
        precision, f"{own.day} {month} {own.year}"
    )
    assert first.startswith(named)
    assert first.endswith(display.offset_label(offset) if offset is not None else "UTC (no offset stated)")


def test_same_offset_as_the_zone_shown_gives_the_first_part_only():
    """Shown in a zone at the offset the source stated, a time is worded once."""
    prepared = frames.prepare(
        _events(
            {s.TIME_PRECISION: "day", s.TIMESTAMP: "2024-03-21T21:00Z", s.UTC_OFFSET_MINUTES: 180},
            {s.TIME_PRECISION: "minute", s.TIMESTAMP: "2024-03-22T16:58Z", s.UTC_OFFSET_MINUTES: 180},
            {s.TIME_PRECISION: "year", s.TIMESTAMP: "2023-12-31T21:00Z", s.UTC_OFFSET_MINUTES: 180},
        )
    )
    for tz in ("Europe/Moscow", "Etc/GMT-3", "Europe/Istanbul"):
        assert display.stated_times(prepared, tz).tolist() == _lead(prepared).tolist()


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
        "minute": "22 Mar 2024 19:58, UTC+03:00",
        "day": "22 Mar 2024, time not stated, UTC+03:00",
        "month": "Feb 2024, day not stated, UTC+03:00",
    }
    assert texts.tolist() == [expected[str(p)] for p in shuffled[s.TIME_PRECISION]]


def test_stated_times_of_the_bundled_dataset():
    """Each event leads with the source's own terms; in UTC its Moscow days add their UTC interval."""
    bundled = frames.prepare(store.load("crocus-city-hall-2024", root=store.DEFAULT_ROOT))
    moscow = bundled[s.UTC_OFFSET_MINUTES] == 180
    in_moscow = display.stated_times(bundled, "Europe/Moscow")
    in_utc = display.stated_times(bundled, "UTC")
    lead = _lead(bundled)
    assert (lead != "").all()
    assert (in_moscow[moscow] == lead[moscow]).all()
    assert all(text.startswith(first) for text, first in zip(in_utc, lead, strict=True))
    moscow_days = moscow & (bundled[s.TIME_PRECISION] == "day")
    assert moscow_days.any()
    assert in_utc[moscow_days].str.contains(", time not stated, UTC+03:00 · in UTC: ", regex=False).all()
    assert in_utc[moscow_days].str.contains(" 21:00 – ").all()


def test_empty_frame_gives_empty_series():
    """No events, no strings, no error."""
    empty = frames.prepare(s.empty_table())
    assert display.stated_times(empty, "Europe/Moscow").tolist() == []


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
