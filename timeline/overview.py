"""Counts of events per lane and time bin: what the timeline draws when too many events are in view.

Two sources count alike. `FrameEvents` counts events held in memory (numpy), as the timeline does for the
few events it draws one by one. `EngineEvents` has the engine count them (timeline.query's expressions:
DuckDB, Spark), so only the counts come back to the page, whatever the number of events.

Bins are cut in the wall clock of the zone shown (days start at local midnight, a day holding a clock change
is 23 or 25 hours long), weeks from Monday, months and years by the calendar; or, on a relative axis, in UTC
itself. An event is counted once, in the bin holding the middle of its interval (with a typed window: of its
part inside the window), and is "spread" when its interval crosses a bin edge.

On an engine, wall-clock time is UTC plus the zone's offset, chosen by a CASE over the offset changes in the
span of the events (found here in Python, from the zone database): engines know no zone but their
session's (UTC). Integer division is written out (`_floor_div`), exact on every engine: Ibis compiles `//`
to a floor of a floating-point quotient, and Spark has no `bucket()`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from timeline import display, query
from timeline.frame import START_US, STOP_US

NO_GROUP = "(no group)"  # the lane of events without a value in the lane's column
MAX_BINS = 200
MAX_LANES = 1000  # lanes drawn one by one in a figure of counts; the rest share one row

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE
_US_PER_DAY = 24 * _US_PER_HOUR
_MONDAY = -3 * _US_PER_DAY  # 1969-12-29, the Monday before the epoch: weeks start on Mondays
_YEAR_ZERO_MONTHS = 1970 * 12  # months from year 0 to the epoch, so multi-year bins start at round years
# Below every wall-clock time an event can have (a day before 1 January of year 1): engines divide the
# distance from it, never a negative number.
_FLOOR_US = (-719_162 - 2) * _US_PER_DAY
_ZONE_STEP_US = _US_PER_DAY  # zone offsets are sampled this often to find where they change


@dataclass(frozen=True)
class Bin:
    """A time bin: fixed microseconds from an origin, or a number of calendar months."""

    name: str
    size: int
    label: str  # d3 time format naming the bin by its start
    months: bool = False
    origin: int = 0
    multiple: bool = False  # several units, so its start alone does not name it

    def hover(self, word: str) -> str:
        """Hover text naming the bin at x; word says how x relates to it ("from", "around")."""
        moment = f"%{{x|{self.label}}}"
        return f"{self.name} {word} {moment}" if self.multiple else moment

    def index(self, local_us: np.ndarray) -> np.ndarray:
        """The bins holding wall-clock instants (numbered from the epoch, or from year 0 for months)."""
        local_us = np.asarray(local_us, dtype=np.int64)
        if self.months:
            months = local_us.astype("M8[us]").astype("M8[M]").astype(np.int64) + _YEAR_ZERO_MONTHS
            return np.floor_divide(months, self.size)
        return np.floor_divide(local_us - self.origin, self.size)

    def starts(self, indexes: np.ndarray) -> np.ndarray:
        """Where bins start, in wall-clock microseconds."""
        if self.months:
            months = np.asarray(indexes, dtype=np.int64) * self.size - _YEAR_ZERO_MONTHS
            return months.astype("M8[M]").astype("M8[us]").astype(np.int64)
        return self.origin + np.asarray(indexes, dtype=np.int64) * self.size


_CLOCK = "%d %b %Y %H:%M"
LADDER: tuple[Bin, ...] = (
    Bin("second", _US_PER_SECOND, "%d %b %Y %H:%M:%S"),
    Bin("5-second period", 5 * _US_PER_SECOND, "%d %b %Y %H:%M:%S", multiple=True),
    Bin("15-second period", 15 * _US_PER_SECOND, "%d %b %Y %H:%M:%S", multiple=True),
    Bin("minute", _US_PER_MINUTE, _CLOCK),
    Bin("5-minute period", 5 * _US_PER_MINUTE, _CLOCK, multiple=True),
    Bin("15-minute period", 15 * _US_PER_MINUTE, _CLOCK, multiple=True),
    Bin("hour", _US_PER_HOUR, "%d %b %Y %H:00"),
    Bin("3-hour period", 3 * _US_PER_HOUR, _CLOCK, multiple=True),
    Bin("6-hour period", 6 * _US_PER_HOUR, _CLOCK, multiple=True),
    Bin("day", _US_PER_DAY, "%d %b %Y"),
    Bin("week", 7 * _US_PER_DAY, "%d %b %Y", origin=_MONDAY, multiple=True),
    Bin("month", 1, "%b %Y", months=True),
    Bin("year", 12, "%Y", months=True),
)


def choose_bin(span_us: int) -> Bin:
    """The finest bin that cuts the span into at most MAX_BINS pieces."""
    for candidate in LADDER:
        width = candidate.size * 30.436875 * _US_PER_DAY if candidate.months else candidate.size
        if span_us / width <= MAX_BINS:
            return candidate
    return _years_bin(span_us / (365.2425 * _US_PER_DAY) / MAX_BINS)


def _years_bin(years: float) -> Bin:
    """A bin of the first round number of years (1, 2, 5, 10, ...) at least `years` long."""
    step = next(k * 10**e for e in range(5) for k in (1, 2, 5) if k * 10**e >= years)
    return Bin(f"{step}-year period", 12 * step, "%Y", months=True, multiple=True)


def coarser(chosen: Bin) -> Bin | None:
    """The next longer bin; None past 50,000 years."""
    if chosen in LADDER[:-1]:
        return LADDER[LADDER.index(chosen) + 1]
    years = chosen.size // 12
    return None if years >= 50_000 else _years_bin(years + 1)


@dataclass(frozen=True)
class Extent:
    """Where a set of events lies: in UTC microseconds, and on the axis (wall clock, or UTC when relative).
    An event's stop is taken as at least its start."""

    events: int
    utc_start: int  # the earliest start
    utc_stop: int  # the latest stop
    start: int  # the earliest start on the axis
    stop: int  # the latest stop on the axis
    last: int  # the latest instant an event holds on the axis (max(stop - 1, start)): the last bin's


