"""The page (AppTest): it renders, the URL fills the filters, bad links and files get sentences."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests import markdown_reader, mounts, page_uploads
from timeline import bundled, frame, places, store, view

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
    """Markdown the page wrote as literal text, as a reader sees it rendered."""
    return markdown_reader.read(markdown)


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
    page_uploads.until_read(at.sidebar.file_uploader[0].upload("my events.csv", content, "text/csv").run())
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
    page_uploads.until_read(
        at.sidebar.file_uploader[0].upload(name, (DATA / name).read_bytes(), "text/csv").run()
    )
    assert not at.exception
    assert len(at.error) == 1 and name in _read(at.error[0].value)
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
    captions = [_read(c.value) for c in at.caption]
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


# --- what the reader reads (issue: the page must tell the truth) -----------------------------------------


def _table_rows(at: AppTest) -> pd.DataFrame:
    """The events table as the page lists it."""
    return next(d.value for d in at.dataframe if "time" in d.value.columns and "actor" in d.value.columns)


def test_the_table_leads_with_the_day_the_source_stated() -> None:
    """Sikorski's statement, stated for 22 Mar in UTC+01:00, reads "22 Mar 2024, time not stated" first
    in the UTC table (it read "21 Mar 2024 23:00 – …"), and the Hamas attack of 7 Oct 2023 reads 7 Oct."""
    at = _app(tab="table")
    table = _table_rows(at)
    assert list(table.columns[:2]) == ["time", "start"]  # the stated time is the first column
    stated = dict(zip(table["event_id"], table["time"], strict=True))
    sikorski = stated["2024-03-22-sikorski-condemns-terrorism"]
    assert sikorski.startswith("22 Mar 2024, time not stated, UTC+01:00"), sikorski
    assert sikorski.endswith("· in UTC: 21 Mar 2024 23:00 – 22 Mar 2024 23:00"), sikorski
    assert stated["2023-10-07-hamas-attacks-israel"].startswith("7 Oct 2023"), stated


def test_an_open_event_in_the_link_shows_its_details_with_the_stated_day_first() -> None:
    """?event=ID opens that event's details; their first line of time is the source's own day."""
    at = _app(event="2024-03-22-sikorski-condemns-terrorism", tab="table")
    assert not at.exception
    caption = next(c.value for c in at.caption if "time not stated" in _read(c.value))
    assert _read(caption).startswith("22 Mar 2024, time not stated, UTC+01:00 · in UTC: 21 Mar 2024 23:00")
    assert any(b.label == "Close" for b in at.button)
    assert _param(at, "event") == ["2024-03-22-sikorski-condemns-terrorism"]


def test_who_reacted_first_is_the_reaction_certainly_made_first() -> None:
    """The latency table ranks Podolyak (to the minute, T+2 h 49 min) above the day-only statements whose
    range merely starts earlier; each row names its latency and when it had certainly come."""
    at = _app(tab="reactions")
    table = next(d.value for d in at.dataframe if "certainly by" in d.value.columns)
    first = table.iloc[0]
    assert first["actor"] == "Mykhailo Podolyak", table.head(3).to_dict("records")
    assert first["latency"] == "T+2 h 49 min"
    second = table.iloc[1]
    assert second["latency"].startswith("between T+0 and"), second.to_dict()
    assert "event_id" not in table.columns  # kept for opening the event, never shown


def test_the_casualties_view_follows_its_mode_and_names_disagreements() -> None:
    """The bundled reports open as one incident's reports; the listing names the reporter kind and the
    reports each one disagrees with; toll=totals in a link shows totals per period."""
    at = _app(tab="casualties")
    assert at.radio(key="w:toll").value == "reports"
    listing = next(d.value for d in at.dataframe if "disagrees with" in d.value.columns)
    assert set(listing["kind"]) == {"officials", "media"}
    murashko = listing[listing["reported by"] == "Mikhail Murashko"].iloc[0]
    assert "143 by Russian Emergencies Ministry" in murashko["disagrees with"]
    totals = _app(tab="casualties", toll="totals")
    assert totals.radio(key="w:toll").value == "totals"
    assert not totals.exception and not totals.error


def test_a_link_without_v_opens_the_newest_version_and_the_page_pins_it() -> None:
    """No v in the link: the newest version opens, and the address bar then names it (and the dataset),
    so the link shared from there keeps showing it whatever is saved later."""
    newest = store.version_info(bundled.DATASET_ID).version
    at = _app(tz="Europe/Moscow")
    assert _param(at, "v") == [newest]
    assert _param(at, "dataset") == [bundled.DATASET_ID]
    assert not any("newer version" in _read(i.value) for i in at.info)


def test_a_typed_date_that_reads_both_ways_says_which_reading_was_taken() -> None:
    """03/04/2024 typed in From is read month first: the box and the link say 2024-03-04, and a notice
    names that reading and how to type the other."""
    at = _app()
    at.text_input(key="w:start").set_value("03/04/2024").run()
    assert at.text_input(key="w:start").value == "2024-03-04"
    assert _param(at, "from") == ["2024-03-04"]
    notes = [_read(w.value) for w in at.sidebar.warning]
    assert any("month first, as 4 March 2024" in n and "type 2024-04-03" in n for n in notes), notes


def test_a_zone_change_keeps_the_instants_of_the_typed_window() -> None:
    """A window typed in Moscow time, then the zone set to UTC: the same events, the window reworded."""
    at = _app(tz="Europe/Moscow", **{"from": "2024-03-22", "to": "2024-03-22"})
    before = _showing(at).split("**")[1]
    at.selectbox(key="w:tz").set_value("UTC").run()
    assert _showing(at).split("**")[1] == before
    assert at.text_input(key="w:start").value == "2024-03-21T21:00"
    assert at.text_input(key="w:end").value == "2024-03-22T20:59"
    assert _param(at, "from") == ["2024-03-21T21:00"]


def test_a_rerun_that_changes_nothing_never_overwrites_what_the_browser_holds() -> None:
    """Every value the server writes into a widget makes the browser overwrite that box. A run made stale by a
    newer click would then wipe what the reader typed meanwhile, so a run writes only what it changed: a
    canonical spelling of a typed date, not the boxes it left alone."""
    at = _app(actor=["Hamas", "NEXTA"], q="attack", tz="Europe/Moscow", tab="table", **{"from": "2024-03-22"})
    widgets = {
        "w:actors": "multiselect",
        "w:types": "multiselect",
        "w:start": "text_input",
        "w:end": "text_input",
        "w:query": "text_input",
        "w:tz": "selectbox",
        "w:version": "selectbox",
        "w:dataset": "selectbox",
    }

    def written() -> set[str]:
        return {key for key, kind in widgets.items() if getattr(at, kind)(key=key).proto.set_value}

    at.run()
    assert written() == set()
    at.text_input(key="w:end").set_value("03/23/2024").run()
    assert written() == {"w:end"}
    assert at.text_input(key="w:end").value == "2024-03-23"


def test_a_refused_typed_value_stays_in_its_box_with_the_reason() -> None:
    """An unreadable From is not applied, stays in the box to be corrected, and the sidebar says why."""
    at = _app(**{"from": "2024-03-22"})
    at.text_input(key="w:start").set_value("yesterday-ish").run()
    assert at.text_input(key="w:start").value == "yesterday-ish"
    assert _param(at, "from") == ["2024-03-22"]
    assert any("yesterday-ish" in _read(w.value) for w in at.sidebar.warning)


def test_the_mapping_editor_speaks_plainly_and_lists_each_field_once(store_dir: Path) -> None:
    """Uploaded, a file's mapping editor labels fields in words, once each, with sample values."""
    at = _app()
    content = (DATA / "plain_date_who_what.csv").read_bytes()
    page_uploads.until_read(at.sidebar.file_uploader[0].upload("my events.csv", content, "text/csv").run())
    boxes = [b for b in at.selectbox if b.key and b.key.startswith("map::")]
    labels = [b.label for b in boxes]
    assert len(labels) == len(set(labels))
    assert {"Date", "Actor", "Headline"} <= set(labels)
    assert not {"timestamp", "date", "actor_group", "end_date"} & set(labels)
    date = next(b for b in boxes if b.label == "Date")
    assert date.value == "date"
    assert date.format_func("date").startswith("date — e.g. 2024-03-22, 2024-03-23")


