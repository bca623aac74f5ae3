"""The ten real-world samples in /work/shared/realdata import with the counts and values of the raw files.

Every expected number here was computed from the raw bytes with Python's csv module (right encoding and
delimiter): records, exact twin rows, title slides, and the precision each row's date states.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from timeline import schema

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
if not REALDATA.is_dir():
    pytest.skip(f"no real-data samples at {REALDATA}", allow_module_level=True)

UNKNOWN = schema.UNKNOWN_ACTOR
SHORT = {"ts": schema.TIMESTAMP, "prec": schema.TIME_PRECISION, "off": schema.UTC_OFFSET_MINUTES}
MISSING_MARKERS = {"", "NA", "N/A", "NULL", "null", "None", "nan", "-"}

WOMEN = "timelinejs_knightlab_women_in_computing.csv"
CLIMATE = "timelinejs_filled_climate_negotiations_fr.csv"
ACLED = "acled_benin_2009_2022.csv"
GTD = "gtd_1970_1971_first1000_cp1252.csv"
GDELT = "gdelt1_events_export_tab_noheader.csv"
MOTHER_JONES = "motherjones_us_mass_shootings_1982_2016.csv"
PLASO = "timesketch_plaso_evtx_export.csv"
MIXED = "timesketch_mixed_timestamp_formats.csv"
CPI = "cpi_iraq_war_timeline.csv"
CENIPA = "cenipa_br_aviation_occurrences_semicolon_bom.csv"


@cache
def _imported(name: str):
    """The file imported with default options (file_name = its name); cached, the big ones take a moment."""
    from timeline.ingest import ImportOptions, read_events  # imported late so the tests collect without it

    return read_events((REALDATA / name).read_bytes(), ImportOptions(file_name=name))


@cache
def _events(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(_imported(name).events.to_pylist())


def _is_missing_marker(text: str) -> bool:
    return text.strip() in MISSING_MARKERS or re.fullmatch(r"\*{2,}", text.strip()) is not None


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _value(field: str, value: Any) -> Any:
    is_time = SHORT.get(field, field) in (schema.TIMESTAMP, schema.END)
    return _utc(value) if is_time and isinstance(value, str) else value


# fmt: off
# file, (rows_read, accepted, rejected, duplicates, preset, delimiter, encoding), precision mix
REAL = [
    # 11 records; the first is the Type=title slide (no date)
    (WOMEN, (11, 10, 1, 0, "timelinejs", ",", "utf-8"), {"day": 3, "month": 1, "year": 6}),
    # 37 records, two of them Type=title; every date is a bare Year
    (CLIMATE, (37, 35, 2, 0, "timelinejs", ",", "utf-8"), {"year": 35}),
    # time_precision 1/2/3 = 744/61/6 rows; 2 (week) and 3 (month) both read as month
    (ACLED, (811, 811, 0, 0, "acled", ",", "utf-8"), {"day": 744, "month": 67}),
    # 12 rows are byte-identical twins of a neighbour (distinct incidents once Excel mangled eventid);
    # the GTD preset keeps them. iday=0: 23 rows -> month; imonth=0 (and iday=0): 1 row -> year
    (GTD, (1000, 1000, 0, 0, "gtd", ",", "cp1252"), {"day": 976, "month": 23, "year": 1}),
    # 509 rows of 58 fields + 201 rows of 57 fields, no header; SQLDATE is a day
    (GDELT, (710, 710, 0, 0, "gdelt1", "\t", "utf-8"), {"day": 710}),
    # M/D/YYYY (second part > 12 in 50 rows, first part never), no time
    (MOTHER_JONES, (81, 81, 0, 0, "generic", ",", "utf-8"), {"day": 81}),
    # 13 records over 316 physical lines; datetime with microseconds
    (PLASO, (13, 13, 0, 0, "timesketch", ",", "utf-8"), {"second": 13}),
    (MIXED, (3, 3, 0, 0, "timesketch", ",", "utf-8"), {"second": 3}),
    # ISO dates; 2002-07-31 twice but with different text, so no twin rows
    (CPI, (67, 67, 0, 0, "generic", ",", "utf-8"), {"day": 67}),
    # DD/MM/YYYY + HH:MM:SS; one hora is NULL (line 2976) -> day
    (CENIPA, (5167, 5167, 0, 0, "generic", ";", "utf-8-sig"), {"second": 5166, "day": 1}),
]
# fmt: on
SUMMARY_FIELDS = ("rows_read", "accepted", "rejected", "duplicates", "preset", "delimiter", "encoding")


@pytest.mark.parametrize(("name", "expected", "mix"), REAL, ids=[case[0] for case in REAL])
def test_summary(name, expected, mix):
    """rows_read = accepted + rejected + duplicates, with the counts and format read from the raw file."""
    result = _imported(name)
    assert result.rows_read == result.accepted + result.rejected + result.duplicates
    assert result.events.schema == schema.ARROW_SCHEMA
    assert result.events.num_rows == result.accepted
    assert result.rejects.num_rows == result.rejected
    actual = tuple(getattr(result, field) for field in SUMMARY_FIELDS)
    assert dict(zip(SUMMARY_FIELDS, actual, strict=True)) == dict(zip(SUMMARY_FIELDS, expected, strict=True))


@pytest.mark.parametrize(("name", "expected", "mix"), REAL, ids=[case[0] for case in REAL])
def test_precision_mix(name, expected, mix):
    """Each row's precision is what its date states, never finer (counted per file from the raw data)."""
    assert dict(Counter(row[schema.TIME_PRECISION] for row in _events(name))) == mix


