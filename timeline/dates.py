"""Vectorised reading of date and time text into UTC instants with an honest precision."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from timeline.errors import UsageError
from timeline.schema import PRECISIONS

SECOND, MINUTE, HOUR, DAY, MONTH, YEAR = range(len(PRECISIONS))
DATE_ORDERS = ("auto", "dayfirst", "monthfirst")
_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_FIRST_US = -62_135_596_800_000_000  # 0001-01-01T00:00Z
_PAST_LAST_US = 253_402_300_800_000_000  # 10000-01-01T00:00Z
MISSING = -1
# The characters pc.utf8_trim_whitespace removes (tests/test_properties.py checks the list against
# Arrow), and which bytes can begin or end one of them in UTF-8.
WHITESPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_MAY_START_WHITESPACE = np.zeros(256, dtype=bool)
_MAY_START_WHITESPACE[[c.encode()[0] for c in WHITESPACE]] = True
_MAY_END_WHITESPACE = np.zeros(256, dtype=bool)
_MAY_END_WHITESPACE[[c.encode()[-1] for c in WHITESPACE]] = True
# The first day of every month from January of year 1 to January of year 10000, in days since 1970-01-01:
# a date's day number is one look-up away (numpy's calendar conversions cost far more).
_MONTH_STARTS = (
    np.arange("0001-01", "10000-02", dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)
)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}

_TIME = (
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
)
_ZONE = r"\s*(?P<zone>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_ISO = (
    r"^(?P<year>\d{4})(?:[-/.](?P<month>\d{1,2})(?:[-/.](?P<day>\d{1,2})"
    r"(?:[T ]\s*(?P<hour>\d{1,2})(?::?(?P<minute>\d{2})"
    r"(?::?(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?)?)?)?" + _ZONE + r"$"
)
_COMPACT = (
    r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:(?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})?)?$"
)
_NUMERIC = (
    r"^(?P<first>\d{1,2})[/.-](?P<second_part>\d{1,2})[/.-](?P<year>\d{4}|\d{2})(?:[ T,]+"
    + _TIME
    + r")?"
    + _ZONE
    + r"$"
)
_WEEKDAY = r"(?:[A-Za-z]+\.?,?\s+)?"
_DAY_MONTH_YEAR = (
    r"^"
    + _WEEKDAY
    + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?P<month_name>[A-Za-z]+)\.?,?\s+(?P<year>\d{4})"
    r"(?:[ ,T]+(?:at\s+)?" + _TIME + r")?" + _ZONE + r"$"
)
_MONTH_DAY_YEAR = (
    r"^" + _WEEKDAY + r"(?P<month_name>[A-Za-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
    r"(?:[ ,T]+(?:at\s+)?" + _TIME + r")?" + _ZONE + r"$"
)
_MONTH_YEAR = r"^(?P<month_name>[A-Za-z]+)\.?,?\s+(?P<year>\d{4})$"
_TIME_ONLY = r"^" + _TIME + _ZONE + r"$"
_EPOCH = r"^(?P<epoch>\d{9,10}|\d{12,13}|\d{15,16})(?:\.(?P<fraction>\d{1,9}))?$"

# The common ISO 8601 shapes, read at fixed positions, far faster than any regex or strptime: each
# letter is a digit of a field (Y year, M month, D day, h hour, m minute, s second, H and N the hours and
# minutes of the offset), T is "T" or a space, Z is "Z" or "z", ± is "+" or "-". They mean what _ISO reads
# from the same text; what none of them fits goes on to the patterns.
_FIXED_SHAPES = (
    "YYYY-MM-DD",
    "YYYY-MM-DDThh:mm",
    "YYYY-MM-DDThh:mmZ",
    "YYYY-MM-DDThh:mm±HH:NN",
    "YYYY-MM-DDThh:mm:ss",
    "YYYY-MM-DDThh:mm:ssZ",
    "YYYY-MM-DDThh:mm:ss±HH:NN",
)
_FIXED_FIELDS = {"Y": "year", "M": "month", "D": "day", "h": "hour", "m": "minute", "s": "second"}
_FIXED_CHARACTERS = {"T": b"T ", "Z": b"Zz", "±": b"+-", "-": b"-", ":": b":"}

# Patterns that say "this is a date" on sight; bare digit runs (ids, counts) are not among them.
_SELF_EVIDENT = (_ISO, _NUMERIC, _DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _MONTH_YEAR)


@dataclass
class Parsed:
    """Instants parsed from one column: UTC microseconds, precision index, stated offset, errors."""

    utc_us: np.ndarray
    precision: np.ndarray
    offset_minutes: np.ndarray
    has_offset: np.ndarray
    ok: np.ndarray
    errors: np.ndarray
    notices: list[str] = field(default_factory=list)
    order_votes: OrderVotes = field(default_factory=lambda: OrderVotes())

    def take(self, mask: np.ndarray) -> Parsed:
        """Only the rows where mask is true."""
        return Parsed(
            self.utc_us[mask],
            self.precision[mask],
            self.offset_minutes[mask],
            self.has_offset[mask],
            self.ok[mask],
            self.errors[mask],
            self.notices,
            self.order_votes,
        )


@dataclass(frozen=True)
class OrderVotes:
    """What a column's numeric dates say about their order: how many read only day-first (a second
    number over 12), only month-first (a first number over 12), and how many numeric dates there are.
    Votes add up, so the pieces of one column decide as the whole column would."""

    only_day: int = 0
    only_month: int = 0
    numeric: int = 0

    def __add__(self, other: OrderVotes) -> OrderVotes:
        return OrderVotes(
            self.only_day + other.only_day, self.only_month + other.only_month, self.numeric + other.numeric
        )

    def decide(self, column: str) -> tuple[bool, list[str]]:
        """Whether the column reads day-first, and what to tell the user about the choice."""
        if self.only_day and self.only_month:
            dayfirst = self.only_day >= self.only_month
            return dayfirst, [
                f"Column {column!r} mixes day-first and month-first dates; read as "
                f"{'day-first' if dayfirst else 'month-first'} (the majority); "
                "rows that contradict it are rejected."
            ]
        if self.only_day or self.only_month:
            return bool(self.only_day), []
        if not self.numeric:
            return False, []
        return False, [
            f"Column {column!r}: all {self.numeric} numeric dates are ambiguous "
            "(every day and month is 12 or less); read as month-first. Choose day-first if that is wrong."
        ]


@dataclass
class DateParts:
    """Date and time components as int arrays; MISSING where the text does not state them."""

    n: int
    year: np.ndarray = None  # type: ignore[assignment]
    month: np.ndarray = None  # type: ignore[assignment]
    day: np.ndarray = None  # type: ignore[assignment]
    hour: np.ndarray = None  # type: ignore[assignment]
    minute: np.ndarray = None  # type: ignore[assignment]
    second: np.ndarray = None  # type: ignore[assignment]
    micro: np.ndarray = None  # type: ignore[assignment]
    offset: np.ndarray = None  # type: ignore[assignment]
    has_offset: np.ndarray = None  # type: ignore[assignment]
    epoch_us: np.ndarray = None  # type: ignore[assignment]
    is_epoch: np.ndarray = None  # type: ignore[assignment]
    matched: np.ndarray = None  # type: ignore[assignment]
    error: np.ndarray = None  # type: ignore[assignment]
    # What the numeric dates said about their order: see OrderVotes.
    order_votes: OrderVotes = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("year", "month", "day", "hour", "minute", "second", "micro", "offset", "epoch_us"):
            setattr(self, name, np.full(self.n, MISSING, dtype=np.int64))
        self.has_offset = np.zeros(self.n, dtype=bool)
        self.is_epoch = np.zeros(self.n, dtype=bool)
        self.matched = np.zeros(self.n, dtype=bool)
        self.error = np.full(self.n, None, dtype=object)
        self.order_votes = OrderVotes()


def _ints(struct: pa.StructArray, name: str) -> np.ndarray:
    """One captured group as int64, MISSING where the group did not take part (or does not exist)."""
    if name not in _field_names(struct):
        return np.full(len(struct), MISSING, dtype=np.int64)
    text = struct.field(name)
    text = pc.if_else(pc.equal(text, ""), None, text)
    return pc.fill_null(pc.cast(text, pa.int64()), MISSING).to_numpy(zero_copy_only=False)


def _field_names(struct: pa.StructArray) -> set[str]:
    return {struct.type.field(i).name for i in range(struct.type.num_fields)}


def _extract(values: pa.Array, pattern: str, todo: np.ndarray) -> tuple[np.ndarray, pa.StructArray]:
    """Rows (among todo) that match pattern, and the captured groups for those rows."""
    idx = np.flatnonzero(todo)
    if len(idx) == 0:
        return idx, None
    sub = values.take(pa.array(idx))
    hits = pc.fill_null(pc.match_substring_regex(sub, pattern), False).to_numpy(zero_copy_only=False)
    idx = idx[hits]
    if len(idx) == 0:
        return idx, None
    return idx, pc.extract_regex(sub.filter(pa.array(hits)), pattern)


def _fill_time(parts: DateParts, idx: np.ndarray, struct: pa.StructArray) -> None:
    names = _field_names(struct)
    if "hour" not in names:
        return
    hour = _ints(struct, "hour")
    minute = _ints(struct, "minute")
    second = _ints(struct, "second")
    if "ampm" in names:
        ampm = pc.utf8_lower(pc.replace_substring(struct.field("ampm"), ".", "")).to_numpy(
            zero_copy_only=False
        )
        pm = ampm == "pm"
        am = ampm == "am"
        bad = (am | pm) & ((hour < 1) | (hour > 12))
        hour = np.where(pm & (hour < 12), hour + 12, np.where(am & (hour == 12), 0, hour))
        hour = np.where(bad, 99, hour)
    frac_value = _ints(struct, "fraction")
    frac_digits = np.zeros(len(struct), dtype=np.int64)
    if "fraction" in names:
        frac_digits = pc.fill_null(pc.utf8_length(struct.field("fraction")), 0).to_numpy(zero_copy_only=False)
    micro = np.where(
        frac_value >= 0,
        (frac_value * (10 ** np.clip(6 - frac_digits, 0, 6))) // (10 ** np.clip(frac_digits - 6, 0, 9)),
        MISSING,
    )
    parts.hour[idx] = hour
    parts.minute[idx] = minute
    parts.second[idx] = second
    parts.micro[idx] = micro


def _fill_zone(parts: DateParts, idx: np.ndarray, struct: pa.StructArray) -> None:
    if "zone" not in _field_names(struct):
        return
    zone = struct.field("zone")
    stated = pc.invert(pc.fill_null(pc.equal(zone, ""), True)).to_numpy(zero_copy_only=False)
    digits = pc.replace_substring_regex(zone, r"[^0-9]", "")
    hours = pc.fill_null(
        pc.cast(pc.if_else(pc.equal(digits, ""), None, pc.utf8_slice_codeunits(digits, 0, 2)), pa.int64()), 0
    )
    mins = pc.utf8_slice_codeunits(digits, 2, 4)
    mins = pc.fill_null(pc.cast(pc.if_else(pc.equal(mins, ""), None, mins), pa.int64()), 0)
    sign = np.where(pc.fill_null(pc.starts_with(zone, "-"), False).to_numpy(zero_copy_only=False), -1, 1)
    offset = sign * (hours.to_numpy(zero_copy_only=False) * 60 + mins.to_numpy(zero_copy_only=False))
    parts.offset[idx] = np.where(stated, offset, MISSING)
    parts.has_offset[idx] = stated


def _month_numbers(struct: pa.StructArray) -> np.ndarray:
    names = pc.utf8_lower(struct.field("month_name")).to_pylist()
    return np.array([_MONTHS.get(name, 0) for name in names], dtype=np.int64)


def _century(year: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """Two-digit years pivot like POSIX strptime: 69-99 are 19xx, 00-68 are 20xx."""
    return np.where(digits == 2, np.where(year >= 69, 1900 + year, 2000 + year), year)


def _read_numeric(
    parts: DateParts, values: pa.Array, todo: np.ndarray, date_order: str, column: str
) -> list[str]:
    """Day-first or month-first numeric dates, the order decided for the whole column."""
    idx, struct = _extract(values, _NUMERIC, todo)
    if len(idx) == 0:
        return []
    first = _ints(struct, "first")
    second = _ints(struct, "second_part")
    year_text = struct.field("year")
    year = _century(_ints(struct, "year"), pc.utf8_length(year_text).to_numpy(zero_copy_only=False))
    fits_dayfirst = (second >= 1) & (second <= 12)
    fits_monthfirst = (first >= 1) & (first <= 12)
    parts.order_votes = OrderVotes(
        int(np.sum(fits_dayfirst & ~fits_monthfirst)), int(np.sum(fits_monthfirst & ~fits_dayfirst)), len(idx)
    )
    notices = []
    if date_order == "auto":
        dayfirst, notices = parts.order_votes.decide(column)
    else:
        dayfirst = date_order == "dayfirst"
    day, month = (first, second) if dayfirst else (second, first)
    fits = fits_dayfirst if dayfirst else fits_monthfirst
    order = "day-first" if dayfirst else "month-first"
    parts.year[idx] = year
    parts.month[idx] = np.where(fits, month, 0)
    parts.day[idx] = day
    wrong_month = month[~fits]
    parts.error[idx[~fits]] = [f"is not a {order} date (its month would be {m})" for m in wrong_month]
    _fill_time(parts, idx, struct)
    _fill_zone(parts, idx, struct)
    parts.matched[idx] = True
    return notices


def _read_pattern(parts: DateParts, values: pa.Array, todo: np.ndarray, pattern: str) -> None:
    idx, struct = _extract(values, pattern, todo)
    if len(idx) == 0:
        return
    names = _field_names(struct)
    parts.year[idx] = _ints(struct, "year")
    if "month" in names:
        parts.month[idx] = _ints(struct, "month")
    if "month_name" in names:
        parts.month[idx] = _month_numbers(struct)
    if "day" in names:
        parts.day[idx] = _ints(struct, "day")
    _fill_time(parts, idx, struct)
    _fill_zone(parts, idx, struct)
    parts.matched[idx] = True


def _read_fixed(parts: DateParts, values: pa.Array, todo: np.ndarray) -> None:
    """Values (among todo) of the _FIXED_SHAPES, read digit by digit from their bytes."""
    lengths = np.where(todo, pc.binary_length(values).to_numpy(zero_copy_only=False), 0)
    for shape in _FIXED_SHAPES:
        idx = np.flatnonzero(lengths == len(shape))
        if len(idx) == 0:
            continue
        # Values of one length, taken into a new array, lie end to end: a matrix of bytes, a row each.
        offsets, text = value_bytes(values.take(pa.array(idx)))
        chars = text[offsets[0] : offsets[0] + len(idx) * len(shape)].reshape(len(idx), len(shape))
        digits = [position for position, kind in enumerate(shape) if kind not in _FIXED_CHARACTERS]
        fits = (chars[:, digits] - ord("0") <= 9).all(axis=1)  # bytes below "0" wrap around to above 9
        for position, kind in enumerate(shape):
            if kind in _FIXED_CHARACTERS:
                fits &= np.logical_or.reduce([chars[:, position] == byte for byte in _FIXED_CHARACTERS[kind]])
        if not fits.all():
            idx, chars = idx[fits], chars[fits]
        for letter, name in _FIXED_FIELDS.items():
            if letter in shape:
                getattr(parts, name)[idx] = _fixed_number(chars, shape, letter)
        if "±" in shape:
            sign = np.where(chars[:, shape.index("±")] == ord("-"), -1, 1)
            parts.offset[idx] = sign * (
                _fixed_number(chars, shape, "H") * 60 + _fixed_number(chars, shape, "N")
            )
            parts.has_offset[idx] = True
        elif "Z" in shape:
            parts.offset[idx] = 0
            parts.has_offset[idx] = True
        parts.matched[idx] = True


def _fixed_number(chars: np.ndarray, shape: str, letter: str) -> np.ndarray:
    """The number written by the digits at letter's positions in shape, for each row of chars."""
    number = np.zeros(len(chars), dtype=np.int32)
    for position in [p for p, kind in enumerate(shape) if kind == letter]:
        number *= 10  # in place: a million rows, and this runs for every digit
        number += chars[:, position]
        number -= ord("0")
    return number


