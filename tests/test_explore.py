"""indoor.explore: class orders, error tables, typical examples, pagination."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indoor.analysis import explore


def _blocks_matrix() -> np.ndarray:
    """6 classes in name order a..f; (a, d) and (b, e) are confused with each other, c and f are clean."""
    m = np.diag([50, 50, 50, 50, 50, 50]).astype(int)
    m[0, 3], m[3, 0] = 20, 15
    m[1, 4], m[4, 1] = 18, 22
    m[2, 5] = 1
    return m


def _adjacent(order: np.ndarray, i: int, j: int) -> bool:
    position = {int(c): p for p, c in enumerate(order)}
    return abs(position[i] - position[j]) == 1


def test_name_order_is_case_insensitive_alphabetical():
    classes = ["kitchen", "Bar", "deli", "airport"]
    order = explore.name_order(classes)
    assert [classes[i] for i in order] == ["airport", "Bar", "deli", "kitchen"]


def test_accuracy_order_puts_worst_first_and_empty_rows_last():
    m = np.array([[9, 1, 0], [2, 2, 0], [0, 0, 0]])
    assert explore.accuracy_order(m).tolist() == [1, 0, 2]


def test_confusion_similarity_order_puts_confused_classes_side_by_side():
    m = _blocks_matrix()
    order = explore.confusion_similarity_order(m)
    assert sorted(order.tolist()) == list(range(6))
    assert _adjacent(order, 0, 3)
    assert _adjacent(order, 1, 4)
    # by name they are far apart
    assert not _adjacent(explore.name_order(list("abcdef")), 0, 3)


def test_centroid_similarity_order_groups_nearby_centroids():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 16))
    centroids = np.stack([base[0], base[1], base[2], base[0] + 0.05, base[1] + 0.05, base[2] + 0.05])
    order = explore.centroid_similarity_order(centroids)
    assert _adjacent(order, 0, 3) and _adjacent(order, 1, 4) and _adjacent(order, 2, 5)


def test_class_order_dispatches_and_rejects_unknown():
    m = _blocks_matrix()
    classes = list("fedcba")
    assert explore.class_order(m, classes, by="name").tolist() == [5, 4, 3, 2, 1, 0]
    assert explore.class_order(m, classes, by="accuracy")[0] in (0, 1, 3, 4)
    assert sorted(explore.class_order(m, classes, by="similarity").tolist()) == list(range(6))
    with pytest.raises(ValueError, match="unknown class order"):
        explore.class_order(m, classes, by="colour")


def test_tiny_matrices_need_no_clustering():
    assert explore.confusion_similarity_order(np.eye(2)).tolist() == [0, 1]
    assert explore.centroid_similarity_order(np.ones((1, 4))).tolist() == [0]


def test_class_centroids_average_unit_vectors():
    from indoor.analysis.vectors import class_centroids

    embeddings = np.array([[2.0, 0.0], [0.0, 3.0], [5.0, 0.0]])
    centroids = class_centroids(embeddings, np.array([0, 0, 1]), 3)
    assert np.allclose(centroids, [[0.5 ** 0.5, 0.5 ** 0.5], [1.0, 0.0], [0.0, 0.0]])  # unit directions


def test_normalise_rows_keeps_empty_rows_zero():
    rates = explore.normalise_rows(np.array([[3, 1], [0, 0]]))
    assert np.allclose(rates, [[0.75, 0.25], [0.0, 0.0]])


def _samples() -> pd.DataFrame:
    return pd.DataFrame({
        "sample_id": [f"s{i}" for i in range(8)],
        "split": ["test", "test", "train", "test", "train", "test", "test", "val"],
        "label": [0, 0, 0, 1, 1, 0, 0, 0],
        "pred": [1, 1, 1, 0, 1, 0, 2, 1],
        "confidence": [0.6, 0.9, 0.7, 0.8, 0.95, 0.99, 0.5, 0.97],
        "loss": [2.0, 1.0, 3.0, 0.5, 0.1, 0.01, 4.0, 1.5],
        "margin": [0.1, 0.8, 0.4, 0.6, 0.9, 0.98, 0.05, 0.9],
        "self_confidence": [0.1, 0.05, 0.2, 0.1, 0.95, 0.99, 0.3, 0.02],
    }, index=range(8))


def test_error_table_filters_pair_and_split_and_sorts_by_confidence():
    table = explore.error_table(_samples(), true=0, pred=1, split="test")
    assert table.index.tolist() == [1, 0]  # confidence 0.9 before 0.6; train row 2 and val row 7 left out
    assert (table["label"] == 0).all() and (table["pred"] == 1).all()


def test_error_table_any_class_all_splits_and_loss_sort():
    table = explore.error_table(_samples(), sort="loss")
    assert table.index.tolist() == [6, 2, 0, 7, 1, 3]  # only misclassified rows, highest loss first
    assert explore.error_table(_samples(), pred=2).index.tolist() == [6]


def test_error_table_includes_correct_only_when_asked():
    samples = _samples()
    assert 5 not in explore.error_table(samples, true=0, pred=0).index
    both = explore.error_table(samples, true=0, pred=0, include_correct=True)
    assert both.index.tolist() == [5]
    with pytest.raises(ValueError, match="unknown sort"):
        explore.error_table(samples, sort="random")


def test_typical_examples_are_correct_and_most_confident():
    labels = np.array([0, 0, 0, 0, 1, 1])
    preds = np.array([0, 1, 0, 0, 1, 0])
    self_conf = np.array([0.6, 0.99, 0.9, 0.7, 0.8, 0.1])
    assert explore.typical_examples(labels, preds, self_conf, 0, k=2).tolist() == [2, 3]
    assert explore.typical_examples(labels, preds, self_conf, 1).tolist() == [4]
    only_first = np.array([True, True, False, False, True, True])
    assert explore.typical_examples(labels, preds, self_conf, 0, candidates=only_first).tolist() == [0]


def test_typical_by_centroid_prefers_central_correct_images():
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [1.0, 0.05], [0.0, 1.0]])
    labels = np.array([0, 0, 0, 0, 1])
    preds = np.array([0, 0, 1, 0, 1])
    rows = explore.typical_by_centroid(embeddings, labels, preds, 0, k=2)
    assert rows.tolist() == [3, 0]  # row 2 is close but misclassified; row 1 is far from the centroid
    assert explore.typical_by_centroid(embeddings, labels, preds, 2).size == 0


def test_top_k_sorted_descending():
    index, values = explore.top_k(np.array([[0.1, 0.6, 0.3]]), 2)
    assert index.tolist() == [[1, 2]] and np.allclose(values, [[0.6, 0.3]])


@pytest.mark.parametrize(("n", "size", "pages"), [(0, 48, 1), (1, 48, 1), (48, 48, 1), (49, 48, 2), (500, 48, 11)])
def test_page_count(n, size, pages):
    assert explore.page_count(n, size) == pages


def test_page_slice_clamps_into_range():
    assert explore.page_slice(100, 1, 48) == slice(0, 48)
    assert explore.page_slice(100, 3, 48) == slice(96, 100)
    assert explore.page_slice(100, 99, 48) == slice(96, 100)
    assert explore.page_slice(100, 0, 48) == slice(0, 48)
    assert explore.page_slice(0, 1, 48) == slice(0, 0)
    with pytest.raises(ValueError):
        explore.page_count(10, 0)


def test_orders_on_a_real_cache(demo_cache):
    """On the session's demo cache: every order is a permutation of the classes."""
    from indoor.analysis.metrics import confusion_matrix

    samples = demo_cache.samples
    n = len(demo_cache.classes)
    matrix = confusion_matrix(samples["label"].to_numpy(), samples["pred"].to_numpy(), n)
    for by in explore.ORDERS:
        assert sorted(explore.class_order(matrix, demo_cache.classes, by=by).tolist()) == list(range(n))
    from indoor.analysis.vectors import class_centroids

    centroids = class_centroids(np.asarray(demo_cache.embeddings), samples["label"].to_numpy(), n)
    assert sorted(explore.class_order(matrix, demo_cache.classes, by="similarity", centroids=centroids)
                  .tolist()) == list(range(n))


