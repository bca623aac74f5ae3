"""The view state whose fields are the URL's parameters, and `apply`: which events a view shows."""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import re
import zoneinfo
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from timeline import bundled, dates, display, schema, store
from timeline.errors import TimelineError, UsageError
from timeline.frame import START_US, STOP_US, counts, fold, search_text, with_details

TABS: tuple[str, ...] = ("timeline", "reactions", "casualties", "table", "dataset")
LANES: tuple[str, ...] = ("actor", "group")  # timeline lanes: one per actor, or per actor group
AXES: tuple[str, ...] = ("time", "relative", "log")  # clock time, or T+ from the anchor (linear / log)
GROUPINGS: tuple[str, ...] = ("actor", "group", "type")  # what one row of the reactions view is
# The reactions view's own time axis: logarithmic by default, so the first hours and day are legible.
REACTION_AXES: tuple[str, ...] = ("log", "linear")
# The casualties view: one incident's reports (highest so far per reporter kind), or totals per period for
# datasets of many incidents; absent from a link, the dataset's own default (casualties.default_mode).
TOLL_MODES: tuple[str, ...] = ("reports", "totals")
MAX_TEXT = 200  # longest accepted q / from / to value
SHOWN_CHARS = 60  # longest value quoted back in a notice
LISTED_VALUES = 5  # values named in one notice


@dataclass(frozen=True)
class Param:
    """One URL parameter: its key, the View field it fills, whether it repeats, and what it means."""

    key: str
    field: str
    repeatable: bool
    meaning: str


# The URL grammar: one row per parameter of PRODUCT.md, in its order. URL keys are spelled only here.
PARAMS: tuple[Param, ...] = (
    Param("dataset", "dataset", False, "dataset id; default: the bundled dataset"),
    Param("v", "version", False, "dataset version; absent: the newest"),
    Param("actor", "actors", True, "selected actors (absent: all)"),
    Param("group", "groups", True, "selected actor groups"),
    Param("type", "types", True, "selected event types"),
    Param(
        "from",
        "start",
        False,
        "start of the time window: 2024-03-22, 2024-03-22T17:30, or with an offset or Z; "
        "without an offset, read in tz",
    ),
    Param("to", "end", False, "end of the time window, including the day or minute it states; like from"),
    Param("q", "query", False, "search text over title, description, actor, target and source"),
    Param("tz", "tz", False, "IANA time zone for display, e.g. Europe/Moscow (default UTC)"),
    Param("tab", "tab", False, f"which view is open: {', '.join(TABS)} (default {TABS[0]})"),
    Param("anchor", "anchor", False, "event id used as time zero for relative time"),
    Param("event", "event", False, "the event whose details are open"),
    # Beyond PRODUCT.md's table: the view options of the timeline and reactions views.
    Param("lanes", "lanes", False, f"timeline lanes: {' or '.join(LANES)} (default {LANES[0]})"),
    Param(
        "axis",
        "axis",
        False,
        "time axis: time (clock time), relative (T+ from the anchor) or log (T+, logarithmic); default time",
    ),
    Param("by", "by", False, f"one reactions row per {', '.join(GROUPINGS)} (default {GROUPINGS[0]})"),
    Param(
        "react",
        "reacts",
        True,
        "event types that count as reactions (absent: all but attack, casualty_update)",
    ),
    Param(
        "raxis",
        "reaction_axis",
        False,
        f"reactions time axis: {' or '.join(REACTION_AXES)} (default {REACTION_AXES[0]})",
    ),
    Param(
        "toll",
        "toll",
        False,
        "casualties view: reports (highest so far per reporter kind) or totals (per period); "
        "absent: the dataset's default",
    ),
)
KEYS: Mapping[str, str] = {param.field: param.key for param in PARAMS}  # View field -> URL key
_PARAMS_BY_FIELD: Mapping[str, Param] = {param.field: param for param in PARAMS}


