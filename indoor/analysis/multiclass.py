"""Multi-class images: scenes that show two classes at once (a pool table in a bar), found where the two most
probable classes are both high or nearly equal.

A whole PAIR of classes that is often near-equal (two look-alike classes, e.g. bookstore / videostore) is class
overlap — a merge question (see :mod:`indoor.analysis.merges`) — not a property of one image, so each candidate
also carries ``pair_share``: how common near-equal top-2 probabilities are for its class pair. Candidates from
frequent pairs sink in the ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CANDIDATE_COLUMNS = ["row", "label", "class_a", "class_b", "p_a", "p_b", "ratio", "pair_share", "score"]
REGION_CANDIDATE_COLUMNS = ["evidence", "region_a", "region_b", "p_region_a", "p_region_b"]
MIN_REGION = 0.5  # a crop "confidently" predicts its most probable class at this probability or above
MIN_WHOLE = 0.0  # each of the two classes needs at least this whole-image probability
SUPPORTED = 0.01  # of several region pairs, one whose classes both have this whole-image probability is shown
MAX_CONFIDENCE = 0.8  # whole images the model is surer of than this are neither cropped nor candidates
REGION_TOP = 3
HALVES = ("left half", "right half", "top half", "bottom half")  # region names of the feature map's halves
HALF_MIN_REGION = 0.9  # two halves must each predict their class at least this surely (the whole image is sure)
HALF_SUPPORT_POWER = 0.5  # a candidate's score is multiplied by its halves' support (both classes) to this power
REGION_COLUMNS = ["row", "region", "x0", "y0", "x1", "y1"] + [f"{k}_{i}" for i in range(1, REGION_TOP + 1)
                                                             for k in ("class", "p")]


def top2(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(class_a, class_b, p_a, p_b): the most and second most probable class of each row and their
    probabilities (ties broken by the lower class index)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"probs must be (N, C) with C >= 2, got shape {probs.shape}")
    order = np.argsort(-probs, axis=1, kind="stable")[:, :2]
    rows = np.arange(len(probs))
    return order[:, 0], order[:, 1], probs[rows, order[:, 0]], probs[rows, order[:, 1]]


def multiclass_scores(probs: np.ndarray, *, pair_weight: float = 3.0) -> pd.DataFrame:
    """Per image (input order): its top-2 classes and a multi-class score.

    ``probs`` (N, C) are class probabilities (out-of-sample, so that a training label does not inflate one class).
    ``ratio`` = p_b / p_a (1 = a tie); ``score`` = the geometric mean of ``p_b`` and ``ratio`` (high only when the
    second class is both probable and close to the first), divided by ``(1 + pair_weight * pair_share)`` where
    ``pair_share`` is the share of the pair's images (those whose top-2 is that unordered pair) with ratio >= 0.5:
    a pair that is near-equal for most of its images is overlapping classes, not multi-class scenes.
    """
    a, b, pa, pb = top2(probs)
    ratio = np.divide(pb, pa, out=np.zeros_like(pb), where=pa > 0)
    n_classes = np.asarray(probs).shape[1]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pair = lo * n_classes + hi
    n_pair = np.bincount(pair, minlength=n_classes * n_classes)
    n_close = np.bincount(pair, weights=(ratio >= 0.5).astype(float), minlength=n_classes * n_classes)
    share = np.divide(n_close, n_pair, out=np.zeros(len(n_pair)), where=n_pair > 0)[pair]
    score = np.sqrt(pb * ratio) / (1.0 + pair_weight * share)
    return pd.DataFrame(
        {
            "row": np.arange(len(a), dtype=np.int64),
            "class_a": a.astype(np.int64),
            "class_b": b.astype(np.int64),
            "p_a": pa,
            "p_b": pb,
            "ratio": ratio,
            "pair_share": share,
            "score": score,
        }
    )


def multiclass_candidates(
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    min_second: float = 0.15,
    min_ratio: float = 0.3,
    pair_weight: float = 3.0,
    class_groups: np.ndarray | None = None,
) -> pd.DataFrame:
    """Images whose top-2 probabilities are both high or near-equal, best candidate first.

    ``labels`` (N,) integer class indices, ``probs`` (N, C) out-of-sample probabilities. A candidate has
    p_b >= ``min_second`` AND p_b / p_a >= ``min_ratio``; ranked by :func:`multiclass_scores`' ``score``.
    ``class_groups`` (C,) group ids of overlapping classes (e.g. from
    :func:`indoor.analysis.label_issues.overlapping_class_groups`): a pair inside one group is look-alike classes,
    not a two-class scene, and is left out.
    Columns :data:`CANDIDATE_COLUMNS` (``class_a``/``class_b`` the two classes, most probable first, ``label`` the
    given label) + :data:`REGION_CANDIDATE_COLUMNS` (``evidence`` = "probabilities", no regions).
    """
    labels = np.asarray(labels, dtype=np.int64)
    scores = multiclass_scores(probs, pair_weight=pair_weight)
    if len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels for {len(scores)} probability rows")
    scores.insert(1, "label", labels)
    keep = (scores["p_b"] >= min_second) & (scores["ratio"] >= min_ratio)
    if class_groups is not None:
        groups = np.asarray(class_groups)
        keep &= groups[scores["class_a"].to_numpy()] != groups[scores["class_b"].to_numpy()]
    out = scores.loc[keep].sort_values(["score", "row"], ascending=[False, True], kind="stable")
    out = out.assign(evidence="probabilities", region_a="", region_b="", p_region_a=np.nan, p_region_b=np.nan)
    return out[CANDIDATE_COLUMNS + REGION_CANDIDATE_COLUMNS].reset_index(drop=True)


def candidate_table(candidates: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Multi-class candidates (:func:`multiclass_candidates` plus ``sample_id``, as stored) as a table to read:
    position, sample_id, class names (given, A, B), p(A), p(B), the regions' p(A) and p(B) when the candidates come
    from region evidence, and score."""
    table = pd.DataFrame({
        "#": np.arange(1, len(candidates) + 1),
        "sample_id": candidates["sample_id"].to_numpy(),
        "given": [classes[i] for i in candidates["label"]],
        "class A": [classes[i] for i in candidates["class_a"]],
        "class B": [classes[i] for i in candidates["class_b"]],
        "p(A)": candidates["p_a"].to_numpy(),
        "p(B)": candidates["p_b"].to_numpy(),
    })
    if "p_region_a" in candidates and candidates["p_region_a"].notna().any():
        table["region p(A)"] = candidates["p_region_a"].to_numpy()
        table["region p(B)"] = candidates["p_region_b"].to_numpy()
    table["score"] = candidates["score"].to_numpy()
    return table


