"""The dataset store: immutable, content-addressed versions of events on disk, written atomically.

A version is a directory `<root>/<dataset_id>/<version>/` holding, written together in one rename:
- events.parquet: the events, laid out for engines (DuckDB, Spark) that read it directly
  (`events_path`): sorted by timestamp, then event_id (STORED_ORDER), in row groups of a fixed number of
  rows with min/max statistics, so a time window skips the groups outside it;
- rejects.csv: the input rows not imported, and why;
- meta.json: what was imported, from where, by whom (its content, with the events and rejects, gives
  the version id);
- rollups.parquet: what the version holds, counted once (`rollups`): its size, how many events hold
  each value of the filter columns, and its time span.
Versions written before the layout existed stay as they were (immutable, and links pin them): their
events are in import order without statistics, and have no rollups.parquet (`rollups` counts them from
the events); one written under an older schema lacks later columns (`events_schema_is_current`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import getpass
import hashlib
import json
import mmap
import os
import queue
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from timeline import frame as frames
from timeline import places, schema
from timeline.errors import DatasetNotFound, InvalidDatasetId, TimelineError, UsageError
from timeline.places import Place
from timeline.spilled import SpilledEvents

Root = Path | str | Place  # a store: its directory, its object store's URL, or the place itself

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "data"
ENV_VAR = "TIMELINE_DATA_DIR"
# Comma-separated ids (or names, read as ids) of datasets the page may not write into, besides the bundled.
PROTECTED_ENV_VAR = "TIMELINE_PROTECTED"
BUNDLED_DATASET_ID = "crocus-city-hall-2024"

EVENTS_FILE = "events.parquet"
META_FILE = "meta.json"
REJECTS_FILE = "rejects.csv"
# Beside a dataset's versions: one JSON line per withdrawn version; lines are only ever added.
WITHDRAWALS_FILE = "withdrawn.jsonl"
VERSION_FILES: tuple[str, ...] = (EVENTS_FILE, META_FILE, REJECTS_FILE)
# Written into every version since the store counts them at import; versions written before have none.
ROLLUPS_FILE = "rollups.parquet"
# The order of the events in a version: by time, so each row group holds one stretch of time and an engine
# skips the groups a window misses; event_id (unique) breaks ties, so the same events give the same bytes,
# and the same version, whatever order they were imported in.
STORED_ORDER: tuple[tuple[str, str], ...] = ((schema.TIMESTAMP, "ascending"), (schema.EVENT_ID, "ascending"))
# The columns whose values rollups count: those the page filters and draws lanes by.
ROLLUP_COLUMNS: tuple[str, ...] = (
    schema.ACTOR,
    schema.ACTOR_GROUP,
    schema.ACTOR_TYPE,
    schema.EVENT_TYPE,
    schema.TIME_PRECISION,
)

# The columns the timeline draws lanes by: rollups keep where each value's events lie (Rollups.spans).
LANE_COLUMNS: tuple[str, ...] = (schema.ACTOR, schema.ACTOR_GROUP)

REJECTS_SCHEMA = pa.schema([("line", pa.int64()), ("reason", pa.string()), ("record", pa.string())])
# rollups.parquet: one row per column and value (value null: the events without one); then, per lane
# column, one row per value with its span (column "<_SPANS_PREFIX><name>", count: its events; first, stop,
# last: see Rollups.spans); and the whole version's figures (Rollups.rows and the times) as JSON in the
# file's metadata under _ROLLUPS_TOTALS. Files written before spans were kept lack the last three columns.
_COUNTS_SCHEMA = pa.schema(
    [
        pa.field("column", pa.string(), nullable=False),
        pa.field("value", pa.string()),
        pa.field("count", pa.int64(), nullable=False),
    ]
)
_SPAN_COLUMNS = ("first", "stop", "last")
_ROLLUPS_SCHEMA = pa.schema([*_COUNTS_SCHEMA, *(pa.field(name, pa.int64()) for name in _SPAN_COLUMNS)])
_SPANS_PREFIX = "lanes:"
_SPANS_SCHEMA = pa.schema(
    [pa.field("value", pa.string()), *(pa.field(name, pa.int64()) for name in (*_SPAN_COLUMNS, "events"))]
)
_ROLLUPS_TOTALS = b"timeline.rollups"
_ROLLUP_TIMES = ("min_start_us", "max_stop_us", "max_span_us")

# Fields save() owns; the importer's meta cannot set them.
_BOOKKEEPING = ("dataset_id", "version", "created", "rows", "parent_version", "appended", "saved_by")
# Fields left out of the content hash: they describe the act of saving, not what was saved, so the same
# content saved by anyone at any time is the same version (and `make data` keeps the bundled version's id).
_UNHASHED = ("created", "version", "saved_by")
# Fields that describe the import that made one version. A merge takes these from its own import; every
# other field a version's meta holds (name, anchor, ...) is the dataset's and is kept from the version merged
# into. tests/test_store.py checks that ingest.version_meta writes no field this list and "name" leave out.
IMPORT_FIELDS: tuple[str, ...] = (
    "source_file",
    "source_sha256",
    "tz",
    "date_order",
    "mapping_overrides",
    "input_columns",
    "rows_read",
    "accepted",
    "rejected",
    "duplicates",
    "mapping",
    "preset",
    "encoding",
    "delimiter",
    "notices",
)
Via = Literal["page", "cli"]

_DATASET_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_VERSION_ID = re.compile(r"[0-9a-f]{12}")
_SLUG_MAX = 64
_LISTED_IN_ERRORS = 10
# Columns with few distinct values in any dataset: dictionary-encoded in Parquet (free text is not).
_DICTIONARY_COLUMNS = (
    schema.TIME_PRECISION,
    schema.ACTOR,
    schema.ACTOR_GROUP,
    schema.ACTOR_TYPE,
    schema.TARGET,
    schema.EVENT_TYPE,
    schema.LOCATION,
    schema.SOURCE_NAME,
)
# Free text: no engine filters it by range, and its min/max would fill the file's footer, so it has no
# statistics (every other column has: time above all, which a window is pruned by).
_UNSUMMARISED_COLUMNS = (schema.TITLE, schema.DESCRIPTION, schema.SOURCE_URL, schema.EXTRA)
_ROWS_PER_PAGE = 20_000
# Row groups are read in parallel, and one is all that must be read for a single row's text; a window
# of time prunes whole groups, so smaller groups read less around its edges.
_ROWS_PER_GROUP = 65_536
_UNLIMITED_BYTES = 1 << 40


class StoreError(TimelineError):
    """The store cannot do what was asked: a stored file cannot be read, a write failed or is refused."""


class StoreWriteError(StoreError):
    """The disk refused a write (full, read-only, no permission...): nothing was saved."""


class ProtectedDataset(StoreError):
    """A dataset the page may not write into (the bundled one, or one the operator protects)."""


class VersionWithdrawn(DatasetNotFound):
    """The version asked for was withdrawn by an operator: it is kept on disk but never shown."""


@dataclass(frozen=True)
class Author:
    """Who saves a version or withdraws one, and from where: the page (a signed-in user) or the CLI."""

    name: str
    via: Via
    email: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise UsageError(f"an author needs a name, got {self.name!r}")
        if self.via not in get_args(Via):
            raise UsageError(f"an author writes via {' or '.join(get_args(Via))}, got {self.via!r}")

    @classmethod
    def operator(cls, name: str | None = None) -> Author:
        """The operator at the command line: name, else the login name of the user running this process."""
        if not name:
            try:
                name = getpass.getuser()
            except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
                name = f"uid {os.getuid()}"
        return cls(name, "cli")

    def describe(self) -> str:
        """The author in words: 'alice (alice@example.org) on the page'."""
        who = f"{self.name} ({self.email})" if self.email else self.name
        return f"{who} {'on the page' if self.via == 'page' else 'from the command line'}"


@dataclass(frozen=True)
class Withdrawal:
    """A version an operator withdrew: who, when (UTC, ISO 8601) and why."""

    dataset_id: str
    version: str
    withdrawn: str
    by: Author
    reason: str

    @property
    def notice(self) -> str:
        """One sentence a reader or a script gets instead of the version."""
        when = _parse_created(self.withdrawn).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"version {self.version} of {self.dataset_id!r} was withdrawn on {when} "
            f"by {self.by.describe()}: {self.reason}"
        )


@dataclass(frozen=True)
class VersionInfo:
    """One immutable version of a dataset, as described by its meta.json."""

    dataset_id: str
    version: str
    created: str
    name: str
    path: Path | str  # its directory; in an object store, its URL (timeline.places)
    meta: dict

    @property
    def saved_by(self) -> Author | None:
        """Who saved this version, as its meta.json records it (None for versions saved before it was
        recorded, or by a library caller that gave no author)."""
        recorded = self.meta.get("saved_by")
        try:
            return Author(recorded["name"], recorded["via"], recorded.get("email"))
        except (TypeError, KeyError, AttributeError, UsageError):
            return None


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset and its complete versions that were not withdrawn, newest first; and the withdrawn ones."""

    dataset_id: str
    name: str
    versions: tuple[VersionInfo, ...]
    withdrawn: tuple[Withdrawal, ...] = ()

    @property
    def latest(self) -> VersionInfo:
        """The newest version: the one that opens by default."""
        return self.versions[0]


