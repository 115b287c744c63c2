"""Classes to merge: pairs of classes the model (and maybe the annotators) cannot tell apart.

Three pieces of evidence per unordered class pair, each ranked, and their mean rank:

- ``overlap``: cleanlab's ``find_overlapping_classes`` joint probability — the estimated share of the data set
  whose given label is one class of the pair while the true label is the other (confident learning, so it needs
  OUT-OF-SAMPLE probabilities);
- ``confusion``: two-way confusion, (A predicted as B + B predicted as A) / (images of A + images of B);
- ``centroid_distance``: cosine distance between the two classes' mean (normalised) embeddings — small when the
  backbone sees the two classes as one.

``top1`` / ``top1_merged``: top-1 accuracy (on the evaluation rows, by default all) now and if the two classes
were one, recomputed with the two classes' probabilities summed.

Why a pair ranks high decides the advice (:func:`pair_verdicts`): *indistinguishable* pairs are confused both
ways, the model separates them barely better than a coin even when it must choose between the two, and their
embeddings intermingle (bookstore / videostore drawn alike) — merge them, or define the difference and relabel;
*often confused* pairs are separable for most images, and the confusion is one-way or limited to a minority of
images (bedroom -> living room) — look at those images instead of merging.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from indoor.analysis.vectors import class_centroids

MERGE_COLUMNS = [
    "rank", "class_a", "class_b", "index_a", "index_b", "n_a", "n_b", "a_as_b", "b_as_a", "confusion",
    "overlap", "n_overlap", "centroid_distance", "rank_overlap", "rank_confusion", "rank_centroid", "score",
    "top1", "top1_merged", "gain", "symmetry", "separability", "mixing", "verdict", "why",
]
VERDICTS = {
    "indistinguishable": "Indistinguishable",
    "often confused": "Often confused",
    "distinct": "Rarely confused",
}


def merged_accuracy(probs: np.ndarray, labels: np.ndarray, a: int, b: int) -> float:
    """Top-1 accuracy if classes ``a`` and ``b`` were one class: their probabilities summed, a label or
    prediction of either counts as the merged class. NaN for no rows."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    merged = probs.copy()
    merged[:, a] += merged[:, b]
    merged[:, b] = -1.0
    pred = merged.argmax(axis=1)
    truth = np.where(labels == b, a, labels)
    return float((pred == truth).mean())


