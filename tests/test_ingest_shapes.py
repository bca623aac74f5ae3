"""The importer reads each real-world CSV shape in tests/data as its contract says (input, expected)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from timeline import figures, frame, schema
from timeline.errors import BadInputError

DATA = Path(__file__).parent / "data"
ABSENT = object()  # an extra key that must not be there (a missing-value marker, or an empty cell)
UNKNOWN = schema.UNKNOWN_ACTOR
OTHER = schema.UNKNOWN_EVENT_TYPE
TIME_FIELDS = (schema.TIMESTAMP, schema.END)


def _read(name: str, **options: Any):
    """Import tests/data/<name> with ImportOptions(file_name=name, **options)."""
    from timeline.ingest import ImportOptions, read_events  # imported late so the tests collect without it

    return read_events((DATA / name).read_bytes(), ImportOptions(file_name=name, **options))


def _utc(text: str | None) -> datetime | None:
    """'2024-03-22T17:02Z' or '2024-03-22' (midnight UTC) as an aware datetime."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


SHORT = {"ts": schema.TIMESTAMP, "prec": schema.TIME_PRECISION, "off": schema.UTC_OFFSET_MINUTES}


def _key(field: str, value: Any) -> Any:
    return _utc(value) if SHORT.get(field, field) in TIME_FIELDS else value


def _rows_where(result, field: str, value: Any) -> list[dict[str, Any]]:
    wanted = _key(field, value)
    return [row for row in result.events.to_pylist() if row[field] == wanted]


def _one(result, field: str, value: Any) -> dict[str, Any]:
    rows = _rows_where(result, field, value)
    assert len(rows) == 1, f"expected exactly one event with {field}={value!r}, found {len(rows)}"
    return rows[0]


def _extra(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row[schema.EXTRA]) if row[schema.EXTRA] is not None else {}


def _ids(table: list[tuple]) -> list[str]:
    """Test ids: the file name, plus the options when there are any."""
    return [f"{case[0]}{case[1] or ''}" for case in table]


SUMMARY_FIELDS = ("rows_read", "accepted", "rejected", "duplicates", "preset", "delimiter", "encoding")
# fmt: off
# file, options, (rows_read, accepted, rejected, duplicates, preset, delimiter, encoding)
SUMMARIES = [
    ("plain_date_who_what.csv", {}, (7, 6, 1, 0, "generic", ",", "utf-8")),
    ("timelinejs_template.csv", {}, (9, 6, 3, 0, "timelinejs", ",", "utf-8")),
    ("timelinejs_alt_text_extra_columns.csv", {}, (4, 3, 1, 0, "timelinejs", ",", "utf-8")),
    ("acled_like.csv", {}, (6, 6, 0, 0, "acled", ",", "utf-8")),
    ("gtd_like_cp1252.csv", {}, (7, 7, 0, 0, "gtd", ",", "cp1252")),  # GTD rows are distinct incidents
    ("gdelt1_noheader.tsv", {}, (6, 6, 0, 0, "gdelt1", "\t", "utf-8")),
    ("timesketch_like.csv", {}, (4, 4, 0, 0, "timesketch", ",", "utf-8")),
    ("semicolon_bom_crlf_dayfirst.csv", {}, (6, 6, 0, 0, "generic", ";", "utf-8-sig")),
    ("semicolon_bom_crlf_dayfirst.csv", {"date_order": "monthfirst"},
     (6, 3, 3, 0, "generic", ";", "utf-8-sig")),
    ("utf16_bom_tab.tsv", {}, (3, 3, 0, 0, "generic", "\t", "utf-16")),
    ("utf16be_bom_comma.csv", {}, (2, 2, 0, 0, "generic", ",", "utf-16")),
    ("pipe_delimited.csv", {}, (4, 4, 0, 0, "generic", "|", "utf-8")),
    ("month_first_us.csv", {}, (5, 5, 0, 0, "generic", ",", "utf-8")),
    ("month_first_us.csv", {"date_order": "dayfirst"}, (5, 3, 2, 0, "generic", ",", "utf-8")),
    ("ambiguous_day_month.csv", {}, (4, 4, 0, 0, "generic", ",", "utf-8")),
    ("iso_mixed_offsets.csv", {}, (11, 11, 0, 0, "generic", ",", "utf-8")),
    ("epoch_seconds.csv", {}, (3, 3, 0, 0, "generic", ",", "utf-8")),
    ("yyyymmdd.csv", {}, (3, 3, 0, 0, "generic", ",", "utf-8")),
    ("year_month_day_columns.csv", {}, (5, 4, 1, 0, "generic", ",", "utf-8")),
    ("ragged_rows.csv", {}, (5, 4, 1, 0, "generic", ",", "utf-8")),
    ("duplicates_and_ids.csv", {}, (6, 4, 0, 2, "generic", ",", "utf-8")),
    ("source_mixed_urls.csv", {}, (6, 6, 0, 0, "generic", ",", "utf-8")),
    ("crlf_mixed_newlines_in_quotes.csv", {}, (5, 4, 1, 0, "generic", ",", "utf-8")),
]
# fmt: on


