"""Tests of the dataset store: versions, atomic writes, id validation, concurrency, export."""

from __future__ import annotations

import builtins
import errno
import fcntl
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import threading
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from tests import mounts
from timeline import places, schema, store
from timeline.errors import DatasetNotFound, InvalidDatasetId, UsageError
from timeline.ingest import ImportOptions, read_events, version_meta

T0 = datetime(2024, 3, 22, 17, 0, tzinfo=UTC)
META = {"name": "Test data", "source_file": "test.csv", "source_sha256": "0" * 64, "tz": "UTC"}


def _events(*rows: dict) -> pa.Table:
    """A canonical table; rows give event_id, minutes after T0 and any other column."""
    full = []
    for row in rows:
        values = dict.fromkeys(schema.COLUMN_NAMES)
        values.update(time_precision="minute", actor="FSB", event_type="statement")
        values.update({k: v for k, v in row.items() if k != "minutes"})
        values[schema.TIMESTAMP] = T0 + timedelta(minutes=row.get("minutes", 0))
        full.append(values)
    columns = {name: [values[name] for values in full] for name in schema.COLUMN_NAMES}
    return pa.table(columns, schema=schema.ARROW_SCHEMA)


def _rejects(*rows: tuple[int, str, str]) -> pa.Table:
    """A rejects table of (line, reason, record) rows."""
    return pa.table(
        {
            "line": pa.array([r[0] for r in rows], pa.int64()),
            "reason": pa.array([r[1] for r in rows], pa.string()),
            "record": pa.array([r[2] for r in rows], pa.string()),
        }
    )


NO_REJECTS = _rejects()
EVENTS_A = _events({"event_id": "a", "minutes": 0}, {"event_id": "b", "minutes": 5, "title": "second"})
EVENTS_B = _events({"event_id": "c", "minutes": 10})


def _version_dirs(root: Path, dataset_id: str) -> list[str]:
    """Names of the directories inside a dataset directory (versions and anything else)."""
    return sorted(p.name for p in (root / dataset_id).iterdir() if p.is_dir())


# --- ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Crocus City Hall 2024!", "crocus-city-hall-2024"),
        ("Événements", "evenements"),
        ("  Moscow -- attack  ", "moscow-attack"),
        ("ACLED_extract.v2", "acled-extract-v2"),
        ("x" * 100, "x" * 64),
        ("a" * 63 + " b", "a" * 63),
        ("Straße №5", "strasse-no5"),
        ("Ｃｒｏｃｕｓ Ｃｉｔｙ Ｈａｌｌ 2024", "crocus-city-hall-2024"),
        ("ＣＲＯＣＵＳ ＣＩＴＹ ＨＡＬＬ ２０２４", "crocus-city-hall-2024"),
        ("𝐂𝐫𝐨𝐜𝐮𝐬 City Hall ²⁰²⁴", "crocus-city-hall-2024"),
    ],
)
def test_slugify(name: str, expected: str) -> None:
    """A human name becomes a lowercase ascii slug of at most 64 chars that is a valid dataset id."""
    assert store.slugify(name) == expected
    assert store.validate_dataset_id(store.slugify(name)) == expected


@pytest.mark.parametrize("name", ["---", "", "   ", "!!!", "日本語"])
def test_slugify_rejects_names_without_letters(name: str) -> None:
    """A name with nothing left after slugging raises UsageError."""
    with pytest.raises(UsageError):
        store.slugify(name)


@pytest.mark.parametrize("dataset_id", ["a", "0", "crocus-city-hall-2024", "a-b", "x" * 64, "a--b"])
def test_valid_dataset_ids(dataset_id: str) -> None:
    """Slugs of 1-64 chars a-z, 0-9 and inner dashes are accepted unchanged."""
    assert store.validate_dataset_id(dataset_id) == dataset_id


BAD_IDS = [
    "../etc",
    "..",
    ".",
    "/abs",
    "/etc/passwd",
    "A",
    "a/b",
    "a..b",
    "a.b",
    "",
    "x" * 65,
    "x" * 200,
    "con\x00",
    "-a",
    "a-",
    "a b",
    "a\n",
    "\u00e9",
    ".tmp-123",
    None,
    42,
]


