"""The Relabel view's tables: which images the picker offers, the class to open on, and every current decision
beside its image's split, given label and prediction. Pure pandas: DataFrames in, DataFrames out."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

SHOWS = ("wrong", "all", "decided")
DECISION_COLUMNS = ["sample_id", "split", "given", "predicted", "action", "new_label", "extra_labels", "tags", "note",
                    "annotator", "decided (UTC)"]


def picker_rows(samples: pd.DataFrame, *, label: int | None = None, show: str = "all",
                decided: Collection[str] = ()) -> pd.DataFrame:
    """The rows of ``samples`` offered in the picker: given label ``label`` (class index; None: any), then by
    ``show``: ``"wrong"`` the misclassified ones, most confident first (ties keep row order); ``"decided"`` those
    whose sample_id is in ``decided``; ``"all"`` every one, in row order."""
    if show not in SHOWS:
        raise ValueError(f"unknown show {show!r} (expected one of {', '.join(SHOWS)})")
    frame = samples
    if label is not None:
        frame = frame[frame["label"] == label]
    if show == "wrong":
        frame = frame[frame["label"] != frame["pred"]].sort_values("confidence", ascending=False, kind="stable")
    elif show == "decided":
        frame = frame[frame["sample_id"].isin(set(decided))]
    return frame


def class_with_most_errors(labels: np.ndarray, preds: np.ndarray) -> int | None:
    """The given class with the most misclassified images (the first such class on a tie, also when there is no
    error at all); None without images."""
    labels = pd.Series(np.asarray(labels))
    if labels.empty:
        return None
    wrong = (labels != np.asarray(preds)).groupby(labels).sum()
    return int(wrong.idxmax())


def decision_table(current: pd.DataFrame, samples: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """The current decisions (a store's ``current()``), newest first, with each image's split, ``given`` and
    ``predicted`` class names (empty for an image the samples lack) and ``decided (UTC)`` as minutes; a fresh
    0..n-1 index. :data:`DECISION_COLUMNS` are the columns worth showing."""
    table = current.merge(samples[["sample_id", "split", "label", "pred"]], on="sample_id", how="left")
    table["given"] = [classes[int(i)] if pd.notna(i) else "" for i in table["label"]]
    table["predicted"] = [classes[int(i)] if pd.notna(i) else "" for i in table["pred"]]
    table = table.sort_values("event_id", ascending=False, kind="stable").reset_index(drop=True)
    table["decided (UTC)"] = pd.to_datetime(table["decided_at"], utc=True, format="ISO8601").dt.strftime(
        "%Y-%m-%d %H:%M")
    return table
