"""The README's tables say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from timeline import schema, view

README = Path(__file__).resolve().parents[1] / "README.md"


def test_schema_table_matches_the_schema_module() -> None:
    """Every canonical column appears in the README table with its type, requiredness and meaning."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- schema-table")[1].split("<!-- /schema-table -->")[0]
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    expected = [
        f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {c.meaning} |" for c in schema.COLUMNS
    ]
    assert rows == expected


def test_quick_start_names_the_two_make_targets() -> None:
    """The quick start gives exactly `make run` and `make test`, and CI runs the test one."""
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start")[1].split("## ")[0]
    assert list(dict.fromkeys(re.findall(r"`(make \w+)`", quick))) == ["make run", "make test"]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_url_parameter_table_matches_the_view_grammar() -> None:
    """The README's link parameters are exactly timeline.view.PARAMS, in order, with their meanings."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- params-table")[1].split("<!-- /params-table -->")[0]
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    expected = [f"| `{p.key}` | {'yes' if p.repeatable else 'no'} | {p.meaning} |" for p in view.PARAMS]
    assert rows == expected
