"""Streamed files of events: CSV and Parquet made a batch at a time, the view's download and its route."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.applications import Starlette

from tests import test_store
from timeline import bundled, display, engines, exports, schema, server, store
from timeline import frame as frames
from timeline import view as views
from timeline.errors import DatasetNotFound, InvalidDatasetId, UsageError

ROOT = Path(__file__).resolve().parents[1]


def _events(*rows: dict) -> pa.Table:
    base = {
        "time_precision": "second",
        "utc_offset_minutes": None,
        "actor": "A",
        "event_type": "statement",
    }
    return pa.Table.from_pylist([{**base, **row} for row in rows], schema=schema.ARROW_SCHEMA)


def _table(n: int) -> pa.Table:
    return _events(
        *(
            {
                "event_id": f"e{i:03d}",
                "timestamp": pa.scalar(1_711_126_800_000_000 + i * 1_500_000, schema.UTC_MICROS),
            }
            for i in range(n)
        )
    )


def test_csv_is_one_file_whatever_the_batches() -> None:
    table = _table(10)
    whole = b"".join(exports.csv_chunks([table]))
    batched = b"".join(exports.csv_chunks([table.slice(0, 3), table.slice(3, 3), table.slice(6)]))
    assert batched == whole
    rows = list(csv.DictReader(io.StringIO(whole.decode())))
    assert [r["event_id"] for r in rows] == [f"e{i:03d}" for i in range(10)]


def test_csv_times_are_utc_iso_each_as_precise_as_it_is() -> None:
    # Each time on its own: a batch with one fractional time does not add zeros to the others.
    table = _events(
        {"event_id": "whole", "timestamp": pa.scalar(1_711_126_800_000_000, schema.UTC_MICROS)},
        {"event_id": "part", "timestamp": pa.scalar(1_711_126_800_250_000, schema.UTC_MICROS)},
        {"event_id": "old", "timestamp": pa.scalar(-1_500_000, schema.UTC_MICROS)},
    )
    rows = list(csv.DictReader(io.StringIO(exports.csv_bytes(table).decode())))
    assert [r["timestamp"] for r in rows] == [
        "2024-03-22T17:00:00Z",
        "2024-03-22T17:00:00.250000Z",
        "1969-12-31T23:59:58.500000Z",
    ]


def test_csv_quotes_cells_a_spreadsheet_would_run() -> None:
    table = _events({"event_id": "f", "timestamp": pa.scalar(0, schema.UTC_MICROS), "title": "=HYPERLINK(1)"})
    [row] = csv.DictReader(io.StringIO(exports.csv_bytes(table).decode()))
    assert row["title"] == "'=HYPERLINK(1)"


def test_csv_with_stated_times_leads_with_the_stated_day() -> None:
    table = _events(
        {
            "event_id": "d",
            "timestamp": pa.scalar(1_711_062_000_000_000, schema.UTC_MICROS),  # 22 Mar 00:00 at UTC+01:00
            "time_precision": "day",
            "utc_offset_minutes": 60,
        }
    )
    [row] = csv.DictReader(io.StringIO(b"".join(exports.csv_chunks([table], stated_in="UTC")).decode()))
    assert row[exports.STATED_TIME_COLUMN].startswith("22 Mar 2024, time not stated, UTC+01:00")


def test_parquet_chunks_make_one_file_of_every_batch() -> None:
    table = _table(10)
    data = b"".join(exports.parquet_chunks([table.slice(0, 4), table.slice(4)], schema.ARROW_SCHEMA))
    back = pq.read_table(io.BytesIO(data))
    assert back.schema.equals(schema.ARROW_SCHEMA)
    assert back.equals(table)


def test_download_link_keeps_the_view_and_names_the_file() -> None:
    link = "http://example.org/app/?dataset=d&v=abc&actor=A&actor=B&tz=Europe%2FMoscow"
    assert exports.download_link(link, "csv") == (
        "http://example.org/app/download/events.csv?dataset=d&v=abc&actor=A&actor=B&tz=Europe%2FMoscow"
    )
    with pytest.raises(UsageError, match="unknown file format"):
        exports.download_link(link, "xlsx")


@pytest.fixture(scope="module")
def engine() -> engines.Engine:
    made = engines.connect(engines.EngineSettings())
    yield made
    made.close()


def _bundled_version() -> store.VersionInfo:
    return store.version_info(bundled.DATASET_ID)


def test_view_download_holds_what_the_view_shows(engine: engines.Engine) -> None:
    info = _bundled_version()
    params = {
        "dataset": [info.dataset_id],
        "v": [info.version],
        "type": ["condolence"],
        "tz": ["Europe/Moscow"],
    }
    made = exports.view_download(params, "csv", engine)
    rows = list(csv.DictReader(io.StringIO(b"".join(made.chunks).decode())))
    reference = frames.ordered(
        views.apply(
            frames.prepare(store.load(info.dataset_id, info.version)),
            views.View(dataset=info.dataset_id, types=("condolence",)),
        )
    )
    assert [r["event_id"] for r in rows] == reference[schema.EVENT_ID].tolist()
    assert made.file_name == f"{info.dataset_id}-{info.version}-filtered.csv"
    stated = display.stated_times(reference, "Europe/Moscow").tolist()
    assert [r[exports.STATED_TIME_COLUMN] for r in rows] == stated


def test_view_download_ignores_what_the_version_lacks(engine: engines.Engine) -> None:
    """As the page does: an actor the version lacks is dropped from the filter, not matched as nothing."""
    info = _bundled_version()
    made = exports.view_download(
        {"dataset": [info.dataset_id], "actor": ["No Such Actor"]}, "parquet", engine
    )
    assert (
        pq.read_table(io.BytesIO(b"".join(made.chunks))).num_rows
        == store.rollups(info.dataset_id, info.version).rows
    )


def _get(path: str) -> httpx.Response:
    """A GET of the download route, served as the page server serves it (an ASGI app). On a thread of its
    own: the browser tests' Playwright keeps an event loop running in this one."""

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=Starlette(routes=[server.download_route()]))
        async with httpx.AsyncClient(transport=transport, base_url="http://server") as client:
            return await client.get(path)

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(anyio.run, fetch).result()


