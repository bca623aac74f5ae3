"""Fuzzed links (AppTest): any query renders the page, says what it dropped, and reads only the store."""

from __future__ import annotations

import builtins
import io
import os
import shutil
import sys
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit import config as streamlit_config
from streamlit.runtime.state.query_params import EMBED_QUERY_PARAMS_KEYS, sanitize_query_string
from streamlit.testing.v1 import AppTest

from tests import markdown_reader
from timeline import bundled, frame, ingest, store, view

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = 60  # each is one AppTest run (~0.2 s); the explicit @examples come on top
OTHER = "second-set"  # a dataset with two versions, so that v= has something to find
KEYS = tuple(param.key for param in view.PARAMS)
TRAVERSALS = (
    "../../etc",
    "../../etc/passwd",
    "/etc/passwd",
    "..",
    ".",
    "",
    "crocus-city-hall-2024/../../..",
    "..%2f..%2fetc",
    "..\\..\\windows",
    "%00",
    "crocus-city-hall-2024\x00",
    "CROCUS-CITY-HALL-2024",
    "~root",
    "file:///etc/passwd",
    "data",
    "-",
    "a" * 65,
)
JUNK_KEYS = (
    "",
    " ",
    "dataset ",
    "DATASET",
    "v2",
    "__proto__",
    "actor[]",
    "tab\x01",
    "../../etc",
    "utm_source",
)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private store: the bundled dataset and a second one with two versions; the page is pointed at it."""
    root = tmp_path_factory.mktemp("fuzz-store")
    shutil.copytree(store.DEFAULT_ROOT / bundled.DATASET_ID, root / bundled.DATASET_ID)
    for content in (
        b"date,actor\n2024-03-22,Old\n",
        b"date,actor,type\n2024-03-22,New,claim\n2024-03-23,Other,x\n",
    ):
        result = ingest.read_events(content)
        meta = ingest.version_meta(result, name=OTHER, source_file="x.csv", options=ingest.ImportOptions())
        store.save(result.events, result.rejects, meta, dataset_id=OTHER, root=root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(store.ENV_VAR, str(root))
        yield root


def _good_values(root: Path) -> dict[str, list[str]]:
    """Values each key can validly take in this store."""
    events = store.load(bundled.DATASET_ID, root=root)
    return {
        "dataset": [bundled.DATASET_ID, OTHER],
        "v": [v.version for d in store.list_datasets(root=root) for v in d.versions],
        "actor": [*sorted(set(events["actor"].to_pylist()))[:4], "New"],
        "group": sorted({g for g in events["actor_group"].to_pylist() if g})[:3],
        "type": ["attack", "claim", "statement"],
        "react": ["statement", "condolence"],
        "from": ["2024-03-22", "2024-03-22T17:30", "2024-03-22T17:30+03:00", "2024-03-22T14:30Z"],
        "to": ["2024-03-23", "2024-03-22T23:00", "2024-03-22 23:00 03:00"],
        "q": ["moscow", "Crocus", "ИГИЛ"],
        "tz": ["UTC", "Europe/Moscow", "America/New_York", "Asia/Kathmandu"],
        "tab": list(view.TABS),
        "anchor": events["event_id"].to_pylist()[:3],
        "lanes": list(view.LANES),
        "axis": list(view.AXES),
        "by": list(view.GROUPINGS),
    }


GOOD = _good_values(store.DEFAULT_ROOT)  # the bundled data is the same in the private store


def _values(key: str) -> st.SearchStrategy[str]:
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
    return st.one_of(
        st.sampled_from(GOOD.get(key, ["x"])),
        st.sampled_from(GOOD.get(key, ["x"])),
        text,
        st.sampled_from(TRAVERSALS),
        st.text("0123456789abcdef", max_size=16),
        st.integers(1_000, 100_000).map(lambda n: ("x" * 7 + "\u202e") * (n // 8)),
        st.sampled_from(
            ["\x00", "\x1b[31m", "\r\n", "\u2028", " ", "<script>alert(1)</script>", "javascript:x"]
        ),
    )


@st.composite
def queries(draw: st.DrawFn) -> dict[str, list[str]]:
    """A link's query: known keys and junk ones, each repeated 1-3 times with valid and hostile values."""
    keys = draw(
        st.lists(st.sampled_from(KEYS) | st.sampled_from(JUNK_KEYS) | st.text(max_size=12), max_size=6)
    )
    return {key: draw(st.lists(_values(key), min_size=1, max_size=3)) for key in keys}


