"""The reported toll over time: every figure an event carries, with its reporter and source, never merged."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from timeline import dates, display, reactions
from timeline import schema as s
from timeline.frame import START_US, STOP_US

MEASURES: tuple[str, ...] = (s.FATALITIES, s.INJURED)  # the canonical columns that hold a reported number
MEASURE = "measure"
VALUE = "value"
T_US = "t_us"
REPORTER = "reporter"  # the kind of reporter, one of REPORTER_KINDS
PUBLIC_US = "public_us"  # when the report was certainly public: the end of the interval its start lies in
REPORT_COLUMNS: tuple[str, ...] = (
    s.EVENT_ID,
    MEASURE,
    VALUE,
    START_US,
    STOP_US,
    PUBLIC_US,
    s.TIME_PRECISION,
    s.ACTOR,
    s.ACTOR_TYPE,
    REPORTER,
    s.SOURCE_NAME,
    s.SOURCE_URL,
    s.TITLE,
    # Where: what default_mode and period_totals need to tell one incident from many.
    s.LOCATION,
    s.LATITUDE,
    s.LONGITUDE,
    # Beyond the report itself: what display.stated_times needs to say when the source placed it.
    s.UTC_OFFSET_MINUTES,
    s.END,
)

OFFICIALS, MEDIA, OTHERS = "officials", "media", "others"
REPORTER_KINDS: tuple[str, ...] = (OFFICIALS, MEDIA, OTHERS)
# The one table that reads a reporter's kind from its actor_type, case-insensitively: the first kind with a
# matching pattern wins, else OTHERS. Media come first, so "state media" and "news agency" are media.
# The spellings include ACLED's inter labels ("State forces") and GDELT's CAMEO type codes (GOV, MIL, MED).
REPORTER_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        MEDIA,
        r"\bmedia\b|\bnews|newspaper|\bpress\b(?!\s+(?:secretary|service|office))|broadcast|television|\btv\b"
        r"|\bradio\b|journalis|reporter|correspondent|magazine|\boutlet\b|blogger|\bmed\b|\bjrn\b",
    ),
    (
        OFFICIALS,
        r"head of (?:state|government)|president|prime minister|premier|chancellor|government|\bgov\b"
        r"|\bofficial|minist|security|intelligence|investigat|law enforcement|police|gendarm|\bcop\b"
        r"|military|\bmil\b|\barmy\b|armed forces|state forces|court|judic|\bjud\b|prosecut|embassy|consul"
        r"|diplomat|ambassador|(?<!non-)(?<!non )(?<!islamic )\bstate\b|parliament|legislat|\bleg\b|mayor"
        r"|governor|authorit|emergenc|\bspy\b",
    ),
)
_REPORTER_REGEXES = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in REPORTER_PATTERNS)

DISAGREES = "disagrees"
DISAGREEMENTS = "disagreements"  # how many reports of the same measure a report disagrees with
DISAGREES_WITH = "disagrees_with"  # event ids of the latest NAMED_PARTNERS of them, latest first
NAMED_PARTNERS = 3
MAX_COMPARED = 10_000  # reports of one measure compared pairwise by with_disagreements; above, none are
_BLOCK = 512  # rows of the pairwise comparison at once: memory is _BLOCK x reports booleans

MODES: tuple[str, ...] = ("reports", "totals")
MAX_ONE_INCIDENT = 500  # events with a figure beyond which reports are many incidents, whatever their places
_PLACE_DECIMALS = 1  # coordinates rounded to 0.1 degree (about 11 km) name one place

PERIOD = "period"  # the unit of period_totals: one of PERIODS
PERIOD_START = "period_start"
PERIOD_STOP = "period_stop"
TOTAL = "total"
EVENTS = "events"
DEADLIEST_ID = "deadliest_id"
DEADLIEST_VALUE = "deadliest_value"
DEADLIEST = "deadliest"
PERIODS: tuple[str, ...] = ("day", "week", "month", "year")
_DAY_US = 86_400_000_000
# The longest span (of event starts) still summed per day, week and month; longer spans are summed per year.
# Each keeps the number of bars near a hundred or two.
_PERIOD_SPANS_US = {"day": 92 * _DAY_US, "week": 730 * _DAY_US, "month": 15 * 365 * _DAY_US}
_PERIOD_COLUMNS: tuple[str, ...] = (
    MEASURE,
    PERIOD,
    PERIOD_START,
    PERIOD_STOP,
    TOTAL,
    EVENTS,
    DEADLIEST_ID,
    DEADLIEST_VALUE,
    DEADLIEST,
)


def toll_reports(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (event, measure) with a reported number, sorted by start (then stop, measure, event_id).

    Each report carries its reporter kind (REPORTER, from actor_type by REPORTER_PATTERNS) and PUBLIC_US,
    the moment it was certainly public: the end of the interval its start could lie in (for an event with
    a stated end, the end of its start's interval, as reactions.start_stops computes it).
    Reports at the same time with different figures all stay: a disagreement is shown, never averaged.
    """
    public = reactions.start_stops(frame)
    kinds = reporter_kinds(frame[s.ACTOR_TYPE])
    parts = []
    for measure in MEASURES:
        values = frame[measure]
        rows = np.flatnonzero(values.notna().to_numpy())
        picked = frame.iloc[rows]
        parts.append(
            pd.DataFrame(
                {
                    s.EVENT_ID: picked[s.EVENT_ID].astype(str).to_numpy(),
                    MEASURE: np.full(len(rows), measure, dtype=object),
                    VALUE: values.iloc[rows].to_numpy(dtype=np.int64),
                    START_US: picked[START_US].to_numpy(dtype=np.int64),
                    STOP_US: picked[STOP_US].to_numpy(dtype=np.int64),
                    PUBLIC_US: public[rows],
                    s.TIME_PRECISION: picked[s.TIME_PRECISION].astype(object).to_numpy(),
                    s.ACTOR: picked[s.ACTOR].astype(object).to_numpy(),
                    s.ACTOR_TYPE: picked[s.ACTOR_TYPE].astype(object).to_numpy(),
                    REPORTER: kinds[rows],
                    s.SOURCE_NAME: picked[s.SOURCE_NAME].astype(object).to_numpy(),
                    s.SOURCE_URL: picked[s.SOURCE_URL].astype(object).to_numpy(),
                    s.TITLE: picked[s.TITLE].astype(object).to_numpy(),
                    s.LOCATION: picked[s.LOCATION].astype(object).to_numpy(),
                    s.LATITUDE: picked[s.LATITUDE].to_numpy(dtype=np.float64),
                    s.LONGITUDE: picked[s.LONGITUDE].to_numpy(dtype=np.float64),
                    s.UTC_OFFSET_MINUTES: picked[s.UTC_OFFSET_MINUTES].astype(pd.Int16Dtype()).array,
                    s.END: picked[s.END].astype("datetime64[us, UTC]").array,
                }
            )
        )
    reports = pd.concat(parts, ignore_index=True)
    order = pd.Categorical(reports[MEASURE], categories=MEASURES).codes
    reports = reports.assign(_order=order).sort_values(
        [START_US, STOP_US, "_order", s.EVENT_ID], kind="stable", ignore_index=True
    )
    return reports.drop(columns="_order")