def test_a_mapping_that_breaks_the_file_can_be_undone(store_dir: Path) -> None:
    """Moving the only date column to another field makes the file unreadable: the page says so, keeps the
    editor, and "Undo the last mapping change" brings the previous reading back."""
    at = _app()
    content = (DATA / "plain_date_who_what.csv").read_bytes()
    page_uploads.until_read(at.sidebar.file_uploader[0].upload("my events.csv", content, "text/csv").run())
    title = next(b for b in at.selectbox if b.key and b.key.startswith("map::") and b.label == "Headline")
    page_uploads.until_read(title.set_value("date").run())
    assert any("cannot be imported" in _read(e.value) for e in at.error)
    undo = next(b for b in at.button if b.label == "Undo the last mapping change")
    page_uploads.until_read(undo.click().run())
    assert not at.error
    assert any("rows read" in m.value for m in at.markdown)


def test_a_window_moved_later_bound_by_bound_ends_as_typed() -> None:
    """From moved past the old To is refused for now and kept in its box; once To is moved too, both
    apply: the window drawn is the window typed (in either order, at once or one after the other)."""
    at = _app(**{"from": "2024-03-10", "to": "2024-03-16"})
    at.text_input(key="w:start").set_value("2024-03-22").run()
    assert _param(at, "from") == ["2024-03-10"]
    assert at.text_input(key="w:start").value == "2024-03-22"
    at.text_input(key="w:end").set_value("2024-03-22").run()
    assert (_param(at, "from"), _param(at, "to")) == (["2024-03-22"], ["2024-03-22"])
    assert not [w for w in at.sidebar.warning if "before" in _read(w.value)]
    both = _app(**{"from": "2024-03-10", "to": "2024-03-16"})
    both.text_input(key="w:start").set_value("2024-03-22")
    both.text_input(key="w:end").set_value("2024-03-23").run()
    assert (_param(both, "from"), _param(both, "to")) == (["2024-03-22"], ["2024-03-23"])


