"""Times as the source stated them, in the display zone, with their precision."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from timeline import schema as s
from timeline.dates import DAY, HOUR, MINUTE, MONTH, SECOND, YEAR, validate_zone
from timeline.frame import START_US, STOP_US

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE
_US_PER_DAY = 24 * _US_PER_HOUR
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Zulu", "Etc/Universal", "Etc/Zulu"})

_MONTH_NAMES = np.array(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], dtype=object
)
_TWO_DIGITS = np.array([f"{i:02d}" for i in range(61)], dtype=object)
_NUMBERS = np.array([str(i) for i in range(32)], dtype=object)
_UNIT_WORDS = {HOUR: "hour", DAY: "day", MONTH: "month", YEAR: "year"}


def label_text(text: str) -> str:
    """Text for Plotly labels and hover, which render a subset of HTML: <, > and & escaped, quotes kept.

    Plotly decodes &lt; &gt; &amp; but not &quot;, so escaping quotes would show them as entities.
    """
    return html.escape(text, quote=False)


def hover_texts(values: pd.Series, limit: int | None = None) -> np.ndarray:
    """label_text of every value (missing ones as ""), each first cut to limit characters ending in "…";
    in Arrow's kernels, not value by value: a figure carries thousands of these."""
    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not text: numbers, say, written as str() writes them
        text = pa.array(values.astype(object).where(values.notna(), "").astype(str), type=pa.string())
    text = pc.fill_null(text, "")
    if limit is not None:
        long = pc.greater(pc.utf8_length(text), limit)
        if pc.any(long).as_py():
            cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, limit - 1), "…", "")
            text = pc.if_else(long, cut, text)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):  # as label_text, & first
        text = pc.replace_substring(text, char, entity)
    return text.to_numpy(zero_copy_only=False)


def offset_label(minutes: int) -> str:
    """A UTC offset in minutes as text: 180 -> "UTC+03:00", -210 -> "UTC-03:30"."""
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(int(minutes)), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def zone_label(tz: str, at: pd.Timestamp | None = None) -> str:
    """The zone's name with its offset at instant `at` (default now): "Europe/Moscow (UTC+03:00)"."""
    validate_zone(tz)
    if tz in _UTC_NAMES:
        return "UTC"
    instant = pd.Timestamp.now(tz="UTC") if at is None else pd.Timestamp(at)
    instant = instant.tz_localize("UTC") if instant.tzinfo is None else instant
    offset = instant.tz_convert(tz).utcoffset()
    return f"{tz} ({offset_label(round(offset.total_seconds() / 60))})"


