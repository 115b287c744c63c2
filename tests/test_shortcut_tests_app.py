"""Shortcut tests end to end on the session's demo cache (real backbone, small images): the build tests the top
findings, the Shortcuts page shows verdicts first and tests any other finding on demand (stored in the cache),
``analyze`` keeps the stored tests, and Compare runs A's tests on run B's model."""

from __future__ import annotations

import functools

import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import apptest_util

from indoor.analysis import intervention_report, interventions
from indoor.model.shortcut_test import REPEAT_BUDGET
from indoor.analysis.shortcuts import property_bins, property_values
from indoor.cache import load_cache

ROOT = Path(__file__).resolve().parents[1]
SHORTCUTS, COMPARE = "pages/7_Shortcuts.py", "pages/11_Compare.py"


open_page = functools.partial(apptest_util.open_page, timeout_s=600)  # -> AppTest


markdown_text = apptest_util.markdown_text


def test_the_build_tests_the_top_findings(demo_cache):
    tests = demo_cache.table("shortcut_tests")
    findings = demo_cache.table("shortcut_findings")
    top = findings[findings["rank"] > 0].sort_values("rank").head(3)
    expected = {interventions.finding_key(p, b, c) for p, b, c in zip(top["property"], top["bin"], top["class"])}
    assert list(tests.columns) == interventions.TEST_COLUMNS
    # the top 3, and at most REPEAT_BUDGET repeats of an unconfirmed one (the same images, another property)
    repeats = set(tests["key"]) - expected
    assert expected <= set(tests["key"]) and len(repeats) <= REPEAT_BUDGET and (tests["source"] == "build").all()
    for key in repeats:
        prop, b, cls = key.split("|")
        assert cls in set(top["class"]) and prop not in set(top.loc[top["class"] == cls, "property"])
    from indoor.model.shortcut_test import CLASS_BUDGET

    seconds = tests[tests["class_test"].map(intervention_report.class_test_of).notna()]
    assert len(seconds) <= CLASS_BUDGET and (seconds["verdict"] != "confirmed").all()  # unconfirmed ones only
    assert demo_cache.meta["shortcut_tests"] == {"top": 3, "images": 64}
    assert demo_cache.meta["timings"]["shortcut_tests"] > 0
    samples = demo_cache.samples
    labels = samples["label"].to_numpy()
    for test in tests.to_dict("records"):
        c = demo_cache.classes.index(test["class"])
        assert 16 <= test["n"] <= 64 and test["verdict"] in interventions.VERDICTS
        assert test["effect_lo"] <= test["effect"] <= test["effect_hi"]
        assert 0 <= test["p_before"] <= 1 and 0 <= test["flip_share"] <= 1
        assert test["effect"] == pytest.approx(test["p_after"] - test["p_before"], abs=1e-9)
        rows = np.array([demo_cache.row_of[s] for s in test["sample_ids"]])
        assert len(rows) == test["n"] and (labels[rows] != c).all()  # images of other classes
        index, _ = property_bins(property_values(samples)[test["property"]], n_bins=10,
                                 circular=test["property"] in ("hue", "dominant_hue"))
        assert (index[rows] != test["bin"]).all()  # from outside the bin
        assert len(test["examples"]) == len(test["example_jpeg"]) == len(test["example_after"]) > 0
        assert Image.open(io.BytesIO(test["example_jpeg"][0])).size[0] > 0
        by_class = intervention_report.by_class_records(test["by_class"])  # the same images, by their given label
        counts = pd.Series(labels[rows]).map(lambda label: demo_cache.classes[label]).value_counts().to_dict()
        assert {r["class"]: r["n"] for r in by_class} == counts
        weighted = sum(r["n"] * r["effect"] for r in by_class) / test["n"]
        assert weighted == pytest.approx(test["effect"], abs=1e-4)
        assert sum(r["flipped"] for r in by_class) == round(test["flip_share"] * test["n"])