@dataclass(frozen=True)
class Rollups:
    """What a whole version holds, counted once at import: what the overview and the sidebar show
    without an engine scanning the events.

    counts: per ROLLUP_COLUMNS, how many events hold each value, most frequent first, then by value
    (as timeline.frame.counts gives them); null_counts: per ROLLUP_COLUMNS, how many hold none.
    Times are UTC microseconds, as timeline.frame.prepare computes each event's interval (start_us,
    stop_us): the earliest start, the latest stop, and the longest stop - start, by which a window's
    lower edge bounds the timestamps it can meet (timestamp >= lo - max_span_us). None without events.
    """

    rows: int
    counts: dict[str, pd.Series]
    null_counts: dict[str, int]
    min_start_us: int | None
    max_stop_us: int | None
    max_span_us: int | None
    # Per LANE_COLUMNS, a table of each value's span (value null: the events without one): first (the
    # earliest start), stop (the latest stop, a stop taken as at least its start), last (the latest
    # max(stop - 1, start)) and events, what the overview's lanes need (timeline.overview.LaneSpans).
    # Empty for a rollups.parquet written before spans were kept.
    spans: dict[str, pa.Table] = dataclasses.field(default_factory=dict)


def store_root() -> Path | str:
    """The store: $TIMELINE_DATA_DIR if set (a directory, or an object store's URL: timeline.places), else
    the project's data/ directory."""
    configured = os.environ.get(ENV_VAR, "").strip()
    if not configured:
        return DEFAULT_ROOT
    return configured if places.is_url(configured) else Path(configured).expanduser()


def slugify(name: str) -> str:
    """Turn a human dataset name into a dataset id (lowercase ascii letters, digits and dashes).

    Names are compared as Unicode compares them, NFKC and case-folded first: a fullwidth or otherwise
    compatible lookalike of a name gives the same id, so it can only reach that dataset knowingly.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(name)).casefold())
    ascii_name = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = slug[:_SLUG_MAX].rstrip("-")
    if not slug:
        raise UsageError(
            f"the name {name!r} has no letters or digits to make a dataset id from",
            hint="use a name with at least one letter or digit",
        )
    return slug


def validate_dataset_id(dataset_id: str) -> str:
    """Return dataset_id if it is a slug of 1-64 chars (a-z, 0-9, inner '-'), else raise InvalidDatasetId."""
    if not isinstance(dataset_id, str) or not _DATASET_ID.fullmatch(dataset_id):
        raise InvalidDatasetId(
            f"invalid dataset id {dataset_id!r}",
            hint="a dataset id is 1-64 characters a-z, 0-9 and '-', not starting or ending with '-'",
        )
    return dataset_id


def validate_version_id(version: str) -> str:
    """Return version if it is 12 lowercase hex characters, else raise InvalidDatasetId."""
    if not isinstance(version, str) or not _VERSION_ID.fullmatch(version):
        raise InvalidDatasetId(
            f"invalid version id {version!r}",
            hint="a version id is 12 characters 0-9 and a-f",
        )
    return version


def protected_datasets() -> frozenset[str]:
    """The ids the page may not write into: the bundled dataset and those $TIMELINE_PROTECTED lists."""
    listed = os.environ.get(PROTECTED_ENV_VAR, "")
    ids = {BUNDLED_DATASET_ID}
    for entry in (part.strip() for part in listed.split(",")):
        if not entry:
            continue
        try:
            ids.add(slugify(entry))
        except UsageError as exc:
            raise UsageError(
                f"{PROTECTED_ENV_VAR} lists {entry!r}, which is no dataset id",
                hint="list dataset ids separated by commas, e.g. crocus-city-hall-2024,team-notes",
            ) from exc
    return frozenset(ids)


def write_refusal(dataset_id: str, author: Author | None) -> str | None:
    """Why author may not save a version into dataset_id, or None when they may.

    A protected dataset takes versions from the command line only (the operator); the page, or a caller
    that does not say who it is, is refused. save() asks this too, so no page can get around it.
    """
    if author is not None and author.via == "cli":
        return None
    if validate_dataset_id(dataset_id) not in protected_datasets():
        return None
    return (
        f"the dataset {dataset_id!r} is protected: no version can be saved into it from the page. "
        "Choose another name for your dataset."
    )


@dataclass(frozen=True)
class _VersionFiles:
    """What a version's events are stored as: the events Parquet, in STORED_ORDER, and their rollups."""

    events: memoryview
    rollups: bytes

    @classmethod
    def of(cls, events: pa.Table) -> _VersionFiles:
        return cls(_events_parquet(events), _rollups_parquet(_light_pieces(events)))

    @classmethod
    def of_spilled(cls, events: SpilledEvents) -> tuple[_VersionFiles, pa.ChunkedArray | None]:
        """The files of spilled events, read back once in STORED_ORDER (this thread encodes each group
        while a second counts the one before: both release the GIL), and their event ids, unless the
        importer has checked them over the whole file (SpilledEvents.ids_unique)."""
        light: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
        event_ids: list[pa.ChunkedArray] = []

        def counted() -> bytes:
            pieces = iter(light.get, None)
            try:
                return _rollups_parquet(pieces)
            finally:
                for _ in pieces:  # never leave the encoder waiting on a full queue
                    pass

        def groups() -> Iterator[pa.Table]:
            try:
                for group in events.in_order(in_stored_order, _ROWS_PER_GROUP):
                    light.put(group.select(list(frames.LIGHT_COLUMNS)))
                    if not events.ids_unique:
                        event_ids.append(group[schema.EVENT_ID])
                    yield group
            finally:
                light.put(None)

        sorting = pq.SortingColumn.from_ordering(schema.ARROW_SCHEMA, list(STORED_ORDER))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollups") as pool:
            rollups = pool.submit(counted)
            parquet = _parquet(groups(), schema.ARROW_SCHEMA, sorting_columns=sorting)
            if events.ids_unique:
                return cls(parquet, rollups.result()), None
            ids = pa.chunked_array([chunk for column in event_ids for chunk in column.chunks], pa.string())
            return cls(parquet, rollups.result()), ids


