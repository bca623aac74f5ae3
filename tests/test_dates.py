"""Reading date and time text: instants, precision, offsets, day/month order."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from timeline import dates
from timeline.schema import PRECISIONS


def _one(
    text: str, *, tz: str = "UTC", date_order: str = "auto"
) -> tuple[datetime | None, str | None, int | None]:
    parts, _ = dates.read_parts(pa.array([text]), date_order=date_order, column="date")
    parsed = dates.resolve(parts, tz=tz, column="date")
    if not parsed.ok[0]:
        return None, None, None
    instant = datetime.fromtimestamp(parsed.utc_us[0] / 1e6, tz=UTC)
    offset = int(parsed.offset_minutes[0]) if parsed.has_offset[0] else None
    return instant, PRECISIONS[parsed.precision[0]], offset


CASES = [
    ("2024", "2024-01-01T00:00:00", "year", 0),
    ("2024-03", "2024-03-01T00:00:00", "month", 0),
    ("2024-03-22", "2024-03-22T00:00:00", "day", 0),
    ("2024-03-22T20", "2024-03-22T20:00:00", "hour", 0),
    ("2024-03-22T19:58+03:00", "2024-03-22T16:58:00", "minute", 180),
    ("2024-03-22T19:58:07Z", "2024-03-22T19:58:07", "second", 0),
    ("2024-03-22 19:58:07.250+0300", "2024-03-22T16:58:07.250000", "second", 180),
    ("2022-07-24T19:01:01+0000", "2022-07-24T19:01:01", "second", 0),
    ("2024-03-22T00:00-04:00", "2024-03-22T04:00:00", "minute", -240),
    ("20240322", "2024-03-22T00:00:00", "day", 0),
    ("1711123080", "2024-03-22T15:58:00", "second", None),
    ("1331698658276340", "2012-03-14T04:17:38.276340", "second", None),
    ("28 December 2022", "2022-12-28T00:00:00", "day", 0),
    ("March 22, 2024", "2024-03-22T00:00:00", "day", 0),
    ("Fri, 22 Mar 2024 20:00", "2024-03-22T20:00:00", "minute", 0),
    ("March 2024", "2024-03-01T00:00:00", "month", 0),
    ("3/15/1970", "1970-03-15T00:00:00", "day", 0),
    ("22/03/2024 8:05 PM", "2024-03-22T20:05:00", "minute", 0),
]


@pytest.mark.parametrize(("text", "utc", "precision", "offset"), CASES)
def test_formats_give_instant_precision_and_offset(
    text: str, utc: str, precision: str, offset: int | None
) -> None:
    """Each supported format reads to the right UTC instant, the precision it states, and its offset."""
    instant, got_precision, got_offset = _one(text)
    assert instant == datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert got_precision == precision
    assert got_offset == offset


@pytest.mark.parametrize(
    "text", ["not a date", "2024-02-30", "2024-13-01", "25:00", "0000-01-01", "2024-03-22T24:30"]
)
def test_invalid_values_are_rejected(text: str) -> None:
    """Text that is no real date is not read as one."""
    assert _one(text)[0] is None


def test_naive_times_are_read_in_the_chosen_zone() -> None:
    """A time without offset is local time in the chosen zone, and the zone's offset is recorded."""
    instant, precision, offset = _one("2024-03-22 20:00", tz="Europe/Moscow")
    assert instant == datetime(2024, 3, 22, 17, 0, tzinfo=UTC)
    assert (precision, offset) == ("minute", 180)


def test_naive_date_starts_at_local_midnight() -> None:
    """A date-only value read in a zone starts at that zone's midnight."""
    instant, precision, _ = _one("2024-03-22", tz="Europe/Moscow")
    assert instant == datetime(2024, 3, 21, 21, 0, tzinfo=UTC)
    assert precision == "day"


@pytest.mark.parametrize(
    ("values", "order", "first", "notice"),
    [
        (["13/02/2024", "01/02/2024"], "auto", datetime(2024, 2, 13, tzinfo=UTC), False),
        (["02/13/2024", "01/02/2024"], "auto", datetime(2024, 2, 13, tzinfo=UTC), False),
        (["01/02/2024", "03/04/2024"], "auto", datetime(2024, 1, 2, tzinfo=UTC), True),
        (["01/02/2024", "03/04/2024"], "dayfirst", datetime(2024, 2, 1, tzinfo=UTC), False),
    ],
)
def test_day_month_order_is_decided_per_column(
    values: list[str], order: str, first: datetime, notice: bool
) -> None:
    """Day-first vs month-first comes from the column's data; an ambiguous column is reported."""
    parts, notices = dates.read_parts(pa.array(values), date_order=order, column="when")
    parsed = dates.resolve(parts, tz="UTC", column="when")
    assert datetime.fromtimestamp(parsed.utc_us[0] / 1e6, tz=UTC) == first
    assert bool(notices) == notice
    if notice:
        assert "ambiguous" in notices[0] and "'when'" in notices[0]


