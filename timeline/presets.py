"""Known CSV layouts (TimelineJS, ACLED, GTD, GDELT, Timesketch) and the generic column-name mapping."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from timeline import schema as s
from timeline.errors import UsageError

DATE, TIME, YEAR, MONTH, DAY, END_DATE, END_TIME = s.TIME_PART_FIELDS[:7]
END_YEAR, END_MONTH, END_DAY = "end_year", "end_month", "end_day"


@dataclass(frozen=True)
class Preset:
    """A recognised layout: its mapping and the rules it brings beyond a mapping."""

    name: str
    mapping: Mapping[str, str] = field(default_factory=dict)
    column_names: tuple[str, ...] | None = None  # for files without a header row
    actor_fallbacks: tuple[str, ...] = ()  # columns tried, in order, where the actor is empty
    value_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # field -> code -> label
    precision_codes: Mapping[str, str] = field(default_factory=dict)  # time_precision code -> precision
    not_events: tuple[tuple[str, str, str], ...] = ()  # (column, value, reason) marking non-event rows
    ranges: tuple[tuple[str, str, str], ...] = ()  # (column, value, event type) for ranged rows
    # Every row is a distinct incident even when identical to another (GTD once Excel mangled its ids).
    rows_are_distinct: bool = False


def normalise(name: str) -> str:
    """A column name reduced for matching: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if t]


# Field -> names that mean it, best first. Order of fields matters: earlier fields claim columns first.
GENERIC_NAMES: dict[str, tuple[str, ...]] = {
    s.EVENT_ID: (
        "eventid",
        "id",
        "uid",
        "uuid",
        "globaleventid",
        "eventidcnty",
        "recordid",
        "identifier",
        "key",
    ),
    DATE: (
        "datetime",
        "date",
        "eventdate",
        "timestamp",
        "startdatetime",
        "startdate",
        "start",
        "when",
        "occurred",
        "occurredat",
        "dateofevent",
        "eventtime",
        "sqldate",
        "publishedat",
        "published",
        "createdat",
        "dateutc",
        "data",
        "fecha",
        "datum",
    ),
    TIME: ("time", "hour", "eventtimeofday", "heure", "hora", "uhrzeit", "starttime"),
    END_DATE: ("end", "enddate", "enddatetime", "until", "finish", "endtimestamp", "stop"),
    END_TIME: ("endtime",),
    YEAR: ("year", "iyear", "ano", "annee", "jahr"),
    MONTH: ("month", "imonth", "mes", "mois", "monat"),
    DAY: ("day", "iday", "dia", "jour", "tag"),
    s.TIME_PRECISION: ("timeprecision", "precision", "dateprecision"),
    s.ACTOR: (
        "actor",
        "who",
        "actor1",
        "actor1name",
        "actorname",
        "perpetrator",
        "gname",
        "speaker",
        "author",
        "person",
        "organisation",
        "organization",
        "username",
        "user",
        "sender",
        "from",
        "computername",
    ),
    s.ACTOR_GROUP: (
        "actorgroup",
        "group",
        "affiliation",
        "country",
        "nationality",
        "party",
        "faction",
        "side",
    ),
    s.ACTOR_TYPE: ("actortype", "role", "actorrole", "inter1"),
    s.TARGET: (
        "target",
        "actor2",
        "actor2name",
        "target1",
        "victim",
        "recipient",
        "addressee",
        "about",
        "to",
    ),
    s.EVENT_TYPE: (
        "eventtype",
        "type",
        "category",
        "kind",
        "eventcategory",
        "classification",
        "class",
        "tipo",
        "categoria",
        "classificacao",
        "timestampdesc",
    ),
    s.TITLE: ("title", "headline", "subject", "heading", "name", "case", "titulo", "titre"),
    s.DESCRIPTION: (
        "description",
        "text",
        "notes",
        "note",
        "details",
        "summary",
        "message",
        "body",
        "content",
        "event",
        "what",
        "comment",
        "comments",
        "descricao",
        "descripcion",
    ),
    s.LOCATION: (
        "location",
        "place",
        "city",
        "where",
        "site",
        "locality",
        "venue",
        "address",
        "cidade",
        "ciudad",
        "lieu",
    ),
    s.LATITUDE: ("latitude", "lat"),
    s.LONGITUDE: ("longitude", "lon", "lng", "long"),
    s.FATALITIES: ("fatalities", "killed", "deaths", "dead", "nkill", "death", "kills", "mortos", "muertos"),
    s.INJURED: ("injured", "wounded", "injuries", "nwound", "hurt", "feridos", "heridos"),
    s.SOURCE_URL: ("sourceurl", "url", "link", "href", "sourcelink", "permalink", "uri"),
    s.SOURCE_NAME: (
        "sourcename",
        "source",
        "sources",
        "publisher",
        "outlet",
        "media",
        "reference",
        "citation",
    ),
    s.END: (),
    # This tool's own export carries these two; reading them back keeps offsets and extra as they were.
    s.UTC_OFFSET_MINUTES: ("utcoffsetminutes",),
    s.EXTRA: ("extra",),
}

