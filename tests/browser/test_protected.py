"""The bundled dataset is protected: an upload named as it (or as a lookalike) is refused on the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from timeline import store

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = store.BUNDLED_DATASET_ID
TOTAL = 101  # events in the bundled dataset
REFUSED = re.compile(r"'crocus-city-hall-2024' is protected: .*Choose another name for your dataset")

WaitReady = Callable[[Page], None]
Showing = Callable[[Page], tuple[int, int]]


def _stored(store_dir: Path) -> list[str]:
    """Every file of the bundled dataset but the lock, so a write of any kind shows."""
    dataset = store_dir / BUNDLED
    return sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*") if p.name != ".lock")


@pytest.mark.parametrize("name", ["Crocus City Hall 2024", "Ｃｒｏｃｕｓ Ｃｉｔｙ Ｈａｌｌ 2024"])
def test_an_upload_cannot_take_the_bundled_dataset(
    page: Page,
    new_page: Callable[[], Page],
    server: str,
    store_dir: Path,
    wait_ready: WaitReady,
    showing: Showing,
    name: str,
) -> None:
    """Upload a CSV, name it as the bundled dataset (or its fullwidth lookalike): the page says the dataset is
    protected before Save is offered; nothing is written, and a link without v still opens the bundled
    events."""
    before = _stored(store_dir)
    page.goto(server)
    wait_ready(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        ROOT / "tests" / "data" / "plain_date_who_what.csv"
    )
    expect(page.get_by_text(re.compile(r"\d+ rows read"))).to_be_visible()
    field = page.get_by_label("Dataset name", exact=True)
    field.fill(name)
    field.press("Enter")
    # Said before Save is offered: no Save button, no merge, nothing written.
    expect(page.get_by_text(REFUSED).first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Save as dataset"))).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^Merge into the newest version"))).to_have_count(0)
    assert _stored(store_dir) == before

    fresh = new_page()
    fresh.goto(server)
    wait_ready(fresh)
    assert showing(fresh) == (TOTAL, TOTAL)
    expect(fresh).to_have_url(re.compile(rf"[?&]dataset={BUNDLED}(&|$)"))
    expect(fresh.get_by_test_id("stException")).to_have_count(0)