@pytest.mark.parametrize("name", [case[0] for case in REAL])
def test_invariants(name):
    """Ids unique, required fields filled, coordinates in range, http(s) URLs only, extra a JSON object."""
    rows = _events(name)
    ids = [row[schema.EVENT_ID] for row in rows]
    assert len(set(ids)) == len(ids) and all(ids)
    problems = []
    for row in rows:
        if (
            row[schema.TIME_PRECISION] not in schema.PRECISIONS
            or not row[schema.ACTOR]
            or not row[schema.EVENT_TYPE]
        ):
            problems.append(("required", row[schema.EVENT_ID]))
        lat, lon = row[schema.LATITUDE], row[schema.LONGITUDE]
        if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
            problems.append(("coordinates", row[schema.EVENT_ID], lat, lon))
        url = row[schema.SOURCE_URL]
        if url is not None and not url.startswith(("http://", "https://")):
            problems.append(("source_url", row[schema.EVENT_ID], url))
        if row[schema.EXTRA] is not None:
            extra = json.loads(row[schema.EXTRA])
            if not isinstance(extra, dict) or not extra:
                problems.append(("extra", row[schema.EVENT_ID], row[schema.EXTRA]))
            elif markers := [k for k, v in extra.items() if _is_missing_marker(str(v))]:
                problems.append(("missing marker kept in extra", row[schema.EVENT_ID], markers))
    assert problems[:10] == []


