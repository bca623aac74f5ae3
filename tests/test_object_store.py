"""A store on an object store (`TIMELINE_DATA_DIR=s3://bucket/prefix?...`, timeline.places), against a local
S3 server (moto in server mode on loopback): the store, the query layer, the command line and the page work
on it as on a directory, and give the same versions (ids are content hashes), rows and counts.

Spark reads an object store with the cluster's own filesystems (hadoop-aws), which cannot be installed
offline: the query layer's object-store case runs on DuckDB here.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests import markdown_reader
from tests.test_store import EVENTS_A, EVENTS_B, META, NO_REJECTS, _events
from timeline import bundled, engines, places, query, store
from timeline.view import View

ROOT = Path(__file__).resolve().parents[1]
PLAIN = Path(__file__).parent / "data" / "plain_date_who_what.csv"
BUCKET = "timeline-tests"
# What a client of the local server needs: any credentials, a region (moto accepts every one).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
OPERATOR = store.Author("Test operator", "cli")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """A local S3 server on a free loopback port, with one bucket; its address (host:port)."""
    moto_server = pytest.importorskip("moto.server", reason="moto is in requirements-test.txt (make test)")
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    requests_said = logging.getLogger(
        "werkzeug"
    )  # the server's line per request: noise in a failure's report
    level = requests_said.level
    requests_said.setLevel(logging.WARNING)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    address = f"{host}:{port}"
    filesystem, _ = places.arrow_file(f"s3://{BUCKET}?{_options(address)}&allow_bucket_creation=true")
    filesystem.create_dir(BUCKET)
    yield address
    server.stop()
    requests_said.setLevel(level)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _options(address: str) -> str:
    return f"endpoint_override={address}&scheme=http&region=us-east-1"


@pytest.fixture
def s3_root(s3_server: str) -> str:
    """A store of its own under a fresh prefix of the bucket, as TIMELINE_DATA_DIR names it."""
    return f"s3://{BUCKET}/stores/{uuid.uuid4().hex}?{_options(s3_server)}"


def _same_versions(on_s3: store.DatasetInfo, on_disk: store.DatasetInfo) -> None:
    assert [info.version for info in on_s3.versions] == [info.version for info in on_disk.versions]
    for mine, theirs in zip(on_s3.versions, on_disk.versions, strict=True):
        skip = ("created",)
        assert {k: v for k, v in mine.meta.items() if k not in skip} == {
            k: v for k, v in theirs.meta.items() if k not in skip
        }


def test_an_object_store_keeps_versions_as_a_directory_does(s3_root: str, tmp_path: Path) -> None:
    """Save, append, re-save and withdraw on S3 and in a directory: the same versions (content ids), events,
    rejects, rollups and withdrawals; a version's path names where it is, without the store's options."""
    rejects = pa.table({"line": [7], "reason": ["no date"], "record": ["x,y"]}, schema=store.REJECTS_SCHEMA)
    for root in (s3_root, tmp_path):
        store.save(EVENTS_A, rejects, META, dataset_id="demo", root=root)
        store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=root, append=True)
        again = store.save(EVENTS_B, NO_REJECTS, META, dataset_id="demo", root=root, append=True)
        assert again.meta["appended"] == 0 or again.version == store.version_info("demo", root=root).version
    [on_s3], [on_disk] = store.list_datasets(root=s3_root), store.list_datasets(root=tmp_path)
    _same_versions(on_s3, on_disk)
    newest, oldest = on_s3.versions[0], on_s3.versions[-1]
    assert store.load("demo", root=s3_root).equals(store.load("demo", root=tmp_path))
    assert store.load("demo", oldest.version, root=s3_root, columns=["event_id"]).equals(
        store.load("demo", oldest.version, root=tmp_path, columns=["event_id"])
    )
    assert store.load_rejects("demo", oldest.version, root=s3_root).equals(rejects)
    counted, expected = store.rollups("demo", root=s3_root), store.rollups("demo", root=tmp_path)
    assert (counted.rows, counted.null_counts, counted.min_start_us, counted.max_stop_us) == (
        expected.rows,
        expected.null_counts,
        expected.min_start_us,
        expected.max_stop_us,
    )
    assert all(counted.counts[name].equals(expected.counts[name]) for name in expected.counts)
    assert all(counted.spans[name].equals(expected.spans[name]) for name in expected.spans)
    assert store.events_schema_is_current("demo", root=s3_root)
    assert newest.path == f"{s3_root.split('?')[0]}/demo/{newest.version}"
    assert (
        store.events_path("demo", root=s3_root)
        == f"{s3_root.split('?')[0]}/demo/{newest.version}/events.parquet?{s3_root.split('?')[1]}"
    )

    withdrawn = store.withdraw("demo", oldest.version, reason="wrong file", author=OPERATOR, root=s3_root)
    assert store.withdrawals("demo", root=s3_root) == (withdrawn,)
    with pytest.raises(store.VersionWithdrawn, match="wrong file"):
        store.load("demo", oldest.version, root=s3_root)
    assert [info.version for info in store.list_datasets(root=s3_root)[0].versions] == [
        info.version for info in on_disk.versions[:-1]
    ]
    assert store.remove_leftovers(root=s3_root) == 0


def test_a_version_counts_only_once_its_meta_is_there(s3_root: str) -> None:
    """A write cut short before meta.json (the last file put) leaves a version no reader sees."""
    saved = store.save(EVENTS_A, NO_REJECTS, META, dataset_id="demo", root=s3_root)
    place = places.at(s3_root)
    half = {name: place.read_bytes("demo", saved.version, name) for name in store.VERSION_FILES}
    half.pop(store.META_FILE)
    place.put_version("demo", "0123456789ab", half)
    assert [info.version for info in store.list_datasets(root=s3_root)[0].versions] == [saved.version]
    with pytest.raises(store.DatasetNotFound, match="no version '0123456789ab'"):
        store.version_info("demo", "0123456789ab", root=s3_root)


def _same_rows_as_a_directory(engine: engines.Engine, url_root: str, directory: Path) -> None:
    """The query layer reads a store named by a URL as it reads a directory: the same rows, in the same
    order, unfiltered and filtered (an actor, a search word)."""
    events = _events(*({"event_id": f"e{k}", "minutes": k * 7, "actor": f"actor {k % 3}"} for k in range(40)))
    versions = []
    for root in (url_root, directory):
        saved = store.save(events, NO_REJECTS, META, dataset_id="demo", root=root)
        versions.append(query.version("demo", saved.version, root=root))
    assert places.is_url(versions[0].path) and not places.is_url(versions[1].path)
    for view in (View(dataset="demo"), View(dataset="demo", actors=("actor 1",), query="actor")):
        frames = [query.frame(query.filtered(query.events(engine, where), view)) for where in versions]
        assert frames[0].equals(frames[1])
        assert len(frames[0]) == (13 if view.actors else 40)


def test_the_query_layer_reads_an_object_store_as_it_reads_a_directory(s3_root: str, tmp_path: Path) -> None:
    """DuckDB, which has no S3 reader offline, reads the version through pyarrow's filesystem, filters and
    columns pushed down."""
    engine = engines.connect(engines.EngineSettings())
    try:
        _same_rows_as_a_directory(engine, s3_root, tmp_path / "directory")
    finally:
        engine.close()


def test_every_engine_reads_a_store_named_by_a_url(engine: engines.Engine, tmp_path: Path) -> None:
    """A store named by a URL (here file://, which Spark reads without a cluster's S3 setup) is read by each
    engine as a directory is: DuckDB through pyarrow's filesystem, Spark with its own (the URL as it is)."""
    _same_rows_as_a_directory(engine, (tmp_path / "by-url").as_uri(), tmp_path / "directory")


def test_the_command_line_imports_lists_and_exports_on_an_object_store(s3_root: str, tmp_path: Path) -> None:
    """`python -m timeline import/list/export` with TIMELINE_DATA_DIR an s3:// URL; the rejects file is
    named by its URL; a URL no filesystem reads is one clear line, exit 2."""
    env = {**os.environ, "TIMELINE_DATA_DIR": s3_root}

    def run(*args: str, root: dict[str, str] = env) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "timeline", *args], cwd=ROOT, env=root, capture_output=True, text=True
        )

    imported = run("import", str(PLAIN), "--name", "Plain", "--json")
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    info = store.version_info("plain", root=s3_root)
    assert report["rejects_file"] == f"{info.path}/rejects.csv"
    assert report["rejects_file"].startswith(f"s3://{BUCKET}/stores/")
    listed = run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [dataset["dataset"] for dataset in json.loads(listed.stdout)] == ["plain"]
    exported = run("export", "plain", "--format", "csv", "-o", str(tmp_path / "out.csv"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").count("\n") == report["accepted"] + 1

    nowhere = run("list", root={**env, "TIMELINE_DATA_DIR": "nosuchscheme://bucket/store"})
    assert nowhere.returncode == 2
    assert "nosuchscheme://bucket/store" in nowhere.stderr and "Traceback" not in nowhere.stderr
    assert len(nowhere.stderr.strip().splitlines()) == 1


def test_the_page_opens_a_store_on_an_object_store(s3_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard with TIMELINE_DATA_DIR an s3:// URL shows the bundled dataset seeded there: its name
    and every event, read by the engine through the object store."""
    seeded = bundled.build(s3_root)
    monkeypatch.setenv("TIMELINE_DATA_DIR", s3_root)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    text = [markdown_reader.read(block.value) for block in at.markdown]
    rows = seeded.meta["rows"]
    assert any(f"Showing {rows} of {rows} events" in line for line in text), text
    dataset = at.sidebar.selectbox(key="w:dataset")
    assert (dataset.value, dataset.format_func(dataset.value)) == (
        bundled.DATASET_ID,
        f"{bundled.NAME} ({bundled.DATASET_ID})",
    )
    assert at.sidebar.selectbox[1].value == seeded.version