@pytest.mark.parametrize(("name", "options", "expected"), SUMMARIES, ids=_ids(SUMMARIES))
def test_summary(name, options, expected):
    """rows_read = accepted + rejected + duplicates, tables match the counts, the format is detected."""
    result = _read(name, **options)
    assert result.rows_read == result.accepted + result.rejected + result.duplicates
    assert result.events.schema == schema.ARROW_SCHEMA
    assert result.events.num_rows == result.accepted
    assert result.rejects.num_rows == result.rejected
    ids = result.events.column(schema.EVENT_ID).to_pylist()
    assert len(set(ids)) == len(ids) and all(ids)
    actual = tuple(getattr(result, field) for field in SUMMARY_FIELDS)
    assert dict(zip(SUMMARY_FIELDS, actual, strict=True)) == dict(zip(SUMMARY_FIELDS, expected, strict=True))


# fmt: off
# file, options, key field, {key value: {field: expected value}}
# (ts, prec, off: timestamp, time_precision, utc_offset_minutes)
VALUES = [
    ("plain_date_who_what.csv", {}, "actor", {
        "Gunmen": {"ts": "2024-03-22T00:00Z", "prec": "day", "event_type": OTHER},
        UNKNOWN: {"ts": "2024-03-23T00:00Z", "prec": "day"},
        "Investigative Committee": {"ts": "2024-03-25T00:00Z", "prec": "day"},
    }),
    ("timelinejs_template.csv", {}, "title", {
        "Attack begins": {
            "ts": "2024-03-22T20:00Z", "prec": "minute", "off": 0, "end": None,
            "actor": "Attackers", "event_type": OTHER,
            "description": '<p>Gunmen open fire at <a href="https://example.org/crocus">Crocus</a></p>',
        },
        "Month-only event": {
            "ts": "2024-03-01T00:00Z", "prec": "month", "actor": "Officials",
            "description": "Known to the month",
        },
        "Year-only event": {"ts": "2024-01-01T00:00Z", "prec": "year", "actor": UNKNOWN},
        "A span": {
            "ts": "1943-07-01T00:00Z", "prec": "month", "end": "1947-01-01T00:00Z",
            "actor": "Programmers", "description": "First line\nsecond line",
        },
        "With seconds and an end day": {
            "ts": "2024-03-22T20:05:30Z", "prec": "second", "end": "2024-03-24T00:00Z",
        },
        "An era": {
            "ts": "1990-01-01T00:00Z", "prec": "year", "end": "2001-01-01T00:00Z",
            "event_type": "era", "actor": UNKNOWN,
        },
    }),
    ("timelinejs_alt_text_extra_columns.csv", {}, "title", {
        "Courbe de Keeling": {
            "ts": "1958-01-01T00:00Z", "prec": "year", "end": None, "actor": "Recherche",
            "description": "Mesures à Mauna Loa",
        },
        "Conférence de Stockholm": {
            "ts": "1972-06-05T00:00Z", "prec": "day", "end": "1972-06-17T00:00Z",
            "actor": "Processus politique", "description": "« Une seule Terre »",
        },
        "Création du GIEC": {"ts": "1988-11-01T00:00Z", "prec": "month", "actor": "Expertise"},
    }),
    ("acled_like.csv", {}, "event_id", {
        "TST1": {
            "ts": "2022-12-28T00:00Z", "prec": "day", "actor": "Civilians (Benin)", "target": None,
            "event_type": "Strategic developments", "title": "Other", "actor_group": "Benin",
            "location": "Mamassi-Gourma", "latitude": 12.0455, "longitude": 3.1338, "fatalities": 0,
            "source_name": "Undisclosed Source", "source_url": None,
            "description": "Displacement: On 28 December 2022, inhabitants left their village.",
        },
        "TST2": {
            "ts": "2022-12-01T00:00Z", "prec": "month", "target": "Civilians (Benin)",
            "source_name": "24h au Benin; Banouto", "fatalities": 2,
        },
        "TST3": {"ts": "2022-10-01T00:00Z", "prec": "month", "fatalities": 1},
        "TST5": {"ts": "2019-06-03T00:00Z", "prec": "day", "fatalities": None},
        "TST6": {"ts": "2009-07-21T00:00Z", "prec": "day", "fatalities": 3, "target": None},
    }),
    ("gtd_like_cp1252.csv", {}, "location", {
        "Mexico city": {
            "ts": "1970-01-01T00:00Z", "prec": "year",
            "actor": "23rd of September Communist League", "event_type": "Hostage Taking (Kidnapping)",
            "target": "Consul", "fatalities": 0, "injured": 0, "latitude": 19.371887, "longitude": -99.086624,
        },
        "Athens": {"ts": "1970-01-01T00:00Z", "prec": "month", "fatalities": None, "injured": None},
        "Café Hill": {
            "ts": "1970-01-02T00:00Z", "prec": "day", "fatalities": None, "injured": 1,
            "description": "1/2/1970: Unknown perpetrators left a “communiqué” at the Café.",
            "source_name": "“Bomb Blast”, The Oakland Tribune, 1970.",
        },
        "Tarlac": {
            "ts": "1971-03-15T00:00Z", "prec": "day", "actor": "New People's Army (NPA)",
            "fatalities": 2, "injured": None,
        },
        "Phnom Penh": {"ts": "1971-09-01T00:00Z", "prec": "month", "fatalities": 2, "injured": 10},
    }),
    ("gdelt1_noheader.tsv", {}, "event_id", {
        "564111644": {
            "ts": "2006-07-31T00:00Z", "prec": "day", "actor": "UNITED STATES",
            "event_type": "Make public statement",
            "location": "National Postal Museum, District of Columbia, United States",
            "latitude": 38.8973, "longitude": -77.0083,
            "source_url": "http://wtop.com/lifestyle/2016/07/"
            "deepest-darkest-secrets-now-display-national-postal-museum/",
        },
        "564111654": {
            "ts": "2015-07-29T00:00Z", "actor": "CABINET", "event_type": "Yield", "latitude": None,
            "source_url": "http://www.dailyexcelsior.com/1-addl-tax-dropped-gst-bill/",
        },
        "230523753": {
            "ts": "1982-12-31T00:00Z", "prec": "day", "actor": "VIETNAMESE", "target": "VILLAGE",
            "event_type": "Fight", "source_url": None, "latitude": 16.0, "longitude": 106.0,
        },
        "564111700": {"actor": "POLICE", "event_type": "Consult"},
        "564111701": {"actor": "USA", "event_type": "Appeal"},
        "230523800": {"ts": "1982-01-02T00:00Z", "actor": UNKNOWN, "event_type": "Fight"},
    }),
    ("timesketch_like.csv", {}, "timestamp", {
        "2012-03-14T04:17:38.276340Z": {
            "prec": "second", "off": 0, "event_type": "Content Modification Time",
            "actor": "WKS-WIN764BITB",
            "description": "[7036] Service Control Manager: service entered the running state",
        },
        "2022-07-24T19:01:01Z": {
            "prec": "second", "off": 0, "actor": UNKNOWN, "event_type": "Time Logged",
        },
        "2015-07-25T02:01:01Z": {"prec": "second", "actor": "WKS-2", "event_type": "Logging"},
        "2020-01-01T10:00:00Z": {
            "prec": "second", "off": 120, "description": "Two-line\nmessage",
        },
    }),
    ("semicolon_bom_crlf_dayfirst.csv", {}, "timestamp", {
        "2012-01-05T20:27:00Z": {
            "prec": "second", "off": 0, "latitude": None, "longitude": None,
        },
        "2012-01-16T13:44:00Z": {"prec": "second", "latitude": -23.4355, "longitude": -46.473},
        "2012-02-06T13:00:00Z": {"prec": "second", "latitude": None, "longitude": None},
        "2013-12-25T00:00Z": {"prec": "day", "latitude": -22.5, "longitude": -47.1},
        "2014-03-31T08:15:30Z": {"prec": "second", "latitude": None, "longitude": None},
        "2014-04-01T23:59:59Z": {"prec": "second", "latitude": -18.8836, "longitude": -48.2772},
    }),
    ("semicolon_bom_crlf_dayfirst.csv", {"tz": "America/Sao_Paulo"}, "timestamp", {
        "2012-01-05T22:27:00Z": {"prec": "second", "off": -120},
        "2014-03-31T11:15:30Z": {"prec": "second", "off": -180},
    }),
    ("utf16_bom_tab.tsv", {}, "title", {
        "Штурм начат": {
            "ts": "2024-03-22T17:02:00Z", "prec": "second", "off": 180,
            "actor": "ОМОН", "location": "Красногорск",
        },
        "Обращение к нации": {"ts": "2024-03-23T00:00Z", "prec": "day", "location": "Москва"},
        "Разбор завалов": {"ts": "2024-03-24T00:00Z", "actor": "МЧС", "location": None},
    }),
    ("utf16be_bom_comma.csv", {}, "title", {
        "Соболезнования": {"ts": "2024-03-22T00:00Z", "prec": "day", "actor": "Мэр Москвы"},
        "Hilfe vor Ort": {"ts": "2024-03-23T00:00Z", "actor": "Ärzte ohne Grenzen"},
    }),
    ("pipe_delimited.csv", {}, "title", {
        "Shooting starts": {
            "ts": "2024-03-22T20:00Z", "prec": "minute", "off": 0,
            "event_type": "attack", "fatalities": None, "injured": None,
        },
        "Toll rises, officials say": {"event_type": "casualty_update", "fatalities": 133, "injured": None},
        "Toll update": {"fatalities": 137, "injured": 182},
        "Probe opened": {"event_type": "investigation", "fatalities": None, "injured": None},
    }),
    ("month_first_us.csv", {}, "title", {
        "Orlando nightclub massacre": {
            "ts": "2016-06-12T00:00Z", "prec": "day", "location": "Orlando, Florida",
            "description": "(pending)", "fatalities": None, "injured": None, "actor": UNKNOWN,
        },
        "San Bernardino mass shooting": {"ts": "2015-12-02T00:00Z", "fatalities": 14, "injured": 21},
        "Excel Industries mass shooting": {"ts": "2016-02-25T00:00Z", "fatalities": 3, "injured": 14},
    }),
    ("month_first_us.csv", {"date_order": "dayfirst"}, "title", {
        "Orlando nightclub massacre": {"ts": "2016-12-06T00:00Z", "prec": "day"},
        "San Bernardino mass shooting": {"ts": "2015-02-12T00:00Z"},
        "Umpqua Community College shooting": {"ts": "2015-01-10T00:00Z"},
    }),
    ("ambiguous_day_month.csv", {}, "title", {
        "First": {"ts": "2024-01-02T00:00Z", "prec": "day"},
        "Fourth": {"ts": "2024-12-11T00:00Z", "prec": "day"},
    }),
    ("ambiguous_day_month.csv", {"date_order": "dayfirst"}, "title", {
        "First": {"ts": "2024-02-01T00:00Z"},
        "Fourth": {"ts": "2024-11-12T00:00Z"},
    }),
    ("iso_mixed_offsets.csv", {}, "title", {
        "zulu minute": {"ts": "2024-03-22T17:02Z", "prec": "minute", "off": 0},
        "colon offset": {"ts": "2024-03-22T17:02Z", "prec": "second", "off": 180},
        "compact offset": {"ts": "2024-03-22T17:02Z", "prec": "second", "off": 180},
        "naive seconds": {"ts": "2024-03-22T20:02Z", "prec": "second", "off": 0},
        "date only": {"ts": "2024-03-22T00:00Z", "prec": "day"},
        "year-month": {"ts": "2024-03-01T00:00Z", "prec": "month"},
        "year only": {"ts": "2024-01-01T00:00Z", "prec": "year"},
        "hour only": {"ts": "2024-03-22T20:00Z", "prec": "hour", "off": 0},
        "fraction": {"ts": "2024-03-22T17:02:03.250Z", "prec": "second", "off": 180},
        "negative half-hour offset": {
            "ts": "2024-03-22T17:30Z", "prec": "second", "off": -330,
        },
        "space separator": {"ts": "2024-03-22T17:02Z", "prec": "second", "off": 180},
    }),
    ("iso_mixed_offsets.csv", {"tz": "Europe/Moscow"}, "title", {
        "naive seconds": {"ts": "2024-03-22T17:02Z", "prec": "second", "off": 180},
        "zulu minute": {"ts": "2024-03-22T17:02Z", "off": 0},
        "negative half-hour offset": {"ts": "2024-03-22T17:30Z", "off": -330},
    }),
    ("epoch_seconds.csv", {}, "actor", {
        "Gunmen": {"ts": "2024-03-22T17:02Z", "prec": "second", "off": None},
        "Officials": {"ts": "2024-03-22T20:00Z", "prec": "second", "title": "Statement"},
        "Ministry": {"ts": "2024-03-23T00:00Z", "prec": "second"},
    }),
    ("epoch_seconds.csv", {"tz": "Europe/Moscow"}, "actor", {
        "Gunmen": {"ts": "2024-03-22T17:02Z", "off": None},
    }),
    ("yyyymmdd.csv", {}, "title", {
        "One": {"ts": "2024-03-22T00:00Z", "prec": "day"},
        "Two": {"ts": "2023-12-31T00:00Z", "prec": "day"},
        "Three": {"ts": "1982-01-02T00:00Z", "prec": "day"},
    }),
    ("year_month_day_columns.csv", {}, "title", {
        "Full": {"ts": "2024-03-22T20:02Z", "prec": "minute", "actor": "A"},
        "Day": {"ts": "2024-03-22T00:00Z", "prec": "day"},
        "Month": {"ts": "2024-03-01T00:00Z", "prec": "month"},
        "Year": {"ts": "2024-01-01T00:00Z", "prec": "year"},
    }),
    ("ragged_rows.csv", {}, "actor", {
        "A": {"title": "Full row", "location": "Moscow"},
        "B": {"ts": "2024-03-23T00:00Z", "title": "Short row", "location": None},
        "C": {"ts": "2024-03-24T00:00Z", "title": None, "location": None},
        "E": {"ts": "2024-03-26T00:00Z", "title": "After the long row", "location": "Kazan"},
    }),
    ("duplicates_and_ids.csv", {}, "event_id", {
        "ev-1": {"title": "One", "actor": "A"},
        "ev-2": {"title": "Two", "actor": "B"},
        "ev-3": {"title": "Three", "ts": "2024-03-23T00:00Z"},
        "ev-4": {"title": "Four", "ts": "2024-03-24T00:00Z"},
    }),
    ("source_mixed_urls.csv", {}, "title", {
        "url row": {"source_url": "https://example.org/a", "source_name": None},
        "name row": {"source_url": None, "source_name": "TASS"},
        "js row": {"source_url": None},
        "two urls": {"source_url": "https://example.org/first"},
        "http row": {"source_url": "http://example.org/plain", "source_name": None},
        "empty source": {"source_url": None, "source_name": None},
    }),
    ("crlf_mixed_newlines_in_quotes.csv", {}, "title", {
        "One": {"ts": "2024-03-22T00:00Z", "description": "line one\nline two"},
        "Two": {"ts": "2024-03-23T00:00Z", "description": "plain"},
        "Five": {"ts": "2024-03-25T00:00Z", "description": "a\n\nb"},
    }),
]
# fmt: on