# fmt: off
# file, key field, key value, how many events have it, fields every one of them has
# (ts, prec, off: timestamp, time_precision, utc_offset_minutes)
KNOWN = [
    (WOMEN, "title", "Ada Lovelace", 1, {"ts": "1815-12-10", "prec": "day", "end": "1852-11-28"}),
    (WOMEN, "title", "...And the women who made it work", 1,
     {"ts": "1943-07-01", "prec": "month", "end": "1947-01-01"}),
    (WOMEN, "title", "Rózsa Péter writes recursion", 1, {"ts": "1951-01-01", "prec": "year", "end": None}),
    (WOMEN, "title", "Contributions to space exploration", 1,
     {"ts": "1956-01-01", "prec": "year", "end": "1963-01-01"}),
    (WOMEN, "actor", UNKNOWN, 10, {"event_type": schema.UNKNOWN_EVENT_TYPE}),  # Group is empty throughout
    (CLIMATE, "title", "Premières inquiétudes environnementales", 1,
     {"ts": "1800-01-01", "prec": "year", "actor": "Processus politique"}),
    (CLIMATE, "title", "Conférence de Rio", 1, {"ts": "1992-01-01", "prec": "year"}),
    (CLIMATE, "actor", "Recherche", 5, {"prec": "year"}),  # 7 rows in the Group, 2 of them title slides
    (CLIMATE, "actor", "Expertise", 25, {"prec": "year"}),
    (ACLED, "event_id", "BEN892", 1, {
        "ts": "2022-12-28", "prec": "day", "actor": "Civilians (Benin)", "target": None,
        "event_type": "Strategic developments", "title": "Other", "actor_group": "Benin",
        "location": "Mamassi-Gourma", "latitude": 12.0455, "longitude": 3.1338, "fatalities": 0,
        "source_name": "Undisclosed Source",
    }),
    (ACLED, "event_id", "BEN876", 1, {
        "ts": "2022-12-27", "prec": "day", "actor": "Unidentified Armed Group (Benin)",
        "target": "Civilians (Benin)", "event_type": "Violence against civilians",
    }),
    (ACLED, "event_id", "BEN889", 1, {"ts": "2022-12-01", "prec": "month"}),  # 18 December 2022, precision 2
    (ACLED, "event_id", "BEN761", 1, {"ts": "2022-10-01", "prec": "month"}),  # 15 October 2022, precision 3
    (ACLED, "event_id", "BEN26", 1, {"ts": "2009-07-21", "prec": "day"}),
    (GTD, "actor", "23rd of September Communist League", 1, {
        "ts": "1970-01-01", "prec": "year", "location": "Mexico city",
        "event_type": "Hostage Taking (Kidnapping)",
    }),
    (GTD, "location", "Wauwatosa", 1, {"ts": "1970-07-01", "prec": "month", "actor": "Left-Wing Militants"}),
    (GTD, "location", "Bandar Anzali", 1, {"ts": "1971-04-01", "prec": "month", "fatalities": 3}),
    (GTD, "actor", "MANO-D", 1, {
        "ts": "1970-07-02", "prec": "day", "target": "Julio Guzman", "event_type": "Assassination",
        "location": "Santo Domingo", "fatalities": 1, "injured": 0,
    }),
    (GTD, "target", "Chiang Ching-kuo", 1, {
        "ts": "1970-04-24", "prec": "day",
        "source_name": "“Taiwan: A Shot at Chiang.” Time Magazine, May 4, 1970.",
    }),
    (GTD, "location", "South Sioux City", 7, {"actor": "Strikers", "event_type": "Bombing/Explosion"}),
    (GDELT, "event_id", "564111654", 1, {
        "ts": "2015-07-29", "prec": "day", "actor": "CABINET", "event_type": "Yield",
        "source_url": "http://www.dailyexcelsior.com/1-addl-tax-dropped-gst-bill/",
    }),
    (GDELT, "event_id", "564111644", 1, {
        "ts": "2006-07-31", "actor": "UNITED STATES", "event_type": "Make public statement",
        "location": "National Postal Museum, District of Columbia, United States",
        "latitude": 38.8973, "longitude": -77.0083,
    }),
    (GDELT, "event_id", "230523753", 1, {  # a 57-field row from the 1982 backfile: no SOURCEURL
        "ts": "1982-12-31", "actor": "VIETNAMESE", "target": "VILLAGE", "event_type": "Fight",
        "source_url": None,
    }),
    (MOTHER_JONES, "title", "Orlando nightclub massacre", 1, {
        "ts": "2016-06-12", "prec": "day", "location": "Orlando, Florida", "fatalities": None,
    }),
    (MOTHER_JONES, "title", "San Bernardino mass shooting", 1,
     {"ts": "2015-12-02", "fatalities": 14, "injured": 21}),
    (MOTHER_JONES, "title", "Welding shop shooting", 1, {"ts": "1982-08-20", "fatalities": 8, "injured": 3}),
    (PLASO, "ts", "2012-03-14T04:17:38.276340Z", 10, {
        "prec": "second", "off": 0, "actor": "WKS-WIN764BITB.shieldbase.local",
    }),
    (PLASO, "ts", "2012-03-14T04:17:43.354563Z", 1, {"event_type": "Content Modification Time"}),
    (PLASO, "ts", "2012-03-14T04:17:43.354562Z", 2, {"event_type": "Creation Time"}),
    # the +0000 (no colon) row
    (MIXED, "ts", "2022-07-24T19:01:01Z", 1, {"prec": "second", "off": 0, "event_type": "Time Logged"}),
    (MIXED, "ts", "2012-03-14T04:17:38Z", 1, {"prec": "second", "off": 0}),
    (MIXED, "ts", "2015-07-25T02:01:01Z", 1, {
        "prec": "second", "off": 0, "event_type": "Logging", "description": "Make sure message is same",
    }),
    (CPI, "ts", "2001-09-11", 1, {
        "prec": "day", "source_name": "Spreadsheet", "source_url": None, "actor": UNKNOWN,
        "event_type": schema.UNKNOWN_EVENT_TYPE,
    }),
    (CPI, "ts", "2002-09-16", 1, {
        "source_name": None,
        "source_url": "http://www.telegraph.co.uk/news/politics/tony-blair/8509787/Iraq-War-timeline.html",
    }),
    (CPI, "ts", "2002-10-21", 1, {"source_name": None, "source_url": None}),
    (CPI, "ts", "2002-07-31", 2, {"prec": "day"}),
    (CENIPA, "ts", "2012-01-05T20:27:00Z", 1, {"prec": "second", "off": 0}),
    (CENIPA, "ts", "2012-01-06T13:44:00Z", 1, {"prec": "second"}),
    (CENIPA, "ts", "2017-07-09T00:00Z", 1, {"prec": "day"}),  # ocorrencia_hora NULL
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "key", "value", "count", "expected"), KNOWN, ids=[f"{c[0][:20]}-{c[2]}" for c in KNOWN]
)
def test_known_values(name, key, value, count, expected):
    """Events looked up in the raw file carry the values read there (dates, precision, mapped fields)."""
    key_field, wanted_key = SHORT.get(key, key), _value(key, value)
    rows = [row for row in _events(name) if row[key_field] == wanted_key]
    assert len(rows) == count
    wanted = {field: _value(field, v) for field, v in expected.items()}
    for row in rows:
        assert {field: row[SHORT.get(field, field)] for field in expected} == wanted


