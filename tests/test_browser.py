"""The dashboard in a real browser: `streamlit run app.py` and Debian Chromium (Playwright), both started here.

Scenarios: the Overview renders (its accuracy bars drawn; a click on a bar opens that class's errors); a click on a
confusion-matrix cell opens that pair's gallery; hovering a point of the embedding map loads its thumbnail; a decision
saved in the relabel form is listed and downloaded as CSV (formula cells neutralised); a deep link reproduces a view
on a fresh browser page; a decision made in the review queue is stored and undone; the Compare page compares a run
with itself; an image's detail draws its top-5 bars and explains its prediction (occlusion map and Grad-CAM from the
real model); every page opens by its URL with no exception; a screenshot of every page (into docs/screenshots/ with
INDOOR_SCREENSHOTS=1, else tmp).

One server and one browser for the whole module, on a private copy of the session's demo cache (decisions
written here don't leak). INDOOR_BROWSER_CACHE=PATH runs the same tests on a copy of another cache (e.g.
runs/demo67 for README screenshots of the 67-class views).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import struct
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import numpy as np
import pytest

from browser_util import (
    CELL_JS,
    MAP_POINTS_JS,
    PAGES,
    ROOT,
    VIEWPORT,
    assert_no_exception,
    chromium,
    click_until,
    exceptions,
    have_chromium,
    hover_a_map_point,
    published_thumbs,
    running_server,
    wait_idle,
)

playwright = pytest.importorskip("playwright.sync_api", reason="the playwright python package is required")

TIMEOUT_S = 120.0  # per page load; generous: CI boxes are small and shared
TITLES = {  # url path -> the page's title (st.set_page_config(page_title=f"{title} · indoor"))
    "": "Overview", "Confusion": "Confusion explorer", "Gallery": "Gallery", "Embedding_map": "Embedding map",
    "Relabel": "Relabel", "Label_issues": "Label issues", "Class_merges": "Class merges", "Shortcuts": "Shortcuts",
    "Duplicates": "Duplicates", "Explain": "Explain", "Review": "Review", "Compare": "Compare runs",
}
NOTE = '=HYPERLINK("http://example.invalid","x")'  # must come back neutralised in the CSV
EXPLAIN_TIMEOUT_S = 300.0  # loading the model and 49 occlusion passes on a small, loaded CPU

# JS: the gallery's n images all loaded (the gallery's thumbnails are <img> elements served from /media/)
GALLERY_LOADED_JS = """(n) => {
  const images = document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img');
  return images.length === n && Array.from(images).every(img => img.complete && img.naturalWidth > 0);
}"""

GALLERY_IMAGES_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img'))
  .map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}))"""

# JS: the bar lists (components/bars) drawn in the main area, in page order: their rows' labels and value texts, and
# each fill's width as a share of its track, as the browser laid them out
BARS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="indoor-bars"][data-drawn]'))
  .map(root => {
    const rows = Array.from(root.querySelectorAll('.indoor-bars-row'));
    return {
      n: Number(root.getAttribute('data-n')), buttons: root.querySelectorAll('button.indoor-bars-row').length,
      labels: rows.map(r => r.querySelector('.indoor-bars-label').textContent),
      texts: rows.map(r => r.querySelector('.indoor-bars-value').textContent),
      shares: rows.map(r => {
        const track = r.querySelector('.indoor-bars-track').getBoundingClientRect();
        const fill = r.querySelector('.indoor-bars-fill');
        return fill ? Math.round(1000 * fill.getBoundingClientRect().width / track.width) / 1000 : 0;
      }),
      width: root.getBoundingClientRect().width, height: root.getBoundingClientRect().height,
    };
  })"""


# =================================================================================================== fixtures


@pytest.fixture(scope="module")
def cache_copy(request, tmp_path_factory) -> Path:
    """A private copy of the cache the browser works on; its published thumbnails are removed afterwards."""
    if not have_chromium():
        pytest.fail("Debian Chromium is required at /usr/bin/chromium: apt-get install -y chromium "
                    "(never `playwright install`)")
    other = os.environ.get("INDOOR_BROWSER_CACHE")
    source = Path(other) if other else request.getfixturevalue("demo_cache_path")
    target = tmp_path_factory.mktemp("browser") / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("decisions.sqlite*"))
    yield target
    shutil.rmtree(published_thumbs(target), ignore_errors=True)


@pytest.fixture(scope="module")
def cache(cache_copy):
    from indoor.cache import load_cache

    return load_cache(cache_copy)


@pytest.fixture(scope="module")
def server(cache_copy, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with running_server(cache_copy, log=log) as running:
        yield running
        assert running.process is not None and running.process.poll() is None, \
            f"the server died:\n{running.log_text()}"


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


@pytest.fixture
def page(browser):
    """A fresh tab; fails the test on any uncaught JavaScript error in it."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    tab.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> Path:
    if os.environ.get("INDOOR_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


def open_page(page, server, path: str, query: dict[str, str] | None = None) -> None:
    url = f"{server.url}/{path}" + (f"?{urlencode(query)}" if query else "")
    page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_S * 1000)
    check_page(page, path)


def check_page(page, path: str) -> None:
    """Wait for the page's run to finish; it must show no exception, its title and a heading."""
    wait_idle(page, TIMEOUT_S)
    assert_no_exception(page, path or "Overview")
    assert page.title() == f"{TITLES[path]} · indoor"
    assert page.locator('[data-testid="stMain"] h1').count() >= 1


def select_value(page, label: str) -> str:
    """The value a st.selectbox in the main area shows (its combobox input)."""
    return page.locator('[data-testid="stMain"]').get_by_role("combobox", name=label, exact=True).input_value()


def wait_gallery(page, n: int) -> None:
    """Wait until the gallery shows ``n`` images, every one loaded; fail saying what is shown otherwise."""
    try:
        page.wait_for_function(GALLERY_LOADED_JS, arg=n, timeout=TIMEOUT_S * 1000)
    except playwright.TimeoutError:
        pytest.fail(f"expected {n} loaded gallery images, got {page.evaluate(GALLERY_IMAGES_JS)}")


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def wait_main_text(page, pattern: str) -> None:
    """After a click: wait until the main area's text matches the regex ``pattern`` and the run is over; fail
    saying what is shown otherwise (or at once when an exception is shown)."""
    try:
        page.wait_for_function(
            """(pattern) => {
              const main = document.querySelector('[data-testid="stMain"]');
              return !!main && (new RegExp(pattern).test(main.innerText)
                                || !!main.querySelector('[data-testid="stException"]'));
            }""", arg=pattern, timeout=TIMEOUT_S * 1000)
    except playwright.TimeoutError:
        pytest.fail(f"the page never showed /{pattern}/; it shows:\n{main_text(page)[:3000]}")
    wait_idle(page, TIMEOUT_S)
    assert_no_exception(page, page.url)


