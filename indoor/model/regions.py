"""Region evidence for multi-class scenes: crops of a few candidate images scored by the cache's own backbone, so
that "the left half is a kitchen, the right half a dining room" is seen, not guessed from one probability vector.

Budgeted: only the images :func:`indoor.analysis.multiclass.region_pool` picks (a share of the data set, capped)
and the label-issue suspects it leaves out (:func:`indoor.analysis.label_evidence.region_suspects`: is the given
label in the picture beside the suggested class?), a fixed set of square crops each (:func:`region_boxes`: a
``grid`` x ``grid`` of overlapping windows and the centre).

The crops are scored by a **region head**: a logistic regression fit on crops (and the whole images) of ordinary
training images of every class (:func:`indoor.analysis.multiclass.reference_rows`: predicted as their label with
probability >= 0.8, none of the pool), each crop labelled with its image's label, its C chosen by grouped
cross-validated log loss (:func:`fit_region_head`). A head fit on whole images is out of its distribution on a
crop: a bare wall or a bed seen close up gets a confident class it has no reason for. The region head has seen
what the crops of each class look like, so it is surer on a crop that shows a class's objects and less sure on
one that could come from several classes. It never saw a pool image, so no candidate's given label leaks into
its evidence. When some class has fewer than :data:`MIN_REFERENCE` such images, the whole-image heads score the
crops instead (a train image's crops by the head of its own cross-validation fold, refit from the embeddings
with the build's C and seed; other images by the head fit on all of train), and the stats say so.

The scoring maths is pure and lives in :mod:`indoor.analysis.multiclass`; this module only decodes, crops and
runs the model (torch). The images it leaves out get coarser evidence without a second forward pass: the halves of
their feature map (:mod:`indoor.model.halves`).
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from indoor.analysis.label_evidence import region_suspects
from indoor.analysis.multiclass import (MAX_CONFIDENCE, REGION_COLUMNS, REGION_TOP, empty_regions, reference_rows,
                                       region_pool)
from indoor.data.images import load_rgb
from indoor.model.backbones import Backbone, fast_inference, preprocess_image
from indoor.model.probe import LinearHead, fit_linear_head, head_probs

GRID = 2
WINDOW = 0.55
MAX_CROPS = 6000  # about a minute of CPU forward passes at 160 px on 2 quiet cores
REFERENCE_CROPS = 3000  # crops of reference images for the region head, on top of MAX_CROPS
SUSPECT_CROPS = 5000  # crops of label-issue suspects (do both classes show?), on top of MAX_CROPS
REFERENCE_PER_CLASS = 30
MIN_REFERENCE = 3  # reference images every class with training images needs, else the whole-image heads score
REGION_HEAD_C = (0.05, 0.2)  # candidates for the region head's C (grouped 2-fold cross-validated log loss picks)


def region_boxes(width: int, height: int, *, grid: int = GRID, window: float = WINDOW,
                 centre: bool = True) -> tuple[np.ndarray, list[str]]:
    """Square crops of a ``width`` x ``height`` image: a ``grid`` x ``grid`` of windows of side ``window`` x the
    shorter side, spread evenly from edge to edge (they overlap when ``grid * window`` > 1), then the centre
    window. Returns ((R, 4) boxes as fractions of the image: x0, y0, x1, y1), [R names: "grid r,c" or "centre"])."""
    if grid < 1 or not 0.0 < window <= 1.0:
        raise ValueError("grid must be >= 1 and window in (0, 1]")
    side = window * min(width, height)
    xs = np.linspace(0.0, width - side, grid) if grid > 1 else np.array([(width - side) / 2])
    ys = np.linspace(0.0, height - side, grid) if grid > 1 else np.array([(height - side) / 2])
    boxes, names = [], []
    for r, y in enumerate(ys):
        for c, x in enumerate(xs):
            boxes.append((x, y, x + side, y + side))
            names.append(f"grid {r + 1},{c + 1}")
    if centre:
        x, y = (width - side) / 2, (height - side) / 2
        boxes.append((x, y, x + side, y + side))
        names.append("centre")
    scale = np.array([width, height, width, height], dtype=np.float64)
    return np.array(boxes, dtype=np.float64) / scale, names


class _CropDataset(Dataset):
    def __init__(self, paths: Sequence[str], preprocessing: dict, grid: int, window: float):
        self.paths, self.preprocessing, self.grid, self.window = list(paths), preprocessing, grid, window

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            image = load_rgb(self.paths[index])
        except Exception as exc:  # unreadable since the feature pass: no evidence for this image
            return index, None, None, f"{exc.__class__.__name__}: {exc}"
        width, height = image.size
        boxes, _ = region_boxes(width, height, grid=self.grid, window=self.window)
        crops = [preprocess_image(image.crop(tuple(np.round(b * [width, height, width, height]).astype(int))),
                                  **self.preprocessing) for b in boxes]
        return index, torch.stack(crops), boxes, ""


def _collate(batch):
    ok = [item for item in batch if item[1] is not None]
    return ([i[0] for i in ok], torch.cat([i[1] for i in ok]) if ok else None, [i[2] for i in ok],
            {i[0]: i[3] for i in batch if i[3]})


def fit_region_head(crop_embeddings: np.ndarray, whole_embeddings: np.ndarray, labels: np.ndarray, *,
                    n_classes: int, c_grid: Sequence[float] = REGION_HEAD_C, seed: int = 0) -> tuple[LinearHead, float]:
    """The region head: a logistic regression (:func:`indoor.model.probe.fit_linear_head`) on ``crop_embeddings``
    (n, R, D: R crops of n images) and ``whole_embeddings`` (n, D), every crop and image labelled with its image's
    ``labels`` (n,). Of ``c_grid``, the C with the lowest log loss on held-out images (2 folds, stratified by label,
    an image's crops never split between fit and test) is used. Returns (head, C)."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedGroupKFold

    crop_embeddings = np.asarray(crop_embeddings, dtype=np.float32)
    n, n_regions, dim = crop_embeddings.shape
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != n or len(whole_embeddings) != n or not len(c_grid):
        raise ValueError(f"{n} images' crops, {len(whole_embeddings)} whole embeddings, {len(labels)} labels, "
                         f"{len(c_grid)} values of C")
    x = np.concatenate([crop_embeddings, np.asarray(whole_embeddings, dtype=np.float32)[:, None]], axis=1)
    x = x.reshape(-1, dim)
    y = np.repeat(labels, n_regions + 1)
    image = np.repeat(np.arange(n), n_regions + 1)
    c_grid = [float(c) for c in c_grid]
    best = c_grid[0]
    if len(c_grid) > 1 and np.bincount(labels).max(initial=0) >= 2:
        losses = []
        folds = list(StratifiedGroupKFold(n_splits=2, shuffle=True, random_state=seed).split(x, y, image))
        for c in c_grid:
            loss = 0.0
            for fit, held in folds:
                head = fit_linear_head(x[fit], y[fit], n_classes=n_classes, c=c, seed=seed)
                held_probs = head_probs(head, x[held])  # float32 softmax: renormalised for sklearn's check
                loss += log_loss(y[held], held_probs / held_probs.sum(axis=1, keepdims=True),
                                 labels=np.arange(n_classes))
            losses.append(loss)
        best = c_grid[int(np.argmin(losses))]
    return fit_linear_head(x, y, n_classes=n_classes, c=best, seed=seed), best


def region_evidence(
    backbone: Backbone,
    paths: Sequence[str],
    *,
    labels: np.ndarray,
    probs: np.ndarray,
    embeddings: np.ndarray,
    split: np.ndarray,
    fold: np.ndarray,
    head: LinearHead,
    fold_heads: Sequence[LinearHead] | None = None,
    head_c: float = 0.05,
    seed: int = 0,
    max_images: int | None = None,
    max_crops: int = MAX_CROPS,
    reference_crops: int = REFERENCE_CROPS,
    suspect_crops: int = SUSPECT_CROPS,
    max_confidence: float = MAX_CONFIDENCE,
    grid: int = GRID,
    window: float = WINDOW,
    batch_size: int = 32,
    workers: int = 2,
    device: str = "cpu",
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Crop and score the multi-class pool of one build: (region table, stats).

    ``probs`` (N, C) are the build's out-of-sample probabilities (they choose the pool: images whose top
    probability is below ``max_confidence``, least sure first, and the reference images of the region head, see
    the module's docstring), ``embeddings`` (N, D) the whole images' (the region head's whole-image rows; the fold
    heads are refit from them unless ``fold_heads``, the build's, index = fold, are given), ``fold`` (N,) the train
    rows' cross-validation folds (-1 elsewhere), ``head`` the head that scored the other splits. At most
    ``max_crops`` crops (``grid``² + 1 per image) and ``max_images`` images of the unsure, plus at most
    ``suspect_crops`` crops of label-issue suspects the unsure leave out
    (:func:`indoor.analysis.label_evidence.region_suspects`: the pool is both), and at most ``reference_crops``
    crops of reference images (0: no region head, the whole-image heads score). ``forward``:
    the build's own (optimised) embedder, reused instead of tracing a new copy. Region table columns
    :data:`indoor.analysis.multiclass.REGION_COLUMNS`: one row per (pool image, crop) with the crop's box
    (fractions of the image) and its top classes; stats (JSON-ready): images (the pool, suspects included),
    crops, suspect images, reference images and crops, which head scored and its C, seconds, skipped.
    """
    started = time.perf_counter()
    n_regions = grid * grid + 1
    cap = max(0, max_crops // n_regions)
    wanted = region_pool(labels, probs, max_confidence=max_confidence)
    unsure = wanted[:cap if max_images is None else min(cap, max_images)]
    suspects = region_suspects(labels, probs, unsure, max_images=max(0, suspect_crops) // n_regions)
    pool = np.concatenate([unsure, suspects])
    stats = {"images": int(len(pool)), "unsure_images": int(len(wanted)), "suspect_images": int(len(suspects)),
             "crops_per_image": n_regions, "grid": grid, "window": window, "max_crops": max_crops,
             "max_confidence": max_confidence, "skipped": 0, "crops": 0, "reference_images": 0,
             "reference_crops": 0, "scored_by": "whole-image heads"}
    if not len(pool):
        stats["seconds"] = time.perf_counter() - started
        return region_table([], [], [], []), stats
    labels = np.asarray(labels, dtype=np.int64)
    split = np.asarray(split)
    train = split == "train"
    reference = reference_rows(labels, probs, split, pool, per_class=REFERENCE_PER_CLASS,
                               max_images=max(0, reference_crops) // n_regions, seed=seed)
    use_region_head = enough_reference(labels, reference, train, probs.shape[1])
    if not use_region_head:
        reference = reference[:0]
    rows_to_crop = np.concatenate([pool, reference])
    loader = DataLoader(_CropDataset([paths[r] for r in rows_to_crop], backbone.preprocessing(), grid, window),
                        batch_size=max(1, batch_size // n_regions), num_workers=workers, collate_fn=_collate)
    backbone.embedder.to(device).eval()
    pool_rows, boxes, pool_embs, ref_rows, ref_embs = [], [], [], [], []
    with torch.inference_mode():
        for index, inputs, batch_boxes, failed in loader:
            stats["skipped"] += sum(1 for i in failed if i < len(pool))
            if not index:
                continue
            inputs = inputs.to(device)
            if forward is None:
                forward = fast_inference(backbone.embedder, inputs) if device == "cpu" else backbone.embedder
            emb = forward(inputs).float().cpu().numpy().reshape(len(index), n_regions, -1)
            for i, e, b in zip(index, emb, batch_boxes):
                if i < len(pool):
                    pool_rows.append(int(pool[i]))
                    boxes.append(b)
                    pool_embs.append(e)
                else:
                    ref_rows.append(int(rows_to_crop[i]))
                    ref_embs.append(e)
    region_head = None
    # some reference images may be unreadable since the feature pass
    if use_region_head and enough_reference(labels, ref_rows, train, probs.shape[1]):
        region_head, c = fit_region_head(np.stack(ref_embs), np.asarray(embeddings[ref_rows], dtype=np.float32),
                                         labels[ref_rows], n_classes=probs.shape[1], seed=seed)
        stats.update(scored_by="region head", region_head_c=c, reference_images=len(ref_rows),
                     reference_crops=len(ref_rows) * n_regions)
    if region_head is not None:
        crop_probs = [head_probs(region_head, e) for e in pool_embs]
    else:  # too few reference images (or unreadable since the feature pass): the whole-image heads
        heads = _whole_image_heads(np.asarray(pool_rows, dtype=np.int64), labels, embeddings, train,
                                   np.asarray(fold), head, fold_heads, n_classes=probs.shape[1], c=head_c, seed=seed)
        crop_probs = [head_probs(heads.get(int(fold[row]) if train[row] else -1, head), e)
                      for row, e in zip(pool_rows, pool_embs)]
    stats["crops"] = len(pool_rows) * n_regions
    stats["seconds"] = time.perf_counter() - started
    _, names = region_boxes(1, 1, grid=grid, window=window)
    return region_table(pool_rows, boxes, crop_probs, names), stats


def enough_reference(labels: np.ndarray, rows, train: np.ndarray, n_classes: int) -> bool:
    """Every class with training images has :data:`MIN_REFERENCE` reference images among ``rows`` (and there are
    two such classes at least): else a head fit on them would not know some class."""
    trained = np.unique(labels[train])
    counts = np.bincount(labels[np.asarray(rows, dtype=np.int64)], minlength=n_classes)
    return len(trained) >= 2 and bool((counts[trained] >= MIN_REFERENCE).all())


def _whole_image_heads(rows: np.ndarray, labels: np.ndarray, embeddings: np.ndarray, train: np.ndarray,
                       fold: np.ndarray, head: LinearHead, fold_heads: Sequence[LinearHead] | None, *,
                       n_classes: int, c: float, seed: int) -> dict[int, LinearHead]:
    """{fold: the head that never saw that fold's labels} for the train ``rows``' folds (the build's
    ``fold_heads`` where given, else refit on the other folds' embeddings), and {-1: ``head``} for the rest."""
    heads = {-1: head}
    for k in sorted(set(int(f) for f in fold[rows] if f >= 0)):
        if fold_heads is not None and k < len(fold_heads):
            heads[k] = fold_heads[k]
            continue
        fit = np.flatnonzero(train & (fold != k) & (fold >= 0))
        heads[k] = fit_linear_head(np.asarray(embeddings[fit], dtype=np.float32), labels[fit], n_classes=n_classes,
                                   c=c, seed=seed)
    return heads


def region_table(rows: list[int], boxes: list[np.ndarray], crop_probs: list[np.ndarray],
                 names: list[str]) -> pd.DataFrame:
    """The region table (:data:`indoor.analysis.multiclass.REGION_COLUMNS`) of ``rows``' regions: their ``boxes``
    ((R, 4) each), the top classes of their probabilities (``crop_probs``: (R, C) each), named ``names``."""
    if not rows:
        return empty_regions()
    n_regions = len(names)
    p = np.stack(crop_probs)  # (n, R, C)
    top = np.argsort(-p, axis=2, kind="stable")[:, :, :REGION_TOP]
    data = {
        "row": np.repeat(np.asarray(rows, dtype=np.int64), n_regions),
        "region": np.tile(np.asarray(names, dtype=object), len(rows)).astype(str),
    }
    b = np.stack(boxes).reshape(-1, 4).astype(np.float32)
    for j, name in enumerate(("x0", "y0", "x1", "y1")):
        data[name] = b[:, j]
    kept = top.shape[2]  # fewer than REGION_TOP when the data set has fewer classes
    flat_top = top.reshape(-1, kept)
    flat_p = np.take_along_axis(p.reshape(-1, p.shape[2]), flat_top, axis=1)
    for k in range(REGION_TOP):
        data[f"class_{k + 1}"] = flat_top[:, k].astype(np.int64) if k < kept else np.full(len(flat_top), -1, np.int64)
        data[f"p_{k + 1}"] = flat_p[:, k].astype(np.float32) if k < kept else np.zeros(len(flat_top), np.float32)
    return pd.DataFrame(data)[REGION_COLUMNS]