@pytest.mark.parametrize(("name", "options", "key", "expected"), VALUES, ids=_ids(VALUES))
def test_event_values(name, options, key, expected):
    """Given events carry the hand-computed timestamp, precision, offset, end and mapped fields."""
    result = _read(name, **options)
    actual, wanted = {}, {}
    for value, fields in expected.items():
        row = _one(result, SHORT.get(key, key), value)
        actual[value] = {field: row[SHORT.get(field, field)] for field in fields}
        wanted[value] = {field: _key(field, v) for field, v in fields.items()}
    assert actual == wanted


# fmt: off
# file, key field, key value, extra column, expected raw value (ABSENT: must not be a key)
EXTRAS = [
    ("acled_like.csv", "event_id", "TST1", "timestamp", "1675102875"),
    ("acled_like.csv", "event_id", "TST1", "assoc_actor_1", "Refugees/IDPs (Benin)"),
    ("acled_like.csv", "event_id", "TST1", "admin2", "Karimama"),
    ("acled_like.csv", "event_id", "TST1", "admin3", ABSENT),
    ("acled_like.csv", "event_id", "TST4", "tags", "crowd size=no report"),
    ("gdelt1_noheader.tsv", "event_id", "564111644", "EventCode", "010"),
    ("gdelt1_noheader.tsv", "event_id", "564111654", "EventCode", "0834"),
    ("gdelt1_noheader.tsv", "event_id", "564111654", "EventBaseCode", "083"),
    ("gdelt1_noheader.tsv", "event_id", "564111644", "NumArticles", "2"),
    ("gtd_like_cp1252.csv", "location", "Tarlac", "approxdate", "March 15-16, 1971"),
    ("gtd_like_cp1252.csv", "location", "Tarlac", "country_txt", "Philippines"),
    ("timelinejs_template.csv", "title", "Attack begins", "Media", "https://example.org/photo.jpg"),
    ("timelinejs_template.csv", "title", "Attack begins", "Media Credit", "Photo agency"),
    ("timelinejs_template.csv", "title", "Attack begins", "Display Date", ABSENT),
    ("timelinejs_template.csv", "title", "A span", "Background", "#ffffff"),
    ("timelinejs_alt_text_extra_columns.csv", "title", "Courbe de Keeling", "Alt Text", "Une courbe"),
    ("timelinejs_alt_text_extra_columns.csv", "title", "Courbe de Keeling", "Source",
     "Gouverner le climat, https://fr.wikipedia.org/wiki/Courbe_de_Keeling"),
    ("timelinejs_alt_text_extra_columns.csv", "title", "Courbe de Keeling", "Show", "True"),
    ("timesketch_like.csv", "actor", "WKS-WIN764BITB", "timestamp", "1331698658276340"),
    ("timesketch_like.csv", "actor", "WKS-WIN764BITB", "data_type", "windows:evtx:record"),
    ("semicolon_bom_crlf_dayfirst.csv", "timestamp", "2012-02-06T13:00Z", "relatorio", ABSENT),
    ("semicolon_bom_crlf_dayfirst.csv", "timestamp", "2012-01-05T20:27Z", "relatorio", ABSENT),
    ("semicolon_bom_crlf_dayfirst.csv", "timestamp", "2012-01-16T13:44Z", "relatorio", "2016-09-01"),
    ("source_mixed_urls.csv", "title", "two urls", "source",
     "https://example.org/first; https://example.org/second"),
]
# fmt: on


