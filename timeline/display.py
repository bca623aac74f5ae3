"""Times as the source stated them, in its own offset and precision, then as the display zone words them."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from timeline import schema as s
from timeline.dates import DAY, HOUR, MINUTE, MONTH, SECOND, validate_zone
from timeline.frame import START_US, STOP_US

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE
_US_PER_DAY = 24 * _US_PER_HOUR
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Zulu", "Etc/Universal", "Etc/Zulu"})

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NO_OFFSET = "UTC (no offset stated)"


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
    """One string per event: first the time as its source stated it, in the source's own offset and
    precision ("22 Mar 2024, time not stated, UTC+01:00"); then, only where the display zone tz words it
    differently, " · in {tz}: " and that wording ("21 Mar 2024 23:00 – 22 Mar 2024 23:00")."""
    validate_zone(tz)
    terms = _source_terms(frame)
    shown_start, shown_stop = local_micros(terms.start_us, tz), local_micros(terms.stop_us, tz)
    # Equal wall clocks are worded alike: only the other rows are worded in tz and compared.
    moved = np.flatnonzero((shown_start != terms.own_start) | (shown_stop != terms.own_stop))
    shown = _describe(terms.precision[moved], shown_start[moved], shown_stop[moved], terms.has_end[moved])
    # A time can move yet read alike: a minute that ends as the clocks change, a zone whose offset has
    # seconds (local mean time before ~1900).
    differs = pc.not_equal(shown, _pick(terms.words, moved)).to_numpy(zero_copy_only=False)
    zone = "UTC" if tz in _UTC_NAMES else tz
    tails = pa.concat_arrays(
        [pa.array([""], pa.string()), _join(" · in " + zone + ": ", shown.filter(pa.array(differs)))]
    )
    tail_of_row = np.zeros(len(frame), dtype=np.int64)
    tail_of_row[moved[differs]] = np.arange(1, int(differs.sum()) + 1)
    text = _join(terms.lead, _pick(tails, tail_of_row))
    return pd.Series(text.to_numpy(zero_copy_only=False), index=frame.index, dtype=object, name="time")


class _SourceTerms(NamedTuple):
    """Each event's interval, its wall clock in the source's own offset, and its wording there."""

    precision: np.ndarray
    start_us: np.ndarray
    stop_us: np.ndarray
    has_end: np.ndarray
    own_start: np.ndarray
    own_stop: np.ndarray
    words: pa.Array  # the time in the source's offset: "22 Mar 2024, time not stated"
    lead: pa.Array  # the words and the offset: "22 Mar 2024, time not stated, UTC+03:00"


def _source_terms(frame: pd.DataFrame) -> _SourceTerms:
    precision = _precision_codes(frame)
    start = frame[START_US].to_numpy(dtype=np.int64)
    stop = frame[STOP_US].to_numpy(dtype=np.int64)
    has_end = frame[s.END].notna().to_numpy()
    minutes, labels = _offsets(frame)
    # An event stated without an offset was placed in UTC (frame.prepare reads its interval so too).
    shift = minutes * _US_PER_MINUTE
    own_start, own_stop = start + shift, stop + shift
    words = _describe(precision, own_start, own_stop, has_end)
    lead = _join(words, ", ", labels)
    return _SourceTerms(precision, start, stop, has_end, own_start, own_stop, words, lead)


def _precision_codes(frame: pd.DataFrame) -> np.ndarray:
    """Index into schema.PRECISIONS of each event's precision; ValueError naming unknown values."""
    codes = pd.Categorical(frame[s.TIME_PRECISION], categories=s.PRECISIONS).codes
    if (codes < 0).any():
        bad = sorted({str(v) for v in frame[s.TIME_PRECISION][codes < 0]})
        raise ValueError(f"time_precision must be one of {', '.join(s.PRECISIONS)}; got {', '.join(bad)}")
    return codes.astype(np.int8)


def _offsets(frame: pd.DataFrame) -> tuple[np.ndarray, pa.Array]:
    """Each source's stated offset in minutes (0 where it stated none), and its label."""
    offset = frame[s.UTC_OFFSET_MINUTES]
    known = offset.notna().to_numpy()
    minutes = offset.astype("Float64").fillna(0).to_numpy(dtype=np.float64).astype(np.int64)
    distinct = np.unique(minutes[known])
    names = pa.array([offset_label(m) for m in distinct] + [_NO_OFFSET], pa.string())
    index = np.where(known, np.searchsorted(distinct, minutes), len(distinct))
    return minutes, names.take(pa.array(index, pa.int64()))


def _join(*parts: pa.Array | str) -> pa.Array:
    """Strings and string arrays joined row by row (at least one part is an array)."""
    return pc.binary_join_element_wise(*parts, "")


def _pick(words: pa.Array, index: np.ndarray) -> pa.Array:
    return words.take(pa.array(index, pa.int64()))


def _lookup(keys: np.ndarray, words: Callable[[np.ndarray], list[str]]) -> pa.Array:
    """words(distinct keys) spread over the keys: each distinct text is built once, in Python, and a
    million rows over a few weeks need only a few dozen of them."""
    if len(keys) == 0:
        return pa.array([], pa.string())
    low, high = int(keys.min()), int(keys.max())
    if high - low < len(keys):  # dense: index a table of the whole range, no sort
        return _pick(pa.array(words(np.arange(low, high + 1)), pa.string()), keys - low)
    distinct, index = np.unique(keys, return_inverse=True)
    return _pick(pa.array(words(distinct), pa.string()), index)