TIMELINEJS_COLUMNS = (
    "Year",
    "Month",
    "Day",
    "Time",
    "End Year",
    "End Month",
    "End Day",
    "End Time",
    "Headline",
)
ACLED_COLUMNS = ("event_id_cnty", "event_date", "actor1", "event_type", "time_precision")
GTD_COLUMNS = ("eventid", "iyear", "imonth", "iday", "gname")
TIMESKETCH_COLUMNS = ("datetime", "timestamp_desc", "message")

_GDELT_ACTOR = (
    "Code",
    "Name",
    "CountryCode",
    "KnownGroupCode",
    "EthnicCode",
    "Religion1Code",
    "Religion2Code",
    "Type1Code",
    "Type2Code",
    "Type3Code",
)
_GDELT_GEO = ("Type", "FullName", "CountryCode", "ADM1Code", "Lat", "Long", "FeatureID")
_GDELT_EVENT = ("IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass", "GoldsteinScale")
_GDELT_EVENT += ("NumMentions", "NumSources", "NumArticles", "AvgTone")
GDELT1_COLUMNS: tuple[str, ...] = (
    "GLOBALEVENTID",
    "SQLDATE",
    "MonthYear",
    "Year",
    "FractionDate",
    *(f"Actor1{f}" for f in _GDELT_ACTOR),
    *(f"Actor2{f}" for f in _GDELT_ACTOR),
    *_GDELT_EVENT,
    *(f"{prefix}Geo_{f}" for prefix in ("Actor1", "Actor2", "Action") for f in _GDELT_GEO),
    "DATEADDED",
    "SOURCEURL",
)
# GDELT 2.0 adds ADM2 codes to each geography; DATEADDED becomes YYYYMMDDHHMMSS.
GDELT2_COLUMNS: tuple[str, ...] = (
    *GDELT1_COLUMNS[:35],
    *(
        f"{prefix}Geo_{f}"
        for prefix in ("Actor1", "Actor2", "Action")
        for f in ("Type", "FullName", "CountryCode", "ADM1Code", "ADM2Code", "Lat", "Long", "FeatureID")
    ),
    "DATEADDED",
    "SOURCEURL",
)

# CAMEO root codes (the first two digits of a GDELT event code).
CAMEO_ROOTS = {
    "01": "Make public statement",
    "02": "Appeal",
    "03": "Express intent to cooperate",
    "04": "Consult",
    "05": "Engage in diplomatic cooperation",
    "06": "Engage in material cooperation",
    "07": "Provide aid",
    "08": "Yield",
    "09": "Investigate",
    "10": "Demand",
    "11": "Disapprove",
    "12": "Reject",
    "13": "Threaten",
    "14": "Protest",
    "15": "Exhibit force posture",
    "16": "Reduce relations",
    "17": "Coerce",
    "18": "Assault",
    "19": "Fight",
    "20": "Use unconventional mass violence",
}

