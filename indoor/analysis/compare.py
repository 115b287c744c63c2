"""Compare two runs (caches) of the same images: accuracy, per-class deltas, confusion delta, changed predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indoor.analysis.metrics import confusion_matrix


@dataclass
class Comparison:
    """Result of :func:`compare_runs`; class names are those of the reference labels."""

    accuracy: pd.DataFrame  # split, n, top1_a, top1_b, delta
    per_class: pd.DataFrame  # class, n, recall_a, recall_b, delta (on the chosen split)
    confusion_delta: np.ndarray  # row-normalised confusion of b minus a, reference labels as rows
    classes: list[str]
    changed: pd.DataFrame  # sample_id, split, label, pred_a, pred_b, change ("fixed" / "broken" / "changed")
    n_common: int
    only_a: int
    only_b: int
    n_other_pixels: int = 0  # shared sample_ids whose decoded pixels differ between the runs (other images!)


def aligned(samples_a: pd.DataFrame, classes_a: Sequence[str], samples_b: pd.DataFrame, classes_b: Sequence[str]) -> pd.DataFrame:
    """Images present in both runs (matched by sample_id) with class NAMES: label_a, pred_a, label_b, pred_b
    (and hash_a, hash_b: the pixel hashes, when both tables have them)."""
    names_a, names_b = np.asarray(classes_a, dtype=object), np.asarray(classes_b, dtype=object)
    text = lambda column: column.reset_index(drop=True)  # noqa: E731 (text columns stay as they are: no copy)
    left = pd.DataFrame({"sample_id": text(samples_a["sample_id"]), "split": text(samples_a["split"]),
                         "label_a": names_a[samples_a["label"].to_numpy()], "pred_a": names_a[samples_a["pred"].to_numpy()]})
    right = pd.DataFrame({"sample_id": text(samples_b["sample_id"]), "split_b": text(samples_b["split"]),
                          "label_b": names_b[samples_b["label"].to_numpy()], "pred_b": names_b[samples_b["pred"].to_numpy()]})
    if "pixel_hash" in samples_a and "pixel_hash" in samples_b:
        left["hash_a"] = text(samples_a["pixel_hash"])
        right["hash_b"] = text(samples_b["pixel_hash"])
    if len(left) == len(right) and left["sample_id"].equals(right["sample_id"]):
        return pd.concat([left, right.drop(columns="sample_id")], axis=1)  # same rows, same order: no hash join
    return left.merge(right, on="sample_id", how="inner")


def compare_runs(
    samples_a: pd.DataFrame,
    classes_a: Sequence[str],
    samples_b: pd.DataFrame,
    classes_b: Sequence[str],
    *,
    reference: str | pd.Series = "b",
    split: str = "test",
) -> Comparison:
    """Compare run A (before) and run B (after) on the images they share.

    Accuracy of both runs is measured against ONE reference labelling: ``"a"`` (A's labels), ``"b"`` (B's labels,
    e.g. after cleaning; default) or a Series of class names indexed by sample_id (e.g. a truth file). A
    prediction counts as correct when it equals the reference label; when B merged classes, A's predictions
    are mapped through B's labels only if the names match, so compare runs with the same classes for per-class
    numbers. Per-class numbers and the confusion delta use ``split`` ("all" for every split).
    ``n_other_pixels`` counts shared sample_ids whose images differ (pixel hashes): runs of different data sets
    whose relative paths happen to coincide; the caller should warn, the numbers compare unrelated images.
    """
    frame = aligned(samples_a, classes_a, samples_b, classes_b)
    n_other_pixels = int((frame["hash_a"] != frame["hash_b"]).sum()) if "hash_a" in frame else 0
    if isinstance(reference, str):
        if reference not in ("a", "b"):
            raise ValueError("reference must be 'a', 'b' or a Series of labels indexed by sample_id")
        frame["label"] = frame[f"label_{reference}"]
    else:
        frame["label"] = frame["sample_id"].map(reference)
        frame = frame.dropna(subset=["label"])
    frame["correct_a"] = frame["pred_a"] == frame["label"]
    frame["correct_b"] = frame["pred_b"] == frame["label"]

    rows = []
    for name in [s for s in ("train", "val", "test") if (frame["split"] == s).any()] + ["all"]:
        part = frame if name == "all" else frame[frame["split"] == name]
        top1_a = float(part["correct_a"].mean()) if len(part) else float("nan")
        top1_b = float(part["correct_b"].mean()) if len(part) else float("nan")
        rows.append({"split": name, "n": len(part), "top1_a": top1_a, "top1_b": top1_b, "delta": top1_b - top1_a})
    accuracy = pd.DataFrame(rows)

    part = frame if split == "all" else frame[frame["split"] == split]
    classes = sorted(set(part["label"]) | set(part["pred_a"]) | set(part["pred_b"]))
    per_class = (
        part.groupby("label").agg(n=("label", "size"), recall_a=("correct_a", "mean"), recall_b=("correct_b", "mean"))
        .reset_index().rename(columns={"label": "class"})
    )
    per_class["delta"] = per_class["recall_b"] - per_class["recall_a"]
    per_class = per_class.sort_values("delta", kind="stable").reset_index(drop=True)

    lookup = {name: i for i, name in enumerate(classes)}
    labels = part["label"].map(lookup).to_numpy(dtype=np.int64)  # int even when no image is shared
    matrix_a = confusion_matrix(labels, part["pred_a"].map(lookup).to_numpy(dtype=np.int64), len(classes)).astype(float)
    matrix_b = confusion_matrix(labels, part["pred_b"].map(lookup).to_numpy(dtype=np.int64), len(classes)).astype(float)
    support = np.maximum(matrix_a.sum(axis=1, keepdims=True), 1)
    delta = matrix_b / support - matrix_a / support

    changed = frame[frame["pred_a"] != frame["pred_b"]].copy()
    changed["change"] = np.select(
        [~changed["correct_a"] & changed["correct_b"], changed["correct_a"] & ~changed["correct_b"]],
        ["fixed", "broken"], default="changed",
    )
    changed = changed[["sample_id", "split", "label", "pred_a", "pred_b", "change"]].reset_index(drop=True)
    return Comparison(
        accuracy=accuracy, per_class=per_class, confusion_delta=delta, classes=classes, changed=changed,
        n_common=len(frame), only_a=int(len(samples_a) - len(frame)), only_b=int(len(samples_b) - len(frame)),
        n_other_pixels=n_other_pixels,
    )


CHANGES = ("fixed", "broken", "changed")


def changed_images(changed: pd.DataFrame, split: str = "all", change: str | None = None) -> pd.DataFrame:
    """The rows of :attr:`Comparison.changed` in ``split`` (``"all"``: every split) and, unless None, of one
    ``change`` (fixed / broken / changed), with a fresh 0..n-1 index when ``change`` is given."""
    frame = changed if split == "all" else changed[changed["split"] == split]
    return frame if change is None else frame[frame["change"] == change].reset_index(drop=True)


def change_counts(changed: pd.DataFrame) -> dict[str, int]:
    """Images per kind of change (every kind of :data:`CHANGES`, 0 when absent)."""
    counts = changed["change"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in CHANGES}


def recall_change(per_class: pd.DataFrame) -> tuple[np.ndarray, float]:
    """(recall change per row of :attr:`Comparison.per_class`, in points; reach: the largest absolute change, at
    least 1 point, so the longest bar of a chart spanning ±reach fills its half)."""
    deltas = per_class["delta"].to_numpy(dtype=float) * 100
    return deltas, max(float(np.abs(deltas).max()) if len(deltas) else 0.0, 1.0)


def recall_summary(per_class: pd.DataFrame) -> str:
    """One sentence on :attr:`Comparison.per_class` (sorted worst first): its largest gain and largest loss, or
    ``No class changed.``"""
    if per_class.empty:
        return "No class changed."
    best, worst = per_class.iloc[-1], per_class.iloc[0]
    extremes = [f"largest gain: {best['class']} ({100 * best['delta']:+.1f} pts)"] if best["delta"] > 1e-12 else []
    extremes += [f"largest loss: {worst['class']} ({100 * worst['delta']:+.1f} pts)"] if worst["delta"] < -1e-12 else []
    summary = "; ".join(extremes)
    return summary[:1].upper() + summary[1:] + "." if extremes else "No class changed."


def confusion_improvement(delta: np.ndarray) -> tuple[np.ndarray, float]:
    """(improvement, limit) of :attr:`Comparison.confusion_delta`, in points: positive where B is better (more
    correct on the diagonal, fewer confusions off it), and the colour limit (the largest absolute value, at least
    5 points)."""
    delta = np.asarray(delta, dtype=float)
    better = -delta.copy()
    np.fill_diagonal(better, np.diag(delta))
    peak = float(np.abs(better).max()) if better.size else 0.0
    return better * 100, max(peak, 0.05) * 100