def _upload_and_name(at: AppTest, name: str) -> AppTest:
    """Upload the plain test file and type a dataset name for it."""
    content = (DATA / "plain_date_who_what.csv").read_bytes()
    page_uploads.until_read(at.sidebar.file_uploader[0].upload("my events.csv", content, "text/csv").run())
    return page_uploads.until_read(at.text_input(key="import_name").set_value(name).run())


def _press_save(at: AppTest) -> AppTest:
    save = next(b for b in at.button if b.label.startswith("Save as dataset"))
    return save.click().run()


def _store_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.name.startswith(".tmp-"))


@pytest.mark.parametrize("name", ["Crocus City Hall 2024", "Ｃｒｏｃｕｓ Ｃｉｔｙ Ｈａｌｌ 2024"])
def test_the_page_cannot_save_into_the_bundled_dataset(store_dir: Path, name: str) -> None:
    """Named as the bundled dataset (or a fullwidth lookalike), an upload is refused before Save is offered:
    the page says the dataset is protected and to choose another name, offers neither Save nor a merge, and
    nothing is written."""
    before = _store_files(store_dir)
    at = _upload_and_name(_app(), name)
    assert not at.exception
    assert not any(b.label.startswith("Save as dataset") for b in at.button)
    assert not any(c.label.startswith("Merge into") for c in at.checkbox)
    said = " ".join(_read(e.value) for e in at.error)
    assert "'crocus-city-hall-2024' is protected" in said and "Choose another name" in said
    assert _store_files(store_dir) == before
    assert _showing(at).startswith("**Showing 101 of 101 events**")