def merge_candidates(
    labels: np.ndarray,
    probs: np.ndarray,
    embeddings: np.ndarray,
    classes: Sequence[str],
    *,
    eval_rows: np.ndarray | None = None,
    verdict_top: int = 30,
) -> pd.DataFrame:
    """Every unordered class pair, most mergeable first (``rank`` 1 = first), columns :data:`MERGE_COLUMNS`.

    ``labels`` (N,) integer class indices, ``probs`` (N, C) OUT-OF-SAMPLE probabilities, ``embeddings`` (N, D).
    ``score`` is the mean of the three per-criterion ranks (lower = more mergeable); ties go to the higher overlap.
    ``eval_rows`` (boolean mask or indices; default all rows) are the images on which ``top1`` / ``top1_merged``
    are measured (e.g. the test split); ``gain`` = top1_merged - top1. ``symmetry`` ... ``why``: the first
    ``verdict_top`` pairs' :func:`pair_verdicts` (later pairs: NaN and "").
    """
    from cleanlab.dataset import find_overlapping_classes

    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    if len(classes) != n_classes:
        raise ValueError(f"{len(classes)} class names for {n_classes} probability columns")
    if len(labels) != len(probs) or len(embeddings) != len(probs):
        raise ValueError("labels, probs and embeddings must have one row per image")
    ia, ib = np.triu_indices(n_classes, k=1)
    if len(ia) == 0:
        return pd.DataFrame(columns=MERGE_COLUMNS)

    counts = np.bincount(labels, minlength=n_classes)
    pred = probs.argmax(axis=1)
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels, pred), 1)
    a_as_b, b_as_a = matrix[ia, ib], matrix[ib, ia]
    both = counts[ia] + counts[ib]
    confusion = np.divide(a_as_b + b_as_a, both, out=np.zeros(len(ia)), where=both > 0)

    overlap = np.zeros((n_classes, n_classes))
    n_overlap = np.zeros((n_classes, n_classes))
    if len(np.unique(labels)) >= 2:
        found = find_overlapping_classes(labels, probs)
        for x, y, n_ex, joint in found[
            ["Class Index A", "Class Index B", "Num Overlapping Examples", "Joint Probability"]
        ].itertuples(index=False):
            lo, hi = min(x, y), max(x, y)
            overlap[lo, hi] = joint
            n_overlap[lo, hi] = n_ex
    overlap_pair, n_overlap_pair = overlap[ia, ib], n_overlap[ia, ib]

    centroids = class_centroids(embeddings, labels, n_classes)
    distance = 1.0 - (centroids[ia] * centroids[ib]).sum(axis=1)
    empty = (counts[ia] == 0) | (counts[ib] == 0)
    distance[empty] = np.nan

    rank_overlap = _rank(-overlap_pair)
    rank_confusion = _rank(-confusion)
    rank_centroid = _rank(np.where(np.isnan(distance), np.inf, distance))
    score = (rank_overlap + rank_confusion + rank_centroid) / 3.0

    rows = np.arange(len(labels)) if eval_rows is None else np.asarray(eval_rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    top1, top1_merged = _merged_accuracies(probs[rows], labels[rows], ia, ib)

    frame = pd.DataFrame(
        {
            "class_a": [classes[i] for i in ia],
            "class_b": [classes[i] for i in ib],
            "index_a": ia.astype(np.int64),
            "index_b": ib.astype(np.int64),
            "n_a": counts[ia].astype(np.int64),
            "n_b": counts[ib].astype(np.int64),
            "a_as_b": a_as_b.astype(np.int64),
            "b_as_a": b_as_a.astype(np.int64),
            "confusion": confusion,
            "overlap": overlap_pair,
            "n_overlap": n_overlap_pair.astype(np.int64),
            "centroid_distance": distance,
            "rank_overlap": rank_overlap,
            "rank_confusion": rank_confusion,
            "rank_centroid": rank_centroid,
            "score": score,
            "top1": top1,
            "top1_merged": top1_merged,
        }
    )
    frame["gain"] = frame["top1_merged"] - frame["top1"]
    frame = frame.sort_values(["score", "overlap", "confusion"], ascending=[True, False, False], kind="stable")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1, dtype=np.int64))
    frame = frame.reset_index(drop=True)
    verdicts = pair_verdicts(frame, labels, probs, embeddings, classes, top=verdict_top)
    return pd.concat([frame, verdicts], axis=1)[MERGE_COLUMNS]


# A pair is "indistinguishable" when all four hold (calibrated on the demo's bookstore / videostore and on the
# real photo sets' natural confusions, see bench/bench_analyses.py and bench/bench_real.py):
MAX_SEPARABILITY = 0.80  # pairwise AUC: the model must choose between the two classes and barely can
MIN_SYMMETRY = 0.4  # the smaller confusion rate is at least 40 % of the larger
MIN_MIXING = 0.5  # nearest neighbours in embedding space: at least half as mixed as a random shuffle
MIN_CONFUSION = 0.05  # below this share of either class predicted as the other: "rarely confused"
MIN_SHARE = 0.2  # two-way confusion below this share of the pair's images: "a minority of images"


