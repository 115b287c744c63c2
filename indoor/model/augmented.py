"""Feature-space augmentation, the remedy for a confirmed shortcut (``python -m indoor build --augment``): the
embeddings of K randomly augmented views of every training image (brightness jitter, hue jitter, random
grayscale, blur, random resized crop: :func:`indoor.model.intervene.augment`). Cheap with a frozen backbone on a
CPU: one more embedding pass per view. The build uses them in one of two ways (``--augment-mode``):

- **erase** (default): :func:`shift_directions` finds the few directions along which the augmentation moves the
  embeddings (the principal directions of view − original), and the linear head is fit on the embeddings with
  those directions projected out, so it cannot read the property the augmentation changes;
- **views**: the head is trained on the views beside the originals.

Views are seeded per (seed, image, view), so a rebuild draws the same views whichever worker decodes an image.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from indoor.analysis.interventions import ERASE_DIRECTIONS
from indoor.cache.properties import ANALYSIS_SIDE, shrink
from indoor.data.images import load_rgb
from indoor.model.backbones import Backbone, fast_inference, preprocess_image
from indoor.model.intervene import augment


class _ViewsDataset(Dataset):
    """One image -> its ``views`` augmented model inputs (views, 3, S, S); an unreadable image -> None."""

    def __init__(self, paths: Sequence[str], preprocessing: dict, kinds: Sequence[str], views: int, seed: int):
        self.paths, self.preprocessing = list(paths), preprocessing
        self.kinds, self.views, self.seed = tuple(kinds), int(views), int(seed)
        size = int(preprocessing["size"])
        self.side = max(size, int(size / float(preprocessing.get("crop_pct", 1.0) or 1.0)), ANALYSIS_SIDE)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            base = shrink(load_rgb(self.paths[index], draft_size=self.side), self.side)
        except Exception:  # the build already skipped what it could not read; a file that changed since: no views
            return index, None
        views = [augment(base, self.kinds, np.random.default_rng([self.seed, index, v])) for v in range(self.views)]
        return index, torch.stack([preprocess_image(view, **self.preprocessing) for view in views])


def _collate(batch):
    ok = [item for item in batch if item[1] is not None]
    return [item[0] for item in ok], (torch.cat([item[1] for item in ok]) if ok else None)


_GRAM_ROWS = 8192  # shifts accumulated into the D x D Gram matrix at a time


def shift_directions(originals: np.ndarray, augmented: np.ndarray, k: int = ERASE_DIRECTIONS) -> np.ndarray:
    """(D, k') orthonormal columns: the ``k`` principal directions of the shifts ``augmented[i, v] - originals[i]``
    (uncentred, so the mean shift counts), the directions along which the augmentation moves the embeddings most
    (the probe passes standardised embeddings).
    ``originals`` (N, D), ``augmented`` (N, K, D) with NaN views for unreadable images (skipped); k' = min(k, D,
    number of readable views). Memory: one D x D matrix, the shifts are accumulated in chunks."""
    originals = np.asarray(originals)
    dim = originals.shape[1]
    gram = np.zeros((dim, dim), dtype=np.float64)
    count = 0
    for start in range(0, len(originals), max(1, _GRAM_ROWS // max(1, augmented.shape[1]))):
        stop = start + max(1, _GRAM_ROWS // max(1, augmented.shape[1]))
        shifts = (np.asarray(augmented[start:stop], dtype=np.float64)
                  - np.asarray(originals[start:stop], dtype=np.float64)[:, None, :]).reshape(-1, dim)
        shifts = shifts[np.isfinite(shifts).all(axis=1)]
        gram += shifts.T @ shifts
        count += len(shifts)
    k = int(min(k, dim, count))
    if k <= 0:
        return np.zeros((dim, 0), dtype=np.float64)
    values, vectors = np.linalg.eigh(gram)
    return vectors[:, np.argsort(values)[::-1][:k]]


def augmented_embeddings(
    paths: Sequence[str],
    backbone: Backbone,
    kinds: Sequence[str],
    *,
    views: int = 2,
    seed: int = 0,
    batch_size: int = 32,
    workers: int = 2,
    device: str = "cpu",
    forward=None,
    progress: bool = True,
) -> tuple[np.ndarray, float]:
    """(embeddings (N, views, D) of ``views`` augmented views of each image, NaN for an image that could not be
    read; seconds). ``forward`` is the embedder to run (e.g. the feature pass's optimised copy)."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    dataset = _ViewsDataset(paths, backbone.preprocessing(), kinds, views, seed)
    per_batch = max(1, batch_size // max(1, views))
    loader = DataLoader(dataset, batch_size=per_batch, num_workers=workers, collate_fn=_collate,
                        prefetch_factor=4 if workers > 0 else None)
    out = np.full((len(dataset), views, backbone.embedding_dim), np.nan, dtype=np.float32)
    backbone.embedder.to(device).eval()
    with torch.inference_mode(), tqdm(total=len(dataset), desc=f"{views} augmented view(s)", unit="img",
                                      disable=not progress) as bar:
        for rows, inputs in loader:
            if rows:
                inputs = inputs.to(device)
                if forward is None:
                    forward = fast_inference(backbone.embedder, inputs) if device == "cpu" else backbone.embedder
                out[rows] = forward(inputs).float().cpu().numpy().reshape(len(rows), views, -1)
            bar.update(per_batch)
    return out, time.perf_counter() - started