# ACLED's inter codes name the kind of actor.
ACLED_INTER = {
    "1": "state forces",
    "2": "rebel group",
    "3": "political militia",
    "4": "identity militia",
    "5": "rioters",
    "6": "protesters",
    "7": "civilians",
    "8": "external/other forces",
}


def _gdelt(name: str, columns: tuple[str, ...]) -> Preset:
    return Preset(
        name=name,
        column_names=columns,
        mapping={
            s.EVENT_ID: "GLOBALEVENTID",
            DATE: "SQLDATE",
            s.ACTOR: "Actor1Name",
            s.ACTOR_GROUP: "Actor1CountryCode",
            s.ACTOR_TYPE: "Actor1Type1Code",
            s.TARGET: "Actor2Name",
            s.EVENT_TYPE: "EventRootCode",
            s.LOCATION: "ActionGeo_FullName",
            s.LATITUDE: "ActionGeo_Lat",
            s.LONGITUDE: "ActionGeo_Long",
            s.SOURCE_URL: "SOURCEURL",
        },
        actor_fallbacks=("Actor1Code", "Actor2Name", "Actor2Code"),
        value_labels={s.EVENT_TYPE: CAMEO_ROOTS},
    )


PRESETS: dict[str, Preset] = {
    "timelinejs": Preset(
        name="timelinejs",
        mapping={
            YEAR: "Year",
            MONTH: "Month",
            DAY: "Day",
            TIME: "Time",
            END_YEAR: "End Year",
            END_MONTH: "End Month",
            END_DAY: "End Day",
            END_TIME: "End Time",
            s.TITLE: "Headline",
            s.DESCRIPTION: "Text",
            # TimelineJS draws one row per Group: here it is both the lane (actor) and its group, so lanes
            # by actor and lanes by actor group both follow it.
            s.ACTOR: "Group",
            s.ACTOR_GROUP: "Group",
            s.EVENT_TYPE: "Type",
        },
        not_events=(("Type", "title", "a TimelineJS title slide (Type=title), not an event"),),
        ranges=(("Type", "era", "era"),),
    ),
    "acled": Preset(
        name="acled",
        mapping={
            s.EVENT_ID: "event_id_cnty",
            DATE: "event_date",
            s.TIME_PRECISION: "time_precision",
            s.ACTOR: "actor1",
            s.ACTOR_TYPE: "inter1",
            s.ACTOR_GROUP: "country",
            s.TARGET: "actor2",
            s.EVENT_TYPE: "event_type",
            s.TITLE: "sub_event_type",
            s.DESCRIPTION: "notes",
            s.LOCATION: "location",
            s.LATITUDE: "latitude",
            s.LONGITUDE: "longitude",
            s.FATALITIES: "fatalities",
            s.SOURCE_NAME: "source",
        },
        value_labels={s.ACTOR_TYPE: ACLED_INTER},
        # 1: the day is known; 2: only the week (no such unit here, so the coarser month); 3: only the month.
        precision_codes={"1": "day", "2": "month", "3": "month"},
    ),
    "gtd": Preset(
        name="gtd",
        mapping={
            s.EVENT_ID: "eventid",
            YEAR: "iyear",
            MONTH: "imonth",
            DAY: "iday",
            s.ACTOR: "gname",
            s.EVENT_TYPE: "attacktype1_txt",
            s.TARGET: "target1",
            s.DESCRIPTION: "summary",
            s.LOCATION: "city",
            s.LATITUDE: "latitude",
            s.LONGITUDE: "longitude",
            s.FATALITIES: "nkill",
            s.INJURED: "nwound",
            s.SOURCE_NAME: "scite1",
        },
        rows_are_distinct=True,
    ),
    "timesketch": Preset(
        name="timesketch",
        mapping={
            DATE: "datetime",
            s.DESCRIPTION: "message",
            s.EVENT_TYPE: "timestamp_desc",
            s.ACTOR: "computer_name",
            s.SOURCE_NAME: "source_long",
        },
    ),
    "gdelt1": _gdelt("gdelt1", GDELT1_COLUMNS),
    "gdelt2": _gdelt("gdelt2", GDELT2_COLUMNS),
    "generic": Preset(name="generic"),
}


