"""Tiny canonical event tables for tests: a few fields per row, the rest made up or null."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from timeline import schema as s


def canonical_events(*rows: dict, actor_prefix: str = "actor", **defaults: object) -> pa.Table:
    """One event per row: ids e0, e1, ..., actors "<actor_prefix> N", then defaults, then the row."""
    columns: dict[str, list] = {c.name: [] for c in s.COLUMNS}
    for number, row in enumerate(rows):
        filled = {s.EVENT_ID: f"e{number}", s.ACTOR: f"{actor_prefix} {number}", **defaults, **row}
        for name in columns:
            value = filled.get(name)
            if name in (s.TIMESTAMP, s.END) and value is not None:
                value = pd.Timestamp(value).to_pydatetime()
            columns[name].append(value)
    return pa.table(columns, schema=s.ARROW_SCHEMA)