@dataclass(frozen=True)
class View:
    """What the page shows: dataset, version, filters, time window, zone, tab and anchor (all URL state)."""

    dataset: str = bundled.DATASET_ID
    version: str | None = None
    actors: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    query: str = ""
    tz: str = "UTC"
    tab: str = TABS[0]
    anchor: str | None = None
    event: str | None = None
    lanes: str = LANES[0]
    axis: str = AXES[0]
    by: str = GROUPINGS[0]
    reacts: tuple[str, ...] = ()
    reaction_axis: str = REACTION_AXES[0]
    toll: str | None = None


DEFAULTS: Mapping[str, object] = {field.name: field.default for field in dataclasses.fields(View)}

# Repeatable filters and the categorical column each one selects in.
FILTER_COLUMNS: Mapping[str, str] = {
    "actors": schema.ACTOR,
    "groups": schema.ACTOR_GROUP,
    "types": schema.EVENT_TYPE,
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_IANA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_NOT_ZONE_NAMES = frozenset({"localtime", "posixrules"})
# A '+' of an offset that reached us as a space because the link was not percent-encoded.
_SPACE_FOR_PLUS = re.compile(r"^(.*[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")
_NARROW_SHARE = 0.25  # search only the rows other filters kept when they are fewer than this share
_SEARCH_THREADS = os.cpu_count() or 1
_PARALLEL_FROM = 100_000  # rows of search text worth splitting between threads
_US_PER_DAY = 86_400_000_000
_TIME_EXAMPLES = "2024-03-22, 2024-03-22T17:30, 2024-03-22T17:30+03:00 or 2024-03-22T14:30Z"


def from_query(params: Mapping[str, str | Sequence[str]]) -> tuple[View, list[str]]:
    """The view a URL's query parameters ask for, and one notice per value that had to be dropped."""
    notices: list[str] = []
    chosen: dict[str, object] = {}
    for param, values in _items(params):
        if not values:
            continue
        if param.repeatable:
            kept = _repeated(param, values, notices)
            if kept:
                chosen[param.field] = kept
        else:
            value = _single(param, values[-1], notices)
            if value is not None:
                chosen[param.field] = value
    view = View(**chosen)
    return _checked_window(view, notices), notices


def to_query(view: View, *, pinned: bool = False) -> dict[str, list[str]]:
    """The query parameters of a view: only values that differ from the defaults, lists in order.

    pinned: the dataset and its version are written even where they are the defaults, so the link opens
    this very version whatever is saved or made the default later (the version must then be set).
    """
    if pinned and view.version is None:
        raise ValueError("a pinned link needs the view's version")
    query = {}
    for param in PARAMS:
        value = getattr(view, param.field)
        if value == DEFAULTS[param.field] and not (pinned and param.field in ("dataset", "version")):
            continue
        query[param.key] = list(value) if param.repeatable else [value]
    return query


@dataclass(frozen=True)
class Edit:
    """The view after one field was set through a control: accepted, or the view unchanged and why."""

    view: View
    notices: tuple[str, ...]
    accepted: bool


def edited(view: View, field: str, value: object) -> Edit:
    """The view with one field set as a control gives it (a list for repeatable fields, text otherwise),
    checked with the link's own rules so the page and a link agree on what is valid and how it is written.

    An empty value restores the field's default. A value the rules refuse, or a window whose from is not
    before its to, leaves the view as it was (accepted=False) with the reason. A new zone keeps the window's
    instants (`in_zone`). Other notices (a date that reads both ways) come with an accepted edit.
    """
    param = _PARAMS_BY_FIELD[field]
    notices: list[str] = []
    if param.repeatable:
        new: object = _repeated(param, _as_list(value or []), notices)
    elif value is None or (isinstance(value, str) and not value.strip()):
        new = DEFAULTS[field]
    else:
        new = _single(param, value, notices)
        if new is None:
            return Edit(view, tuple(notices), accepted=False)
    if field == "tz":
        return Edit(in_zone(view, str(new)), tuple(notices), accepted=True)
    candidate = dataclasses.replace(view, **{field: new})
    problems: list[str] = []
    if _checked_window(candidate, problems) is not candidate:
        # The window's own notice names both bounds as dropped; here only the new one is refused.
        reason = problems[0].rsplit(": ", 1)[-1]
        return Edit(view, (f"Ignored {param.key}={_shown(new)}: {reason}",), accepted=False)
    return Edit(candidate, tuple(notices), accepted=True)


@dataclass(frozen=True)
class Present:
    """What a dataset version holds, as `reconcile` asks it: the values of the filter columns, and whether
    an event id exists."""

    values: Mapping[str, Collection[str]]  # column -> its values in the version
    has_event: Callable[[str], bool]

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> Present:
        """What a prepared frame holds."""
        columns = (*FILTER_COLUMNS.values(), schema.EVENT_TYPE)
        ids = frame[schema.EVENT_ID]
        return cls(
            values={column: frozenset(counts(frame, column).index) for column in columns},
            has_event=lambda event_id: bool((ids == event_id).any()),
        )


def reconcile(view: View, present: Present) -> tuple[View, list[str]]:
    """The view without the actors, groups, types, anchor and open event the opened dataset does not have."""
    notices = []
    changes: dict[str, object] = {}
    for field, column in FILTER_COLUMNS.items():
        selected = getattr(view, field)
        if not selected:
            continue
        known = present.values[column]
        missing = [value for value in selected if value not in known]
        if missing:
            changes[field] = tuple(value for value in selected if value in known)
            notices.append(f"Ignored {_listed(KEYS[field], missing)}: not in this dataset.")
    if view.reacts:
        known = present.values[schema.EVENT_TYPE]
        missing = [value for value in view.reacts if value not in known]
        if missing:
            changes["reacts"] = tuple(value for value in view.reacts if value in known)
            notices.append(f"Ignored {_listed(KEYS['reacts'], missing)}: not an event type in this dataset.")
    for field in ("anchor", "event"):
        wanted = getattr(view, field)
        if wanted is not None and not present.has_event(wanted):
            changes[field] = None
            notices.append(f"Ignored {KEYS[field]}={_shown(wanted)}: no event with that id in this dataset.")
    return (dataclasses.replace(view, **changes) if changes else view), notices


def window(view: View) -> tuple[int | None, int | None]:
    """The time window as UTC microseconds [start, stop); None where the view sets no bound.

    A time without an offset is read in view.tz. `to` includes what it states: to=2024-03-22 stops at
    the next midnight, to=2024-03-22T17:30 at 17:31.
    """
    start = None if view.start is None else _bound(view.start, view.tz, KEYS["start"], end=False)
    stop = None if view.end is None else _bound(view.end, view.tz, KEYS["end"], end=True)
    return start, stop


def window_text(start_us: int | None, stop_us: int | None, tz: str) -> tuple[str | None, str | None]:
    """The from and to values that state the window [start_us, stop_us) in tz's wall clock, as briefly as
    they can (a day, a minute, a second), so that `window` reads them back to exactly these instants.

    to names the last day, minute or second the window includes. Where the wall clock cannot say an instant
    exactly (a clock change repeats or skips it), the value carries its UTC offset.
    """
    start = None if start_us is None else _edge_text(int(start_us), tz, end=False)
    stop = None if stop_us is None else _edge_text(int(stop_us), tz, end=True)
    return start, stop


def in_zone(view: View, tz: str) -> View:
    """The view shown in another display zone: its window keeps its instants, its wording follows the zone.

    A from or to that states its own offset does not depend on the zone and stays as typed.
    """
    if tz == view.tz or (view.start is None and view.end is None):
        return dataclasses.replace(view, tz=tz)
    start_us, stop_us = window(view)
    start, end = window_text(start_us, stop_us, tz)
    return dataclasses.replace(
        view,
        tz=tz,
        start=view.start if view.start is None or _has_offset(view.start) else start,
        end=view.end if view.end is None or _has_offset(view.end) else end,
    )


def apply(frame: pd.DataFrame, view: View, search: pa.ChunkedArray | None = None) -> pd.DataFrame:
    """The rows of a prepared frame that the view's filters keep, in the frame's order (see `select`)."""
    return rows(frame, select(frame, view, search))


def select(frame: pd.DataFrame, view: View, search: pa.ChunkedArray | None = None) -> np.ndarray:
    """Which rows of a prepared frame the view's filters keep: a boolean mask.

    Actors, groups and types select by value (empty: all); the window keeps every event whose interval
    [start_us, stop_us) overlaps it; every word of the query must occur in the search text (`search`:
    frame.search_text of this frame, built here when not given).
    """
    keep = np.ones(len(frame), dtype=bool)
    for field, column in FILTER_COLUMNS.items():
        selected = getattr(view, field)
        if selected:
            keep &= _is_in(frame[column], selected)
    start, stop = window(view)
    if start is not None:
        keep &= frame[STOP_US].to_numpy() > start
    if stop is not None:
        keep &= frame[START_US].to_numpy() < stop
    words = fold(view.query).split()
    if words:
        keep = _containing(search_text(frame) if search is None else search, words, keep)
    return keep


def describe(view: View) -> str:
    """The active filters as one sentence, e.g. "actors: Hamas, NEXTA; from 2024-03-22 (Europe/Moscow)"."""
    parts = []
    for field in FILTER_COLUMNS:
        selected = getattr(view, field)
        if selected:
            parts.append(f"{field}: {_enumerated(selected)}")
    if view.start is not None and view.end is not None:
        parts.append(f"from {view.start} to {view.end} ({view.tz})")
    elif view.start is not None:
        parts.append(f"from {view.start} ({view.tz})")
    elif view.end is not None:
        parts.append(f"to {view.end} ({view.tz})")
    if view.query:
        parts.append(f"search: {view.query}")
    return "; ".join(parts) if parts else "no filters"


# --- reading the URL --------------------------------------------------------------------------------


def _items(params: Mapping[str, str | Sequence[str]]) -> list[tuple[Param, list[object]]]:
    """The known parameters, in PARAMS order, with their values as lists (a bare value is a list of one)."""
    given = {key: value for key, value in dict(params or {}).items() if isinstance(key, str)}
    return [(param, _as_list(given[param.key])) for param in PARAMS if param.key in given]


def _as_list(given: object) -> list[object]:
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        return [given]
    return list(given)


def _repeated(param: Param, values: list[object], notices: list[str]) -> tuple[str, ...]:
    kept: dict[str, None] = {}
    for value in values:
        text, problem = _text(value)
        if problem is not None:
            notices.append(f"Ignored {param.key}={_shown(value)}: {problem}.")
        elif text:
            kept[text] = None
    return tuple(kept)


def _single(param: Param, value: object, notices: list[str]) -> str | None:
    text, problem = _text(value)
    given = text
    if problem is None and text:
        if param.field == "query" and len(text) > MAX_TEXT:
            notices.append(f"Shortened {param.key} to its first {MAX_TEXT} characters (it had {len(text)}).")
            text = text[:MAX_TEXT].rstrip()
        check = _RULES.get(param.field)
        if check is not None:
            text, problem = check(text)
    if problem is not None:
        notices.append(f"Ignored {param.key}={_shown(value)}: {problem}.")
        return None
    if param.field in ("start", "end") and text:
        note = _reading_note(param.key, given, text)
        if note is not None:
            notices.append(note)
    return text or None


def _text(value: object) -> tuple[str, str | None]:
    """A value stripped, or the reason it cannot be one."""
    if not isinstance(value, str):
        return "", "not text"
    text = value.strip()
    if _CONTROL.search(text):
        return "", "contains control characters"
    return text, None


def _dataset(text: str) -> tuple[str, str | None]:
    try:
        return store.validate_dataset_id(text), None
    except TimelineError as error:
        return text, str(error.hint)


def _version(text: str) -> tuple[str, str | None]:
    try:
        return store.validate_version_id(text), None
    except TimelineError as error:
        return text, str(error.hint)


def _zone(text: str) -> tuple[str, str | None]:
    if _IANA_NAME.fullmatch(text) and text in _zone_names():
        try:
            return dates.validate_zone(text), None
        except TimelineError:
            pass
    return text, "not an IANA time zone (e.g. Europe/Moscow)"


def _choice(allowed: tuple[str, ...], what: str) -> Callable[[str], tuple[str, str | None]]:
    def check(text: str) -> tuple[str, str | None]:
        return text, None if text in allowed else f"not {what} (allowed: {', '.join(allowed)})"

    return check


def _time(text: str) -> tuple[str, str | None]:
    """A from / to value written the one way the page writes it (ISO 8601 at the precision it states)."""
    if len(text) > MAX_TEXT:
        return text, f"longer than {MAX_TEXT} characters"
    for candidate in dict.fromkeys((text, _SPACE_FOR_PLUS.sub(r"\1+\2", text))):
        try:
            _bound(candidate, "UTC", "", end=True)
        except (TimelineError, ValueError, OverflowError, pa.ArrowException):
            continue
        return _iso(_read(candidate)[0]), None
    return text, f"not a date or time (e.g. {_TIME_EXAMPLES})"


def _reading_note(key: str, given: str, iso: str) -> str | None:
    """What a numeric date that reads both ways was taken as, and how to ask for the other reading."""
    parts, ambiguous = _read(given)
    if not ambiguous or parts.day[0] == parts.month[0]:
        return None
    swapped = copy.copy(parts)
    swapped.month, swapped.day = parts.day, parts.month
    taken = pd.Timestamp(int(parts.year[0]), int(parts.month[0]), int(parts.day[0])).strftime("%-d %B %Y")
    other = pd.Timestamp(int(parts.year[0]), int(parts.day[0]), int(parts.month[0])).strftime("%-d %B %Y")
    return (
        f"Read {key}={_shown(given)} month first, as {taken} ({iso}). "
        f"For {other}, type {_iso(swapped)}; dates written year first are never ambiguous."
    )


_RULES: Mapping[str, Callable[[str], tuple[str, str | None]]] = {
    "dataset": _dataset,
    "version": _version,
    "start": _time,
    "end": _time,
    "tz": _zone,
    "tab": _choice(TABS, "a tab"),
    "lanes": _choice(LANES, "a lane grouping"),
    "axis": _choice(AXES, "an axis"),
    "by": _choice(GROUPINGS, "a reactions grouping"),
    "reaction_axis": _choice(REACTION_AXES, "a reactions axis"),
    "toll": _choice(TOLL_MODES, "a casualties view"),
}


def _checked_window(view: View, notices: list[str]) -> View:
    """The view without a time window that cannot be computed in its zone or does not start before it ends."""
    if view.start is None and view.end is None:
        return view
    try:
        start, stop = window(view)
    except (TimelineError, ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        start = stop = None
        problem = f"cannot be placed in time zone {view.tz}"
    else:
        problem = "from must be before to" if None not in (start, stop) and start >= stop else None
    if problem is None:
        return view
    given = " and ".join(
        f"{KEYS[field]}={_shown(getattr(view, field))}"
        for field in ("start", "end")
        if getattr(view, field) is not None
    )
    notices.append(f"Ignored {given}: {problem}.")
    return dataclasses.replace(view, start=None, end=None)


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONE_NAMES


def _shown(value: object) -> str:
    """A value as repr, cut to about SHOWN_CHARS characters (escapes included) with an ellipsis."""
    if not isinstance(value, str):
        shown = repr(value)
        return shown if len(shown) <= SHOWN_CHARS else shown[:SHOWN_CHARS] + "…"
    cut = value[:SHOWN_CHARS]
    while len(repr(cut)) > SHOWN_CHARS + 2:
        cut = cut[:-1]
    return repr(value) if cut == value else repr(cut + "…")


def _listed(key: str, values: Sequence[str]) -> str:
    shown = ", ".join(_shown(value) for value in values[:LISTED_VALUES])
    more = len(values) - LISTED_VALUES
    return f"{key}={shown}" + (f" and {more} more" if more > 0 else "")


def _enumerated(values: Sequence[str]) -> str:
    shown = ", ".join(values[:LISTED_VALUES])
    more = len(values) - LISTED_VALUES
    return shown + (f" and {more} more" if more > 0 else "")


# --- time window ------------------------------------------------------------------------------------


def _read(text: str) -> tuple[dates.DateParts, bool]:
    """The parts of one from / to value, and whether it was a numeric date that reads both ways."""
    parts, ambiguous = dates.read_parts(pa.array([text]), date_order="auto", column="", allow_epoch=False)
    return parts, bool(ambiguous)


def _iso(parts: dates.DateParts) -> str:
    """One value's parts as ISO 8601 text saying no more than they state: 2024, 2024-03, 2024-03-22,
    2024-03-22T17, 2024-03-22T17:30, 2024-03-22T17:30:05(.5), with the offset when one was stated."""
    number = {name: int(getattr(parts, name)[0]) for name in ("year", "month", "day", "hour", "minute")}
    text = f"{number['year']:04d}"
    for name, separator in (("month", "-"), ("day", "-"), ("hour", "T"), ("minute", ":")):
        if number[name] == dates.MISSING:
            break
        text += f"{separator}{number[name]:02d}"
    second, micro = int(parts.second[0]), int(parts.micro[0])
    if second != dates.MISSING:
        text += f":{second:02d}" + (f".{micro:06d}".rstrip("0") if micro not in (0, dates.MISSING) else "")
    if parts.has_offset[0]:
        offset = int(parts.offset[0])
        text += (
            "Z"
            if offset == 0
            else ("-" if offset < 0 else "+") + "{:02d}:{:02d}".format(*divmod(abs(offset), 60))
        )
    return text


def _has_offset(text: str) -> bool:
    return bool(_read(text)[0].has_offset[0])


def _edge_text(instant_us: int, tz: str, *, end: bool) -> str:
    """A from (end=False) or to (end=True) value for the window edge at instant_us, in tz's wall clock."""
    local = display.local_micros(np.array([instant_us], dtype=np.int64), tz)[0]
    # The last unit a to includes ends at the edge; a from's first unit starts there.
    for unit_us, shape in (
        (_US_PER_DAY, "%Y-%m-%d"),
        (60_000_000, "%Y-%m-%dT%H:%M"),
        (1_000_000, "%Y-%m-%dT%H:%M:%S"),
    ):
        if local % unit_us == 0:
            text = pd.Timestamp(local - unit_us if end else local, unit="us").strftime(shape)
            break
    else:
        text = pd.Timestamp(local - 1 if end else local, unit="us").strftime("%Y-%m-%dT%H:%M:%S.%f")
    if _bound(text, tz, "", end=end) == instant_us:
        return text
    # The wall clock repeats or skips this moment in tz: say the instant with its UTC offset instead.
    offset = (local - instant_us) // 60_000_000
    sign = "-" if offset < 0 else "+"
    stated = f"{text}{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return stated if _bound(stated, tz, "", end=end) == instant_us else _edge_text_utc(instant_us, end=end)


def _edge_text_utc(instant_us: int, *, end: bool) -> str:
    """The edge in UTC to the microsecond: exact whatever the zone's clock does."""
    moment = pd.Timestamp(instant_us - 1 if end else instant_us, unit="us")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _bound(text: str, tz: str, key: str, *, end: bool) -> int:
    """UTC microseconds where a from (end=False) or to (end=True) value puts the window's edge."""
    parts, _ = dates.read_parts(pa.array([text]), date_order="auto", column=key, allow_epoch=False)
    parsed = dates.resolve(parts, tz=tz, column=key)
    if not parsed.ok[0]:
        raise UsageError(f"{key}={text!r} {parsed.errors[0]}")
    if not end:
        return int(parsed.utc_us[0])
    if parts.has_offset[0] or tz == "UTC":
        return int(dates.end_of_interval(parsed.utc_us, parsed.precision, parsed.offset_minutes)[0])
    # In the zone's own wall time, so that a day that changes daylight saving time ends at its midnight.
    local = parsed.utc_us + parsed.offset_minutes.astype(np.int64) * 60_000_000
    local_end = dates.end_of_interval(local, parsed.precision, np.zeros(1, dtype=np.int64))
    stop = pd.DatetimeIndex(local_end.astype("datetime64[us]")).tz_localize(
        tz, ambiguous=np.zeros(1, dtype=bool), nonexistent="shift_forward"
    )
    return int(stop.as_unit("us").asi8[0])


# --- filtering --------------------------------------------------------------------------------------


def _is_in(column: pd.Series, selected: Sequence[str]) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        # A table of which codes are wanted, looked up per row (-1, a missing value, is the last entry).
        wanted = np.zeros(len(column.cat.categories) + 1, dtype=bool)
        found = column.cat.categories.get_indexer(list(selected))
        wanted[found[found >= 0]] = True
        return wanted[column.cat.codes.to_numpy()]
    return column.isin(list(selected)).to_numpy(dtype=bool)


def _containing(text: pa.ChunkedArray, words: list[str], keep: np.ndarray) -> np.ndarray:
    """keep, narrowed to the rows whose search text holds every word (searching only kept rows when few)."""
    rows = np.flatnonzero(keep)
    narrowed = len(rows) < len(keep) * _NARROW_SHARE
    if narrowed:
        text = text.take(rows)
    found = np.ones(len(text), dtype=bool)
    for word in words:
        found &= _matching(text, _literal(word))
    if not narrowed:
        return keep & found
    narrowed_keep = np.zeros_like(keep)
    narrowed_keep[rows[found]] = True
    return narrowed_keep


def _matching(text: pa.ChunkedArray, pattern: str) -> np.ndarray:
    """Which rows match: a long text is scanned in slices side by side (Arrow's kernels release the GIL)."""

    def scan(part: pa.ChunkedArray) -> np.ndarray:
        # A literal as an RE2 pattern: Arrow's regex matcher scans far faster than its substring one.
        return pc.fill_null(pc.match_substring_regex(part, pattern), False).to_numpy()

    if len(text) < _PARALLEL_FROM or _SEARCH_THREADS == 1:
        return scan(text)
    size = -(-len(text) // _SEARCH_THREADS)
    slices = [text.slice(start, size) for start in range(0, len(text), size)]
    return np.concatenate(list(_search_pool().map(scan, slices)))


@functools.cache
def _search_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_SEARCH_THREADS, thread_name_prefix="search")


def _literal(word: str) -> str:
    """An RE2 pattern matching exactly the text of word."""
    return "".join(char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}" for char in word)


def rows(
    frame: pd.DataFrame,
    keep: np.ndarray,
    columns: Sequence[str] | None = None,
    details: pa.Table | None = None,
) -> pd.DataFrame:
    """The kept rows of a frame with the given columns (default: all of the frame and of details).

    Columns the frame lacks come from details (frame.with_details). Copying rows of text is what costs,
    so only what is asked for is copied: the frame itself when all rows and its columns are wanted,
    a slice when the kept rows are contiguous.
    """
    wanted = list(frame.columns) + list(details.column_names if details is not None else [])
    wanted = list(dict.fromkeys(wanted if columns is None else columns))
    own = [name for name in wanted if name in frame.columns]
    picked = frame if own == list(frame.columns) else frame[own]
    positions = np.flatnonzero(keep)
    if len(positions) < len(frame):
        contiguous = len(positions) > 0 and positions[-1] - positions[0] + 1 == len(positions)
        picked = picked.iloc[positions[0] : positions[-1] + 1] if contiguous else picked.iloc[positions]
    missing = [name for name in wanted if name not in frame.columns]
    if not missing:
        return picked
    if details is None or any(name not in details.column_names for name in missing):
        raise ValueError(f"the frame lacks {', '.join(missing)} and no details hold them")
    return with_details(picked, details.select(missing))
