"""The mapping editor as data: one plain-worded entry per field, sample-bearing choices, and the overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from timeline import mapping_form, presets
from timeline import schema as s
from timeline.errors import UsageError
from timeline.ingest import ImportOptions, read_events

DATA = Path(__file__).parent / "data"


def _read(name: str, mapping: dict[str, str | None] | None = None):
    """Import tests/data/<name>, with these mapping overrides."""
    return read_events((DATA / name).read_bytes(), ImportOptions(file_name=name, mapping=mapping or {}))


def test_one_entry_per_field():
    """Every mappable field has one entry (timestamp is the date entry, end the end date), none twice."""
    fields = mapping_form.form(_read("plain_date_who_what.csv"))
    keys = [field.key for field in fields]
    assert len(keys) == len(set(keys))
    assert s.TIMESTAMP not in keys and s.END not in keys
    canonical = {s.TIMESTAMP: presets.DATE, s.END: presets.END_DATE}
    wanted = {canonical.get(f, f) for f in s.MAPPABLE_FIELDS} | {
        presets.END_YEAR,
        presets.END_MONTH,
        presets.END_DAY,
    }
    assert set(keys) == wanted
    assert keys[:2] == [presets.DATE, presets.TIME]
    sections = [mapping_form.SECTIONS.index(field.section) for field in fields]  # When, Who, What, ...
    assert sections == sorted(sections)


def test_every_entry_is_a_field_the_importer_accepts():
    """Each entry's key, as an override, is accepted by the importer (no 'cannot map')."""
    columns = ("a", "b")
    for key in mapping_form.FIELD_KEYS:
        presets.resolve_mapping(columns, presets.PRESETS["generic"], {key: "a"})


def test_labels_are_plain_words():
    """Labels are words a reader knows (no internal names, no underscores); each has a one-line help."""
    for field in mapping_form.form(_read("plain_date_who_what.csv")):
        assert "_" not in field.label and field.label[0].isupper(), field.label
        assert field.help and "\n" not in field.help and len(field.help) <= 80, field.help
    labels = {f.key: f.label for f in mapping_form.form(_read("plain_date_who_what.csv"))}
    assert labels[presets.DATE] == "Date"
    assert labels[s.ACTOR_GROUP] == "Actor group"
    assert labels[presets.END_DATE] == "End date"
    assert labels[s.SOURCE_URL] == "Source link"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plain_date_who_what.csv", {presets.DATE: "date", s.ACTOR: "who", s.TITLE: None}),
        (
            "timelinejs_template.csv",
            {presets.DATE: None, presets.YEAR: "Year", s.ACTOR: "Group", s.ACTOR_GROUP: "Group"},
        ),
    ],
)
def test_entries_show_the_column_used(name, expected):
    """Each entry holds the input column the import used for it, or None."""
    columns = {f.key: f.column for f in mapping_form.form(_read(name))}
    assert {key: columns[key] for key in expected} == expected


def test_time_parts_are_folded_unless_mapped():
    """Time-of-day and year/month/day entries are advanced (folded) unless the import used them."""
    plain = {f.key: f.advanced for f in mapping_form.form(_read("plain_date_who_what.csv"))}
    assert plain[presets.TIME] and plain[presets.YEAR] and plain[presets.END_TIME]
    assert not plain[presets.DATE] and not plain[presets.END_DATE] and not plain[s.ACTOR]
    split = {f.key: f.advanced for f in mapping_form.form(_read("timelinejs_template.csv"))}
    assert not split[presets.YEAR] and not split[presets.TIME] and not split[presets.END_YEAR]


def test_choices_are_none_then_the_columns():
    """A select box offers no column first, then every input column in file order."""
    result = _read("plain_date_who_what.csv")
    assert mapping_form.choices(result) == (None, "date", "who", "what")