def pair_verdicts(pairs: pd.DataFrame, labels: np.ndarray, probs: np.ndarray, embeddings: np.ndarray,
                  classes: Sequence[str], *, top: int = 30, k: int = 10) -> pd.DataFrame:
    """Why the first ``top`` pairs of ``pairs`` (:func:`merge_candidates`' frame, before its verdict columns) are
    confused, one row per row of ``pairs`` (same order): ``symmetry``, ``separability``, ``mixing``, ``verdict``
    (a key of :data:`VERDICTS`; "" after ``top``) and ``why`` (plain text).

    On the images labelled either class: ``symmetry`` = the smaller of the two confusion rates (A predicted B
    among A, B predicted A among B) over the larger (1 = equally both ways, 0 = one-way; NaN without confusion);
    ``verdict`` "indistinguishable" needs all of: symmetry >= :data:`MIN_SYMMETRY`, two-way confusion >=
    :data:`MIN_SHARE` of the pair's images, separability <= :data:`MAX_SEPARABILITY`, mixing >= :data:`MIN_MIXING`;
    "distinct" when neither class has :data:`MIN_CONFUSION` of its images predicted as the other; else "often
    confused". ``separability`` = the pairwise AUC of p(A) / (p(A) + p(B)) (how often an A image gets a larger share of A
    than a B image: 0.5 = a coin, 1 = always told apart; ``probs`` must be out-of-sample); ``mixing`` = the share
    of each image's ``k`` nearest neighbours (cosine, among the pair's images) with the other label, divided by
    that share in a random shuffle, averaged over both classes (about 1 = intermingled, 0 = two separate groups).
    """
    from indoor.analysis.vectors import unit_rows

    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n = len(pairs)
    out = {"symmetry": np.full(n, np.nan), "separability": np.full(n, np.nan), "mixing": np.full(n, np.nan),
           "verdict": [""] * n, "why": [""] * n}
    unit = None
    for i in range(min(n, max(0, top))):
        row = pairs.iloc[i]
        a, b = int(row["index_a"]), int(row["index_b"])
        in_a, in_b = np.flatnonzero(labels == a), np.flatnonzero(labels == b)
        if not len(in_a) or not len(in_b):
            continue
        rate_ab, rate_ba = row["a_as_b"] / len(in_a), row["b_as_a"] / len(in_b)
        high = max(rate_ab, rate_ba)
        symmetry = min(rate_ab, rate_ba) / high if high > 0 else np.nan
        share = probs[:, a] / np.maximum(probs[:, a] + probs[:, b], 1e-12)
        separability = _auc(share[in_a], share[in_b])
        if unit is None:
            unit = unit_rows(np.asarray(embeddings, dtype=np.float32))
        mixing = _mixing(unit[np.r_[in_a, in_b]], np.r_[np.zeros(len(in_a), int), np.ones(len(in_b), int)], k)
        out["symmetry"][i], out["separability"][i], out["mixing"][i] = symmetry, separability, mixing
        verdict, why = _verdict(classes[a], classes[b], rate_ab, rate_ba, float(row["confusion"]), symmetry,
                                separability, mixing)
        out["verdict"][i], out["why"][i] = verdict, why
    return pd.DataFrame(out, index=pairs.index)


