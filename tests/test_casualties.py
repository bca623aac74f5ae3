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
        [_us("2024-03-22T19:01Z"), 143, "e0"]  # certainly public at the end of the minute 19:00
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
        # (minutes after 19:00, value) per minute-precision report -> (minutes, highest so far) per step,
        # each at the end of the minute its report was made in, when it was certainly public.
        ([(0, 40), (30, 60), (90, 93)], [(1, 40), (31, 60), (91, 93)]),
        # A lower later figure does not lower the line; the line runs on to the last report.
        ([(0, 40), (30, 150), (60, 133)], [(1, 40), (31, 150), (61, 150)]),
        ([(0, 40), (0, 60), (30, 50)], [(1, 60), (31, 60)]),
        ([(0, 7)], [(1, 7)]),
    ],
)
def test_highest_so_far_steps_up_and_never_down(figures: list, expected: list) -> None:
    """The series holds the highest figure certainly public at each moment: a rise per new maximum."""
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


# Each toll report of the bundled dataset, by the figure it gives (fatalities).
FSB_40 = "2024-03-22-fsb-toll-40"
IC_93 = "2024-03-23-toll-93"
IC_60 = "2024-03-23-toll-more-than-60"
ARTICLE_150 = "2024-03-23-article-toll-nearly-150"
MURASHKO_140 = "2024-03-27-murashko-toll-140"
MINISTRY_143 = "2024-03-27-emergencies-ministry-toll-143"
MURASHKO_144 = "2024-03-29-murashko-toll-144"
MINISTRY_144 = "2024-03-30-emergencies-ministry-toll-144"


def _deaths(reports: pd.DataFrame) -> pd.DataFrame:
    """The fatality reports, indexed by event_id."""
    return reports[reports[casualties.MEASURE] == "fatalities"].set_index(s.EVENT_ID)


@pytest.mark.parametrize(
    ("fields", "public"),
    [
        ({}, "2024-03-22T19:01Z"),  # to the minute: public by the end of that minute
        ({s.TIME_PRECISION: "hour"}, "2024-03-22T20:00Z"),
        (
            {s.TIME_PRECISION: "day", s.UTC_OFFSET_MINUTES: 180, s.TIMESTAMP: "2024-03-22T21:00Z"},
            "2024-03-23T21:00Z",
        ),
        # A stated end says how long it lasted, not when it was said: the end of its start's hour counts.
        ({s.TIME_PRECISION: "hour", s.END: "2024-03-23T09:00Z"}, "2024-03-22T20:00Z"),
    ],
)
def test_each_report_is_certainly_public_at_the_end_of_its_start_interval(fields: dict, public: str) -> None:
    """public_us is the end of the interval the report's start could lie in, in the source's offset."""
    reports = _reports({s.FATALITIES: 5, **fields})
    assert reports[casualties.PUBLIC_US].tolist() == [_us(public)]


@pytest.mark.parametrize(
    ("actor_type", "kind"),
    [
        ("head of state", "officials"),
        ("Head of Government", "officials"),
        ("government official", "officials"),
        ("MINISTRY", "officials"),
        ("security agency", "officials"),
        ("investigative agency", "officials"),
        ("Police", "officials"),
        ("military", "officials"),
        ("court", "officials"),
        ("embassy", "officials"),
        ("diplomatic mission", "officials"),
        ("state", "officials"),
        ("State forces", "officials"),  # ACLED's inter1 label
        ("GOV", "officials"),  # GDELT's CAMEO type code
        ("media", "media"),
        ("news agency", "media"),
        ("Newspaper", "media"),
        ("broadcaster", "media"),
        ("journalist", "media"),
        ("state media", "media"),
        ("Rioters", "others"),
        ("rebel group", "others"),
        ("armed group", "others"),
        ("non-state armed group", "others"),
        ("international organisation", "others"),
        ("", "others"),
        (None, "others"),
    ],
)
def test_reporter_kind_is_read_from_actor_type_case_insensitively(actor_type: str | None, kind: str) -> None:
    """Officials are state bodies, media are media; everything else, and no actor_type, is others."""
    reports = _reports({s.FATALITIES: 5, s.ACTOR_TYPE: actor_type})
    assert reports[casualties.REPORTER].tolist() == [kind]