# =================================================================================================== scenarios


def test_overview_renders_metrics(page, server, cache, screenshot_dir):
    open_page(page, server, "")
    assert page.locator("h1", has_text="Overview").count() == 1
    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.count() >= 4  # images, classes, top-1, top-5 of at least one split
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert {"Images", "Classes", "Top-1", "Top-5"} <= {label.strip() for label in labels}
    test_top1 = cache.meta["metrics"]["test"]["top1"]
    assert f"{test_top1:.1%}" in page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    (chart,) = page.evaluate(BARS_JS)  # accuracy per class (test split), drawn
    test = cache.samples[cache.samples["split"] == "test"]
    accuracy = (test["label"] == test["pred"]).groupby(test["label"]).mean()
    accuracy.index = [cache.classes[int(i)] for i in accuracy.index]
    assert chart["n"] == len(chart["labels"]) == chart["buttons"] == len(accuracy)
    assert sorted(chart["labels"]) == sorted(accuracy.index)
    assert [accuracy[name] for name in chart["labels"]] == sorted(accuracy)  # worst first
    assert chart["texts"] == [f"{accuracy[name]:.0%}" for name in chart["labels"]]
    for name, share in zip(chart["labels"], chart["shares"]):  # each fill as long as its accuracy
        assert abs(share - accuracy[name]) < 0.02, (name, share, accuracy[name])
    assert chart["width"] > 300 and chart["height"] >= 18 * chart["n"], chart
    photograph(page, screenshot_dir, "")


def test_overview_bar_click_opens_the_class_gallery(page, server, cache):
    open_page(page, server, "")
    page.wait_for_selector('[data-testid="indoor-bars"][data-drawn]', timeout=TIMEOUT_S * 1000)
    row = page.locator('[data-testid="indoor-bars"] button.indoor-bars-row').first  # the worst class
    name = row.locator(".indoor-bars-label").text_content()
    test = cache.samples[cache.samples["split"] == "test"]
    label = cache.classes.index(name)
    n_wrong = int(((test["label"] == label) & (test["pred"] != label)).sum())
    n_class = int((test["label"] == label).sum())

    row.hover()  # the tooltip names the class and its errors
    tip = page.locator('[data-testid="indoor-bars"] .indoor-bars-tip:not([hidden])')
    tip.wait_for(timeout=10_000)
    assert tip.text_content().startswith(f"{name}: ") and f"{n_wrong} of {n_class} wrong" in tip.text_content()
    assert row.evaluate("r => getComputedStyle(r).cursor") == "pointer"

    row.click()
    page.wait_for_url("**/Gallery?**", timeout=TIMEOUT_S * 1000)
    page.locator('[data-testid="stMain"] h1', has_text="Gallery").wait_for(timeout=TIMEOUT_S * 1000)
    wait_idle(page, TIMEOUT_S)
    assert_no_exception(page, "Gallery after a click on a bar")
    query = parse_qs(urlparse(page.url).query)
    assert query["true"] == [name] and query["split"] == ["test"] and "pred" not in query, page.url
    assert f"{n_wrong:,} misclassified images · given {name} · predicted any class · test" in main_text(page)
    wait_gallery(page, min(n_wrong, 48))


def test_confusion_cell_click_opens_the_pairs_gallery(page, server, cache, screenshot_dir):
    open_page(page, server, "Confusion")
    page.wait_for_selector('[data-testid="indoor-heatmap"][data-drawn]', timeout=TIMEOUT_S * 1000)
    n_classes = len(cache.classes)
    assert page.locator('[data-testid="indoor-heatmap"]').first.get_attribute("data-n") == str(n_classes)
    photograph(page, screenshot_dir, "Confusion")
    page.evaluate(CELL_JS, True)
    page.wait_for_timeout(300)  # scrolled
    cell = page.evaluate(CELL_JS, False)
    assert cell is not None, "no misclassified pair on screen in the test split of this cache"
    given, predicted = cache.classes[int(cell["given"])], cache.classes[int(cell["pred"])]
    test = cache.samples[cache.samples["split"] == "test"]
    assert int(cell["count"]) == int(((test["label"] == cell["given"]) & (test["pred"] == cell["pred"])).sum())

    page.mouse.move(cell["x"] - 3, cell["y"] - 3)
    page.mouse.move(cell["x"], cell["y"], steps=3)  # the tooltip names the pair under the pointer
    tip = page.locator('[data-testid="indoor-heatmap"] .indoor-heatmap-tip:not([hidden])')
    tip.wait_for(timeout=10_000)
    hover = tip.text_content()
    assert f"given {given} → predicted {predicted}" in hover and f"{int(cell['count']):,} images" in hover, hover
    # the canvas really is painted: the hovered cell's pixels differ from the page background
    painted = page.evaluate("""(p) => { const root = document.querySelector('[data-testid="indoor-heatmap"]');
        const canvas = root.querySelector('canvas'), box = canvas.getBoundingClientRect();
        const ratio = canvas.width / box.width;
        const px = canvas.getContext('2d').getImageData(Math.round((p.x - box.left) * ratio),
                                                         Math.round((p.y - box.top) * ratio), 1, 1).data;
        return Array.from(px); }""", cell)
    assert painted[3] == 255 and painted[:3] != [255, 255, 255], painted

    page.mouse.click(cell["x"], cell["y"])
    page.wait_for_url("**/Gallery?**", timeout=TIMEOUT_S * 1000)
    page.locator('[data-testid="stMain"] h1', has_text="Gallery").wait_for(timeout=TIMEOUT_S * 1000)
    wait_idle(page, TIMEOUT_S)
    assert_no_exception(page, "Gallery after a click")
    assert page.title() == "Gallery · indoor"
    query = parse_qs(urlparse(page.url).query)
    assert query["true"] == [given] and query["pred"] == [predicted] and query["split"] == ["test"], page.url
    count = int(cell["count"])
    assert f"{count:,} misclassified images · given {given} · predicted {predicted} · test" in main_text(page)
    wait_gallery(page, min(count, 48))
    photograph(page, screenshot_dir, "Gallery")



