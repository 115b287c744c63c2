"""Independent evidence about a label, and what kind of suspect an image is.

One probe's probabilities cannot tell "this label is wrong" from "this image is hard for this model": both look
like a confident prediction of another class. A second, independent out-of-sample opinion helps — the image's
nearest training neighbours in embedding space (cosine) and the labels they carry. This module computes that
opinion out-of-fold, turns it into class probabilities (a k-nearest-neighbour classifier), and combines it with
the probe's to name each suspect's kind:

- **likely mislabelled** — the probe and the neighbours both reject the given label (both give it less than
  :data:`REJECT`): the image looks like another class to two different judges. For an image the build cropped
  (the region evidence), its crops are a third judge (their mean probability of the label,
  :func:`crop_label_support`), and any two of the three rejecting it suffice;
- **hard example** — the neighbours' vote goes to the given label, but the probe rejects it: the label is
  probably right and the model is wrong;
- **ambiguous** — anything else: the given label keeps some support, another class too. Also a suspect whose
  crops (the build's region evidence) show both classes: one crop confidently shows the given label and another
  the suggested one (:func:`two_class_regions`) — a scene with both in it, not a wrong label — provided the model
  rarely confuses the two classes (:func:`pair_confusion_matrix` at most :data:`MAX_PAIR_CONFUSION`): between classes
  it often mixes up (a street and its buildings), a crop that looks like the given label is no evidence.

And when the model is too weak for any of this (:func:`weak_model_reason`): at 40 % accuracy most disagreements
are the model's own errors, so suspects are ranked but not flagged.

Pure numpy; everything needs OUT-OF-SAMPLE inputs (probabilities and neighbours that never saw the image's label).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indoor.analysis.duplicates import nearest_neighbours, normalised_embeddings

NEIGHBOURS = 15  # k of the k-NN opinion (the issue's measurements: 15 neighbours, cosine)
REJECT = 0.1  # a judge "rejects" the given label when it gives it less than this probability
FILTER_BY = "prune_by_class"  # cleanlab find_label_issues rule that names the suspects (see label_issue_table)
MIN_AGREEMENT = 0.65  # below this out-of-sample agreement with the given labels the model is too weak to judge
MAX_FLAGGED_SHARE = 0.15  # ... or when more than this share of the images would be flagged as mislabelled

MAX_PAIR_CONFUSION = 0.03  # two classes confused more often than this (either way) can't make a two-class scene
SHOWN_NEIGHBOURS = 6  # neighbours stored per image as evidence (thumbnails on the pages)
WEAK_MODEL = "The model is too weak to judge labels"  # how the weak-model warning starts (see weak_model_message)

KINDS = ("likely mislabelled", "ambiguous", "hard example")
EVIDENCE_COLUMNS = [
    "is_suspect", "kind", "probe_self_confidence", "knn_self_confidence", "crop_self_confidence", "knn_agreement",
    "neighbours", "neighbour_labels", "neighbour_similarity",
]


def out_of_fold_neighbours(
    embeddings: np.ndarray, splits: np.ndarray, folds: np.ndarray, *, k: int = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """For every image its ``k`` nearest TRAINING images by cosine similarity, out-of-fold: a train image in fold
    f is compared with the train images of the other folds only (the same folds as the probe's out-of-fold
    probabilities, so neither judge saw the image's label), a val/test image with every train image.

    ``embeddings`` (N, D), ``splits`` (N,) split names, ``folds`` (N,) the cache's fold column (>= 0 for train
    rows; a train row with fold -1 is compared with every other train image). Returns ``(rows, similarity)``,
    (N, k) each, most similar first; -1 / NaN where there are fewer candidates."""
    splits = np.asarray(splits).astype(str)
    folds = np.asarray(folds, dtype=np.int64)
    n = len(splits)
    if len(embeddings) != n or len(folds) != n:
        raise ValueError(f"embeddings ({len(embeddings)}), splits ({n}) and folds ({len(folds)}) differ in length")
    unit = normalised_embeddings(embeddings, center=False)
    rows = np.full((n, k), -1, dtype=np.int64)
    similarity = np.full((n, k), np.nan, dtype=np.float32)
    train = splits == "train"
    groups = [(train & (folds == f), train & (folds != f)) for f in np.unique(folds[train]) if f >= 0]
    groups.append((~train | (folds < 0), train))  # val/test (and fold-less train rows: never themselves)
    for query, reference in groups:
        query_rows = np.flatnonzero(query)
        if len(query_rows):
            rows[query_rows], similarity[query_rows] = nearest_neighbours(unit, query_rows, np.flatnonzero(reference),
                                                                          k=k)
    return rows, similarity


def neighbour_probs(
    neighbours: np.ndarray, similarity: np.ndarray, labels: np.ndarray, n_classes: int, *, smoothing: float = 1.0
) -> np.ndarray:
    """(N, C) class probabilities of a similarity-weighted k-NN vote: each neighbour votes for its given label
    with weight max(similarity, 0); ``smoothing`` pseudo-votes are spread evenly over the classes (so that no
    class gets exactly 0). ``neighbours`` (N, k) row numbers into ``labels`` (-1: none)."""
    neighbours = np.asarray(neighbours, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(neighbours)
    valid = neighbours >= 0
    weight = np.where(valid, np.nan_to_num(np.maximum(np.asarray(similarity, dtype=np.float64), 0.0)), 0.0)
    votes = np.zeros((n, n_classes))
    query = np.repeat(np.arange(n), neighbours.shape[1])
    np.add.at(votes, (query, labels[np.maximum(neighbours, 0)].ravel()), weight.ravel())
    return (votes + smoothing / n_classes) / (votes.sum(axis=1, keepdims=True) + smoothing)


def suspect_kinds(
    labels: np.ndarray, probe_probs: np.ndarray, knn_probs: np.ndarray, *, crop_support: np.ndarray | None = None,
    reject: float = REJECT,
) -> np.ndarray:
    """(N,) kind per image (one of :data:`KINDS`) from independent out-of-sample opinions of its label: likely
    mislabelled when both the probe and the neighbours give the given label less than ``reject`` — or, for an
    image with crops (``crop_support`` (N,) from :func:`crop_label_support`, NaN: not cropped), when any two of the
    three judges do; a hard example when the probe rejects it but the neighbours' vote goes to it (their most
    voted class), whatever the crops say; ambiguous otherwise. Meaningful for the suspects (images whose label is
    doubted); computed for every row."""
    rows = np.arange(len(labels))
    knn_probs = np.asarray(knn_probs)
    probe = np.asarray(probe_probs)[rows, labels]
    knn = knn_probs[rows, labels]
    crops = np.full(len(rows), np.nan) if crop_support is None else np.asarray(crop_support, dtype=np.float64)
    rejections = (probe < reject).astype(int) + (knn < reject) + (crops < reject)  # NaN < reject is False
    hard = (knn_probs.argmax(axis=1) == labels) & (probe < reject)
    kinds = np.full(len(labels), KINDS[1], dtype=object)
    kinds[hard] = KINDS[2]
    kinds[(rejections >= 2) & ~hard] = KINDS[0]
    return kinds


def region_class_probability(regions: pd.DataFrame, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """(len(regions),) each region row's probability of its class in ``classes`` (one per row): the stored one when
    the class is among the row's top classes (:data:`.multiclass.REGION_COLUMNS`), else its even share of the rest
    over the other ``n_classes`` (at most the last stored probability)."""
    ranks = sorted(int(c.split("_")[1]) for c in regions.columns if c.startswith("class_"))  # 1, 2, 3
    top = np.column_stack([regions[f"class_{k}"].to_numpy(np.int64) for k in ranks])
    p = np.column_stack([regions[f"p_{k}"].to_numpy(np.float64) for k in ranks])
    hit = top == np.asarray(classes, dtype=np.int64)[:, None]
    rest = np.clip(1.0 - p.sum(axis=1), 0.0, 1.0) / max(n_classes - len(ranks), 1)
    return np.where(hit.any(axis=1), (p * hit).sum(axis=1), np.minimum(p[:, -1], rest))


def crop_label_support(regions: pd.DataFrame | None, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(N,) the crops' opinion of each image's given label: the mean, over the image's crops, of the probability
    the region head gives the label (the build's region evidence, columns :data:`.multiclass.REGION_COLUMNS`:
    scored by a head that never saw the image's label). Only each crop's top classes are stored; a label outside
    them gets its share of the rest, spread evenly over the other ``n_classes`` (at most the last stored
    probability). NaN for an image without crops."""
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if regions is None or regions.empty:
        return np.full(n, np.nan)
    row = regions["row"].to_numpy(np.int64)
    per_crop = region_class_probability(regions, labels[row], n_classes)
    crops = np.bincount(row, minlength=n)
    total = np.bincount(row, weights=per_crop, minlength=n)
    return np.where(crops > 0, total / np.maximum(crops, 1), np.nan)