def test_bundled_reporters_are_officials_and_one_news_article(bundled_reports: pd.DataFrame) -> None:
    """The article's "nearly 150" is the only media report; every other toll comes from officials."""
    kinds = _deaths(bundled_reports)[casualties.REPORTER]
    assert kinds[ARTICLE_150] == "media"
    assert set(kinds.drop(ARTICLE_150)) == {"officials"}


def test_bundled_lines_never_rise_before_the_raising_report_is_certainly_public(
    bundled_reports: pd.DataFrame,
) -> None:
    """Each step of each kind's line comes when the report giving it was certainly public, never earlier: the
    officials' line never shows 93 (a report of 23 Mar, Moscow) before 60 (23 Mar 00:30 Moscow)."""
    public = _deaths(bundled_reports)[casualties.PUBLIC_US]
    for kind in casualties.REPORTER_KINDS:
        line = casualties.highest_so_far(bundled_reports, "fatalities", reporter=kind)
        assert (line[casualties.T_US].to_numpy() >= public[line[s.EVENT_ID]].to_numpy()).all()
    officials = casualties.highest_so_far(bundled_reports, "fatalities", reporter="officials")
    before_60 = officials[officials[casualties.T_US] < public[IC_60]]
    assert before_60[casualties.VALUE].tolist() == [40]
    assert 93 not in officials[casualties.VALUE].tolist()  # 115 was certainly public before 93 was


def test_bundled_media_line_holds_150_and_the_officials_line_ends_at_144(
    bundled_reports: pd.DataFrame,
) -> None:
    """Per kind: the article's 150 holds the media line from 24 Mar 00:00 UTC; the officials' line ends at
    144; both lines run to the last report (30 Mar)."""
    media = casualties.highest_so_far(bundled_reports, "fatalities", reporter="media")
    officials = casualties.highest_so_far(bundled_reports, "fatalities", reporter="officials")
    assert set(media[casualties.VALUE]) == {150}
    assert media[casualties.T_US].iloc[0] == _us("2024-03-24T00:00Z")
    assert officials[casualties.VALUE].iloc[-1] == 144
    assert officials[casualties.VALUE].max() == 144
    assert media[casualties.T_US].iloc[-1] == officials[casualties.T_US].iloc[-1] == _us("2024-03-30T03:01Z")
    assert casualties.highest_so_far(bundled_reports, "fatalities", reporter="others").empty


def test_highest_so_far_refuses_an_unknown_reporter_kind() -> None:
    """reporter must be one of the kinds; the error names them and the value received."""
    with pytest.raises(ValueError, match=r"'officials', 'media', 'others' or None; got 'press'"):
        casualties.highest_so_far(_reports({s.FATALITIES: 1}), "fatalities", reporter="press")


def test_bundled_disagreements_are_marked_with_each_other(bundled_reports: pd.DataFrame) -> None:
    """140 and 143 (both 27 Mar) disagree, and so do the article's 150 (23 Mar) and the officials' 144s a week
    later; a toll that rises as time passes (40, 60, 115, 133) disagrees with nothing."""
    deaths = _deaths(casualties.with_disagreements(bundled_reports))
    partners = deaths[casualties.DISAGREES_WITH]
    assert MINISTRY_143 in partners[MURASHKO_140] and MURASHKO_140 in partners[MINISTRY_143]
    for official in (MURASHKO_144, MINISTRY_144):
        assert ARTICLE_150 in partners[official] and official in partners[ARTICLE_150]
    rising = [FSB_40, IC_60, "2024-03-23-toll-115", "2024-03-23-toll-133"]
    assert not deaths.loc[rising, casualties.DISAGREES].any()
    assert deaths[casualties.DISAGREES].to_numpy().tolist() == (deaths[casualties.DISAGREEMENTS] > 0).tolist()
    injured = casualties.with_disagreements(bundled_reports)
    assert not injured[injured[casualties.MEASURE] == "injured"][casualties.DISAGREES].any()


