"""A directory made read-only for a test, as a full or read-only disk is met in production."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[Path]:
    """directory bind-mounted read-only over itself (the tests run as root); the test is skipped where a
    bind mount cannot be made."""
    mounted = subprocess.run(
        ["mount", "--bind", str(directory), str(directory)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], capture_output=True, check=True)
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], capture_output=True, check=False)
