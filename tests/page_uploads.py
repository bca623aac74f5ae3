"""Page tests of uploads: an upload is read by a worker process, so a test waits for it as a reader does."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

CANCEL_LABEL = "Cancel the import"


def until_read(at: AppTest, timeout_s: float = 60) -> AppTest:
    """The page once the upload's import (in a worker process) has ended: a small file is read within the
    page's first run, but a loaded machine may take longer, and the page then shows its progress."""
    deadline = time.monotonic() + timeout_s
    while any(b.label == CANCEL_LABEL for b in at.button) and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    return at