def test_forced_order_rejects_contradicting_rows() -> None:
    """With day-first forced, a value whose second part is over 12 is rejected with a reason."""
    parts, _ = dates.read_parts(pa.array(["02/13/2024", "13/02/2024"]), date_order="dayfirst", column="d")
    parsed = dates.resolve(parts, tz="UTC", column="d")
    assert list(parsed.ok) == [False, True]
    assert "day-first" in parsed.errors[0]


def test_year_month_day_columns_lower_precision_for_zero() -> None:
    """GTD-style zero month or day means unknown: the precision becomes month or year."""
    parts = dates.parts_from_columns(
        pa.array(["1970", "1970", "1970"]), pa.array(["3", "3", "0"]), pa.array(["5", "0", "0"])
    )
    parsed = dates.resolve(parts, tz="UTC", column="iyear")
    assert [PRECISIONS[p] for p in parsed.precision] == ["day", "month", "year"]


def test_interval_bounds_follow_local_calendar() -> None:
    """A day in Moscow runs from local midnight to the next; a month to the next month's start."""
    start = np.array([datetime(2024, 3, 21, 21, tzinfo=UTC).timestamp() * 1e6], dtype=np.int64)
    day = np.array([PRECISIONS.index("day")], dtype=np.int8)
    month = np.array([PRECISIONS.index("month")], dtype=np.int8)
    offset = np.array([180])
    end = dates.end_of_interval(start, day, offset)[0]
    assert datetime.fromtimestamp(end / 1e6, tz=UTC) == datetime(2024, 3, 22, 21, tzinfo=UTC)
    inside = start + 5 * 86_400_000_000
    assert dates.start_of_interval(inside, month, offset)[0] == int(
        datetime(2024, 2, 29, 21, tzinfo=UTC).timestamp() * 1e6
    )


def test_unknown_zone_is_a_usage_error() -> None:
    """A zone name that is not IANA gives an error naming it."""
    with pytest.raises(Exception, match="Mars/Olympus"):
        dates.validate_zone("Mars/Olympus")


def _fixed_shaped(shape: str) -> st.SearchStrategy[str]:
    """Text laid out like one of the fixed ISO shapes, mostly digits where it has digits, sometimes not."""
    kinds = {"T": "T t", "Z": "Zz", "±": "+-", "-": "-/", ":": ":."}
    return st.tuples(*[st.sampled_from(kinds.get(kind, "0123456789" * 8 + "x ")) for kind in shape]).map(
        "".join
    )


@given(st.lists(st.sampled_from(dates._FIXED_SHAPES).flatmap(_fixed_shaped), min_size=1, max_size=30))
def test_fixed_shapes_read_as_the_iso_pattern_reads_them(values: list[str]) -> None:
    """What the fixed-position reader takes, _ISO reads into the same components; it never takes more."""
    array = pa.array(values)
    fixed, pattern = dates.DateParts(len(values)), dates.DateParts(len(values))
    dates._read_fixed(fixed, array, np.ones(len(values), dtype=bool))
    dates._read_pattern(pattern, array, fixed.matched, dates._ISO)
    assert (pattern.matched == fixed.matched).all()
    for name in ("year", "month", "day", "hour", "minute", "second", "micro", "offset", "has_offset"):
        assert (getattr(fixed, name) == getattr(pattern, name)).all(), name


def test_day_numbers_follow_the_calendar() -> None:
    """Every day of a few leap and common years, and whether 29-31 exist, as the datetime module says."""
    for year in (1, 4, 100, 1900, 1970, 2000, 2023, 2024, 9999):
        for month in range(1, 13):
            days = np.arange(1, 32)
            number, exists = dates._days_from_civil(np.full(31, year), np.full(31, month), days)
            real = [d for d in days if _exists(year, month, d)]
            assert exists.tolist() == [d in real for d in days]
            expected = [(date(year, month, d) - date(1970, 1, 1)).days for d in real]
            assert number[exists].tolist() == expected


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True