@pytest.mark.parametrize("dataset_id", BAD_IDS)
def test_invalid_dataset_ids(dataset_id: object) -> None:
    """Anything that is not a slug raises InvalidDatasetId."""
    with pytest.raises(InvalidDatasetId):
        store.validate_dataset_id(dataset_id)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "version", ["", "abc", "0123456789AB", "0123456789abc", "0123456789a\n", "../../etc/x"]
)
def test_invalid_version_ids(version: str) -> None:
    """A version id must be exactly 12 lowercase hex characters."""
    with pytest.raises(InvalidDatasetId):
        store.validate_version_id(version)
    assert store.validate_version_id("0123456789ab") == "0123456789ab"


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every path the store opens, lists or reads (files and directories)."""
    seen: list[Path] = []

    def spy(function):
        def wrapper(path, *args, **kwargs):
            if isinstance(path, str | bytes | os.PathLike):
                seen.append(Path(os.fsdecode(path)))
            return function(path, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(builtins, "open", spy(builtins.open))
    monkeypatch.setattr(io, "open", spy(io.open))
    for name in ("open", "scandir", "listdir"):
        monkeypatch.setattr(os, name, spy(getattr(os, name)))
    monkeypatch.setattr(pq, "read_table", spy(pq.read_table))
    monkeypatch.setattr(pcsv, "read_csv", spy(pcsv.read_csv))
    return seen


CALLS = [
    ("load", lambda root, d, v: store.load(d, v, root=root)),
    ("load_rejects", lambda root, d, v: store.load_rejects(d, v, root=root)),
    ("version_info", lambda root, d, v: store.version_info(d, v, root=root)),
    ("save", lambda root, d, v: store.save(EVENTS_A, NO_REJECTS, META, dataset_id=d, root=root)),
]


@pytest.mark.parametrize("dataset_id", BAD_IDS)
@pytest.mark.parametrize(("_", "call"), CALLS, ids=[name for name, _ in CALLS])
def test_bad_dataset_id_touches_nothing(tmp_path: Path, opened: list[Path], _, call, dataset_id) -> None:
    """A bad dataset id is refused before any file or directory is opened."""
    with pytest.raises(InvalidDatasetId):
        call(tmp_path, dataset_id, None)
    assert opened == []


@pytest.mark.parametrize("version", ["../../../etc/passwd", "..", "/etc", "0123456789AB", "latest"])
@pytest.mark.parametrize(("_", "call"), CALLS[:3], ids=[name for name, _ in CALLS[:3]])
def test_bad_version_id_touches_nothing(tmp_path: Path, opened: list[Path], _, call, version) -> None:
    """A bad version id is refused before any file or directory is opened."""
    with pytest.raises(InvalidDatasetId):
        call(tmp_path, "good", version)
    assert opened == []


def test_symlinks_out_of_the_store_are_never_followed(tmp_path: Path, opened: list[Path]) -> None:
    """A dataset or version directory that links outside the store is invisible and never read."""
    outside, root = tmp_path / "outside", tmp_path / "store"
    real = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="secret", root=outside)
    store.save(EVENTS_B, NO_REJECTS, META, dataset_id="real", root=root)
    (root / "evil").symlink_to(outside / "secret")
    (root / "real" / real.version).symlink_to(real.path)
    opened.clear()

    assert [d.dataset_id for d in store.list_datasets(root=root)] == ["real"]
    with pytest.raises(DatasetNotFound):
        store.load("evil", root=root)
    with pytest.raises(DatasetNotFound):
        store.load("real", real.version, root=root)
    with pytest.raises(UsageError):
        store.save(EVENTS_B, NO_REJECTS, META, dataset_id="evil", root=root)
    assert opened and not any(p.resolve().is_relative_to(outside.resolve()) for p in opened)
    assert len(list((outside / "secret").iterdir())) == 2  # the version and .lock, nothing added


# --- save and load -------------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    """What is saved loads back equal, with the canonical schema, in the documented layout."""
    info = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    loaded = store.load("demo", root=tmp_path)
    assert loaded.equals(EVENTS_A)
    assert loaded.schema.equals(schema.ARROW_SCHEMA)
    assert info.path == tmp_path / "demo" / info.version
    assert sorted(p.name for p in info.path.iterdir()) == [
        "events.parquet",
        "meta.json",
        "rejects.csv",
        "rollups.parquet",
    ]
    assert pq.ParquetFile(info.path / "events.parquet").metadata.row_group(0).column(0).compression == "LZ4"
    text = (info.path / "meta.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_load_reads_only_the_columns_asked_for(tmp_path: Path) -> None:
    """columns= gives those canonical columns in schema order, equal to the full load's; an older
    version without a nullable column asked for gets it empty."""
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    wanted = [schema.ACTOR, schema.EVENT_ID, schema.TITLE]
    part = store.load("demo", columns=wanted, root=tmp_path)
    assert part.column_names == [schema.EVENT_ID, schema.ACTOR, schema.TITLE]
    assert part.equals(store.load("demo", root=tmp_path).select(part.column_names))
    old = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="old", root=tmp_path)
    pq.write_table(EVENTS_A.drop_columns([schema.TITLE]), old.path / "events.parquet")
    assert store.load("old", columns=wanted, root=tmp_path).column(schema.TITLE).null_count == len(EVENTS_A)


def test_empty_events_round_trip(tmp_path: Path) -> None:
    """A dataset with no events (everything rejected) is still a loadable version."""
    rejects = _rejects((2, "no date", "x,y"))
    store.save(schema.empty_table(), rejects, META, dataset_id="empty", root=tmp_path)
    assert store.load("empty", root=tmp_path).equals(schema.empty_table())
    assert store.load_rejects("empty", root=tmp_path).equals(rejects)


def test_same_content_gives_same_version(tmp_path: Path) -> None:
    """Saving identical content again returns the same version and writes nothing new."""
    first = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    rechunked = pa.concat_tables([EVENTS_A.slice(0, 1), EVENTS_A.slice(1)])
    again = store.save(rechunked, NO_REJECTS, dict(META), dataset_id="demo", root=tmp_path)
    assert again == first
    assert _version_dirs(tmp_path, "demo") == [first.version]


def test_version_id_is_the_content_hash(tmp_path: Path) -> None:
    """The version id is sha256(parquet + rejects csv + meta without created/version)[:12]."""
    info = store.save(EVENTS_A, _rejects((3, "bad", "r")), META, dataset_id="demo", root=tmp_path)
    meta = {k: v for k, v in info.meta.items() if k not in ("created", "version")}
    content = (
        (info.path / "events.parquet").read_bytes()
        + (info.path / "rejects.csv").read_bytes()
        + (json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    )
    assert info.version == hashlib.sha256(content).hexdigest()[:12]


def test_new_content_adds_a_version_and_old_ones_stay(tmp_path: Path) -> None:
    """Different content adds a version; the newest loads by default, the old one by id."""
    old = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    new = store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    assert new.version != old.version
    [dataset] = store.list_datasets(root=tmp_path)
    assert [v.version for v in dataset.versions] == [new.version, old.version]
    assert dataset.latest == new == store.version_info("demo", root=tmp_path)
    assert store.load("demo", root=tmp_path).equals(EVENTS_B)
    assert store.load("demo", old.version, root=tmp_path).equals(EVENTS_A)
    assert store.version_info("demo", old.version, root=tmp_path) == old


def test_resaving_an_older_content_makes_it_newest(tmp_path: Path) -> None:
    """Re-importing an earlier file makes its content current again, without touching the old version."""
    a = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    b = store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    restored = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    assert restored.version not in (a.version, b.version)
    assert restored.meta["parent_version"] == b.version
    assert store.load("demo", root=tmp_path).equals(EVENTS_A)
    assert store.version_info("demo", a.version, root=tmp_path) == a
    assert store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path) == restored
    assert len(store.list_datasets(root=tmp_path)[0].versions) == 3


class _FrozenClock(datetime):
    """A datetime whose now() never moves (or moves backwards), to test the strict order of versions."""

    moments: ClassVar[list[datetime]] = []

    @classmethod
    def now(cls, tz=None):
        return cls.moments.pop(0) if len(cls.moments) > 1 else cls.moments[0]


@pytest.mark.parametrize(
    "moments",
    [[T0, T0, T0], [T0, T0 - timedelta(hours=1), T0 - timedelta(days=1)]],
    ids=["clock-stands-still", "clock-goes-back"],
)
def test_created_is_strictly_increasing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moments) -> None:
    """Each new version is created strictly after the newest one, even if the clock does not advance."""
    monkeypatch.setattr(_FrozenClock, "moments", list(moments))
    monkeypatch.setattr(store, "datetime", _FrozenClock)
    infos = [
        store.save(_events({"event_id": str(i)}), NO_REJECTS, META, dataset_id="demo", root=tmp_path)
        for i in range(3)
    ]
    created = [datetime.fromisoformat(i.created) for i in infos]
    assert created == [T0, T0 + timedelta(microseconds=1), T0 + timedelta(microseconds=2)]
    assert infos[1].created == "2024-03-22T17:00:00.000001+00:00"
    assert store.version_info("demo", root=tmp_path) == infos[-1]


def test_meta_fields(tmp_path: Path) -> None:
    """save() keeps the importer's meta and adds dataset_id, version, created (UTC, microseconds) and rows."""
    meta = {**META, "mapping": {"timestamp": "date"}, "counts": {"read": 3}, "rows": 999, "version": "x"}
    info = store.save(EVENTS_A, NO_REJECTS, meta, dataset_id="demo", root=tmp_path)
    stored = json.loads((info.path / "meta.json").read_text(encoding="utf-8"))
    assert stored == info.meta
    assert stored["mapping"] == {"timestamp": "date"} and stored["source_file"] == "test.csv"
    assert (stored["dataset_id"], stored["version"], stored["rows"]) == ("demo", info.version, 2)
    created = datetime.fromisoformat(stored["created"])
    assert created.utcoffset() == timedelta(0) and len(stored["created"].split(".")[1]) == len("000000+00:00")
    assert (info.name, info.created, info.dataset_id) == ("Test data", stored["created"], "demo")
    assert "parent_version" not in stored and "appended" not in stored


