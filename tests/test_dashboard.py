"""The page (AppTest): it renders, the URL fills the filters, bad links and files get sentences."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from timeline import bundled, frame, store, view

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private store holding a copy of the bundled dataset, so tests never write into data/."""
    root = tmp_path / "store"
    shutil.copytree(store.DEFAULT_ROOT / bundled.DATASET_ID, root / bundled.DATASET_ID)
    monkeypatch.setenv("TIMELINE_DATA_DIR", str(root))
    return root


def _app(**params: str | list[str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _param(at: AppTest, key: str) -> list[str]:
    """A URL parameter's values, whether AppTest holds one value or several."""
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def _read(markdown: str) -> str:
    """Markdown the page escaped, as a reader sees it rendered: every backslash escape undone."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _showing(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Showing"))


def _expected_count(**params: str | list[str]) -> int:
    events = frame.prepare(store.load(bundled.DATASET_ID, root=store.DEFAULT_ROOT))
    chosen, _ = view.from_query(params)
    return len(view.apply(events, chosen))


def test_default_page_renders_the_bundled_dataset() -> None:
    """With no link parameters the page shows all bundled events, the zone, and no error."""
    at = _app()
    assert not at.exception
    assert not at.error
    assert _showing(at).startswith("**Showing 101 of 101 events**")
    assert "times in UTC" in _showing(at)
    assert at.selectbox(key="w:dataset").value == bundled.DATASET_ID


@pytest.mark.parametrize(
    "params",
    [
        {"actor": ["Hamas", "NEXTA"]},
        {"type": "claim"},
        {"q": "sikorski"},
        {"group": "United States", "tz": "Europe/Moscow"},
        {"from": "2024-03-22", "to": "2024-03-22", "tz": "Europe/Moscow"},
        {"from": "2024-03-22T19:00", "to": "2024-03-22T23:00", "tz": "Europe/Moscow", "type": "statement"},
    ],
)
def test_url_parameters_fill_the_filters_and_the_count(params: dict[str, str | list[str]]) -> None:
    """A link's parameters set the widgets, and "Showing N of M" counts what view.apply keeps."""
    at = _app(**params)
    assert not at.exception
    assert _showing(at).startswith(f"**Showing {_expected_count(**params)} of 101 events**")
    if "actor" in params:
        assert at.multiselect(key="w:actors").value == params["actor"]
    if "tz" in params:
        assert at.selectbox(key="w:tz").value == params["tz"]
    if "q" in params:
        assert at.text_input(key="w:query").value == params["q"]
    assert not at.warning


@pytest.mark.parametrize(
    ("params", "mentioned"),
    [
        ({"tz": "Mars/Olympus"}, "Mars/Olympus"),
        ({"dataset": "../../etc"}, "dataset"),
        ({"dataset": "no-such-dataset"}, "no-such-dataset"),
        ({"from": "yesterday-ish"}, "yesterday-ish"),
        ({"actor": "Nobody At All"}, "Nobody At All"),
        ({"tab": "secrets"}, "secrets"),
        ({"v": "ffffffffffff"}, "ffffffffffff"),
        ({"anchor": "not-an-event"}, "not-an-event"),
        ({"q": "x" * 5000}, "q"),
    ],
)
def test_bad_parameters_give_a_notice_not_an_error(params: dict[str, str], mentioned: str) -> None:
    """Invalid link values are dropped with a visible notice; the page still renders."""
    at = _app(**params, unknown_parameter="ignored")
    assert not at.exception
    assert not at.error
    assert any(mentioned in _read(w.value) for w in at.warning), [w.value for w in at.warning]
    assert "Showing" in _showing(at)


def test_changing_a_filter_updates_the_url() -> None:
    """Picking actors in the sidebar writes them into the address bar as repeated keys."""
    at = _app()
    at.multiselect(key="w:actors").set_value(["Hamas"]).run()
    assert _param(at, "actor") == ["Hamas"]
    assert _showing(at).startswith(f"**Showing {_expected_count(actor='Hamas')} of 101 events**")


def test_uploading_a_good_csv_saves_and_switches(store_dir: Path) -> None:
    """A good file previews its counts, and Save stores a dataset and switches the page and URL to it."""
    at = _app()
    content = (DATA / "plain_date_who_what.csv").read_bytes()
    at.sidebar.file_uploader[0].upload("my events.csv", content, "text/csv").run()
    assert not at.exception
    assert any("rows read" in m.value for m in at.markdown)
    at.text_input(key="import_name").set_value("My events").run()
    save = next(b for b in at.button if b.label.startswith("Save as dataset"))
    save.click().run()
    assert not at.exception
    assert (store_dir / "my-events").is_dir()
    assert at.selectbox(key="w:dataset").value == "my-events"
    assert _param(at, "dataset") == ["my-events"]
    assert any("Saved" in s.value for s in at.success)


@pytest.mark.parametrize("name", ["empty.csv", "binary.csv", "no_date_column.csv", "header_only.csv"])
def test_uploading_a_bad_csv_shows_one_error_and_saves_nothing(store_dir: Path, name: str) -> None:
    """A file that cannot be used gives one clear message and no Save button; the store is unchanged."""
    before = sorted(p.name for p in store_dir.iterdir())
    at = _app()
    at.sidebar.file_uploader[0].upload(name, (DATA / name).read_bytes(), "text/csv").run()
    assert not at.exception
    assert len(at.error) == 1 and name in at.error[0].value
    assert not [b for b in at.button if b.label.startswith("Save as dataset")]
    assert sorted(p.name for p in store_dir.iterdir()) == before


@pytest.mark.parametrize("tab", ["table", "dataset", "reactions", "casualties"])
def test_every_tab_renders_from_a_link(tab: str) -> None:
    """Opening a link with tab=... shows that view without an exception."""
    at = _app(tab=tab)
    assert not at.exception
    assert not at.error


@pytest.mark.parametrize(
    "params",
    [
        {"tab": "reactions"},
        {"tab": "reactions", "axis": "log", "by": "group"},
        {
            "tab": "reactions",
            "anchor": "2024-03-22-islamic-state-claim",
            "react": ["statement", "condolence"],
        },
        {"axis": "relative", "lanes": "group", "anchor": "2024-03-22-islamic-state-claim"},
        {"tab": "casualties", "tz": "Europe/Moscow"},
    ],
)
def test_anchor_and_axis_round_trip_through_the_link(params: dict[str, str | list[str]]) -> None:
    """Opening a link with anchor, axis, lanes, by and react keeps them in the address bar, and renders."""
    at = _app(**params)
    assert not at.exception
    assert not at.error
    assert not at.warning
    for key, value in params.items():
        assert _param(at, key) == ([value] if isinstance(value, str) else value)


def test_reactions_view_names_the_anchor_and_silent_actors() -> None:
    """The reactions view says which event is time zero and lists actors that never reacted."""
    at = _app(tab="reactions")
    captions = [c.value for c in at.caption]
    assert any("Time zero (anchor)" in c and "2024-03-22-attack-begins" in c for c in captions)
    assert any(c.startswith("No reaction after the anchor from") for c in captions)


def test_the_reactions_axis_is_its_own_and_leaves_the_timeline_axis_alone() -> None:
    """The reactions view opens on its log axis; choosing linear there writes raxis=linear, never axis."""
    at = _app(tab="reactions", axis="relative")
    assert at.radio(key="w:reaction_axis").value == "log"
    at.radio(key="w:reaction_axis").set_value("linear").run()
    assert not at.exception
    assert _param(at, "raxis") == ["linear"]
    assert _param(at, "axis") == ["relative"]