@pytest.mark.parametrize(("name", "field", "value", "column", "expected"), EXTRAS)
def test_extra_keeps_unmapped_columns(name, field, value, column, expected):
    """extra: JSON object of unmapped columns under their original names, raw text, markers left out."""
    extra = _extra(_one(_read(name), field, value))
    if expected is ABSENT:
        assert column not in extra
    else:
        assert str(extra[column]) == expected
        if column in ("EventCode", "EventBaseCode"):
            assert extra[column] == expected  # a CAMEO code is text: "010" must not become 10


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("iso_mixed_offsets.csv", "title", "zulu minute"),
        ("ragged_rows.csv", "title", "Full row"),
        ("utf16_bom_tab.tsv", "title", "Штурм начат"),
    ],
)
def test_extra_is_null_when_every_column_is_mapped(name, field, value):
    """A row whose columns all map to canonical fields has extra = null, not '{}'."""
    assert _one(_read(name), field, value)[schema.EXTRA] is None


@pytest.mark.parametrize(
    ("name", "field", "value", "column", "text"),
    [
        ("plain_date_who_what.csv", "actor", "Islamic State", "what", "Claim of responsibility via Amaq"),
        ("semicolon_bom_crlf_dayfirst.csv", "timestamp", "2012-02-06T13:00Z", "cidade", "VIAMÃO"),
        ("semicolon_bom_crlf_dayfirst.csv", "timestamp", "2012-02-06T13:00Z", "classificacao", "ACIDENTE"),
        ("source_mixed_urls.csv", "title", "js row", "source", "javascript:alert(1)"),
    ],
)
def test_nothing_is_lost(name, field, value, column, text):
    """A value no rule places (`what`, `cidade`, a javascript: 'URL') is in a text field or extra."""
    row = _one(_read(name), field, value)
    assert text in [v for v in row.values() if isinstance(v, str)] or _extra(row).get(column) == text


