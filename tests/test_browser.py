"""The dashboard in a real browser: `streamlit run app.py` and Debian Chromium (Playwright), both started here.

Scenarios: the Overview renders; a click on a confusion-matrix cell opens that pair's gallery; hovering a point of
the embedding map loads its thumbnail; a decision saved in the relabel form is listed and downloaded as CSV
(formula cells neutralised); a deep link reproduces a view on a fresh browser page; every page opens by its URL
with no exception; a screenshot of every page (into docs/screenshots/ with INDOOR_SCREENSHOTS=1, else tmp).

One server and one browser for the whole module, on a private copy of the session's demo cache (decisions
written here don't leak). INDOOR_BROWSER_CACHE=PATH runs the same tests on a copy of another cache (e.g.
runs/demo67 for README screenshots of the 67-class views).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import struct
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from browser_util import (
    PAGES,
    ROOT,
    VIEWPORT,
    assert_no_exception,
    chromium,
    have_chromium,
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

# JS: the confusion matrix's invisible click overlay (scatter trace over the heatmap) and the screen position of
# its most populated off-diagonal cell among those on screen, from the plot's own axes (_fullLayout.[xy]axis.l2p
# + _offset). With scroll=true the plot is first scrolled to the middle of the window (a 67 x 67 matrix is taller
# than the window).
CELL_JS = """(scroll) => {
  const plot = Array.from(document.querySelectorAll('.js-plotly-plot')).find(
      p => p._fullData && p._fullData.length === 2 && p._fullData[0].type === 'heatmap'
           && p._fullData[1].type === 'scatter');
  if (!plot) return null;
  if (scroll) plot.scrollIntoView({block: 'center', inline: 'nearest'});
  const layout = plot._fullLayout, box = plot.getBoundingClientRect(), overlay = plot._fullData[1];
  let best = null;
  for (let k = 0; k < overlay.x.length; k++) {
    const cd = overlay.customdata[k];
    const x = box.left + layout.xaxis._offset + layout.xaxis.l2p(overlay.x[k]);
    const y = box.top + layout.yaxis._offset + layout.yaxis.l2p(overlay.y[k]);
    const onScreen = x > 10 && x < window.innerWidth - 10 && y > 80 && y < window.innerHeight - 10;
    if (onScreen && cd[0] !== cd[1] && cd[2] > 0 && (!best || cd[2] > best.count))
      best = {given: cd[0], pred: cd[1], count: cd[2], x, y};
  }
  return best;
}"""

# JS: screen positions of a few points of the embedding map (scattergl traces of the custom component).
MAP_POINTS_JS = """() => {
  const plot = document.querySelector('[data-testid="indoor-map"] .indoor-map-plot');
  const layout = plot._fullLayout, box = plot.getBoundingClientRect();
  const out = [];
  for (const trace of plot._fullData) {
    for (const k of [0, Math.floor(trace.x.length / 2)]) {
      if (k >= trace.x.length) continue;
      const x = box.left + layout.xaxis._offset + layout.xaxis.l2p(trace.x[k]);
      const y = box.top + layout.yaxis._offset + layout.yaxis.l2p(trace.y[k]);
      if (x > box.left + 30 && x < box.right - 200 && y > box.top + 40 && y < box.bottom - 10) out.push({x, y});
    }
  }
  return out.slice(0, 12);
}"""

TIP_LOADED_JS = """() => {
  const img = document.querySelector('[data-testid="indoor-map"] .indoor-map-tip:not([hidden]) img');
  return !!img && img.complete && img.naturalWidth > 0;
}"""

GALLERY_IMAGES_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img'))
  .map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}))"""


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


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


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
    assert page.locator('[data-testid="stMain"] .js-plotly-plot').count() >= 1  # accuracy per class
    photograph(page, screenshot_dir, "")


def test_confusion_cell_click_opens_the_pairs_gallery(page, server, cache, screenshot_dir):
    open_page(page, server, "Confusion")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(
        p => p._fullData && p._fullData.length === 2 && p._fullData[1].type === 'scatter' && p.querySelector('.nsewdrag'))""",
                           timeout=TIMEOUT_S * 1000)
    photograph(page, screenshot_dir, "Confusion")
    page.evaluate(CELL_JS, True)
    page.wait_for_timeout(300)  # scrolled: let plotly settle
    cell = page.evaluate(CELL_JS, False)
    assert cell is not None, "no misclassified pair on screen in the test split of this cache"
    given, predicted = cache.classes[int(cell["given"])], cache.classes[int(cell["pred"])]

    page.mouse.move(cell["x"], cell["y"])  # the hover label names the pair under the pointer
    page.wait_for_function("() => !!document.querySelector('.hoverlayer .hovertext')", timeout=10_000)
    hover = page.locator(".hoverlayer .hovertext").first.text_content()
    assert given in hover and predicted in hover, hover

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
    images = page.evaluate(GALLERY_IMAGES_JS)
    assert len(images) == min(count, 48) and all(image["ok"] for image in images), images
    photograph(page, screenshot_dir, "Gallery")


def test_embedding_map_hover_loads_the_thumbnail(page, server, cache, screenshot_dir):
    open_page(page, server, "Embedding_map")
    page.wait_for_selector('[data-testid="indoor-map"][data-points]', timeout=TIMEOUT_S * 1000)
    assert page.locator('[data-testid="indoor-map"]').get_attribute("data-points") == str(len(cache.samples))
    points = page.evaluate(MAP_POINTS_JS)
    assert points, "no point of the map is on screen"
    for point in points:  # a point may sit under another trace's point or the legend: try a few
        page.mouse.move(point["x"] - 8, point["y"] - 8)
        page.mouse.move(point["x"], point["y"], steps=4)
        try:
            page.wait_for_function(TIP_LOADED_JS, timeout=8_000)
            break
        except playwright.TimeoutError:
            continue
    else:
        pytest.fail(f"no thumbnail appeared when hovering any of {points}")
    tip = page.evaluate("""() => {
      const tip = document.querySelector('[data-testid="indoor-map"] .indoor-map-tip');
      const img = tip.querySelector('img');
      return {src: img.getAttribute('src'), width: img.naturalWidth, text: tip.innerText};
    }""")
    row = int(tip["src"].rsplit("/", 1)[1].split(".")[0])
    assert tip["src"].startswith("/app/static/thumbs/") and 0 <= row < len(cache.samples), tip
    true_class = cache.classes[int(cache.samples["label"].iat[row])]
    assert f"true: {true_class}" in tip["text"] and f"row {row}" in tip["text"], tip
    photograph(page, screenshot_dir, "Embedding_map", full_page=False)  # with the hover card on screen


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
        again = other.evaluate(GALLERY_IMAGES_JS)
        assert len(again) == len(first_view) == min(count, 48) and all(image["ok"] for image in again)
        assert other.locator('[data-testid="stMain"] [data-testid="stImageCaption"]').all_inner_texts() == captions
    finally:
        other.close()


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
            tab.goto(f"{server.url}/{path}", wait_until="commit", timeout=TIMEOUT_S * 1000)
            tabs[path] = (tab, errors)
        yield tabs
    finally:
        for tab, _ in tabs.values():
            tab.close()


@pytest.mark.parametrize("path", OTHER_PAGES)
def test_every_other_page_opens_by_url(other_pages, screenshot_dir, path):
    tab, errors = other_pages[path]
    check_page(tab, path)
    photograph(tab, screenshot_dir, path)
    assert not errors, f"JavaScript errors: {errors}"


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