@pytest.mark.parametrize(
    ("name", "key", "value", "column", "expected"),
    [
        (ACLED, "event_id", "BEN892", "timestamp", "1675102875"),  # ACLED's upload time, not the event time
        (GDELT, "event_id", "564111654", "EventCode", "0834"),
        (GDELT, "event_id", "564111644", "EventCode", "010"),
        (PLASO, "ts", "2012-03-14T04:17:43.354563Z", "timestamp", "1331698663354563"),
        (MIXED, "ts", "2022-07-24T19:01:01Z", "timestamp", "1658689261000000"),
        (WOMEN, "title", "Ada Lovelace", "Media Credit", "Wikimedia Commons"),
        (CLIMATE, "title", "Premières inquiétudes environnementales", "Show", "False"),
    ],
)
def test_extra_values(name, key, value, column, expected):
    """Columns with no canonical home are kept as raw text in extra under their original names."""
    rows = [row for row in _events(name) if row[SHORT.get(key, key)] == _value(key, value)]
    assert len(rows) == 1
    extra = json.loads(rows[0][schema.EXTRA])
    assert str(extra[column]) == expected
    if column == "EventCode":
        assert extra[column] == expected  # text, leading zero kept


@pytest.mark.parametrize(("name", "lines"), [(WOMEN, [2]), (CLIMATE, [2, 4])])
def test_title_slides_rejected(name, lines):
    """TimelineJS Type=title rows are rejected, at their physical line, with a reason saying 'title'."""
    rejects = _imported(name).rejects.to_pylist()
    assert sorted(r["line"] for r in rejects) == lines
    assert all("title" in r["reason"].lower() for r in rejects)


@pytest.mark.parametrize(
    ("name", "words", "present"),
    [
        (GTD, ("eventid",), True),
        (MOTHER_JONES, ("ambiguous",), False),
        (CENIPA, ("ambiguous",), False),
        (ACLED, ("ambiguous",), False),
    ],
)
def test_notices(name, words, present):
    """GTD's unusable eventid is reported; day/month order decided from the data raises no notice."""
    notices = _imported(name).notices
    assert any(all(w in n.lower() for w in words) for n in notices) is present, notices


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (CENIPA, {"date": "ocorrencia_dia", "time": "ocorrencia_hora"}),
        (ACLED, {"event_id": "event_id_cnty", "actor": "actor1", "target": "actor2", "description": "notes"}),
        (MOTHER_JONES, {"title": "Case", "description": "Summary"}),
        (GDELT, {"event_id": "GLOBALEVENTID", "actor": "Actor1Name", "source_url": "SOURCEURL"}),
    ],
)
def test_mapping(name, expected):
    """The mapping reports the input columns used (CENIPA's date found from its values, not its name)."""
    mapping = _imported(name).mapping
    assert {field: mapping.get(field) for field in expected} == expected


def test_reimport_gives_same_ids():
    """Re-importing GTD (hashed ids, twin rows) gives the same ids."""
    from timeline.ingest import ImportOptions, read_events

    again = read_events((REALDATA / GTD).read_bytes(), ImportOptions(file_name=GTD)).events
    assert sorted(again.column(schema.EVENT_ID).to_pylist()) == sorted(
        row[schema.EVENT_ID] for row in _events(GTD)
    )
