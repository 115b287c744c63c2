"""The analysis tables a build stores: every analysis below run once over the cache's arrays.

One module per question (like cleanlab's filter / rank / dataset):

- :mod:`.label_issues` — which labels are likely wrong (confident learning) and how clean each class is;
- :mod:`.multiclass` — which images show two classes at once;
- :mod:`.merges` — which class pairs the model cannot tell apart;
- :mod:`.shortcuts` — which image properties the predictions lean on;
- :mod:`.image_issues` — CleanVision-style image issues, relative to the data set and class;
- :mod:`.duplicates` — exact / near duplicates, train-test leakage, the same image under two labels.

All are pure functions of arrays and DataFrames. :func:`build_tables` runs everything worth precomputing and
returns named DataFrames; the cache build stores them as ``analysis/<name>.parquet`` (read back with
``cache.table(name)``). Row numbers in the tables (``row``, ``row_a`` ...) index the cache's samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from indoor.analysis import duplicates, image_issues as image_issues_mod, label_issues, merges, multiclass, shortcuts
from indoor.analysis import interventions, label_evidence

TABLES: dict[str, str] = {
    "label_issues": "one row per image: label-issue flag, kind, quality, suggested label, review order, evidence",
    "class_quality": "per class label quality (cleanlab), worst first",
    "multiclass": "multi-class candidates, best first",
    "merges": "class pairs, most mergeable first",
    "shortcut_curves": "per property bin and class: accuracy",
    "shortcut_findings": "ranked shortcut findings with example sample_ids",
    "image_issues": "CleanVision-style image issues",
    "duplicate_pairs": "exact and near duplicate pairs",
    "nearest_train": "per non-train image: nearest training image",
    "warnings": "reasons to distrust an analysis",
    "class_order": "the classes in similarity order (clustered by mutual confusion), for the confusion explorer",
    "shortcut_tests": "intervention tests of shortcut findings (indoor.analysis.interventions; run by the build)",
    "regions": "multi-class region evidence: crops of the least-sure images scored by the backbone and head "
               "(indoor.model.regions; run by the build)",
}
# Tables a cache built by an older indoor may lack; cheap to compute on the fly, so their absence alone doesn't
# make :func:`cache_tables` recompute every table.
# shortcut_tests needs the model's forward passes: build_tables leaves it empty, the build and analyze fill it.
LATE_TABLES = ("class_order", "shortcut_tests", "regions")


def build_tables(
    samples: pd.DataFrame,
    probs: np.ndarray,
    embeddings: np.ndarray,
    classes: list[str],
    *,
    seed: int = 0,
    probs_out_of_sample: bool | Mapping[str, bool] = True,
    thumbnails: Sequence[bytes | str | Path] | None = None,
    in_sample_remedy: str = "Rebuild the cache with cross-validation (--folds).",
    regions: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Every analysis table (names and contents: :data:`TABLES`) for one cache.

    ``samples`` is the cache's samples frame (sample_id, split, label, pred, fold, pixel_hash and the property
    columns), ``probs`` its (N, C) OUT-OF-SAMPLE probabilities. When some are not (``probs_out_of_sample`` False,
    or a split -> bool mapping such as an import's ``{"train": False, "val": True, "test": True}``), every analysis
    that needs out-of-sample probabilities (label issues, class quality, multi-class candidates, merges,
    shortcuts, the class order) runs on the out-of-sample rows only and a warning says so; with none out-of-sample
    they run on everything, with a warning that ends with ``in_sample_remedy``. ``embeddings`` (N, D), ``classes`` the C class names. ``thumbnails`` (N JPEG bytes or
    file paths, the cache's thumbnails) let near duplicates be verified on pixels — without them only very high
    embedding similarity counts (see :mod:`.duplicates`). ``seed`` is accepted for reproducibility of any
    randomised step (all current steps are deterministic). ``regions``: the build's region evidence
    (:func:`indoor.model.regions.region_evidence`, columns :data:`.multiclass.REGION_COLUMNS`); with it the
    multi-class candidates come from :func:`.multiclass.region_candidates` and a suspect whose crops show both its
    label and the suggested class is "ambiguous", not flagged (:func:`.label_evidence.two_class_regions`);
    without it (None) the candidates come from the probabilities alone, and the ``regions`` table is empty.
    """
    del seed  # nothing random today
    samples = samples.reset_index(drop=True)
    probs = np.asarray(probs, dtype=np.float64)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    n = len(samples)
    if probs.shape != (n, len(classes)):
        raise ValueError(f"probs has shape {probs.shape}, expected ({n}, {len(classes)})")
    if len(embeddings) != n:
        raise ValueError(f"embeddings has {len(embeddings)} rows, expected {n}")
    labels = samples["label"].to_numpy(np.int64)
    splits = samples["split"].astype(str).to_numpy()
    ids = samples["sample_id"].astype(str).to_numpy()
    tables: dict[str, pd.DataFrame] = {}

    sound = sound_rows(splits, probs_out_of_sample)
    sub = np.flatnonzero(sound) if sound.any() else np.arange(n)  # the rows whose probabilities analyses may use
    labels_s, probs_s = labels[sub], probs[sub]

    fold_column = samples["fold"].to_numpy(np.int64) if "fold" in samples else np.full(n, -1, dtype=np.int64)
    crops, halves = multiclass.split_regions(regions)  # the halves are multi-class evidence only
    issues, weak_model = label_evidence.label_issue_table(  # probe + out-of-fold neighbours (+ crops); kinds
        labels, probs, embeddings, splits, fold_column, trusted=sound if sound.any() else None, regions=crops)
    issues.insert(1, "sample_id", ids)
    issues.insert(2, "split", splits)
    tables["label_issues"] = issues
    tables["class_quality"] = label_issues.class_label_quality(
        labels_s, probs_s, classes, is_issue=issues["is_issue"].to_numpy()[sub]
    )
    folds = int(samples["fold"].max()) + 1 if "fold" in samples and n and samples["fold"].max() >= 0 else None
    warning_rows = [(analysis, message) for message in label_issues.in_sample_warnings(
        splits, sound, remedy=in_sample_remedy) for analysis in IN_SAMPLE_ANALYSES]
    warning_rows += [("label_issues", w) for w in label_issues.label_issue_warnings(labels_s, classes, folds=folds)]
    if weak_model:
        warning_rows.append(("label_issues", weak_model))
    groups = label_issues.overlapping_class_groups(labels_s, probs_s, share=label_issues.OVERLAP_SHARE)
    for group in np.unique(groups):
        members = [classes[c] for c in np.flatnonzero(groups == group)]
        if len(members) > 1:
            n_between = int((issues["overlap_issue"] & (groups[issues["label"]] == group)).sum())
            warning_rows.append(("label_issues", (
                f"{' and '.join(members)} overlap: the model cannot tell them apart, so disagreements between them "
                f"({n_between} images) are not flagged as label errors. Consider merging them (Class merges page).")))

    if regions is not None:
        usable = _sound_region_rows(crops, sound)
        confused = label_evidence.confused_pairs(labels_s, probs_s)
        candidates = multiclass.region_candidates(usable, labels, probs, class_groups=groups, confused_pairs=confused)
        both = np.flatnonzero(label_evidence.two_class_suspects(  # sure of the whole image, its crops show two
            issues, usable, probs, trusted=sound if sound.any() else None))
        both = both[~np.isin(both, candidates["row"].to_numpy())]
        found = [candidates]
        if len(both):
            found.append(multiclass.two_class_candidates(both, labels, issues["suggested"].to_numpy(np.int64), probs,
                                                         usable))
        usable_halves = _sound_region_rows(halves, sound)
        if len(usable_halves):  # the images no crop covers: two halves of the feature map that show two classes
            seen = np.concatenate([frame["row"].to_numpy() for frame in found])
            by_halves = multiclass.half_candidates(usable_halves[~usable_halves["row"].isin(crops["row"])], labels,
                                                   probs, class_groups=groups, confused_pairs=confused)
            found.append(by_halves[~by_halves["row"].isin(seen)])
        found = [frame for frame in found if len(frame)]
        if found:  # one list, best first
            candidates = pd.concat(found, ignore_index=True).sort_values(
                ["score", "row"], ascending=[False, True], kind="stable").reset_index(drop=True)
        candidates = multiclass.rank_with_halves(candidates, usable_halves, len(classes))  # a second view
    else:
        candidates = multiclass.multiclass_candidates(labels_s, probs_s, class_groups=groups)
        candidates["row"] = sub[candidates["row"].to_numpy()].astype(np.int64)
    tables["regions"] = regions.reset_index(drop=True) if regions is not None else multiclass.empty_regions()
    candidates.insert(1, "sample_id", ids[candidates["row"].to_numpy()])
    tables["multiclass"] = candidates

    eval_rows = splits[sub] == "test" if (splits[sub] == "test").any() else None
    tables["merges"] = merges.merge_candidates(labels_s, probs_s, embeddings[sub], classes, eval_rows=eval_rows)

    sound_samples = samples.iloc[sub].reset_index(drop=True)
    tables["shortcut_curves"] = shortcuts.accuracy_curves(sound_samples, classes)
    tables["shortcut_findings"] = shortcuts.shortcut_findings(sound_samples, probs_s, classes)
    image_issues = image_issues_mod.image_issues(samples)
    image_issues.insert(1, "sample_id", ids[image_issues["row"].to_numpy()])
    tables["image_issues"] = image_issues

    hashes = samples["pixel_hash"].to_numpy() if "pixel_hash" in samples else np.full(n, "", dtype=object)
    if "pixel_hash" not in samples:
        warning_rows.append(("duplicates", "The cache has no pixel hashes: exact duplicates are not searched."))
    if thumbnails is None:
        warning_rows.append(("duplicates", "No thumbnails were given: near duplicates are judged by embedding "
                             f"similarity alone (>= {duplicates.EMBEDDING_THRESHOLD}), which misses re-crops."))
    elif len(thumbnails) != n:
        raise ValueError(f"{len(thumbnails)} thumbnails for {n} samples")
    tiny = duplicates.tiny_images(thumbnails) if thumbnails is not None else None  # decoded once, used twice
    pairs = duplicates.duplicate_pairs(hashes, embeddings, splits, labels, thumbnails=tiny)
    for side in ("a", "b"):
        rows = pairs[f"row_{side}"].to_numpy()
        pairs[f"sample_id_{side}"] = ids[rows]
        pairs[f"split_{side}"] = splits[rows]
        pairs[f"label_{side}"] = labels[rows]
    tables["duplicate_pairs"] = pairs

    nearest = duplicates.nearest_training_images(embeddings, splits, thumbnails=tiny)
    nearest.insert(1, "sample_id", ids[nearest["row"].to_numpy()])
    query = nearest["row"].to_numpy()
    nearest["is_error"] = samples["pred"].to_numpy()[query] != labels[query]
    found = nearest["nearest_train"].to_numpy()
    nearest["nearest_sample_id"] = np.where(found >= 0, ids[np.maximum(found, 0)], "")
    tables["nearest_train"] = nearest

    tables["warnings"] = pd.DataFrame(warning_rows, columns=["analysis", "message"]).astype(str)
    tables["class_order"] = class_order_table(labels_s, samples["pred"].to_numpy(np.int64)[sub], len(classes))
    tables["shortcut_tests"] = interventions.empty_tests()  # forward passes: indoor.cache.shortcut_tests
    return tables


