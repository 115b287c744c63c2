"""A cache from predictions made anywhere (``python -m indoor import``): the user's probabilities, our thumbnails,
image properties, embeddings (theirs, or our backbone's), UMAP and every analysis, written like a built cache.

There is no model: ``head.pt`` is absent and ``meta["source"]["kind"] == "import"``. Train probabilities are taken
to be in-sample (the model was fit on those labels) unless ``out_of_sample``; then the analyses that need
out-of-sample probabilities use the val/test images only and say so (:func:`indoor.analysis.tables.build_tables`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from indoor.analysis.metrics import split_metrics
from indoor.analysis.tables import build_tables
from indoor.cache.build import BuildError, sample_table
from indoor.cache.format import Cache, in_sample_remedy, load_cache
from indoor.cache.predictions import read_predictions
from indoor.cache.projection import umap_2d
from indoor.cache.provenance import import_provenance, package_versions
from indoor.cache.writer import check_target, write_cache
from indoor.model.backbones import DEFAULT_BACKBONE, create_backbone
from indoor.model.checkpoint import file_sha256
from indoor.model.features import default_device, extract_features, seed_everything


@dataclass
class ImportOptions:
    """How to read the predictions and compute what they lack (thumbnails, properties, maybe embeddings)."""

    embeddings: str | None = None  # a .npy file (one row per predictions row) or a list column; None: our backbone
    logits: bool = False  # the values are raw scores: soft-max them
    out_of_sample: bool = False  # the train split's probabilities are out-of-sample (e.g. cross-validated)
    classes: Sequence[str] | None = None  # the order of a list column's entries (default: the labels, sorted)
    backbone: str = DEFAULT_BACKBONE  # embeds the images when no embeddings are given
    image_size: int = 224  # its input size; the images are decoded as a build at this size decodes them
    batch_size: int = 32
    workers: int = 2
    thumb_size: int = 128
    seed: int = 0
    device: str | None = None
    progress: bool = True


def import_predictions(root: str | Path, predictions: str | Path, out: str | Path,
                       options: ImportOptions | None = None, *, log: Callable[[str], None] = print,
                       force: bool = False) -> Cache:
    """Check ``predictions`` (see :mod:`indoor.cache.predictions`; images under ``root``) and write a cache to
    ``out`` (absent, empty or a cache, unless ``force``: checked first, before any work)."""
    check_target(out, force=force)
    options = options or ImportOptions()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    seed_everything(options.seed)
    read = read_predictions(predictions, root=root, embeddings=options.embeddings, logits=options.logits,
                            classes=options.classes)
    timings["read"] = time.perf_counter() - started
    for note in read.notes:
        log(f"note: {note}")
    samples = read.samples
    device = options.device or default_device()
    backbone = None
    if read.embeddings is None:
        backbone = create_backbone(options.backbone, image_size=options.image_size)
    log(f"{len(samples):,} predictions of {len(read.classes)} classes checked; decoding the images for thumbnails "
        f"and properties{' and embedding them with ' + backbone.name if backbone else ''}")
    features = extract_features(samples["path"].tolist(), backbone, batch_size=options.batch_size,
                                workers=options.workers, thumb_size=options.thumb_size, device=device,
                                progress=options.progress, desc="thumbnails" if backbone is None else "embedding",
                                decode_side=options.image_size)  # pixel hashes as a build at that size has them
    timings["images"] = features.seconds
    keep = np.array([row not in features.errors for row in range(len(samples))], dtype=bool)
    skipped = [{"sample_id": samples["sample_id"].iat[row], "path": samples["path"].iat[row], "reason": reason}
               for row, reason in sorted(features.errors.items())]
    if not keep.any():
        raise BuildError(f"none of the {len(samples)} images could be read; first problem: {skipped[0]['reason']}")
    samples = samples.loc[keep].reset_index(drop=True)
    probs = read.probs[keep].astype(np.float32)
    probs = probs / probs.sum(axis=1, keepdims=True)
    embeddings = (read.embeddings if read.embeddings is not None else features.embeddings)[keep]
    thumbnails = [t for t, k in zip(features.thumbnails, keep) if k]

    t0 = time.perf_counter()
    coords = umap_2d(embeddings, seed=options.seed)
    timings["umap"] = time.perf_counter() - t0
    table = sample_table(samples, probs, np.full(len(samples), -1, dtype=np.int64), coords, features.properties[keep])
    table["pixel_hash"] = pd.Series([h for h, k in zip(features.hashes, keep) if k], dtype=str)

    predictions = Path(predictions).expanduser().resolve()
    embedded = read.embeddings_from or f"backbone {backbone.name}"
    provenance = import_provenance(predictions=str(predictions), sha256=file_sha256(predictions),
                                   logits=options.logits, out_of_sample=options.out_of_sample, embeddings=embedded)
    t0 = time.perf_counter()
    tables = build_tables(table, probs, embeddings, read.classes, seed=options.seed, thumbnails=thumbnails,
                          probs_out_of_sample=provenance["probs_out_of_sample"],
                          in_sample_remedy=in_sample_remedy(provenance))
    timings["analyses"] = time.perf_counter() - t0
    timings["total_before_write"] = time.perf_counter() - started
    labels, splits = samples["label"].to_numpy(), samples["split"].to_numpy()
    meta = {
        "classes": read.classes,
        "data_root": str(read.root),
        "layout": "import",
        "backbone": ({"name": backbone.name, "weights": backbone.weights, "embedding_dim": backbone.embedding_dim}
                     if backbone else {"name": "imported embeddings", "weights": embedded,
                                       "embedding_dim": int(embeddings.shape[1])}),
        "image_size": backbone.image_size if backbone else 0,
        "folds": 0,
        "seed": options.seed,
        "finetune": None,
        "metrics": split_metrics(probs, labels, splits, read.classes),
        "timings": timings,
        "versions": package_versions(),
        "skipped": skipped,
        "notes": read.notes,
        **provenance,  # source, probs_source, probs_out_of_sample, head
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": device,
    }
    if backbone is not None:
        meta["preprocessing"] = backbone.preprocessing()
    write_cache(out, samples=table, probs=probs, embeddings=embeddings, meta=meta, thumbnails=thumbnails,
                tensors={}, tables=tables, force=force)
    return load_cache(out)