def detect(header: tuple[str, ...], width: int) -> Preset:
    """The preset whose signature the header row carries; GDELT is recognised by its headerless shape."""
    names = set(header)
    if set(TIMELINEJS_COLUMNS) <= names:
        return PRESETS["timelinejs"]
    if set(ACLED_COLUMNS) <= names:
        return PRESETS["acled"]
    if set(GTD_COLUMNS) <= names:
        return PRESETS["gtd"]
    if set(TIMESKETCH_COLUMNS) <= names:
        return PRESETS["timesketch"]
    looks_gdelt = len(header) > 2 and header[0].isdigit() and re.fullmatch(r"\d{8}", header[1]) is not None
    if looks_gdelt and width in (57, 58):
        return PRESETS["gdelt1"]
    if looks_gdelt and width == 61:
        return PRESETS["gdelt2"]
    return PRESETS["generic"]


class _ColumnIndex:
    """The columns by normalised name and by word, each listed in file order, built once per file: finding a
    field's column then costs one look-up per name it goes by, however many columns the file has."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.by_name: dict[str, list[str]] = {}
        self.by_token: dict[str, list[str]] = {}
        for column in columns:
            self.by_name.setdefault(normalise(column), []).append(column)
            for token in dict.fromkeys(_tokens(column)):
                self.by_token.setdefault(token, []).append(column)

    def find(self, field_name: str, taken: set[str]) -> str | None:
        """The first free column named as the field, else the first with one of its long names as a word."""
        for wanted in GENERIC_NAMES[field_name]:
            if (column := _first_free(self.by_name.get(wanted, ()), taken)) is not None:
                return column
        for wanted in GENERIC_NAMES[field_name]:
            if len(wanted) < 5:
                continue  # short names ("to", "from", "date") only count as whole names, never as parts
            if (column := _first_free(self.by_token.get(wanted, ()), taken)) is not None:
                return column
        return None


def _first_free(columns: list[str] | tuple[()], taken: set[str]) -> str | None:
    return next((c for c in columns if c not in taken), None)


def resolve_mapping(
    columns: tuple[str, ...], preset: Preset, overrides: Mapping[str, str | None]
) -> dict[str, str]:
    """Field -> column: the user's overrides, then the preset's, then the generic names."""
    present = set(columns)
    for field_name, column in overrides.items():
        if field_name not in (*s.MAPPABLE_FIELDS, END_YEAR, END_MONTH, END_DAY):
            raise UsageError(
                f"cannot map {field_name!r}: mappable fields are {', '.join(s.MAPPABLE_FIELDS)}",
                hint="use FIELD=COLUMN",
            )
        if column and column not in present:
            raise UsageError(
                f"cannot map {field_name!r} to column {column!r}: the file has no such column; "
                f"its columns are {', '.join(columns[:40])}"
            )
    mapping: dict[str, str] = {}
    for field_name, column in overrides.items():
        if column:
            mapping[field_name] = column
    if s.TIMESTAMP in mapping:
        mapping[DATE] = mapping.pop(s.TIMESTAMP)
    if s.END in mapping:
        mapping[END_DATE] = mapping.pop(s.END)
    # A column the user gave to a field is not also given by the preset; a preset may give one column to
    # two fields on purpose (TimelineJS's Group).
    chosen = set(mapping.values())
    skipped = {f for f, c in overrides.items() if not c}
    for field_name, column in preset.mapping.items():
        if (
            field_name not in mapping
            and field_name not in skipped
            and column in present
            and column not in chosen
        ):
            mapping[field_name] = column
    if preset.name != "generic":
        return mapping
    taken = set(mapping.values())
    index = _ColumnIndex(columns)
    for field_name in GENERIC_NAMES:
        if field_name in mapping or field_name in skipped:
            continue
        if field_name in (YEAR, MONTH, DAY) and DATE in mapping:
            continue
        column = index.find(field_name, taken)
        if column is not None:
            mapping[field_name] = column
            taken.add(column)
    return mapping
