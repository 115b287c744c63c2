"""Build an inference cache from a data set: embed -> out-of-sample probabilities -> UMAP -> metrics -> write.

The build streams into the cache's staging folder from its start (:func:`indoor.cache.writer.stage_cache`): the
embeddings go into ``embeddings.npy`` chunk by chunk as the images are embedded, each thumbnail into ``thumbs/`` as
it is made, and the later steps read the memory-mapped file; nothing is swapped into ``--out`` before the end,
so a build that fails or is killed midway leaves the earlier cache as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from indoor.analysis.tables import build_tables
from indoor.model.backbones import DEFAULT_BACKBONE, create_backbone
from indoor.cache import Cache, check_target, load_cache
from indoor.data.layouts import DatasetIndex
from indoor.cache.properties import PROPERTY_COLUMNS
from indoor.analysis.metrics import split_metrics
from indoor.cache.projection import umap_2d
from indoor.analysis.interventions import ERASE_DIRECTIONS
from indoor.model.probe import (DEFAULT_HEAD_C, fit_linear_head, head_from_linear, head_probs, out_of_fold_probs,
                                usable_folds)
from indoor.model.checkpoint import CheckpointError, class_order
from indoor.cache.format import EMBEDDINGS_FILE, PROBS_FILE, in_sample_remedy, thumb_name
from indoor.cache.writer import DEFAULT_CHUNK_ROWS, StagedCache, stage_cache
from indoor.cache.provenance import build_provenance, package_versions
from indoor.model.features import default_device, extract_features, seed_everything
from indoor.model.halves import HALVES_SCRATCH, with_half_evidence
from indoor.model.regions import region_evidence
from indoor.model.finetune import finetune


@dataclass
class BuildOptions:
    backbone: str = DEFAULT_BACKBONE
    image_size: int | None = 224  # None: the checkpoint architecture's pretrained config (224 without weights)
    folds: int = 5
    seed: int = 0
    batch_size: int = 32
    workers: int = 2
    head_c: float = DEFAULT_HEAD_C
    thumb_size: int = 128
    finetune_epochs: int = 0
    device: str | None = None
    progress: bool = True
    # a user's own weights (see indoor.model.checkpoint): the architecture is `backbone`, no download
    weights: str | None = None
    head: str = "probe"  # "model": val/test from the checkpoint's own classifier (train: the out-of-fold probe)
    class_map: str | None = None  # the checkpoint's output order: a file, or "sorted"; default its own names
    weights_independent: bool = False  # the checkpoint never saw this data set's train labels
    # preprocessing overrides (None: the backbone's; with weights, the architecture's pretrained config)
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    interpolation: str | None = None
    crop_pct: float | None = None
    # shortcut tests and their remedy (indoor.analysis.interventions)
    augment: tuple[str, ...] = ()  # --augment: augmented views of every train image, used as augment_mode says
    augment_views: int = 2  # K views per train image
    augment_mode: str = "auto"  # erase: project out the directions the views move; views: train on them; both;
    # auto: erase or views, whichever has the higher out-of-fold top-1
    erase_directions: int = ERASE_DIRECTIONS  # directions projected out (erase, both)
    shortcut_tests: int = 3  # the top findings tested at build time (0: none)
    test_images: int = 64  # images edited per test
    region_crops: int = 6000  # multi-class region evidence: at most this many crops (0: none; indoor.model.regions)
    chunk_rows: int = DEFAULT_CHUNK_ROWS  # rows per chunk of the streamed arrays (embeddings.npy, probs.npy)


SCRATCH_FILE = "embeddings.all.tmp.npy"  # the feature pass's rows, unreadable images included (staging only)
HEAD_CHUNK_ROWS = 8192  # val/test rows scored by the head at a time (fixed: the same numbers whatever chunk_rows)


class BuildError(RuntimeError):
    """The build cannot produce a cache (e.g. every image unreadable); the message says why."""


def build_cache(
    index: DatasetIndex,
    out: str | Path,
    options: BuildOptions | None = None,
    *,
    log: Callable[[str], None] = print,
    force: bool = False,
) -> Cache:
    """Compute everything the dashboard needs for ``index`` and write it atomically to ``out``.

    ``out`` must be absent, empty or a cache (checked first, before any work), unless ``force``. The arrays and
    thumbnails are written into a staging folder inside ``out`` as they are computed (see the module's note)."""
    check_target(out, force=force)
    out = Path(out)
    created = not out.exists()
    try:
        with stage_cache(out, force=force) as staged:
            _build(index, staged, options or BuildOptions(), log)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a failed first build leaves no empty folder behind
        raise
    return load_cache(out)


def _build(index: DatasetIndex, staged: StagedCache, options: BuildOptions, log: Callable[[str], None]) -> None:
    device = options.device or default_device()
    seed_everything(options.seed)
    if device == "cpu":
        torch.set_num_threads(max(1, torch.get_num_threads()))
    timings: dict[str, float] = {}
    started = time.perf_counter()

    backbone = create_backbone(options.backbone, image_size=options.image_size, weights=options.weights,
                               mean=options.mean, std=options.std, interpolation=options.interpolation,
                               crop_pct=options.crop_pct)
    own_order, order_source = _own_head_order(backbone, index.classes, options)  # checked before any embedding
    samples = index.samples.reset_index(drop=True)
    features = extract_features(
        samples["path"].tolist(),
        backbone,
        batch_size=options.batch_size,
        workers=options.workers,
        thumb_size=options.thumb_size,
        device=device,
        progress=options.progress,
        embeddings_to=staged.staging / SCRATCH_FILE,
        thumbs_to=staged.thumbs,
        chunk_rows=options.chunk_rows,
        halves_to=(staged.staging / HALVES_SCRATCH  # region evidence of every image (a fine-tune changes the map)
                   if options.region_crops > 0 and options.finetune_epochs <= 0 else None),
    )
    timings["embed"] = features.seconds
    n_embedded = len(samples)
    skipped = [
        {"sample_id": sample_id, "path": str(index.root / sample_id), "reason": reason} for sample_id, reason in index.missing
    ]
    for row, reason in sorted(features.errors.items()):
        skipped.append({"sample_id": samples["sample_id"].iat[row], "path": samples["path"].iat[row], "reason": reason})
    keep = np.array([row not in features.errors for row in range(len(samples))], dtype=bool)
    if not keep.any():
        raise BuildError(f"none of the {len(samples)} images could be read; first problem: {skipped[0]['reason'] if skipped else '?'}")
    samples = samples.loc[keep].reset_index(drop=True)
    embeddings = _kept_embeddings(staged, features.embeddings, keep, options.chunk_rows)
    properties = features.properties[keep]
    _renumber_thumbnails(staged, keep)
    thumbnails = [str(staged.staging / thumb_name(row)) for row in range(len(samples))]  # files, read by path
    hashes = [h for h, k in zip(features.hashes, keep) if k]
    features.embeddings = None  # the scratch file's map (removed before the swap)
    labels = samples["label"].to_numpy()
    is_train = (samples["split"] == "train").to_numpy()
    missing_train = [c for i, c in enumerate(index.classes) if not (labels[is_train] == i).any()]
    if missing_train:
        raise BuildError(f"after skipping unreadable images, class {missing_train[0]!r} has no training image")

    finetune_info = None
    model_state = None
    if options.finetune_epochs > 0:
        t0 = time.perf_counter()
        log(f"fine-tuning {backbone.name} for {options.finetune_epochs} epoch(s) on {device}")
        losses = finetune(
            backbone,
            samples.loc[is_train, "path"].tolist(),
            labels[is_train].tolist(),
            n_classes=len(index.classes),
            epochs=options.finetune_epochs,
            batch_size=options.batch_size,
            workers=options.workers,
            device=device,
            seed=options.seed,
            progress=options.progress,
            augment=options.augment,
        )
        scratch = staged.staging / "embeddings.finetuned.tmp.npy"
        extract_features(
            samples["path"].tolist(), backbone, batch_size=options.batch_size, workers=options.workers,
            device=device, extras=False, progress=options.progress, desc="re-embedding",
            embeddings_to=scratch, chunk_rows=options.chunk_rows,
        )
        scratch.replace(staged.staging / EMBEDDINGS_FILE)
        embeddings = np.load(staged.staging / EMBEDDINGS_FILE, mmap_mode="r", allow_pickle=False)
        model_state = {k: v.detach().cpu() for k, v in backbone.embedder.state_dict().items()}
        finetune_info = {"epochs": options.finetune_epochs, "train_loss": losses, "device": device}
        timings["finetune"] = time.perf_counter() - t0

    augmented = None  # (n_train, K, D): --augment's views of the train images, fit on beside them
    if options.augment and options.augment_views > 0:
        from indoor.model.augmented import augmented_embeddings

        augmented, timings["augment"] = augmented_embeddings(
            samples.loc[is_train, "path"].tolist(), backbone, options.augment, views=options.augment_views,
            seed=options.seed, batch_size=options.batch_size, workers=options.workers, device=device,
            forward=features.forward if finetune_info is None else None, progress=options.progress)
    t0 = time.perf_counter()
    n_classes = len(index.classes)
    probs = np.zeros((len(samples), n_classes), dtype=np.float64)
    fold = np.full(len(samples), -1, dtype=np.int64)
    folds = usable_folds(labels[is_train], max(2, options.folds), error=BuildError)  # one line, not a traceback
    # --augment-mode auto: fit both ways, keep the one whose out-of-fold top-1 on the original train images is higher
    if augmented is None:
        candidates: tuple[str, ...] = ("views",)  # no views: a plain head, whatever the mode
    elif options.augment_mode == "auto":
        candidates = ("erase", "views")
    else:
        candidates = (options.augment_mode,)
    fits, oof_top1 = {}, {}
    for mode in candidates:
        mode_heads: list = []  # each fold's head: scores the crops of its held-out images (region evidence)
        fits[mode] = (*out_of_fold_probs(
            embeddings[is_train], labels[is_train], n_classes=n_classes, folds=folds, c=options.head_c,
            seed=options.seed, progress=options.progress, augmented=augmented, heads=mode_heads,
            augment_mode=mode, erase_directions=options.erase_directions,
        ), mode_heads)
        oof_top1[mode] = float(np.mean(fits[mode][0].argmax(axis=1) == labels[is_train])) if is_train.any() else 0.0
    augment_mode = max(candidates, key=lambda mode: (oof_top1[mode], mode == "erase"))  # a tie: erase
    train_probs, train_fold, fold_heads = fits[augment_mode]
    probs[is_train], fold[is_train] = train_probs, train_fold
    head = fit_linear_head(embeddings[is_train], labels[is_train], n_classes=n_classes, c=options.head_c, seed=options.seed,
                           augmented=augmented, augment_mode=augment_mode, erase_directions=options.erase_directions)
    if own_order is not None:  # val/test: the checkpoint's own classifier, outputs in the data set's class order
        head = head_from_linear(backbone.classifier, own_order)
    scored = np.flatnonzero(~is_train)
    for start in range(0, len(scored), HEAD_CHUNK_ROWS):  # val/test: read from the memory-mapped file in chunks
        rows = scored[start:start + HEAD_CHUNK_ROWS]
        probs[rows] = head_probs(head, embeddings[rows])
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
    probs_file = staged.chunked(PROBS_FILE, probs.shape, chunk_rows=options.chunk_rows)
    probs_file.write(np.arange(len(probs)), probs)
    probs_file.close()
    timings["head"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    coords = umap_2d(embeddings, seed=options.seed)
    timings["umap"] = time.perf_counter() - t0

    table = sample_table(samples, probs, fold, coords, properties)
    table["pixel_hash"] = pd.Series(hashes, dtype=str)

    provenance = build_provenance(
        backbone=backbone.name, checkpoint=backbone.checkpoint, own_head=own_order is not None,
        class_order=order_source, folds=folds, head_c=options.head_c, finetuned=finetune_info is not None,
        weights_independent=options.weights_independent)
    regions, region_stats = None, None
    if options.region_crops > 0:
        regions, region_stats = region_evidence(
            backbone, samples["path"].tolist(), labels=labels, probs=probs, embeddings=embeddings,
            split=samples["split"].to_numpy(), fold=fold, head=head, fold_heads=fold_heads, head_c=options.head_c,
            seed=options.seed, max_crops=options.region_crops, batch_size=options.batch_size,
            workers=options.workers, device=device, forward=features.forward if finetune_info is None else None)
        regions, region_stats = with_half_evidence(  # every image: the halves of its feature map
            regions, region_stats, features.halves if finetune_info is None else None, labels=labels, probs=probs,
            embeddings=embeddings, split=samples["split"].to_numpy(), sizes=table[["width", "height"]].to_numpy(float),
            source_rows=np.flatnonzero(keep), crop_pct=backbone.crop_pct, seed=options.seed)
        features.halves = None  # the scratch file's map (removed before the swap)
        timings["regions"] = region_stats["seconds"]
    t0 = time.perf_counter()
    tables = build_tables(table, probs, embeddings, index.classes, seed=options.seed,
                          probs_out_of_sample=provenance["probs_out_of_sample"], thumbnails=thumbnails,
                          in_sample_remedy=in_sample_remedy(provenance), regions=regions)
    timings["analyses"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    from indoor.model.shortcut_test import Scorer, build_time_tests

    scorer = Scorer(backbone.embedder, head, backbone.preprocessing(), device,
                    forward=features.forward if finetune_info is None else None)
    tables["shortcut_tests"] = build_time_tests(table, tables, index.classes, scorer, embeddings=embeddings,
                                                probs=probs, top=options.shortcut_tests,
                                                n=options.test_images, seed=options.seed,
                                                thumb_size=options.thumb_size, log=log if options.progress else None)
    timings["shortcut_tests"] = time.perf_counter() - t0
    metrics = split_metrics(probs, labels, samples["split"].to_numpy(), index.classes)
    timings["total_before_write"] = time.perf_counter() - started
    meta = {
        "classes": index.classes,
        "data_root": str(index.root),
        "layout": index.layout,
        "backbone": {"name": backbone.name, "weights": backbone.weights, "embedding_dim": backbone.embedding_dim,
                     **({"checkpoint": backbone.checkpoint} if backbone.checkpoint else {})},
        "image_size": backbone.image_size,
        "preprocessing": backbone.preprocessing(),
        "folds": folds,
        "seed": options.seed,
        "finetune": finetune_info,
        "augment": {"kinds": list(options.augment), "views": options.augment_views if augmented is not None else 0,
                    "mode": augment_mode, "requested_mode": options.augment_mode,
                    "erase_directions": options.erase_directions if augment_mode != "views" else 0,
                    "out_of_fold_top1": {mode: round(value, 4) for mode, value in oof_top1.items()},
                    "finetune": finetune_info is not None} if options.augment else None,
        "shortcut_tests": {"top": options.shortcut_tests, "images": options.test_images},
        "regions": region_stats,
        "metrics": metrics,
        "timings": timings,
        "throughput_images_per_s": n_embedded / features.seconds if features.seconds else None,
        "versions": package_versions(),
        "skipped": skipped,
        "notes": index.notes,
        **provenance,  # source, probs_source, probs_out_of_sample, head
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": device,
    }
    tensors = {"head.pt": {k: v.detach().cpu() for k, v in head.state_dict().items()}}
    if model_state is not None:
        tensors["model.pt"] = model_state
    del embeddings
    staged.commit(samples=table, meta=meta, tables=tables, tensors=tensors)


def _kept_embeddings(staged: StagedCache, embedded: np.ndarray, keep: np.ndarray, chunk_rows: int) -> np.ndarray:
    """``embeddings.npy`` in the staging folder, memory-mapped: the feature pass's file itself when every image
    was read, else its kept rows copied chunk by chunk."""
    scratch = staged.staging / SCRATCH_FILE
    target = staged.staging / EMBEDDINGS_FILE
    if keep.all():
        scratch.replace(target)
    else:
        kept = staged.chunked(EMBEDDINGS_FILE, (int(keep.sum()), embedded.shape[1]), chunk_rows=chunk_rows)
        written = 0
        for start in range(0, len(keep), chunk_rows):
            block = np.asarray(embedded[start:start + chunk_rows])[keep[start:start + chunk_rows]]
            kept.write(np.arange(written, written + len(block)), block)
            written += len(block)
        kept.close()
        scratch.unlink()
    return np.load(target, mmap_mode="r", allow_pickle=False)


def _renumber_thumbnails(staged: StagedCache, keep: np.ndarray) -> None:
    """The feature pass names each thumbnail by its image's row; the cache's rows skip the unreadable images.
    Renamed in ascending order, a thumbnail's new name is always free (it never exceeds the old one)."""
    for new, old in enumerate(np.flatnonzero(keep)):
        if new != old:
            (staged.staging / thumb_name(old)).rename(staged.staging / thumb_name(new))


def _own_head_order(backbone, classes: list[str], options: BuildOptions) -> tuple[np.ndarray | None, str | None]:
    """With ``--head model``: which checkpoint output is each of ``classes`` (and what said so); refused, with the
    reason, when there is no checkpoint classifier or its classes are not the data set's."""
    if options.head not in ("probe", "model"):
        raise BuildError(f"--head must be 'probe' or 'model', not {options.head!r}")
    if options.head == "probe":
        return None, None
    if backbone.checkpoint is None:
        raise BuildError("--head model uses the classifier of your own checkpoint: pass --weights FILE")
    if backbone.classifier is None:
        raise BuildError(f"{Path(backbone.checkpoint['path']).name} has no classifier weights for "
                         f"{backbone.name}: use --head probe")
    if options.finetune_epochs > 0:
        raise BuildError("--head model and --finetune-epochs exclude each other: fine-tuning changes the features "
                         "the checkpoint's classifier was trained on")
    try:
        return class_order(classes, n_outputs=int(backbone.classifier.out_features),
                           checkpoint_classes=backbone.checkpoint.get("classes"), class_map=options.class_map)
    except CheckpointError as exc:
        raise BuildError(str(exc)) from None


def sample_table(samples: pd.DataFrame, probs: np.ndarray, fold: np.ndarray, coords: np.ndarray, properties: np.ndarray) -> pd.DataFrame:
    """The cache's samples frame (SAMPLE_COLUMNS less pixel_hash and thumb) from the index's samples (sample_id,
    path, split, label), probabilities, folds, map coordinates and image properties; pred = argmax of probs."""
    labels = samples["label"].to_numpy()
    rows = np.arange(len(labels))
    order = np.argsort(-probs, axis=1, kind="stable")
    pred = order[:, 0]
    top2 = probs[rows, order[:, 1]] if probs.shape[1] > 1 else np.zeros(len(labels))
    self_confidence = probs[rows, labels]
    table = pd.DataFrame(
        {
            "sample_id": samples["sample_id"].astype(str),
            "path": samples["path"].astype(str),
            "split": samples["split"].astype(str),
            "label": labels.astype(np.int64),
            "pred": pred.astype(np.int64),
            "fold": fold.astype(np.int64),
            "confidence": probs[rows, pred].astype(np.float32),
            "self_confidence": self_confidence.astype(np.float32),
            "margin": (probs[rows, pred] - top2).astype(np.float32),
            "loss": (-np.log(np.clip(self_confidence, 1e-12, 1.0))).astype(np.float32),
            "top5": [list(map(int, r[:5])) for r in order],
            "umap_x": coords[:, 0],
            "umap_y": coords[:, 1],
        }
    )
    for column_index, column in enumerate(PROPERTY_COLUMNS):
        table[column] = properties[:, column_index].astype(np.float32)
    return table