# ------------------------------------------------------------------------------ what the pages show (no Streamlit)


def test_page_window_clamps_and_counts():
    assert explore.page_window(100, None, 48) == (1, 3, slice(0, 48))
    assert explore.page_window(100, 3, 48) == (3, 3, slice(96, 100))
    assert explore.page_window(100, 99, 48) == (3, 3, slice(96, 100))
    assert explore.page_window(0, 2, 12) == (1, 1, slice(0, 0))


def test_confusion_view_reorders_counts_and_rates():
    matrix = np.array([[3, 1, 0], [0, 2, 2], [0, 0, 0]])
    order = [2, 0, 1]
    shown, counts, rates = explore.confusion_view(matrix, order)
    assert counts.tolist() == [[0, 0, 0], [0, 3, 1], [2, 0, 2]]  # rows and columns in order 2, 0, 1
    assert shown.dtype == float and (shown == counts).all()
    assert np.allclose(rates[1], [0, 0.75, 0.25]) and np.allclose(rates[0], 0)
    shown_rows, _, _ = explore.confusion_view(matrix, order, values="rows")
    assert np.allclose(shown_rows, rates)


def test_sample_mask_combines_split_labels_and_errors():
    samples = pd.DataFrame({"label": [0, 1, 2, 0, 1], "pred": [0, 2, 2, 1, 1],
                            "split": ["test", "test", "train", "train", "test"]})
    assert explore.sample_mask(samples).all()
    assert explore.sample_mask(samples, split="test").tolist() == [True, True, False, False, True]
    assert explore.sample_mask(samples, labels=[0, 2]).tolist() == [True, False, True, True, False]
    assert explore.sample_mask(samples, errors_only=True).tolist() == [False, True, False, True, False]
    assert explore.sample_mask(samples, split="train", labels=[0], errors_only=True).tolist() == [
        False, False, False, True, False]
    table = pd.DataFrame({"row": [4, 0, 3], "x": ["a", "b", "c"]})
    assert explore.rows_where(table, explore.sample_mask(samples, split="test"))["x"].tolist() == ["a", "b"]


