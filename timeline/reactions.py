"""Time relative to an anchor event: which event is time zero, the window around it, and who reacted when.

Every time here is an interval the event could lie in (`frame.START_US` to `frame.STOP_US`), so a
latency is a range too. With the anchor's start known to lie in [a0, a1) and a reaction's start in
[r0, r1), and the reaction coming after the anchor (R >= A), the latency L = R - A has

    min_us = max(0, r0 - a1)     the infimum: earliest reaction start minus latest anchor start
    max_us = r1 - a0             the supremum: latest reaction start minus earliest anchor start

Both bounds are limits of the half-open intervals (not attained to the microsecond), so two minute-precision
events five minutes apart get min 4 min and max 6 min; `latency_range_text` calls so narrow a range by its
middle, the 5 min the sources state. A reaction whose interval overlaps the anchor's gets min 0: it may have
come at once. An event with a stated `end` has its start known to its precision only; the end says how long
it lasted, not when it began, so its start interval is used.

Who was first is decided by max_us, the moment by which a reaction had certainly come, never by the earliest
moment it could have come (PRODUCT.md, "Time, honestly"): a statement known only to its day ("between T+0
and T+3 h 32 min") ranks below one known to the minute at T+2 h 49 min. A lane's first reaction is chosen
by the same order, and ties go to the earlier min_us, then (lanes) the name or (events) the event_id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from timeline import dates, display
from timeline import schema as s
from timeline.figure_parts import headlines, sources
from timeline.frame import START_US, STOP_US, with_details

ANCHOR_TYPE = "attack"
_MINUTE_US = 60_000_000
_HOUR_US = 60 * _MINUTE_US
FOCUS_BEFORE_US = 12 * _HOUR_US
FOCUS_AFTER_US = 7 * 24 * _HOUR_US

NOT_REACTIONS: tuple[str, ...] = ("attack", "casualty_update")  # every other event type counts as a reaction
GROUPINGS: dict[str, str] = {"actor": s.ACTOR, "group": s.ACTOR_GROUP, "type": s.ACTOR_TYPE}
GROUPING_NAMES: dict[str, str] = {"actor": "actor", "group": "actor group", "type": "actor type"}
NOT_STATED = "(not stated)"  # the lane of events whose actor group or type is null

LANE = "lane"
MIN_US = "min_us"
MAX_US = "max_us"
RANK = "rank"
REACTION_COLUMNS: tuple[str, ...] = (
    LANE,
    s.EVENT_ID,
    s.EVENT_TYPE,
    s.TITLE,
    s.ACTOR,
    s.SOURCE_NAME,
    s.SOURCE_URL,
    s.TIME_PRECISION,
    START_US,
    STOP_US,
    MIN_US,
    MAX_US,
    RANK,
    # Beyond the latency itself: what display.stated_times needs to say when the source placed the event.
    s.UTC_OFFSET_MINUTES,
    s.END,
)
T_US = "t_us"
CERTAIN = "certain"
POSSIBLE = "possible"
# A latency range this narrow (two minute-precision times) reads as one value.
PRECISE_SPAN_US = 2 * _MINUTE_US

# The columns of latency_table after the lane's (named by the grouping, GROUPING_NAMES), in reading order.
FIRST_REACTION = "first reaction"
STATED_TIME = "stated time"
LATENCY = "latency"
CERTAINLY_BY = "certainly by"
SOURCE = "source"
SOURCE_LINK = "source link"


@dataclass(frozen=True)
class Anchor:
    """Time zero: the anchor event and the interval its start could lie in (wide when its time is coarse)."""

    event_id: str
    start_us: int
    stop_us: int
    title: str


def default_anchor(frame: pd.DataFrame, declared: str | None = None) -> str | None:
    """The dataset's declared anchor when it is in the frame, else the first attack, else None."""
    ids = frame[s.EVENT_ID]
    if declared is not None and (ids == declared).any():
        return declared
    attacks = frame[frame[s.EVENT_TYPE] == ANCHOR_TYPE]
    if attacks.empty:
        return None
    return str(attacks[s.EVENT_ID].iloc[attacks[START_US].to_numpy().argmin()])