@pytest.mark.parametrize(
    ("first", "second", "disagree"),
    [
        # (timestamp, precision, figure) of two fatality reports, UTC
        (("2024-03-22T19:00Z", "minute", 40), ("2024-03-22T21:30Z", "minute", 60), False),  # a rising toll
        (("2024-03-23T00:00Z", "day", 150), ("2024-03-29T00:00Z", "day", 144), True),  # (a) fell a week later
        (("2024-03-22T19:00Z", "hour", 60), ("2024-03-22T20:00Z", "hour", 40), True),  # (a) the next hour
        (
            ("2024-03-22T19:00Z", "hour", 60),
            ("2024-03-22T19:59Z", "minute", 40),
            False,
        ),  # may have come first
        (("2024-03-23T00:00Z", "day", 150), ("2024-03-23T13:00Z", "hour", 133), False),  # inside that day
        (("2024-03-27T00:00Z", "day", 140), ("2024-03-27T00:00Z", "day", 143), True),  # (b) the same day
        (("2024-03-27T00:00Z", "day", 143), ("2024-03-27T12:00Z", "day", 140), True),  # (b) overlapping days
        (("2024-03-27T00:00Z", "day", 143), ("2024-03-27T00:00Z", "day", 143), False),  # the same figure
        (("2024-03-22T19:00Z", "hour", 40), ("2024-03-22T19:00Z", "hour", 60), True),  # (b) the same hour
    ],
)
def test_two_reports_disagree_by_the_rule(first: tuple, second: tuple, disagree: bool) -> None:
    """A lower figure made after a higher one was certainly public, or a different figure for an overlapping
    interval at the same precision, disagrees; any other difference is a toll rising as time passes."""
    reports = casualties.with_disagreements(
        _reports(
            *(
                {s.EVENT_ID: name, s.TIMESTAMP: at, s.TIME_PRECISION: precision, s.FATALITIES: figure}
                for name, (at, precision, figure) in zip(("first", "second"), (first, second), strict=True)
            )
        )
    )
    assert reports[casualties.DISAGREES].tolist() == [disagree, disagree]
    expected = {"first": ("second",), "second": ("first",)} if disagree else {"first": (), "second": ()}
    assert dict(zip(reports[s.EVENT_ID], reports[casualties.DISAGREES_WITH], strict=True)) == expected


def test_reports_of_different_measures_never_disagree() -> None:
    """40 dead and 100 injured stated for the same hour are two measures, not a disagreement."""
    reports = casualties.with_disagreements(
        _reports({s.TIME_PRECISION: "hour", s.FATALITIES: 40, s.INJURED: 100})
    )
    assert not reports[casualties.DISAGREES].any()


def test_a_report_names_its_latest_partners_and_counts_them_all() -> None:
    """An early 150 against five lower later figures: five disagreements, the latest three named, latest
    first; each lower figure names the 150."""
    start = pd.Timestamp("2024-03-23T00:00Z")
    reports = casualties.with_disagreements(
        _reports(
            {s.EVENT_ID: "high", s.TIMESTAMP: start, s.FATALITIES: 150},
            *(
                {s.EVENT_ID: f"low{i}", s.TIMESTAMP: start + pd.Timedelta(hours=i), s.FATALITIES: 140 + i}
                for i in range(1, 6)
            ),
        )
    ).set_index(s.EVENT_ID)
    assert reports.loc["high", casualties.DISAGREEMENTS] == 5
    assert reports.loc["high", casualties.DISAGREES_WITH] == ("low5", "low4", "low3")
    assert set(reports.drop("high")[casualties.DISAGREES_WITH]) == {("high",)}
    texts = casualties.disagreement_texts(reports.reset_index(), "UTC")
    assert texts.iloc[0].startswith("145 by reporter 5, ")
    assert texts.iloc[0].endswith(", and 2 more")
    assert texts.iloc[1].startswith("150 by reporter 0, ")


def test_disagreement_texts_name_value_and_reporter(bundled_reports: pd.DataFrame) -> None:
    """In words: the 143 disagrees with "140 by Mikhail Murashko, <when>"; a report that agrees gets ""."""
    reports = casualties.with_disagreements(bundled_reports)
    texts = pd.Series(
        casualties.disagreement_texts(reports, "Europe/Moscow").to_numpy(),
        index=reports[s.EVENT_ID] + "/" + reports[casualties.MEASURE],
    )
    assert texts[f"{MINISTRY_143}/fatalities"].startswith("140 by Mikhail Murashko, ")
    assert texts[f"{FSB_40}/fatalities"] == ""