def test_confusion_matrix_works_from_the_keyboard(page, server, cache):
    """Tab to the matrix, arrow keys to a cell, Enter: that pair's gallery (the tooltip follows the focus)."""
    open_page(page, server, "Confusion")
    page.wait_for_selector('[data-testid="indoor-heatmap"][data-drawn]', timeout=TIMEOUT_S * 1000)
    first = page.evaluate("""() => { const s = document.querySelector('[data-testid="indoor-heatmap"]')._indoor;
        const n = s.data.labels.length, i = Math.min(...s.data.clickable);
        return {row: Math.floor(i / n), col: i % n, n}; }""")
    page.locator('[data-testid="indoor-heatmap"] canvas.indoor-heatmap-overlay').focus()
    # from the first non-empty cell (focus starts there) one step sideways and back
    away, back = ("ArrowLeft", "ArrowRight") if first["col"] == first["n"] - 1 else ("ArrowRight", "ArrowLeft")
    page.keyboard.press(away)
    page.keyboard.press(back)
    tip = page.locator('[data-testid="indoor-heatmap"] .indoor-heatmap-tip:not([hidden])')
    tip.wait_for(timeout=10_000)
    ids = page.evaluate("() => document.querySelector('[data-testid=\"indoor-heatmap\"]')._indoor.data.ids")
    given, predicted = cache.classes[ids[first["row"]]], cache.classes[ids[first["col"]]]
    assert f"given {given} → predicted {predicted}" in tip.text_content()
    page.keyboard.press("Enter")
    page.wait_for_url("**/Gallery?**", timeout=TIMEOUT_S * 1000)
    query = parse_qs(urlparse(page.url).query)
    assert query["true"] == [given] and query["pred"] == [predicted], page.url

def test_per_class_table_sorts_and_opens_a_class(page, server, cache):
    """The Confusion page's per-class table: a header click sorts (again: the other way), Enter on a row opens that
    class's misclassified images."""
    open_page(page, server, "Confusion")
    root = page.locator('[data-testid="indoor-table"][data-drawn]')
    root.wait_for(timeout=TIMEOUT_S * 1000)
    test = cache.samples[cache.samples["split"] == "test"]
    support = test["label"].map(dict(enumerate(cache.classes))).value_counts()
    rows = root.locator("tbody tr")
    assert rows.count() == len(support)

    def column(index: int) -> list[str]:
        return [cells.nth(index).text_content() for cells in (rows.nth(k).locator("td") for k in range(rows.count()))]

    images = root.locator('th button[data-key="support"]')
    images.click()
    assert root.get_attribute("data-sort") == "support:desc"
    counts = [int(text.replace(",", "")) for text in column(4)]
    assert counts == sorted(support.tolist(), reverse=True)
    images.click()
    assert root.get_attribute("data-sort") == "support:asc" and [int(t) for t in column(4)] == sorted(counts)
    root.locator('th button[data-key="class"]').click()
    names = column(0)
    assert names == sorted(names, key=str.lower) and set(names) == set(support.index)

    rows.nth(1).focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/Gallery?**", timeout=TIMEOUT_S * 1000)
    query = parse_qs(urlparse(page.url).query)
    assert query["true"] == [names[1]] and query["split"] == ["test"], page.url


def test_embedding_map_hover_loads_the_thumbnail(page, server, cache, screenshot_dir):
    open_page(page, server, "Embedding_map")
    page.wait_for_selector('[data-testid="indoor-map"][data-points]', timeout=TIMEOUT_S * 1000)
    assert page.locator('[data-testid="indoor-map"]').get_attribute("data-points") == str(len(cache.samples))
    points = page.evaluate(MAP_POINTS_JS)
    assert points, "no point of the map is on screen"
    if hover_a_map_point(page, points) is None:
        pytest.fail(f"no thumbnail appeared when hovering any of {points}")
    tip = page.evaluate("""() => {
      const tip = document.querySelector('[data-testid="indoor-map"] .indoor-map-tip');
      const img = tip.querySelector('img');
      return {src: img.getAttribute('src'), width: img.naturalWidth, text: tip.innerText};
    }""")
    row = int(tip["src"].rsplit("/", 1)[1].split(".")[0])
    # served from the cache's own thumbs/ folder (indoor.app.static.serve_thumbnails): nothing published
    assert tip["src"].startswith("/component/indoor.app.static.thumbs_") and 0 <= row < len(cache.samples), tip
    assert tip["width"] > 0, tip
    true_class = cache.classes[int(cache.samples["label"].iat[row])]
    assert f"true: {true_class}" in tip["text"] and f"row {row}" in tip["text"], tip
    photograph(page, screenshot_dir, "Embedding_map", full_page=False)  # with the hover card on screen


# JS: the map's points split by a screen rectangle r = {left, top, right, bottom} (client pixels), with a margin m
# (points that close to the edge may fall either way): the rows inside, those outside, and the selected rows.
MAP_REGION_JS = """([r, m]) => {
  const s = document.querySelector('[data-testid="indoor-map"]')._indoor;
  const inside = [], outside = [];
  for (let i = 0; i < s.data.n; i++) {
    const p = s.screenOf(i);
    if (p.x > r.left + m && p.x < r.right - m && p.y > r.top + m && p.y < r.bottom - m) inside.push(s.rowOf(i));
    else if (p.x < r.left - m || p.x > r.right + m || p.y < r.top - m || p.y > r.bottom + m) outside.push(s.rowOf(i));
  }
  const selected = Array.from(s.plot.get('selectedPoints'), (i) => s.rowOf(i));
  return {inside, outside, selected};
}"""


def open_map(page, server) -> dict:
    """Open the map; returns its canvas' box (client pixels)."""
    open_page(page, server, "Embedding_map")
    page.wait_for_selector('[data-testid="indoor-map"][data-points]', timeout=TIMEOUT_S * 1000)
    page.locator('[data-testid="indoor-map"]').scroll_into_view_if_needed()
    return page.evaluate("""() => { const b = document.querySelector('[data-testid="indoor-map"] canvas')
        .getBoundingClientRect(); return {left: b.left, top: b.top, right: b.right, bottom: b.bottom}; }""")


def test_embedding_map_click_opens_the_image(page, server, cache):
    open_map(page, server)
    point = hover_a_map_point(page, page.evaluate(MAP_POINTS_JS))
    assert point is not None, "no point could be hovered"
    row = page.evaluate("() => { const s = document.querySelector('[data-testid=\"indoor-map\"]')._indoor; "
                        "return s.hovered >= 0 ? s.rowOf(s.hovered) : null; }")
    assert row is not None
    page.mouse.click(point["x"], point["y"])
    wait_main_text(page, "Clicked image")
    sample_id = str(cache.samples["sample_id"].iat[row])
    assert sample_id.rsplit("/", 1)[-1] in main_text(page), f"the detail of row {row} ({sample_id})"
    assert "Selection:" not in main_text(page)  # a click opens the image, it selects nothing


