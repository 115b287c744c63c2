"""Label issues that separate "mislabelled" from "hard" (issue 14): the out-of-fold neighbour judge, the kinds, the
weak-model rule, the stored table and warning, and the banner / evidence on the pages.

Unit tests run on small synthetic arrays (clusters in embedding space, hand-made probe probabilities); the page
tests use the session's small demo cache. The real-photo measurements are bench/bench_real.py's job."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from indoor.analysis import label_evidence as le
from indoor.analysis.label_issues import ISSUE_COLUMNS, find_label_issues

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
LABEL_ISSUES, REVIEW = "pages/5_Label_issues.py", "pages/10_Review.py"


# ================================================================================================ synthetic data


def clustered(seed: int = 0, *, n_classes: int = 3, per_class: int = 40, dim: int = 16):
    """Well separated clusters, one per class: (embeddings, true labels, splits, folds). The first ``per_class // 5``
    images of every class are test images, the rest train in 5 folds."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 3
    truth = np.repeat(np.arange(n_classes), per_class)
    embeddings = centres[truth] + rng.normal(size=(len(truth), dim))
    splits = np.where(np.arange(len(truth)) % per_class < per_class // 5, "test", "train")
    folds = np.where(splits == "train", rng.permutation(len(truth)) % 5, -1)
    return embeddings.astype(np.float32), truth, splits, folds, centres


def probe_like(truth: np.ndarray, n_classes: int, *, right: float = 0.5) -> np.ndarray:
    """A modest probe: ``right`` on the image's true class, the rest spread evenly."""
    probs = np.full((len(truth), n_classes), (1 - right) / (n_classes - 1))
    probs[np.arange(len(truth)), truth] = right
    return probs


# ================================================================================================ neighbours


def test_neighbours_are_out_of_fold_training_images_never_the_image_itself():
    embeddings, truth, splits, folds, _ = clustered()
    rows, similarity = le.out_of_fold_neighbours(embeddings, splits, folds, k=7)
    assert rows.shape == similarity.shape == (len(truth), 7)
    assert (rows >= 0).all() and (splits[rows] == "train").all()
    assert (rows != np.arange(len(truth))[:, None]).all()
    train = splits == "train"
    assert (folds[rows[train]] != folds[train][:, None]).all()  # a train image never meets its own fold
    assert (np.diff(similarity, axis=1) <= 1e-6).all()  # most similar first
    assert (truth[rows] == truth[:, None]).mean() > 0.95  # the clusters are found


def test_neighbour_probs_are_a_smoothed_similarity_weighted_vote():
    labels = np.array([0, 1, 1, 2])
    probs = le.neighbour_probs(np.array([[1, 2, 3], [0, -1, -1]]), np.array([[0.9, 0.8, 0.1], [0.5, np.nan, np.nan]]),
                               labels, 3, smoothing=0.0)
    assert np.allclose(probs.sum(axis=1), 1)
    assert np.allclose(probs[0], [0, 1.7 / 1.8, 0.1 / 1.8])
    assert np.allclose(probs[1], [1, 0, 0])  # missing neighbours (-1) don't vote
    smoothed = le.neighbour_probs(np.array([[1, 2, 3]]), np.array([[0.9, 0.8, 0.1]]), labels, 3)
    assert (smoothed > 0).all() and np.isclose(smoothed.sum(), 1)


# ================================================================================================ kinds


def test_kinds_from_two_judges():
    labels = np.array([0, 0, 0, 0])
    probe = np.array([[0.05, 0.95], [0.05, 0.95], [0.4, 0.6], [0.05, 0.95]])
    knn = np.array([[0.05, 0.95], [0.9, 0.1], [0.3, 0.7], [0.4, 0.6]])
    kinds = le.suspect_kinds(labels, probe, knn)
    assert list(kinds) == ["likely mislabelled", "hard example", "ambiguous", "ambiguous"]


def test_kinds_with_the_crops_as_a_third_judge():
    labels = np.zeros(6, dtype=np.int64)
    probe = np.array([[0.05, 0.95], [0.05, 0.95], [0.4, 0.6], [0.05, 0.95], [0.4, 0.6], [0.05, 0.95]])
    knn = np.array([[0.3, 0.7], [0.3, 0.7], [0.05, 0.95], [0.6, 0.4], [0.3, 0.7], [0.05, 0.95]])
    crops = np.array([0.02, 0.6, 0.05, 0.02, 0.02, np.nan])
    kinds = le.suspect_kinds(labels, probe, knn, crop_support=crops)
    assert list(kinds) == [
        "likely mislabelled",  # the probe and the crops reject the label, the neighbours hesitate
        "ambiguous",  # only the probe rejects it
        "likely mislabelled",  # the neighbours and the crops
        "hard example",  # the neighbours' vote goes to the label: the crops don't overrule that
        "ambiguous",  # only the crops
        "likely mislabelled",  # no crops: the two judges, as before
    ]
    # without crops the same rows need both judges
    assert list(le.suspect_kinds(labels, probe, knn)) == ["ambiguous", "ambiguous", "ambiguous", "hard example",
                                                          "ambiguous", "likely mislabelled"]


def test_crop_label_support_is_the_crops_mean_probability_of_the_label():
    from indoor.analysis.multiclass import REGION_COLUMNS

    def crop(row, *top):  # top: (class, p) of the crop's most probable classes
        record = {"row": row, "region": "grid", "x0": 0.0, "y0": 0.0, "x1": 0.5, "y1": 0.5}
        for k, (cls, p) in enumerate(top, start=1):
            record[f"class_{k}"], record[f"p_{k}"] = cls, p
        return record

    regions = pd.DataFrame([
        crop(0, (1, 0.9), (0, 0.06), (2, 0.02)),  # the label (0) second
        crop(0, (0, 0.5), (1, 0.3), (2, 0.1)),  # first
        crop(2, (1, 0.7), (2, 0.2), (3, 0.06)),  # label 0 not among the top 3: its share of the 0.04 left
    ])[REGION_COLUMNS]
    support = le.crop_label_support(regions, np.array([0, 0, 0]), n_classes=6)
    assert np.isclose(support[0], (0.06 + 0.5) / 2)
    assert np.isnan(support[1])  # not cropped
    assert np.isclose(support[2], 0.04 / 3)  # the rest spread over the 3 classes not stored, at most p_3
    assert np.isnan(le.crop_label_support(None, np.array([0]), n_classes=6)).all()


def test_the_crops_judge_flags_a_suspect_the_neighbours_hesitate_on_and_rank_it_first():
    """A class-0 image labelled 1 whose neighbours hesitate (a third of them carry label 1) is only ambiguous on two
    judges; its crops also reject label 1, so two of three judges do: likely mislabelled. Its label quality is the
    judges' mean, so it leads the review order."""
    embeddings, truth, splits, folds, centres = clustered(seed=1)
    n_classes = len(centres)
    labels = truth.copy()
    train0 = np.flatnonzero((truth == 0) & (splits == "train"))
    target = int(train0[3])
    labels[target] = 1
    helpers = [int(r) for r in train0[4:]]  # some of its own class labelled 1 too: the neighbours hesitate
    order = np.argsort(-(embeddings[helpers] @ embeddings[target]))
    for r in np.asarray(helpers)[order[:5]]:
        labels[r] = 1
    probs = probe_like(truth, n_classes, right=0.45)
    probs[target] = [0.95, 0.03, 0.02]
    without, _ = le.label_issue_table(labels, probs, embeddings, splits, folds, k=15)
    assert without["is_suspect"].iat[target] and without["kind"].iat[target] == "ambiguous"
    assert 0.1 <= without["knn_self_confidence"].iat[target] and not without["is_issue"].any()
    assert np.isnan(without["crop_self_confidence"]).all()
    regions = _crops({target: [(0, 0.9), (0, 0.8), (2, 0.7)]})  # no crop gives label 1 more than a sliver
    table, _ = le.label_issue_table(labels, probs, embeddings, splits, folds, k=15, regions=regions)
    record = table.iloc[target]
    assert record["crop_self_confidence"] < 0.1
    assert record["kind"] == "likely mislabelled" and record["is_issue"] and table["is_issue"].sum() == 1
    assert int(record["review_rank"]) == 0
    expected = (record["probe_self_confidence"] + record["knn_self_confidence"] + record["crop_self_confidence"]) / 3
    assert np.isclose(record["label_quality"], expected)
    assert record["label_quality"] < without["label_quality"].iat[target]
    others = np.delete(np.arange(len(labels)), target)
    assert np.allclose(table["label_quality"].to_numpy()[others], without["label_quality"].to_numpy()[others])


def test_a_mislabelled_cluster_point_is_likely_mislabelled_and_a_hard_example_is_not():
    embeddings, truth, splits, folds, centres = clustered(seed=1)
    n_classes = len(centres)
    labels = truth.copy()
    mislabelled = int(np.flatnonzero((truth == 0) & (splits == "train"))[3])
    labels[mislabelled] = 1  # a class-0 image labelled 1: the probe and its neighbours both say 0
    hard = int(np.flatnonzero((truth == 2) & (splits == "train"))[5])
    probs = probe_like(truth, n_classes, right=0.45)
    probs[mislabelled] = [0.9, 0.05, 0.05]  # the probe is sure it is a 0
    probs[hard] = [0.99, 0.005, 0.005]  # a correct label the probe gets confidently wrong; its neighbours are 2s
    table, reason = le.label_issue_table(labels, probs, embeddings, splits, folds, k=10)
    assert reason is None
    assert list(table.columns) == ISSUE_COLUMNS + le.EVIDENCE_COLUMNS
    record = table.iloc[mislabelled]
    assert record["is_suspect"] and record["kind"] == "likely mislabelled" and record["is_issue"]
    assert record["suggested"] == 0 and record["knn_agreement"] < 0.2
    assert int(table["review_rank"].iat[mislabelled]) == 0  # the first image of the review queue
    shown = table["neighbours"].iat[mislabelled]
    assert list(table["neighbour_labels"].iat[mislabelled]) == [int(labels[r]) for r in shown]
    # the probe alone flags the hard example; with its neighbours (all 2s) it is not flagged: at most a suspect of
    # kind "hard example" (here the average of the two judges does not even make it a suspect)
    assert find_label_issues(labels, probs)["is_issue"].iat[hard]
    assert table["kind"].iat[hard] in ("", "hard example") and not table["is_issue"].iat[hard]
    knn = le.neighbour_probs(np.stack(table["neighbours"]), np.stack(table["neighbour_similarity"]), labels, n_classes)
    assert le.suspect_kinds(labels, probs, knn)[hard] == "hard example"
    assert table["knn_agreement"].iat[hard] > 0.8
    assert sorted(table["review_rank"]) == list(range(len(labels)))
    assert table["is_issue"].sum() == 1


def _crops(spec: dict[int, list[tuple[int, float]]]) -> pd.DataFrame:
    """A region table from {row: [(top class, its probability) per crop]}."""
    from indoor.analysis.multiclass import REGION_COLUMNS

    records = [{"row": row, "region": f"crop {k}", "x0": 0.0, "y0": 0.0, "x1": 0.5, "y1": 0.5, "class_1": cls,
                "p_1": p, "class_2": -1, "p_2": 0.0, "class_3": -1, "p_3": 0.0}
               for row, crops in spec.items() for k, (cls, p) in enumerate(crops)]
    return pd.DataFrame(records)[REGION_COLUMNS]


def test_two_class_regions_needs_a_sure_crop_of_the_label_and_one_of_the_suggestion():
    labels, suggested = np.array([0, 0, 0, 0, 1]), np.array([1, 1, 1, 1, 1])
    regions = _crops({
        0: [(0, 0.9), (1, 0.8), (2, 0.9)],  # both shown: a two-class scene
        1: [(0, 0.4), (1, 0.9)],  # the label's crop is not sure
        2: [(1, 0.9), (1, 0.95)],  # only the suggestion
        4: [(1, 0.9), (0, 0.9)],  # suggested == label: not a suspect of another class
    })
    assert le.two_class_regions(regions, labels, suggested).tolist() == [True, False, False, False, False]
    assert le.two_class_regions(regions, labels, suggested, min_region=0.85).tolist() == [False] * 5
    assert not le.two_class_regions(None, labels, suggested).any()
    assert not le.two_class_regions(regions.iloc[:0], labels, suggested).any()


def test_region_suspects_are_the_rejected_labels_most_rejected_first():
    labels = np.array([0, 1, 2, 0, 1])
    probs = np.array([[0.05, 0.9, 0.05], [0.5, 0.02, 0.48], [0.3, 0.3, 0.4], [0.01, 0.01, 0.98], [0.9, 0.09, 0.01]])
    assert le.region_suspects(labels, probs, np.array([], dtype=int), max_images=10).tolist() == [3, 1, 0, 4]
    assert le.region_suspects(labels, probs, np.array([1]), max_images=2).tolist() == [3, 0]
    assert le.region_suspects(labels, probs, np.array([1]), max_images=0).tolist() == []
    with pytest.raises(ValueError):
        le.region_suspects(labels[:2], probs, np.array([1]), max_images=2)


def test_region_pair_names_the_surest_crop_of_each_class():
    regions = _crops({4: [(0, 0.6), (0, 0.9), (1, 0.7), (2, 0.99)], 5: [(0, 0.9)]})
    regions.loc[:, "region"] = ["a", "b", "c", "d", "e"]
    assert le.region_pair(regions, 4, 0, 1) == ("b", pytest.approx(0.9), "c", pytest.approx(0.7))
    assert le.region_pair(regions, 4, 1, 0) == ("c", pytest.approx(0.7), "b", pytest.approx(0.9))
    assert le.region_pair(regions, 5, 0, 1) is None and le.region_pair(regions, 4, 0, 0) is None
    assert le.region_pair(None, 4, 0, 1) is None and le.region_pair(regions, 4, 0, 1, min_region=0.8) is None


def test_pair_confusion_matrix_counts_both_directions_over_both_classes():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    probs = np.eye(3)[[0, 0, 1, 2, 0, 1, 2, 2]]  # predictions: one 0 -> 1, one 0 -> 2, one 1 -> 0
    confusion = le.pair_confusion_matrix(labels, probs)[[0, 1, 0, 1], [1, 0, 2, 2]]
    assert confusion.tolist() == pytest.approx([2 / 6, 2 / 6, 1 / 6, 0.0])


def test_a_suspect_whose_crops_show_both_classes_is_ambiguous_not_flagged():
    embeddings, truth, splits, folds, centres = clustered(seed=1)
    labels = truth.copy()
    first, second = np.flatnonzero((truth == 0) & (splits == "train"))[[3, 20]]
    labels[[first, second]] = 1  # two class-0 images labelled 1: both judges say 0
    probs = probe_like(truth, len(centres), right=0.45)
    probs[[first, second]] = [0.9, 0.05, 0.05]
    plain, _ = le.label_issue_table(labels, probs, embeddings, splits, folds, k=10)
    assert plain["is_issue"].iat[first] and plain["is_issue"].iat[second]
    # the build cropped both: one of them shows a sure class-1 region (its label) beside a class-0 one
    regions = _crops({int(first): [(1, 0.9), (0, 0.95)], int(second): [(0, 0.9), (0, 0.8)]})
    table, _ = le.label_issue_table(labels, probs, embeddings, splits, folds, k=10, regions=regions)
    assert table["kind"].iat[first] == "ambiguous" and not table["is_issue"].iat[first]
    assert table["kind"].iat[second] == "likely mislabelled" and table["is_issue"].iat[second]
    assert table["review_rank"].iat[second] < table["review_rank"].iat[first]
    # between two classes the model often mixes up, crops that show the label are no evidence: still flagged
    confused = probs.copy()
    confused[np.flatnonzero((truth == 1) & (splits == "train"))[:6]] = [0.9, 0.05, 0.05]
    table, _ = le.label_issue_table(labels, confused, embeddings, splits, folds, k=10, regions=regions)
    assert le.confused_pairs(labels, confused)[1, 0]
    assert le.two_class_regions(regions, labels, table["suggested"].to_numpy())[first]
    assert table["kind"].iat[first] == "likely mislabelled" and table["is_issue"].iat[first]


def test_flagging_needs_both_judges_and_low_confidence_rank_stays_the_probe_baseline():
    embeddings, truth, splits, folds, centres = clustered(seed=2)
    probs = probe_like(truth, len(centres), right=0.8)
    table, _ = le.label_issue_table(truth, probs, embeddings, splits, folds, k=10)
    assert not table["is_issue"].any()  # clean labels, two judges agreeing with them: nothing flagged
    order = np.lexsort((np.arange(len(truth)), probs[np.arange(len(truth)), truth]))
    assert (table["low_confidence_rank"].to_numpy()[order] == np.arange(len(truth))).all()


# ================================================================================================ weak model


def test_weak_model_rule_on_agreement_and_flagged_share():
    labels = np.repeat([0, 1], 50)
    good = probe_like(labels, 2, right=0.9)
    assert le.weak_model_reason(labels, good, good, np.zeros(100, bool)) is None
    wrong = probe_like(1 - labels, 2, right=0.9)
    mixed = np.where((np.arange(100) % 2 == 0)[:, None], good, wrong)  # agrees with half the labels
    reason = le.weak_model_reason(labels, mixed, mixed, np.zeros(100, bool), train_per_class=60)
    assert reason.startswith(le.WEAK_MODEL) and "50%" in reason and "about 60 training images per class" in reason
    assert "fine-tuned" in reason and "stronger backbone" in reason
    many = np.arange(100) < 20  # 20 % would be flagged
    assert "20% of the images would be flagged" in le.weak_model_reason(labels, good, good, many)


def test_a_model_that_cannot_judge_labels_ranks_but_flags_nothing():
    embeddings, truth, splits, folds, _ = clustered(seed=3, n_classes=4)
    rng = np.random.default_rng(0)
    labels = np.where(rng.random(len(truth)) < 0.5, rng.integers(0, 4, len(truth)), truth)  # ~40 % wrong
    probs = probe_like(truth, 4, right=0.7)
    table, reason = le.label_issue_table(labels, probs, embeddings, splits, folds, k=10)
    assert reason is not None and reason.startswith(le.WEAK_MODEL)
    assert not table["is_issue"].any() and table["is_suspect"].sum() > 0.2 * len(labels)
    assert sorted(table["review_rank"]) == list(range(len(labels)))
    ranked = table.sort_values("review_rank")["row"].to_numpy()
    wrong = labels != truth
    assert wrong[ranked[: wrong.sum()]].mean() > 0.8  # still a useful ranking


def test_weak_model_message_finds_the_warning():
    frame = pd.DataFrame({"analysis": ["label_issues", "label_issues"],
                          "message": ["classes overlap", f"{le.WEAK_MODEL}: only 40%."]})
    assert le.weak_model_message(frame) == f"{le.WEAK_MODEL}: only 40%."
    assert le.weak_model_message(frame.iloc[:1]) is None and le.weak_model_message(None) is None


def test_untrusted_rows_are_never_flagged():
    embeddings, truth, splits, folds, centres = clustered(seed=1)
    labels = truth.copy()
    flipped = np.flatnonzero((truth == 0) & (splits == "train"))[:2]
    labels[flipped] = 1
    probs = probe_like(truth, len(centres), right=0.45)
    trusted = splits != "train"  # e.g. an import whose train probabilities are in-sample
    table, _ = le.label_issue_table(labels, probs, embeddings, splits, folds, k=10, trusted=trusted)
    assert not table.loc[~trusted, "is_issue"].any()


def test_review_queue_of_a_weak_model_is_its_suspects_in_review_order():
    from indoor.decisions.queue import QueueSource, build_queue

    issues = pd.DataFrame({"row": [0, 1, 2, 3], "is_issue": [False] * 4, "is_suspect": [True, False, True, True],
                           "review_rank": [2, 0, 3, 1]})
    samples = pd.DataFrame({"label": [0, 1, 0, 1], "split": ["train"] * 4, "self_confidence": [0.1] * 4})
    source = QueueSource(kind="issues")
    assert list(build_queue(source, samples, ["a", "b"], issues=issues)) == []
    assert list(build_queue(source, samples, ["a", "b"], issues=issues, flag_column="is_suspect")) == [3, 0, 2]


# ================================================================================================ pages


def _open(monkeypatch, cache_path: Path, page: str | None = None, **query: str) -> AppTest:
    monkeypatch.setenv("INDOOR_CACHE", str(cache_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.query_params = dict(query)
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def weak_copy(own_copy) -> Path:
    """The demo cache with its label-issue table recomputed under a bar it cannot meet (95 % out-of-sample
    agreement with the given labels): the real analysis, stored through the cache writer, reporting a weak model."""
    from indoor.cache import load_cache
    from indoor.cache.tables import cache_tables
    from indoor.cache.writer import write_tables

    cache = load_cache(own_copy)
    tables = cache_tables(cache)
    samples = cache.samples
    table, reason = le.label_issue_table(samples["label"].to_numpy(), np.asarray(cache.probs),
                                         np.asarray(cache.embeddings), samples["split"].to_numpy(),
                                         samples["fold"].to_numpy(), min_agreement=0.95)
    assert reason is not None
    table.insert(1, "sample_id", samples["sample_id"].to_numpy())
    table.insert(2, "split", samples["split"].to_numpy())
    tables["label_issues"] = table
    tables["warnings"] = pd.concat([tables["warnings"], pd.DataFrame({"analysis": ["label_issues"],
                                                                      "message": [reason]})], ignore_index=True)
    write_tables(own_copy, tables)
    return own_copy


def test_the_stored_table_has_kinds_and_evidence(demo_cache):
    from indoor.cache.tables import cache_tables

    issues = cache_tables(demo_cache)["label_issues"]
    for column in le.EVIDENCE_COLUMNS:
        assert column in issues, column
    suspects = issues[issues["is_suspect"]]
    assert set(suspects["kind"]) <= set(le.KINDS) and (issues.loc[~issues["is_suspect"], "kind"] == "").all()
    assert (issues["is_issue"] <= (issues["kind"] == "likely mislabelled")).all()
    rows = np.concatenate([np.asarray(r, dtype=np.int64) for r in issues["neighbours"]])
    assert (demo_cache.samples["split"].to_numpy()[rows] == "train").all()


def test_no_banner_on_a_model_that_can_judge(monkeypatch, shared_copy):
    at = _open(monkeypatch, shared_copy)
    assert not any(le.WEAK_MODEL in e.value for e in at.error)
    at = _open(monkeypatch, shared_copy, LABEL_ISSUES)
    assert not any(le.WEAK_MODEL in e.value for e in at.error)


def test_weak_model_banner_on_overview_and_label_issues(monkeypatch, weak_copy):
    at = _open(monkeypatch, weak_copy)
    banners = [e.value for e in at.error if "too weak to judge labels" in e.value]
    assert banners and "more images per class" in banners[0] and "stronger backbone" in banners[0]
    at = _open(monkeypatch, weak_copy, LABEL_ISSUES)
    assert any("too weak to judge labels" in e.value for e in at.error)
    assert not any("too weak" in w.value for w in at.warning)  # once, as the banner
    assert at.metric[0].value == "0"  # nothing flagged ...
    assert at.toggle(key="li.flagged").label == "Suspects only"
    assert "Reviewing **image 1 of" in "\n".join(m.value for m in at.markdown)  # ... but the suspects are ranked


def test_label_issues_page_and_review_queue_show_kind_and_neighbours(monkeypatch, shared_copy):
    from indoor.cache import load_cache
    from indoor.cache.tables import cache_tables

    cache = load_cache(shared_copy)
    issues = cache_tables(cache)["label_issues"]
    first = issues.sort_values("review_rank").iloc[0]
    assert first["is_issue"]
    at = _open(monkeypatch, shared_copy, LABEL_ISSUES)
    text = "\n".join(c.value for c in at.caption)
    assert "Evidence: the probe gives" in text
    assert any("-badge[" in m.value and first["kind"].capitalize() in m.value for m in at.markdown)
    assert "kind" in at.dataframe[0].value.columns
    assert at.get("image"), "the neighbours are shown as thumbnails"
    at = _open(monkeypatch, shared_copy, REVIEW, source="issues")
    assert at.session_state["rv.sample"] == first["sample_id"]
    assert "Evidence: the probe gives" in "\n".join(c.value for c in at.caption)


def test_the_evidence_says_when_the_crops_show_both_classes(monkeypatch, own_copy):
    """A suspect whose stored crops show its label and the suggested class: the evidence names both crops."""
    from indoor.analysis.multiclass import REGION_COLUMNS
    from indoor.cache import load_cache
    from indoor.cache.tables import cache_tables
    from indoor.cache.writer import write_table

    cache = load_cache(own_copy)
    issues = cache_tables(cache)["label_issues"]
    first = issues.sort_values("review_rank").iloc[0]
    label, suggested, row = int(first["label"]), int(first["suggested"]), int(first["row"])
    before = _open(monkeypatch, own_copy, LABEL_ISSUES)
    assert "Its crops show both" not in "\n".join(c.value for c in before.caption)  # a flagged suspect: they don't
    crops = _crops({row: [(label, 0.93), (suggested, 0.88)]})
    crops["region"] = ["grid 1,1", "grid 2,2"]
    regions = cache.table("regions")
    write_table(own_copy, "regions", pd.concat([regions[regions["row"] != row], crops[REGION_COLUMNS]],
                                                ignore_index=True))
    import streamlit as st

    st.cache_resource.clear()  # the tables the first visit read are shared per build; this test rewrote one
    at = _open(monkeypatch, own_copy, LABEL_ISSUES)
    text = "\n".join(c.value for c in at.caption)
    classes = cache.classes
    assert (f"Its crops show both classes: **{classes[label]}** 93% (grid 1,1) and **{classes[suggested]}** 88% "
            "(grid 2,2)") in text
