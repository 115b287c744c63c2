"""The Shortcuts page in a real browser (`streamlit run app.py` + Debian Chromium): each finding shows its verdict
first, a tested finding its before/after thumbnails (all loaded) and numbers, and a click on "Test this finding"
runs the test with the real model and stores it in the cache. A full-page screenshot goes to docs/screenshots/
with INDOOR_SCREENSHOTS=1 (else tmp)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from browser_util import ROOT, VIEWPORT, assert_no_exception, chromium, have_chromium, running_server, wait_idle

playwright = pytest.importorskip("playwright.sync_api", reason="the playwright python package is required")

TIMEOUT_S = 300.0  # loading the model and ~200 forward passes on a small, loaded CPU

# JS: every image in the main area loaded, and how many
IMAGES_JS = """() => { const images = Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img'));
  return {n: images.length, loaded: images.filter(i => i.complete && i.naturalWidth > 0).length}; }"""


@pytest.fixture(scope="module")
def cache_copy(demo_cache_path, tmp_path_factory) -> Path:
    if not have_chromium():
        pytest.fail("Debian Chromium is required at /usr/bin/chromium: apt-get install -y chromium")
    target = tmp_path_factory.mktemp("browser-shortcuts") / "demo"
    shutil.copytree(demo_cache_path, target, ignore=shutil.ignore_patterns("decisions.sqlite*"))
    return target


def test_verdicts_evidence_and_a_test_on_demand(cache_copy, tmp_path_factory):
    from indoor.analysis import interventions
    from indoor.cache import load_cache

    from indoor.cache.writer import write_table

    stored = load_cache(cache_copy).table("shortcut_tests")
    write_table(cache_copy, "shortcut_tests", stored.iloc[:-1])  # one finding untested, to test on demand
    before = load_cache(cache_copy).table("shortcut_tests")
    shots = ROOT / "docs" / "screenshots" if os.environ.get("INDOOR_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("shots")
    with running_server(cache_copy, log=tmp_path_factory.mktemp("server") / "streamlit.log") as server, chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/Shortcuts", wait_until="domcontentloaded", timeout=TIMEOUT_S * 1000)
        wait_idle(page, TIMEOUT_S)
        assert_no_exception(page, "Shortcuts")
        main = page.locator('[data-testid="stMain"]')
        text = main.inner_text()
        assert re.search(r"(Confirmed shortcuts|Not yet decided|No causal effect — correlation or label errors) \(\d+\)", text)
        # the first line of every card is its verdict
        cards = [line for line in text.splitlines() if re.search(r" · #\d+ · .+→", line)]
        verdict_first = re.compile(r"(Confirmed shortcut|No causal effect|Inconclusive|Not tested yet)( — [^·]+)? · #\d+ · ")
        assert cards and all(verdict_first.search(line) for line in cards), cards
        if len(before):
            # every tested finding on the page shows its evidence once (a repeat's own test is not a card: it
            # shows under the finding it confirms)
            findings = load_cache(cache_copy).table("shortcut_findings")
            ranked = findings[findings["rank"] > 0].sort_values("rank").head(8)  # the page's default count
            keys = {interventions.finding_key(p, b, c) for p, b, c in zip(ranked["property"], ranked["bin"],
                                                                          ranked["class"])}
            assert text.count("Mean ΔP(") == len(set(before["key"]) & keys) >= 1
            page.wait_for_function(f"() => ({IMAGES_JS})().loaded === ({IMAGES_JS})().n", timeout=60_000)
            assert page.evaluate(IMAGES_JS)["n"] >= 2 * len(before)  # before and after images of each test
        page.set_viewport_size({"width": VIEWPORT["width"], "height": 2400})
        page.screenshot(path=str(shots / "Shortcuts_tests.png"), full_page=True)
        page.set_viewport_size(VIEWPORT)

        buttons = main.get_by_role("button", name="Test this finding")
        assert buttons.count() >= 1
        buttons.first.click()
        page.wait_for_function(f"() => document.querySelector('[data-testid=\"stMain\"]').innerText"
                               f".split('Mean ΔP(').length - 1 > {text.count('Mean ΔP(')}", timeout=TIMEOUT_S * 1000)
        wait_idle(page, TIMEOUT_S)
        assert_no_exception(page, "Shortcuts after a test on demand")
        assert not errors, errors
    after = load_cache(cache_copy).table("shortcut_tests")
    fresh = after[~after["key"].isin(set(before["key"]))]  # the finding tested on demand (and any repeat of it)
    assert len(fresh) >= 1 and (fresh["source"] == "on demand").all() and (after["source"] == "on demand").sum() == len(fresh)