@pytest.mark.parametrize("tool", ["lasso", "box"])
def test_embedding_map_lasso_selects_the_points_inside(page, server, cache, tool):
    box = open_map(page, server)
    width, height = box["right"] - box["left"], min(box["bottom"], VIEWPORT["height"]) - box["top"]
    region = {"left": box["left"] + 0.2 * width, "right": box["left"] + 0.65 * width,
              "top": box["top"] + 0.1 * height, "bottom": box["top"] + 0.9 * height}
    before = page.evaluate(MAP_REGION_JS, [region, 4])
    assert before["inside"] and before["outside"] and not before["selected"], before
    if tool == "lasso":  # a free-hand lasso along the rectangle (the map starts in lasso mode)
        corners = [(region["left"], region["top"]), (region["right"], region["top"]),
                   (region["right"], region["bottom"]), (region["left"], region["bottom"]),
                   (region["left"], region["top"] + 2)]
    else:  # the toolbar's box select: drag from one corner to the other
        page.locator('[data-testid="indoor-map"] button', has_text="Box").click()
        # the rectangle starts where the drag is first seen moving: a hand's first move is a pixel or two
        corners = [(region["left"], region["top"]), (region["left"] + 1, region["top"] + 1),
                   (region["right"], region["bottom"])]
    page.mouse.move(*corners[0])
    page.mouse.down()
    for x, y in corners[1:]:
        page.mouse.move(x, y, steps=12)
        page.wait_for_timeout(30)
    page.mouse.up()
    wait_main_text(page, r"Selection: [\d,]+ image")
    after = page.evaluate(MAP_REGION_JS, [region, 4])
    selected = set(after["selected"])
    assert set(after["inside"]) <= selected and not selected & set(after["outside"]), "the lasso's points"
    count = int(re.search(r"Selection: ([\d,]+) image", main_text(page)).group(1).replace(",", ""))
    assert count == len(selected), (count, len(selected))
    wait_gallery(page, min(count, 48))  # the selection's gallery (its first page)
    page.locator('[data-testid="stMain"] [data-testid="indoor-map"] canvas').dblclick(
        position={"x": 5, "y": height - 5})  # double-click: clear the selection
    page.wait_for_function("() => !/Selection: /.test(document.querySelector('[data-testid=\"stMain\"]').innerText)",
                           timeout=TIMEOUT_S * 1000)


def test_embedding_map_zooms_and_pans(page, server):
    box = open_map(page, server)
    spread = """() => { const s = document.querySelector('[data-testid="indoor-map"]')._indoor;
        const a = s.screenOf(0), b = s.screenOf(s.data.n - 1); return Math.hypot(a.x - b.x, a.y - b.y); }"""
    start = page.evaluate(spread)
    centre = ((box["left"] + box["right"]) / 2, (box["top"] + min(box["bottom"], VIEWPORT["height"])) / 2)
    page.mouse.move(*centre)
    page.mouse.wheel(0, -600)  # scroll up: zoom in
    page.wait_for_function(f"() => ({spread})() > {start} * 1.2", timeout=10_000)
    page.locator('[data-testid="indoor-map"] button', has_text="Pan").click()
    moved = page.evaluate("() => document.querySelector('[data-testid=\"indoor-map\"]')._indoor.screenOf(0)")
    page.mouse.move(*centre)
    page.mouse.down()
    page.mouse.move(centre[0] + 80, centre[1] + 40, steps=8)
    page.mouse.up()
    page.wait_for_function("""(p) => { const q = document.querySelector('[data-testid="indoor-map"]')._indoor
        .screenOf(0); return Math.abs(q.x - p.x - 80) < 8 && Math.abs(q.y - p.y - 40) < 8; }""", arg=moved,
        timeout=10_000)  # dragged along with the mouse
    page.locator('[data-testid="indoor-map"] button', has_text="Reset view").click()
    page.wait_for_function(f"() => Math.abs(({spread})() - {start}) < 1", timeout=10_000)
    assert "Selection:" not in main_text(page)  # panning selects nothing


@pytest.fixture(scope="module")
def saved_decision(browser, server, cache) -> dict[str, str]:
    """Save one decision through the Relabel page's form (relabel to the prediction, with a formula note)."""
    samples = cache.samples
    wrong = samples[samples["label"] != samples["pred"]]
    row = wrong.iloc[0]
    decision = {"sample_id": str(row["sample_id"]), "action": "relabel",
                "new_label": cache.classes[int(row["pred"])], "note": NOTE}
    page = browser.new_page()
    try:
        open_page(page, server, "Relabel", {"sample": decision["sample_id"]})
        main = page.locator('[data-testid="stMain"]')
        main.locator('[data-testid="stRadio"] label', has_text="Relabel").first.click()
        wait_idle(page, TIMEOUT_S)
        assert select_value(page, "New label") == decision["new_label"], "the form should offer the prediction"
        note = main.locator('[data-testid="stTextArea"] textarea')
        note.fill(NOTE)
        note.press("Control+Enter")  # commit the text area before pressing the button
        wait_idle(page, TIMEOUT_S)
        main.get_by_role("button", name="Save decision").click()
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] h3'))"
            ".some(h => /All decisions \\(1\\)/.test(h.innerText))", timeout=TIMEOUT_S * 1000)
        wait_idle(page, TIMEOUT_S)
        assert_no_exception(page, "Relabel after saving")
    finally:
        page.close()
    return decision


def test_save_a_decision_in_the_relabel_form(saved_decision, page, server, cache):
    from indoor.decisions import DecisionStore

    store = DecisionStore(cache.decisions_path, classes=cache.classes, known_ids=cache.row_of.keys())
    current = store.current()
    assert list(current["sample_id"]) == [saved_decision["sample_id"]]
    saved = current.iloc[0]
    assert (saved["action"], saved["new_label"], saved["note"]) == ("relabel", saved_decision["new_label"], NOTE)
    assert saved["annotator"] == "anonymous"

    open_page(page, server, "Relabel")  # a new session lists it too
    table = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').last
    table.wait_for(timeout=TIMEOUT_S * 1000)
    assert page.locator("h3", has_text="All decisions (1)").count() == 1


def test_download_the_decisions_csv(saved_decision, page, server, cache, screenshot_dir):
    open_page(page, server, "Relabel")
    button = page.locator('[data-testid="stDownloadButton"] button', has_text="Download decisions CSV")
    assert button.is_enabled()
    with page.expect_download(timeout=TIMEOUT_S * 1000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "decisions.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1, text
    row = rows[0]
    required = ["sample_id", "path", "split", "label", "predicted", "action", "new_label", "extra_labels", "tags",
                "note", "annotator", "decided_at"]
    assert set(required) <= set(row), list(row)
    sample = cache.samples.iloc[cache.row_of[saved_decision["sample_id"]]]
    assert row["sample_id"] == saved_decision["sample_id"]
    assert (row["action"], row["new_label"]) == ("relabel", saved_decision["new_label"])
    assert row["label"] == cache.classes[int(sample["label"])] and row["predicted"] == saved_decision["new_label"]
    assert row["split"] == sample["split"] and row["annotator"] == "anonymous" and row["decided_at"]
    assert row["note"] == "'" + NOTE  # neutralised: a spreadsheet shows it as text, never runs it
    assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())
    photograph(page, screenshot_dir, "Relabel")