def region_pool(labels: np.ndarray, probs: np.ndarray, *, max_confidence: float = MAX_CONFIDENCE,
                max_images: int | None = None) -> np.ndarray:
    """Rows worth cropping for region evidence (the budget of :mod:`indoor.model.regions`), least sure first.

    ``probs`` (N, C) out-of-sample probabilities, ``labels`` (N,) given labels. A scene that shows two classes
    leaves the model unsure of the whole image, so the pool is the images whose most probable class has
    probability below ``max_confidence``, lowest first, at most ``max_images``."""
    labels = np.asarray(labels, dtype=np.int64)
    _, _, pa, _ = top2(probs)
    if len(labels) != len(pa):
        raise ValueError(f"{len(labels)} labels for {len(pa)} probability rows")
    order = np.argsort(pa, kind="stable")
    order = order[pa[order] < max_confidence]
    return (order if max_images is None else order[:max(0, int(max_images))]).astype(np.int64)


def reference_rows(labels: np.ndarray, probs: np.ndarray, split: np.ndarray, exclude: np.ndarray, *,
                   per_class: int, max_images: int, min_confidence: float = MAX_CONFIDENCE,
                   seed: int = 0) -> np.ndarray:
    """Rows whose crops teach the region head what a crop of each class looks like (:mod:`indoor.model.regions`).

    Train rows (``split`` == "train") whose out-of-sample prediction (``probs`` (N, C)) is their given label
    (``labels`` (N,)) with probability >= ``min_confidence`` (ordinary, surely labelled images of their class),
    none of ``exclude`` (the pool whose crops the head will score, so no candidate's label is learnt). At most
    ``per_class`` per class and ``max_images`` in all (split evenly over the classes that have some), drawn at
    random (``seed``) so that the crops span the class rather than its most typical images. Sorted row indices."""
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if len(labels) != len(probs) or len(np.asarray(split)) != len(labels):
        raise ValueError(f"{len(labels)} labels, {len(probs)} probability rows, {len(np.asarray(split))} splits")
    a, _, pa, _ = top2(probs)
    ok = (np.asarray(split) == "train") & (a == labels) & (pa >= min_confidence)
    ok[np.asarray(exclude, dtype=np.int64)] = False
    present = np.unique(labels[ok])
    if not len(present) or per_class < 1 or max_images < 1:
        return np.zeros(0, dtype=np.int64)
    k = min(int(per_class), max(1, int(max_images) // len(present)))
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(ok & (labels == c)))[:k] for c in present]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def region_candidates(
    regions: pd.DataFrame,
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    min_region: float = MIN_REGION,
    max_confidence: float = MAX_CONFIDENCE,
    min_whole: float = MIN_WHOLE,
    class_groups: np.ndarray | None = None,
    confused_pairs: np.ndarray | None = None,
) -> pd.DataFrame:
    """Multi-class candidates from region evidence, best first: images where two different crops confidently
    predict two different classes while the whole image leaves the model unsure.

    ``regions``: the crops' top classes (columns :data:`REGION_COLUMNS`, from :mod:`indoor.model.regions`:
    scored by the same backbone and the head that never saw the image's label), ``labels`` (N,), ``probs`` (N, C)
    out-of-sample whole-image probabilities. A candidate has two crops whose most probable classes A != B both
    reach ``min_region`` (``p_region_a`` >= ``p_region_b``), a whole-image top probability below
    ``max_confidence``, and A, B not in one group of ``class_groups`` (look-alike classes disagree in every
    crop: a merge question, see :mod:`indoor.analysis.merges`) nor a pair of ``confused_pairs`` ((C, C) bools:
    classes the model often mixes up, whose crops are no evidence of two classes; see
    :func:`indoor.analysis.label_evidence.confused_pairs`). ``score`` = min(p_region_a, p_region_b) x the
    whole image's normalised entropy (0 = sure of one class, 1 = uniform). Of several qualifying pairs, one whose
    classes both get at least :data:`SUPPORTED` whole-image probability wins (a crop of a bare wall may "see" any
    class), then the surest; ``min_whole`` can require that support. Columns :data:`CANDIDATE_COLUMNS` +
    :data:`REGION_CANDIDATE_COLUMNS`; ``p_a`` / ``p_b`` are the whole image's probabilities of A and B.
    """
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    groups = np.asarray(class_groups) if class_groups is not None else np.arange(n_classes)
    confused = (np.zeros((n_classes, n_classes), dtype=bool) if confused_pairs is None
                else np.asarray(confused_pairs, dtype=bool))
    found = []
    if len(regions):
        frame = regions.sort_values(["row", "region"], kind="stable")
        for row, crops in frame.groupby("row", sort=True):
            row = int(row)
            whole = probs[row]
            if whole.max() >= max_confidence:
                continue
            cls, conf, names = crops["class_1"].to_numpy(), crops["p_1"].to_numpy(), crops["region"].to_numpy()
            best, best_key = None, None
            for i in range(len(cls)):
                for j in range(len(cls)):
                    a, b = int(cls[i]), int(cls[j])
                    if (i == j or a == b or groups[a] == groups[b] or confused[a, b] or conf[j] > conf[i]
                            or conf[j] < min_region):
                        continue
                    support = min(whole[a], whole[b])
                    if support < min_whole:  # a crop's class the whole image gives no support
                        continue
                    # the pair the whole image supports (a wall crop may "see" any class), then the surest
                    key = (support >= SUPPORTED, conf[j], conf[i])
                    if best_key is None or key > best_key:
                        best, best_key = (a, b, conf[i], conf[j], names[i], names[j]), key
            if best is None:
                continue
            a, b, pra, prb, na, nb = best
            found.append((row, labels[row], a, b, whole[a], whole[b], pra, prb, na, nb,
                          min(pra, prb) * _entropy(whole)))
    out = pd.DataFrame(found, columns=["row", "label", "class_a", "class_b", "p_a", "p_b", "p_region_a", "p_region_b",
                                       "region_a", "region_b", "score"])
    return _as_candidates(out)