def focus_window(anchor: Anchor | None) -> tuple[int, int] | None:
    """From half a day before the anchor to a week after it (UTC microseconds); None without an anchor."""
    if anchor is None:
        return None
    return anchor.start_us - FOCUS_BEFORE_US, anchor.start_us + FOCUS_AFTER_US


def anchor_of(frame: pd.DataFrame, anchor_id: str | None) -> Anchor | None:
    """The anchor event of a prepared frame as an Anchor; None without an id or if the frame lacks it."""
    if anchor_id is None:
        return None
    rows = frame[frame[s.EVENT_ID] == anchor_id]
    if rows.empty:
        return None
    row = rows.iloc[:1]
    title = row[s.TITLE].iloc[0]
    if pd.isna(title) or not str(title).strip():
        title = f"{row[s.EVENT_TYPE].iloc[0]} by {row[s.ACTOR].iloc[0]}"
    return Anchor(
        event_id=str(anchor_id),
        start_us=int(row[START_US].iloc[0]),
        stop_us=int(start_stops(row)[0]),
        title=str(title).strip(),
    )


def reaction_types(frame: pd.DataFrame) -> list[str]:
    """The event types present in the frame that count as reactions by default (all but NOT_REACTIONS)."""
    present = frame[s.EVENT_TYPE].dropna().astype(str).unique()
    return sorted(str(kind) for kind in present if kind not in NOT_REACTIONS)


def first_reactions(
    frame: pd.DataFrame,
    *,
    anchor: Anchor,
    by: str = "actor",
    types: Sequence[str] | None = None,
    details: pa.Table | None = None,
) -> pd.DataFrame:
    """Each lane's first reaction after the anchor, with its latency range, fastest first (rank 1).

    Candidates: events of `types` (default: reaction_types), not the anchor itself, whose start could lie
    after the anchor's start. A lane's first reaction is the candidate that had certainly come earliest
    (smallest max_us; ties: the smallest min_us, then event_id), so a precise statement certainly made
    before a coarse one is chosen even when the coarse one's interval starts earlier. Lanes without a
    candidate are not rows (see silent_lanes). Ranked the same way: by max_us, then min_us, then lane.
    A frame of light columns (frame.LIGHT_COLUMNS) needs details: the version's title and source columns,
    which only the chosen rows are given.
    """
    column = _grouping(by)
    kinds = reaction_types(frame) if types is None else [str(kind) for kind in types]
    start = frame[START_US].to_numpy(dtype=np.int64)
    start_stop = start_stops(frame)
    keep = frame[s.EVENT_TYPE].isin(kinds).to_numpy() & (start_stop > anchor.start_us)
    rows = np.flatnonzero(keep)
    rows = rows[(frame[s.EVENT_ID].iloc[rows] != anchor.event_id).to_numpy()]
    if len(rows) == 0:
        return _empty_reactions()

    lane_code, lane_names = _lane_codes(frame[column].iloc[rows])
    low = np.maximum(0, start[rows] - anchor.stop_us)
    high = start_stop[rows] - anchor.start_us
    # Smallest (max_us, min_us) per lane by one numeric sort; event_id breaks the remaining ties (few rows).
    order = np.lexsort((low, high, lane_code))
    firsts = order[np.r_[True, lane_code[order][1:] != lane_code[order][:-1]]]
    best_high = np.zeros(len(lane_names), dtype=np.int64)
    best_low = np.zeros(len(lane_names), dtype=np.int64)
    best_high[lane_code[firsts]] = high[firsts]
    best_low[lane_code[firsts]] = low[firsts]
    tied = np.flatnonzero((high == best_high[lane_code]) & (low == best_low[lane_code]))
    ties = pd.DataFrame(
        {"code": lane_code[tied], "id": frame[s.EVENT_ID].iloc[rows[tied]].astype(str).to_numpy()},
        index=tied,
    )
    chosen = ties.sort_values(["code", "id"], kind="stable").drop_duplicates("code").index.to_numpy()

    picked = frame.iloc[rows[chosen]]
    if details is not None:  # a light frame: the chosen rows' title and source come from the details
        picked = with_details(picked, details.select([s.TITLE, s.SOURCE_NAME, s.SOURCE_URL]))
    out = pd.DataFrame(
        {
            LANE: np.asarray(lane_names, dtype=object)[lane_code[chosen]],
            s.EVENT_ID: picked[s.EVENT_ID].astype(str).to_numpy(),
            s.EVENT_TYPE: _text(picked[s.EVENT_TYPE]),
            s.TITLE: picked[s.TITLE].astype(object).to_numpy(),
            s.ACTOR: _text(picked[s.ACTOR]),
            s.SOURCE_NAME: picked[s.SOURCE_NAME].astype(object).to_numpy(),
            s.SOURCE_URL: picked[s.SOURCE_URL].astype(object).to_numpy(),
            s.TIME_PRECISION: _text(picked[s.TIME_PRECISION]),
            START_US: picked[START_US].to_numpy(dtype=np.int64),
            STOP_US: picked[STOP_US].to_numpy(dtype=np.int64),
            MIN_US: low[chosen],
            MAX_US: high[chosen],
            RANK: 0,
            s.UTC_OFFSET_MINUTES: picked[s.UTC_OFFSET_MINUTES].array,
            s.END: picked[s.END].array,
        }
    )
    out = out.sort_values([MAX_US, MIN_US, LANE], kind="stable", ignore_index=True)
    out[RANK] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out