def test_confident_errors_most_confident_first():
    labels, preds = np.array([0, 1, 1, 0, 2]), np.array([1, 1, 0, 2, 2])
    confidence = np.array([0.6, 0.9, 0.8, 0.8, 0.5])
    assert explore.confident_errors(labels, preds, confidence).tolist() == [2, 3, 0]  # ties keep row order
    assert explore.confident_errors(labels, preds, confidence, limit=2).tolist() == [2, 3]
    assert explore.confident_errors(labels, labels, confidence).size == 0


def test_class_shares_most_frequent_first():
    shares = explore.class_shares([1, 1, 0, 1, 2, 2], ["a", "b", "c"], top=2)
    assert [name for name, _ in shares] == ["b", "c"]
    assert [share for _, share in shares] == pytest.approx([0.5, 1 / 3])
    assert explore.class_shares([], ["a"]) == []


def test_class_accuracy_worst_first_for_classes_with_images():
    from indoor.analysis.metrics import class_accuracy, confusion_totals

    matrix = np.array([[8, 2, 0], [0, 0, 0], [1, 1, 2]])
    table = class_accuracy(matrix)
    assert table["index"].tolist() == [2, 0]  # class 1 has no image
    assert table["accuracy"].tolist() == pytest.approx([0.5, 0.8])
    assert table["support"].tolist() == [4, 10] and table["errors"].tolist() == [2, 2]
    assert confusion_totals(matrix) == (14, 4)


def test_per_class_table_adds_errors_and_the_top_confusion():
    from indoor.analysis.metrics import per_class_table

    matrix = np.array([[8, 2, 0], [0, 0, 0], [1, 3, 2]])
    table = per_class_table(matrix, ["a", "b", "c"])
    assert table["class"].tolist() == ["c", "a"]  # worst F1 first; b has no image
    c = table.set_index("class").loc["c"]
    assert c["errors"] == 4 and c["most often predicted as"] == "b (3)"
    assert c["recall"] == pytest.approx(100 * 2 / 6) and c["precision"] == pytest.approx(100.0)
    clean = per_class_table(np.diag([3, 4]), ["x", "y"])
    assert clean["most often predicted as"].tolist() == ["", ""] and clean["errors"].tolist() == [0, 0]