def _read_epoch(parts: DateParts, values: pa.Array, todo: np.ndarray) -> None:
    idx, struct = _extract(values, _EPOCH, todo)
    if len(idx) == 0:
        return
    digits = pc.utf8_length(struct.field("epoch")).to_numpy(zero_copy_only=False)
    number = _ints(struct, "epoch")
    scale = np.where(digits <= 10, 1_000_000, np.where(digits <= 13, 1_000, 1))
    fraction = struct.field("fraction")
    frac_digits = pc.fill_null(pc.utf8_length(fraction), 0).to_numpy(zero_copy_only=False)
    frac = np.maximum(_ints(struct, "fraction"), 0)
    frac_us = np.where(
        scale == 1_000_000,
        (frac * 10 ** np.clip(6 - frac_digits, 0, 6)) // 10 ** np.clip(frac_digits - 6, 0, 9),
        0,
    )
    parts.epoch_us[idx] = number * scale + frac_us
    parts.is_epoch[idx] = True
    parts.matched[idx] = True


def _clean(values: pa.Array) -> pa.Array:
    values = pc.cast(values, pa.string())
    return pc.utf8_trim_whitespace(values) if may_need_trimming(*value_ends(values)) else values


def may_need_trimming(first: np.ndarray, last: np.ndarray) -> bool:
    """Whether any value may start or end with whitespace, from value_ends (trimming copies all text)."""
    return bool(_MAY_START_WHITESPACE[first].any() or _MAY_END_WHITESPACE[last].any())


