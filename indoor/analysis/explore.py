"""Exploring predictions: class orders, error tables, typical examples, pagination.

Pure helpers behind the dashboard's confusion explorer and galleries: arrays and DataFrames in, arrays and
DataFrames out. Every probability-based ranking here assumes out-of-sample probabilities (the cache's are).
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import pandas as pd

SPLIT_ALL = "all"
ORDERS = ("name", "accuracy", "similarity")
ERROR_SORTS = ("confidence", "loss", "margin")

__all__ = [
    "ORDERS",
    "ERROR_SORTS",
    "SPLIT_ALL",
    "split_mask",
    "normalise_rows",
    "colour_limit",
    "class_order",
    "name_order",
    "accuracy_order",
    "confusion_similarity_order",
    "centroid_similarity_order",
    "error_table",
    "typical_examples",
    "typical_by_centroid",
    "page_count",
    "page_slice",
    "page_window",
    "top_k",
    "confusion_view",
    "sample_mask",
    "rows_where",
    "confident_errors",
    "class_shares",
]


def split_mask(splits: Sequence[str] | np.ndarray, split: str) -> np.ndarray:
    """Boolean mask of rows in ``split``; ``"all"`` selects every row."""
    splits = np.asarray(splits)
    if split == SPLIT_ALL:
        return np.ones(len(splits), dtype=bool)
    return splits == split


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows summing to 0 stay 0). Rows = given label for a confusion matrix."""
    matrix = np.asarray(matrix, dtype=float)
    sums = matrix.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums > 0, matrix / np.where(sums > 0, sums, 1), 0.0)


# ----------------------------------------------------------------------------------------------- class orders


def colour_limit(shown: np.ndarray, scale: Literal["errors", "all"] = "errors") -> float:
    """Top of the colour scale for a confusion matrix as shown (counts or row rates, square).

    ``"errors"``: the largest off-diagonal value, so small confusions stand out (the diagonal saturates);
    ``"all"``: the largest value of any cell. Never 0 (a matrix without errors still gets a usable scale).
    """
    shown = np.asarray(shown, dtype=np.float64)
    if scale not in ("errors", "all"):
        raise ValueError(f"unknown colour scale {scale!r} (expected errors or all)")
    if scale == "errors" and shown.shape[0] > 1:
        off_diagonal = shown[~np.eye(shown.shape[0], dtype=bool)]
        peak = float(np.nanmax(off_diagonal)) if off_diagonal.size else 0.0
        if np.isfinite(peak) and peak > 0:
            return peak
    peak = float(np.nanmax(shown)) if shown.size else 0.0
    return peak if np.isfinite(peak) and peak > 0 else 1e-9


def class_order(
    matrix: np.ndarray,
    classes: Sequence[str],
    *,
    by: Literal["name", "accuracy", "similarity"] = "name",
    centroids: np.ndarray | None = None,
) -> np.ndarray:
    """Class indices in display order for a confusion matrix (rows = given label, cols = prediction).

    ``by="similarity"`` clusters classes so that confusable ones sit together: from the confusion matrix, or,
    when ``centroids`` (C, D) is given, from class-centroid embeddings.
    """
    if by == "name":
        return name_order(classes)
    if by == "accuracy":
        return accuracy_order(matrix)
    if by == "similarity":
        if centroids is not None:
            return centroid_similarity_order(centroids)
        return confusion_similarity_order(matrix)
    raise ValueError(f"unknown class order {by!r} (expected one of {', '.join(ORDERS)})")


def name_order(classes: Sequence[str]) -> np.ndarray:
    """Indices sorting the class names alphabetically (case-insensitive)."""
    return np.array(sorted(range(len(classes)), key=lambda i: (str(classes[i]).lower(), i)), dtype=int)


def accuracy_order(matrix: np.ndarray) -> np.ndarray:
    """Indices from the least to the most accurate class (recall = diagonal / row sum); empty rows last."""
    matrix = np.asarray(matrix, dtype=float)
    support = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(support > 0, np.diag(matrix) / np.where(support > 0, support, 1), np.inf)
    return np.argsort(accuracy, kind="stable")