def test_relabel_picker_rows_and_default_class():
    from indoor.analysis import relabel

    samples = pd.DataFrame({"sample_id": ["s0", "s1", "s2", "s3", "s4"], "label": [0, 0, 1, 1, 1],
                            "pred": [1, 0, 0, 0, 1], "confidence": [0.5, 0.9, 0.7, 0.8, 0.6]})
    assert relabel.picker_rows(samples)["sample_id"].tolist() == ["s0", "s1", "s2", "s3", "s4"]
    assert relabel.picker_rows(samples, show="wrong")["sample_id"].tolist() == ["s3", "s2", "s0"]
    assert relabel.picker_rows(samples, label=1, show="wrong")["sample_id"].tolist() == ["s3", "s2"]
    assert relabel.picker_rows(samples, show="decided", decided={"s4", "s1"})["sample_id"].tolist() == ["s1", "s4"]
    with pytest.raises(ValueError):
        relabel.picker_rows(samples, show="nothing")
    assert relabel.class_with_most_errors(samples["label"], samples["pred"]) == 1
    assert relabel.class_with_most_errors(np.array([2, 3]), np.array([2, 3])) == 2  # no error: the first class
    assert relabel.class_with_most_errors(np.array([], dtype=int), np.array([], dtype=int)) is None


def test_relabel_decision_table_newest_first_with_names():
    from indoor.analysis import relabel

    samples = pd.DataFrame({"sample_id": ["s0", "s1"], "split": ["test", "train"], "label": [0, 1], "pred": [1, 1]})
    current = pd.DataFrame({"sample_id": ["s0", "gone", "s1"], "event_id": [1, 3, 2],
                            "action": ["keep", "remove", "relabel"], "new_label": ["", "", "a"],
                            "extra_labels": ["", "", ""], "tags": ["", "", ""], "note": ["", "", ""],
                            "annotator": ["ann", "bob", "ann"],
                            "decided_at": ["2024-05-01T10:11:12+00:00", "2024-05-03T08:00:00+00:00",
                                           "2024-05-02T23:59:59+00:00"]})
    table = relabel.decision_table(current, samples, ["a", "b"])
    assert table["sample_id"].tolist() == ["gone", "s1", "s0"] and table.index.tolist() == [0, 1, 2]
    assert table["given"].tolist() == ["", "b", "a"] and table["predicted"].tolist() == ["", "b", "b"]
    assert table["decided (UTC)"].tolist() == ["2024-05-03 08:00", "2024-05-02 23:59", "2024-05-01 10:11"]
    assert set(relabel.DECISION_COLUMNS) <= set(table.columns)


def test_compare_views_of_a_comparison():
    from indoor.analysis import compare

    a = pd.DataFrame({"sample_id": list("pqrstu"), "split": ["test"] * 4 + ["train"] * 2,
                      "label": [0, 0, 1, 1, 0, 1], "pred": [1, 0, 1, 1, 1, 0]})
    b = a.assign(pred=[0, 1, 1, 0, 0, 0])  # p fixed, q broken, s broken; t fixed (train)
    result = compare.compare_runs(a, ["bar", "deli"], b, ["bar", "deli"], split="test")
    test = compare.changed_images(result.changed, "test")
    assert set(test["sample_id"]) == {"p", "q", "s"}
    assert compare.change_counts(test) == {"fixed": 1, "broken": 2, "changed": 0}
    assert compare.change_counts(compare.changed_images(result.changed)) == {"fixed": 2, "broken": 2, "changed": 0}
    broken = compare.changed_images(result.changed, "test", "broken")
    assert broken["sample_id"].tolist() == ["q", "s"] and broken.index.tolist() == [0, 1]
    deltas, reach = compare.recall_change(result.per_class)
    assert deltas.tolist() == pytest.approx([-50.0, 0.0]) and reach == pytest.approx(50.0)
    assert compare.recall_summary(result.per_class) == "Largest loss: deli (-50.0 pts)."
    same = compare.compare_runs(a, ["bar", "deli"], a, ["bar", "deli"], split="test")
    assert compare.recall_summary(same.per_class) == "No class changed."
    assert compare.recall_change(same.per_class)[1] == 1.0  # at least a point
    better, limit = compare.confusion_improvement(np.array([[0.5, -0.5], [0.25, -0.25]]))
    assert better.tolist() == [[50.0, 50.0], [-25.0, -25.0]] and limit == pytest.approx(50.0)
    assert compare.confusion_improvement(np.zeros((2, 2)))[1] == pytest.approx(5.0)