def value_ends(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The first and the last byte of each string value (0 for an empty one), found without copying any
    text: whether a value needs trimming or may be a missing-value marker shows there."""
    firsts, lasts = [], []
    for chunk in values.chunks if isinstance(values, pa.ChunkedArray) else [values]:
        offsets, text = value_bytes(chunk)
        if len(text) == 0:  # every value empty
            firsts.append(np.zeros(len(chunk), dtype=np.uint8))
            lasts.append(firsts[-1])
            continue
        present = offsets[1:] > offsets[:-1]
        firsts.append(text.take(offsets[:-1], mode="clip") * present)
        lasts.append(text.take(offsets[1:] - 1, mode="clip") * present)
    empty = np.zeros(0, dtype=np.uint8)
    return np.concatenate(firsts or [empty]), np.concatenate(lasts or [empty])


def value_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's value offsets and UTF-8 bytes, as numpy views of its buffers (no copy)."""
    _, offsets, text = values.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    return offsets, np.frombuffer(text, dtype=np.uint8) if text is not None else np.zeros(0, dtype=np.uint8)


def read_parts(
    values: pa.Array, *, date_order: str, column: str, allow_epoch: bool = True
) -> tuple[DateParts, list[str]]:
    """Components of each value of a date(-time) column; rows matching no format stay unmatched."""
    if date_order not in DATE_ORDERS:
        raise UsageError(f"date_order must be one of {', '.join(DATE_ORDERS)}; got {date_order!r}")
    values = _clean(values)
    parts = DateParts(len(values))
    present = pc.fill_null(pc.not_equal(values, ""), False).to_numpy(zero_copy_only=False)
    _read_fixed(parts, values, present)
    if not (present & ~parts.matched).any():
        return parts, []
    _read_pattern(parts, values, present & ~parts.matched, _ISO)
    if allow_epoch:
        _read_epoch(parts, values, present & ~parts.matched)
    _read_pattern(parts, values, present & ~parts.matched, _COMPACT)
    notices = _read_numeric(parts, values, present & ~parts.matched, date_order, column)
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _MONTH_YEAR):
        _read_pattern(parts, values, present & ~parts.matched, pattern)
    return parts, notices