# the analyses whose pages show a warning when some probabilities are in-sample
IN_SAMPLE_ANALYSES = ("label_issues", "merges", "shortcuts")


def sound_rows(splits: np.ndarray, probs_out_of_sample: bool | Mapping[str, bool]) -> np.ndarray:
    """(N,) bool: the rows whose probabilities are out-of-sample, from one flag for every split or a split -> flag
    mapping (a split it does not name counts as out-of-sample)."""
    splits = np.asarray(splits).astype(str)
    if isinstance(probs_out_of_sample, Mapping):
        return np.array([bool(probs_out_of_sample.get(split, True)) for split in splits], dtype=bool)
    return np.full(len(splits), bool(probs_out_of_sample), dtype=bool)


def class_order_table(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> pd.DataFrame:
    """Class indices in similarity order (``similarity`` column, one row per class), from the confusion matrix of
    every image; ``preds`` must be out-of-sample predictions. Stored at build time so that the dashboard needn't
    import scipy's clustering (about a second) before it can show the confusion explorer."""
    from indoor.analysis.explore import confusion_similarity_order
    from indoor.analysis.metrics import confusion_matrix

    matrix = confusion_matrix(np.asarray(labels), np.asarray(preds), n_classes)
    return pd.DataFrame({"similarity": confusion_similarity_order(matrix).astype(np.int64)})


def _sound_region_rows(regions: pd.DataFrame, sound: np.ndarray) -> pd.DataFrame:
    """The region rows of the images whose probabilities the analyses may use (all of them when none may)."""
    return regions[sound[regions["row"].to_numpy()]] if sound.any() else regions