@dataclass(frozen=True)
class Binned:
    """Events counted in bins: per bin, those within one bin (inside) and those crossing a bin edge
    (spread, counted at their middle); per lane and bin (cells) when lanes were asked for."""

    bin: Bin
    edges: np.ndarray  # wall-clock microseconds (UTC when relative); a typed window's edges cut the ends
    inside: np.ndarray
    spread: np.ndarray
    cells: np.ndarray | None  # lanes (rows, in lane order) × bins
    windowed: bool

    @property
    def count(self) -> int:
        return len(self.edges) - 1


def _grid(chosen: Bin, extent: Extent, within: tuple[int, int] | None) -> tuple[int, np.ndarray]:
    """The first bin's index and the bin edges: the bins from the earliest start to the latest instant, or
    those of the window (within: [lo, hi) on the axis), cut at its edges."""
    lo, last = (extent.start, extent.last) if within is None else (within[0], within[1] - 1)
    first, final = chosen.index(np.array([lo, last])).tolist()
    edges = chosen.starts(np.arange(first, final + 2))
    if within is not None:
        edges[[0, -1]] = within
    return first, edges


class FrameEvents:
    """Events held in memory: their intervals (UTC microseconds) placed on the axis, and their lanes."""

    def __init__(
        self,
        start_us: np.ndarray,
        stop_us: np.ndarray,
        tz: str | None,
        lane_rank: np.ndarray | None = None,
        lane_names: list[str] | None = None,
    ) -> None:
        """tz: the zone whose wall clock bins follow; None for UTC itself (a relative axis). lane_rank: each
        event's lane (0 = top), lane_names in that order (frame_lanes)."""
        self.utc_start = np.asarray(start_us, dtype=np.int64)
        self.utc_stop = np.maximum(np.asarray(stop_us, dtype=np.int64), self.utc_start)
        self.local_start = _to_axis(self.utc_start, tz)
        self.local_stop = _to_axis(self.utc_stop, tz)
        self.lane_rank = lane_rank
        self.lane_names = lane_names or []

    def extent(self) -> Extent:
        return Extent(
            events=len(self.utc_start),
            utc_start=int(self.utc_start.min()),
            utc_stop=int(self.utc_stop.max()),
            start=int(self.local_start.min()),
            stop=int(self.local_stop.max()),
            last=int(np.maximum(self.local_stop - 1, self.local_start).max()),
        )

    def lanes(self) -> tuple[list[str], int]:
        """The first MAX_LANES lane names in lane order, and how many lanes there are."""
        return self.lane_names[:MAX_LANES], len(self.lane_names)

    def binned(
        self, chosen: Bin, extent: Extent, within: tuple[int, int] | None, lanes: int | None = None
    ) -> Binned:
        """Counts per bin, and per lane and bin for `lanes` lanes (the last taking every lane after it)."""
        first, edges = _grid(chosen, extent, within)
        count = len(edges) - 1
        start, stop = self.local_start, self.local_stop
        spread = chosen.index(start) != chosen.index(np.maximum(stop - 1, start))
        if within is None:
            middle = start + (stop - start) // 2
        else:
            lo, hi = within
            inside_start, inside_stop = np.maximum(start, lo), np.minimum(stop, hi)
            # Clipped again for an event that misses the window (the page never passes one): an edge bin.
            middle = np.clip(inside_start + (inside_stop - inside_start) // 2, lo, hi - 1)
        of_event = chosen.index(middle) - first
        cells = None
        if lanes is not None:
            rank = np.minimum(self.lane_rank, lanes - 1)
            cells = np.bincount(rank * count + of_event, minlength=lanes * count).reshape(lanes, count)
        return Binned(
            bin=chosen,
            edges=edges,
            inside=np.bincount(of_event[~spread], minlength=count),
            spread=np.bincount(of_event[spread], minlength=count),
            cells=cells,
            windowed=within is not None,
        )


def frame_lanes(frame: pd.DataFrame, lane: str) -> tuple[np.ndarray, list[str]]:
    """Each event's lane position (0 = top) and the lane names in that order: by their first event (earliest
    START_US), ties by name; events without a value in the lane's column go to NO_GROUP."""
    values = frame[lane]
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    codes = values.cat.codes.to_numpy().astype(np.int64)
    names = [str(name) for name in values.cat.categories]
    if (codes < 0).any():
        if NO_GROUP not in names:
            names.append(NO_GROUP)
        codes = np.where(codes < 0, names.index(NO_GROUP), codes)
    unused = np.iinfo(np.int64).max
    first = np.full(len(names), unused, dtype=np.int64)
    np.minimum.at(first, codes, frame[START_US].to_numpy(dtype=np.int64))
    order = sorted(np.flatnonzero(first != unused).tolist(), key=lambda c: (first[c], names[c]))
    rank = np.zeros(len(names), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], [names[c] for c in order]


class EngineEvents:
    """Events in an engine (timeline.query.filtered's expression), counted there: only counts, lane names
    and the span come back. A figure of counts takes two passes over the events (the summary: extent and
    lanes; the counts), one more where the zone's offset changes within their span, and one per coarser bin
    size a figure too big needs; each answer is kept."""

    def __init__(
        self,
        events: ir.Table,
        *,
        lane: str,
        tz: str | None,
        count: int | None = None,
        after_us: int | None = None,
        spans: pa.Table | None = None,
    ) -> None:
        """tz: the zone whose wall clock bins follow; None for UTC itself (a relative axis). count: how many
        events there are, when the caller knows. after_us: keep only the events that stop after it (a log
        axis of time since an anchor cannot place the others); `before` says how many were left out.
        spans: where each value of the lane's column lies, when the events are a whole version whose store
        kept it (timeline.store.Rollups.spans): the summary then takes no pass over the events."""
        self._spans = None if after_us is not None else spans
        self._all = events
        self._events = events if after_us is None else events.filter(events[STOP_US] > after_us)
        self._lane = lane
        self._tz = tz
        self._known = count
        self._cut = after_us is not None
        self._answer: tuple[Extent, tuple[list[str], int]] | None = None
        self._offsets: tuple[list[int], list[int]] = ([], [0])

    @property
    def count(self) -> int:
        """How many events there are (after the cut: counted by the summary, which a figure of counts needs
        next, in the same pass as a count would take)."""
        if self._known is not None and not self._cut:
            return self._known
        return self.extent().events

    @property
    def before(self) -> int:
        """How many events the cut left out."""
        if not self._cut:
            return 0
        total = self._known if self._known is not None else query.count(self._all)
        return total - self.count

    def frame(self) -> pd.DataFrame:
        """The events themselves, as a prepared frame (for few of them)."""
        return query.frame(self._events)

    def event(self, event_id: str) -> pd.DataFrame:
        """An event's row among these events, as a prepared frame (none: no rows)."""
        return query.event(self._events, event_id)

    def extent(self) -> Extent:
        return self._summary()[0]

    def lanes(self) -> tuple[list[str], int]:
        """The first MAX_LANES lane names in lane order (frame_lanes'), and how many lanes there are."""
        return self._summary()[1]

    def _summary(self) -> tuple[Extent, tuple[list[str], int]]:
        """The extent and the lanes: per lane its first start and its extent, then the first MAX_LANES lanes
        with the totals over all lanes, in one pass over the events; and where the zone's offset changes
        within their span, a second pass placing them on the wall clock."""
        if self._answer is None:
            utc, lanes = self._ask_summary()
            self._offsets = _offset_changes(self._tz, utc.utc_start, utc.utc_stop)
            changes, offsets = self._offsets
            if changes:
                placed = self._placed()
                start, stop = placed.local_start, placed.local_stop
                wall = placed.aggregate(
                    start=start.min(), stop=stop.max(), last=ibis.greatest(stop - 1, start).max()
                )
                local = {name: int(value) for name, value in wall.to_pyarrow().to_pylist()[0].items()}
            else:  # one offset all along: the axis is UTC shifted
                local = {name: getattr(utc, name) + offsets[0] for name in ("start", "stop", "last")}
            self._answer = dataclasses.replace(utc, **local), lanes
        return self._answer

    def _ask_summary(self) -> tuple[Extent, tuple[list[str], int]]:
        """The extent in UTC (on the axis too, for now) and the lanes."""
        if self._spans is not None:
            return _summary_of_spans(self._spans)
        intervals = self._intervals()
        start, stop = intervals.start, intervals.stop
        per_lane = intervals.group_by("lane").agg(
            first=start.min(),
            stop=stop.max(),
            last=ibis.greatest(stop - 1, start).max(),
            events=ibis._.count(),
        )
        # Reductions beside the columns are taken over every lane (window functions), before the limit.
        # Text sorts by code point on both engines (binary collation), as Python sorts it.
        top = (
            per_lane.mutate(
                all_lanes=per_lane.events.count(),
                all_events=per_lane.events.sum(),
                all_start=per_lane.first.min(),
                all_stop=per_lane.stop.max(),
                all_last=per_lane.last.max(),
            )
            .order_by(["first", "lane"])
            .limit(MAX_LANES)
            .to_pyarrow()
            .to_pylist()
        )
        if not top:
            return Extent(0, 0, 0, 0, 0, 0), ([], 0)
        row = {name: int(row) for name, row in top[0].items() if name.startswith("all_")}
        extent = Extent(
            events=row["all_events"],
            utc_start=row["all_start"],
            utc_stop=row["all_stop"],
            start=row["all_start"],
            stop=row["all_stop"],
            last=row["all_last"],
        )
        return extent, ([lane["lane"] for lane in top], row["all_lanes"])

    def binned(
        self, chosen: Bin, extent: Extent, within: tuple[int, int] | None, lanes: int | None = None
    ) -> Binned:
        """Counts per bin, and per lane and bin for the first `lanes` lanes of `lanes()` (the last one taking
        every lane after it): one query, grouped by lane, bin and whether the event is spread."""
        first, edges = _grid(chosen, extent, within)
        count = len(edges) - 1
        self._summary()  # the zone's offset changes in the span
        placed = self._placed()
        start, stop = placed.local_start, placed.local_stop
        if within is None:
            middle = start + ((stop - start) >> 1)  # a shift: a floor halving, exact for any length
        else:
            lo, hi = within
            inside_start, inside_stop = ibis.greatest(start, lo), ibis.least(stop, hi)
            middle = ibis.least(ibis.greatest(inside_start + ((inside_stop - inside_start) >> 1), lo), hi - 1)
        placed = placed.mutate(last_instant=ibis.greatest(stop - 1, start), middle=middle)
        placed = _with_bin_indexes(
            placed, chosen, {"first_bin": "local_start", "last_bin": "last_instant", "bin": "middle"}
        )
        keys = {"bin": placed.bin - first, "spread": placed.first_bin != placed.last_bin}
        rank: dict[str, int] = {}
        if lanes is not None:
            names, total = self.lanes()
            key = placed.lane
            if total > lanes:
                # The lanes past the first lanes - 1 share the last row: one group, unnamed (null).
                names = names[: lanes - 1]
                key = ibis.ifelse(key.isin(names), key, ibis.null("string"))
            rank = {name: at for at, name in enumerate(names)}
            keys["lane"] = key
        tally = placed.group_by(**keys).agg(n=ibis._.count()).to_pyarrow()
        bins = np.asarray(tally["bin"].to_numpy(zero_copy_only=False), dtype=np.int64)
        n = np.asarray(tally["n"].to_numpy(zero_copy_only=False), dtype=np.int64)
        spread_rows = np.asarray(tally["spread"].to_numpy(zero_copy_only=False), dtype=bool)
        cells = None
        if lanes is not None:
            rows = np.array([rank.get(name, lanes - 1) for name in tally["lane"].to_pylist()], dtype=np.int64)
            cells = np.zeros((lanes, count), dtype=np.int64)
            np.add.at(cells, (rows, bins), n)
        return Binned(
            bin=chosen,
            edges=edges,
            inside=np.bincount(bins[~spread_rows], weights=n[~spread_rows], minlength=count).astype(np.int64),
            spread=np.bincount(bins[spread_rows], weights=n[spread_rows], minlength=count).astype(np.int64),
            cells=cells,
            windowed=within is not None,
        )

    def _intervals(self) -> ir.Table:
        """Each event's lane and interval: start, stop (UTC microseconds, stop at least start)."""
        events = self._events
        return events.select(
            lane=events[self._lane].cast("string").fill_null(NO_GROUP),
            start=events[START_US],
            stop=ibis.greatest(events[STOP_US], events[START_US]),
        )

    def _placed(self) -> ir.Table:
        """The intervals and their places on the axis (local_start, local_stop): UTC plus the offset in force
        (self._offsets: _offset_changes').

        A projection of its own, so the engine's SQL names the columns computed before rather than
        repeating their expression at every branch of the tree of CASEs (which would grow the SQL by orders
        of magnitude); so are the steps that bin these places."""
        intervals = self._intervals()
        changes, shifts = self._offsets
        return intervals.mutate(
            local_start=intervals.start + _offset_at(intervals.start, changes, shifts, 0, len(shifts)),
            local_stop=intervals.stop + _offset_at(intervals.stop, changes, shifts, 0, len(shifts)),
        )


def _summary_of_spans(spans: pa.Table) -> tuple[Extent, tuple[list[str], int]]:
    """What EngineEvents._ask_summary asks the engine, from the spans of the lane column's values: values
    merged into their lanes as the engine names them (no value: NO_GROUP), ordered by first start, then
    name (code point order, as the engines sort text)."""
    lanes = (
        pa.table(
            {"lane": pc.fill_null(spans["value"], NO_GROUP), **{n: spans[n] for n in spans.column_names[1:]}}
        )
        .group_by("lane")
        .aggregate([("first", "min"), ("stop", "max"), ("last", "max"), ("events", "sum")])
    )
    if not lanes.num_rows:
        return Extent(0, 0, 0, 0, 0, 0), ([], 0)
    ordered = lanes.take(
        pc.sort_indices(lanes, sort_keys=[("first_min", "ascending"), ("lane", "ascending")])
    )
    start, stop = int(pc.min(lanes["first_min"]).as_py()), int(pc.max(lanes["stop_max"]).as_py())
    extent = Extent(
        events=int(pc.sum(lanes["events_sum"]).as_py()),
        utc_start=start,
        utc_stop=stop,
        start=start,
        stop=stop,
        last=int(pc.max(lanes["last_max"]).as_py()),
    )
    return extent, (ordered["lane"].slice(0, MAX_LANES).to_pylist(), lanes.num_rows)


def _offset_at(
    utc_us: ir.IntegerValue, changes: list[int], offsets: list[int], lo: int, hi: int
) -> ir.IntegerValue:
    """The offset among offsets[lo:hi] in force at an instant, as a balanced tree of CASEs (an engine
    compares about log2(changes) times per value): offsets[i + 1] from changes[i] on."""
    if hi - lo == 1:
        return ibis.literal(offsets[lo], type="int64")
    middle = (lo + hi) // 2
    return ibis.ifelse(
        utc_us < changes[middle - 1],
        _offset_at(utc_us, changes, offsets, lo, middle),
        _offset_at(utc_us, changes, offsets, middle, hi),
    )


@functools.lru_cache(maxsize=64)
def _offset_changes(tz: str | None, lo_us: int, hi_us: int) -> tuple[list[int], list[int]]:
    """Where the zone's UTC offset changes within [lo_us, hi_us] (UTC microseconds) and the offsets
    (microseconds): offsets[0] at lo_us, offsets[i + 1] from changes[i] on. None (UTC itself): no change.

    The zone database is sampled every _ZONE_STEP_US and each change found to the second (zones change on
    whole seconds) by bisection."""
    if tz is None:
        return [], [0]
    samples = np.unique(np.append(np.arange(lo_us, hi_us, _ZONE_STEP_US, dtype=np.int64), hi_us))
    offsets = display.local_micros(samples, tz) - samples
    moved = np.flatnonzero(np.diff(offsets) != 0)
    # Bisect each (before, after] pair in whole seconds: `after` is the first second with the new offset.
    before = np.floor_divide(samples[moved], _US_PER_SECOND)
    after = -np.floor_divide(-samples[moved + 1], _US_PER_SECOND)
    old = offsets[moved]
    while len(before) and (after - before > 1).any():
        middle = before + (after - before) // 2
        same = display.local_micros(middle * _US_PER_SECOND, tz) - middle * _US_PER_SECOND == old
        before, after = np.where(same, middle, before), np.where(same, after, middle)
    changes = (after * _US_PER_SECOND).tolist()
    return changes, [int(offsets[0]), *offsets[moved + 1].tolist()]


def _to_axis(utc_us: np.ndarray, tz: str | None) -> np.ndarray:
    return utc_us if tz is None else display.local_micros(utc_us, tz)


def _floor_div(value: ir.IntegerValue, size: int, lowest: int = 0) -> ir.IntegerValue:
    """floor(value / size) for an engine integer at or above `lowest`, exactly. Engines' % follows the sign
    of the dividend, so the distance from a multiple of size at or below lowest is divided; that distance
    less its remainder is a multiple of size a double holds exactly (under 53 significant bits: the values
    are small, or microseconds within _FLOOR_US's 10,000 years divided by multiples of 64 µs), so the
    floating-point quotient is exact."""
    base = lowest - lowest % size  # Python's % is a floor modulo: base <= lowest
    distance = value - base
    whole = ((distance - distance % size) / size).cast("int64")
    return whole + base // size


def _with_bin_indexes(table: ir.Table, chosen: Bin, sources: dict[str, str]) -> ir.Table:
    """table plus, for each name: column of sources, Bin.index of the wall-clock instants in column.

    Months come from days by Howard Hinnant's civil_from_days in integers (years counted from March, so
    leap days come last), a projection per step (see EngineEvents._placed)."""
    if not chosen.months:
        return table.mutate(
            **{
                name: _floor_div(table[column] - chosen.origin, chosen.size, _FLOOR_US)
                for name, column in sources.items()
            }
        )
    # Days from 0000-03-01 (never negative for an event's day), then the era of 400 years holding them.
    table = table.mutate(
        **{
            f"{name}_day": _floor_div(table[column], _US_PER_DAY, _FLOOR_US) + 719_468
            for name, column in sources.items()
        }
    )
    table = table.mutate(**{f"{name}_era": _floor_div(table[f"{name}_day"], 146_097) for name in sources})
    table = table.mutate(
        **{f"{name}_doe": table[f"{name}_day"] - table[f"{name}_era"] * 146_097 for name in sources}
    )
    table = table.mutate(**{f"{name}_yoe": _year_of_era(table[f"{name}_doe"]) for name in sources})
    table = table.mutate(
        **{
            f"{name}_doy": table[f"{name}_doe"]
            - (
                365 * table[f"{name}_yoe"]
                + _floor_div(table[f"{name}_yoe"], 4)
                - _floor_div(table[f"{name}_yoe"], 100)
            )
            for name in sources
        }
    )
    months = {
        name: (table[f"{name}_yoe"] + table[f"{name}_era"] * 400) * 12
        + _floor_div(5 * table[f"{name}_doy"] + 2, 153)
        + 2
        for name in sources
    }
    table = table.mutate(**{f"{name}_months": months[name] for name in sources})
    return table.mutate(**{name: _floor_div(table[f"{name}_months"], chosen.size) for name in sources})


def _year_of_era(day_of_era: ir.IntegerValue) -> ir.IntegerValue:
    return _floor_div(
        day_of_era
        - _floor_div(day_of_era, 1_460)
        + _floor_div(day_of_era, 36_524)
        - _floor_div(day_of_era, 146_096),
        365,
    )