def local_micros(utc_us: np.ndarray, tz: str) -> np.ndarray:
    """Microseconds since the epoch in UTC -> the wall-clock time in tz, as naive microseconds."""
    utc_us = np.asarray(utc_us, dtype=np.int64)
    if tz in _UTC_NAMES or len(utc_us) == 0:
        return utc_us.copy()
    index = pd.DatetimeIndex(utc_us.view("M8[us]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return index.as_unit("us").asi8


def local_times(utc: pd.Series, tz: str) -> pd.Series:
    """Tz-aware UTC datetimes -> naive wall-clock datetimes in tz (Plotly ignores offsets, so plot these)."""
    if not isinstance(utc.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"utc must be a tz-aware datetime Series; got dtype {utc.dtype}")
    validate_zone(tz)
    return utc.dt.tz_convert(tz).dt.tz_localize(None)


def stated_times(frame: pd.DataFrame, tz: str) -> pd.Series:
    """One string per event: its time in zone tz, saying only as much as the source stated."""
    validate_zone(tz)
    precision = _precision_codes(frame)
    start = frame[START_US].to_numpy(dtype=np.int64)
    stop = frame[STOP_US].to_numpy(dtype=np.int64)
    has_end = frame[s.END].notna().to_numpy()
    stated = _stated_offset_labels(frame)
    text = _describe(precision, local_micros(start, tz), local_micros(stop, tz), has_end, stated)
    return pd.Series(text, index=frame.index, dtype=object, name="time")


def source_time(frame: pd.DataFrame) -> pd.Series:
    """The time in the source's own offset, suffixed " (UTC+03:00)"; "" where it stated no offset."""
    precision = _precision_codes(frame)
    known, minutes, labels = _offsets(frame)
    shift = minutes * _US_PER_MINUTE
    start = frame[START_US].to_numpy(dtype=np.int64) + shift
    stop = frame[STOP_US].to_numpy(dtype=np.int64) + shift
    has_end = frame[s.END].notna().to_numpy()
    text = _describe(precision, start, stop, has_end, labels)
    text = np.where(known, text + " (" + labels + ")", "").astype(object)
    return pd.Series(text, index=frame.index, dtype=object, name="source_time")


def _precision_codes(frame: pd.DataFrame) -> np.ndarray:
    """Index into schema.PRECISIONS of each event's precision; ValueError naming unknown values."""
    codes = pd.Categorical(frame[s.TIME_PRECISION].astype(object), categories=s.PRECISIONS).codes
    if (codes < 0).any():
        bad = sorted({str(v) for v in frame[s.TIME_PRECISION][codes < 0]})
        raise ValueError(f"time_precision must be one of {', '.join(s.PRECISIONS)}; got {', '.join(bad)}")
    return codes.astype(np.int8)


def _offsets(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether each source stated an offset, the offset in minutes (0 if not), and its label."""
    offset = frame[s.UTC_OFFSET_MINUTES]
    known = offset.notna().to_numpy()
    minutes = offset.astype("Float64").fillna(0).to_numpy(dtype=np.float64).astype(np.int64)
    distinct = np.unique(minutes)
    names = np.array([offset_label(m) for m in distinct], dtype=object)
    return known, minutes, names[np.searchsorted(distinct, minutes)]


def _stated_offset_labels(frame: pd.DataFrame) -> np.ndarray:
    """For each event, the offset its source stated, as named in a range form's note."""
    known, _, labels = _offsets(frame)
    return np.where(known, labels, "UTC, the source stated no offset").astype(object)


def _parts(local_us: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar fields of naive wall-clock microseconds (works before 1970 too)."""
    moments = local_us.astype("M8[us]")
    days = moments.astype("M8[D]")
    months = moments.astype("M8[M]")
    years = moments.astype("M8[Y]")
    of_day = (moments - days.astype("M8[us]")).astype(np.int64)
    return {
        "year": years.astype(np.int64) + 1970,
        "month": (months - years.astype("M8[M]")).astype(np.int64) + 1,
        "day": (days - months.astype("M8[D]")).astype(np.int64) + 1,
        "hour": of_day // _US_PER_HOUR,
        "minute": of_day // _US_PER_MINUTE % 60,
        "second": of_day // _US_PER_SECOND % 60,
        "midnight": days.astype("M8[us]").astype(np.int64),
        "month_start": months.astype("M8[us]").astype(np.int64),
        "next_month": (months + 1).astype("M8[us]").astype(np.int64),
        "year_start": years.astype("M8[us]").astype(np.int64),
        "next_year": (years + 1).astype("M8[us]").astype(np.int64),
    }


def _year(p: dict[str, np.ndarray]) -> np.ndarray:
    return p["year"].astype(str).astype(object)


def _date(p: dict[str, np.ndarray]) -> np.ndarray:
    return _NUMBERS[p["day"]] + " " + _MONTH_NAMES[p["month"] - 1] + " " + _year(p)


def _clock(p: dict[str, np.ndarray], seconds: bool = False) -> np.ndarray:
    text = _TWO_DIGITS[p["hour"]] + ":" + _TWO_DIGITS[p["minute"]]
    return text + ":" + _TWO_DIGITS[p["second"]] if seconds else text


def _describe(
    precision: np.ndarray, start: np.ndarray, stop: np.ndarray, has_end: np.ndarray, stated: np.ndarray
) -> np.ndarray:
    """Strings for events given their wall-clock start and (exclusive) stop in the zone shown."""
    out = np.full(len(precision), "", dtype=object)
    for code in np.unique(precision):
        rows = np.flatnonzero(~has_end & (precision == code))
        if len(rows):
            out[rows] = _describe_group(int(code), start[rows], stop[rows], stated[rows])
    rows = np.flatnonzero(has_end)
    if len(rows):
        out[rows] = _describe_durations(precision[rows], start[rows], stop[rows])
    return out


def _describe_group(code: int, start: np.ndarray, stop: np.ndarray, stated: np.ndarray) -> np.ndarray:
    """Strings for events of one precision and no end: the unit when it is one unit in the zone."""
    a = _parts(start)
    if code == SECOND:
        return _date(a) + " " + _clock(a, seconds=True)
    if code == MINUTE:
        return _date(a) + " " + _clock(a)
    b = _parts(stop)
    if code == HOUR:
        aligned = (start % _US_PER_HOUR == 0) & (stop - start == _US_PER_HOUR)
        unit = _date(a) + ", " + _clock(a) + "–" + _clock(b)
    elif code == DAY:
        aligned = (start == a["midnight"]) & (stop == start + _US_PER_DAY)
        unit = _date(a) + ", time not stated"
    elif code == MONTH:
        aligned = (start == a["month_start"]) & (stop == a["next_month"])
        unit = _MONTH_NAMES[a["month"] - 1] + " " + _year(a) + ", day not stated"
    else:
        aligned = (start == a["year_start"]) & (stop == a["next_year"])
        unit = _year(a) + ", month not stated"
    if aligned.all():
        return unit
    # The interval is not one unit of the zone shown (a Moscow day seen in UTC runs 21:00-21:00): say so.
    loose = unit if code == HOUR else _date(a) + " " + _clock(a) + " – " + _date(b) + " " + _clock(b)
    note = " (" + _UNIT_WORDS[code] + " stated in " + stated + ")"
    return np.where(aligned, unit, loose + note)


def _describe_durations(precision: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """ "start – end" for events with a real duration; whole days print as dates, last day included."""
    a, b = _parts(start), _parts(stop)
    whole_days = (precision >= DAY) & (start == a["midnight"]) & (stop == b["midnight"]) & (stop > start)
    first_date = _date(a)
    last_date = _date(_parts(np.where(whole_days, stop - 1, stop)))
    days = np.where(first_date == last_date, first_date, first_date + " – " + last_date)
    seconds = precision == SECOND
    clock_a = np.where(seconds, _clock(a, seconds=True), _clock(a))
    clock_b = np.where(seconds, _clock(b, seconds=True), _clock(b))
    end_date = _date(b)
    timed = (
        first_date
        + " "
        + clock_a
        + " – "
        + np.where(first_date == end_date, clock_b, end_date + " " + clock_b)
    )
    return np.where(whole_days, days, timed)
