"""Entry point of `python -m timeline`."""

from __future__ import annotations

from timeline.cli import run

if __name__ == "__main__":
    run()
