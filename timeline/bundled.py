"""The bundled dataset: built from the reviewed CSV kept in data/ (`python -m timeline.bundled`)."""

from __future__ import annotations

from pathlib import Path

from timeline import store
from timeline.ingest import ImportOptions, ImportResult, read_events, version_meta

DATASET_ID = store.BUNDLED_DATASET_ID
NAME = "Crocus City Hall attack, 22 March 2024, and reactions"
# Time zero of the reactions: the attack itself, not the older background attacks the data also holds.
ANCHOR = "2024-03-22-attack-begins"
CSV_PATH = store.DEFAULT_ROOT / f"{DATASET_ID}.csv"
OPTIONS = ImportOptions(file_name=CSV_PATH.name)


def read_reviewed_csv(path: Path = CSV_PATH) -> ImportResult:
    """The reviewed CSV read exactly as an upload of it would be."""
    return read_events(path.read_bytes(), OPTIONS)


def build(root: store.Root | None = None) -> store.VersionInfo:
    """Store the reviewed CSV as a version of the bundled dataset (same content, same version), as the
    operator: the bundled dataset is protected from the page."""
    data = CSV_PATH.read_bytes()
    result = read_events(data, OPTIONS)
    meta = {**version_meta(result, name=NAME, source_file=CSV_PATH.name, options=OPTIONS), "anchor": ANCHOR}
    return store.save(
        result.events,
        result.rejects,
        meta,
        dataset_id=DATASET_ID,
        root=root,
        source=data,
        author=store.Author.operator(),
    )


if __name__ == "__main__":
    info = build()
    print(f"{info.dataset_id} version {info.version}: {info.meta['rows']} events in {info.path}")