class _Reads:
    """Every path the process opens, lists or reads while active."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def spy(self, function):
        def wrapper(path, *args, **kwargs):
            if isinstance(path, str | bytes | os.PathLike):
                self.paths.append(Path(os.path.abspath(os.fsdecode(path))))
            return function(path, *args, **kwargs)

        return wrapper

    def install(self, patch: pytest.MonkeyPatch) -> None:
        patch.setattr(builtins, "open", self.spy(builtins.open))
        patch.setattr(io, "open", self.spy(io.open))
        for name in ("open", "scandir", "listdir"):
            patch.setattr(os, name, self.spy(getattr(os, name)))
        patch.setattr(pq, "read_table", self.spy(pq.read_table))
        patch.setattr(pq, "ParquetFile", self.spy(pq.ParquetFile))
        patch.setattr(pcsv, "read_csv", self.spy(pcsv.read_csv))


def _allowed(store_root: Path) -> tuple[list[Path], list[Path]]:
    """Where the page may read: the store, the code and its interpreter, the time-zone database, and the
    secrets files Streamlit is configured to read (the operator's sign-in settings)."""
    inside = [store_root.resolve(), ROOT, Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
    inside += [Path(p) for p in zoneinfo.TZPATH]
    inside += [Path(p) for p in streamlit_config.get_option("secrets.files")]
    outside = [ROOT / "data"]  # the default store: a private store is configured, so never this
    return [p.resolve() for p in inside], [p.resolve() for p in outside]


def _outside(paths: list[Path], store_root: Path) -> list[Path]:
    inside, excluded = _allowed(store_root)
    bad = []
    for path in paths:
        resolved = path.resolve()
        ok = any(resolved.is_relative_to(p) for p in inside) and not any(
            resolved.is_relative_to(p) for p in excluded
        )
        if not ok or resolved == Path("/"):
            bad.append(path)
    return bad


def _open_page(query: dict[str, list[str]], store_root: Path) -> tuple[AppTest, list[Path]]:
    """The page opened with query; and every path read while it ran."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for key, values in query.items():
        at.query_params[key] = values
    reads = _Reads()
    with pytest.MonkeyPatch.context() as patch:
        reads.install(patch)
        at.run()
    return at, reads.paths


def _as_the_page_receives(query: dict[str, list[str]]) -> dict[str, list[str]]:
    """The query as st.query_params gives it: URL-encoded and parsed back, blank values kept.

    Streamlit drops a whole query string over 512 Ki characters or 1,000 fields (a server log line, no
    notice), and keeps its own embed keys to itself.
    """
    received = parse_qs(sanitize_query_string(urlencode(query, doseq=True)), keep_blank_values=True)
    return {key: values for key, values in received.items() if key not in EMBED_QUERY_PARAMS_KEYS}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,
)
@given(query=queries())
@example(query={"dataset": ["../../etc"]})
@example(query={"dataset": ["../../etc/passwd"], "v": ["../../../etc/passwd"]})
@example(query={"dataset": ["/etc/passwd", "crocus-city-hall-2024"], "v": ["ffffffffffff", "../x"]})
@example(query={"dataset": [OTHER], "v": ["0123456789ab"]})
@example(query={"dataset": ["a" * 100_000], "q": ["y" * 100_000], "tz": ["Z" * 100_000]})
@example(
    query={"actor": ["Nobody", "\x00", "Gunmen"] * 3, "type": ["claim", "claim"], "tab": ["table", "secrets"]}
)
@example(query={"from": ["2024-03-23"], "to": ["2024-03-22"], "tz": ["Etc/GMT+14", "../../../../etc/passwd"]})
@example(query={"anchor": ["../../etc/passwd"], "react": ["\x1b[2J"], "axis": ["log"], "by": ["type"]})
@example(query={"__proto__": ["x"], "": ["y"], "tab\x01": ["z"], "utm_source": ["mail"]})
def test_any_link_renders_with_notices_and_reads_only_the_store(
    store_dir: Path, query: dict[str, list[str]]
) -> None:
    """The page renders for any query; every dropped value is named in a notice; nothing outside is read."""
    at, paths = _open_page(query, store_dir)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len([m for m in at.markdown if m.value.startswith("**Showing")]) == 1
    # The page escapes Markdown in its notices; the reader sees them unescaped.
    warnings = {markdown_reader.read(w.value) for w in at.warning}

    received = _as_the_page_receives(query)
    opened, notices = view.from_query(received)
    assert set(notices) <= warnings, (notices, warnings)
    datasets = {d.dataset_id: d for d in store.list_datasets(root=store_dir)}
    if opened.dataset not in datasets:
        assert any("does not exist on this server" in w for w in warnings)
    else:
        versions = [v.version for v in datasets[opened.dataset].versions]
        if opened.version is not None and opened.version not in versions:
            assert any(f"Version {opened.version!r}" in w for w in warnings)
        version = opened.version if opened.version in versions else versions[0]
        events = frame.prepare(store.load(opened.dataset, version, root=store_dir))
        _, missing = view.reconcile(opened, view.Present.of_frame(events))
        assert set(missing) <= warnings, (missing, warnings)

    assert _outside(paths, store_dir) == []
    assert set(at.query_params) <= set(KEYS), "the address bar keeps only the parameters of the grammar"


def test_the_spy_sees_a_read_outside_the_store(store_dir: Path, tmp_path: Path) -> None:
    """The open-path check itself works: a read outside the store during a run is reported."""
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    reads = _Reads()
    with pytest.MonkeyPatch.context() as patch:
        reads.install(patch)
        outside.read_text()
        with open(outside) as handle:
            handle.read()
        pq.read_table(store.version_info(bundled.DATASET_ID, root=store_dir).path / store.EVENTS_FILE)
    assert _outside(reads.paths, store_dir) == [outside, outside]