# fmt: off
# file, options, physical line, words the reason must contain ("a|b": either), text of the raw record
REJECTS = [
    ("plain_date_who_what.csv", {}, 7, ("date", "not a date"), "Undated statement"),
    ("timelinejs_template.csv", {}, 2, ("title",), "Crocus City Hall"),
    ("timelinejs_template.csv", {}, 10, ("year",), "No date at all"),
    ("timelinejs_template.csv", {}, 11, ("month", "13"), "Bad month"),
    ("timelinejs_alt_text_extra_columns.csv", {}, 2, ("title",), "Histoire du climat"),
    ("year_month_day_columns.csv", {}, 6, ("year",), "No year"),
    ("ragged_rows.csv", {}, 5, ("field|column",), "surplus2"),
    ("crlf_mixed_newlines_in_quotes.csv", {}, 7, ("date", "not-a-date"), "Four"),
    ("month_first_us.csv", {"date_order": "dayfirst"}, 3, ("date", "2/25/2016"), "Excel Industries"),
    ("month_first_us.csv", {"date_order": "dayfirst"}, 6, ("date", "10/31/2015"), "Colorado Springs"),
    ("semicolon_bom_crlf_dayfirst.csv", {"date_order": "monthfirst"}, 5,
     ("ocorrencia_dia", "25/12/2013"), "45401"),
]
# fmt: on


