"""The reported toll over time: every figure kept with its reporter, and the highest figure so far."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.canonical import canonical_events
from timeline import casualties, store
from timeline import frame as frames
from timeline import schema as s
from timeline.frame import START_US

BUNDLED = "crocus-city-hall-2024"


@pytest.fixture(scope="module")
def bundled_reports() -> pd.DataFrame:
    return casualties.toll_reports(frames.prepare(store.load(BUNDLED, root=store.DEFAULT_ROOT)))


def _events(*rows: dict) -> pa.Table:
    """Canonical events from a few fields per row: minute-precision UTC casualty updates unless stated."""
    return canonical_events(
        *rows,
        actor_prefix="reporter",
        event_type="casualty_update",
        time_precision="minute",
        utc_offset_minutes=0,
        timestamp="2024-03-22T19:00Z",
    )


def _reports(*rows: dict) -> pd.DataFrame:
    return casualties.toll_reports(frames.prepare(_events(*rows)))


def _us(text: str) -> int:
    return pd.Timestamp(text).value // 1000


def test_one_row_per_event_and_measure_with_a_number() -> None:
    """An event with both figures gives two rows; events without any give none; columns as documented."""
    reports = _reports(
        {s.EVENT_ID: "both", s.FATALITIES: 40, s.INJURED: 100},
        {s.EVENT_ID: "dead only", s.FATALITIES: 60, s.TIMESTAMP: "2024-03-22T21:00Z"},
        {s.EVENT_ID: "nothing", s.EVENT_TYPE: "statement"},
    )
    assert list(reports.columns) == list(casualties.REPORT_COLUMNS)
    assert reports[[s.EVENT_ID, casualties.MEASURE, casualties.VALUE]].values.tolist() == [
        ["both", "fatalities", 40],
        ["both", "injured", 100],
        ["dead only", "fatalities", 60],
    ]


def test_reports_are_sorted_by_the_start_of_their_interval() -> None:
    """Rows follow the start of each report's interval, whatever order the events came in."""
    reports = _reports(
        {s.FATALITIES: 3, s.TIMESTAMP: "2024-03-24T00:00Z", s.TIME_PRECISION: "day"},
        {s.FATALITIES: 1, s.TIMESTAMP: "2024-03-22T19:00Z"},
        {s.FATALITIES: 2, s.TIMESTAMP: "2024-03-23T09:00Z", s.TIME_PRECISION: "hour"},
    )
    assert reports[casualties.VALUE].tolist() == [1, 2, 3]
    assert reports[s.TIME_PRECISION].tolist() == ["minute", "hour", "day"]


def test_disagreeing_reports_at_the_same_time_all_stay() -> None:
    """Two different figures stated at the same moment are two rows, never one averaged figure."""
    reports = _reports(
        {s.ACTOR: "ministry", s.FATALITIES: 143},
        {s.ACTOR: "minister", s.FATALITIES: 140},
    )
    assert sorted(reports[casualties.VALUE]) == [140, 143]
    assert set(reports[s.ACTOR]) == {"ministry", "minister"}
    highest = casualties.highest_so_far(reports, "fatalities")
    assert highest[[casualties.T_US, casualties.VALUE, s.EVENT_ID]].values.tolist() == [
        [_us("2024-03-22T19:00Z"), 143, "e0"]
    ]


def test_no_figures_gives_empty_reports_and_series() -> None:
    """Events without fatalities or injured give no reports and an empty highest-so-far series."""
    reports = _reports({s.EVENT_TYPE: "statement"})
    assert reports.empty
    assert list(reports.columns) == list(casualties.REPORT_COLUMNS)
    assert casualties.highest_so_far(reports, "injured").empty
    assert casualties.toll_reports(frames.prepare(s.empty_table())).empty


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        # (minutes after 19:00, value) per report -> (minutes, highest so far) per step
        ([(0, 40), (30, 60), (90, 93)], [(0, 40), (30, 60), (90, 93)]),
        # A lower later figure does not lower the line; the line runs on to the last report.
        ([(0, 40), (30, 150), (60, 133)], [(0, 40), (30, 150), (60, 150)]),
        ([(0, 40), (0, 60), (30, 50)], [(0, 60), (30, 60)]),
        ([(0, 7)], [(0, 7)]),
    ],
)
def test_highest_so_far_steps_up_and_never_down(figures: list, expected: list) -> None:
    """The series holds the highest figure reported up to each moment: a rise per new maximum."""
    start = pd.Timestamp("2024-03-22T19:00Z")
    reports = _reports(
        *({s.TIMESTAMP: start + pd.Timedelta(minutes=m), s.FATALITIES: v} for m, v in figures),
    )
    highest = casualties.highest_so_far(reports, "fatalities")
    minutes = (highest[casualties.T_US] - start.value // 1000) // 60_000_000
    assert list(zip(minutes.tolist(), highest[casualties.VALUE].tolist(), strict=True)) == expected


def test_highest_so_far_refuses_an_unknown_measure() -> None:
    """measure must be fatalities or injured; the error names both and the value received."""
    with pytest.raises(ValueError, match=r"'fatalities', 'injured'; got 'missing'"):
        casualties.highest_so_far(_reports({s.FATALITIES: 1}), "missing")


def test_bundled_first_fsb_figure_is_40_at_about_19_utc(bundled_reports: pd.DataFrame) -> None:
    """The FSB's first figure, 40 dead, lies in the hour from 19:00 UTC on 22 March 2024."""
    fsb = bundled_reports[
        (bundled_reports[s.ACTOR] == "FSB") & (bundled_reports[casualties.MEASURE] == "fatalities")
    ]
    assert 40 in fsb[casualties.VALUE].tolist()
    first = fsb[fsb[casualties.VALUE] == 40].iloc[0]
    assert _us("2024-03-22T18:30Z") <= first[START_US] <= _us("2024-03-22T19:30Z")
    assert first[START_US] == bundled_reports[START_US].min()


def test_bundled_toll_rises_to_at_least_144_by_the_end_of_march(bundled_reports: pd.DataFrame) -> None:
    """The highest reported death toll never falls and reaches 144 or more by 31 March 2024."""
    highest = casualties.highest_so_far(bundled_reports, "fatalities")
    values = highest[casualties.VALUE].to_numpy()
    assert (np.diff(values) >= 0).all()
    by_april = highest[highest[casualties.T_US] < _us("2024-04-01T00:00Z")]
    assert by_april[casualties.VALUE].iloc[-1] >= 144


def test_bundled_disagreeing_reports_of_27_march_both_stay(bundled_reports: pd.DataFrame) -> None:
    """On 27 March the Emergencies Ministry (143) and Murashko (140) disagree: both figures are kept."""
    deaths = bundled_reports[bundled_reports[casualties.MEASURE] == "fatalities"]
    same_day = deaths[deaths[START_US] == _us("2024-03-26T21:00Z")]
    assert sorted(same_day[casualties.VALUE]) == [140, 143]
