"""The column-mapping editor as data: an entry per thing a user maps, its choices, the overrides it gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from timeline import presets
from timeline import schema as s
from timeline.errors import UsageError
from timeline.ingest import ImportResult

NO_COLUMN_LABEL = "(none)"
SAMPLE_LABEL_CHARS = 20
CHOICE_LABEL_CHARS = 80
SECTIONS: tuple[str, ...] = ("When", "Who", "What", "Where", "Counts", "Source", "Other")

# The canonical names a date and an end also go by; the editor (and result.mapping) use the time-part name.
_ALIASES = {s.TIMESTAMP: presets.DATE, s.END: presets.END_DATE}


@dataclass(frozen=True)
class FormField:
    """One thing a user maps: the key for the overrides, what the page shows, and the column it has now."""

    key: str
    section: str
    label: str
    help: str
    column: str | None
    advanced: bool  # a time split over columns: shown folded unless mapped


@dataclass(frozen=True)
class _Entry:
    key: str
    section: str
    label: str
    help: str


# In reading order. Each canonical field once: `timestamp` is read as `date`, `end` as `end_date`.
_ENTRIES: tuple[_Entry, ...] = (
    _Entry(presets.DATE, "When", "Date", "When it happened: a date, or a date and time"),
    _Entry(presets.TIME, "When", "Time of day", "The time, when it is in a column of its own"),
    _Entry(presets.YEAR, "When", "Year", "The year, when the date is split over columns"),
    _Entry(presets.MONTH, "When", "Month", "The month, when the date is split over columns"),
    _Entry(presets.DAY, "When", "Day", "The day of the month, when the date is split over columns"),
    _Entry(presets.END_DATE, "When", "End date", "When it ended, for events that last"),
    _Entry(presets.END_TIME, "When", "End time", "The time it ended, when in a column of its own"),
    _Entry(presets.END_YEAR, "When", "End year", "The year it ended, when the end is split over columns"),
    _Entry(presets.END_MONTH, "When", "End month", "The month it ended, when the end is split up"),
    _Entry(presets.END_DAY, "When", "End day", "The day it ended, when the end is split over columns"),
    _Entry(s.ACTOR, "Who", "Actor", "Who acted or spoke: the timeline has one lane per actor"),
    _Entry(s.ACTOR_GROUP, "Who", "Actor group", "Country or affiliation: lanes can be grouped by it"),
    _Entry(s.ACTOR_TYPE, "Who", "Kind of actor", "State, official, armed group, media, ..."),
    _Entry(s.TARGET, "Who", "Target", "Whom the act or statement was about or addressed to"),
    _Entry(s.EVENT_TYPE, "What", "Event type", "What kind of event: attack, claim, statement, ..."),
    _Entry(s.TITLE, "What", "Headline", "A short title for the event"),
    _Entry(s.DESCRIPTION, "What", "Description", "The full text about the event"),
    _Entry(s.LOCATION, "Where", "Place", "Where it happened, by name"),
    _Entry(s.LATITUDE, "Where", "Latitude", "Where it happened: degrees north, -90 to 90"),
    _Entry(s.LONGITUDE, "Where", "Longitude", "Where it happened: degrees east, -180 to 180"),
    _Entry(s.FATALITIES, "Counts", "Deaths", "People killed, as reported at that time"),
    _Entry(s.INJURED, "Counts", "Injured", "People injured, as reported at that time"),
    _Entry(s.SOURCE_NAME, "Source", "Source", "Who reported it"),
    _Entry(s.SOURCE_URL, "Source", "Source link", "A web link (http or https) to the report"),
    _Entry(s.EVENT_ID, "Other", "Event id", "A value unique to each row (else ids come from the row's text)"),
    _Entry(s.TIME_PRECISION, "Other", "Time precision", "How much of the time the source states: day, ..."),
)
# A time split over several columns: rare, so shown folded unless the import used them.
_FOLDED = frozenset(
    {
        presets.TIME,
        presets.YEAR,
        presets.MONTH,
        presets.DAY,
        presets.END_TIME,
        presets.END_YEAR,
        presets.END_MONTH,
        presets.END_DAY,
    }
)
FIELD_KEYS: tuple[str, ...] = tuple(entry.key for entry in _ENTRIES)


def form(result: ImportResult) -> tuple[FormField, ...]:
    """The editor's entries, in reading order, each with the input column the import used for it.

    >>> [(f.label, f.column) for f in form(result)][:2]
    [('Date', 'event_date'), ('Time of day', None)]
    """
    return tuple(
        FormField(
            key=entry.key,
            section=entry.section,
            label=entry.label,
            help=entry.help,
            column=result.mapping.get(entry.key),
            advanced=entry.key in _FOLDED and entry.key not in result.mapping,
        )
        for entry in _ENTRIES
    )


def choices(result: ImportResult) -> tuple[str | None, ...]:
    """What each entry's select box offers: None (no column), then the file's columns in file order."""
    return (None, *result.columns)


def column_choice_label(column: str | None, samples: tuple[str, ...] = ()) -> str:
    """How a choice reads: the column's name and what it holds, or "(none)" for None.

    >>> column_choice_label("event_date", ("2021-03-02", "2021-03-04", "2021-03-09"))
    'event_date — e.g. 2021-03-02, 2021-03-04, 2021-03-09'
    """
    if column is None:
        return NO_COLUMN_LABEL
    shown = ", ".join(_shortened(" ".join(sample.split()), SAMPLE_LABEL_CHARS) for sample in samples)
    label = f"{column} — e.g. {shown}" if shown else f"{column} — empty in the first rows"
    return _shortened(label, CHOICE_LABEL_CHARS)


def overrides_after(
    field_key: str, column: str | None, overrides: Mapping[str, str | None], *, mapping: Mapping[str, str]
) -> dict[str, str | None]:
    """The overrides to read the file again with once column is chosen for field_key (None: no column).

    mapping is the mapping the file was read with (result.mapping). A column goes to one field: the fields
    that had it lose it (and stay without a column until the user picks another).

    >>> overrides_after("title", "who", {}, mapping={"actor": "who", "date": "when"})
    {'title': 'who', 'actor': None}
    """
    if field_key not in FIELD_KEYS:
        raise UsageError(f"cannot map {field_key!r}: the fields are {', '.join(FIELD_KEYS)}")
    # `timestamp` and `end` become `date` and `end_date`, winning over them as they do in the importer.
    after = {key: value for key, value in overrides.items() if key not in _ALIASES}
    after.update({_ALIASES[key]: value for key, value in overrides.items() if key in _ALIASES})
    if column == mapping.get(field_key):
        return after
    after[field_key] = column
    if column is not None:
        for other, used in {**mapping, **after}.items():
            # Fields the importer fills by itself only (extra, utc_offset_minutes) cannot be overridden;
            # a column the user chose is no longer free for them anyway.
            if other != field_key and other in FIELD_KEYS and used == column:
                after[other] = None
    return after


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