def test_a_full_disk_is_said_plainly_on_the_page(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save the disk refuses (ENOSPC) shows a message that the data was not saved and why, never
    Streamlit's error page; the page stays on what it showed."""

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(places, "_write_file", full)
    at = _press_save(_upload_and_name(_app(), "My events"))
    assert not at.exception
    [error] = at.error
    assert _read(error.value).startswith("The data was NOT saved: the disk is full")
    assert str(store_dir) in _read(error.value)
    assert at.selectbox(key="w:dataset").value == bundled.DATASET_ID
    assert [d.dataset_id for d in store.list_datasets()] == [bundled.DATASET_ID]
    assert not [p for p in (store_dir / "my-events").iterdir() if not p.name.startswith(".")]


@pytest.fixture
def read_only_store(store_dir: Path) -> Iterator[Path]:
    """The test's store mounted read-only (a bind mount: the tests run as root); skipped where it cannot."""
    with mounts.read_only(store_dir) as mounted:
        yield mounted


def test_a_read_only_store_is_said_plainly_on_the_page(read_only_store: Path) -> None:
    """On a store mounted read-only the page opens, and a save says the data was not saved and why."""
    at = _press_save(_upload_and_name(_app(), "My events"))
    assert not at.exception
    [error] = at.error
    assert "The data was NOT saved: the store is on a read-only file system" in _read(error.value)
    assert _showing(at).startswith("**Showing 101 of 101 events**")


def test_a_link_to_a_withdrawn_version_says_who_withdrew_it_and_why(store_dir: Path) -> None:
    """v= a withdrawn version: a notice with when, by whom and why, and the newest version left opens; the
    Dataset tab lists it, and says who saved the version shown."""
    events = store.load(bundled.DATASET_ID)
    operator = store.Author("Ops Team", "cli")
    poison = store.save(
        events.slice(0, 2), store.load_rejects(bundled.DATASET_ID), {"name": "x"},
        dataset_id=bundled.DATASET_ID, author=operator,
    )  # fmt: skip
    newest_left = store.list_datasets()[0].versions[1]
    store.withdraw(bundled.DATASET_ID, poison.version, reason="fake events", author=operator)
    at = _app(v=poison.version, tab="dataset")
    assert not at.exception and not at.error
    notices = [_read(w.value) for w in at.warning]
    assert any(
        f"The version {poison.version} of '{bundled.DATASET_ID}' was withdrawn on " in n
        and "by Ops Team from the command line: fake events" in n
        for n in notices
    ), notices
    assert _param(at, "v") == [newest_left.version]
    assert _showing(at).startswith("**Showing 101 of 101 events**")
    page = " ".join(_read(m.value) for m in at.markdown)
    assert "Withdrawn versions" in page and "fake events" in page
    assert "Saved by: not recorded" in page.replace("*", "")


def test_the_dataset_tab_says_who_saved_the_version(store_dir: Path) -> None:
    """The Dataset tab names who saved the version shown, and from where."""
    alice = store.Author("Alice", "page", "alice@example.org")
    events = store.load(bundled.DATASET_ID)
    store.save(
        events, store.load_rejects(bundled.DATASET_ID), {"name": "Mine"}, dataset_id="mine", author=alice
    )
    at = _app(dataset="mine", tab="dataset")
    assert not at.exception and not at.error
    page = " ".join(_read(m.value) for m in at.markdown).replace("*", "")
    # (the page may write the @ of an address in a way Markdown cannot turn into a link)
    assert "Saved by: Alice (alice" in page and "example.org) on the page" in page


def test_the_page_removes_what_interrupted_writes_left(store_dir: Path) -> None:
    """A .tmp- folder left in the store by a killed write is gone once the page has started."""
    leftover = store_dir / bundled.DATASET_ID / ".tmp-0123456789abcdef"
    leftover.mkdir()
    (leftover / "events.parquet").write_bytes(b"PAR1")
    at = _app()
    assert not at.exception
    assert not leftover.exists()
