"""The reviewed CSV of the bundled dataset `crocus-city-hall-2024`: shape, vocabularies and seed coverage."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest

CSV_PATH = Path(__file__).resolve().parents[1] / "data" / "crocus-city-hall-2024.csv"
SEED_PATH = Path(__file__).resolve().parents[2] / "shared" / "seed" / "crocus_facts.csv"

HEADER = [
    "event_id",
    "timestamp",
    "time_precision",
    "end",
    "actor",
    "actor_group",
    "actor_type",
    "target",
    "event_type",
    "title",
    "description",
    "location",
    "latitude",
    "longitude",
    "fatalities",
    "injured",
    "source_name",
    "source_url",
    "timestamp_confidence",
    "timestamp_note",
    "seed_actor",
]
PRECISIONS = {"second", "minute", "hour", "day", "month", "year"}
EVENT_TYPES = {
    "attack",
    "claim",
    "statement",
    "condemnation",
    "condolence",
    "warning",
    "arrest",
    "casualty_update",
    "mourning",
    "investigation",
    "meeting",
    "other",
}
REQUIRED = ["event_id", "timestamp", "time_precision", "actor", "event_type"]
ARTICLE_ACTORS = ["White House", "Radoslaw Sikorski", "Hamas", "NEXTA", "Islamic State"]
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _read(CSV_PATH)[1]


@pytest.fixture(scope="module")
def seed_rows() -> list[dict[str, str]]:
    if not SEED_PATH.exists():
        pytest.skip(f"seed facts not available at {SEED_PATH}")
    return _read(SEED_PATH)[1]


def test_header_is_exactly_the_reviewed_columns() -> None:
    """The header lists exactly the reviewed columns, in order."""
    assert _read(CSV_PATH)[0] == HEADER


def test_file_is_utf8_without_bom_and_lf() -> None:
    """The file is UTF-8 without a BOM and uses LF line endings."""
    raw = CSV_PATH.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in raw
    raw.decode("utf-8")


def test_every_row_has_every_column(rows: list[dict[str, str]]) -> None:
    """No row has missing or surplus fields."""
    assert rows
    for row in rows:
        assert None not in row, row["event_id"]
        assert all(value is not None for value in row.values()), row["event_id"]


def test_event_ids_are_unique_short_slugs(rows: list[dict[str, str]]) -> None:
    """Every event_id is a URL-safe slug of at most 48 characters, and no two rows share one."""
    ids = [row["event_id"] for row in rows]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert [i for i in ids if not SLUG.fullmatch(i) or len(i) > 48] == []


def test_precisions_are_in_the_vocabulary(rows: list[dict[str, str]]) -> None:
    """Every time_precision is one of second, minute, hour, day, month, year."""
    assert {row["time_precision"] for row in rows} <= PRECISIONS


def test_event_types_are_in_the_vocabulary(rows: list[dict[str, str]]) -> None:
    """Every event_type is one of the bundled dataset's vocabulary."""
    assert {row["event_type"] for row in rows} <= EVENT_TYPES


def test_timestamps_parse_and_carry_an_offset(rows: list[dict[str, str]]) -> None:
    """Every timestamp (and end, when present) is ISO 8601 with an explicit UTC offset."""
    for row in rows:
        for column in ("timestamp", "end"):
            if column == "end" and not row[column]:
                continue
            parsed = datetime.fromisoformat(row[column])
            assert parsed.utcoffset() is not None, (row["event_id"], column, row[column])


def test_rows_are_sorted_by_time(rows: list[dict[str, str]]) -> None:
    """Rows are in order of the start of the interval each event could lie in."""
    truncate = {
        "second": {"microsecond": 0},
        "minute": {"second": 0, "microsecond": 0},
        "hour": {"minute": 0, "second": 0, "microsecond": 0},
        "day": {"hour": 0, "minute": 0, "second": 0, "microsecond": 0},
        "month": {"day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0},
        "year": {"month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0},
    }
    starts = [
        datetime.fromisoformat(row["timestamp"]).replace(**truncate[row["time_precision"]]) for row in rows
    ]
    assert starts == sorted(starts)


def test_required_columns_are_filled(rows: list[dict[str, str]]) -> None:
    """event_id, timestamp, time_precision, actor and event_type are never empty."""
    for row in rows:
        assert [c for c in REQUIRED if not row[c].strip()] == [], row["event_id"]


def test_source_urls_are_empty_or_http(rows: list[dict[str, str]]) -> None:
    """A source_url is either empty or an http(s) link with a host."""
    for row in rows:
        url = row["source_url"]
        if url:
            parsed = urlparse(url)
            assert parsed.scheme in ("http", "https"), (row["event_id"], url)
            assert parsed.netloc, (row["event_id"], url)


def test_titles_are_short_headlines(rows: list[dict[str, str]]) -> None:
    """Every row has a title of at most 80 characters."""
    assert [row["event_id"] for row in rows if not row["title"] or len(row["title"]) > 80] == []


def test_numbers_are_numbers(rows: list[dict[str, str]]) -> None:
    """fatalities and injured are empty or non-negative integers; coordinates are empty or in range."""
    for row in rows:
        for column in ("fatalities", "injured"):
            assert row[column] == "" or row[column].isdigit(), (row["event_id"], column)
        if row["latitude"] or row["longitude"]:
            assert -90 <= float(row["latitude"]) <= 90, row["event_id"]
            assert -180 <= float(row["longitude"]) <= 180, row["event_id"]


def test_each_lane_has_one_group_and_one_type(rows: list[dict[str, str]]) -> None:
    """All rows of one actor carry the same actor_group and actor_type."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        seen.setdefault(row["actor"], set()).add((row["actor_group"], row["actor_type"]))
    assert {actor: pairs for actor, pairs in seen.items() if len(pairs) > 1} == {}


def test_article_actors_have_lanes(rows: list[dict[str, str]]) -> None:
    """The actors of the article the project started from each appear, spelled exactly, as an actor."""
    actors = {row["actor"] for row in rows}
    assert [a for a in ARTICLE_ACTORS if a not in actors] == []


def test_every_seed_fact_is_present_once_and_unchanged(
    rows: list[dict[str, str]], seed_rows: list[dict[str, str]]
) -> None:
    """Each seed fact maps to exactly one row, with its precision and casualty figures unchanged."""

    def key(row: dict[str, str]) -> tuple[str, str, str]:
        return (row["timestamp"], row["description"], row["source_url"])

    by_key: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in rows:
        by_key.setdefault(key(row), []).append(row)
    for fact in seed_rows:
        matches = by_key.get(key(fact), [])
        assert len(matches) == 1, (key(fact), len(matches))
        (row,) = matches
        for column in ("time_precision", "fatalities", "injured", "timestamp_confidence", "timestamp_note"):
            assert row[column] == fact[column], (key(fact), column)
        assert row["seed_actor"] == fact["actor"]


def test_rows_not_from_the_seed_come_from_the_article(
    rows: list[dict[str, str]], seed_rows: list[dict[str, str]]
) -> None:
    """Every row that is not a seed fact cites the article and has no seed actor."""
    seed_keys = {(f["timestamp"], f["description"], f["source_url"]) for f in seed_rows}
    extra = [
        row for row in rows if (row["timestamp"], row["description"], row["source_url"]) not in seed_keys
    ]
    assert len(rows) == len(seed_rows) + len(extra)
    for row in extra:
        assert row["source_name"].startswith("Moscow concert attack by Islamic State claims nearly 150 lives")
        assert row["seed_actor"] == "", row["event_id"]
        assert row["source_url"] == "", row["event_id"]