def confusion_similarity_order(matrix: np.ndarray) -> np.ndarray:
    """Leaf order of an average-linkage clustering of classes by how often they are confused with each other.

    Uses the symmetrised row-normalised matrix: classes i and j are close when a large share of i's images is
    predicted j or of j's images i. Optimal leaf ordering keeps neighbours in the order similar.
    """
    rates = normalise_rows(matrix)
    n = rates.shape[0]
    if n < 3:
        return np.arange(n)
    mutual = (rates + rates.T) / 2
    np.fill_diagonal(mutual, 0.0)
    # The profile of each class (whom it is confused with, in both directions) as a tie-breaker, so classes with
    # no direct confusion but shared neighbours still end up near each other.
    profile = np.hstack([rates - np.diag(np.diag(rates)), (rates - np.diag(np.diag(rates))).T])
    profile_distance = _cosine_distance(profile)
    peak = mutual.max()
    direct = 1.0 - (mutual / peak if peak > 0 else mutual)
    distance = 0.8 * direct + 0.2 * profile_distance
    return _leaf_order(distance)


def centroid_similarity_order(centroids: np.ndarray) -> np.ndarray:
    """Leaf order of an average-linkage clustering of class centroids (cosine distance)."""
    centroids = np.asarray(centroids, dtype=float)
    if centroids.shape[0] < 3:
        return np.arange(centroids.shape[0])
    return _leaf_order(_cosine_distance(centroids))


def _cosine_distance(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    distance = 1.0 - unit @ unit.T
    zero = norms[:, 0] == 0
    distance[zero, :] = 1.0
    distance[:, zero] = 1.0
    np.fill_diagonal(distance, 0.0)
    return np.clip(distance, 0.0, 2.0)


def _leaf_order(distance: np.ndarray) -> np.ndarray:
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0.0)
    condensed = squareform(distance, checks=False)
    tree = linkage(condensed, method="average")
    tree = optimal_leaf_ordering(tree, condensed)
    return np.asarray(leaves_list(tree), dtype=int)


# ------------------------------------------------------------------------------------------------ error table


def error_table(
    samples: pd.DataFrame,
    *,
    true: int | None = None,
    pred: int | None = None,
    split: str = SPLIT_ALL,
    include_correct: bool = False,
    sort: Literal["confidence", "loss", "margin"] = "confidence",
) -> pd.DataFrame:
    """Rows of ``samples`` with given label ``true`` and prediction ``pred`` (None: any) in ``split``.

    Misclassified rows only unless ``include_correct``. Sorted by ``sort``, most striking first: the
    prediction's confidence (highest first: confidently wrong), the loss of the given label (highest first) or
    the top-1/top-2 margin (highest first). The index keeps the row numbers of ``samples``; ties keep row order.
    ``samples`` needs columns label, pred, split and the sort column.
    """
    if sort not in ERROR_SORTS:
        raise ValueError(f"unknown sort {sort!r} (expected one of {', '.join(ERROR_SORTS)})")
    labels = samples["label"].to_numpy()
    preds = samples["pred"].to_numpy()
    mask = split_mask(samples["split"].to_numpy(), split)
    if true is not None:
        mask &= labels == true
    if pred is not None:
        mask &= preds == pred
    if not include_correct:
        mask &= labels != preds
    rows = np.flatnonzero(mask)
    values = samples[sort].to_numpy()[rows]
    order = np.argsort(-values, kind="stable")
    return samples.iloc[rows[order]]


# ------------------------------------------------------------------------------------------ typical examples