def _as_rows_and_columns(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return values.to_numpy()[:, None], values.to_numpy()[None, :]


def test_pairwise_blocks_give_exactly_the_rule() -> None:
    """On 1,200 random reports (several blocks of rows), the counts and named partners equal the rule applied
    to every pair directly."""
    rng = np.random.default_rng(7)
    n = 1200
    start = pd.Timestamp("2024-03-22T00:00Z") + pd.to_timedelta(rng.integers(0, 72, n), unit="h")
    precision = rng.choice(["minute", "hour", "day"], n)
    reports = casualties.with_disagreements(
        _reports(
            *(
                {s.TIMESTAMP: at, s.TIME_PRECISION: p, s.FATALITIES: int(v)}
                for at, p, v in zip(start, precision, rng.integers(0, 6, n), strict=True)
            )
        )
    )
    # Row i, column j: report i against report j.
    value_i, value_j = _as_rows_and_columns(reports[casualties.VALUE])
    start_i, start_j = _as_rows_and_columns(reports[START_US])
    public_i, public_j = _as_rows_and_columns(reports[casualties.PUBLIC_US])
    same_precision = reports[s.TIME_PRECISION].to_numpy()[:, None] == reports[s.TIME_PRECISION].to_numpy()
    rule = (value_i != value_j) & (
        ((value_i > value_j) & (start_j >= public_i))
        | ((value_i < value_j) & (start_i >= public_j))
        | (same_precision & (start_i < public_j) & (start_j < public_i))
    )
    assert reports[casualties.DISAGREEMENTS].tolist() == rule.sum(axis=1).tolist()
    ids = reports[s.EVENT_ID].to_numpy()
    order = np.lexsort((ids, -reports[casualties.PUBLIC_US].to_numpy()))  # latest first, then by event_id
    for row in range(n):
        partners = ids[order[rule[row, order]]][: casualties.NAMED_PARTNERS]
        assert reports[casualties.DISAGREES_WITH].iloc[row] == tuple(partners)


def test_above_max_compared_reports_are_not_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pairwise work is bounded: past MAX_COMPARED reports of a measure, none of them is marked."""
    rows = [{s.FATALITIES: 150}, {s.FATALITIES: 144, s.TIMESTAMP: "2024-03-29T00:00Z"}]
    assert casualties.with_disagreements(_reports(*rows))[casualties.DISAGREES].all()
    monkeypatch.setattr(casualties, "MAX_COMPARED", 1)
    assert not casualties.with_disagreements(_reports(*rows))[casualties.DISAGREES].any()


def _incidents(places: list[str | None], figures: list[int], days: list[str]) -> pd.DataFrame:
    """Toll reports of separate incidents, one a row: its location, fatalities and day (UTC)."""
    return _reports(
        *(
            {
                s.LOCATION: place,
                s.FATALITIES: figure,
                s.TIMESTAMP: day,
                s.TIME_PRECISION: "day",
                s.TITLE: f"incident {i}",
            }
            for i, (place, figure, day) in enumerate(zip(places, figures, days, strict=True))
        )
    )


def test_default_mode_is_reports_for_the_bundled_incident(bundled_reports: pd.DataFrame) -> None:
    """The bundled reports name no place and come from 12 events: one incident's reports."""
    assert casualties.default_mode(bundled_reports) == "reports"
    assert casualties.MODES == ("reports", "totals")


@pytest.mark.parametrize(
    ("rows", "mode"),
    [
        ([{s.LOCATION: "Cotonou"}, {s.LOCATION: "Parakou"}], "totals"),
        ([{s.LOCATION: "Cotonou"}, {s.LOCATION: " cotonou "}, {}], "reports"),  # one place, however spelt
        ([{s.LATITUDE: 6.37, s.LONGITUDE: 2.39}, {s.LATITUDE: 9.34, s.LONGITUDE: 2.63}], "totals"),
        ([{s.LATITUDE: 6.365, s.LONGITUDE: 2.391}, {s.LATITUDE: 6.371, s.LONGITUDE: 2.394}], "reports"),
        ([{}, {}], "reports"),
    ],
)
def test_default_mode_reads_places_from_location_or_coordinates(rows: list[dict], mode: str) -> None:
    """Two or more distinct places (location text, else coordinates to 0.1 degree) are many incidents."""
    assert casualties.default_mode(_reports(*({s.FATALITIES: 1, **row} for row in rows))) == mode


def test_default_mode_is_totals_past_max_one_incident_events() -> None:
    """More than MAX_ONE_INCIDENT events with a figure are many incidents, even with no place named."""
    start = pd.Timestamp("2024-01-01T00:00Z")
    many = [{s.FATALITIES: 1, s.TIMESTAMP: start + pd.Timedelta(hours=i)} for i in range(501)]
    assert casualties.default_mode(_reports(*many[:500])) == "reports"
    assert casualties.default_mode(_reports(*many)) == "totals"


def test_generated_many_location_reports_default_to_totals_summed_per_day() -> None:
    """Incidents in several places: mode "totals", and period_totals sums each day's figures, counts the
    events and names the deadliest (ties: the first event_id)."""
    rng = np.random.default_rng(11)
    days = [f"2024-05-{day:02d}T00:00Z" for day in rng.integers(1, 21, 60)]
    figures = rng.integers(0, 30, 60).tolist()
    places = rng.choice(["Cotonou", "Parakou", "Kandi"], 60).tolist()
    reports = _incidents(places, figures, days)
    assert casualties.default_mode(reports) == "totals"
    totals = casualties.period_totals(reports, "UTC")
    assert set(totals[casualties.PERIOD]) == {"day"}
    expected = (
        pd.DataFrame({"day": pd.to_datetime(days).tz_localize(None), "figure": figures})
        .groupby("day")["figure"]
        .agg(["sum", "size", "max"])
    )
    assert totals[casualties.PERIOD_START].tolist() == expected.index.tolist()
    assert totals[casualties.TOTAL].tolist() == expected["sum"].tolist()
    assert totals[casualties.EVENTS].tolist() == expected["size"].tolist()
    assert totals[casualties.DEADLIEST_VALUE].tolist() == expected["max"].tolist()
    assert (totals[casualties.PERIOD_STOP] - totals[casualties.PERIOD_START] == pd.Timedelta(days=1)).all()
    first = totals.iloc[0]
    assert first[casualties.DEADLIEST] == f"incident {first[casualties.DEADLIEST_ID][1:]} (" + (
        places[int(first[casualties.DEADLIEST_ID][1:])] + ")"
    )


@pytest.mark.parametrize(
    ("days", "period", "starts"),
    [
        (
            ["2024-03-04", "2024-03-10", "2024-03-11", "2024-09-01"],
            "week",
            ["2024-03-04", "2024-03-11", "2024-08-26"],
        ),
        (["2024-01-31", "2024-02-01", "2026-06-15"], "month", ["2024-01-01", "2024-02-01", "2026-06-01"]),
        (["1990-07-01", "2024-02-01"], "year", ["1990-01-01", "2024-01-01"]),
    ],
)
def test_period_totals_choose_the_period_by_span(days: list[str], period: str, starts: list[str]) -> None:
    """Longer spans are summed per week (from Monday), month or year, so the bars stay a readable number."""
    reports = _incidents(["a"] * len(days), [1] * len(days), [f"{day}T00:00Z" for day in days])
    totals = casualties.period_totals(reports, "UTC")
    assert set(totals[casualties.PERIOD]) == {period}
    assert totals[casualties.PERIOD_START].tolist() == [pd.Timestamp(day) for day in starts]
    assert totals[casualties.TOTAL].sum() == len(days)


def test_period_totals_count_days_of_the_display_zone() -> None:
    """A day is a day of the wall clock in tz: an incident at 22:30 UTC falls on the next day in Moscow."""
    reports = _reports({s.FATALITIES: 3, s.TIMESTAMP: "2024-03-22T22:30Z"})
    assert casualties.period_totals(reports, "UTC")[casualties.PERIOD_START].tolist() == [
        pd.Timestamp("2024-03-22")
    ]
    moscow = casualties.period_totals(reports, "Europe/Moscow", period="day")
    assert moscow[casualties.PERIOD_START].tolist() == [pd.Timestamp("2024-03-23")]


def test_period_totals_of_no_reports_and_a_wrong_period() -> None:
    """No report gives no period; a period outside PERIODS is refused with the values allowed."""
    assert casualties.period_totals(_reports({s.EVENT_TYPE: "statement"}), "UTC").empty
    with pytest.raises(ValueError, match=r"'day', 'week', 'month', 'year' or None; got 'decade'"):
        casualties.period_totals(_reports({s.FATALITIES: 1}), "UTC", period="decade")