def weak_model_reason(
    labels: np.ndarray, probe_probs: np.ndarray, knn_probs: np.ndarray, mislabelled: np.ndarray, *,
    min_agreement: float = MIN_AGREEMENT, max_flagged_share: float = MAX_FLAGGED_SHARE,
    train_per_class: float | None = None,
) -> str | None:
    """Why the evidence cannot separate label errors from the model's own errors, or None when it can.

    The model is too weak to judge labels when its out-of-sample predictions (the mean of ``probe_probs`` and
    ``knn_probs``) agree with fewer than ``min_agreement`` of the given labels, or when more than
    ``max_flagged_share`` of the images would be flagged as likely mislabelled (``mislabelled``, a boolean mask):
    label noise that high is implausible, so most suspects are images the model gets wrong. ``train_per_class``
    (mean training images per class) is quoted in the advice when given."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return None
    probe_probs, knn_probs = np.asarray(probe_probs), np.asarray(knn_probs)
    agreement = float(np.mean(((probe_probs + knn_probs) / 2).argmax(axis=1) == labels))
    share = float(np.mean(np.asarray(mislabelled, dtype=bool)))
    if agreement >= min_agreement and share <= max_flagged_share:
        return None
    probe_agreement = float(np.mean(probe_probs.argmax(axis=1) == labels))
    knn_agreement = float(np.mean(knn_probs.argmax(axis=1) == labels))
    why = []
    if agreement < min_agreement:
        why.append(f"its out-of-sample predictions agree with only {agreement:.0%} of the given labels "
                   f"(probe {probe_agreement:.0%}, nearest neighbours {knn_agreement:.0%}; at least "
                   f"{min_agreement:.0%} is needed to tell a wrong label from a wrong prediction)")
    if share > max_flagged_share:
        why.append(f"{share:.0%} of the images would be flagged as mislabelled, more label noise than is "
                   f"plausible (at most {max_flagged_share:.0%}), so most suspects are the model's own errors")
    per_class = f" (about {train_per_class:.0f} training images per class now)" if train_per_class else ""
    return (
        f"{WEAK_MODEL}: " + "; and ".join(why) + ". Suspects are ranked, not flagged: "
        "treat the list as images to look at, not as label errors. What would help: more images per class"
        f"{per_class}, a fine-tuned backbone (build --finetune-epochs N) or a stronger backbone (--backbone)."
    )


def two_class_regions(regions: pd.DataFrame | None, labels: np.ndarray, suggested: np.ndarray, *,
                      min_region: float = 0.5) -> np.ndarray:
    """(N,) bool: the image's crops show both its given label and the suggested class — a crop whose most
    probable class is the label and another crop whose most probable class is the suggestion, each with
    probability >= ``min_region`` (the multi-class rule's "confidently", :data:`.multiclass.MIN_REGION`).

    ``regions``: the build's region evidence (columns :data:`.multiclass.REGION_COLUMNS`, crops scored by a head
    that never saw the image's label; None or empty: no image has any), ``labels`` / ``suggested`` (N,) ints."""
    labels = np.asarray(labels, dtype=np.int64)
    suggested = np.asarray(suggested, dtype=np.int64)
    if regions is None or regions.empty:
        return np.zeros(len(labels), dtype=bool)
    row = regions["row"].to_numpy(np.int64)
    top, p = regions["class_1"].to_numpy(np.int64), regions["p_1"].to_numpy(np.float64)
    sure = p >= min_region
    shows_label = np.zeros(len(labels), dtype=bool)
    shows_suggested = np.zeros(len(labels), dtype=bool)
    np.logical_or.at(shows_label, row[sure & (top == labels[row])], True)
    np.logical_or.at(shows_suggested, row[sure & (top == suggested[row])], True)
    return shows_label & shows_suggested & (labels != suggested)


def pair_confusion_matrix(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(C, C) symmetric: how often the model confuses each pair of classes — the images of either class predicted
    as the other, as a share of both classes' images (``labels`` (N,), out-of-sample ``probs`` (N, C); the
    prediction is the most probable class). 0 for a pair without images."""
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    counts = np.zeros((n_classes, n_classes))
    if len(labels):
        np.add.at(counts, (labels, probs.argmax(axis=1)), 1)
    size = counts.sum(axis=1)
    both = size[:, None] + size[None, :]
    return np.divide(counts + counts.T, both, out=np.zeros_like(counts), where=both > 0)


def confused_pairs(labels: np.ndarray, probs: np.ndarray, *, max_pair_confusion: float = MAX_PAIR_CONFUSION
                   ) -> np.ndarray:
    """(C, C) bools: the class pairs the model mixes up more often than ``max_pair_confusion``
    (:func:`pair_confusion_matrix`), between which a crop that looks like one class is no evidence of a scene with
    both (:func:`two_class_scenes`, :func:`indoor.analysis.multiclass.region_candidates`)."""
    return pair_confusion_matrix(labels, probs) > max_pair_confusion


def two_class_scenes(regions: pd.DataFrame | None, labels: np.ndarray, probs: np.ndarray, suggested: np.ndarray, *,
                     trusted: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: :func:`two_class_regions` between two classes the model rarely confuses (:func:`confused_pairs`,
    over the ``trusted`` rows' out-of-sample ``probs``, at most :data:`MAX_PAIR_CONFUSION`)."""
    labels = np.asarray(labels, dtype=np.int64)
    both = two_class_regions(regions, labels, suggested)
    if both.any():
        trusted = np.ones(len(labels), dtype=bool) if trusted is None else np.asarray(trusted, dtype=bool)
        both &= ~confused_pairs(labels[trusted], np.asarray(probs)[trusted])[labels, np.asarray(suggested, dtype=np.int64)]
    return both


def two_class_suspects(table: pd.DataFrame, regions: pd.DataFrame | None, probs: np.ndarray, *,
                       trusted: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: suspects of :func:`label_issue_table`'s ``table`` that both judges reject (each gives the label
    less than :data:`REJECT`) but whose crops show the label beside the suggested class, two classes the model
    rarely confuses (:func:`two_class_scenes`; ``probs`` and ``trusted`` as given to the table): two-class scenes,
    left unflagged, and multi-class candidates even when the model is sure of the whole image."""
    if "is_suspect" not in table or not len(table):
        return np.zeros(len(table), dtype=bool)
    rejected = ((table["probe_self_confidence"].to_numpy() < REJECT) & (table["knn_self_confidence"].to_numpy() < REJECT))
    return (table["is_suspect"].to_numpy(bool) & rejected
            & two_class_scenes(regions, table["label"].to_numpy(np.int64), probs,
                               table["suggested"].to_numpy(np.int64), trusted=trusted))


def region_pair(regions: pd.DataFrame | None, row: int, label: int, suggested: int, *,
                min_region: float = 0.5) -> tuple[str, float, str, float] | None:
    """The crops behind :func:`two_class_regions` for one image: (region of the label, its probability, region of
    the suggested class, its probability), the surest of each; None when the crops do not show both."""
    if regions is None or regions.empty or label == suggested:
        return None
    crops = regions[(regions["row"].to_numpy() == row) & (regions["p_1"].to_numpy() >= min_region)]
    shown = []
    for cls in (label, suggested):
        mine = crops[crops["class_1"].to_numpy() == cls]
        if mine.empty:
            return None
        best = mine.iloc[int(np.argmax(mine["p_1"].to_numpy()))]
        shown += [str(best["region"]), float(best["p_1"])]
    return shown[0], shown[1], shown[2], shown[3]


def region_suspects(labels: np.ndarray, probs: np.ndarray, exclude: np.ndarray, *, max_images: int,
                    reject: float = REJECT) -> np.ndarray:
    """Rows worth cropping to see whether both classes are in the picture (:func:`two_class_regions`): the images
    whose label the probe rejects (out-of-sample ``probs`` (N, C) give the given ``labels`` less than ``reject`` —
    every image that can be flagged as mislabelled is one), none of ``exclude`` (already cropped), the most rejected
    first, at most ``max_images``."""
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels for {len(probs)} probability rows")
    given = probs[np.arange(len(labels)), labels] if len(labels) else np.zeros(0)
    candidates = np.flatnonzero(given < reject)
    candidates = candidates[~np.isin(candidates, np.asarray(exclude, dtype=np.int64))]
    order = candidates[np.argsort(given[candidates], kind="stable")]
    return order[:max(0, int(max_images))].astype(np.int64)


def label_issue_table(
    labels: np.ndarray,
    probs: np.ndarray,
    embeddings: np.ndarray,
    splits: np.ndarray,
    folds: np.ndarray,
    *,
    trusted: np.ndarray | None = None,
    regions: pd.DataFrame | None = None,
    k: int = NEIGHBOURS,
    reject: float = REJECT,
    filter_by: str = FILTER_BY,
    shown: int = SHOWN_NEIGHBOURS,
    min_agreement: float = MIN_AGREEMENT,
    max_flagged_share: float = MAX_FLAGGED_SHARE,
) -> tuple[pd.DataFrame, str | None]:
    """The label-issue table from independent judges, and the weak-model reason (None: the model can judge).

    ``probs`` (N, C) the probe's OUT-OF-SAMPLE probabilities (out-of-fold for train), ``embeddings`` (N, D),
    ``splits`` and ``folds`` the cache's columns (the neighbours are found out-of-fold with the same folds:
    :func:`out_of_fold_neighbours`), ``trusted`` (N bools, None: all) the rows whose probabilities are
    out-of-sample (only those can be flagged; see :func:`indoor.analysis.label_issues.find_label_issues_where`).

    Steps: the neighbours' vote (:func:`neighbour_probs`) is averaged with the probe's probabilities; cleanlab's
    confident learning (``find_label_issues`` with ``filter_by``, look-alike classes merged) on that average
    names the *suspects*. The images the build cropped (``regions``) have a third judge, their crops
    (:func:`crop_label_support`). The score is the judges' mean probability of the given label (``label_quality``:
    cleanlab's self-confidence label quality of the average, averaged with the crops' where there are some; review
    order ascending; ``self_confidence`` stays the two judges' average). Each suspect gets a kind
    (:func:`suspect_kinds`, the crops included; a disagreement between look-alike classes is "ambiguous", and so is
    a suspect whose crops show both its label and the suggested class, two classes the model rarely confuses:
    :func:`two_class_scenes`); only likely mislabelled
    suspects are flagged (``is_issue``), and none when :func:`weak_model_reason` says the model is too weak —
    then the suspects are still ranked. ``low_confidence_rank`` stays the plain baseline: the probe's own
    probability of the given label.

    Columns: :data:`indoor.analysis.label_issues.ISSUE_COLUMNS` then :data:`EVIDENCE_COLUMNS` (``kind`` "" for
    images that are not suspects; ``crop_self_confidence`` the crops' mean probability of the label, NaN for an
    image without crops; ``knn_agreement`` the share of the k neighbours labelled like the image;
    ``neighbours`` / ``neighbour_labels`` / ``neighbour_similarity`` the ``shown`` nearest, as lists)."""
    from indoor.analysis import label_issues

    labels, probs = label_issues._check(labels, probs)
    n, n_classes = probs.shape
    trusted = np.ones(n, dtype=bool) if trusted is None else np.asarray(trusted, dtype=bool)
    neighbours, similarity = out_of_fold_neighbours(embeddings, splits, folds, k=k)
    knn = neighbour_probs(neighbours, similarity, labels, n_classes)
    table = label_issues.find_label_issues_where(labels, (probs + knn) / 2, trusted=trusted if n else None,
                                                 filter_by=filter_by)
    rows = np.arange(n)
    crops = crop_label_support(regions, labels, n_classes)
    cropped = ~np.isnan(crops)
    # the review order's score: the judges' mean probability of the given label (the crops too, where there are some)
    table.loc[cropped, "label_quality"] = (2 * table["label_quality"].to_numpy()[cropped] + crops[cropped]) / 3
    suspect = table["is_issue"].to_numpy(bool) | table["overlap_issue"].to_numpy(bool)
    kinds = suspect_kinds(labels, probs, knn, crop_support=crops, reject=reject)
    kinds[table["overlap_issue"].to_numpy(bool)] = KINDS[1]
    kinds[suspect & two_class_scenes(regions, labels, probs, table["suggested"].to_numpy(np.int64),
                                     trusted=trusted)] = KINDS[1]
    mislabelled = table["is_issue"].to_numpy(bool) & (kinds == KINDS[0])
    reason = None
    if trusted.any():
        per_class = np.bincount(labels[(np.asarray(splits).astype(str) == "train")], minlength=n_classes)
        reason = weak_model_reason(labels[trusted], probs[trusted], knn[trusted], mislabelled[trusted],
                                   min_agreement=min_agreement, max_flagged_share=max_flagged_share,
                                   train_per_class=float(per_class[per_class > 0].mean()) if per_class.any() else None)
    table["is_issue"] = mislabelled & (reason is None)
    order = np.lexsort((rows, table["label_quality"].to_numpy(), ~trusted, ~table["is_issue"].to_numpy(bool)))
    table["review_rank"] = label_issues._ranks(order)
    table["low_confidence_rank"] = label_issues._ranks(label_issues.low_confidence_ranking(labels, probs))
    known = neighbours >= 0
    table["is_suspect"] = suspect
    table["kind"] = np.where(suspect, kinds, "").astype(str)
    table["probe_self_confidence"] = probs[rows, labels] if n else np.zeros(0)
    table["knn_self_confidence"] = knn[rows, labels] if n else np.zeros(0)
    table["crop_self_confidence"] = crops
    same = (labels[np.maximum(neighbours, 0)] == labels[:, None]) & known
    table["knn_agreement"] = same.sum(axis=1) / np.maximum(known.sum(axis=1), 1)
    top = neighbours[:, :shown]
    table["neighbours"] = [[int(r) for r in row if r >= 0] for row in top]
    table["neighbour_labels"] = [[int(labels[r]) for r in row if r >= 0] for row in top]
    table["neighbour_similarity"] = [[round(float(s), 4) for r, s in zip(row, sims) if r >= 0]
                                     for row, sims in zip(top, similarity[:, :shown])]
    return table, reason


def weak_model_message(warnings: pd.DataFrame | None) -> str | None:
    """The weak-model warning among an analysis ``warnings`` table's rows (columns analysis, message), or None."""
    if warnings is None or warnings.empty or not {"analysis", "message"} <= set(warnings.columns):
        return None
    messages = warnings["message"].astype(str)
    found = messages[(warnings["analysis"] == "label_issues") & messages.str.startswith(WEAK_MODEL)]
    return str(found.iloc[0]) if len(found) else None
