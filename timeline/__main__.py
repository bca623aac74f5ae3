"""Entry point of `python -m timeline`."""

from __future__ import annotations

import sys

from timeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
