"""The reported toll over time: every figure an event carries, with its reporter and source, never merged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from timeline import schema as s
from timeline.frame import START_US, STOP_US

MEASURES: tuple[str, ...] = (s.FATALITIES, s.INJURED)  # the canonical columns that hold a reported number
MEASURE = "measure"
VALUE = "value"
T_US = "t_us"
REPORT_COLUMNS: tuple[str, ...] = (
    s.EVENT_ID,
    MEASURE,
    VALUE,
    START_US,
    STOP_US,
    s.TIME_PRECISION,
    s.ACTOR,
    s.SOURCE_NAME,
    s.SOURCE_URL,
    s.TITLE,
    # Beyond the report itself: what display.stated_times needs to say when the source placed it.
    s.UTC_OFFSET_MINUTES,
    s.END,
)


def toll_reports(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (event, measure) with a reported number, sorted by start (then stop, measure, event_id).

    Reports at the same time with different figures all stay: a disagreement is shown, never averaged.
    """
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
                    s.TIME_PRECISION: picked[s.TIME_PRECISION].astype(object).to_numpy(),
                    s.ACTOR: picked[s.ACTOR].astype(object).to_numpy(),
                    s.SOURCE_NAME: picked[s.SOURCE_NAME].astype(object).to_numpy(),
                    s.SOURCE_URL: picked[s.SOURCE_URL].astype(object).to_numpy(),
                    s.TITLE: picked[s.TITLE].astype(object).to_numpy(),
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


def highest_so_far(reports: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The highest figure of one measure reported up to each moment, as a step series.

    A report counts from the start of the interval it could lie in (when it was possibly first made).
    Columns: t_us (UTC microseconds), value (the highest so far, constant until the next row), and
    event_id (the report that first gave it). One row where the highest figure rises, plus the last
    report's time, so the line reaches it.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(map(repr, MEASURES))}; got {measure!r}")
    of_measure = reports[reports[MEASURE] == measure]
    if of_measure.empty:
        return pd.DataFrame(
            {
                T_US: np.array([], np.int64),
                VALUE: np.array([], np.int64),
                s.EVENT_ID: np.array([], object),
            }
        )
    # At one moment the largest figure counts; among equal figures, the first event_id names it.
    ordered = of_measure.sort_values(
        [START_US, VALUE, s.EVENT_ID], ascending=[True, False, True], kind="stable"
    )
    t = ordered[START_US].to_numpy(dtype=np.int64)
    value = ordered[VALUE].to_numpy(dtype=np.int64)
    highest = np.maximum.accumulate(value)
    rises = np.r_[True, highest[1:] > highest[:-1]]
    ids = ordered[s.EVENT_ID].astype(str).to_numpy()
    series = pd.DataFrame({T_US: t[rises], VALUE: highest[rises], s.EVENT_ID: ids[rises]})
    if t[-1] > series[T_US].iloc[-1]:
        # The line runs on to the last report, naming the report that set the figure it holds.
        series.loc[len(series)] = [t[-1], highest[-1], series[s.EVENT_ID].iloc[-1]]
    return series.astype({T_US: np.int64, VALUE: np.int64})