def test_name_defaults_to_dataset_id(tmp_path: Path) -> None:
    """A version saved without a name is listed under its dataset id."""
    store.save(EVENTS_A, NO_REJECTS, {}, dataset_id="anon", root=tmp_path)
    assert store.list_datasets(root=tmp_path)[0].name == "anon"


def test_rejects_round_trip(tmp_path: Path) -> None:
    """Rejected rows come back exactly, including quotes, commas, newlines, empty and missing reasons."""
    rejects = _rejects(
        (2, "no date", 'a,"b",c'),
        (3, "", "line\nbreak\r\nand CR"),
        (4, None, "=1+1"),
        (5, "bad url", ""),
        (6, "ünïcode", "Крокус,22.03.2024"),
        (7, "number-like", "12345"),
    )
    store.save(EVENTS_A, rejects, META, dataset_id="demo", root=tmp_path)
    assert store.load_rejects("demo", root=tmp_path).equals(rejects)


def test_append_merges_by_event_id(tmp_path: Path) -> None:
    """Append keeps the stored row for a known event_id, adds new ones sorted by time, and counts them."""
    base = store.save(EVENTS_A, _rejects((9, "old", "x")), META, dataset_id="demo", root=tmp_path)
    new = _events(
        {"event_id": "b", "minutes": 5, "title": "changed"},
        {"event_id": "z", "minutes": 1},
        {"event_id": "c", "minutes": 1},
    )
    new_rejects = _rejects((4, "new", "y"))
    info = store.save(new, new_rejects, META, dataset_id="demo", append=True, root=tmp_path)
    merged = store.load("demo", root=tmp_path)
    assert merged.column("event_id").to_pylist() == ["a", "c", "z", "b"]
    assert merged.filter(pc.equal(merged["event_id"], "b"))["title"].to_pylist() == ["second"]
    assert (info.meta["appended"], info.meta["parent_version"], info.meta["rows"]) == (2, base.version, 4)
    assert store.load_rejects("demo", root=tmp_path).equals(new_rejects)
    assert store.load("demo", base.version, root=tmp_path).equals(EVENTS_A)


def test_append_to_missing_dataset_is_a_plain_save(tmp_path: Path) -> None:
    """Appending to a dataset that does not exist stores the events as they are."""
    appended = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="new", append=True, root=tmp_path)
    plain = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="new", root=tmp_path / "elsewhere")
    assert appended.version == plain.version
    assert store.load("new", root=tmp_path).equals(EVENTS_A)


def test_repeating_an_append_that_adds_nothing_is_idempotent(tmp_path: Path) -> None:
    """Appending the same already-merged file twice does not pile up identical versions."""
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    once = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", append=True, root=tmp_path)
    twice = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", append=True, root=tmp_path)
    assert once == twice and once.meta["appended"] == 0