def save(
    events: pa.Table | SpilledEvents,
    rejects: pa.Table,
    meta: dict,
    *,
    dataset_id: str,
    append: bool = False,
    root: Root | None = None,
    source: bytes | mmap.mmap | Path | None = None,
    author: Author | None = None,
) -> VersionInfo:
    """Store events, rejects and meta as a new version of dataset_id (or return the identical newest one).

    The events are stored in STORED_ORDER, with their rollups (see the module's docstring). With
    append=True they are merged with the newest version's, de-duplicated by event_id (a stored row wins
    over a new one with the same id); the new version keeps the dataset-level fields of the newest
    version's meta (every field but IMPORT_FIELDS: name, anchor...). source is the file the events were
    read from (its content or its path): meta records its SHA-256 as source_sha256 (hashed on a second
    core while the Parquet is encoded). events may be SpilledEvents (see spilled): they are read back in
    order a range at a time. An append spills the stored events with the new ones (see _merged), so it
    never holds either whole. author is recorded as saved_by; a protected
    dataset refuses any author but the command line's (ProtectedDataset). A write the disk refuses
    raises StoreWriteError, and nothing is saved.
    """
    validate_dataset_id(dataset_id)
    if author is not None and not isinstance(author, Author):
        raise UsageError(f"author must be a store.Author, got {type(author).__name__}")
    if (refusal := write_refusal(dataset_id, author)) is not None:
        raise ProtectedDataset(refusal)
    if not isinstance(events, SpilledEvents):
        events = _conform_events(events)
    rejects = _conform_rejects(rejects)
    if not isinstance(meta, dict):
        raise UsageError(f"meta must be a dict, got {type(meta).__name__}")
    _meta_json(meta)  # refuse meta JSON cannot hold before touching the disk
    place = _root(root)
    with _writing(place), ThreadPoolExecutor(max_workers=1) as pool:
        # Sorting and encoding the events keeps one core busy: the ids are checked, the source hashed and
        # the rollups counted on the other meanwhile. (An append lays out the merged events, once it has
        # them.)
        source_sha256 = None if source is None else pool.submit(_sha256, source)
        if isinstance(events, SpilledEvents):
            # Where the importer has checked the ids over the whole file, they are not counted again.
            files, event_ids = (None, None) if append else _VersionFiles.of_spilled(events)
            if append and not events.ids_unique:
                event_ids = events.column(schema.EVENT_ID)
            examples = (
                [] if event_ids is None else _repeated_event_ids(pa.table({schema.EVENT_ID: event_ids}))
            )
        else:
            repeated = pool.submit(_repeated_event_ids, events)
            counted = None if append else pool.submit(_rollups_parquet, _light_pieces(events))
            files = None if append else _VersionFiles(_events_parquet(events), counted.result())
            examples = repeated.result()
        if source_sha256 is not None:
            meta = {**meta, "source_sha256": source_sha256.result()}
    _refuse([f"event_id is not unique: {', '.join(map(repr, examples))}"] if examples else [])
    with _writing(place):
        return _save_locked(place, dataset_id, events, rejects, meta, files, author)


def _sha256(source: bytes | mmap.mmap | Path) -> str:
    """The source file's SHA-256: of its content, or read from its path a buffer at a time."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    return hashlib.sha256(source).hexdigest()


def _save_locked(
    place: Place,
    dataset_id: str,
    events: pa.Table | SpilledEvents,
    rejects: pa.Table,
    meta: dict,
    files: _VersionFiles | None,
    author: Author | None,
) -> VersionInfo:
    """save(), from taking the dataset's lock on; files None: an append (laid out once merged)."""
    place.make_dataset(dataset_id)
    with place.locked(dataset_id):
        place.remove_leftovers(dataset_id)
        everything = _complete_versions(place, dataset_id)
        versions = _not_withdrawn(everything, _withdrawals(place, dataset_id))
        newest = versions[0] if versions else None
        own_meta = {key: value for key, value in meta.items() if key not in _BOOKKEEPING}
        own_meta["dataset_id"] = dataset_id
        rows = events.num_rows
        if files is None and newest is not None:
            with _merged(place, newest, events) as (merged, appended):
                files, rows = _VersionFiles.of_spilled(merged)[0], merged.num_rows
            own_meta.update(_dataset_fields(newest.meta))
            own_meta["parent_version"] = newest.version
            own_meta["appended"] = appended
        own_meta["rows"] = rows
        if files is None:
            files = (
                _VersionFiles.of_spilled(events)[0]
                if isinstance(events, SpilledEvents)
                else _VersionFiles.of(events)
            )
        parquet = files.events
        rejects_csv = _rejects_bytes(rejects)
        version = _content_id(parquet, rejects_csv, own_meta)
        existing = {info.version for info in everything}
        if newest is not None and newest.version == version:
            return newest
        if newest is not None and _same_content(place, newest, parquet, rejects_csv, own_meta):
            return newest
        if newest is not None and version in existing:
            # Re-saving an older version's content makes it current again: a new version whose
            # parent is the present newest (versions are immutable, so the old one is not touched).
            own_meta["parent_version"] = newest.version
            version = _content_id(parquet, rejects_csv, own_meta)
        created = _next_created(everything[0] if everything else None)
        stored_meta = {**own_meta, "version": version, "created": created}
        if author is not None:
            stored_meta["saved_by"] = asdict(author)
        place.put_version(
            dataset_id,
            version,
            {
                EVENTS_FILE: files.events,
                ROLLUPS_FILE: files.rollups,
                REJECTS_FILE: rejects_csv,
                META_FILE: _meta_json(stored_meta),  # last: a version counts once its meta.json is there
            },
        )
        info = _version_info_at(place, dataset_id, version)
        if info is None:
            raise StoreError(f"dataset {dataset_id!r} version {version} was written but cannot be read back")
        return info


