"""Review queues: which images to judge, in what order, how far along a reviewer is.

A review queue is an array of row numbers of the cache's samples frame, most suspicious first. It comes from a
*source*: a confusion pair (given label, prediction), one class, the label-issue list, a hand-made selection (e.g.
a lasso on the embedding map) or the images several annotators disagree on. A :class:`QueueSource` round-trips
through a query string, so a link reproduces a queue. (Class definition cards live in
:mod:`indoor.decisions.cards`.)

Everything here is pure: DataFrames / arrays in, arrays / values out; nothing reads files or Streamlit state.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "SOURCES",
    "QueueError",
    "QueueSource",
    "source_query",
    "pair_rows",
    "class_rows",
    "issue_rows",
    "selected_rows",
    "sample_rows",
    "build_queue",
    "Progress",
    "progress",
    "position_of",
    "next_undecided",
    "step",
]

SOURCES: dict[str, str] = {
    "pair": "Confusion pair",
    "class": "One class",
    "issues": "Label issues",
    "selection": "Selection",
    "disagreements": "Disagreements",
}
SPLITS = ("all", "train", "val", "test")


class QueueError(ValueError):
    """A queue cannot be built from this source (missing input, unknown class); the message says why."""


# ================================================================================================ sources


@dataclass(frozen=True)
class QueueSource:
    """Where a review queue comes from.

    ``kind`` is one of :data:`SOURCES`. ``true`` / ``pred``: the pair's class names (``pair``); ``class_name``:
    the class (``class``; for ``issues`` None means every class); ``split``: "all" or a split name;
    ``errors_only``: ``class`` shows only misclassified images; ``flagged_only``: ``issues`` shows only flagged
    images (else every image in review order).
    """

    kind: str = "pair"
    true: str | None = None
    pred: str | None = None
    class_name: str | None = None
    split: str = "all"
    errors_only: bool = False
    flagged_only: bool = True

    def describe(self) -> str:
        """Short human-readable form, e.g. ``bar → deli · test``."""
        where = "" if self.split == "all" else f" · {self.split}"
        if self.kind == "pair":
            return f"{self.true} → {self.pred}{where}"
        if self.kind == "class":
            return f"{self.class_name}{' (errors only)' if self.errors_only else ''}{where}"
        if self.kind == "issues":
            scope = self.class_name or "every class"
            return f"label issues · {scope}{'' if self.flagged_only else ' (all, in review order)'}{where}"
        return f"{SOURCES.get(self.kind, self.kind).lower()}{where}"


def source_query(source: QueueSource) -> dict[str, str]:
    """Query parameters of the Review page that open the queue of ``source`` (only those the kind uses), e.g.
    ``{"source": "pair", "true": "bar", "pred": "deli", "split": "test"}`` for ``/Review?source=pair&true=bar...``."""
    query = {"source": source.kind}
    if source.kind == "pair":
        query.update({"true": source.true or "", "pred": source.pred or ""})
    elif source.kind in ("class", "issues") and source.class_name:
        query["class"] = source.class_name
    if source.kind == "class" and source.errors_only:
        query["errors"] = "true"
    if source.kind == "issues" and not source.flagged_only:
        query["flagged"] = "false"
    if source.split != "all":
        query["split"] = source.split
    return {k: v for k, v in query.items() if v != ""}


# ================================================================================================ queues


def _split_mask(samples: pd.DataFrame, split: str) -> np.ndarray:
    if split not in SPLITS:
        raise QueueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    splits = samples["split"].to_numpy()
    return np.ones(len(samples), dtype=bool) if split == "all" else splits == split


def _most_suspicious_first(rows: np.ndarray, self_confidence: np.ndarray) -> np.ndarray:
    """``rows`` by ascending probability of the given label (the label the model believes least first)."""
    rows = np.asarray(rows, dtype=np.int64)
    return rows[np.argsort(np.asarray(self_confidence)[rows], kind="stable")]


def pair_rows(samples: pd.DataFrame, true: int, pred: int, *, split: str = "all") -> np.ndarray:
    """Rows with given label ``true`` and prediction ``pred`` (class indices) in ``split``, most suspicious first
    (lowest out-of-sample probability of the given label). ``samples`` needs label, pred, split, self_confidence."""
    mask = _split_mask(samples, split)
    mask &= (samples["label"].to_numpy() == true) & (samples["pred"].to_numpy() == pred)
    return _most_suspicious_first(np.flatnonzero(mask), samples["self_confidence"].to_numpy())


def class_rows(samples: pd.DataFrame, class_index: int, *, split: str = "all", errors_only: bool = False) -> np.ndarray:
    """Rows labelled ``class_index`` in ``split`` (only misclassified ones with ``errors_only``), most suspicious
    first."""
    labels = samples["label"].to_numpy()
    mask = _split_mask(samples, split) & (labels == class_index)
    if errors_only:
        mask &= labels != samples["pred"].to_numpy()
    return _most_suspicious_first(np.flatnonzero(mask), samples["self_confidence"].to_numpy())


def issue_rows(
    issues: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    class_index: int | None = None,
    split: str = "all",
    flagged_only: bool = True,
    flag_column: str = "is_issue",
) -> np.ndarray:
    """Rows of the label-issue table (``indoor.analysis`` ``label_issues``: columns row, is_issue, review_rank) in
    review order (most suspicious first: ``review_rank`` ranks flagged images first, then by the label quality
    of the probe and nearest-neighbour judges combined), restricted to a given label (None: any) and a split;
    with ``flagged_only`` the rows whose ``flag_column`` is true ("is_suspect": the suspects a model too weak to
    flag still ranks)."""
    missing = [c for c in ("row", flag_column, "review_rank") if c not in issues.columns]
    if missing:
        raise QueueError(f"the label-issue table lacks column(s) {', '.join(missing)}: rebuild the cache")
    table = issues.sort_values("review_rank", kind="stable")
    if flagged_only:
        table = table[table[flag_column].to_numpy(dtype=bool)]
    rows = table["row"].to_numpy(dtype=np.int64)
    rows = rows[(rows >= 0) & (rows < len(samples))]
    keep = _split_mask(samples, split)[rows]
    if class_index is not None:
        keep &= samples["label"].to_numpy()[rows] == class_index
    return rows[keep]


def selected_rows(
    rows: Iterable[int],
    n_samples: int,
    *,
    self_confidence: np.ndarray | None = None,
    split_mask: np.ndarray | None = None,
) -> np.ndarray:
    """A hand-made selection as a queue: valid row numbers (0 <= row < n_samples) once each, most suspicious first
    when ``self_confidence`` is given (else in the given order), restricted to ``split_mask`` when given.

    Raises :class:`QueueError` for anything that is not a row number (the selection comes from outside).
    """
    out: list[int] = []
    seen: set[int] = set()
    for value in rows:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise QueueError(f"a selection holds row numbers; got {value!r}")
        row = int(value)
        if 0 <= row < n_samples and row not in seen:
            seen.add(row)
            out.append(row)
    array = np.asarray(out, dtype=np.int64)
    if split_mask is not None:
        array = array[np.asarray(split_mask, dtype=bool)[array]]
    return array if self_confidence is None else _most_suspicious_first(array, self_confidence)


def sample_rows(sample_ids: Iterable[str], row_of: Mapping[str, int]) -> np.ndarray:
    """Rows of the given sample ids (unknown ids dropped, duplicates once), in the given order."""
    seen: set[int] = set()
    out = []
    for sample_id in sample_ids:
        row = row_of.get(str(sample_id))
        if row is not None and row not in seen:
            seen.add(row)
            out.append(int(row))
    return np.asarray(out, dtype=np.int64)


def build_queue(
    source: QueueSource,
    samples: pd.DataFrame,
    classes: Sequence[str],
    *,
    issues: pd.DataFrame | None = None,
    selection: Sequence[int] | None = None,
    disagreements: Sequence[str] | None = None,
    row_of: Mapping[str, int] | None = None,
    flag_column: str = "is_issue",
) -> np.ndarray:
    """The queue (row numbers, most suspicious first) of ``source``.

    The inputs a kind needs: ``issues`` (the label-issue table) for ``issues``; ``selection`` (row numbers) for
    ``selection``; ``disagreements`` (sample ids) and ``row_of`` (sample_id -> row) for ``disagreements``;
    ``flag_column`` the label-issue column ``flagged_only`` keeps (see :func:`issue_rows`). Raises
    :class:`QueueError` naming what is missing or unknown.
    """
    index = {name: i for i, name in enumerate(classes)}

    def class_index(name: str | None, what: str) -> int:
        if not name:
            raise QueueError(f"choose the {what}")
        if name not in index:
            raise QueueError(f"unknown class {name!r} ({what})")
        return index[name]

    self_conf = samples["self_confidence"].to_numpy()
    if source.kind == "pair":
        return pair_rows(samples, class_index(source.true, "given label"), class_index(source.pred, "prediction"),
                         split=source.split)
    if source.kind == "class":
        return class_rows(samples, class_index(source.class_name, "class"), split=source.split,
                          errors_only=source.errors_only)
    if source.kind == "issues":
        if issues is None:
            raise QueueError("this cache has no label-issue table")
        chosen = None if not source.class_name else class_index(source.class_name, "class")
        return issue_rows(issues, samples, class_index=chosen, split=source.split, flagged_only=source.flagged_only,
                          flag_column=flag_column)
    if source.kind == "selection":
        if not selection:
            raise QueueError("no selection: select images on the Embedding map (lasso or box) and send them here")
        return selected_rows(selection, len(samples), self_confidence=self_conf,
                             split_mask=_split_mask(samples, source.split))
    if source.kind == "disagreements":
        if row_of is None:
            raise QueueError("row_of is needed for the disagreements queue")
        rows = sample_rows(disagreements or (), row_of)
        rows = rows[_split_mask(samples, source.split)[rows]]
        return _most_suspicious_first(rows, self_conf)
    raise QueueError(f"unknown queue source {source.kind!r} (expected one of {', '.join(SOURCES)})")


# ================================================================================================ progress, moving


@dataclass(frozen=True)
class Progress:
    """How far a reviewer is through a queue: ``reviewed`` of ``total`` images have a current decision."""

    reviewed: int
    total: int

    @property
    def fraction(self) -> float:
        return self.reviewed / self.total if self.total else 1.0

    @property
    def remaining(self) -> int:
        return self.total - self.reviewed

    @property
    def text(self) -> str:
        return f"{self.reviewed:,} of {self.total:,} reviewed"


def progress(queue_ids: Sequence[str], decided: Collection[str]) -> Progress:
    """Progress through ``queue_ids`` given the ids that have a current decision (by the reviewer in question)."""
    decided = decided if isinstance(decided, (set, frozenset)) else set(decided)
    return Progress(sum(1 for sid in queue_ids if sid in decided), len(queue_ids))


def position_of(queue_ids: Sequence[str], sample_id: str | None) -> int | None:
    """Index of ``sample_id`` in the queue, or None."""
    if sample_id is None:
        return None
    for i, sid in enumerate(queue_ids):
        if sid == sample_id:
            return i
    return None


def next_undecided(queue_ids: Sequence[str], decided: Collection[str], *, after: int = -1) -> int | None:
    """Index of the first undecided image after position ``after``, wrapping around to the start (never
    ``after`` itself); None when every other image is decided. ``after=-1``: the first undecided image."""
    n = len(queue_ids)
    decided = decided if isinstance(decided, (set, frozenset)) else set(decided)
    for offset in range(1, n + 1):
        i = (after + offset) % n
        if i == after:
            break
        if queue_ids[i] not in decided:
            return i
    return None


def step(position: int, n: int, delta: int) -> int:
    """``position + delta`` clamped to 0 .. n-1 (0 for an empty queue)."""
    return 0 if n <= 0 else min(max(position + delta, 0), n - 1)

