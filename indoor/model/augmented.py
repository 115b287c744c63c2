"""Feature-space augmentation, the remedy for a confirmed shortcut (``python -m indoor build --augment``): the
embeddings of K randomly augmented views of every training image (brightness jitter, hue jitter, random
grayscale, blur, random resized crop: :func:`indoor.model.intervene.augment`), for the linear head to be trained
on beside the originals. Cheap with a frozen backbone on a CPU: one more embedding pass per view.

Views are seeded per (seed, image, view), so a rebuild draws the same views whichever worker decodes an image.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

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
