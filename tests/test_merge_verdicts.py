"""Merges that say why (indoor/analysis/merges.py pair_verdicts) and their wording on the Class merges page."""

from __future__ import annotations

import numpy as np
import pytest

from indoor.analysis import merges


def _data(seed: int = 0, n: int = 60):
    """Classes 0 and 1 drawn alike (same embedding cloud, the model guesses between them); class 2 is its own
    cloud, but a minority of its images (the first 12) are predicted 1, never the other way; class 3 is clean."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(4), n)
    centres = rng.normal(size=(4, 16)) * 4
    centres[1] = centres[0]
    embeddings = centres[labels] + rng.normal(size=(4 * n, 16))
    probs = np.full((4 * n, 4), 0.02)
    coin = rng.random(2 * n)
    probs[: 2 * n, 0] = 0.48 + 0.2 * (coin - 0.5)
    probs[: 2 * n, 1] = 1.0 - 0.04 - probs[: 2 * n, 0]
    probs[2 * n:3 * n, 2], probs[3 * n:, 3] = 0.94, 0.94
    probs[2 * n:2 * n + 12, 2], probs[2 * n:2 * n + 12, 1] = 0.3, 0.64  # one-way, a minority
    return labels, probs / probs.sum(axis=1, keepdims=True), embeddings


def test_indistinguishable_and_often_confused_are_told_apart():
    labels, probs, embeddings = _data()
    table = merges.merge_candidates(labels, probs, embeddings, ["a", "b", "c", "d"])
    assert list(table.columns) == merges.MERGE_COLUMNS
    by_pair = table.set_index(["class_a", "class_b"])
    same = by_pair.loc[("a", "b")]
    assert same["verdict"] == "indistinguishable"
    assert same["separability"] < 0.7 and same["symmetry"] > 0.5 and same["mixing"] > 0.8
    assert "both ways" in same["why"] and "intermingle" in same["why"]
    minority = by_pair.loc[("b", "c")]
    assert minority["verdict"] == "often confused"
    assert minority["symmetry"] == 0.0 and minority["separability"] > 0.9 and minority["mixing"] < 0.3
    assert "mostly one way" in minority["why"] and "separate groups" in minority["why"]
    assert by_pair.loc[("a", "d"), "verdict"] == "distinct"
    # words come from the data: class names as given, not re-cased
    assert "a predicted b" in same["why"]


def test_verdicts_only_for_the_first_pairs_and_the_table_view():
    labels, probs, embeddings = _data(1)
    table = merges.merge_candidates(labels, probs, embeddings, ["a", "b", "c", "d"], verdict_top=1)
    assert table["verdict"].iloc[0] != "" and (table["verdict"].iloc[1:] == "").all()
    assert table["separability"].iloc[1:].isna().all()
    view = merges.merge_table(table)
    assert view["why confused"].iloc[0] == merges.VERDICTS[table["verdict"].iloc[0]]
    assert (view["why confused"].iloc[1:] == "").all()


def test_auc_and_mixing_by_hand():
    assert merges._auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert merges._auc(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.5
    two_groups = np.r_[np.tile([1.0, 0.0], (5, 1)), np.tile([0.0, 1.0], (5, 1))]
    assert merges._mixing(two_groups, np.repeat([0, 1], 5), 3) == 0.0


def test_demo_bookstore_videostore_is_indistinguishable(demo_cache):
    samples = demo_cache.samples
    table = merges.merge_candidates(samples["label"].to_numpy(), np.asarray(demo_cache.probs, float),
                                    np.asarray(demo_cache.embeddings), demo_cache.classes)
    pair = table[(table["class_a"].isin(["bookstore", "videostore"])) & (table["class_b"].isin(["bookstore", "videostore"]))]
    assert pair["verdict"].iloc[0] == "indistinguishable" and pair.index[0] == table.index[0]  # and first
    # the other pair the demo draws alike: its wards are bedrooms told apart by colour only, which a 180-image,
    # 96-px model may not learn; every other pair must not be called indistinguishable
    wards = table["class_a"].isin(["bedroom", "hospitalroom"]) & table["class_b"].isin(["bedroom", "hospitalroom"])
    others = table[(table["verdict"] != "") & ~table.index.isin(pair.index) & ~wards]
    assert len(others) and (others["verdict"] != "indistinguishable").all()


def test_merges_page_words_the_advice_by_verdict(monkeypatch, shared_copy):
    from tests.test_analysis_pages import open_page

    at = open_page(monkeypatch, shared_copy, "pages/6_Class_merges.py", a="bookstore", b="videostore")
    assert not at.exception
    assert any(w.value.startswith("**Indistinguishable**") and "merge them" in w.value for w in at.warning)
    from indoor.cache import load_cache
    from indoor.cache.tables import cache_tables

    pairs = cache_tables(load_cache(shared_copy))["merges"]
    confused = pairs[pairs["verdict"] == "often confused"]
    if confused.empty:
        pytest.skip("no often-confused pair in this small demo")
    r = confused.iloc[0]
    at = open_page(monkeypatch, shared_copy, "pages/6_Class_merges.py", a=r["class_a"], b=r["class_b"])
    assert any(i.value.startswith("**Often confused**") and "Merging would hide" in i.value for i in at.info)
    assert not any(w.value.startswith("**Indistinguishable**") for w in at.warning)