def test_the_download_route_streams_the_file_and_refuses_plainly() -> None:
    info = _bundled_version()
    answer = _get(f"/download/events.parquet?dataset={info.dataset_id}&v={info.version}&type=claim")
    assert answer.status_code == 200
    assert (
        answer.headers["content-disposition"]
        == f'attachment; filename="{info.dataset_id}-{info.version}-filtered.parquet"'
    )
    claims = pq.read_table(io.BytesIO(answer.content))
    assert set(claims[schema.EVENT_TYPE].to_pylist()) == {"claim"}
    missing = _get("/download/events.csv?dataset=no-such-dataset")
    assert missing.status_code == 404
    assert missing.text.startswith("This download cannot be made:")
    assert "Traceback" not in missing.text
    assert _get("/download/passwords.csv").status_code == 404


def test_command_line_export_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from timeline import cli

    target = tmp_path / "out.csv"
    assert cli.main(["export", bundled.DATASET_ID, "-o", str(target)]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == store.rollups(bundled.DATASET_ID, _bundled_version().version).rows

    def broken(*args, **kwargs):
        yield b"event_id\n"
        raise OSError("disk full")

    monkeypatch.setattr(exports, "csv_chunks", broken)
    half = tmp_path / "half.csv"
    assert cli.main(["export", bundled.DATASET_ID, "-o", str(half)]) != 0
    assert not half.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# --- a stored version as a file (moved from tests/test_store.py with store's own export code) ---------

files_opened = test_store.opened  # the fixture: every file and directory opened, as it is opened


def _stored_file(root: Path, dataset_id: str, version: str | None, fmt, engine: engines.Engine) -> bytes:
    """exports.version_download of the store at root, joined."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIMELINE_DATA_DIR", str(root))
        return b"".join(exports.version_download(dataset_id, version, fmt, engine).chunks)


def _csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def _save(root: Path, events: pa.Table) -> store.VersionInfo:
    return store.save(events, test_store.NO_REJECTS, test_store.META, dataset_id="demo", root=root)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_version_csv_neutralises_formulas(
    tmp_path: Path, engine: engines.Engine, title: str, expected: str
) -> None:
    """Text cells a spreadsheet would run as a formula get a leading quote; other text is unchanged."""
    _save(tmp_path, test_store._events({"event_id": "e1", "title": title, "actor": title or "x"}))
    [row] = _csv_rows(_stored_file(tmp_path, "demo", None, "csv", engine))
    assert row["title"] == expected
    assert row["actor"] == (expected or "x")


def test_version_csv_leaves_numbers_and_formats_times(tmp_path: Path, engine: engines.Engine) -> None:
    """Numeric cells stay numbers (even negative) and times are ISO 8601 UTC."""
    events = test_store._events(
        {
            "event_id": "e1",
            "latitude": -33.5,
            "longitude": 37.4,
            "fatalities": 145,
            "utc_offset_minutes": -300,
        },
        {"event_id": "e2", "minutes": 90, "end": test_store.T0 + timedelta(hours=2)},
    )
    _save(tmp_path, events)
    data = _stored_file(tmp_path, "demo", None, "csv", engine)
    rows = _csv_rows(data)
    assert list(rows[0]) == list(schema.COLUMN_NAMES)
    assert (rows[0]["latitude"], rows[0]["fatalities"], rows[0]["utc_offset_minutes"]) == (
        "-33.5",
        "145",
        "-300",
    )
    assert (rows[0]["timestamp"], rows[1]["timestamp"]) == ("2024-03-22T17:00:00Z", "2024-03-22T18:30:00Z")
    assert (rows[0]["end"], rows[1]["end"]) == ("", "2024-03-22T19:00:00Z")
    assert not data.startswith(b"\xef\xbb\xbf")


def test_version_csv_keeps_sub_second_times(tmp_path: Path, engine: engines.Engine) -> None:
    """A time with a fraction of a second is written with microseconds; (since exports, per value) a whole
    time beside it stays in whole seconds."""
    events = test_store._events({"event_id": "e1"}, {"event_id": "e2", "minutes": 1}).set_column(
        1,
        schema.ARROW_SCHEMA.field("timestamp"),
        pa.array(
            [test_store.T0 + timedelta(microseconds=250), test_store.T0 + timedelta(minutes=1)],
            schema.UTC_MICROS,
        ),
    )
    _save(tmp_path, events)
    rows = _csv_rows(_stored_file(tmp_path, "demo", None, "csv", engine))
    assert [row["timestamp"] for row in rows] == ["2024-03-22T17:00:00.000250Z", "2024-03-22T17:01:00Z"]


def test_version_parquet_of_an_older_version_reads_back_equal(tmp_path: Path, engine: engines.Engine) -> None:
    """The Parquet file reads back equal to the stored events, also for an older version."""
    old = _save(tmp_path, test_store.EVENTS_A)
    _save(tmp_path, test_store.EVENTS_B)
    data = _stored_file(tmp_path, "demo", old.version, "parquet", engine)
    assert pq.read_table(pa.BufferReader(data)).equals(test_store.EVENTS_A)


@pytest.mark.parametrize("fmt", ["xlsx", "", "json", "PARQUET", None])
def test_version_file_of_an_unknown_format(tmp_path: Path, engine: engines.Engine, fmt) -> None:
    """An unknown format raises UsageError naming the allowed ones."""
    _save(tmp_path, test_store.EVENTS_A)
    with pytest.raises(UsageError, match="allowed: csv, parquet"):
        _stored_file(tmp_path, "demo", None, fmt, engine)


def test_a_withdrawn_version_is_not_written_out(tmp_path: Path, engine: engines.Engine) -> None:
    """Asking for a withdrawn version's file says who withdrew it, when and why."""
    _save(tmp_path, test_store.EVENTS_A)
    poison = _save(tmp_path, test_store._events({"event_id": "poison"}))
    store.withdraw("demo", poison.version, reason="fake events", author=test_store.OPERATOR, root=tmp_path)
    with pytest.raises(store.VersionWithdrawn) as refused:
        _stored_file(tmp_path, "demo", poison.version, "csv", engine)
    assert f"version {poison.version} of 'demo' was withdrawn on " in str(refused.value)
    assert "by ops from the command line: fake events" in str(refused.value)


@pytest.mark.parametrize("dataset_id", test_store.BAD_IDS)
def test_bad_dataset_id_touches_nothing(
    tmp_path: Path, engine: engines.Engine, files_opened: list[Path], dataset_id
) -> None:
    """A bad dataset id is refused before any file or directory is opened."""
    with pytest.raises(InvalidDatasetId):
        _stored_file(tmp_path, dataset_id, None, "csv", engine)
    assert files_opened == []


@pytest.mark.parametrize("version", ["../../../etc/passwd", "..", "/etc", "0123456789AB", "latest"])
def test_bad_version_id_touches_nothing(
    tmp_path: Path, engine: engines.Engine, files_opened: list[Path], version
) -> None:
    """A bad version id is refused before any file or directory is opened."""
    with pytest.raises(InvalidDatasetId):
        _stored_file(tmp_path, "good", version, "csv", engine)
    assert files_opened == []


def test_a_version_linked_from_outside_the_store_is_never_written_out(
    tmp_path: Path, engine: engines.Engine, files_opened: list[Path]
) -> None:
    """A dataset directory that links outside the store is invisible: not found, and nothing outside read."""
    outside, root = tmp_path / "outside", tmp_path / "store"
    secret = store.save(
        test_store.EVENTS_A, test_store.NO_REJECTS, test_store.META, dataset_id="secret", root=outside
    )
    store.save(test_store.EVENTS_B, test_store.NO_REJECTS, test_store.META, dataset_id="real", root=root)
    (root / "evil").symlink_to(outside / "secret")
    files_opened.clear()
    with pytest.raises(DatasetNotFound):
        _stored_file(root, "evil", secret.version, "parquet", engine)
    assert files_opened and not any(p.resolve().is_relative_to(outside.resolve()) for p in files_opened)