@pytest.mark.parametrize(("name", "options", "line", "words", "record"), REJECTS)
def test_rejects_say_where_and_why(name, options, line, words, record):
    """A reject has its physical start line (header = 1, embedded newlines counted), reason, raw text."""
    rejects = _read(name, **options).rejects
    assert rejects.schema.field("line").type == pa.int64()
    rows = [r for r in rejects.to_pylist() if r["line"] == line]
    assert len(rows) == 1, f"no single reject at line {line}: {rejects.to_pylist()}"
    reason = rows[0]["reason"].lower()
    for word in words:
        assert any(alt.lower() in reason for alt in word.split("|")), f"{word!r} not in {reason!r}"
    assert record in rows[0]["record"]


@pytest.mark.parametrize(
    ("name", "options", "words", "present"),
    [
        ("ambiguous_day_month.csv", {}, ("ambiguous", "date"), True),
        ("month_first_us.csv", {}, ("ambiguous",), False),
        ("semicolon_bom_crlf_dayfirst.csv", {}, ("ambiguous",), False),
        ("gtd_like_cp1252.csv", {}, ("eventid",), True),
    ],
)
def test_notices(name, options, words, present):
    """Ambiguous day/month columns and non-unique id columns are reported; decided ones are not."""
    notices = _read(name, **options).notices
    hits = [n for n in notices if all(w in n.lower() for w in words)]
    assert bool(hits) is present, notices


def test_non_unique_id_column_gives_hashed_ids():
    """GTD's Excel-mangled eventid (1.97E+11) is not used: every event, even a twin row, gets its own id."""
    result = _read("gtd_like_cp1252.csv")
    ids = result.events.column(schema.EVENT_ID).to_pylist()
    assert len(set(ids)) == len(ids) == 7
    assert not any(i.startswith("1.97") for i in ids)
    # lines 5 and 6 are byte-identical once Excel mangled their ids; GTD rows are distinct incidents
    assert len(_rows_where(result, "location", "Berkeley")) == 2


@pytest.mark.parametrize(
    "name", ["plain_date_who_what.csv", "gtd_like_cp1252.csv", "crlf_mixed_newlines_in_quotes.csv"]
)
def test_reimport_gives_same_ids(name):
    """Importing the same bytes twice gives the same event_ids for the same events."""
    first, second = _read(name).events, _read(name).events
    assert first.column(schema.EVENT_ID).to_pylist() == second.column(schema.EVENT_ID).to_pylist()


def test_hashed_ids_do_not_depend_on_row_position():
    """Hashed ids come from the row's content: the same rows in another order keep their ids."""
    from timeline.ingest import ImportOptions, read_events

    header, *rows = (DATA / "plain_date_who_what.csv").read_bytes().splitlines(keepends=True)
    reordered = header + b"".join(reversed(rows))
    forward = _read("plain_date_who_what.csv").events
    backward = read_events(reordered, ImportOptions(file_name="plain_date_who_what.csv")).events

    def ids_by_actor(table: pa.Table) -> dict[str, str]:
        actors, ids = table.column(schema.ACTOR).to_pylist(), table.column(schema.EVENT_ID).to_pylist()
        return dict(zip(actors, ids, strict=True))

    assert ids_by_actor(forward) == ids_by_actor(backward)