def load(
    dataset_id: str,
    version: str | None = None,
    *,
    columns: Sequence[str] | None = None,
    root: Root | None = None,
) -> pa.Table:
    """The events of a version (newest when version is None), with schema.ARROW_SCHEMA; only the given
    canonical columns (in schema order) when columns is set: a column not read costs nothing."""
    place = _root(root)
    info = version_info(dataset_id, version, root=place)
    return _read_events(place, info, columns)


def events_path(dataset_id: str, version: str | None = None, *, root: Root | None = None) -> str:
    """The events.parquet of a version (newest when version is None), for an engine to read directly.

    Checked as load checks: an id that is not a slug, a file outside the store, a missing or withdrawn
    version raise the errors load raises. Its columns are schema.ARROW_SCHEMA's, unless the version was
    written under an older schema: see events_schema_is_current. An absolute path, or in an object store
    the object's URL (with the store's options: timeline.places).
    """
    place = _root(root)
    info = version_info(dataset_id, version, root=place)
    return place.location(*_checked_file(place, info, EVENTS_FILE))


def events_schema_is_current(
    dataset_id: str, version: str | None = None, *, root: Root | None = None
) -> bool:
    """Whether a version's events.parquet has exactly schema.ARROW_SCHEMA (names, types, order, which
    columns are required). False for a version written under an older schema (a column added since is
    missing): an engine must not read its file as it is, but what load gives (the missing nullable
    columns empty). Reads the file's footer only."""
    place = _root(root)
    info = version_info(dataset_id, version, root=place)
    parts = _checked_file(place, info, EVENTS_FILE)
    with _reading_events(info, place, parts), place.open(*parts) as file:
        return pq.read_schema(file).equals(schema.ARROW_SCHEMA)


def rollups(dataset_id: str, version: str | None = None, *, root: Root | None = None) -> Rollups:
    """What a version (newest when version is None) holds, counted once: read from its rollups.parquet.

    A version written before rollups were has none: its events are counted (only the columns needed, a
    row group at a time, so memory stays bounded however big it is) and nothing is written into it
    (versions are immutable). Errors as load's.
    """
    place = _root(root)
    info = version_info(dataset_id, version, root=place)
    parts = _checked_file(place, info, ROLLUPS_FILE)
    if not place.is_file(*parts):
        return _count_rollups(_read_event_pieces(place, info, frames.LIGHT_COLUMNS))
    try:
        with place.open(*parts) as file:
            return _read_rollups(pq.read_table(file))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise StoreError(
            f"the rollups of dataset {dataset_id!r} version {info.version} cannot be read: {exc}",
            file=place.location(*parts),
        ) from exc


