"""indoor.explore: class orders, error tables, typical examples, pagination."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indoor import explore


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
    embeddings = np.array([[2.0, 0.0], [0.0, 3.0], [5.0, 0.0]])
    centroids = explore.class_centroids(embeddings, np.array([0, 0, 1]), 3)
    assert np.allclose(centroids, [[0.5, 0.5], [1.0, 0.0], [0.0, 0.0]])


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
    from indoor.metrics import confusion_matrix

    samples = demo_cache.samples
    n = len(demo_cache.classes)
    matrix = confusion_matrix(samples["label"].to_numpy(), samples["pred"].to_numpy(), n)
    for by in explore.ORDERS:
        assert sorted(explore.class_order(matrix, demo_cache.classes, by=by).tolist()) == list(range(n))
    centroids = explore.class_centroids(np.asarray(demo_cache.embeddings), samples["label"].to_numpy(), n)
    assert sorted(explore.class_order(matrix, demo_cache.classes, by="similarity", centroids=centroids)
                  .tolist()) == list(range(n))