def _without(table: pa.Table, name: str) -> pa.Table:
    return table.drop_columns([name])


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (_without(EVENTS_A, "actor"), "missing columns: actor"),
        (EVENTS_A.append_column("colour", pa.array(["r", "g"])), "unknown columns: 'colour'"),
        (EVENTS_A.set_column(13, "latitude", pa.array(["1", "2"])), "'latitude' has type string"),
        (
            EVENTS_A.set_column(1, "timestamp", pa.array([T0, T0], pa.timestamp("us"))),
            "'timestamp' has type timestamp\\[us\\], expected",
        ),
        (
            EVENTS_A.set_column(5, pa.field("actor", pa.string()), pa.array(["x", None])),
            "required column 'actor' has 1 empty values",
        ),
        (_events({"event_id": "a"}, {"event_id": "a"}), "event_id is not unique: 'a'"),
        (EVENTS_A.to_pandas(), "must be a pyarrow Table"),
    ],
)
def test_events_not_matching_the_schema_are_refused(tmp_path: Path, events, message: str) -> None:
    """Events not matching the canonical schema raise UsageError naming the problem; nothing is written."""
    with pytest.raises(UsageError, match=message):
        store.save(events, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    assert store.list_datasets(root=tmp_path) == []


def test_every_schema_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Two problems in the events give one error listing both."""
    events = EVENTS_A.set_column(13, "latitude", pa.array(["1", "2"])).set_column(
        16, "injured", pa.array([1.5, 2.5])
    )
    with pytest.raises(UsageError, match=r"latitude.*injured"):
        store.save(events, NO_REJECTS, META, dataset_id="demo", root=tmp_path)


def test_nullability_and_order_differences_are_cast(tmp_path: Path) -> None:
    """A table with all-nullable fields, reordered columns and pandas metadata is stored canonically."""
    loose = pa.schema([pa.field(f.name, f.type, nullable=True) for f in schema.ARROW_SCHEMA])
    table = EVENTS_A.cast(loose).select(list(reversed(schema.COLUMN_NAMES)))
    table = table.replace_schema_metadata({b"pandas": b"{}"})
    info = store.save(table, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    assert info == store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    assert store.load("demo", root=tmp_path).schema.equals(schema.ARROW_SCHEMA)


@pytest.mark.parametrize(
    "rejects",
    [
        pa.table({"line": [1]}),
        pa.table({"line": ["x"], "reason": ["r"], "record": ["c"]}),
        [(1, "r", "c")],
    ],
)
def test_bad_rejects_are_refused(tmp_path: Path, rejects) -> None:
    """Rejects need the columns line (int), reason and record (text)."""
    with pytest.raises(UsageError):
        store.save(EVENTS_A, rejects, META, dataset_id="demo", root=tmp_path)


def test_meta_must_be_json(tmp_path: Path) -> None:
    """Meta that JSON cannot hold (a Path, NaN) raises UsageError and writes no version."""
    for meta in ({"source": Path("x")}, {"ratio": float("nan")}):
        with pytest.raises(UsageError, match="JSON"):
            store.save(EVENTS_A, NO_REJECTS, meta, dataset_id="demo", root=tmp_path)
    assert store.list_datasets(root=tmp_path) == []


# --- not found, listing, crashes -----------------------------------------------------------------


def test_unknown_dataset_lists_available(tmp_path: Path) -> None:
    """Asking for an unknown dataset names it and lists (up to 10) existing datasets."""
    for i in range(12):
        store.save(EVENTS_A, NO_REJECTS, META, dataset_id=f"set-{i:02d}", root=tmp_path)
    with pytest.raises(DatasetNotFound) as caught:
        store.load("missing", root=tmp_path)
    message = str(caught.value)
    assert "'missing'" in message and "set-00" in message and "set-09" in message
    assert "set-10" not in message and "2 more" in message


def test_unknown_dataset_in_empty_or_absent_store(tmp_path: Path) -> None:
    """A store directory that does not exist lists nothing and finds nothing."""
    assert store.list_datasets(root=tmp_path / "absent") == []
    with pytest.raises(DatasetNotFound, match="available: none"):
        store.load("demo", root=tmp_path / "absent")


def test_unknown_version_lists_versions(tmp_path: Path) -> None:
    """Asking for an unknown version names it and lists the dataset's versions."""
    info = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    with pytest.raises(DatasetNotFound, match=f"'000000000000'.*{info.version}"):
        store.load("demo", "000000000000", root=tmp_path)


def test_listing_ignores_everything_but_complete_versions(tmp_path: Path) -> None:
    """Stray files, dot dirs, .tmp-* dirs, incomplete or unreadable version dirs are not listed."""
    good = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="good", root=tmp_path)
    (tmp_path / "crocus-city-hall-2024.csv").write_text("date,who,what\n")
    (tmp_path / "README.md").write_text("# data\n")
    (tmp_path / "plainfile").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / "Upper").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "half" / "0123456789ab").mkdir(parents=True)
    (tmp_path / "half" / "0123456789ab" / "events.parquet").write_bytes(b"PAR1")
    dataset = tmp_path / "good"
    (dataset / ".tmp-abc").mkdir()
    for name in ("events.parquet", "rejects.csv", "meta.json"):
        (dataset / ".tmp-abc" / name).write_bytes((good.path / name).read_bytes())
    (dataset / "notaversion").mkdir()
    (dataset / "aaaaaaaaaaaa").mkdir()
    (dataset / "aaaaaaaaaaaa" / "meta.json").write_text("{}")
    (dataset / "bbbbbbbbbbbb").mkdir()
    for name in ("events.parquet", "rejects.csv"):
        (dataset / "bbbbbbbbbbbb" / name).write_bytes(b"")
    (dataset / "bbbbbbbbbbbb" / "meta.json").write_text("{not json")
    (dataset / "cccccccccccc").write_text("a file")

    [listed] = store.list_datasets(root=tmp_path)
    assert listed.dataset_id == "good" and [v.version for v in listed.versions] == [good.version]
    for version in ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"):
        with pytest.raises(DatasetNotFound):
            store.load("good", version, root=tmp_path)
    with pytest.raises(DatasetNotFound):
        store.load("half", root=tmp_path)


FAILURES = ["write_table", "write_file", "fsync", "rename"]


