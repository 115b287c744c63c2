"""The feature pass: decode every image once, embed it with the frozen backbone, and compute its image properties,
pixel hash and thumbnail from the same decoded copy."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from indoor.cache.properties import ANALYSIS_SIDE, PROPERTY_COLUMNS, image_properties, make_thumbnail, pixel_hash, shrink
from indoor.data.images import ImageLoadError, load_rgb
from indoor.model.backbones import Backbone, fast_inference, preprocess_image
from indoor.model.halves import halves_embedder


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"



class _DecodeDataset(Dataset):
    """Decodes one image: model input tensor, image properties and thumbnail; failures become a reason."""

    def __init__(self, paths: Sequence[str], preprocessing: dict | None, thumb_size: int, extras: bool,
                 decode_side: int = 0):
        self.paths = list(paths)
        self.preprocessing = preprocessing  # preprocess_image's keywords; None: no model input (no embedding)
        self.image_size = preprocessing["size"] if preprocessing else 0
        # the decoded copy must hold the model's resize before its centre crop (size / crop_pct)
        self.input_side = (max(self.image_size, math.floor(self.image_size / preprocessing.get("crop_pct", 1.0)))
                           if preprocessing else 0)
        self.input_side = max(self.input_side, decode_side)  # decode as a build at that size would
        self.thumb_size = thumb_size
        self.extras = extras

    def _input(self, image) -> torch.Tensor:
        return preprocess_image(image, **self.preprocessing) if self.preprocessing else torch.empty(0)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            image = load_rgb(self.paths[index], draft_size=max(self.input_side, self.thumb_size, 128))
        except ImageLoadError as exc:
            return index, None, None, b"", "", exc.reason
        except Exception as exc:  # anything else a strange file throws must not kill the build
            return index, None, None, b"", "", f"cannot decode image ({exc.__class__.__name__}: {exc})"
        if not self.extras:
            return index, self._input(image), None, b"", "", ""
        width, height = image.info.get("original_size", image.size)
        digest = pixel_hash(image)  # of every decoded pixel
        # model input, properties and thumbnail all start from one reduced copy: one big resize per image, not three
        base = shrink(image, max(self.input_side, self.thumb_size, ANALYSIS_SIDE))
        tensor = self._input(base)
        props = image_properties(base, width=width, height=height)
        vector = np.array([props[c] for c in PROPERTY_COLUMNS], dtype=np.float32)
        return index, tensor, vector, make_thumbnail(base, size=self.thumb_size), digest, ""


def _collate(batch):
    """Runs in the worker: one stacked input tensor per batch (one shared-memory transfer, not one per image).

    -> (rows, inputs or None, properties, thumbnails, hashes, {row: reason} for the images that failed)."""
    ok = [item for item in batch if item[1] is not None]
    return (
        [item[0] for item in ok],
        torch.stack([item[1] for item in ok]) if ok else None,
        [item[2] for item in ok],
        [item[3] for item in ok],
        [item[4] for item in ok],
        {item[0]: item[5] for item in batch if item[5]},
    )


@dataclass
class Features:
    """Result of the feature pass; rows of failed images hold NaN and appear in ``errors`` (row -> reason).

    Streamed (``embeddings_to``): ``embeddings`` is the written ``.npy``, memory-mapped read-only; with
    ``thumbs_to`` the thumbnails are files and ``thumbnails`` is None."""

    embeddings: np.ndarray
    properties: np.ndarray
    thumbnails: list[bytes] | None
    hashes: list[str]
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0  # the whole pass, setup included
    setup_seconds: float = 0.0  # of which: building the optimised forward (once per pass, ~3 s on a CPU)
    forward: object = field(default=None, repr=False)  # the embedder as run (the optimised copy): reusable
    halves: np.ndarray | None = None  # (N, 4 * D) float16, memory-mapped: each image's four halves (``halves_to``)


def extract_features(
    paths: Sequence[str],
    backbone: Backbone | None,
    *,
    batch_size: int = 32,
    workers: int = 2,
    thumb_size: int = 128,
    device: str = "cpu",
    extras: bool = True,
    progress: bool = True,
    desc: str = "embedding",
    optimise: bool = True,
    decode_side: int = 0,
    embeddings_to: str | Path | None = None,
    thumbs_to: str | Path | None = None,
    chunk_rows: int | None = None,
    halves_to: str | Path | None = None,
) -> Features:
    """Embed every image with the frozen backbone; decoding runs in ``workers`` DataLoader processes.

    On the CPU the forward pass runs an optimised TorchScript copy of the embedder (``optimise=False``: the eager
    module), which gives the same embeddings to float tolerance. ``backbone=None``: no embedding at all (the
    properties, hashes and thumbnails of images whose embeddings come from elsewhere; ``embeddings`` is (N, 0)).
    ``decode_side``: decode (JPEG draft, the copy the properties are computed on) at least this large, as a build
    with that input size does, so that pixel hashes and properties match such a build's.

    Streaming, so that memory does not grow with the number of images: ``embeddings_to`` (a ``.npy`` path)
    receives the embeddings in chunks of ``chunk_rows`` rows (:class:`indoor.cache.writer.ChunkedArray`) instead of
    an (N, D) array in memory; ``thumbs_to`` (a folder) receives each thumbnail as it is made, as
    ``NNNNNN.jpg`` named by its row in ``paths`` (:func:`indoor.cache.format.thumb_name`'s numbering). The
    values are the same as in memory. Properties and hashes stay in memory (N x 11 float32, N short strings).

    ``halves_to`` (a ``.npy`` path): also stream each image's mean features over the left, right, top and bottom
    of the backbone's last feature map ((N, 4 x D) float16, :func:`indoor.model.halves.halves_embedder`) from
    the same forward pass; ``Features.halves`` is None when the backbone has no such map."""
    import time

    from indoor.cache.format import thumb_name
    from indoor.cache.writer import DEFAULT_CHUNK_ROWS, ChunkedArray

    from tqdm.auto import tqdm

    dataset = _DecodeDataset(paths, backbone.preprocessing() if backbone is not None else None, thumb_size, extras,
                             decode_side)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=_collate,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )
    n = len(dataset)
    shape = (n, backbone.embedding_dim if backbone is not None else 0)
    stream = (ChunkedArray(embeddings_to, shape, chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS)
              if embeddings_to is not None else None)
    embeddings = np.full(shape, np.nan, dtype=np.float32) if stream is None else None
    properties = np.full((n, len(PROPERTY_COLUMNS)), np.nan, dtype=np.float32)
    thumbs_dir = Path(thumbs_to) if thumbs_to is not None else None
    thumbnails: list[bytes] | None = [b""] * n if thumbs_dir is None else None
    hashes: list[str] = [""] * n
    errors: dict[int, str] = {}
    if backbone is not None:
        backbone.embedder.to(device).eval()
    forward = None  # built from the first batch: the optimised copy on the CPU (see fast_inference)
    halves_stream = None
    setup_seconds = 0.0
    start = time.perf_counter()
    with torch.inference_mode(), tqdm(total=n, desc=desc, unit="img", disable=not progress) as bar:
        for rows, inputs, batch_properties, batch_thumbnails, batch_hashes, failed in loader:
            errors.update(failed)
            if rows and backbone is not None:
                inputs = inputs.to(device)
                if forward is None:
                    setup_started = time.perf_counter()
                    with_halves = halves_embedder(backbone, inputs) if halves_to is not None else None
                    if with_halves is not None:
                        with_halves = fast_inference(with_halves, inputs) if optimise else with_halves
                        forward = _EmbeddingOf(with_halves)
                        halves_stream = ChunkedArray(halves_to, (n, 4 * shape[1]), dtype=np.float16,
                                                     chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS)
                    else:
                        forward = fast_inference(backbone.embedder, inputs) if optimise else backbone.embedder
                    setup_seconds = time.perf_counter() - setup_started
                if halves_stream is not None:
                    both = forward.with_halves(inputs).float().cpu().numpy()
                    values = both[:, 0]
                    halves_stream.write(rows, both[:, 1:].reshape(len(rows), -1))
                else:
                    values = forward(inputs).float().cpu().numpy()
                if stream is None:
                    embeddings[rows] = values
                else:
                    stream.write(rows, values)
            if rows and extras:
                properties[rows] = np.stack(batch_properties)
                for row, thumbnail, digest in zip(rows, batch_thumbnails, batch_hashes):
                    if thumbs_dir is None:
                        thumbnails[row] = thumbnail
                    else:
                        (thumbs_dir / Path(thumb_name(row)).name).write_bytes(thumbnail)
                    hashes[row] = digest
            bar.update(len(rows) + len(failed))
    if stream is not None:
        embeddings = stream.close()
    halves = halves_stream.close() if halves_stream is not None else None
    return Features(embeddings, properties, thumbnails, hashes, errors, time.perf_counter() - start, setup_seconds,
                    forward, halves)


class _EmbeddingOf:
    """The embedding (B, D) of a forward that returns (B, 5, D) (embedding, then four halves): what the callers of
    ``Features.forward`` (crops, augmented views, shortcut tests) expect; ``with_halves`` runs the whole output."""

    def __init__(self, with_halves: Callable[[torch.Tensor], torch.Tensor]):
        self.with_halves = with_halves

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.with_halves(images)[:, 0]
