"""Time relative to an anchor event: which event is time zero, and the window around it."""

from __future__ import annotations

import pandas as pd

from timeline import schema as s
from timeline.frame import START_US

ANCHOR_TYPE = "attack"
_HOUR_US = 3_600_000_000
FOCUS_BEFORE_US = 12 * _HOUR_US
FOCUS_AFTER_US = 7 * 24 * _HOUR_US


def default_anchor(frame: pd.DataFrame, declared: str | None = None) -> str | None:
    """The dataset's declared anchor when it is in the frame, else the first attack, else None."""
    ids = frame[s.EVENT_ID]
    if declared is not None and (ids == declared).any():
        return declared
    attacks = frame[frame[s.EVENT_TYPE] == ANCHOR_TYPE]
    if attacks.empty:
        return None
    return str(attacks[s.EVENT_ID].iloc[attacks[START_US].to_numpy().argmin()])


def focus_window(frame: pd.DataFrame, anchor_id: str | None) -> tuple[int, int] | None:
    """From half a day before the anchor to a week after it (UTC microseconds); None without an anchor."""
    if anchor_id is None:
        return None
    rows = frame[frame[s.EVENT_ID] == anchor_id]
    if rows.empty:
        return None
    start = int(rows[START_US].iloc[0])
    return start - FOCUS_BEFORE_US, start + FOCUS_AFTER_US