def typical_examples(
    labels: np.ndarray,
    preds: np.ndarray,
    self_confidence: np.ndarray,
    class_index: int,
    *,
    k: int = 6,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Row indices of up to ``k`` correctly classified images of ``class_index``, most confident first.

    ``self_confidence`` is the out-of-sample probability of the given label. ``candidates`` (boolean mask)
    restricts the rows considered (e.g. one split).
    """
    labels, preds = np.asarray(labels), np.asarray(preds)
    mask = (labels == class_index) & (preds == class_index)
    if candidates is not None:
        mask &= np.asarray(candidates, dtype=bool)
    rows = np.flatnonzero(mask)
    scores = np.asarray(self_confidence)[rows]
    return rows[np.argsort(-scores, kind="stable")[:k]]


def typical_by_centroid(
    embeddings: np.ndarray,
    labels: np.ndarray,
    preds: np.ndarray,
    class_index: int,
    *,
    k: int = 6,
) -> np.ndarray:
    """Row indices of up to ``k`` correctly classified images of ``class_index`` closest (cosine) to the centroid
    of all its images."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    members = np.flatnonzero(labels == class_index)
    if members.size == 0:
        return members
    vectors = np.asarray(embeddings[members], dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    centre = unit.mean(axis=0)
    scores = unit @ centre
    correct = preds[members] == class_index
    members, scores = members[correct], scores[correct]
    return members[np.argsort(-scores, kind="stable")[:k]]


def top_k(probs: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(indices, probabilities) of the ``k`` most probable classes per row, most probable first."""
    probs = np.atleast_2d(np.asarray(probs))
    k = min(k, probs.shape[1])
    index = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return index, np.take_along_axis(probs, index, axis=1)


# ------------------------------------------------------------------------------------------------- pagination


def page_count(n_items: int, page_size: int) -> int:
    """Number of pages for ``n_items`` (at least 1, so an empty list still has a page)."""
    if page_size < 1:
        raise ValueError(f"page_size must be positive, got {page_size}")
    return max(1, -(-int(n_items) // page_size))


def page_slice(n_items: int, page: int, page_size: int) -> slice:
    """The slice of page ``page`` (1-based; clamped into 1..page_count)."""
    pages = page_count(n_items, page_size)
    page = min(max(int(page), 1), pages)
    start = (page - 1) * page_size
    return slice(start, min(start + page_size, int(n_items)))


def page_window(n_items: int, page: int | None, page_size: int) -> tuple[int, int, slice]:
    """(page, pages, slice): page ``page`` (1-based; None or 0 mean the first; clamped into 1..pages), the number
    of pages and that page's slice."""
    pages = page_count(n_items, page_size)
    page = min(max(int(page or 1), 1), pages)
    return page, pages, page_slice(n_items, page, page_size)


# ------------------------------------------------------------------------------------------------- selections


def confusion_view(matrix: np.ndarray, order: Sequence[int], *, values: Literal["counts", "rows"] = "counts"
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A confusion matrix in display order (rows and columns both in ``order``): (shown, counts, row rates).
    ``shown`` is the row rates when ``values == "rows"``, else the counts as floats."""
    matrix = np.asarray(matrix)
    index = np.ix_(np.asarray(order, dtype=int), np.asarray(order, dtype=int))
    rates = normalise_rows(matrix)
    shown = (rates if values == "rows" else matrix.astype(float))[index]
    return shown, matrix[index], rates[index]


def sample_mask(samples: pd.DataFrame, *, split: str = SPLIT_ALL, labels: Sequence[int] | None = None,
                errors_only: bool = False) -> np.ndarray:
    """Boolean mask of the rows of ``samples`` in ``split`` (``"all"``: every split) whose given label is one of
    ``labels`` (class indices; None: any) and, with ``errors_only``, whose prediction is another class."""
    label = samples["label"].to_numpy()
    mask = split_mask(samples["split"].to_numpy(), split)
    if labels is not None:
        mask &= np.isin(label, np.asarray(list(labels), dtype=label.dtype))
    if errors_only:
        mask &= label != samples["pred"].to_numpy()
    return mask


def rows_where(frame: pd.DataFrame, mask: np.ndarray, column: str = "row") -> pd.DataFrame:
    """The rows of ``frame`` (a table whose ``column`` holds sample rows) whose sample is selected by ``mask``."""
    return frame[np.asarray(mask, dtype=bool)[frame[column].to_numpy()]]


def confident_errors(labels: np.ndarray, preds: np.ndarray, confidence: np.ndarray, *, limit: int | None = None
                     ) -> np.ndarray:
    """Rows of the misclassified images, the most confident prediction first (ties keep row order); at most
    ``limit``."""
    wrong = np.flatnonzero(np.asarray(labels) != np.asarray(preds))
    wrong = wrong[np.argsort(-np.asarray(confidence)[wrong], kind="stable")]
    return wrong if limit is None else wrong[:limit]


def class_shares(indices: Sequence[int], classes: Sequence[str], *, top: int = 3) -> list[tuple[str, float]]:
    """The ``top`` most frequent classes among ``indices`` (class indices) with their share, most frequent first."""
    names = pd.Series([classes[int(i)] for i in indices], dtype=object)
    return [(str(name), float(share)) for name, share in names.value_counts(normalize=True).head(top).items()]