def test_shortcuts_page_gives_each_finding_its_verdict_first(monkeypatch, shared_copy):
    at = open_page(monkeypatch, shared_copy, SHORTCUTS)
    cache = load_cache(shared_copy)
    tests = cache.table("shortcut_tests").set_index("key")
    shown = cache.table("shortcut_findings").query("rank > 0").sort_values("rank").head(8)  # the page's default
    verdicts = {}
    for f in shown.to_dict("records"):
        key = interventions.finding_key(f["property"], f["bin"], f["class"])
        verdicts[int(f["rank"])] = tests.at[key, "verdict"] if key in tests.index else None
    headings = [h.value for h in at.subheader]
    assert any(h.startswith(("Confirmed shortcuts", "Not yet decided", "No causal effect")) for h in headings)
    cards = {}
    for m in at.markdown:  # "<icon> **<verdict> · #<rank> · <property bin> → <class>**"
        if "** " in m.value or not m.value.rstrip().endswith("**") or " · #" not in m.value:
            continue
        label, rank = m.value.split("**")[1].split(" · ")[:2]
        cards[int(rank.lstrip("#"))] = label
    assert set(cards) == set(verdicts), (cards, verdicts)
    for rank, label in cards.items():  # the verdict first; "shortcut" only with a confirmed test
        verdict = verdicts[rank]
        if verdict is None:
            assert label == "Not tested yet"
        else:
            assert label.split(" — ")[0] == interventions.VERDICTS[verdict]
        assert ("shortcut" in label.lower()) == (verdict == "confirmed")
    assert sum(m.label.startswith("Mean ΔP(") for m in at.metric) == sum(v is not None for v in verdicts.values())
    assert sum(b.label == "Test this finding" for b in at.button) == sum(v is None for v in verdicts.values())
    # which classes' images moved most: one line per shown test, from its stored by_class
    from indoor.analysis.intervention_report import moved_most

    expected = {moved_most(r["by_class"], r["class"]) for r in tests.reset_index().to_dict("records")} - {""}
    lines = [c.value.replace("\\", "") for c in at.caption if "By class of the edited images" in c.value]
    assert expected and lines and set(lines) <= expected, (lines, expected)


def untest_one(cache_path: Path) -> pd.DataFrame:
    """Forget the last stored test (a small demo cache may have no untested finding to show): the stored tests."""
    from indoor.cache.writer import write_table

    tests = load_cache(cache_path).table("shortcut_tests")
    if len(tests):
        write_table(cache_path, "shortcut_tests", tests.iloc[:-1])
    return load_cache(cache_path).table("shortcut_tests")