@pytest.mark.parametrize(
    ("column", "samples", "expected"),
    [
        (
            "event_date",
            ("2021-03-02", "2021-03-04", "2021-03-09"),
            "event_date — e.g. 2021-03-02, 2021-03-04, 2021-03-09",
        ),
        (None, (), "(none)"),
        ("Group", (), "Group — empty in the first rows"),
        ("what", ("Attack on Crocus City Hall in Krasnogorsk",), "what — e.g. Attack on Crocus Ci…"),
        ("text", ("two\nlines",), "text — e.g. two lines"),
    ],
)
def test_column_choice_label(column, samples, expected):
    """A choice names the column and shows what it holds, each sample cut short; None reads "(none)"."""
    assert mapping_form.column_choice_label(column, samples) == expected


def test_choice_labels_stay_short():
    """Long column names and long samples still give a label of at most 80 characters."""
    label = mapping_form.column_choice_label("c" * 70, ("x" * 50, "y" * 50, "z" * 50))
    assert len(label) <= mapping_form.CHOICE_LABEL_CHARS and label.endswith("…")


def test_choice_labels_from_an_import():
    """The labels of a real import carry that file's first values."""
    result = _read("plain_date_who_what.csv")
    label = mapping_form.column_choice_label("who", result.samples["who"])
    assert label == "who — e.g. Gunmen, Islamic State, Vladimir Putin"


def test_overrides_after_moves_a_column():
    """Choosing a column for a field takes it away from the field that had it, and the re-read agrees."""
    result = _read("plain_date_who_what.csv")
    after = mapping_form.overrides_after(s.TITLE, "who", {}, mapping=result.mapping)
    assert after == {s.TITLE: "who", s.ACTOR: None}
    again = _read("plain_date_who_what.csv", after)
    assert again.mapping.get(s.TITLE) == "who" and s.ACTOR not in again.mapping
    columns = {f.key: f.column for f in mapping_form.form(again)}
    assert columns[s.TITLE] == "who" and columns[s.ACTOR] is None


def test_overrides_after_takes_a_preset_column_from_every_field():
    """TimelineJS's Group, the preset's actor and actor group, leaves both when chosen for another field."""
    result = _read("timelinejs_template.csv")
    after = mapping_form.overrides_after(s.TARGET, "Group", {}, mapping=result.mapping)
    assert after == {s.TARGET: "Group", s.ACTOR: None, s.ACTOR_GROUP: None}


@pytest.mark.parametrize(
    ("key", "column", "overrides", "mapping", "expected"),
    [
        # the same column again: nothing changes
        (s.ACTOR, "who", {}, {s.ACTOR: "who"}, {}),
        # no column: the field is left unmapped (the importer will not fill it by name)
        (s.ACTOR, None, {}, {s.ACTOR: "who"}, {s.ACTOR: None}),
        # other overrides are kept
        (s.TITLE, "what", {s.ACTOR: "who"}, {s.ACTOR: "who"}, {s.ACTOR: "who", s.TITLE: "what"}),
        # timestamp / end (as the command line spells them) become date / end_date
        (presets.DATE, "b", {s.TIMESTAMP: "a"}, {presets.DATE: "a"}, {presets.DATE: "b"}),
        (s.TITLE, "a", {s.END: "a"}, {presets.END_DATE: "a"}, {presets.END_DATE: None, s.TITLE: "a"}),
        # a column the importer gave to a field no one can override (extra) just goes to the new field
        (s.DESCRIPTION, "x", {}, {s.EXTRA: "x"}, {s.DESCRIPTION: "x"}),
    ],
)
def test_overrides_after(key, column, overrides, mapping, expected):
    """The overrides after one choice, from the current overrides and the mapping read with them."""
    assert mapping_form.overrides_after(key, column, overrides, mapping=mapping) == expected


def test_overrides_after_leaves_the_given_overrides_alone():
    """The caller's overrides are not changed in place (the page keeps them in its session)."""
    overrides = {s.ACTOR: "who"}
    mapping_form.overrides_after(s.TITLE, "who", overrides, mapping={s.ACTOR: "who"})
    assert overrides == {s.ACTOR: "who"}


def test_overrides_after_rejects_an_unknown_field():
    """A key that is no entry of the editor is a usage error naming the fields."""
    with pytest.raises(UsageError, match="actor_group"):
        mapping_form.overrides_after("nope", "a", {}, mapping={})