@pytest.mark.parametrize("where", FAILURES)
def test_failed_save_leaves_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A save that fails midway leaves no visible version, no temp dir, and the previous version newest."""
    before = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    write_file = places._write_file
    calls = []

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    def third_write_fails(path, data):
        calls.append(path)
        if len(calls) == 3:
            boom()
        write_file(path, data)

    targets = {
        "write_table": (store.pq, "write_table", boom),
        "write_file": (places, "_write_file", third_write_fails),
        "fsync": (places.os, "fsync", boom),
        "rename": (places.os, "rename", boom),
    }
    monkeypatch.setattr(*targets[where])
    with pytest.raises(store.StoreWriteError, match="NOT saved: the disk is full"):
        store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    monkeypatch.undo()
    assert _version_dirs(tmp_path, "demo") == [before.version]
    assert store.version_info("demo", root=tmp_path) == before
    assert store.load("demo", root=tmp_path).equals(EVENTS_A)


def test_failed_first_save_leaves_no_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the very first save of a dataset fails, the dataset does not appear."""

    def broken_rename(*args):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(store.os, "rename", broken_rename)
    with pytest.raises(store.StoreWriteError, match="input/output error"):
        store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    monkeypatch.undo()
    assert store.list_datasets(root=tmp_path) == []
    with pytest.raises(DatasetNotFound):
        store.load("demo", root=tmp_path)


def _crash_before_rename(root: str) -> None:
    """Child process: die abruptly (no cleanup) just before the version is renamed into place."""
    os.rename = lambda *a: os._exit(3)
    store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=Path(root))


def test_crash_midway_is_invisible_and_cleaned_later(tmp_path: Path) -> None:
    """A killed save leaves only a hidden temp dir; the next save removes it (it holds the dataset's lock,
    so no other write can be under way in it)."""
    before = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    child = multiprocessing.get_context("spawn").Process(target=_crash_before_rename, args=(str(tmp_path),))
    child.start()
    child.join(60)
    assert child.exitcode == 3
    leftovers = [p for p in (tmp_path / "demo").iterdir() if p.name.startswith(".tmp-")]
    assert len(leftovers) == 1 and (leftovers[0] / "meta.json").is_file()
    assert store.version_info("demo", root=tmp_path) == before

    store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    assert not leftovers[0].exists()
    assert len(store.list_datasets(root=tmp_path)[0].versions) == 2


# --- concurrency ---------------------------------------------------------------------------------


def _save_worker(root: str, dataset_id: str, n: int, append: bool, barrier) -> None:
    """Child process: wait for the others, then save one event of its own."""
    events = _events({"event_id": f"w{n}", "minutes": n})
    barrier.wait(60)
    store.save(
        events, NO_REJECTS, {**META, "worker": n}, dataset_id=dataset_id, append=append, root=Path(root)
    )


def _run_workers(root: Path, dataset_ids: list[str], append: bool) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(dataset_ids))
    workers = [
        ctx.Process(target=_save_worker, args=(str(root), dataset_id, n, append, barrier))
        for n, dataset_id in enumerate(dataset_ids)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0] * len(workers)


def test_concurrent_saves_to_one_dataset(tmp_path: Path) -> None:
    """Eight processes saving into one dataset at once give eight complete, strictly ordered versions."""
    _run_workers(tmp_path, ["shared"] * 8, append=False)
    [dataset] = store.list_datasets(root=tmp_path)
    assert len(dataset.versions) == 8
    assert len({v.created for v in dataset.versions}) == 8
    assert not [p for p in (tmp_path / "shared").iterdir() if p.name.startswith(".tmp-")]
    for version in dataset.versions:
        events = store.load("shared", version.version, root=tmp_path)
        assert events.column("event_id").to_pylist() == [f"w{version.meta['worker']}"]


def test_concurrent_appends_lose_nothing(tmp_path: Path) -> None:
    """Eight processes appending at once: the newest version holds every appended event."""
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="shared", root=tmp_path)
    _run_workers(tmp_path, ["shared"] * 8, append=True)
    newest = store.load("shared", root=tmp_path)
    assert sorted(newest.column("event_id").to_pylist()) == sorted(["a", "b"] + [f"w{n}" for n in range(8)])
    assert len(store.list_datasets(root=tmp_path)[0].versions) == 9


def test_concurrent_saves_to_different_datasets(tmp_path: Path) -> None:
    """Eight processes saving eight datasets at once give eight complete datasets."""
    ids = [f"set-{n}" for n in range(8)]
    _run_workers(tmp_path, ids, append=False)
    assert [d.dataset_id for d in store.list_datasets(root=tmp_path)] == ids
    for n, dataset_id in enumerate(ids):
        assert store.load(dataset_id, root=tmp_path).column("event_id").to_pylist() == [f"w{n}"]