def test_a_finding_is_tested_on_demand_and_stored(monkeypatch, own_copy):
    before = untest_one(own_copy)
    at = open_page(monkeypatch, own_copy, SHORTCUTS)
    buttons = [b for b in at.button if b.label == "Test this finding"]
    assert buttons, markdown_text(at)
    n_metrics = sum(m.label.startswith("Mean ΔP(") for m in at.metric)
    buttons[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = load_cache(own_copy).table("shortcut_tests")
    assert len(after) == len(before) + 1 and set(before["key"]) < set(after["key"])
    new = after[~after["key"].isin(before["key"])].iloc[0]
    assert new["source"] == "on demand" and new["n"] > 0 and new["verdict"] in interventions.VERDICTS
    assert sum(m.label.startswith("Mean ΔP(") for m in at.metric) == n_metrics + 1  # its evidence is shown


def test_an_unconfirmed_finding_is_tested_again_on_the_nearest_class_and_replayed(demo_cache):
    """run_tests (the build's and analyze's path) with the cache's probabilities: a finding its first test does not
    confirm (8 images: too few to decide) is tested again on fresh images of the class the probabilities make
    nearest; replaying the tests on the same images (Compare) replays that second test too."""
    from indoor.cache.shortcut_tests import cache_scorer, image_loader, input_side
    from indoor.model.shortcut_test import run_tests

    samples = demo_cache.samples.copy()
    samples["pred"] = samples["label"]  # every image in the pool a test draws from: enough for the nearest class
    classes, labels = demo_cache.classes, samples["label"].to_numpy()
    finding = demo_cache.table("shortcut_findings").query("rank > 0").sort_values("rank").head(1)
    c = classes.index(finding["class"].iat[0])
    probs = np.full((len(samples), len(classes)), 0.01)
    for k in range(len(classes)):  # class k's images: P(finding's class) falls with k, so the nearest is decided
        probs[labels == k, c] = 0.9 - 0.05 * k if k != c else 0.9
    scorer = cache_scorer(demo_cache)
    load = image_loader(demo_cache, input_side(scorer.preprocessing))
    first = run_tests(finding, samples, classes, scorer, load, embeddings=demo_cache.embeddings, n=8, probs=probs,
                      class_budget=1)
    row = first.iloc[0].to_dict()
    assert row["verdict"] == "inconclusive"  # 8 images: too few, so the second test runs
    result = intervention_report.class_test_of(row["class_test"])
    nearest = intervention_report.nearest_class(samples, probs, row["class"], classes, exclude=list(row["sample_ids"]))
    assert result is not None and result["class"] == nearest and 0 < result["n"] <= 8
    rows = np.array([demo_cache.row_of[s] for s in result["sample_ids"]])
    assert (labels[rows] == classes.index(nearest)).all() and not set(result["sample_ids"]) & set(row["sample_ids"])
    examples = intervention_report.class_test_examples(result)  # the first 6 edited images, to show
    assert len(examples) == min(6, result["n"]) and all(e[0] in result["sample_ids"] for e in examples)
    no_budget = run_tests(finding, samples, classes, scorer, load, embeddings=demo_cache.embeddings, n=8,
                          probs=probs, class_budget=0)
    assert intervention_report.class_test_of(no_budget["class_test"].iat[0]) is None
    replayed = run_tests(first, samples, classes, scorer, load, embeddings=demo_cache.embeddings, n=8,
                         sample_ids={row["key"]: list(row["sample_ids"])})
    again = intervention_report.class_test_of(replayed["class_test"].iat[0])
    assert again["class"] == nearest and again["sample_ids"] == result["sample_ids"]
    assert again["effect"] == pytest.approx(result["effect"], abs=1e-6)  # the same model, images and edits


def test_a_finding_is_tested_again_on_one_class_alone(monkeypatch, own_copy):
    """The class the model finds nearest to the finding's, tested alone on fresh images: from the page's button
    (shown while the test has no second test), then stored."""
    from indoor.cache.shortcut_tests import stored_tests
    from indoor.cache.writer import write_table

    cache = load_cache(own_copy)
    tests = stored_tests(cache)
    tests["class_test"] = "{}"  # none yet: the page offers the button
    write_table(own_copy, "shortcut_tests", tests)
    cache = load_cache(own_copy)
    open_tests = tests[tests["verdict"] != "confirmed"]
    if open_tests.empty:  # a small demo may confirm every tested finding: test a confirmed one directly
        test = tests.iloc[0].to_dict()
    else:
        test = open_tests.sort_values("rank").iloc[0].to_dict()
        at = open_page(monkeypatch, own_copy, SHORTCUTS)
        exclude = list(test["sample_ids"])
        top = (intervention_report.nearest_class(cache.samples, cache.probs, test["class"], cache.classes, exclude=exclude)
               or intervention_report.nearest_class(cache.samples, cache.probs, test["class"], cache.classes,
                                                    exclude=exclude, min_images=2))
        buttons = [b for b in at.button if b.label == f"Test {top} images alone"]
        assert buttons, markdown_text(at)
        buttons[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(f"{top} images alone (" in m.value for m in at.markdown), markdown_text(at)
        assert not [b for b in at.button if b.label == f"Test {top} images alone"]  # done: its result instead
        stored = stored_tests(load_cache(own_copy)).set_index("key").loc[test["key"]]
        second = intervention_report.class_test_of(stored["class_test"])
        assert second["class"] == top
        promoted = any(f"Confirmed shortcut on {top} images" in m.value for m in at.markdown)
        assert promoted == (second["verdict"] == "confirmed")  # the card's verdict, in the same run
    from indoor.cache.shortcut_tests import test_one_class

    top = next(c for c in cache.classes if c != test["class"])
    row = test_one_class(cache, test, top, n=24)
    result = intervention_report.class_test_of(row["class_test"])
    samples = cache.samples
    rows = np.array([cache.row_of[s] for s in result["sample_ids"]])
    assert 0 < result["n"] == len(rows) <= 24 and result["verdict"] in interventions.VERDICTS
    assert (samples["label"].to_numpy()[rows] == cache.classes.index(top)).all()  # that class's images only
    assert not set(result["sample_ids"]) & set(test["sample_ids"])  # none of the first test's
    assert result["effect_lo"] <= result["effect"] <= result["effect_hi"]
    examples = intervention_report.class_test_examples(result)  # its edited images, to show
    assert examples and all(e[0] in result["sample_ids"] and e[3][:2] == b"\xff\xd8" for e in examples)
    again = stored_tests(load_cache(own_copy)).set_index("key").loc[test["key"]]
    assert intervention_report.class_test_of(again["class_test"])["sample_ids"] == result["sample_ids"]
    assert again["effect"] == pytest.approx(test["effect"])  # the first test itself is kept as it was


def test_analyze_keeps_stored_tests(own_copy):
    from indoor.cli import main

    before = load_cache(own_copy).table("shortcut_tests")
    assert main(["analyze", str(own_copy), "--shortcut-tests", "2"]) == 0
    after = load_cache(own_copy).table("shortcut_tests")
    kept = after.set_index("key").loc[before["key"], "effect"]
    assert np.allclose(kept.to_numpy(), before["effect"].to_numpy())  # not retested: the model is unchanged


def test_compare_runs_a_tests_on_run_b(monkeypatch, own_copy):
    cleaned = own_copy.parent / f"{own_copy.name}-cleaned"  # the shown cache's -cleaned rebuild is offered
    shutil.copytree(own_copy, cleaned, ignore=shutil.ignore_patterns("decisions.sqlite*"))
    at = open_page(monkeypatch, own_copy, COMPARE, a=str(own_copy), b=str(cleaned))
    assert any(h.value.startswith("Shortcut tests") for h in at.subheader)
    go = [b for b in at.button if b.key == "cmp.tests.go"]
    assert go, markdown_text(at)
    go[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label.split(" (")[0]: m.value for m in at.metric if m.label.startswith("ΔP ")}
    assert "ΔP B" in shown and shown["ΔP B"] != "–"
    a_values = [m.value for m in at.metric if m.label.startswith("ΔP A")]
    b_values = [m.value for m in at.metric if m.label.startswith("ΔP B")]
    assert a_values == b_values  # the same model on the same images: the same effects