# Ids as every earlier version of the importer made them (SipHash of the row's text, as pandas hashes it):
# datasets saved with them must keep matching a re-import, or an --append would store every row twice.
PINNED_IDS = {
    "plain_date_who_what.csv": [
        "55c7572a120eb232",
        "14fe0f78fb95e7e1",
        "580a1243457a6fa0",
        "9ad163fcf1ef39d2",
        "4a3d52dfffa396fc",
        "100378319b986fa2",
    ],
    "gtd_like_cp1252.csv": [  # twin rows kept as distinct incidents: the second gets "-2"
        "343a6ebebf3355a1",
        "d9b1526cf4998978",
        "eeaf33eb529376b6",
        "987f1883ea346e2e",
        "987f1883ea346e2e-2",
        "2be0c121e3738379",
        "7d6fd5a81ff4e77e",
    ],
    "crlf_mixed_newlines_in_quotes.csv": [
        "d7b005f0c25c78a6",
        "17ea7323b46c826f",
        "11bf3dc9785e7349",
        "65ff5d56d2f562d7",
    ],
    "utf16_bom_tab.tsv": ["ffc37266ab9babcd", "b92484f973d03a1e", "f10d9701b635c508"],
}


@pytest.mark.parametrize("name", sorted(PINNED_IDS))
def test_hashed_ids_are_the_ones_earlier_imports_made(name):
    """A file without ids gets the very ids earlier versions gave its rows (stored datasets hold them)."""
    assert _read(name).events.column(schema.EVENT_ID).to_pylist() == PINNED_IDS[name]


def _generated(n: int, *, with_id: bool) -> bytes:
    from bench import generate

    sink = io.BytesIO()
    pacsv.write_csv(generate.table(n, seed=3, with_id=with_id), sink)
    return sink.getvalue()


def test_hashed_ids_of_a_large_file_do_not_depend_on_row_order_or_a_second_import():
    """Over more rows than are hashed at once, the same rows shuffled and read again keep their ids."""
    import random

    from timeline.ingest import ImportOptions, read_events

    header, *rows = _generated(150_000, with_id=False).splitlines(keepends=True)
    random.Random(5).shuffle(rows)
    shuffled = header + b"".join(rows)
    options = ImportOptions(file_name="events.csv")
    first, again = read_events(header + b"".join(sorted(rows)), options), read_events(shuffled, options)

    def ids_by_row(events: pa.Table) -> dict[tuple, str]:
        content = events.drop_columns([schema.EVENT_ID]).to_pylist()
        return dict(
            zip([tuple(row.values()) for row in content], events[schema.EVENT_ID].to_pylist(), strict=True)
        )

    assert first.accepted == again.accepted == 150_000
    assert ids_by_row(first.events) == ids_by_row(again.events)


def test_a_file_without_its_id_column_counts_the_same_rows():
    """The same events with and without an id column: the same rows read, accepted, rejected, dropped."""
    from timeline.ingest import ImportOptions, read_events

    with_ids = _read("duplicates_and_ids.csv")
    without = pacsv.read_csv(DATA / "duplicates_and_ids.csv").drop_columns(["id"])
    sink = io.BytesIO()
    pacsv.write_csv(without, sink)
    without_ids = read_events(sink.getvalue(), ImportOptions(file_name="no_ids.csv"))
    counts = ("rows_read", "accepted", "rejected", "duplicates")
    assert [getattr(without_ids, c) for c in counts] == [getattr(with_ids, c) for c in counts] == [6, 4, 0, 2]

    generated = [
        read_events(_generated(20_000, with_id=with_id), ImportOptions(file_name="events.csv"))
        for with_id in (True, False)
    ]
    assert [[getattr(r, c) for c in counts] for r in generated] == [[20_000, 20_000, 0, 0]] * 2


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("plain_date_who_what.csv", {}, {"actor": "who"}),
        ("plain_date_who_what.csv", {"mapping": {"actor": "what"}}, {"actor": "what"}),
        ("acled_like.csv", {}, {"actor": "actor1", "target": "actor2", "event_id": "event_id_cnty"}),
        ("month_first_us.csv", {}, {"title": "Case", "description": "Summary", "location": "Location"}),
    ],
)
def test_mapping_reported(name, options, expected):
    """result.mapping names the input column used for each canonical field, overrides included."""
    mapping = _read(name, **options).mapping
    assert {field: mapping.get(field) for field in expected} == expected


def test_mapping_override_changes_only_that_field():
    """mapping={'actor': 'what'} takes the actor from `what` and leaves the dates alone."""
    result = _read("plain_date_who_what.csv", mapping={"actor": "what"})
    row = _one(result, "actor", "Address to the nation")
    assert row[schema.TIMESTAMP] == _utc("2024-03-23")
    assert row[schema.TIME_PRECISION] == "day"
    assert result.accepted == 6


