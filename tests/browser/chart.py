"""Where things are drawn in the page's Plotly chart, for the browser tests to point at."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


def points(page: Page) -> Locator:
    """The chart's drawn events: SVG markers and bars."""
    return page.locator(".js-plotly-plot .cartesianlayer .point")


def spot_in_lane(page: Page, lane_name: str, *, exact: bool = True) -> tuple[float, float]:
    """Page coordinates inside the plot area where an event of the named lane is drawn (the lane's
    label equal to lane_name, or only holding it when exact is False)."""
    label_text = re.compile(f"^{re.escape(lane_name)}$") if exact else lane_name
    lane = page.locator(".js-plotly-plot .yaxislayer-above text").filter(has_text=label_text)
    expect(lane.first).to_be_visible()
    label = lane.first.bounding_box()
    assert label is not None
    y = label["y"] + label["height"] / 2
    # The plot area of the lane's subplot; its edges belong to the axes' drag handles, not to events.
    areas = [a for a in (d.bounding_box() for d in page.locator(".js-plotly-plot .nsewdrag").all()) if a]
    area = next((a for a in areas if a["y"] <= y <= a["y"] + a["height"]), None)
    assert area is not None, f"no plot area at the height of the {lane_name} lane (y={y}) among {areas}"
    for box in (p.bounding_box() for p in points(page).all()):
        if box is None or not box["y"] - 2 <= y <= box["y"] + box["height"] + 2:
            continue
        left = max(box["x"], area["x"] + 2)
        right = min(box["x"] + box["width"], area["x"] + area["width"] - 2)
        if left < right:
            return (left + right) / 2, y
    raise AssertionError(f"no event drawn in the {lane_name} lane inside the plot area {area}")