def test_lock_serialises_one_dataset_only(tmp_path: Path) -> None:
    """While a dataset is locked, saves to it wait and saves to other datasets go ahead."""
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="busy", root=tmp_path)
    fd = os.open(tmp_path / "busy" / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        other = threading.Thread(
            target=store.save,
            args=(EVENTS_A, NO_REJECTS, META),
            kwargs={"dataset_id": "free", "root": tmp_path},
        )
        waiting = threading.Thread(
            target=store.save,
            args=(EVENTS_B, NO_REJECTS, META),
            kwargs={"dataset_id": "busy", "root": tmp_path},
        )
        other.start()
        waiting.start()
        other.join(30)
        assert not other.is_alive()
        waiting.join(0.5)
        assert waiting.is_alive()
    finally:
        os.close(fd)
    waiting.join(30)
    assert not waiting.is_alive()
    assert store.load("busy", root=tmp_path).equals(EVENTS_B)


# --- root ----------------------------------------------------------------------------------------


def test_timeline_data_dir_is_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$TIMELINE_DATA_DIR relocates the store; without it the store is the project's data/ directory."""
    monkeypatch.setenv("TIMELINE_DATA_DIR", str(tmp_path))
    assert store.store_root() == tmp_path
    info = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo")
    assert info.path.parent.parent == tmp_path
    assert [d.dataset_id for d in store.list_datasets()] == ["demo"]
    assert store.load("demo").equals(EVENTS_A)
    for unset in ("", None):
        if unset is None:
            monkeypatch.delenv("TIMELINE_DATA_DIR")
        else:
            monkeypatch.setenv("TIMELINE_DATA_DIR", unset)
        assert store.store_root() == store.DEFAULT_ROOT == Path(__file__).resolve().parents[1] / "data"


# --- export --------------------------------------------------------------------------------------


def _stored_file_of(events: pa.Table, root: Path) -> bytes:
    """The events file of events saved alone in a store at root."""
    info = store.save(events, NO_REJECTS, META, dataset_id="demo", root=root)
    return (info.path / store.EVENTS_FILE).read_bytes()


def test_the_same_events_make_the_same_version_file(tmp_path: Path) -> None:
    """The same events always make the same events.parquet bytes, so the same version id."""
    assert _stored_file_of(EVENTS_A, tmp_path / "one") == _stored_file_of(
        pa.concat_tables([EVENTS_A.slice(0, 1), EVENTS_A.slice(1)]), tmp_path / "two"
    )


def test_the_version_file_does_not_depend_on_chunks(tmp_path: Path) -> None:
    """Events of many pages and row groups make the same events.parquet in one chunk per column as in
    chunks cut anywhere."""
    n = 150_000
    rng = np.random.default_rng(0)
    rows = pa.table(
        {
            schema.EVENT_ID: [f"e{i}" for i in range(n)],
            schema.TIMESTAMP: pa.array(rng.integers(0, 10**15, n), pa.int64()).cast(schema.UTC_MICROS),
            schema.TIME_PRECISION: ["minute"] * n,
            schema.ACTOR: [f"actor {i % 300}" for i in range(n)],
            schema.EVENT_TYPE: ["statement"] * n,
            schema.DESCRIPTION: [f"text {i} " * int(k) for i, k in enumerate(rng.integers(0, 30, n))],
        }
    )
    events = pa.table(
        [rows[name] if name in rows.column_names else pa.nulls(n, field.type) for name, field in
         zip(schema.COLUMN_NAMES, schema.ARROW_SCHEMA, strict=True)],
        schema=schema.ARROW_SCHEMA,
    )  # fmt: skip
    cuts = [0, *sorted(rng.choice(np.arange(1, n), 40, replace=False).tolist()), n]
    chunked = pa.concat_tables([events.slice(a, b - a) for a, b in itertools.pairwise(cuts)])
    stored = _stored_file_of(chunked, tmp_path / "chunked")
    assert _stored_file_of(events.combine_chunks(), tmp_path / "whole") == stored
    assert pq.ParquetFile(pa.BufferReader(stored)).num_row_groups == 3


# --- lookalike names -----------------------------------------------------------------------------

_FULLWIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}  # ASCII ! .. ~ -> U+FF01 .. U+FF5E


@settings(max_examples=300, deadline=None)
@given(hst.text(max_size=40))
def test_a_unicode_lookalike_of_a_name_gives_the_same_id(name: str) -> None:
    """Any spelling Unicode treats as the same (NFC/NFD/NFKC/NFKD forms, another case, fullwidth letters)
    gives the same dataset id; and an id slugs to itself."""
    try:
        slug = store.slugify(name)
    except UsageError:
        for variant in (unicodedata.normalize("NFKC", name), name.casefold(), name.upper()):
            with pytest.raises(UsageError):
                store.slugify(variant)
        return
    variants = [unicodedata.normalize(form, name) for form in ("NFC", "NFD", "NFKC", "NFKD")]
    variants += [name.casefold(), name.lower(), name.upper(), name.translate(_FULLWIDTH)]
    assert {store.slugify(variant) for variant in variants} == {slug}
    assert store.validate_dataset_id(slug) == slug
    assert store.slugify(slug) == slug


# --- who saved, protected datasets ---------------------------------------------------------------

PAGE_USER = store.Author("Alice", "page", "alice@example.org")
OPERATOR = store.Author("ops", "cli")


def test_every_version_records_who_saved_it_and_from_where(tmp_path: Path) -> None:
    """saved_by holds the author's name, e-mail and whether the page or the CLI saved it."""
    info = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path, author=PAGE_USER)
    stored = json.loads((info.path / "meta.json").read_text(encoding="utf-8"))
    assert stored["saved_by"] == {"name": "Alice", "email": "alice@example.org", "via": "page"}
    assert info.saved_by == PAGE_USER
    assert store.version_info("demo", root=tmp_path).saved_by == PAGE_USER


def test_who_saved_is_not_part_of_the_content_hash(tmp_path: Path) -> None:
    """The same content saved by someone else is the same version (the first saver stays recorded), and an
    importer's meta cannot claim another author."""
    first = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path, author=PAGE_USER)
    again = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path, author=OPERATOR)
    elsewhere = store.save(
        EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path / "b", author=OPERATOR
    )
    assert again == first and elsewhere.version == first.version
    forged = {**META, "saved_by": {"name": "Mallory", "via": "cli"}}
    info = store.save(EVENTS_B, NO_REJECTS, forged, dataset_id="demo", root=tmp_path, author=PAGE_USER)
    assert info.meta["saved_by"]["name"] == "Alice"


@pytest.mark.parametrize(("name", "via"), [("", "page"), ("  ", "cli"), ("bob", "browser"), (None, "page")])
def test_an_author_needs_a_name_and_page_or_cli(name: object, via: str) -> None:
    with pytest.raises(UsageError):
        store.Author(name, via)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Crocus City Hall 2024", "Ｃｒｏｃｕｓ Ｃｉｔｙ Ｈａｌｌ 2024"])
@pytest.mark.parametrize("append", [False, True])
@pytest.mark.parametrize("author", [PAGE_USER, None])
def test_the_page_cannot_write_into_the_bundled_dataset(
    tmp_path: Path, name: str, append: bool, author: store.Author | None
) -> None:
    """Replace or merge, under its name or a lookalike, from the page (or from a caller that does not say
    who it is): refused with a message naming the dataset, and nothing is written."""
    dataset_id = store.slugify(name)
    with pytest.raises(store.ProtectedDataset) as refused:
        store.save(
            EVENTS_A, NO_REJECTS, META, dataset_id=dataset_id, append=append, root=tmp_path, author=author
        )
    assert "'crocus-city-hall-2024' is protected" in str(refused.value)
    assert "Choose another name" in str(refused.value)
    assert store.write_refusal(dataset_id, author) == refused.value.message
    assert list(tmp_path.iterdir()) == []