def _entropy(whole: np.ndarray) -> float:
    """The normalised entropy of one image's class probabilities: 0 = sure of one class, 1 = uniform."""
    return float(-(whole * np.log(np.clip(whole, 1e-12, 1.0))).sum() / np.log(max(len(whole), 2)))


def _as_candidates(out: pd.DataFrame) -> pd.DataFrame:
    """Region candidates (row, label, classes, whole and region probabilities, regions, score) in the stored
    column order, best first."""
    out = out.copy()
    out["ratio"] = np.divide(out["p_b"], out["p_a"], out=np.zeros(len(out)), where=out["p_a"].to_numpy() > 0)
    out["pair_share"] = np.nan
    out["evidence"] = "regions"
    out = out.astype({"row": np.int64, "label": np.int64, "class_a": np.int64, "class_b": np.int64,
                      "region_a": str, "region_b": str})
    out = out.sort_values(["score", "row"], ascending=[False, True], kind="stable")
    return out[CANDIDATE_COLUMNS + REGION_CANDIDATE_COLUMNS].reset_index(drop=True)


def two_class_candidates(rows: np.ndarray, labels: np.ndarray, suggested: np.ndarray, probs: np.ndarray,
                         regions: pd.DataFrame, *, min_region: float = MIN_REGION) -> pd.DataFrame:
    """Multi-class candidates from label-issue suspects whose crops show their given label and the suggested class
    (:func:`indoor.analysis.label_evidence.two_class_suspects` names the ``rows``): the model is sure of the whole
    image, so :func:`region_candidates` skips it, but two crops confidently show two classes. Scored like
    :func:`region_candidates` (the surer crop's class is A); ``labels`` / ``suggested`` (N,), ``probs`` (N, C)
    out-of-sample. Columns :data:`CANDIDATE_COLUMNS` + :data:`REGION_CANDIDATE_COLUMNS`."""
    from indoor.analysis.label_evidence import region_pair

    probs = np.asarray(probs, dtype=np.float64)
    found = []
    for row in np.asarray(rows, dtype=np.int64):
        label, other = int(labels[row]), int(suggested[row])
        pair = region_pair(regions, int(row), label, other, min_region=min_region)
        if pair is None:
            continue
        label_region, p_label, other_region, p_other = pair
        a, b, pra, prb, na, nb = ((other, label, p_other, p_label, other_region, label_region) if p_other >= p_label
                                  else (label, other, p_label, p_other, label_region, other_region))
        whole = probs[row]
        found.append((int(row), label, a, b, whole[a], whole[b], pra, prb, na, nb, min(pra, prb) * _entropy(whole)))
    out = pd.DataFrame(found, columns=["row", "label", "class_a", "class_b", "p_a", "p_b", "p_region_a", "p_region_b",
                                       "region_a", "region_b", "score"])
    return _as_candidates(out)