def silent_lanes(frame: pd.DataFrame, reactions: pd.DataFrame, *, by: str = "actor") -> list[str]:
    """Lanes with events in the frame but no row in `reactions` (no reaction after the anchor), by name."""
    column = _grouping(by)
    codes, names = _lane_codes(frame[column])
    present = {names[code] for code in np.unique(codes)}
    reacted = set(reactions[LANE].astype(str)) if len(reactions) else set()
    return sorted(present - reacted, key=lambda name: (name.casefold(), name))


def reacted_curve(reactions: pd.DataFrame) -> pd.DataFrame:
    """How many lanes had reacted by each moment: certainly (max_us <= t) and possibly (min_us <= t).

    One row per distinct latency bound (t_us, microseconds since the anchor's start), plus T+0, sorted:
    a step function, constant until the next row.
    """
    if len(reactions) == 0:
        return pd.DataFrame(
            {
                T_US: np.array([], np.int64),
                CERTAIN: np.array([], np.int64),
                POSSIBLE: np.array([], np.int64),
            }
        )
    low = np.sort(reactions[MIN_US].to_numpy(dtype=np.int64))
    high = np.sort(reactions[MAX_US].to_numpy(dtype=np.int64))
    moments = np.unique(np.concatenate([[0], low, high]))
    return pd.DataFrame(
        {
            T_US: moments,
            CERTAIN: np.searchsorted(high, moments, side="right").astype(np.int64),
            POSSIBLE: np.searchsorted(low, moments, side="right").astype(np.int64),
        }
    )


def latency_text(us: int, *, rounding: str = "nearest") -> str:
    """A latency as "T+3 h 12 min" (minutes under a day, hours from a day on); rounding: nearest/down/up."""
    us = max(int(us), 0)
    if 0 < us < _MINUTE_US and rounding == "nearest":
        return f"T+{round(us / 1_000_000)} s"
    unit = _HOUR_US if us >= 24 * _HOUR_US else _MINUTE_US
    count = {"nearest": round, "down": math.floor, "up": math.ceil}[rounding](us / unit)
    if count == 0:
        return "T+0"
    if unit == _HOUR_US:
        days, hours = divmod(count, 24)
        return f"T+{days} d" + (f" {hours} h" if hours else "")
    hours, minutes = divmod(count, 60)
    if hours == 0:
        return f"T+{minutes} min"
    return f"T+{hours} h" + (f" {minutes} min" if minutes else "")