def test_the_operator_may_write_into_a_protected_dataset(tmp_path: Path) -> None:
    assert store.write_refusal(store.BUNDLED_DATASET_ID, OPERATOR) is None
    info = store.save(
        EVENTS_A, NO_REJECTS, META, dataset_id=store.BUNDLED_DATASET_ID, root=tmp_path, author=OPERATOR
    )
    assert info.saved_by == OPERATOR


def test_the_operator_lists_more_protected_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$TIMELINE_PROTECTED: ids or names, comma-separated; the others stay open to the page."""
    monkeypatch.setenv("TIMELINE_PROTECTED", " team-notes , Ｂｏａｒｄ Minutes,,")
    assert store.protected_datasets() == {store.BUNDLED_DATASET_ID, "team-notes", "board-minutes"}
    for dataset_id in ("team-notes", "board-minutes"):
        assert dataset_id in (store.write_refusal(dataset_id, PAGE_USER) or "")
    assert store.write_refusal("open-data", PAGE_USER) is None
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="open-data", root=tmp_path, author=PAGE_USER)
    monkeypatch.setenv("TIMELINE_PROTECTED", "team-notes,!!!")
    with pytest.raises(UsageError, match="TIMELINE_PROTECTED lists '!!!'"):
        store.write_refusal("open-data", PAGE_USER)


# --- merges keep the dataset ---------------------------------------------------------------------


def test_a_merge_keeps_the_name_anchor_and_every_dataset_field(tmp_path: Path) -> None:
    """The merged version keeps the dataset-level fields of the version merged into; the import-level ones
    (source file, counts, mapping...) describe the merged import."""
    dataset_meta = {**META, "name": "Crocus attack", "anchor": "a", "toll": "reports", "description": "kept"}
    store.save(EVENTS_A, NO_REJECTS, dataset_meta, dataset_id="demo", root=tmp_path)
    upload = {**META, "name": "demo", "source_file": "upload.csv", "anchor": "z", "rows_read": 1}
    merged = store.save(EVENTS_B, NO_REJECTS, upload, dataset_id="demo", append=True, root=tmp_path)
    assert (merged.name, merged.meta["anchor"]) == ("Crocus attack", "a")
    assert (merged.meta["toll"], merged.meta["description"]) == ("reports", "kept")
    assert (merged.meta["source_file"], merged.meta["rows_read"], merged.meta["rows"]) == ("upload.csv", 1, 3)
    replaced = store.save(EVENTS_B, NO_REJECTS, upload, dataset_id="demo", root=tmp_path)
    assert (replaced.name, replaced.meta["anchor"]) == ("demo", "z")  # a replace is the upload's own


def test_every_field_an_import_writes_is_classed_import_or_dataset_level() -> None:
    """version_meta writes the dataset's name and import-level fields only: a new field must be classed."""
    result = read_events(b"date,who,what\n2024-03-22,FSB,statement\n", ImportOptions(file_name="x.csv"))
    meta = version_meta(result, name="x", source_file="x.csv", options=ImportOptions(file_name="x.csv"))
    assert set(meta) - {"name"} <= set(store.IMPORT_FIELDS)


# --- withdrawn versions --------------------------------------------------------------------------


def _three_versions(root: Path) -> list[store.VersionInfo]:
    return [
        store.save(events, NO_REJECTS, META, dataset_id="demo", root=root, author=PAGE_USER)
        for events in (EVENTS_A, EVENTS_B, _events({"event_id": "poison"}))
    ]


def test_a_withdrawn_version_is_hidden_everywhere_and_kept_on_disk(tmp_path: Path) -> None:
    """Withdrawing the newest: the one before opens by default, lists leave it out, asking for it by id
    (load, rejects; its file: tests/test_exports.py) says who withdrew it, when and why; its files stay."""
    first, second, poison = _three_versions(tmp_path)
    withdrawal = store.withdraw("demo", poison.version, reason="fake events", author=OPERATOR, root=tmp_path)
    assert store.version_info("demo", root=tmp_path) == second
    [listed] = store.list_datasets(root=tmp_path)
    assert [v.version for v in listed.versions] == [second.version, first.version]
    assert listed.withdrawn == (withdrawal,) == store.withdrawals("demo", root=tmp_path)
    notice = f"version {poison.version} of 'demo' was withdrawn on "
    for call in (
        lambda: store.version_info("demo", poison.version, root=tmp_path),
        lambda: store.load("demo", poison.version, root=tmp_path),
        lambda: store.load_rejects("demo", poison.version, root=tmp_path),
    ):
        with pytest.raises(store.VersionWithdrawn) as refused:
            call()
        assert notice in str(refused.value) and "by ops from the command line: fake events" in str(
            refused.value
        )
    assert all((poison.path / name).is_file() for name in store.VERSION_FILES)


def test_a_merge_after_a_withdrawal_merges_into_the_newest_version_left(tmp_path: Path) -> None:
    _, second, poison = _three_versions(tmp_path)
    store.withdraw("demo", poison.version, reason="fake", author=OPERATOR, root=tmp_path)
    merged = store.save(
        _events({"event_id": "new"}), NO_REJECTS, META, dataset_id="demo", append=True, root=tmp_path
    )
    assert merged.meta["parent_version"] == second.version
    assert store.load("demo", root=tmp_path)["event_id"].to_pylist() == ["new", "c"]
    assert merged.created > poison.created