def read_time_parts(parts: DateParts, values: pa.Array) -> None:
    """Add the times of a separate time column to date parts that state a day and no time."""
    values = _clean(values)
    todo = (parts.day != MISSING) & (parts.hour == MISSING) & ~parts.is_epoch
    todo &= pc.fill_null(pc.not_equal(values, ""), False).to_numpy(zero_copy_only=False)
    idx, struct = _extract(values, _TIME_ONLY, todo)
    if len(idx) == 0:
        return
    _fill_time(parts, idx, struct)
    _fill_zone(parts, idx, struct)


def parts_from_columns(year: pa.Array, month: pa.Array | None, day: pa.Array | None) -> DateParts:
    """Components from separate year/month/day columns; 0 or missing month/day lowers the precision."""
    parts = DateParts(len(year))

    def number(values: pa.Array | None) -> np.ndarray:
        if values is None:
            return np.full(len(year), MISSING, dtype=np.int64)
        text = _clean(values)
        text = pc.replace_substring_regex(text, r"\.0+$", "")
        numeric = pc.fill_null(pc.match_substring_regex(text, r"^-?\d{1,4}$"), False)
        return pc.fill_null(pc.cast(pc.if_else(numeric, text, None), pa.int64()), MISSING).to_numpy(
            zero_copy_only=False
        )

    y, m, d = number(year), number(month), number(day)
    m = np.where(m <= 0, MISSING, m)
    d = np.where((d <= 0) | (m == MISSING), MISSING, d)
    parts.year[:] = y
    parts.month[:] = m
    parts.day[:] = d
    parts.matched[:] = y > 0
    return parts


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 for each date, and whether the date exists (no 30 February)."""
    month_index = (np.clip(year, 1, 9999) - 1) * 12 + np.clip(month, 1, 12) - 1
    starts = _MONTH_STARTS[month_index]
    day = np.clip(day, 1, 31)
    return starts + day - 1, day <= _MONTH_STARTS[month_index + 1] - starts


def resolve(parts: DateParts, *, tz: str, column: str) -> Parsed:
    """UTC instants, precision and offset from components; naive values are read in zone tz."""
    ok = parts.matched.copy()
    errors = parts.error.copy()
    no_error = errors == None  # noqa: E711 - elementwise test on an object array; kept up to date below
    has = {name: getattr(parts, name) != MISSING for name in ("month", "day", "hour", "minute", "second")}
    precision = np.select(
        [~has["month"], ~has["day"], ~has["hour"], ~has["minute"], ~has["second"]],
        [YEAR, MONTH, DAY, HOUR, MINUTE],
        SECOND,
    ).astype(np.int8)
    month = np.where(has["month"], parts.month, 1)
    day = np.where(has["day"], parts.day, 1)
    hour = np.maximum(parts.hour, 0)
    minute = np.maximum(parts.minute, 0)
    second = np.maximum(parts.second, 0)
    micro = np.maximum(parts.micro, 0)
    in_range = (parts.year >= 1) & (parts.year <= 9999)
    valid_fields = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    valid_fields &= (hour <= 23) & (minute <= 59) & (second <= 60) & (np.abs(parts.offset) <= 18 * 60)
    days, exists = _days_from_civil(parts.year, month, day)
    local_us = (
        days * _US_PER_DAY
        + hour * 3_600_000_000
        + minute * _US_PER_MINUTE
        + np.minimum(second, 59) * 1_000_000
        + micro
    )
    date_ok = ~parts.is_epoch & ok & no_error
    bad_year = date_ok & ~in_range
    errors[bad_year] = "has a year outside 1-9999"
    bad_field = date_ok & in_range & ~(valid_fields & exists)
    errors[bad_field] = "is not a real date or time"
    no_error &= ~(bad_year | bad_field)
    utc_us = np.where(parts.has_offset, local_us - parts.offset * _US_PER_MINUTE, local_us)
    offset = np.where(parts.has_offset, parts.offset, MISSING)
    naive = date_ok & in_range & valid_fields & exists & ~parts.has_offset
    if naive.any() and tz != "UTC":
        stamps = pd.DatetimeIndex(local_us[naive].astype("datetime64[us]"))
        localized = stamps.tz_localize(
            tz, ambiguous=np.ones(len(stamps), dtype=bool), nonexistent="shift_forward"
        )
        utc_naive = localized.tz_convert("UTC").tz_localize(None).asi8
        utc_naive = utc_naive // 1000 if localized.unit == "ns" else utc_naive
        utc_us[naive] = utc_naive
        offset[naive] = (local_us[naive] - utc_naive) // _US_PER_MINUTE
    elif naive.any():
        offset[naive] = 0
    epoch = parts.is_epoch & ok
    utc_us = np.where(epoch, parts.epoch_us, utc_us)
    # A first of January of year 1 read east of UTC would fall into year 0: not storable, so not a date.
    outside = ok & no_error & ((utc_us < _FIRST_US) | (utc_us >= _PAST_LAST_US))
    errors[outside] = "has a year outside 1-9999 in UTC"
    precision = np.where(epoch, SECOND, precision).astype(np.int8)
    unmatched = ~parts.matched
    errors[unmatched] = "is not a date in any known format"
    ok &= no_error & ~outside & ~unmatched
    has_offset = (parts.has_offset | naive) & ok & ~epoch
    return Parsed(utc_us, precision, offset, has_offset, ok, errors)


def validate_zone(tz: str) -> str:
    """The zone name if it is a valid IANA zone, else UsageError naming it."""
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except Exception as exc:  # pandas raises several types for unknown zones
        raise UsageError(
            f"unknown time zone {tz!r}; use an IANA name such as 'UTC' or 'Europe/Moscow'"
        ) from exc
    return tz


def looks_like_dates(values: pa.Array, *, threshold: float = 0.8) -> bool:
    """Whether most non-empty values read as dates on sight (used to find an unnamed date column)."""
    values = _clean(values)
    present = values.filter(pc.fill_null(pc.not_equal(values, ""), False))
    if len(present) == 0:
        return False
    hits = np.zeros(len(present), dtype=bool)
    for pattern in _SELF_EVIDENT:
        hits |= pc.fill_null(pc.match_substring_regex(present, pattern), False).to_numpy(zero_copy_only=False)
    if not hits.any():
        return False
    # A bare 4-digit number column (counts, codes) is not a date column.
    year_only = pc.fill_null(pc.match_substring_regex(present, r"^\d{4}$"), False).to_numpy(
        zero_copy_only=False
    )
    return hits.mean() >= threshold and not year_only.all()


def looks_like_times(values: pa.Array, *, threshold: float = 0.8) -> bool:
    """Whether most non-empty values are clock times (HH:MM[:SS])."""
    values = _clean(values)
    present = values.filter(pc.fill_null(pc.not_equal(values, ""), False))
    if len(present) == 0:
        return False
    hits = pc.fill_null(pc.match_substring_regex(present, r"^\d{1,2}:\d{2}(?::\d{2})?"), False)
    return pc.mean(pc.cast(hits, pa.int8())).as_py() >= threshold


def _local(utc_us: np.ndarray, offset_minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock microseconds, and the offset added to get them (none where none is stated)."""
    offset = np.where(offset_minutes == MISSING, 0, offset_minutes) * _US_PER_MINUTE
    return utc_us + offset, offset