def split_regions(regions: pd.DataFrame | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(crops, halves): the rows of a region table (:data:`REGION_COLUMNS`) that are crops scored on their own
    (:func:`indoor.model.regions.region_evidence`) and those that are halves of the backbone's feature map of a
    whole image (:func:`indoor.model.halves.half_evidence`, regions named :data:`HALVES`). (None, None) for None."""
    if regions is None:
        return None, None
    half = regions["region"].isin(HALVES).to_numpy()
    return regions[~half], regions[half]


def half_candidates(halves: pd.DataFrame, labels: np.ndarray, probs: np.ndarray, *,
                    min_region: float = HALF_MIN_REGION, class_groups: np.ndarray | None = None,
                    confused_pairs: np.ndarray | None = None) -> pd.DataFrame:
    """Multi-class candidates among the images the crops leave out (mostly those the model is sure of): two halves
    of the image (``halves``: the region rows named :data:`HALVES`) that predict two different classes, each with
    probability >= ``min_region``, under the rules of :func:`region_candidates` (look-alike and often-confused
    pairs are no evidence). Their score (min of the two halves' probabilities x the whole image's normalised
    entropy) is low where the model is sure of the whole image, so they follow the crops' candidates."""
    return region_candidates(halves, labels, probs, min_region=min_region, max_confidence=np.inf,
                             class_groups=class_groups, confused_pairs=confused_pairs)


def half_support(halves: pd.DataFrame | None, candidates: pd.DataFrame, n_classes: int) -> np.ndarray:
    """(len(candidates),) how surely the image's halves (region rows named :data:`HALVES`) show both of a
    candidate's classes: min over A and B of the surest half's probability of that class. NaN for a candidate
    whose image has no halves."""
    from indoor.analysis.label_evidence import region_class_probability

    out = np.full(len(candidates), np.nan)
    if halves is None or halves.empty or candidates.empty:
        return out
    rows = candidates["row"].to_numpy(np.int64)
    order = np.argsort(rows, kind="stable")
    found = halves[halves["row"].isin(rows)]
    at = order[np.searchsorted(rows[order], found["row"].to_numpy(np.int64))]  # the candidate of each half row
    best = []
    for column in ("class_a", "class_b"):
        p = region_class_probability(found, candidates[column].to_numpy(np.int64)[at], n_classes)
        surest = np.full(len(candidates), -np.inf)
        np.maximum.at(surest, at, p)
        best.append(surest)
    both = np.minimum(*best)
    return np.where(np.isfinite(both), both, out)


def rank_with_halves(candidates: pd.DataFrame, halves: pd.DataFrame | None, n_classes: int, *,
                     power: float = HALF_SUPPORT_POWER) -> pd.DataFrame:
    """Multi-class candidates re-ranked by a second view of the image: ``score`` x :func:`half_support` **
    ``power`` (the halves of the whole image's feature map agree that both classes are in the picture; a crop of a
    bare wall that "sees" a class has no such support). Candidates without halves keep their score. Best first."""
    support = half_support(halves, candidates, n_classes)
    if not np.isfinite(support).any():
        return candidates
    factor = np.where(np.isfinite(support), np.clip(support, 0.0, 1.0) ** power, 1.0)
    out = candidates.assign(score=candidates["score"].to_numpy(np.float64) * factor)
    return out.sort_values(["score", "row"], ascending=[False, True], kind="stable").reset_index(drop=True)


def empty_regions() -> pd.DataFrame:
    """A region table (columns :data:`REGION_COLUMNS`) without rows: no image was cropped."""
    return pd.DataFrame({c: pd.Series(dtype=str if c == "region" else "int64" if c == "row" or c.startswith("class_")
                                      else "float32") for c in REGION_COLUMNS})