@pytest.mark.parametrize(
    "name", ["empty.csv", "header_only.csv", "header_and_blank_lines.csv", "no_date_column.csv", "binary.csv"]
)
def test_bad_files_raise(name):
    """A file that cannot be used raises BadInputError naming the file."""
    with pytest.raises(BadInputError) as caught:
        _read(name)
    assert name in str(caught.value)
    assert caught.value.file == name


def _read_bytes(data: bytes, **options: Any):
    """Import CSV bytes built in a test."""
    from timeline.ingest import ImportOptions, read_events

    return read_events(data, ImportOptions(file_name="built.csv", **options))


def test_samples_are_each_columns_first_distinct_values():
    """result.samples holds, for every input column, its first three distinct non-empty values."""
    result = _read("plain_date_who_what.csv")
    assert list(result.samples) == list(result.columns)
    assert result.samples["date"] == ("2024-03-22", "2024-03-23", "2024-03-24")
    assert result.samples["who"] == ("Gunmen", "Islamic State", "Vladimir Putin")


def test_samples_skip_missing_markers_and_are_short():
    """Empty cells and markers (NA, NULL) are no samples; a long value is cut, a column with none is ()."""
    from timeline.ingest import SAMPLE_CHARS

    long = "x" * 5000
    data = f"date,who,what,blank\n2024-01-01,NA,{long},\n2024-01-02, ,NULL,\n2024-01-03,Ann,short,\n".encode()
    samples = _read_bytes(data).samples
    assert samples["who"] == ("Ann",)
    assert samples["what"] == ("x" * SAMPLE_CHARS, "short")
    assert samples["blank"] == ()


def test_samples_come_from_the_top_of_the_file():
    """Samples are read from the first rows only, so a million-row import pays nothing for them."""
    rows = "".join(f"2024-01-01,actor {i},\n" for i in range(5000))
    samples = _read_bytes(f"date,who,late\n{rows}2024-01-02,last,only here\n".encode()).samples
    assert samples["who"] == ("actor 0", "actor 1", "actor 2")
    assert samples["late"] == ()


def test_samples_are_not_in_the_summary():
    """The summary (stored in meta.json, printed by --json) keeps its keys: no samples in it."""
    summary = _read("plain_date_who_what.csv").summary()
    assert "samples" not in summary
    assert "Gunmen" not in json.dumps(summary)


def _lanes(result, lane: str) -> list[str]:
    """The timeline's lanes for an import's events, by actor or by actor group."""
    return figures.lane_order(frame.prepare(result.events), lane=lane)


def test_timelinejs_lanes_follow_group():
    """TimelineJS's Group gives the lanes, whether lanes are one per actor or one per actor group."""
    result = _read("timelinejs_template.csv")
    assert result.mapping[schema.ACTOR] == result.mapping[schema.ACTOR_GROUP] == "Group"
    groups = {"Attackers", "Officials", "Programmers", "Rescuers"}
    assert set(_lanes(result, schema.ACTOR)) == groups | {UNKNOWN}
    assert set(_lanes(result, schema.ACTOR_GROUP)) == groups | {figures.NO_GROUP}
    assert not [n for n in result.notices if "one lane" in n]


def test_timelinejs_group_still_goes_where_the_user_maps_it():
    """Mapping Group to another field takes it from the preset's actor and actor group."""
    result = _read("timelinejs_template.csv", mapping={"target": "Group"})
    assert result.mapping["target"] == "Group"
    assert schema.ACTOR not in result.mapping and schema.ACTOR_GROUP not in result.mapping


def test_empty_timelinejs_group_is_reported():
    """A TimelineJS sheet whose Group is empty in every row says every event is in one lane."""
    rows = list(csv.DictReader(io.StringIO((DATA / "timelinejs_template.csv").read_text())))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({**row, "Group": ""} for row in rows)
    result = _read_bytes(out.getvalue().encode())
    assert result.preset == "timelinejs"
    assert _lanes(result, schema.ACTOR) == [UNKNOWN]
    lane_notices = [n for n in result.notices if "Group" in n and "one lane" in n]
    assert len(lane_notices) == 1, result.notices


REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"no real-data samples at {REALDATA}")
@pytest.mark.parametrize(
    ("name", "groups", "notice"),
    [
        ("timelinejs_knightlab_women_in_computing.csv", {UNKNOWN}, True),
        (
            "timelinejs_filled_climate_negotiations_fr.csv",
            {"Recherche", "Processus politique", "Expertise"},
            False,
        ),
    ],
)
def test_real_timelinejs_sheets_lanes(name, groups, notice):
    """Real TimelineJS sheets: lanes follow a filled Group; an all-empty Group gives the one-lane notice."""
    from timeline.ingest import ImportOptions, read_events

    result = read_events((REALDATA / name).read_bytes(), ImportOptions(file_name=name))
    assert set(_lanes(result, schema.ACTOR)) == groups
    assert any("Group" in n and "one lane" in n for n in result.notices) is notice