# The length of each precision's unit in microseconds, by precision code; months and years (0 here)
# have no fixed length and are computed from the calendar, for the few rows that need it.
_UNIT_US = np.array([1_000_000, _US_PER_MINUTE, 3_600_000_000, _US_PER_DAY, 0, 0], dtype=np.int64)
_CALENDAR_UNITS = ((MONTH, "datetime64[M]"), (YEAR, "datetime64[Y]"))


def _calendar_start(local_us: np.ndarray, calendar_unit: str, later: int = 0) -> np.ndarray:
    """The start of the month or year of each local time (of the one `later` units on)."""
    start = local_us.astype("datetime64[us]").astype(calendar_unit) + later
    return start.astype("datetime64[us]").astype(np.int64)


def start_of_interval(utc_us: np.ndarray, precision: np.ndarray, offset_minutes: np.ndarray) -> np.ndarray:
    """Each instant moved back to the start of its precision's unit, in its local time."""
    local_us, offset = _local(utc_us, offset_minutes)
    start = local_us - np.mod(local_us, np.maximum(_UNIT_US[precision], 1))
    for code, calendar_unit in _CALENDAR_UNITS:
        coarse = precision == code
        if coarse.any():
            start[coarse] = _calendar_start(local_us[coarse], calendar_unit)
    return start - offset


def end_of_interval(utc_us: np.ndarray, precision: np.ndarray, offset_minutes: np.ndarray) -> np.ndarray:
    """The end (exclusive) of the interval each instant could lie in, computed in its local time."""
    local_us, offset = _local(utc_us, offset_minutes)
    local_end = local_us + _UNIT_US[precision]
    for code, calendar_unit in _CALENDAR_UNITS:
        coarse = precision == code
        if coarse.any():
            local_end[coarse] = _calendar_start(local_us[coarse], calendar_unit, later=1)
    return local_end - offset