def load_rejects(dataset_id: str, version: str | None = None, *, root: Root | None = None) -> pa.Table:
    """The rejected input rows of a version: columns line, reason, record."""
    place = _root(root)
    info = version_info(dataset_id, version, root=place)
    parts = _checked_file(place, info, REJECTS_FILE)
    try:
        with place.open(*parts) as file:
            return pcsv.read_csv(
                file,
                read_options=pcsv.ReadOptions(block_size=min(max(file.size() + 1, 1 << 20), (1 << 31) - 1)),
                parse_options=pcsv.ParseOptions(newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(
                    column_types=dict(zip(REJECTS_SCHEMA.names, REJECTS_SCHEMA.types, strict=True)),
                    include_columns=REJECTS_SCHEMA.names,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            ).cast(REJECTS_SCHEMA)
    except (pa.ArrowException, OSError) as exc:
        raise StoreError(
            f"the rejected rows of dataset {dataset_id!r} version {info.version} cannot be read: {exc}",
            file=place.location(*parts),
        ) from exc


def version_info(dataset_id: str, version: str | None = None, *, root: Root | None = None) -> VersionInfo:
    """Describe one version of a dataset; version None means the newest not withdrawn.

    A withdrawn version raises VersionWithdrawn, whose message says when, by whom and why.
    """
    validate_dataset_id(dataset_id)
    if version is not None:
        validate_version_id(version)
    place = _root(root)
    withdrawals = _withdrawals(place, dataset_id)
    if version in withdrawals:
        raise VersionWithdrawn(
            withdrawals[version].notice, hint="`python -m timeline list --all` shows every version"
        )
    if version is not None:
        info = _version_info_at(place, dataset_id, version)
        if info is not None:
            return info
    versions = _not_withdrawn(_complete_versions(place, dataset_id), withdrawals)
    if not versions:
        available = [dataset.dataset_id for dataset in list_datasets(root=place)]
        raise DatasetNotFound(
            f"no dataset {dataset_id!r} in the store; available: {_enumerate(available)}",
            hint="`python -m timeline list` shows the datasets",
        )
    if version is None:
        return versions[0]
    raise DatasetNotFound(
        f"dataset {dataset_id!r} has no version {version!r}; "
        f"available, newest first: {_enumerate([info.version for info in versions])}",
    )


def list_datasets(*, root: Root | None = None) -> list[DatasetInfo]:
    """Every dataset with at least one complete version not withdrawn, sorted by dataset id."""
    place = _root(root)
    datasets = []
    for dataset_id in _dataset_ids(place):
        withdrawals = _withdrawals(place, dataset_id)
        versions = _not_withdrawn(_complete_versions(place, dataset_id), withdrawals)
        if versions:
            datasets.append(DatasetInfo(dataset_id, versions[0].name, versions, _latest_first(withdrawals)))
    return datasets


def withdrawals(dataset_id: str, *, root: Root | None = None) -> tuple[Withdrawal, ...]:
    """The dataset's withdrawn versions, the latest withdrawal first."""
    return _latest_first(_withdrawals(_root(root), validate_dataset_id(dataset_id)))


def withdraw(
    dataset_id: str, version: str, *, reason: str, author: Author, root: Root | None = None
) -> Withdrawal:
    """Withdraw a version: hidden from lists, links and exports from now on, kept on disk, and recorded
    (who, when, why) in the dataset's withdrawn.jsonl. Operators only (author.via == "cli"). The only
    version left cannot be withdrawn: the dataset would vanish and every link to it with it."""
    validate_dataset_id(dataset_id)
    validate_version_id(version)
    if not isinstance(author, Author) or author.via != "cli":
        raise UsageError("versions are withdrawn by an operator, from the command line")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise UsageError("say why the version is withdrawn", hint="--reason TEXT")
    place = _root(root)
    version_info(dataset_id, version, root=place)  # it exists, and is not withdrawn yet
    with _writing(place), place.locked(dataset_id):
        withdrawals = _withdrawals(place, dataset_id)
        if version in withdrawals:
            raise VersionWithdrawn(withdrawals[version].notice)
        left = _not_withdrawn(_complete_versions(place, dataset_id), withdrawals)
        if [v.version for v in left] == [version]:
            raise UsageError(
                f"version {version} is the only version of {dataset_id!r} left; withdrawing it "
                "would remove the dataset",
                hint="save a corrected version first, then withdraw this one",
            )
        withdrawal = Withdrawal(
            dataset_id, version, datetime.now(UTC).isoformat(timespec="microseconds"), author, reason
        )
        _append_withdrawal(place, dataset_id, withdrawal)
    return withdrawal


def remove_leftovers(*, root: Root | None = None) -> int:
    """Remove what interrupted writes left behind (.tmp-* entries); how many were removed.

    Only in datasets whose lock is free at once: a save holds its dataset's lock while it writes, so under
    the lock every .tmp-* is dead; a dataset being saved to is left for the next start. Never fails: a
    store that cannot be written (read-only, no permission) is simply left as it is.
    """
    place = _root(root)
    removed = 0
    try:
        dataset_ids = _dataset_ids(place)
    except OSError:  # a store that cannot be listed: the command that needs it says so
        return 0
    for dataset_id in dataset_ids:
        if not place.has_leftovers(dataset_id):
            continue  # no lock taken for nothing: looking at a store writes nothing (not even a lock)
        with contextlib.suppress(OSError), place.locked(dataset_id, wait=False):
            removed += place.remove_leftovers(dataset_id)
    return removed


def in_stored_order(events: pa.Table) -> pa.Table:
    """Events in the order a version stores them (STORED_ORDER): by timestamp, then event_id."""
    order = _stored_order(events)
    return events if order is None else events.take(order)


def _stored_order(events: pa.Table) -> np.ndarray | None:
    """The positions of the events in STORED_ORDER; None when they are in it already (moving every row is
    what costs). Timestamps are sorted as integers (a stable sort), and only the rows that share a
    timestamp with another are then ordered by event_id: Arrow's sort of both keys compares far more."""
    stamps = pc.cast(events[schema.TIMESTAMP], pa.int64()).to_numpy()
    if len(stamps) < 2 or bool((stamps[1:] > stamps[:-1]).all()):
        return None
    order = np.argsort(stamps, kind="stable")
    ranked = stamps[order]
    tied_next = ranked[1:] == ranked[:-1]
    if tied_next.any():
        tied = np.zeros(len(order), dtype=bool)
        tied[1:] |= tied_next
        tied[:-1] |= tied_next
        places = np.flatnonzero(tied)  # runs of one timestamp, in timestamp order
        rows = order[places]
        keys = pa.table({"stamp": ranked[places], "id": events[schema.EVENT_ID].take(pa.array(rows))})
        by_id = pc.sort_indices(keys, sort_keys=[("stamp", "ascending"), ("id", "ascending")]).to_numpy()
        order[places] = rows[by_id]
    if bool((order == np.arange(len(order))).all()):
        return None
    return order


def _events_parquet(events: pa.Table) -> memoryview:
    """A version's events.parquet: the events in STORED_ORDER, which its row groups declare (an engine
    may rely on it). The rows of each row group are gathered on a second thread while this one encodes
    the group before (both release the GIL): the same bytes as encoding the sorted table whole."""
    order = _stored_order(events)
    sorting = pq.SortingColumn.from_ordering(schema.ARROW_SCHEMA, list(STORED_ORDER))
    if order is None:
        return _parquet([events], events.schema, sorting_columns=sorting)
    # Arrow's take joins a chunked table's chunks first, a copy of every column at every call: join once.
    events = events.combine_chunks()
    bounds = range(0, len(order), _ROWS_PER_GROUP)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gather") as gatherer:
        groups = gatherer.map(lambda at: events.take(pa.array(order[at : at + _ROWS_PER_GROUP])), bounds)
        return _parquet(groups, events.schema, sorting_columns=sorting)


def _parquet(
    groups: Iterable[pa.Table],
    table_schema: pa.Schema,
    sorting_columns: Sequence[pq.SortingColumn] | None = None,
) -> memoryview:
    """Events as Parquet, given as consecutive tables (row groups are cut every _ROWS_PER_GROUP rows all the
    same), in the buffer Arrow wrote it to (not copied: a million events are 46 MB); the same rows always
    give the same bytes, however they are cut into tables and their columns into chunks.

    LZ4: the fastest to write and to read back. Row groups of a fixed number of rows, with min/max
    statistics of every column but free text, so an engine skips the groups a filter excludes. Pages
    end after a fixed number of rows, never at a size, and the dictionary-encoded columns never fall
    back to plain: Arrow checks sizes where a chunk ends, so either would make the bytes (and so the
    version id) depend on how an import happened to chunk its columns.
    """
    sink = pa.BufferOutputStream()
    names = table_schema.names
    with pq.ParquetWriter(
        sink,
        table_schema,
        sorting_columns=sorting_columns,
        compression="lz4_raw",
        write_statistics=[name for name in names if name not in _UNSUMMARISED_COLUMNS],
        use_dictionary=[name for name in _DICTIONARY_COLUMNS if name in names],
        max_rows_per_page=_ROWS_PER_PAGE,
        data_page_size=_UNLIMITED_BYTES,
        dictionary_pagesize_limit=_UNLIMITED_BYTES,
    ) as writer:
        for group in groups:
            writer.write_table(group, row_group_size=_ROWS_PER_GROUP)
    return memoryview(sink.getvalue()).cast("B")  # bytes, as bytes compare (Arrow exports signed chars)


def _root(root: Root | None) -> Place:
    return places.at(root if root is not None else store_root())


def _dataset_ids(place: Place) -> list[str]:
    return sorted(name for name in place.names() if _DATASET_ID.fullmatch(name))


_FAULTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the store is on a read-only file system",
    errno.EACCES: "permission to write there was denied",
    errno.EPERM: "permission to write there was denied",
    errno.EIO: "the disk reported an input/output error",
}


@contextlib.contextmanager
def _writing(place: Place) -> Iterator[None]:
    """Turn a write the disk refuses into a StoreWriteError that says so plainly, naming the store."""
    try:
        yield
    except OSError as exc:
        why = _FAULTS.get(exc.errno or 0) or exc.strerror or str(exc)
        where = exc.filename or place
        raise StoreWriteError(
            f"the data was NOT saved: {why} (writing {where}, in the store {place}); "
            "nothing in the store was changed",
            hint=f"free space, make the store writable or set ${ENV_VAR} to another place; then save again",
        ) from exc


def _dataset_fields(meta: dict) -> dict:
    """The fields of a version's meta that belong to its dataset, not to the import or the save."""
    return {key: value for key, value in meta.items() if key not in IMPORT_FIELDS and key not in _BOOKKEEPING}


def _enumerate(ids: list[str]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(ids[:_LISTED_IN_ERRORS])
    more = len(ids) - _LISTED_IN_ERRORS
    return f"{shown} and {more} more" if more > 0 else shown


def _conform_events(events: pa.Table) -> pa.Table:
    """Check events against the canonical schema, reporting every problem at once; cast nullability."""
    if not isinstance(events, pa.Table):
        raise UsageError(f"events must be a pyarrow Table, got {type(events).__name__}")
    problems = []
    missing = [name for name in schema.COLUMN_NAMES if name not in events.column_names]
    unknown = [name for name in events.column_names if name not in schema.COLUMN_NAMES]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(map(repr, unknown))}")
    if len(set(events.column_names)) != events.num_columns:
        problems.append("duplicate column names")
    if not problems:
        for field in schema.ARROW_SCHEMA:
            column = events.column(field.name)
            if column.type != field.type:
                problems.append(f"column {field.name!r} has type {column.type}, expected {field.type}")
            elif field.name in schema.REQUIRED and column.null_count:
                problems.append(f"required column {field.name!r} has {column.null_count} empty values")
    _refuse(problems)
    return events.select(list(schema.COLUMN_NAMES)).cast(schema.ARROW_SCHEMA)


def _repeated_event_ids(events: pa.Table) -> list[str]:
    """A few event ids that occur more than once in (canonical) events; none when all are unique."""
    event_ids = events.column(schema.EVENT_ID)
    if len(pc.unique(event_ids)) == events.num_rows:
        return []
    counts = pc.value_counts(event_ids)
    return [row["values"] for row in counts.filter(pc.greater(counts.field("counts"), 1))[:5].to_pylist()]


def _refuse(problems: list[str]) -> None:
    if problems:
        raise UsageError(
            "events do not match the canonical schema: " + "; ".join(problems),
            hint="see timeline.schema.ARROW_SCHEMA",
        )


def _conform_rejects(rejects: pa.Table) -> pa.Table:
    if not isinstance(rejects, pa.Table):
        raise UsageError(f"rejects must be a pyarrow Table, got {type(rejects).__name__}")
    if sorted(rejects.column_names) != sorted(REJECTS_SCHEMA.names):
        raise UsageError(
            "rejects must have the columns line, reason, record; "
            f"got {', '.join(rejects.column_names) or 'none'}"
        )
    try:
        return rejects.select(REJECTS_SCHEMA.names).cast(REJECTS_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UsageError(
            f"rejects columns must be line (int64), reason (string), record (string): {exc}"
        ) from exc


def _rejects_bytes(rejects: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pcsv.write_csv(rejects.combine_chunks(), sink)
    return sink.getvalue().to_pybytes()


def _meta_json(meta: dict) -> bytes:
    try:
        text = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"meta must be JSON-serialisable: {exc}") from exc
    return (text + "\n").encode("utf-8")


def _content_id(parquet: memoryview, rejects_csv: bytes, meta: dict) -> str:
    hashed_meta = {key: value for key, value in meta.items() if key not in _UNHASHED}
    digest = hashlib.sha256()
    for part in (parquet, rejects_csv, _meta_json(hashed_meta)):
        digest.update(part)
    return digest.hexdigest()[:12]


def _same_content(
    place: Place, newest: VersionInfo, parquet: memoryview, rejects_csv: bytes, meta: dict
) -> bool:
    """Whether newest holds exactly this content, bookkeeping aside (e.g. it restored an older version)."""
    ignored = (*_UNHASHED, "parent_version")
    mine = {key: value for key, value in json.loads(_meta_json(meta)).items() if key not in ignored}
    theirs = {key: value for key, value in newest.meta.items() if key not in ignored}
    if mine != theirs:
        return False
    try:
        return (
            place.read_bytes(*_checked_file(place, newest, REJECTS_FILE)) == rejects_csv
            and place.read_bytes(*_checked_file(place, newest, EVENTS_FILE)) == parquet
        )
    except (OSError, DatasetNotFound):
        return False


@contextlib.contextmanager
def _merged(
    place: Place, newest: VersionInfo, new: pa.Table | SpilledEvents
) -> Iterator[tuple[SpilledEvents, int]]:
    """The newest version's events and the new ones whose event_id it does not hold (a stored event
    wins), spilled to disk a piece at a time, so an append holds neither version's events whole; and how
    many were added. The spilled events are removed on leaving."""
    stored_ids = pa.chunked_array(
        [
            chunk
            for piece in _read_event_pieces(place, newest, [schema.EVENT_ID])
            for chunk in piece[0].chunks
        ],
        pa.string(),
    )
    new_ids = new.column(schema.EVENT_ID)
    positions = pa.table({"id": new_ids, "at": pa.array(np.arange(len(new_ids), dtype=np.int64))})
    absent = positions.join(pa.table({"id": stored_ids}), keys="id", join_type="left anti")["at"]
    fresh = np.zeros(len(new_ids), dtype=bool)
    fresh[absent.to_numpy()] = True
    del stored_ids, positions, absent
    with SpilledEvents() as merged:
        stored_rows = 0
        for piece in _read_event_pieces(place, newest, schema.COLUMN_NAMES):
            merged.add(piece)
            stored_rows += piece.num_rows
        start = 0
        pieces = new.pieces() if isinstance(new, SpilledEvents) else _slices(new)
        for piece in pieces:
            kept = fresh[start : start + piece.num_rows]
            start += piece.num_rows
            if kept.any():
                merged.add(piece.filter(pa.array(kept)))
        added = int(fresh.sum())
        merged.finish(stored_rows + added, ids_unique=True)  # stored ids, and new ones not among them
        yield merged, added


def _slices(events: pa.Table) -> Iterator[pa.Table]:
    return (events.slice(offset, _ROWS_PER_GROUP) for offset in range(0, events.num_rows, _ROWS_PER_GROUP))


def _light_pieces(events: pa.Table) -> Iterator[pa.Table]:
    """The events' frames.LIGHT_COLUMNS, a row group's worth at a time."""
    return _slices(events.select(list(frames.LIGHT_COLUMNS)))


def _rollups_parquet(pieces: Iterable[pa.Table]) -> bytes:
    """A version's rollups.parquet: events, given in pieces of frames.LIGHT_COLUMNS, counted (see
    _ROLLUPS_SCHEMA)."""
    counted = _count_rollups(pieces)
    columns, values, counts = [], [], []
    for name in ROLLUP_COLUMNS:
        tally = counted.counts[name]
        nulls = [None] if counted.null_counts[name] else []
        columns += [name] * (len(tally) + len(nulls))
        values += tally.index.tolist() + nulls
        counts += tally.tolist() + [counted.null_counts[name]] * len(nulls)
    tables = [
        pa.table(
            [columns, values, counts, *([None] * len(columns) for _ in _SPAN_COLUMNS)], schema=_ROLLUPS_SCHEMA
        )
    ]
    for name, spans in counted.spans.items():
        column = pa.array([_SPANS_PREFIX + name] * spans.num_rows, pa.string())
        tables.append(
            pa.Table.from_arrays(
                [column, spans["value"], spans["events"], *(spans[span] for span in _SPAN_COLUMNS)],
                schema=_ROLLUPS_SCHEMA,
            )
        )
    totals = {"rows": counted.rows, **{name: getattr(counted, name) for name in _ROLLUP_TIMES}}
    table = pa.concat_tables(tables).replace_schema_metadata({_ROLLUPS_TOTALS: json.dumps(totals)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="lz4_raw")
    return sink.getvalue().to_pybytes()


def _count_rollups(pieces: Iterable[pa.Table]) -> Rollups:
    """The Rollups of events given in pieces (each with frames.LIGHT_COLUMNS): each is counted and
    dropped before the next, so only one piece and the tallies are held at once."""
    rows = 0
    tallies: dict[str, list[pa.Table]] = {name: [] for name in ROLLUP_COLUMNS}
    spans: dict[str, list[pa.Table]] = {name: [] for name in LANE_COLUMNS}
    starts, stops, widths = [], [], []
    for piece in pieces:
        if not piece.num_rows:
            continue
        rows += piece.num_rows
        for name in ROLLUP_COLUMNS:
            counted = pc.value_counts(piece[name])  # an empty value is counted as a value of its own
            tallies[name].append(
                pa.table({"value": counted.field("values"), "count": counted.field("counts")})
            )
        prepared = frames.prepare(piece)
        start, stop = prepared[frames.START_US].to_numpy(), prepared[frames.STOP_US].to_numpy()
        starts.append(int(start.min()))
        stops.append(int(stop.max()))
        widths.append(int((stop - start).max()))
        reach = np.maximum(stop, start)
        placed = {"first": start, "stop": reach, "last": np.maximum(reach - 1, start)}
        for name in LANE_COLUMNS:
            spans[name].append(_spans(pa.table({"value": piece[name], **placed})))
    counts, null_counts = {}, {}
    for name in ROLLUP_COLUMNS:
        summed = (
            pa.concat_tables(tallies[name]).group_by("value").aggregate([("count", "sum")])
            if tallies[name]
            else pa.table({"value": pa.array([], pa.string()), "count_sum": pa.array([], pa.int64())})
        )
        counts[name], null_counts[name] = _tally(name, summed["value"], summed["count_sum"])
    return Rollups(
        rows,
        counts,
        null_counts,
        min(starts, default=None),
        max(stops, default=None),
        max(widths, default=None),
        {
            name: _spans(pa.concat_tables(parts)) if parts else _SPANS_SCHEMA.empty_table()
            for name, parts in spans.items()
        },
    )


def _spans(table: pa.Table) -> pa.Table:
    """Per value of a table with columns value, first, stop and last (and events, added up; without it,
    each row is one event): the smallest first, the largest stop and last, the events (_SPANS_SCHEMA)."""
    counted = "events" in table.column_names
    grouped = table.group_by("value").aggregate(
        [
            ("first", "min"),
            ("stop", "max"),
            ("last", "max"),
            ("events", "sum") if counted else ("first", "count"),
        ]
    )
    events = grouped["events_sum" if counted else "first_count"].cast(pa.int64())
    return pa.Table.from_arrays(
        [grouped["value"], grouped["first_min"], grouped["stop_max"], grouped["last_max"], events],
        schema=_SPANS_SCHEMA,
    )


def _read_rollups(table: pa.Table) -> Rollups:
    """The Rollups a rollups.parquet holds (ValueError when it does not hold what the store writes)."""
    with_spans = table.schema.remove_metadata().equals(_ROLLUPS_SCHEMA)
    if not with_spans and not table.schema.remove_metadata().equals(_COUNTS_SCHEMA):
        found = ", ".join(f"{field.name} ({field.type})" for field in table.schema)
        raise ValueError(f"it has the columns {found}; expected column, value, count (and first, stop, last)")
    recorded = (table.schema.metadata or {}).get(_ROLLUPS_TOTALS)
    if recorded is None:
        raise ValueError("it does not record the version's size and times")
    totals = json.loads(recorded)
    figures = [totals.get(name) for name in ("rows", *_ROLLUP_TIMES)] if isinstance(totals, dict) else [None]
    if not isinstance(figures[0], int) or not all(
        value is None or isinstance(value, int) for value in figures
    ):
        raise ValueError(f"its size and times are not whole numbers: {recorded.decode(errors='replace')}")
    counts, null_counts = {}, {}
    for name in ROLLUP_COLUMNS:
        mine = table.filter(pc.equal(table["column"], name))
        counts[name], null_counts[name] = _tally(name, mine["value"], mine["count"])
    spans = {}
    if with_spans:
        for name in LANE_COLUMNS:
            mine = table.filter(pc.equal(table["column"], _SPANS_PREFIX + name))
            spans[name] = pa.table(
                {
                    "value": mine["value"],
                    **{span: mine[span] for span in _SPAN_COLUMNS},
                    "events": mine["count"],
                }
            )
    return Rollups(figures[0], counts, null_counts, *figures[1:], spans)


def _tally(column: str, values: pa.ChunkedArray, counts: pa.ChunkedArray) -> tuple[pd.Series, int]:
    """Counts per value as timeline.frame.counts gives them (most frequent first, then by value, no
    empty value, no zero), and the count of the empty value (0 when it has none)."""
    table = pa.table({"value": values, "count": counts})
    empty = pc.sum(table.filter(pc.is_null(table["value"]))["count"]).as_py() or 0
    table = table.filter(pc.and_(pc.is_valid(table["value"]), pc.greater(table["count"], 0)))
    table = table.sort_by([("count", "descending"), ("value", "ascending")])
    series = pd.Series(
        table["count"].to_numpy().astype(np.int64),
        index=pd.Index(table["value"].to_pylist(), name=column, dtype="str"),
        name="count",
    )
    return series, int(empty)


def _parse_created(created: str) -> datetime:
    parsed = datetime.fromisoformat(created)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _next_created(newest: VersionInfo | None) -> str:
    """Now in UTC with microseconds, strictly later than the newest version's created time."""
    now = datetime.now(UTC)
    if newest is not None:
        floor = _parse_created(newest.created)
        if now <= floor:
            now = floor + timedelta(microseconds=1)
    return now.astimezone(UTC).isoformat(timespec="microseconds")


def _withdrawals(place: Place, dataset_id: str) -> dict[str, Withdrawal]:
    """The dataset's withdrawn versions by id. A record that cannot be read hides nothing it might hold:
    it is an error (StoreError), never read as "nothing withdrawn"."""
    path = place.location(dataset_id, WITHDRAWALS_FILE)
    if not place.is_dir(dataset_id) or not place.inside(dataset_id):
        return {}  # no dataset here, or one never read (_complete_versions): nothing to hide
    try:
        if not place.inside(dataset_id, WITHDRAWALS_FILE):
            raise StoreError(f"the withdrawal record of {dataset_id!r} points outside the store", file=path)
        text = place.read_bytes(dataset_id, WITHDRAWALS_FILE).decode("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"the withdrawal record of {dataset_id!r} cannot be read: {exc}", file=path) from exc
    found = {}
    # Lines end at "\n" only: a reason may hold U+2028 or U+0085, which json leaves as they are.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        try:
            record = json.loads(line)
            by = record["by"]
            withdrawal = Withdrawal(
                dataset_id,
                validate_version_id(record["version"]),
                str(record["withdrawn"]),
                Author(by["name"], by["via"], by.get("email")),
                str(record["reason"]),
            )
            _parse_created(withdrawal.withdrawn)
        except (ValueError, KeyError, TypeError, AttributeError, UsageError) as exc:
            raise StoreError(
                f"the withdrawal record of {dataset_id!r} is damaged: {exc}", file=path, row=number
            ) from exc
        found[withdrawal.version] = withdrawal
    return found


def _latest_first(withdrawals: dict[str, Withdrawal]) -> tuple[Withdrawal, ...]:
    return tuple(sorted(withdrawals.values(), key=lambda w: _parse_created(w.withdrawn), reverse=True))


def _not_withdrawn(
    versions: tuple[VersionInfo, ...], withdrawals: dict[str, Withdrawal]
) -> tuple[VersionInfo, ...]:
    return tuple(info for info in versions if info.version not in withdrawals)


def _append_withdrawal(place: Place, dataset_id: str, withdrawal: Withdrawal) -> None:
    """Add one line to the withdrawal record, rewritten whole (a reader sees the old record or the new,
    never half)."""
    try:
        before = place.read_bytes(dataset_id, WITHDRAWALS_FILE)
    except FileNotFoundError:
        before = b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    line = {
        "version": withdrawal.version,
        "withdrawn": withdrawal.withdrawn,
        "by": asdict(withdrawal.by),
        "reason": withdrawal.reason,
    }
    place.replace(
        dataset_id,
        WITHDRAWALS_FILE,
        before + (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"),
    )


def _version_info_at(place: Place, dataset_id: str, version: str) -> VersionInfo | None:
    """The version if all its files are there, inside the store, with a readable meta.json."""
    if not all(place.inside(dataset_id, version, name) for name in VERSION_FILES):
        return None  # checked first: a directory that links outside the store is never even listed
    if not set(VERSION_FILES) <= place.files(dataset_id, version):
        return None
    try:
        meta = json.loads(place.read_bytes(dataset_id, version, META_FILE).decode("utf-8"))
        created = str(meta["created"])
        _parse_created(created)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(meta, dict):
        return None
    name = meta.get("name") if isinstance(meta.get("name"), str) and meta.get("name") else dataset_id
    where = (
        place.path(dataset_id, version)
        if isinstance(place, places.LocalPlace)
        else f"{place}/{dataset_id}/{version}"
    )
    return VersionInfo(dataset_id, version, created, name, where, meta)


def _complete_versions(place: Place, dataset_id: str) -> tuple[VersionInfo, ...]:
    """The complete versions of a dataset, newest first (by created, then version id)."""
    if not place.is_dir(dataset_id) or not place.inside(dataset_id):
        return ()
    try:
        names = [name for name in place.names(dataset_id) if _VERSION_ID.fullmatch(name)]
    except OSError:
        return ()
    infos = [info for name in names if (info := _version_info_at(place, dataset_id, name)) is not None]
    infos.sort(key=lambda info: (_parse_created(info.created), info.version), reverse=True)
    return tuple(infos)


def _checked_file(place: Place, info: VersionInfo, name: str) -> tuple[str, str, str]:
    """The path parts of a version's file, checked to lie inside the store."""
    parts = (info.dataset_id, info.version, name)
    if not place.inside(*parts):
        raise DatasetNotFound(f"dataset {info.dataset_id!r} version {info.version} is not inside the store")
    return parts


def _read_events(place: Place, info: VersionInfo, columns: Sequence[str] | None = None) -> pa.Table:
    parts = _checked_file(place, info, EVENTS_FILE)
    wanted = _wanted_schema(columns)
    with _reading_events(info, place, parts), place.open(*parts) as file:
        events = pq.ParquetFile(file, pre_buffer=True)  # reads coalesced: an object store's round trips
        stored = set(events.schema_arrow.names)
        table = events.read(
            columns=None if columns is None else [name for name in wanted.names if name in stored]
        )
    return table if table.schema.equals(wanted) else _upgrade(table, info, wanted)


def _read_event_pieces(place: Place, info: VersionInfo, columns: Sequence[str]) -> Iterator[pa.Table]:
    """The given canonical columns of a version's events, _ROWS_PER_GROUP rows at a time: what is held
    at once stays bounded, however many events the version has."""
    parts = _checked_file(place, info, EVENTS_FILE)
    wanted = _wanted_schema(columns)
    with _reading_events(info, place, parts), place.open(*parts) as file:
        events = pq.ParquetFile(file)
        stored = set(events.schema_arrow.names)
        present = [name for name in wanted.names if name in stored]
        for batch in events.iter_batches(batch_size=_ROWS_PER_GROUP, columns=present):
            piece = pa.Table.from_batches([batch])
            yield piece if piece.schema.equals(wanted) else _upgrade(piece, info, wanted)


def _wanted_schema(columns: Sequence[str] | None) -> pa.Schema:
    """The canonical schema of the given columns (all when None), in schema order."""
    return pa.schema([field for field in schema.ARROW_SCHEMA if columns is None or field.name in columns])


@contextlib.contextmanager
def _reading_events(info: VersionInfo, place: Place, parts: Sequence[str]) -> Iterator[None]:
    """Turn a failure to read a version's events into a StoreError naming the version and the file."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        raise StoreError(
            f"the events of dataset {info.dataset_id!r} version {info.version} cannot be read: {exc}",
            file=place.location(*parts),
        ) from exc


def _upgrade(table: pa.Table, info: VersionInfo, wanted: pa.Schema) -> pa.Table:
    """Bring a version written under an older schema to the current one (new nullable columns empty)."""
    columns = []
    for field in wanted:
        if field.name in table.column_names:
            columns.append(table.column(field.name))
        elif field.nullable:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            raise StoreError(
                f"dataset {info.dataset_id!r} version {info.version} lacks the required column {field.name!r}"
            )
    try:
        return pa.Table.from_arrays(columns, names=wanted.names).cast(wanted)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StoreError(
            f"dataset {info.dataset_id!r} version {info.version} has an unreadable schema: {exc}"
        ) from exc
