"""Region evidence for multi-class scenes: crops of a few candidate images scored by the cache's own backbone and
head, so that "the left half is a kitchen, the right half a dining room" is seen, not guessed from one
probability vector.

Budgeted: only the images :func:`indoor.analysis.multiclass.region_pool` picks (a share of the data set, capped),
a fixed set of square crops each (:func:`region_boxes`: a ``grid`` x ``grid`` of overlapping windows and the
centre). A train image's crops are scored by the head of its own cross-validation fold (refit from the
embeddings with the build's C and seed), so its given label never leaks into its evidence; other images use the
head fit on all of train. The scoring maths is pure and lives in :mod:`indoor.analysis.multiclass`; this module
only decodes, crops and runs the model (torch).
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from indoor.analysis.multiclass import MAX_CONFIDENCE, REGION_COLUMNS, REGION_TOP, empty_regions, region_pool
from indoor.data.images import load_rgb
from indoor.model.backbones import Backbone, fast_inference, preprocess_image
from indoor.model.probe import LinearHead, fit_linear_head, head_probs

GRID = 2
WINDOW = 0.55
MAX_CROPS = 6000  # about a minute of CPU forward passes at 160 px on 2 quiet cores


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
    probability is below ``max_confidence``, least sure first), ``embeddings`` (N, D) refit the fold heads unless
    ``fold_heads`` (the build's, index = fold) are given, ``fold`` (N,) the train rows' cross-validation folds
    (-1 elsewhere), ``head`` the head that scored the other splits. At most ``max_crops`` crops (``grid``² + 1
    per image) and ``max_images`` images. ``forward``: the build's own (optimised) embedder, reused instead of
    tracing a new copy. Region table columns :data:`indoor.analysis.multiclass.REGION_COLUMNS`: one row per
    (image, crop) with the crop's box (fractions of the image) and its top classes; stats (JSON-ready): images,
    crops, whether the budget cut the pool, seconds, skipped.
    """
    started = time.perf_counter()
    n_regions = grid * grid + 1
    cap = max(0, max_crops // n_regions)
    wanted = region_pool(labels, probs, max_confidence=max_confidence)
    pool = wanted[:cap if max_images is None else min(cap, max_images)]
    stats = {"images": int(len(pool)), "unsure_images": int(len(wanted)), "crops_per_image": n_regions,
             "grid": grid, "window": window, "max_crops": max_crops, "max_confidence": max_confidence,
             "skipped": 0, "crops": 0}
    if not len(pool):
        stats["seconds"] = time.perf_counter() - started
        return _table([], [], [], []), stats
    heads = {-1: head}
    train = np.asarray(split) == "train"
    for k in sorted(set(int(f) for f in np.asarray(fold)[pool] if f >= 0)):
        if fold_heads is not None and k < len(fold_heads):
            heads[k] = fold_heads[k]
            continue
        fit = np.flatnonzero(train & (fold != k) & (fold >= 0))
        heads[k] = fit_linear_head(np.asarray(embeddings[fit], dtype=np.float32), np.asarray(labels)[fit],
                                   n_classes=probs.shape[1], c=head_c, seed=seed)
    loader = DataLoader(_CropDataset([paths[r] for r in pool], backbone.preprocessing(), grid, window),
                        batch_size=max(1, batch_size // n_regions), num_workers=workers, collate_fn=_collate)
    backbone.embedder.to(device).eval()
    rows, boxes, crop_probs = [], [], []
    with torch.inference_mode():
        for index, inputs, batch_boxes, failed in loader:
            stats["skipped"] += len(failed)
            if not index:
                continue
            inputs = inputs.to(device)
            if forward is None:
                forward = fast_inference(backbone.embedder, inputs) if device == "cpu" else backbone.embedder
            emb = forward(inputs).float().cpu().numpy().reshape(len(index), n_regions, -1)
            for i, e, b in zip(index, emb, batch_boxes):
                row = int(pool[i])
                rows.append(row)
                boxes.append(b)
                crop_probs.append(head_probs(heads.get(int(fold[row]) if train[row] else -1, head), e))
    stats["crops"] = len(rows) * n_regions
    stats["seconds"] = time.perf_counter() - started
    _, names = region_boxes(1, 1, grid=grid, window=window)
    return _table(rows, boxes, crop_probs, names), stats


def _table(rows: list[int], boxes: list[np.ndarray], crop_probs: list[np.ndarray], names: list[str]) -> pd.DataFrame:
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