def test_deep_link_reproduces_the_gallery_view(browser, page, server, cache):
    samples = cache.samples
    test_wrong = samples[(samples["split"] == "test") & (samples["label"] != samples["pred"])]
    pair = test_wrong.groupby(["label", "pred"]).size().sort_values(ascending=False)
    (true_i, pred_i), count = pair.index[0], int(pair.iloc[0])
    true, pred = cache.classes[int(true_i)], cache.classes[int(pred_i)]

    open_page(page, server, "Gallery", {"true": true, "pred": pred, "split": "test", "sort": "loss"})
    shown = {name: select_value(page, name) for name in ("Given label", "Predicted", "Split", "Sort by")}
    assert shown == {"Given label": true, "Predicted": pred, "Split": "test", "Sort by": "Loss of the given label"}
    assert f"{count:,} misclassified images · given {true} · predicted {pred} · test" in main_text(page)
    wait_gallery(page, min(count, 48))
    first_view = page.evaluate(GALLERY_IMAGES_JS)
    captions = page.locator('[data-testid="stMain"] [data-testid="stImageCaption"]').all_inner_texts()

    copied = page.url  # the URL the page shows now, copied into a new tab (new session)
    assert parse_qs(urlparse(copied).query)["true"] == [true]
    other = browser.new_page()
    try:
        other.goto(copied, wait_until="domcontentloaded")
        wait_idle(other, TIMEOUT_S)
        assert_no_exception(other, "Gallery deep link")
        assert other.url == copied
        assert {name: select_value(other, name) for name in shown} == shown
        assert main_text(other).count(f"given {true} · predicted {pred} · test") == 1
        wait_gallery(other, min(count, 48))
        again = other.evaluate(GALLERY_IMAGES_JS)
        assert [image["src"] for image in again] == [image["src"] for image in first_view]  # same files, in order
        assert other.locator('[data-testid="stMain"] [data-testid="stImageCaption"]').all_inner_texts() == captions
    finally:
        other.close()


REVIEW_PROGRESS = re.compile(r"([\d,]+) of ([\d,]+) reviewed \(by anonymous\) · image ([\d,]+) of [\d,]+")


def review_progress(page) -> tuple[int, int, int]:
    """(images reviewed by anonymous, queue length, position of the image on screen) from the progress bar."""
    text = page.locator('[data-testid="stMain"] [data-testid="stProgress"]').inner_text()
    match = REVIEW_PROGRESS.search(text)
    assert match, f"unexpected progress text: {text!r}"
    return tuple(int(group.replace(",", "")) for group in match.groups())


def review_sample(page) -> str:
    """The image the review queue shows (the page keeps it in the URL's ``sample``)."""
    return parse_qs(urlparse(page.url).query)["sample"][0]


def test_review_queue_decision_is_stored_and_undone(page, server, cache, screenshot_dir):
    from indoor.decisions import UNDO, DecisionStore

    store = DecisionStore(cache.decisions_path, classes=cache.classes, known_ids=cache.row_of.keys())

    def mine(sample_id: str):
        current = store.for_sample(sample_id)
        return current[current["annotator"] == "anonymous"]

    open_page(page, server, "Review")  # the default queue: the most confused pair, first undecided image
    reviewed, total, position = review_progress(page)
    sample_id = review_sample(page)
    assert sample_id in cache.row_of and reviewed < total
    assert f"{sample_id} · " in main_text(page)  # the caption under the image
    assert mine(sample_id).empty and "Decided:" not in main_text(page)
    standing = len(store.current(annotator="anonymous"))  # other tests' decisions may be there too

    main = page.locator('[data-testid="stMain"]')
    keep = main.get_by_role("button", name="Keep")
    assert keep.count() == 1
    keep.click()
    wait_main_text(page, rf"(?:^|\n){reviewed + 1:,} of {total:,} reviewed \(by anonymous\)")
    assert review_progress(page)[:2] == (reviewed + 1, total)
    if reviewed + 1 < total:
        assert review_sample(page) != sample_id, "the queue should move on to the next undecided image"
    saved = mine(sample_id)
    assert list(saved["action"]) == ["keep"], saved
    assert len(store.current(annotator="anonymous")) == standing + 1

    open_page(page, server, "Review", {"sample": sample_id})  # a new session shows the stored decision
    assert review_sample(page) == sample_id
    assert review_progress(page) == (reviewed + 1, total, position)
    assert "Decided: anonymous: keep" in main_text(page)
    photograph(page, screenshot_dir, "Review_decided")

    undo = main.get_by_role("button", name="Undo last")
    assert undo.count() == 1
    undo.click()
    wait_main_text(page, rf"(?:^|\n){reviewed:,} of {total:,} reviewed \(by anonymous\) · image {position:,} of")
    assert review_sample(page) == sample_id
    assert "Decided:" not in main_text(page)
    assert mine(sample_id).empty
    assert len(store.current(annotator="anonymous")) == standing
    history = store.history(sample_id)
    assert list(history["action"].iloc[-2:]) == ["keep", UNDO] and bool(history["undone"].iloc[-2]), history


def test_compare_a_run_with_itself(page, server, cache, screenshot_dir):
    """One cache and no rebuilt run: Compare with the run as both A and B says so, and every change is zero."""
    run = str(cache.path)
    open_page(page, server, "Compare", {"a": run, "b": run})
    page.wait_for_selector('[data-testid="indoor-bars"][data-drawn]', timeout=TIMEOUT_S * 1000)
    page.wait_for_selector('[data-testid="indoor-heatmap"][data-drawn]', timeout=TIMEOUT_S * 1000)
    test = cache.samples[cache.samples["split"] == "test"]
    n_given, n_all = test["label"].nunique(), len(set(test["label"]) | set(test["pred"]))  # rows, heat-map side
    (recall,) = page.evaluate(BARS_JS)  # per-class recall change: a row per class, every bar empty
    assert recall["n"] == len(recall["labels"]) == n_given and recall["buttons"] == 0, recall
    assert sorted(recall["labels"]) == sorted(cache.classes[int(i)] for i in test["label"].unique())
    assert set(recall["texts"]) == {"+0.0 pts"} and set(recall["shares"]) == {0}, recall
    heat = page.evaluate("""() => {
      const root = document.querySelector('[data-testid="stMain"] [data-testid="indoor-heatmap"][data-drawn]');
      const z = root._indoor.data.z;
      return {n: Number(root.getAttribute('data-n')), cells: z.length, nonzero: z.filter(v => v !== 0).length};
    }""")
    assert heat == {"n": n_all, "cells": n_all * n_all, "nonzero": 0}, heat
    text = main_text(page)
    assert "Run A and run B are the same cache: every difference is zero. Choose another run B." in text
    samples = cache.samples
    assert f"{len(samples):,} images in both runs" in text
    for heading in ("Top-1 accuracy", "Per-class recall change · test", "Confusion change · test",
                    "Predictions that changed · test"):
        assert heading in text
    assert "Fixed (0)" in text and "Broken (0)" in text and "Changed (both wrong) (0)" in text
    assert "No fixed predictions in this split." in text

    correct = samples["label"] == samples["pred"]
    names = {"train": "train (out-of-fold)", "val": "val", "test": "test"}
    expected = {names[s]: float(correct[samples["split"] == s].mean()) for s in names if (samples["split"] == s).any()}
    expected["all splits"] = float(correct.mean())
    shown = {}
    for metric in page.locator('[data-testid="stMain"] [data-testid="stMetric"]').all():
        shown[metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()] = (
            metric.locator('[data-testid="stMetricValue"]').inner_text().strip(),
            metric.locator('[data-testid="stMetricDelta"]').inner_text().strip())
    assert shown == {name: (f"{top1:.1%}", f"+0.0 pts vs A ({top1:.1%})") for name, top1 in expected.items()}
    photograph(page, screenshot_dir, "Compare_same_run")


