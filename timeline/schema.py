"""The one definition of a canonical event: column names, Arrow types, meanings, vocabularies."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

EVENT_ID = "event_id"
TIMESTAMP = "timestamp"
TIME_PRECISION = "time_precision"
UTC_OFFSET_MINUTES = "utc_offset_minutes"
END = "end"
ACTOR = "actor"
ACTOR_GROUP = "actor_group"
ACTOR_TYPE = "actor_type"
TARGET = "target"
EVENT_TYPE = "event_type"
TITLE = "title"
DESCRIPTION = "description"
LOCATION = "location"
LATITUDE = "latitude"
LONGITUDE = "longitude"
FATALITIES = "fatalities"
INJURED = "injured"
SOURCE_NAME = "source_name"
SOURCE_URL = "source_url"
EXTRA = "extra"

UTC_MICROS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, Arrow type, whether a row needs it, and what it means."""

    name: str
    type: pa.DataType
    required: bool
    meaning: str


COLUMNS: tuple[Column, ...] = (
    Column(EVENT_ID, pa.string(), True, "unique in a dataset; from an id column, else a hash of the row"),
    Column(TIMESTAMP, UTC_MICROS, True, "start of the event (start of the interval it could lie in)"),
    Column(TIME_PRECISION, pa.string(), True, "how much of the timestamp the source states"),
    Column(UTC_OFFSET_MINUTES, pa.int16(), False, "UTC offset the source stated, in minutes"),
    Column(END, UTC_MICROS, False, "end of an event with a duration"),
    Column(ACTOR, pa.string(), True, "who acted or spoke"),
    Column(ACTOR_GROUP, pa.string(), False, "country or affiliation of the actor"),
    Column(ACTOR_TYPE, pa.string(), False, "state, official, armed group, media, ..."),
    Column(TARGET, pa.string(), False, "whom the act or statement was about or addressed to"),
    Column(EVENT_TYPE, pa.string(), True, "open vocabulary: attack, claim, statement, ..."),
    Column(TITLE, pa.string(), False, "a short headline"),
    Column(DESCRIPTION, pa.string(), False, "free text"),
    Column(LOCATION, pa.string(), False, "place name"),
    Column(LATITUDE, pa.float64(), False, "WGS84 latitude, -90..90"),
    Column(LONGITUDE, pa.float64(), False, "WGS84 longitude, -180..180"),
    Column(FATALITIES, pa.int32(), False, "fatalities as reported at that time"),
    Column(INJURED, pa.int32(), False, "injured as reported at that time"),
    Column(SOURCE_NAME, pa.string(), False, "who reported it"),
    Column(SOURCE_URL, pa.string(), False, "http or https link to the source"),
    Column(EXTRA, pa.string(), False, "JSON object of every input column mapped to none of the above"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
REQUIRED: frozenset[str] = frozenset(column.name for column in COLUMNS if column.required)
ARROW_SCHEMA = pa.schema([pa.field(c.name, c.type, nullable=not c.required) for c in COLUMNS])

TEXT_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in COLUMNS if c.type == pa.string() and c.name not in (EVENT_ID, TIME_PRECISION, EXTRA)
)
INTEGER_COLUMNS: tuple[str, ...] = (FATALITIES, INJURED)
COORDINATE_COLUMNS: tuple[str, ...] = (LATITUDE, LONGITUDE)

# Ordered finest first: a precision's index says how coarse it is.
PRECISIONS: tuple[str, ...] = ("second", "minute", "hour", "day", "month", "year")

# The vocabulary of the bundled dataset; uploads may use any other event type.
EVENT_TYPES: tuple[str, ...] = (
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
)

# Placeholders for required values a source does not state; never invented content.
UNKNOWN_ACTOR = "(actor not stated)"
UNKNOWN_EVENT_TYPE = "other"

# Fields a time can be split over in the input (mapping targets besides the canonical columns).
TIME_PART_FIELDS: tuple[str, ...] = ("date", "time", "year", "month", "day", "end_date", "end_time")
MAPPABLE_FIELDS: tuple[str, ...] = (
    tuple(name for name in COLUMN_NAMES if name not in (EXTRA, UTC_OFFSET_MINUTES)) + TIME_PART_FIELDS
)


def empty_table() -> pa.Table:
    """A table with the canonical schema and no rows."""
    return ARROW_SCHEMA.empty_table()