def reporter_kinds(actor_types: pd.Series) -> np.ndarray:
    """The reporter kind (officials, media or others) of each actor_type, by REPORTER_PATTERNS; a missing
    actor_type is OTHERS. Each distinct value is matched once, so a million rows cost their few types."""
    codes, distinct = pd.factorize(actor_types, use_na_sentinel=True)
    kinds = [_reporter_kind(str(value)) for value in distinct]
    # The code of a missing value, -1, picks the OTHERS appended last.
    return np.array([*kinds, OTHERS], dtype=object)[codes]


def _reporter_kind(actor_type: str) -> str:
    return next((kind for kind, regex in _REPORTER_REGEXES if regex.search(actor_type)), OTHERS)


def highest_so_far(reports: pd.DataFrame, measure: str, *, reporter: str | None = None) -> pd.DataFrame:
    """The highest figure of one measure certainly public at each moment, as a step series.

    A report counts from PUBLIC_US, the end of the interval it could have been made in: a report stated
    only to the day raises the line at the end of that day, never at its start (PRODUCT.md, "Time,
    honestly"). With reporter, only reports of that kind count. Columns: t_us (UTC microseconds), value (the
    highest so far, constant until the next row), and event_id (the report that first gave it). One row
    where the highest figure rises, plus the last moment any report of the measure (of any kind) was
    certainly public, so every kind's line reaches it.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(map(repr, MEASURES))}; got {measure!r}")
    if reporter is not None and reporter not in REPORTER_KINDS:
        raise ValueError(
            f"reporter must be one of {', '.join(map(repr, REPORTER_KINDS))} or None; got {reporter!r}"
        )
    of_measure = reports[(reports[MEASURE] == measure).to_numpy()]
    counted = of_measure if reporter is None else of_measure[(of_measure[REPORTER] == reporter).to_numpy()]
    if counted.empty:
        return pd.DataFrame(
            {
                T_US: np.array([], np.int64),
                VALUE: np.array([], np.int64),
                s.EVENT_ID: np.array([], object),
            }
        )
    # At one moment the largest figure counts; among equal figures, the first event_id names it.
    ordered = counted.sort_values(
        [PUBLIC_US, VALUE, s.EVENT_ID], ascending=[True, False, True], kind="stable"
    )
    t = ordered[PUBLIC_US].to_numpy(dtype=np.int64)
    value = ordered[VALUE].to_numpy(dtype=np.int64)
    highest = np.maximum.accumulate(value)
    rises = np.r_[True, highest[1:] > highest[:-1]]
    ids = ordered[s.EVENT_ID].astype(str).to_numpy()
    series = pd.DataFrame({T_US: t[rises], VALUE: highest[rises], s.EVENT_ID: ids[rises]})
    last_us = int(of_measure[PUBLIC_US].max())
    if last_us > series[T_US].iloc[-1]:
        # The line runs on to the last report, naming the report that set the figure it holds.
        series.loc[len(series)] = [last_us, highest[-1], series[s.EVENT_ID].iloc[-1]]
    return series.astype({T_US: np.int64, VALUE: np.int64})


def with_disagreements(reports: pd.DataFrame) -> pd.DataFrame:
    """The reports with DISAGREES (bool), DISAGREEMENTS (how many) and DISAGREES_WITH (a tuple of the event
    ids of the latest NAMED_PARTNERS of them by PUBLIC_US, latest first).

    Two reports of the same measure disagree when their figures differ and either
    (a) the lower one was certainly made after the higher one was certainly public (its START_US is at or
        after the other's PUBLIC_US): a toll does not fall, so one of the two is wrong (an article's
        "nearly 150" on 23 March against the officials' 144 a week later); or
    (b) both are stated at the same precision for overlapping intervals (the same day, or the same hour),
        so neither can be the later, corrected one (140 and 143, both of 27 March).
    Figures that rise as time passes never disagree, nor do reports of different measures.

    Every two reports of a measure are compared, _BLOCK rows at a time (vectorised; memory _BLOCK x n).
    That is quadratic, so above MAX_COMPARED reports of a measure (many incidents rather than one report
    series; see default_mode) its reports are not compared and none of them is marked.
    """
    disagrees = np.zeros(len(reports), dtype=bool)
    count = np.zeros(len(reports), dtype=np.int64)
    partners = np.empty(len(reports), dtype=object)
    partners[:] = [()] * len(reports)
    measure_of = reports[MEASURE].to_numpy()
    for measure in MEASURES:
        rows = np.flatnonzero(measure_of == measure)
        if not 2 <= len(rows) <= MAX_COMPARED:
            continue
        part = reports.iloc[rows]
        public = part[PUBLIC_US].to_numpy(dtype=np.int64)
        # Latest first (ties by event_id), so a row's first partners are its latest.
        order = np.lexsort((part[s.EVENT_ID].astype(str).to_numpy(), -public))
        counted, latest = _pairwise_disagreements(
            part[VALUE].to_numpy(dtype=np.int64)[order],
            part[START_US].to_numpy(dtype=np.int64)[order],
            public[order],
            pd.Categorical(part[s.TIME_PRECISION].astype(object), categories=s.PRECISIONS).codes[order],
        )
        ids = part[s.EVENT_ID].astype(str).to_numpy()[order]
        at = rows[order]
        count[at] = counted
        disagrees[at] = counted > 0
        for row, named in zip(at[counted > 0].tolist(), latest[counted > 0].tolist(), strict=True):
            partners[row] = tuple(ids[j] for j in named if j >= 0)
    return reports.assign(**{DISAGREES: disagrees, DISAGREEMENTS: count, DISAGREES_WITH: partners})


def _pairwise_disagreements(
    value: np.ndarray, start: np.ndarray, public: np.ndarray, precision: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For reports in order of public, latest first: how many others each disagrees with (with_disagreements'
    rule), and the positions of its first NAMED_PARTNERS partners (its latest; -1 where fewer)."""
    n = len(value)
    # Times as ranks among all the moments, figures as int32: the same comparisons on half the bytes.
    moments = np.unique(np.r_[start, public])
    start = np.searchsorted(moments, start).astype(np.int32)
    public = np.searchsorted(moments, public).astype(np.int32)
    value = value.astype(np.int32)
    # Each rule can hold only in a range of columns, found by binary search in non-decreasing arrays: the
    # negated public moments, and the negated latest start from each column on and earliest start up to it.
    falling_public = -public
    falling_latest_start = -np.maximum.accumulate(start[::-1])[::-1]
    falling_earliest_start = -np.minimum.accumulate(start)
    counted = np.zeros(n, dtype=np.int64)
    latest = np.full((n, NAMED_PARTNERS), -1, dtype=np.int64)
    for first in range(0, n, _BLOCK):
        block = slice(first, min(first + _BLOCK, n))
        v, s0, p, c = (a[block, None] for a in (value, start, public, precision))
        pairs = np.zeros((len(v), n), dtype=bool)
        # (a) this one is higher, the other made after it was public: start[j] >= p (no column from `after`).
        after = int(np.searchsorted(falling_latest_start, -p.min(), side="right"))
        pairs[:, :after] = (start[:after] >= p) & (v > value[:after])
        # (a) this one is lower, made after the other was public: public[j] <= s0 (columns from `before`).
        before = int(np.searchsorted(falling_public, -s0.max(), side="left"))
        pairs[:, before:] |= (s0 >= public[before:]) & (v < value[before:])
        # (b) the same precision, overlapping intervals, different figures: public[j] > s0 and start[j] < p.
        near = slice(
            int(np.searchsorted(falling_earliest_start, -p.max(), side="right")),
            int(np.searchsorted(falling_public, -s0.min(), side="left")),
        )
        pairs[:, near] |= (
            (c == precision[near]) & (s0 < public[near]) & (start[near] < p) & (v != value[near])
        )
        counted[block] = pairs.sum(axis=1)
        rows = np.arange(len(v))
        for k in range(NAMED_PARTNERS):
            column = pairs.argmax(axis=1)
            found = pairs[rows, column]
            latest[block, k] = np.where(found, column, -1)
            pairs[rows, column] = False
    return counted, latest


def disagreement_texts(reports: pd.DataFrame, tz: str) -> pd.Series:
    """For each report of with_disagreements, the reports it disagrees with in words ("" when none):
    "140 by Mikhail Murashko, <when stated, in tz>; …, and 2 more". Not escaped: text from data."""
    texts = np.full(len(reports), "", dtype=object)
    rows = np.flatnonzero(reports[DISAGREES].to_numpy(dtype=bool))
    if len(rows):
        said = (
            pd.Series(reports[VALUE].to_numpy(dtype=np.int64)).map("{:,}".format).to_numpy(dtype=object)
            + " by "
            + reports[s.ACTOR].astype(object).fillna("(not stated)").astype(str).to_numpy(dtype=object)
            + ", "
            + display.stated_times(reports.reset_index(drop=True), tz).to_numpy(dtype=object)
        )
        keys = zip(reports[s.EVENT_ID].astype(str), reports[MEASURE], strict=True)
        described = dict(zip(keys, said, strict=True))
        measures = reports[MEASURE].to_numpy()[rows]
        partners = reports[DISAGREES_WITH].to_numpy()[rows]
        more = reports[DISAGREEMENTS].to_numpy(dtype=np.int64)[rows] - [len(named) for named in partners]
        texts[rows] = [
            "; ".join(described[(event_id, measure)] for event_id in named)
            + (f", and {extra:,} more" if extra else "")
            for measure, named, extra in zip(measures.tolist(), partners.tolist(), more.tolist(), strict=True)
        ]
    return pd.Series(texts, index=reports.index, dtype=object, name=DISAGREES_WITH)


def default_mode(reports: pd.DataFrame) -> str:
    """ "totals" when the reports are many incidents, else "reports" (one incident's reports over time).

    Many incidents: the reports name two or more places (by location text, case and spaces aside, or where
    there is none by coordinates rounded to 0.1 degree), or come from more than MAX_ONE_INCIDENT events.
    """
    if reports[s.EVENT_ID].nunique() > MAX_ONE_INCIDENT:
        return "totals"
    named = reports[s.LOCATION].astype(object).str.strip().str.casefold()
    named = named.where(named != "")
    located = reports[s.LATITUDE].notna() & reports[s.LONGITUDE].notna()
    coordinates = (
        reports[s.LATITUDE].round(_PLACE_DECIMALS).astype(str)
        + ","
        + reports[s.LONGITUDE].round(_PLACE_DECIMALS).astype(str)
    )
    places = named.fillna(coordinates.where(located))
    return "totals" if places.nunique(dropna=True) >= 2 else "reports"


def period_totals(reports: pd.DataFrame, tz: str, *, period: str | None = None) -> pd.DataFrame:
    """Per measure and period, the sum of the figures the events starting in it carry: for many incidents,
    each event one incident (a dataset that reports one incident several times counts it several times).

    Periods are days, weeks (from Monday), months or years of the wall clock in tz; by default the unit is
    chosen by the span of the events' starts (up to 92 days: days; up to two years: weeks; up to 15 years:
    months; beyond: years). An event counts in the period of the start of the interval it could lie in.
    Columns: measure, period (the unit), period_start and period_stop (naive wall-clock times in tz, the
    stop exclusive), total, events (how many carry the measure), and the deadliest event of the period:
    deadliest_id, deadliest_value and deadliest (its title, or its actor, with its location). Sorted by
    measure, then period_start; periods without an event are no rows.
    """
    dates.validate_zone(tz)
    if period is not None and period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(map(repr, PERIODS))} or None; got {period!r}")
    if len(reports) == 0:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in _PERIOD_COLUMNS})
    local = display.local_micros(reports[START_US].to_numpy(dtype=np.int64), tz)
    unit = period or _period_of_span(int(local.max() - local.min()))
    start, stop = _period_bounds(local, unit)
    table = pd.DataFrame(
        {
            MEASURE: pd.Categorical(reports[MEASURE], categories=MEASURES),
            PERIOD_START: start.astype("M8[us]"),
            PERIOD_STOP: stop.astype("M8[us]"),
            VALUE: reports[VALUE].to_numpy(dtype=np.int64),
            s.EVENT_ID: reports[s.EVENT_ID].astype(str).to_numpy(),
            DEADLIEST: _incident_names(reports),
        }
    )
    # The deadliest first in each period (ties: the first event_id), so a group's first row names it.
    table = table.sort_values([VALUE, s.EVENT_ID], ascending=[False, True], kind="stable")
    totals = (
        table.groupby([MEASURE, PERIOD_START], observed=True, sort=True)
        .agg(
            **{
                PERIOD_STOP: (PERIOD_STOP, "first"),
                TOTAL: (VALUE, "sum"),
                EVENTS: (VALUE, "size"),
                DEADLIEST_ID: (s.EVENT_ID, "first"),
                DEADLIEST_VALUE: (VALUE, "first"),
                DEADLIEST: (DEADLIEST, "first"),
            }
        )
        .reset_index()
    )
    totals[MEASURE] = totals[MEASURE].astype(object)
    totals[PERIOD] = unit
    return totals[list(_PERIOD_COLUMNS)]