# JS: the explanation panel (in the image detail's expander) shows its n images, every one loaded, or an error
EXPLAINED_JS = """(n) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return false;
  if (main.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"]')) return true;
  const panel = Array.from(main.querySelectorAll('[data-testid="stExpander"]'))
      .find(e => /Why did it say/.test(e.querySelector('summary')?.innerText || ''));
  const images = panel ? Array.from(panel.querySelectorAll('[data-testid="stImage"] img')) : [];
  return images.length === n && images.every(img => img.complete && img.naturalWidth > 0);
}"""


# JS: the click on "Explain this prediction" took: a script run is going on, or the button is gone from the panel
EXPLAIN_STARTED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (app && app.getAttribute('data-test-script-state') === 'running') return true;
  const panel = Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stExpander"]'))
      .find(e => /Why did it say/.test(e.querySelector('summary')?.innerText || ''));
  return !!panel && !Array.from(panel.querySelectorAll('button')).some(b => /Explain this prediction/.test(b.innerText));
}"""


def test_explain_a_prediction_in_the_image_detail(page, server, cache, screenshot_dir):
    samples = cache.samples
    test = samples[samples["split"] == "test"]
    wrong = test[test["label"] != test["pred"]].sort_values("confidence", ascending=False, kind="stable")
    row = (wrong if len(wrong) else test).iloc[0]  # the most confidently wrong test image
    sample_id = str(row["sample_id"])
    given, predicted = cache.classes[int(row["label"])], cache.classes[int(row["pred"])]
    query = {"true": given, "pred": predicted, "split": "test", "image": sample_id}
    if given == predicted:
        query["correct"] = "true"
    open_page(page, server, "Gallery", query)
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("h5", has_text=sample_id).count() == 1  # the detail view of that image is open
    page.wait_for_selector('[data-testid="indoor-bars"][data-drawn]', timeout=TIMEOUT_S * 1000)
    (top5,) = page.evaluate(BARS_JS)  # the image's top-5 probabilities, drawn
    probs = cache.probs[cache.row_of[sample_id]]
    assert top5["n"] == 5 and top5["labels"][0] == predicted and top5["buttons"] == 0, top5
    for name, share in zip(top5["labels"], top5["shares"]):
        assert abs(share - float(probs[cache.classes.index(name)])) < 0.02, (name, share)

    panel = main.locator('[data-testid="stExpander"]', has_text=f"Why did it say {predicted}?")
    assert panel.count() == 1
    panel.locator("summary").click()
    button = panel.get_by_role("button", name="Explain this prediction")
    # once: the real model runs on the CPU. A click delivered while the opening expander still moves can land
    # beside the button, as a person's would (CI saw it once in ~30 runs): click again only when nothing started.
    click_until(page, button, EXPLAIN_STARTED_JS)
    n_train = int((samples["split"] == "train").sum())
    n_images = 3 + min(8, n_train)  # image, occlusion map, Grad-CAM + the nearest training images
    try:
        page.wait_for_function(EXPLAINED_JS, arg=n_images, timeout=EXPLAIN_TIMEOUT_S * 1000)
    except playwright.TimeoutError:
        pytest.fail(f"no explanation after {EXPLAIN_TIMEOUT_S:.0f} s; the panel shows:\n{panel.inner_text()}")
    wait_idle(page, TIMEOUT_S)
    assert_no_exception(page, "Gallery after Explain")
    assert main.locator('[data-testid="stAlertContentError"]').count() == 0, main_text(page)

    text = panel.inner_text()
    assert f"{predicted} (predicted) · " in text
    assert f"Image · probability of {predicted}: " in text
    assert "Occlusion (grey patches)" in text
    assert f"Grad-CAM on the last convolution for {predicted}" in text
    assert f"share this image's given label ({given})" in text
    assert panel.get_by_role("button", name="Explain this prediction").count() == 0
    sources = panel.locator('[data-testid="stImage"] img').evaluate_all("images => images.map(i => i.src)")
    assert len(sources) == n_images
    maps = [page.request.get(src).body() for src in sources[:3]]
    assert len(set(maps)) == 3, "the occlusion map and Grad-CAM must differ from the image and each other"
    photograph(page, screenshot_dir, "Gallery_explain")


# A class name that would run script if any page or component put it into the page as HTML
HOSTILE = '<img src=x onerror="window.__indoorPwned=1">bar & "deli"'


def test_class_names_are_text_in_the_matrix_and_bars(browser, cache_copy, tmp_path):
    """Class names reach the canvas heatmap, its tooltip, the bar lists and the map's legend as text: no markup
    runs."""
    import json

    hostile = tmp_path / "hostile"
    shutil.copytree(cache_copy, hostile, ignore=shutil.ignore_patterns("decisions.sqlite*"))
    meta = json.loads((hostile / "meta.json").read_text())
    worst = int(np.argmin([meta["metrics"]["test"]["per_class"][c]["top1"] for c in meta["classes"]]))
    meta["classes"][worst] = HOSTILE
    (hostile / "meta.json").write_text(json.dumps(meta))
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        with running_server(hostile) as hostile_server:
            open_page(tab, hostile_server, "")  # Overview: its accuracy bars put the worst class first
            tab.wait_for_selector('[data-testid="indoor-bars"][data-drawn]', timeout=TIMEOUT_S * 1000)
            bars = tab.evaluate(BARS_JS)
            assert HOSTILE in bars[0]["labels"], bars[0]["labels"]
            open_page(tab, hostile_server, "Confusion", {"order": "name"})
            tab.wait_for_selector('[data-testid="indoor-heatmap"][data-drawn]', timeout=TIMEOUT_S * 1000)
            tab.evaluate(CELL_JS, True)  # scrolls the matrix into view
            point = tab.evaluate("""(name) => { const s = document.querySelector('[data-testid="indoor-heatmap"]')._indoor;
                const k = s.data.labels.indexOf(name); return s.cellCenter(s.data.ids[k], s.data.ids[k]); }""", HOSTILE)
            tab.mouse.move(point["x"] - 2, point["y"] - 2)
            tab.mouse.move(point["x"], point["y"], steps=2)
            tip = tab.locator('[data-testid="indoor-heatmap"] .indoor-heatmap-tip:not([hidden])')
            tip.wait_for(timeout=10_000)
            assert f"given {HOSTILE} → predicted {HOSTILE}" in tip.text_content()
            open_page(tab, hostile_server, "Embedding_map")  # the map's legend
            tab.wait_for_selector('[data-testid="indoor-map"][data-points]', timeout=TIMEOUT_S * 1000)
            legend = tab.locator('[data-testid="indoor-map"] .indoor-map-legend-name').all_text_contents()
            assert HOSTILE in legend, legend
            assert tab.locator('[data-testid="stMain"] img[src="x"]').count() == 0
            assert tab.evaluate("() => window.__indoorPwned") is None
    finally:
        tab.close()
        shutil.rmtree(published_thumbs(hostile), ignore_errors=True)
    assert not errors, f"JavaScript errors: {errors}"


# Pages the scenarios above open by URL (each checks title and exceptions there, and photographs the page).
SCENARIO_PAGES = ("", "Confusion", "Gallery", "Embedding_map", "Relabel")
OTHER_PAGES = [p for p in PAGES if p not in SCENARIO_PAGES]


@pytest.fixture(scope="module")
def other_pages(browser, server):
    """Every other page opened by its URL, each in its own new tab, all at once (they load side by side: on a
    small machine the browser's work dominates, and tabs use more than one core)."""
    tabs = {}
    try:
        for path in OTHER_PAGES:
            tab = browser.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            requested: list[str] = []
            tab.on("request", lambda request, requested=requested: requested.append(request.url))
            tab.goto(f"{server.url}/{path}", wait_until="commit", timeout=TIMEOUT_S * 1000)
            tabs[path] = (tab, errors, requested)
        yield tabs
    finally:
        for tab, *_ in tabs.values():
            tab.close()


@pytest.mark.parametrize("path", OTHER_PAGES)
def test_every_other_page_opens_by_url(other_pages, screenshot_dir, path):
    tab, errors, requested = other_pages[path]
    check_page(tab, path)
    photograph(tab, screenshot_dir, path)
    assert not errors, f"JavaScript errors: {errors}"
    # the page's HTML tells the frontend where the server is (indoor.app.page_urls): its first ping is the right one,
    # not /<page>/_stcore/health (a 404, then 100 ms of back-off)
    pings = [urlparse(url).path for url in requested if url.endswith("/_stcore/health")]
    assert pings and pings[0] == "/_stcore/health", pings


# =================================================================================================== helpers


def photograph(page, folder: Path, path: str, *, full_page: bool = True) -> None:
    """Screenshot of the page at ``path`` into ``folder/<page>.png`` (Overview for the app's root)."""
    target = folder / f"{path or 'Overview'}.png"
    if full_page:
        full_page_screenshot(page, target)
    else:
        page.screenshot(path=str(target))
    width, height = png_size(target)
    assert width == VIEWPORT["width"] and height >= VIEWPORT["height"], (target, width, height)


def full_page_screenshot(page, target: Path, *, max_height: int = 6000) -> None:
    """Streamlit scrolls inside its own container, so Playwright's full_page sees one screen: grow the viewport to
    the content's height, let the layout settle, photograph, and restore it."""
    height = page.evaluate("""() => {
      const main = document.querySelector('[data-testid="stMain"]');
      const block = document.querySelector('[data-testid="stMainBlockContainer"]');
      return Math.ceil(Math.max(main ? main.scrollHeight : 0, block ? block.getBoundingClientRect().height : 0));
    }""")
    height = int(min(max(VIEWPORT["height"], height + 40), max_height))
    try:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(600)  # charts that follow the width redraw
        wait_idle(page, TIMEOUT_S)
        page.screenshot(path=str(target), full_page=True)
    finally:
        page.set_viewport_size(VIEWPORT)


def png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_page_urls_match_the_page_files():
    """PAGES (the URLs used above) lists every page file, with the URL Streamlit derives from its name."""
    files = {"app.py"} | {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert set(PAGES.values()) == files
    for path, file in PAGES.items():
        if path:
            assert Path(file).stem.split("_", 1)[1] == path
    assert set(TITLES) == set(PAGES) and set(SCENARIO_PAGES) <= set(PAGES)


# =================================================================================================== hostile data

# Class names (manifest labels) that Streamlit's Markdown would turn into a remote image, links or autolinks, and a
# file name (a sample id) that would: every page must show them as text and the browser must fetch nothing remote.
HOSTILE_LABELS = [
    "![p](https://evil.example/p.png) **bold**",
    "[click](https://evil.example/c)",
    "www.evil.example",
    "<img src=https://evil.example/i.png>",
    "![p](https:evil.example\\p.png)",  # no slash: possible as a folder name too
    "see https://evil.example/auto x@evil.example",
]
HOSTILE_FILE = "![f](https:evil.example) x@evil.example.jpg"
HOSTILE_NOTE = "![n](https://evil.example/n.png) www.evil.example"
HOSTILE_QUERY = "![r](https://evil.example/r.png)"

# JS: every URL the page holds (href, src, srcset, CSS url()) that leaves the server or is an e-mail / script link
REMOTE_URLS_JS = """() => {
  const bad = [];
  const check = (el, what, value) => {
    let url;
    try { url = new URL(value, location.href); } catch (e) { return; }
    const local = ['127.0.0.1', 'localhost'].includes(url.hostname);
    if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) ? !local
        : !['data:', 'blob:', 'about:'].includes(url.protocol))
      bad.push(`${el.tagName.toLowerCase()} ${what}=${value}`.slice(0, 200));
  };
  for (const el of document.querySelectorAll('[href], [src], [srcset], [style*="url("]')) {
    for (const attr of ['href', 'src']) if (el.hasAttribute(attr)) check(el, attr, el.getAttribute(attr));
    if (el.hasAttribute('srcset')) for (const part of el.getAttribute('srcset').split(','))
      check(el, 'srcset', part.trim().split(/\\s+/)[0]);
    for (const m of (el.getAttribute('style') || '').matchAll(/url\\(["']?([^"')]+)/g)) check(el, 'style', m[1]);
  }
  return bad;
}"""


# page -> texts its main area must show literally (formatted with the view's query): escaped data reads the same
SHOWN = {"Gallery": ("given {true} · predicted {pred}", "{image}"), "Explain": ("{sample}",),
         "Compare": ("Run A ({a})",)}


def _pca_2d(embeddings: np.ndarray, *, seed: int = 0, **_) -> np.ndarray:
    """Stands in for UMAP in the hostile build (the map's layout is not what is tested; UMAP's JIT takes ~30 s)."""
    data = np.asarray(embeddings, dtype=np.float64)
    data = data - data.mean(axis=0)
    coords = data @ np.linalg.svd(data, full_matrices=False)[2][:2].T
    span = np.where(np.ptp(coords, axis=0) > 0, np.ptp(coords, axis=0), 1.0)
    return ((coords - coords.min(axis=0)) / span).astype(np.float32)


def build_hostile_cache(folder: Path, monkeypatch) -> tuple[Path, str]:
    """A small cache whose class names and one file name are hostile Markdown (a CSV manifest over rendered demo
    images), with a decision and a class card whose texts are hostile too. Returns (cache path, hostile sample id)."""
    from indoor.cache import load_cache
    from indoor.cache.build import BuildOptions, build_cache
    from indoor.data.layouts import discover
    from indoor.data.synthetic import render_demo
    from indoor.decisions import Decision, DecisionStore

    render_demo(folder / "demo", n_classes=10, per_class=6, size=64, seed=0, workers=0, progress=False)
    images = folder / "demo" / "images"
    files = sorted(images.rglob("*.jpg"))
    folders = sorted({p.parent.name for p in files})
    hostile = files[0].with_name(HOSTILE_FILE)
    files[0].rename(hostile)
    files[0] = hostile
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        for path in files:
            relative = path.relative_to(images).as_posix()
            writer.writerow([relative, HOSTILE_LABELS[folders.index(path.parent.name) % len(HOSTILE_LABELS)],
                             relative.split("/")[0]])
    monkeypatch.setattr("indoor.cache.build.umap_2d", _pca_2d)
    out = folder / "cache"
    build_cache(discover(images, manifest=folder / "manifest.csv"), out,
                BuildOptions(image_size=64, folds=2, thumb_size=48, workers=0, progress=False), log=lambda _: None)
    cache = load_cache(out)
    sample_id = hostile.relative_to(images).as_posix()
    assert sample_id in cache.row_of and set(cache.classes) == set(HOSTILE_LABELS)
    store = DecisionStore(cache.decisions_path, classes=cache.classes, known_ids=cache.row_of.keys())
    other = next(c for c in cache.classes if c != cache.classes[int(cache.samples["label"].iat[cache.row_of[sample_id]])])
    store.save(Decision(sample_id=sample_id, action="relabel", new_label=other, note=HOSTILE_NOTE,
                        annotator=HOSTILE_NOTE))
    store.set_card(cache.classes[0], [HOSTILE_NOTE, "[l](https://evil.example/l)"], annotator=HOSTILE_NOTE)
    return out, sample_id


def hostile_views(cache_path: Path, sample_id: str) -> list[tuple[str, dict[str, str]]]:
    """(page path, query) of every page, some in several views: the hostile pair's gallery with the hostile image's
    detail open, the Compare page with a hostile run path in the query. (The Gallery, Explain and Compare views
    must show the hostile texts literally: see :data:`SHOWN`.)"""
    from indoor.cache import load_cache

    cache = load_cache(cache_path)
    row = cache.row_of[sample_id]
    given = cache.classes[int(cache.samples["label"].iat[row])]
    predicted = cache.classes[int(cache.samples["pred"].iat[row])]
    return [
        ("", {}), ("Confusion", {}),
        ("Gallery", {"true": given, "pred": predicted, "correct": "true", "image": sample_id}),
        ("Embedding_map", {}), ("Relabel", {"sample": sample_id}),
        ("Label_issues", {"flagged": "false"}), ("Label_issues", {"tab": "classes"}), ("Label_issues", {"tab": "multi"}),
        ("Class_merges", {}), ("Shortcuts", {}), ("Shortcuts", {"tab": "issues"}), ("Duplicates", {}),
        ("Explain", {"sample": sample_id}),
        ("Review", {"source": "class", "class": given, "sample": sample_id}), ("Review", {"view": "cards"}),
        ("Review", {"view": "annotators"}),
        ("Compare", {"a": HOSTILE_QUERY}),
    ]


def visit_hostile_views(browser, server, views, *, timeout_s: float = TIMEOUT_S) -> list[str]:
    """Open every view (each in a new tab), expand every expander, hover every help icon, record a merge (its
    toast); returns what went wrong: requests to other hosts (blocked), remote or e-mail URLs in the page,
    exceptions."""
    problems: list[str] = []

    def remote(url: str) -> bool:
        parts = urlparse(url)
        return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in ("127.0.0.1", "localhost")

    def inspect(tab, where: str) -> None:
        problems.extend(f"{where}: {url}" for url in tab.evaluate(REMOTE_URLS_JS))

    for path, query in views:
        where = f"/{path}" + (f"?{urlencode(query)}" if query else "")
        tab = browser.new_page()
        try:
            tab.on("request", lambda request: problems.append(f"request to {request.url}")
                   if remote(request.url) else None)
            tab.route(re.compile(r"^https?://(?!(127\.0\.0\.1|localhost)[:/])"), lambda route: route.abort())
            tab.goto(f"{server.url}{where}", wait_until="domcontentloaded", timeout=timeout_s * 1000)
            wait_idle(tab, timeout_s)
            problems.extend(f"{where}: exception {text[:300]}" for text in exceptions(tab))
            inspect(tab, where)
            closed = tab.locator('[data-testid="stExpander"] details:not([open]) > summary')
            for _ in range(closed.count()):
                closed.first.click()
            if path == "Class_merges" and tab.get_by_role("button", name="Record merge").count():
                tab.get_by_role("button", name="Record merge").click()  # its toast quotes both class names
                tab.wait_for_selector('[data-testid="stToast"]', timeout=timeout_s * 1000)
            wait_idle(tab, timeout_s)
            for icon in tab.locator('[data-testid="stTooltipHoverTarget"]').all():
                if icon.is_visible():
                    icon.hover(timeout=5_000, force=True)  # force: a dataframe's layer may lie over its header
                    tab.wait_for_timeout(60)
            tab.mouse.move(0, 0)
            tab.wait_for_timeout(150)  # images of what was just shown start loading
            inspect(tab, where + " (expanded)")
            shown = tab.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
            problems.extend(f"{where}: {text!r} is not shown as text" for text in SHOWN.get(path, ())
                            if text.format(**query) not in shown)
        finally:
            tab.close()
    return problems


def test_hostile_class_names_and_file_names_stay_text_on_every_page(browser, tmp_path, monkeypatch):
    """Class names, a file name, a note, an annotator, card attributes and a URL value that are Markdown images,
    links and autolinks: on every page (every expander open, every tooltip shown) the browser fetches nothing
    from another host and the page holds no remote link or image."""
    cache_path, sample_id = build_hostile_cache(tmp_path, monkeypatch)
    try:
        with running_server(cache_path, log=tmp_path / "streamlit.log") as hostile_server:
            problems = visit_hostile_views(browser, hostile_server, hostile_views(cache_path, sample_id))
    finally:
        shutil.rmtree(published_thumbs(cache_path), ignore_errors=True)
    assert not problems, "\n".join(dict.fromkeys(problems))