def latency_range_text(min_us: int, max_us: int) -> str:
    """ "T+2 h 49 min" when the range is narrow (two precise times), else "between T+0 and T+4 h 2 min"."""
    if max_us - min_us <= PRECISE_SPAN_US:
        return latency_text(min_us + (max_us - min_us) // 2)
    return f"between {latency_text(min_us, rounding='down')} and {latency_text(max_us, rounding='up')}"


def latency_table(reactions: pd.DataFrame, tz: str, *, by: str = "actor") -> pd.DataFrame:
    """The first reactions as the page lists them, in rank order: one row per lane, plain text (not escaped).

    Columns: rank, the lane (headed by GROUPING_NAMES[by]: "actor", "actor group" or "actor type"),
    FIRST_REACTION (its title, "(no title)" when missing), STATED_TIME (display.stated_times in tz),
    LATENCY (latency_range_text), CERTAINLY_BY (max_us rounded up: "T+3 h 32 min"), SOURCE, SOURCE_LINK
    (an http(s) address, else ""), and last event_id, which the page hides and opens the event by.
    """
    _grouping(by)  # refuses an unknown grouping by name
    rows = reactions.sort_values(RANK, kind="stable", ignore_index=True)
    high = rows[MAX_US].to_numpy(dtype=np.int64).tolist()
    latency = [latency_range_text(a, b) for a, b in zip(rows[MIN_US].tolist(), high, strict=True)]
    link = rows[s.SOURCE_URL].astype(object).fillna("").astype(str).str.strip()
    return pd.DataFrame(
        {
            RANK: rows[RANK].to_numpy(dtype=np.int64),
            GROUPING_NAMES[by]: rows[LANE].astype(str).to_numpy(dtype=object),
            FIRST_REACTION: headlines(rows).to_numpy(dtype=object),
            STATED_TIME: display.stated_times(rows, tz).to_numpy(dtype=object),
            LATENCY: np.array(latency, dtype=object),
            CERTAINLY_BY: np.array([latency_text(b, rounding="up") for b in high], dtype=object),
            SOURCE: sources(rows).to_numpy(dtype=object),
            SOURCE_LINK: link.where(link.str.match(r"(?i)https?://"), "").to_numpy(dtype=object),
            s.EVENT_ID: rows[s.EVENT_ID].astype(str).to_numpy(dtype=object),
        }
    )


def relative_hours(start_us: np.ndarray, anchor: Anchor) -> np.ndarray:
    """UTC microseconds as hours since the anchor's start (negative before it), as floats."""
    return (np.asarray(start_us, dtype=np.int64) - anchor.start_us) / _HOUR_US


def _grouping(by: str) -> str:
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(repr(key) for key in GROUPINGS)}; got {by!r}")
    return GROUPINGS[by]


def start_stops(frame: pd.DataFrame) -> np.ndarray:
    """The end (exclusive) of the interval each event's start could lie in: STOP_US, except for events with
    a stated end, whose start is known to its precision."""
    stops = frame[STOP_US].to_numpy(dtype=np.int64).copy()
    timed = np.flatnonzero(frame[s.END].notna().to_numpy())
    if len(timed):
        part = frame.iloc[timed]
        precision = pd.Categorical(part[s.TIME_PRECISION].astype(object), categories=s.PRECISIONS).codes
        offset = part[s.UTC_OFFSET_MINUTES].astype("Float64").fillna(0).to_numpy(dtype=np.float64)
        ends = dates.end_of_interval(
            part[START_US].to_numpy(dtype=np.int64), precision, offset.astype(np.int64)
        )
        stops[timed] = np.minimum(ends, stops[timed])
    return stops


def _lane_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's lane as a code into the returned names; null values share the NOT_STATED lane."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object).astype("category")
    codes = values.cat.codes.to_numpy().astype(np.int64)
    names = [str(name) for name in values.cat.categories]
    if (codes < 0).any():
        if NOT_STATED not in names:
            names.append(NOT_STATED)
        codes = np.where(codes < 0, names.index(NOT_STATED), codes)
    return codes, names


def _text(values: pd.Series) -> np.ndarray:
    """Categorical or string values as plain Python strings (NaN where null)."""
    return values.astype(object).to_numpy()


def _empty_reactions() -> pd.DataFrame:
    ints = {START_US, STOP_US, MIN_US, MAX_US, RANK}
    columns: dict[str, pd.Series] = {}
    for name in REACTION_COLUMNS:
        if name in ints:
            columns[name] = pd.Series([], dtype=np.int64)
        elif name == s.UTC_OFFSET_MINUTES:
            columns[name] = pd.Series([], dtype=pd.Int16Dtype())
        elif name == s.END:
            columns[name] = pd.Series([], dtype="datetime64[us, UTC]")
        else:
            columns[name] = pd.Series([], dtype=object)
    return pd.DataFrame(columns)