def _incident_names(reports: pd.DataFrame) -> np.ndarray:
    """Each report's event by its title (else its actor), with its location when stated."""
    title = reports[s.TITLE].astype(object)
    title = title.where(title.notna() & (title.astype(str).str.strip() != ""))
    name = title.fillna(reports[s.ACTOR].astype(object)).fillna("(not stated)").astype(str)
    location = reports[s.LOCATION].astype(object)
    return name.where(location.isna(), name + " (" + location.astype(str) + ")").to_numpy(dtype=object)


def _period_of_span(span_us: int) -> str:
    return next((unit for unit, longest in _PERIOD_SPANS_US.items() if span_us <= longest), "year")


def _period_bounds(local_us: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """The start and the end (exclusive) of the period of each wall-clock time, as wall-clock microseconds."""
    no_offset = np.zeros(len(local_us), dtype=np.int64)
    if unit in ("day", "week"):
        start = dates.start_of_interval(local_us, np.full(len(local_us), dates.DAY), no_offset)
        if unit == "day":
            return start, start + _DAY_US
        weekday = (start // _DAY_US + 3) % 7  # 1 January 1970 was a Thursday: Monday is 0
        start = start - weekday * _DAY_US
        return start, start + 7 * _DAY_US
    code = np.full(len(local_us), dates.MONTH if unit == "month" else dates.YEAR)
    start = dates.start_of_interval(local_us, code, no_offset)
    return start, dates.end_of_interval(start, code, no_offset)