def _verdict(a: str, b: str, rate_ab: float, rate_ba: float, share: float, symmetry: float, separability: float,
             mixing: float) -> tuple[str, str]:
    rates = f"{rate_ab:.0%} of {a} predicted {b}, {rate_ba:.0%} of {b} predicted {a}"
    if max(rate_ab, rate_ba) < MIN_CONFUSION:
        return "distinct", f"Rarely confused ({rates})."
    both_ways = bool(symmetry >= MIN_SYMMETRY)
    large = bool(share >= MIN_SHARE)
    coin = bool(separability <= MAX_SEPARABILITY)
    mixed = bool(mixing >= MIN_MIXING)
    facts = [
        f"{'confused both ways' if both_ways else 'confused mostly one way'} ({rates}: "
        f"{'a large share' if large else 'a minority'} of the pair's images)",
        f"when it must choose between the two, the model tells them apart {'barely' if coin else 'well'} "
        f"(pairwise AUC {separability:.2f}; a coin is 0.50)",
        f"their embeddings {'intermingle' if mixed else 'form separate groups'} (neighbour mixing {mixing:.2f} of "
        "a random shuffle)",
    ]
    text = "; ".join(facts)
    text = text[0].upper() + text[1:] + "."
    return ("indistinguishable" if both_ways and large and coin and mixed else "often confused"), text


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive score > a negative score) + half the ties (Mann-Whitney U / (n_pos * n_neg))."""
    ranks = pd.Series(np.r_[positive, negative]).rank(method="average").to_numpy()
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _mixing(unit: np.ndarray, side: np.ndarray, k: int) -> float:
    n = len(side)
    k = min(k, n - 1)
    if k < 1:
        return float("nan")
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    other = (side[neighbours] != side[:, None]).mean(axis=1)
    ratios = []
    for s in (0, 1):
        members = side == s
        expected = (~members).sum() / (n - 1)
        ratios.append(other[members].mean() / expected if expected > 0 else np.nan)
    return float(np.nanmean(ratios))


def _merged_accuracies(
    probs: np.ndarray, labels: np.ndarray, ia: np.ndarray, ib: np.ndarray
) -> tuple[float, np.ndarray]:
    """Top-1 accuracy now and, for every pair (ia[k], ib[k]), with that pair merged — O(N) per pair using each
    row's three most probable classes (the best class outside a pair is among them)."""
    n = len(labels)
    if n == 0:
        return float("nan"), np.full(len(ia), np.nan)
    k = min(3, probs.shape[1])
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    top_p = np.take_along_axis(probs, top, axis=1)
    base = float((top[:, 0] == labels).mean())
    out = np.empty(len(ia))
    rows = np.arange(n)
    for j, (a, b) in enumerate(zip(ia, ib)):
        p_ab = probs[:, a] + probs[:, b]
        # best class outside {a, b}: the first of the row's top-3 that is neither
        outside = (top != a) & (top != b)
        first = outside.argmax(axis=1)
        best_c = top[rows, first]
        best_p = np.where(outside.any(axis=1), top_p[rows, first], -1.0)
        in_pair = (labels == a) | (labels == b)
        pred_pair = p_ab >= best_p
        correct = np.where(in_pair, pred_pair, ~pred_pair & (best_c == labels))
        out[j] = correct.mean()
    return base, out


def _rank(values: np.ndarray) -> np.ndarray:
    """1-based average ranks, smallest value first."""
    return pd.Series(values).rank(method="average").to_numpy()


def merge_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Merge candidates (:func:`merge_candidates`) as a table to read: rank, the two classes, the confusion counts
    both ways, confusion (percent), overlap, centroid distance, and top-1 now and if merged (percent)."""
    return pd.DataFrame({
        "rank": pairs["rank"],
        "class A": pairs["class_a"],
        "class B": pairs["class_b"],
        "A→B": pairs["a_as_b"],
        "B→A": pairs["b_as_a"],
        "confusion": pairs["confusion"] * 100,
        "overlap": pairs["overlap"],
        "centroid distance": pairs["centroid_distance"],
        "top-1": pairs["top1"] * 100,
        "top-1 if merged": pairs["top1_merged"] * 100,
        "why confused": [VERDICTS.get(v, "") for v in pairs["verdict"]] if "verdict" in pairs else "",
    })


def find_pair(pairs: pd.DataFrame, a: int, b: int) -> pd.Series:
    """The row of merge candidates (:func:`merge_candidates`) of classes ``a`` and ``b`` (indices, either order).
    Raises KeyError when the table lacks the pair."""
    lo, hi = sorted((int(a), int(b)))
    found = pairs[(pairs["index_a"] == lo) & (pairs["index_b"] == hi)]
    if found.empty:
        raise KeyError(f"no merge candidate for classes {lo} and {hi}")
    return found.iloc[0]
