"""Accuracy, confusion and per-class metrics: pure functions of labels, predictions and probabilities."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def topk_correct(probs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Boolean per row: is the label among the k most probable classes?"""
    k = min(k, probs.shape[1])
    top = np.argpartition(-np.asarray(probs), kth=k - 1, axis=1)[:, :k]
    return (top == np.asarray(labels)[:, None]).any(axis=1)


def split_metrics(probs: np.ndarray, labels: np.ndarray, splits: Sequence[str], classes: Sequence[str]) -> dict:
    """Per split: n, top1, top5 (fractions) and per-class n / top1 / top5. Also an 'all' entry."""
    probs, labels, splits = np.asarray(probs), np.asarray(labels), np.asarray(splits)
    result: dict[str, dict] = {}
    names = [s for s in ("train", "val", "test") if (splits == s).any()] + ["all"]
    for name in names:
        rows = np.ones(len(labels), bool) if name == "all" else splits == name
        top1 = probs[rows].argmax(axis=1) == labels[rows]
        top5 = topk_correct(probs[rows], labels[rows], 5)
        per_class = {}
        for index, class_name in enumerate(classes):
            mask = labels[rows] == index
            per_class[class_name] = {
                "n": int(mask.sum()),
                "top1": float(top1[mask].mean()) if mask.any() else None,
                "top5": float(top5[mask].mean()) if mask.any() else None,
            }
        result[name] = {
            "n": int(rows.sum()),
            "top1": float(top1.mean()) if rows.any() else None,
            "top5": float(top5.mean()) if rows.any() else None,
            "per_class": per_class,
        }
    return result


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = given label, columns = prediction."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(preds)), 1)
    return matrix


def per_class_report(matrix: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class from a confusion matrix."""
    true_positive = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    support = matrix.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, np.nan)
        recall = np.where(support > 0, true_positive / support, np.nan)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = np.where(np.isnan(precision) | np.isnan(recall), np.nan, f1)
    return pd.DataFrame(
        {"class": list(classes), "precision": precision, "recall": recall, "f1": f1, "support": support.astype(int)}
    )


def most_confused_pairs(matrix: np.ndarray, classes: Sequence[str], *, top: int = 10) -> pd.DataFrame:
    """Off-diagonal cells, largest first: true, pred, count, share of the true class's images."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:top]
    rows = []
    support = matrix.sum(axis=1)
    for flat in order:
        true, pred = divmod(int(flat), matrix.shape[1])
        if off[true, pred] == 0:
            break
        rows.append(
            {
                "true": classes[true],
                "pred": classes[pred],
                "count": int(off[true, pred]),
                "share": float(off[true, pred] / support[true]) if support[true] else 0.0,
            }
        )
    return pd.DataFrame(rows, columns=["true", "pred", "count", "share"])


def class_accuracy(matrix: np.ndarray) -> pd.DataFrame:
    """Accuracy (recall) per class from a confusion matrix, for the classes with images, worst first (ties keep
    class order): columns index (class index), accuracy, support (images), errors (misclassified images)."""
    matrix = np.asarray(matrix)
    support = matrix.sum(axis=1)
    correct = np.diag(matrix)
    present = np.flatnonzero(support > 0)
    accuracy = correct[present] / support[present]
    order = np.argsort(accuracy, kind="stable")
    rows = present[order]
    return pd.DataFrame({"index": rows, "accuracy": accuracy[order], "support": support[rows],
                         "errors": support[rows] - correct[rows]})


def confusion_totals(matrix: np.ndarray) -> tuple[int, int]:
    """(images, misclassified images) of a confusion matrix."""
    n_images = int(np.asarray(matrix).sum())
    return n_images, n_images - int(np.trace(matrix))


def per_class_table(matrix: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """:func:`per_class_report` for the classes with images, worst F1 first, with precision, recall and F1 in
    percent (0–100), ``errors`` (misclassified images) and ``most often predicted as`` (``"name (count)"`` of the
    class it is most confused with; empty without errors)."""
    matrix = np.asarray(matrix)
    report = per_class_report(matrix, classes)
    off = matrix.astype(float).copy()
    np.fill_diagonal(off, 0)
    top_confusion = off.argmax(axis=1)
    report["errors"] = (matrix.sum(axis=1) - np.diag(matrix)).astype(int)
    report["most often predicted as"] = [
        f"{classes[j]} ({int(off[i, j])})" if off[i, j] > 0 else "" for i, j in enumerate(top_confusion)
    ]
    report = report[report["support"] > 0].sort_values("f1", kind="stable")
    report[["precision", "recall", "f1"]] *= 100
    return report