def test_the_withdrawal_record_is_appended_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One JSON line per withdrawal, with who, when and why; each write replaces the file in one rename, so
    a failed one leaves the record as it was (and no temporary file)."""
    first, second, poison = _three_versions(tmp_path)
    store.withdraw("demo", poison.version, reason="fake", author=OPERATOR, root=tmp_path)
    superseded = "superseded\u2028by\x85another"  # line breaks to str.splitlines, not to JSON Lines
    store.withdraw(
        "demo", first.version, reason=superseded, author=store.Author("root", "cli"), root=tmp_path
    )
    record = tmp_path / "demo" / store.WITHDRAWALS_FILE
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").split("\n") if line]
    assert [(r["version"], r["reason"], r["by"]["name"]) for r in lines] == [
        (poison.version, "fake", "ops"),
        (first.version, superseded, "root"),
    ]
    assert [w.reason for w in store.withdrawals("demo", root=tmp_path)] == [superseded, "fake"]
    assert all(datetime.fromisoformat(r["withdrawn"]).utcoffset() == timedelta(0) for r in lines)
    before = record.read_bytes()
    fourth = store.save(_events({"event_id": "d"}), NO_REJECTS, META, dataset_id="demo", root=tmp_path)

    def broken_rename(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "rename", broken_rename)
    with pytest.raises(store.StoreWriteError, match="NOT saved: the disk is full"):
        store.withdraw("demo", second.version, reason="x", author=OPERATOR, root=tmp_path)
    monkeypatch.undo()
    assert record.read_bytes() == before
    assert not [p for p in (tmp_path / "demo").iterdir() if p.name.startswith(".tmp-")]
    assert store.version_info("demo", second.version, root=tmp_path) == second
    assert store.version_info("demo", root=tmp_path) == fourth


def test_what_cannot_be_withdrawn(tmp_path: Path) -> None:
    """The only version left, a version withdrawn already, one that does not exist, without a reason, or
    from the page: refused with the reason, and the record unchanged."""
    first, second, poison = _three_versions(tmp_path)
    store.withdraw("demo", poison.version, reason="fake", author=OPERATOR, root=tmp_path)
    store.withdraw("demo", second.version, reason="fake too", author=OPERATOR, root=tmp_path)
    with pytest.raises(UsageError, match="only version of 'demo' left"):
        store.withdraw("demo", first.version, reason="oops", author=OPERATOR, root=tmp_path)
    with pytest.raises(store.VersionWithdrawn, match="fake too"):
        store.withdraw("demo", second.version, reason="again", author=OPERATOR, root=tmp_path)
    with pytest.raises(DatasetNotFound):
        store.withdraw("demo", "0" * 12, reason="x", author=OPERATOR, root=tmp_path)
    with pytest.raises(UsageError, match="why"):
        store.withdraw("demo", first.version, reason="  ", author=OPERATOR, root=tmp_path)
    with pytest.raises(UsageError, match="operator"):
        store.withdraw("demo", first.version, reason="x", author=PAGE_USER, root=tmp_path)
    assert len(store.withdrawals("demo", root=tmp_path)) == 2
    assert store.version_info("demo", root=tmp_path) == first


def test_a_damaged_withdrawal_record_hides_nothing_silently(tmp_path: Path) -> None:
    """A record that cannot be read is an error naming the file and line, never read as "none withdrawn"."""
    _three_versions(tmp_path)
    (tmp_path / "demo" / store.WITHDRAWALS_FILE).write_text('{"version": "nope"\n', encoding="utf-8")
    with pytest.raises(store.StoreError, match=r"withdrawn.jsonl, line 1: the withdrawal record of 'demo'"):
        store.list_datasets(root=tmp_path)


# --- faults said plainly, leftovers removed ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EDQUOT, "the disk quota is used up"),
        (errno.EROFS, "the store is on a read-only file system"),
        (errno.EACCES, "permission to write there was denied"),
    ],
)
def test_a_refused_write_says_nothing_was_saved_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, said: str
) -> None:
    def refused(path, data):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(places, "_write_file", refused)
    with pytest.raises(store.StoreWriteError) as failed:
        store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=tmp_path)
    message = str(failed.value)
    assert message.startswith(f"the data was NOT saved: {said} (writing {tmp_path / 'demo'}")
    assert f"in the store {tmp_path}" in message and "nothing in the store was changed" in message
    assert isinstance(failed.value, store.StoreError)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A store directory mounted read-only (a bind mount: the tests run as root); skipped where it cannot."""
    root = tmp_path / "ro"
    root.mkdir()
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=root)
    with mounts.read_only(root) as mounted:
        yield mounted


def test_a_read_only_store_says_so_and_can_still_be_read(read_only: Path) -> None:
    with pytest.raises(store.StoreWriteError, match="NOT saved: the store is on a read-only file system"):
        store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=read_only)
    with pytest.raises(store.StoreWriteError, match="read-only"):
        store.save(EVENTS_B, NO_REJECTS, META, dataset_id="new", root=read_only)
    assert store.load("demo", root=read_only).equals(EVENTS_A)
    assert store.remove_leftovers(root=read_only) == 0  # never fails


def test_leftovers_are_removed_unless_a_write_holds_the_dataset(tmp_path: Path) -> None:
    """remove_leftovers removes .tmp-* folders and files in datasets whose lock is free, and leaves a dataset
    being written to (its lock held) as it is."""
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="idle", root=tmp_path)
    store.save(EVENTS_A, NO_REJECTS, META, dataset_id="busy", root=tmp_path)
    for dataset_id in ("idle", "busy"):
        (tmp_path / dataset_id / ".tmp-half-written").mkdir()
        (tmp_path / dataset_id / ".tmp-half-written" / "events.parquet").write_bytes(b"PAR1")
        (tmp_path / dataset_id / ".tmp-record").write_bytes(b"{")
    held = os.open(tmp_path / "busy" / ".lock", os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert store.remove_leftovers(root=tmp_path) == 2
    finally:
        os.close(held)
    assert not [p for p in (tmp_path / "idle").iterdir() if p.name.startswith(".tmp-")]
    assert sorted(p.name for p in (tmp_path / "busy").iterdir() if p.name.startswith(".tmp-")) == [
        ".tmp-half-written",
        ".tmp-record",
    ]
    assert store.remove_leftovers(root=tmp_path) == 2
    assert store.remove_leftovers(root=tmp_path / "absent") == 0
