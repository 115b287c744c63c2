"""Region evidence for every image, from the forward pass the build runs anyway: the mean feature over the left,
right, top and bottom of the backbone's last feature map (:func:`halves_embedder`, kept by
:func:`indoor.model.features.extract_features` ``halves_to``), scored by a *halves head* fit the region head's way
(:func:`indoor.model.regions.fit_region_head`) on the halves of the same reference images
(:func:`half_evidence`). The crops of :mod:`indoor.model.regions` see a few images at full resolution; the halves
cover every image, at no decoding and no forward pass: among the images the crops leave out (mostly those the model
is sure of) they find scenes with a second class in one half (:func:`indoor.analysis.multiclass.half_candidates`),
and they are a second view of every candidate (:func:`indoor.analysis.multiclass.rank_with_halves`). Multi-class
evidence only, never a judge of a label.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from indoor.analysis.multiclass import HALVES, empty_regions, reference_rows
from indoor.model.backbones import Backbone
from indoor.model.probe import head_probs
from indoor.model.regions import (
    GRID,
    MIN_REFERENCE,
    REFERENCE_CROPS,
    REFERENCE_PER_CLASS,
    enough_reference,
    fit_region_head,
    region_table,
)

HALVES_SCRATCH = "halves.tmp.npy"  # the build's scratch file of the feature pass's halves (staging only)

HALF_SHARE = 0.4  # each half region: this share of the last feature map's width (left / right) or height


class HalvesEmbedder(nn.Module):
    """(B, 5, D): a timm CNN's pooled embedding (what ``Backbone.embedder`` gives), then the mean feature of the
    left, right, top and bottom ``share`` of its last feature map: region evidence for every image at the cost of
    the one forward pass the build runs anyway (:func:`half_evidence`)."""

    def __init__(self, model: nn.Module, share: float = HALF_SHARE):
        super().__init__()
        self.model, self.share = model, share

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        fmap = self.model.forward_features(images)
        whole = self.model.forward_head(fmap, pre_logits=True)
        height, width = int(fmap.shape[-2]), int(fmap.shape[-1])
        rows, cols = max(1, round(height * self.share)), max(1, round(width * self.share))
        return torch.stack([whole, fmap[:, :, :, :cols].mean(dim=(2, 3)), fmap[:, :, :, width - cols:].mean(dim=(2, 3)),
                            fmap[:, :, :rows, :].mean(dim=(2, 3)), fmap[:, :, height - rows:, :].mean(dim=(2, 3))],
                           dim=1)


def halves_embedder(backbone: Backbone, example: torch.Tensor) -> nn.Module | None:
    """The backbone's embedder that also returns its halves (:class:`HalvesEmbedder`: (B, 5, D), the embedding
    first), or None when the backbone is not a timm CNN whose embedding is the plain mean of a (B, D, H, W) feature
    map (a transformer's tokens, another pooling): then a half is not on the embedding's scale. ``example``: a batch
    of model inputs, two of which are run once to check."""
    model = getattr(backbone.embedder, "model", None)
    if model is None:
        return None
    sample = example[:2]
    try:
        with torch.no_grad():
            fmap = model.forward_features(sample)
            if fmap.ndim != 4:
                return None
            whole = backbone.embedder(sample)
            if whole.shape != fmap.shape[:2] or not torch.allclose(
                    fmap.mean(dim=(2, 3)), whole, rtol=1e-4, atol=1e-5 * float(whole.abs().max()) + 1e-6):
                return None
    except (AttributeError, NotImplementedError, RuntimeError, TypeError):  # no timm CNN's forward_features / head
        return None
    return HalvesEmbedder(model).eval()


def half_boxes(width: np.ndarray, height: np.ndarray, *, crop_pct: float = 1.0,
               share: float = HALF_SHARE) -> np.ndarray:
    """(N, 4, 4) boxes (x0, y0, x1, y1 as fractions of each image) of the left, right, top and bottom halves
    (:data:`indoor.analysis.multiclass.HALVES`) of the square the model sees: the centre ``crop_pct`` of the
    shorter side (the backbone's preprocessing), of which each half covers ``share``."""
    width = np.asarray(width, dtype=np.float64)
    height = np.asarray(height, dtype=np.float64)
    side = np.minimum(width, height) * min(1.0, float(crop_pct))
    x0, y0 = (width - side) / 2, (height - side) / 2
    x1, y1, part = x0 + side, y0 + side, share * side
    boxes = np.stack([np.stack([x0, y0, x0 + part, y1], axis=1), np.stack([x1 - part, y0, x1, y1], axis=1),
                      np.stack([x0, y0, x1, y0 + part], axis=1), np.stack([x0, y1 - part, x1, y1], axis=1)], axis=1)
    return boxes / np.stack([width, height, width, height], axis=1)[:, None, :]


def half_evidence(
    halves: np.ndarray,
    *,
    labels: np.ndarray,
    probs: np.ndarray,
    embeddings: np.ndarray,
    split: np.ndarray,
    sizes: np.ndarray,
    pool: np.ndarray,
    source_rows: np.ndarray | None = None,
    crop_pct: float = 1.0,
    seed: int = 0,
    reference_images: int = REFERENCE_CROPS // (GRID * GRID + 1),
    chunk_rows: int = 4096,
) -> tuple[pd.DataFrame, dict]:
    """Region evidence for every image, from the halves of the backbone's last feature map that the feature pass
    kept (``halves``: (M, 4 x D) float16, :func:`indoor.model.features.extract_features` ``halves_to``; row
    ``source_rows[i]`` is image i's, ``source_rows`` None: row i). No image is decoded again.

    The halves are scored by their own region head: :func:`fit_region_head` on the halves and whole embeddings of
    the reference images :func:`indoor.model.regions.region_evidence` uses
    (:func:`indoor.analysis.multiclass.reference_rows`: the same ``seed`` and budget, none of ``pool``, the rows the
    crops cover), each half labelled with its image's label. A reference image is itself scored by a
    head fit on the other half of the reference images, so no image's own label is in its evidence.
    ``labels`` (N,), ``probs`` (N, C) out-of-sample, ``embeddings`` (N, D), ``split`` (N,), ``sizes`` (N, 2) the
    images' width and height (for the boxes, :func:`half_boxes`). Returns (region table, columns
    :data:`indoor.analysis.multiclass.REGION_COLUMNS`, regions named :data:`indoor.analysis.multiclass.HALVES`;
    stats: images, reference images, the head's C, seconds). Too few reference images for some class
    (:data:`MIN_REFERENCE`): no evidence, and the stats say why."""
    started = time.perf_counter()
    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(probs)
    n, n_classes = probs.shape
    dim = int(np.asarray(embeddings[:1]).shape[1])
    if halves.shape[1] != len(HALVES) * dim:
        raise ValueError(f"halves have {halves.shape[1]} columns, expected {len(HALVES)} x {dim}")
    source = np.arange(n) if source_rows is None else np.asarray(source_rows, dtype=np.int64)
    split = np.asarray(split)
    pool = np.asarray(pool, dtype=np.int64)
    stats = {"images": 0, "reference_images": 0, "share": HALF_SHARE, "scored_by": None}

    def read(rows: np.ndarray) -> np.ndarray:  # (len(rows), 4, D) float32
        return np.asarray(halves[source[rows]], dtype=np.float32).reshape(len(rows), len(HALVES), dim)

    reference = reference_rows(labels, probs, split, pool, per_class=REFERENCE_PER_CLASS,
                               max_images=reference_images, seed=seed)
    train = split == "train"
    if not enough_reference(labels, reference, train, n_classes):
        stats.update(seconds=time.perf_counter() - started,
                     reason=f"fewer than {MIN_REFERENCE} surely predicted training images in some class")
        return empty_regions(), stats
    whole = np.asarray(embeddings[reference], dtype=np.float32)
    head, c = fit_region_head(read(reference), whole, labels[reference], n_classes=n_classes, seed=seed)
    # two halves of the reference images, each class split evenly: each half's images are scored by the other's head
    rng = np.random.default_rng(seed)
    side = np.zeros(len(reference), dtype=bool)
    for k in np.unique(labels[reference]):
        members = rng.permutation(np.flatnonzero(labels[reference] == k))
        side[members[::2]] = True
    heads = {-1: head}
    targets = np.arange(n)
    scored_by = np.full(n, -1, dtype=np.int64)
    for part, own, other in ((0, side, ~side), (1, ~side, side)):
        scored_by[reference[own]] = part  # scored by the head fit on the other side
        if enough_reference(labels, reference[other], train, n_classes):
            heads[part] = fit_region_head(read(reference[other]), whole[other], labels[reference[other]],
                                          n_classes=n_classes, c_grid=(c,), seed=seed)[0]
        else:  # too few on the other side to score these without their own labels: no evidence for them
            targets = np.setdiff1d(targets, reference[own])
    names = list(HALVES)
    sizes = np.asarray(sizes, dtype=np.float64)
    frames = []
    for start in range(0, len(targets), max(1, chunk_rows)):
        chunk = targets[start:start + chunk_rows]
        x = read(chunk)
        p = np.empty((len(chunk), len(names), n_classes), dtype=np.float64)
        for which in np.unique(scored_by[chunk]):
            at = np.flatnonzero(scored_by[chunk] == which)
            p[at] = head_probs(heads[int(which)], x[at].reshape(-1, dim)).reshape(len(at), len(names), n_classes)
        boxes = half_boxes(sizes[chunk, 0], sizes[chunk, 1], crop_pct=crop_pct)
        frames.append(region_table(chunk.tolist(), list(boxes), list(p), names))
    table = pd.concat(frames, ignore_index=True) if frames else empty_regions()
    stats.update(images=len(targets), reference_images=len(reference), region_head_c=c,
                 scored_by="halves head", seconds=time.perf_counter() - started)
    return table, stats


def with_half_evidence(regions: pd.DataFrame, stats: dict, halves: np.ndarray | None,
                       **kwargs) -> tuple[pd.DataFrame, dict]:
    """The build's region evidence (``regions``, ``stats`` from :func:`indoor.model.regions.region_evidence`) with
    the halves of every image appended (:func:`half_evidence` with ``kwargs``; the cropped rows are no reference
    images) and their stats under ``stats["halves"]``; unchanged when ``halves`` is None (a backbone without a
    feature map, or one fine-tuned since the feature pass)."""
    if halves is None:
        return regions, stats
    found, stats["halves"] = half_evidence(halves, pool=regions["row"].unique(), **kwargs)
    stats["seconds"] += stats["halves"]["seconds"]
    if len(found):
        regions = found if regions.empty else pd.concat([regions, found], ignore_index=True)
    return regions, stats
