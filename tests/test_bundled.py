"""The bundled dataset: the stored version is exactly what the reviewed CSV gives."""

from __future__ import annotations

import hashlib

import pyarrow.compute as pc

from timeline import bundled, schema, store


def test_stored_version_matches_the_reviewed_csv() -> None:
    """Reading data/crocus-city-hall-2024.csv gives the events stored as the newest bundled version (which
    holds them in the store's order)."""
    result = bundled.read_reviewed_csv()
    stored = store.load(bundled.DATASET_ID, root=store.DEFAULT_ROOT)
    assert result.rejected == 0 and result.duplicates == 0
    assert stored.equals(store.in_stored_order(result.events))


def test_newest_bundled_version_is_reproducible() -> None:
    """Rebuilding from the CSV yields the very version on disk (its id is a hash of the content)."""
    info = store.version_info(bundled.DATASET_ID, root=store.DEFAULT_ROOT)
    assert info.meta["rows"] == bundled.read_reviewed_csv().accepted
    assert info.meta["source_sha256"] == hashlib.sha256(bundled.CSV_PATH.read_bytes()).hexdigest()


def test_bundled_dataset_has_the_attack_and_the_article_reactions() -> None:
    """The attack and the reactions the article reports are there, findable by actor."""
    events = store.load(bundled.DATASET_ID, root=store.DEFAULT_ROOT)
    actors = set(events[schema.ACTOR].to_pylist())
    assert {"White House", "Radoslaw Sikorski", "Hamas", "NEXTA", "Islamic State"} <= actors
    attacks = events.filter(pc.equal(events[schema.EVENT_TYPE], "attack"))
    on_the_day = [t for t in attacks[schema.TIMESTAMP].to_pylist() if t.date().isoformat() == "2024-03-22"]
    assert on_the_day, "the attack of 22 March 2024 is in the data"
    assert len(actors) >= 60
