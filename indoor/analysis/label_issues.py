"""Incorrect labels: which images are most likely labelled wrongly, what their label should be, and how clean each
class is — confident learning (cleanlab) on the cache's out-of-sample probabilities, plus the plain
low-self-confidence ranking it should beat.

Everything here needs OUT-OF-SAMPLE ``probs`` (k-fold out-of-fold for train, a head fit on train for val/test):
probabilities of a model that saw the image's label are over-confident in that label, and every label then looks
right. :func:`label_issue_warnings` says so when the caller knows the probabilities are in-sample.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

MIN_PER_CLASS = 5  # below this many images, a class's per-class threshold (confident joint) is noise
OVERLAP_SHARE = 0.5  # classes this overlapping are one class while flagging label errors

ISSUE_COLUMNS = [
    "row", "label", "suggested", "label_quality", "self_confidence", "is_issue", "overlap_issue", "review_rank",
    "low_confidence_rank",
]
CLASS_QUALITY_COLUMNS = [
    "class", "label_quality", "n", "n_issues", "issue_share", "noise_out", "noise_in",
]


def find_label_issues(
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    filter_by: str = "prune_by_noise_rate",
    quality_method: str = "self_confidence",
    overlap_share: float | None = OVERLAP_SHARE,
) -> pd.DataFrame:
    """One row per image (in input order): is its label a likely error, and how suspicious is it?

    ``labels`` (N,) are integer class indices, ``probs`` (N, C) OUT-OF-SAMPLE class probabilities (rows sum to
    1); every class should have a handful of images (see :func:`label_issue_warnings`).

    Overlapping classes first: two classes the model cannot tell apart (look-alikes such as bookstore and
    videostore) make half of each one's labels look wrong. Following cleanlab's advice to merge such classes
    before hunting label errors, class pairs whose estimated overlap (``find_overlapping_classes``) is at least
    ``overlap_share`` of the smaller class are treated as one class while flagging (None: never). Those pairs
    are returned by :func:`overlapping_class_groups`; an image that would be flagged only because of such a
    pair gets ``overlap_issue`` instead of ``is_issue``.

    Columns :data:`ISSUE_COLUMNS`: ``row`` (input position), ``label``, ``suggested`` (what to relabel to: the
    most probable class outside the label's class group when flagged, else the most probable other class),
    ``label_quality`` (cleanlab's ``get_label_quality_scores``, 0 = surely wrong .. 1 = surely right),
    ``self_confidence`` (probs[label]), ``is_issue`` (``cleanlab.filter.find_label_issues`` with ``filter_by``),
    ``overlap_issue``, ``review_rank`` (0 = look first: flagged images by ascending quality, then the rest by
    ascending quality) and ``low_confidence_rank`` (the baseline: rank by ascending self-confidence alone).
    """
    from cleanlab.filter import find_label_issues as cl_find
    from cleanlab.rank import get_label_quality_scores

    labels, probs = _check(labels, probs)
    n, n_classes = probs.shape
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in ISSUE_COLUMNS}).astype(
            {"label_quality": float, "self_confidence": float, "is_issue": bool, "overlap_issue": bool}
        )
    quality = get_label_quality_scores(labels, probs, method=quality_method)
    group = overlapping_class_groups(labels, probs, share=overlap_share) if overlap_share is not None else np.arange(n_classes)
    is_issue = _flag(labels, probs, filter_by, cl_find)
    overlap_issue = np.zeros(n, dtype=bool)
    if len(np.unique(group)) < n_classes:  # some classes merged: flag again with their probabilities summed
        _, merged_index = np.unique(group, return_inverse=True)
        merged = np.zeros((n, merged_index.max() + 1))
        np.add.at(merged.T, merged_index, probs.T)
        flagged_merged = _flag(merged_index[labels], merged, filter_by, cl_find)
        overlap_issue = is_issue & ~flagged_merged
        is_issue = flagged_merged
    rows = np.arange(n)
    self_conf = probs[rows, labels]
    others = probs.copy()
    others[rows, labels] = -1.0
    outside = others.copy()
    outside[group[None, :] == group[labels][:, None]] = -1.0
    suggested = np.where(is_issue, outside.argmax(axis=1), others.argmax(axis=1))
    # flagged first (by quality), then everything else by quality: the order a reviewer should go through
    review_order = np.lexsort((rows, quality, ~is_issue))
    return pd.DataFrame(
        {
            "row": rows.astype(np.int64),
            "label": labels.astype(np.int64),
            "suggested": suggested.astype(np.int64),
            "label_quality": quality.astype(float),
            "self_confidence": self_conf.astype(float),
            "is_issue": is_issue,
            "overlap_issue": overlap_issue,
            "review_rank": _ranks(review_order),
            "low_confidence_rank": _ranks(low_confidence_ranking(labels, probs)),
        }
    )


def find_label_issues_where(labels: np.ndarray, probs: np.ndarray, *, trusted: np.ndarray | None = None,
                            **options) -> pd.DataFrame:
    """:func:`find_label_issues` when only the ``trusted`` rows (N bools; None: all) have OUT-OF-SAMPLE
    probabilities, e.g. an import whose train probabilities come from the model that was fit on those labels.

    Only trusted rows can be flagged (confident learning runs on them alone, so the untrusted rows' over-confident
    probabilities don't move its per-class thresholds either); every row keeps its label quality and suggestion;
    the review order is flagged rows, then the other trusted rows, then the untrusted ones, each by ascending
    quality. Same columns as :func:`find_label_issues`."""
    table = find_label_issues(labels, probs, **options)
    if trusted is None or np.asarray(trusted, dtype=bool).all() or table.empty:
        return table
    trusted = np.asarray(trusted, dtype=bool)
    table["is_issue"] = False
    table["overlap_issue"] = False
    if trusted.any():
        part = find_label_issues(np.asarray(labels)[trusted], np.asarray(probs)[trusted], **options)
        for column in ("is_issue", "overlap_issue", "suggested"):
            table.loc[trusted, column] = part[column].to_numpy()
    order = np.lexsort((table["row"].to_numpy(), table["label_quality"].to_numpy(), ~trusted,
                        ~table["is_issue"].to_numpy(bool)))
    table["review_rank"] = _ranks(order)
    return table


def in_sample_warnings(splits: np.ndarray, trusted: np.ndarray, *, remedy: str = "") -> list[str]:
    """What to say when some probabilities are in-sample (``trusted`` False: the model saw those labels when it
    was fit, so they look right whatever they are). Empty when every row is trusted."""
    splits, trusted = np.asarray(splits).astype(str), np.asarray(trusted, dtype=bool)
    if trusted.all():
        return []
    if not trusted.any():
        return [("The probabilities are not out-of-sample (the model saw these labels when it was fit): label "
                 "issues will be missed, and multi-class candidates, merges and shortcuts lean on what the model "
                 f"memorised. {remedy}").strip()]
    untrusted = [s for s in ("train", "val", "test") if (splits[~trusted] == s).any()]
    used = [s for s in ("train", "val", "test") if (splits[trusted] == s).any()]
    names = " and ".join(untrusted)
    return [(f"The {names} split's probabilities are in-sample (the model was fit on these labels), so they hide "
             f"label errors: label issues, multi-class candidates, merges and shortcuts use the "
             f"{int(trusted.sum()):,} out-of-sample {' and '.join(used)} images only; {names} images are ranked by "
             f"label quality but never flagged. {remedy}").strip()]


def overlapping_class_groups(labels: np.ndarray, probs: np.ndarray, *, share: float = 0.5) -> np.ndarray:
    """(C,) group id per class: classes joined (transitively) when cleanlab's ``find_overlapping_classes``
    estimates that at least ``share`` of the smaller class's images belong to the other — classes that overlap
    rather than hold a few wrong labels. A class alone keeps its own index as id. ``probs`` out-of-sample."""
    from cleanlab.dataset import find_overlapping_classes

    labels, probs = _check(labels, probs)
    n_classes = probs.shape[1]
    parent = list(range(n_classes))
    if len(np.unique(labels)) < 2:
        return np.arange(n_classes)

    def root(c: int) -> int:
        while parent[c] != c:
            c = parent[c]
        return c

    counts = np.bincount(labels, minlength=n_classes)
    found = find_overlapping_classes(labels, probs)
    for a, b, n_overlap in found[["Class Index A", "Class Index B", "Num Overlapping Examples"]].itertuples(index=False):
        smaller = min(counts[a], counts[b])
        if smaller > 0 and n_overlap >= share * smaller:
            parent[root(int(a))] = root(int(b))
    return np.array([root(c) for c in range(n_classes)], dtype=np.int64)


def _flag(labels: np.ndarray, probs: np.ndarray, filter_by: str, cl_find) -> np.ndarray:
    if len(np.unique(labels)) < 2 or probs.shape[1] < 2:
        return np.zeros(len(labels), dtype=bool)  # confident learning needs at least two classes
    return np.asarray(cl_find(labels, probs, filter_by=filter_by, n_jobs=1), dtype=bool)


def low_confidence_ranking(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The baseline: row indices by ascending self-confidence probs[label] (ties by row). Take its first k rows
    to compare with a flagged set of size k. ``probs`` should be out-of-sample, as for every ranking here."""
    labels, probs = _check(labels, probs)
    self_conf = probs[np.arange(len(labels)), labels]
    return np.lexsort((np.arange(len(labels)), self_conf))


def class_label_quality(
    labels: np.ndarray, probs: np.ndarray, classes: Sequence[str], *, is_issue: np.ndarray | None = None
) -> pd.DataFrame:
    """Per class, worst first: cleanlab's ``rank_classes_by_label_quality`` (``label_quality`` = estimated share of
    the class's labels that are right; ``noise_out`` = share of images labelled with the class whose true class
    is another; ``noise_in`` = share of images truly of the class labelled as another), ``n`` images labelled
    with the class and, when ``is_issue`` (from :func:`find_label_issues`) is given, ``n_issues`` flagged and their
    ``issue_share``. ``probs`` must be out-of-sample; classes without images get NaN quality."""
    from cleanlab.dataset import rank_classes_by_label_quality

    labels, probs = _check(labels, probs)
    n_classes = probs.shape[1]
    if len(classes) != n_classes:
        raise ValueError(f"{len(classes)} class names for {n_classes} probability columns")
    counts = np.bincount(labels, minlength=n_classes)
    issues = np.zeros(n_classes, dtype=np.int64)
    if is_issue is not None:
        issues = np.bincount(labels[np.asarray(is_issue, dtype=bool)], minlength=n_classes)
    quality = np.full(n_classes, np.nan)
    noise_out = np.full(n_classes, np.nan)
    noise_in = np.full(n_classes, np.nan)
    if len(np.unique(labels)) >= 2:
        ranked = rank_classes_by_label_quality(labels, probs)
        index = ranked["Class Index"].to_numpy()
        quality[index] = ranked["Label Quality Score"].to_numpy()
        noise_out[index] = ranked["Label Noise"].to_numpy()
        noise_in[index] = ranked["Inverse Label Noise"].to_numpy()
        quality[counts == 0] = np.nan
    frame = pd.DataFrame(
        {
            "class": list(classes),
            "label_quality": quality,
            "n": counts.astype(np.int64),
            "n_issues": issues.astype(np.int64),
            "issue_share": np.divide(issues, counts, out=np.zeros(n_classes), where=counts > 0),
            "noise_out": noise_out,
            "noise_in": noise_in,
        }
    )
    return frame.sort_values(["label_quality", "class"], na_position="last", kind="stable").reset_index(drop=True)


def label_issue_warnings(
    labels: np.ndarray,
    classes: Sequence[str],
    *,
    probs_out_of_sample: bool = True,
    folds: int | None = None,
    min_per_class: int = MIN_PER_CLASS,
) -> list[str]:
    """Reasons not to trust the label-issue results: in-sample probabilities, or classes too small for
    confident learning (fewer than ``min_per_class`` images, or fewer than the cross-validation ``folds`` — then
    some fold held none of the class out). Empty list = no warning."""
    labels = np.asarray(labels, dtype=np.int64)
    warnings: list[str] = []
    if not probs_out_of_sample:
        warnings.append(
            "The probabilities are not out-of-sample (the model saw these labels when it was fit): "
            "label issues will be missed. Rebuild the cache with cross-validation (--folds)."
        )
    counts = np.bincount(labels, minlength=len(classes)) if len(labels) else np.zeros(len(classes), dtype=int)
    need = max(int(min_per_class), int(folds or 0))
    small = [f"{classes[i]} ({int(c)})" for i, c in enumerate(counts) if c < need]
    if small:
        shown = ", ".join(small[:10]) + (f" and {len(small) - 10} more" if len(small) > 10 else "")
        warnings.append(
            f"{len(small)} class(es) have fewer than {need} images, too few for confident learning's per-class "
            f"thresholds; their label issues are unreliable: {shown}."
        )
    return warnings


def _check(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"probs must be 2-D (N, C), got shape {probs.shape}")
    if labels.ndim != 1 or len(labels) != len(probs):
        raise ValueError(f"labels must be 1-D with one entry per probs row ({len(probs)}), got shape {labels.shape}")
    if len(labels) and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError(f"labels must be in 0..{probs.shape[1] - 1}")
    return labels, probs


def _ranks(order: np.ndarray) -> np.ndarray:
    """Inverse permutation: ranks[order[k]] = k."""
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order), dtype=np.int64)
    return ranks


def review_queue(issues: pd.DataFrame, *, keep: np.ndarray | None = None, flagged_only: bool = True) -> pd.DataFrame:
    """The rows of a label-issue table (:func:`find_label_issues` plus ``sample_id``/``split``, as stored) in review
    order: only the flagged ones when ``flagged_only``, only images selected by ``keep`` (a boolean mask over the
    samples, indexed by ``row``) when given."""
    queue = issues[issues["is_issue"]] if flagged_only else issues
    if keep is not None:
        queue = queue[np.asarray(keep, dtype=bool)[queue["row"].to_numpy()]]
    return queue.sort_values("review_rank", kind="stable")


def queue_table(queue: pd.DataFrame, classes: Sequence[str], decided: set[str] | frozenset[str] = frozenset()
                ) -> pd.DataFrame:
    """A review queue (:func:`review_queue`) as a table to read: position, sample_id, split, given and suggested
    class names, the suspect's kind (when the table has one: :mod:`.label_evidence`), label quality, p(given),
    flagged, and whether the image already has a decision (in ``decided``)."""
    return pd.DataFrame({
        "#": np.arange(1, len(queue) + 1),
        "sample_id": queue["sample_id"].to_numpy(),
        "split": queue["split"].to_numpy(),
        "given": [classes[i] for i in queue["label"]],
        "suggested": [classes[i] for i in queue["suggested"]],
        **({"kind": queue["kind"].to_numpy()} if "kind" in queue else {}),  # label_evidence.label_issue_table
        "label quality": queue["label_quality"].to_numpy(),
        "p(given)": queue["self_confidence"].to_numpy(),
        "flagged": queue["is_issue"].to_numpy(),
        "decided": [sid in decided for sid in queue["sample_id"]],
    })