def _day_words(days: np.ndarray) -> list[str]:
    dates = days.astype("M8[D]")
    months = dates.astype("M8[M]")
    day = (dates - months.astype("M8[D]")).astype(np.int64) + 1
    return [f"{d} {m}" for d, m in zip(day.tolist(), _month_words(months.astype(np.int64)), strict=True)]


def _month_words(months: np.ndarray) -> list[str]:
    """Numpy's calendar, not datetime's: a year 9999 event seen east of UTC may end in year 10000."""
    year, month = np.divmod(months, 12)
    return [f"{_MONTH_NAMES[m]} {y}" for m, y in zip(month.tolist(), (year + 1970).tolist(), strict=True)]


def _year_words(years: np.ndarray) -> list[str]:
    return [str(year) for year in (years + 1970).tolist()]


@functools.cache
def _clock_words(seconds: bool) -> pa.Array:
    """ "HH:MM" for each minute of a day, or "HH:MM:SS" for each second."""
    if seconds:
        return pa.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)])
    return pa.array([f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)])


def _date(local_us: np.ndarray) -> pa.Array:
    """ "22 Mar 2024" for each wall-clock time."""
    return _lookup(local_us // _US_PER_DAY, _day_words)


def _month(local_us: np.ndarray) -> pa.Array:
    """ "Mar 2024" for each wall-clock time."""
    return _lookup(local_us.astype("M8[us]").astype("M8[M]").astype(np.int64), _month_words)


def _year(local_us: np.ndarray) -> pa.Array:
    """ "2024" for each wall-clock time."""
    return _lookup(local_us.astype("M8[us]").astype("M8[Y]").astype(np.int64), _year_words)


def _clock(local_us: np.ndarray, seconds: bool = False) -> pa.Array:
    """ "19:58", or "19:58:07" with seconds, for each wall-clock time."""
    unit = _US_PER_SECOND if seconds else _US_PER_MINUTE
    return _pick(_clock_words(seconds), local_us % _US_PER_DAY // unit)


def _calendar_start(local_us: np.ndarray, unit: str, later: int = 0) -> np.ndarray:
    """The start of the month ("M") or year ("Y") of each wall-clock time, or of the one `later` on."""
    return (local_us.astype("M8[us]").astype(f"M8[{unit}]") + later).astype("M8[us]").astype(np.int64)


def _describe(precision: np.ndarray, start: np.ndarray, stop: np.ndarray, has_end: np.ndarray) -> pa.Array:
    """The wording of events given their wall-clock start and (exclusive) stop in one zone, in row order."""
    groups = [np.flatnonzero(~has_end & (precision == code)) for code in np.unique(precision)]
    groups = [rows for rows in groups if len(rows)]
    words = [_describe_group(int(precision[rows[0]]), start[rows], stop[rows]) for rows in groups]
    rows = np.flatnonzero(has_end)
    if len(rows):
        groups.append(rows)
        words.append(_describe_durations(precision[rows], start[rows], stop[rows]))
    if not groups:
        return pa.array([], pa.string())
    position = np.empty(len(precision), dtype=np.int64)
    position[np.concatenate(groups)] = np.arange(len(precision))
    return pa.concat_arrays(words).take(pa.array(position))


def _describe_group(code: int, start: np.ndarray, stop: np.ndarray) -> pa.Array:
    """The wording of events of one precision and no end: the unit when it is one unit of the zone."""
    if code == SECOND:
        return _join(_date(start), " ", _clock(start, seconds=True))
    if code == MINUTE:
        return _join(_date(start), " ", _clock(start))
    if code == HOUR:
        # An hour of another zone (Moscow's 19:00-20:00 in India) is still one hour: worded as one.
        return _join(_date(start), ", ", _clock(start), "–", _clock(stop))
    if code == DAY:
        aligned = (start % _US_PER_DAY == 0) & (stop == start + _US_PER_DAY)
        unit = _join(_date(start), ", time not stated")
    elif code == MONTH:
        aligned = (start == _calendar_start(start, "M")) & (stop == _calendar_start(start, "M", later=1))
        unit = _join(_month(start), ", day not stated")
    else:
        aligned = (start == _calendar_start(start, "Y")) & (stop == _calendar_start(start, "Y", later=1))
        unit = _join(_year(start), ", month not stated")
    if aligned.all():
        return unit
    # Not one unit of this zone (a Moscow day seen in UTC runs 21:00-21:00): the interval it spans.
    loose = _join(_date(start), " ", _clock(start), " – ", _date(stop), " ", _clock(stop))
    return pc.if_else(aligned, unit, loose)


def _describe_durations(precision: np.ndarray, start: np.ndarray, stop: np.ndarray) -> pa.Array:
    """ "start – end" for events with a real duration; whole days print as dates, last day included."""
    midnights = (start % _US_PER_DAY == 0) & (stop % _US_PER_DAY == 0)
    whole_days = (precision >= DAY) & midnights & (stop > start)
    first_date = _date(start)
    last_date = _date(np.where(whole_days, stop - 1, stop))
    days = pc.if_else(pc.equal(first_date, last_date), first_date, _join(first_date, " – ", last_date))
    seconds = precision == SECOND
    clock_start = pc.if_else(seconds, _clock(start, seconds=True), _clock(start))
    clock_stop = pc.if_else(seconds, _clock(stop, seconds=True), _clock(stop))
    end_date = _date(stop)
    until = pc.if_else(pc.equal(first_date, end_date), clock_stop, _join(end_date, " ", clock_stop))
    return pc.if_else(whole_days, days, _join(first_date, " ", clock_start, " – ", until))
