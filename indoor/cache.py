"""The inference cache: the one module that knows its files, columns, dtypes and version.

A cache is a folder::

    meta.json          run metadata (schema_version, classes, data root/layout, backbone, metrics, skipped, ...)
    samples.parquet    one row per image, columns SAMPLE_COLUMNS
    probs.npy          float32 (N, C): out-of-sample class probabilities, rows in samples.parquet order
    embeddings.npy     float32 (N, D): backbone embeddings
    thumbs/NNNNNN.jpg  a small thumbnail per image (so the dashboard works without the original images)
    analysis/NAME.parquet  analysis tables computed at build time (label issues, duplicates, ...)
    head.pt            linear head state dict (torch.save of tensors only; load with weights_only=True)
    model.pt           fine-tuned backbone state dict (only when fine-tuned)

Writers call :func:`write_cache` (atomic: a build killed midway leaves an earlier cache intact); readers call
:func:`load_cache`, which validates and raises :class:`CacheError` naming what is missing or wrong. Any other
file in the folder (the decisions store, for one) belongs to someone else and survives a rebuild.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

SCHEMA_VERSION = 1
META_FILE = "meta.json"
SAMPLES_FILE = "samples.parquet"
PROBS_FILE = "probs.npy"
EMBEDDINGS_FILE = "embeddings.npy"
THUMBS_DIR = "thumbs"
HEAD_FILE = "head.pt"
MODEL_FILE = "model.pt"
TABLES_DIR = "analysis"
CACHE_FILES = (META_FILE, SAMPLES_FILE, PROBS_FILE, EMBEDDINGS_FILE, THUMBS_DIR, HEAD_FILE, MODEL_FILE, TABLES_DIR)

# column -> dtype kind ("s" string, "i" integer, "f" float, "l" list of integers)
SAMPLE_COLUMNS: dict[str, str] = {
    "sample_id": "s",  # path relative to the data root, stable across rebuilds
    "path": "s",  # absolute path of the original image at build time
    "split": "s",  # train / val / test
    "label": "i",  # given label, index into meta["classes"]
    "pred": "i",  # predicted label (argmax of probs)
    "fold": "i",  # cross-validation fold for train (out-of-fold probs), -1 otherwise
    "confidence": "f",  # probs[pred]
    "self_confidence": "f",  # probs[label]
    "margin": "f",  # top-1 minus top-2 probability
    "loss": "f",  # cross-entropy of the given label
    "top5": "l",  # class indices, most probable first
    "umap_x": "f",
    "umap_y": "f",
    "width": "f",
    "height": "f",
    "brightness": "f",
    "contrast": "f",
    "colourfulness": "f",
    "hue": "f",
    "dominant_hue": "f",  # hue of the largest coloured area (degrees)
    "saturation": "f",
    "sharpness": "f",
    "pixel_hash": "s",  # blake2b of the decoded RGB pixels: equal hashes = exact duplicate images
    "thumb": "s",  # thumbnail path relative to the cache folder
}
META_KEYS = (
    "schema_version",
    "classes",
    "data_root",
    "layout",
    "backbone",
    "image_size",
    "folds",
    "seed",
    "metrics",
    "timings",
    "versions",
    "skipped",
    "n_samples",
    "probs_out_of_sample",
    "created_at",
)


class CacheError(ValueError):
    """A cache folder is missing, incomplete, outdated or inconsistent; the message says which."""


@dataclass
class Cache:
    """A validated, read-only cache. ``probs`` and ``embeddings`` are memory-mapped."""

    path: Path
    meta: dict[str, Any]
    samples: pd.DataFrame
    probs: np.ndarray
    embeddings: np.ndarray

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @cached_property
    def row_of(self) -> dict[str, int]:
        """sample_id -> row index."""
        return {sample_id: i for i, sample_id in enumerate(self.samples["sample_id"])}

    def thumb_path(self, row: int) -> Path:
        return self.path / self.samples["thumb"].iat[row]

    def image_path(self, row: int) -> Path:
        """The original image if it is still on disk, else the thumbnail."""
        original = Path(self.samples["path"].iat[row])
        return original if original.is_file() else self.thumb_path(row)

    def table(self, name: str) -> pd.DataFrame:
        """An analysis table written at build time (``analysis/<name>.parquet``); CacheError if absent."""
        path = self.path / TABLES_DIR / f"{name}.parquet"
        if not path.is_file():
            raise CacheError(f"cache {self.path} has no analysis table {name!r}: rebuild it with this version of indoor")
        try:
            return pd.read_parquet(path)
        except Exception as exc:
            raise CacheError(f"{path} is unreadable: {exc}") from None

    def has_table(self, name: str) -> bool:
        return (self.path / TABLES_DIR / f"{name}.parquet").is_file()

    @property
    def decisions_path(self) -> Path:
        return self.path / "decisions.sqlite"

    @property
    def head_path(self) -> Path:
        return self.path / HEAD_FILE

    @property
    def model_path(self) -> Path | None:
        path = self.path / MODEL_FILE
        return path if path.exists() else None


# ------------------------------------------------------------------------------------------------------ write


def thumb_name(row: int) -> str:
    return f"{THUMBS_DIR}/{row:06d}.jpg"


def write_cache(
    out: str | Path,
    *,
    samples: pd.DataFrame,
    probs: np.ndarray,
    embeddings: np.ndarray,
    meta: dict[str, Any],
    thumbnails: list[bytes],
    tensors: dict[str, dict[str, Any]],
    tables: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write a complete cache to ``out`` atomically; ``tensors`` maps HEAD_FILE / MODEL_FILE to state dicts.

    ``samples`` must have every SAMPLE_COLUMNS column except ``thumb`` (filled here); ``thumbnails[i]`` are JPEG
    bytes for row i; ``tables`` are analysis tables (name -> DataFrame). The new cache is written beside ``out`` and swapped in at the end; files in an earlier cache
    folder that are not cache files (e.g. ``decisions.sqlite``) are moved into the new one.
    """
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    samples = samples.reset_index(drop=True).copy()
    samples["thumb"] = [thumb_name(i) for i in range(len(samples))]
    meta = {**meta, "schema_version": SCHEMA_VERSION, "n_samples": int(len(samples))}
    _validate_frame(samples, len(meta["classes"]), where="samples to write")
    _validate_arrays(probs, embeddings, len(samples), len(meta["classes"]))
    if len(thumbnails) != len(samples):
        raise CacheError(f"{len(thumbnails)} thumbnails for {len(samples)} samples")

    staging = out.parent / f".{out.name}.building-{os.getpid()}-{int(time.time() * 1000)}"
    staging.mkdir()
    try:
        (staging / THUMBS_DIR).mkdir()
        for row, data in enumerate(thumbnails):
            (staging / thumb_name(row)).write_bytes(data)
        np.save(staging / PROBS_FILE, np.ascontiguousarray(probs, dtype=np.float32))
        np.save(staging / EMBEDDINGS_FILE, np.ascontiguousarray(embeddings, dtype=np.float32))
        for file_name, state in tensors.items():
            if file_name not in (HEAD_FILE, MODEL_FILE):
                raise CacheError(f"unknown tensor file {file_name!r}")
            torch.save(state, staging / file_name)
        if tables:
            (staging / TABLES_DIR).mkdir()
            for name, table in tables.items():
                if not name.isidentifier():
                    raise CacheError(f"analysis table name {name!r} must be an identifier")
                table.to_parquet(staging / TABLES_DIR / f"{name}.parquet", index=False)
        samples.to_parquet(staging / SAMPLES_FILE, index=False)
        (staging / META_FILE).write_text(json.dumps(_jsonable(meta), indent=2), encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(staging, out)
    return out


def write_tables(cache_path: str | Path, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the analysis tables of an existing cache (e.g. after an analysis improved), atomically."""
    cache_path = Path(cache_path)
    if not is_cache(cache_path):
        raise CacheError(f"no cache at {cache_path}")
    staging = cache_path / f".{TABLES_DIR}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for name, table in tables.items():
            if not name.isidentifier():
                raise CacheError(f"analysis table name {name!r} must be an identifier")
            table.to_parquet(staging / f"{name}.parquet", index=False)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    target = cache_path / TABLES_DIR
    retired = cache_path / f".{TABLES_DIR}.old-{os.getpid()}"
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def _swap_in(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    if not out.is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        raise CacheError(f"{out} exists and is not a folder; refusing to replace it")
    for item in out.iterdir():  # keep what is not ours (decisions store, notes)
        if item.name not in CACHE_FILES:
            item.rename(staging / item.name)
    retired = out.parent / f".{out.name}.old-{os.getpid()}-{int(time.time() * 1000)}"
    out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


# ------------------------------------------------------------------------------------------------------- read


def is_cache(path: str | Path) -> bool:
    """A quick check (no validation): does ``path`` look like a cache folder?"""
    return (Path(path) / META_FILE).is_file()


def find_caches(root: str | Path) -> list[Path]:
    """Cache folders at ``root`` or one level below it (e.g. everything in ``runs/``), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [root] if is_cache(root) else []
    found += sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_cache(p))
    return found


def load_cache(path: str | Path, *, check_thumbs: bool = True) -> Cache:
    """Read and validate a cache folder; raises CacheError naming what is missing or wrong."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CacheError(f"no cache at {path}: build one with `python -m indoor demo` or `python -m indoor build`")
    if not path.is_dir():
        raise CacheError(f"{path} is not a cache folder")
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise CacheError(f"{path} is not a cache: {META_FILE} is missing")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CacheError(f"{meta_path} is unreadable: {exc}") from None
    if not isinstance(meta, dict):
        raise CacheError(f"{meta_path} must hold a JSON object")
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise CacheError(
                f"cache {path} has schema version {version}, newer than this indoor ({SCHEMA_VERSION}): upgrade indoor"
            )
        raise CacheError(
            f"cache {path} has schema version {version!r}; this indoor reads version {SCHEMA_VERSION}. "
            "Rebuild it with `python -m indoor build` (or `python -m indoor demo`)"
        )
    missing_keys = [key for key in META_KEYS if key not in meta]
    if missing_keys:
        raise CacheError(f"{meta_path} lacks key(s): {', '.join(missing_keys)}")
    classes = meta["classes"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise CacheError(f"{meta_path}: 'classes' must be a non-empty list of names")

    for required in (SAMPLES_FILE, PROBS_FILE, EMBEDDINGS_FILE):
        if not (path / required).is_file():
            raise CacheError(f"cache {path} is incomplete: {required} is missing")
    try:
        samples = pd.read_parquet(path / SAMPLES_FILE)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise CacheError(f"{path / SAMPLES_FILE} is unreadable: {exc}") from None
    _validate_frame(samples, len(classes), where=str(path / SAMPLES_FILE))
    try:
        probs = np.load(path / PROBS_FILE, mmap_mode="r", allow_pickle=False)
        embeddings = np.load(path / EMBEDDINGS_FILE, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CacheError(f"cache {path}: an array file is unreadable: {exc}") from None
    _validate_arrays(probs, embeddings, len(samples), len(classes))
    if int(meta["n_samples"]) != len(samples):
        raise CacheError(f"{meta_path} says n_samples={meta['n_samples']} but {SAMPLES_FILE} has {len(samples)} rows")
    if check_thumbs:
        missing = _missing_files(path, samples["thumb"].tolist())
        if missing:
            raise CacheError(f"cache {path}: {len(missing)} thumbnail(s) missing, first {missing[0]}")
    return Cache(path=path, meta=meta, samples=samples, probs=probs, embeddings=embeddings)


def _missing_files(root: Path, relative_paths: Iterable[str]) -> list[str]:
    """The relative paths under ``root`` that are not files, in order. One directory listing per folder instead of
    one stat per file (15,611 thumbnails: 0.03 s instead of 0.2 s)."""
    listed: dict[str, set[str]] = {}
    missing = []
    for relative in relative_paths:
        folder, _, name = str(relative).rpartition("/")
        if folder not in listed:
            try:
                listed[folder] = {entry.name for entry in os.scandir(root / folder) if entry.is_file()}
            except OSError:
                listed[folder] = set()
        if name not in listed[folder]:
            missing.append(relative)
    return missing


def _validate_frame(samples: pd.DataFrame, n_classes: int, *, where: str) -> None:
    missing = [column for column in SAMPLE_COLUMNS if column not in samples.columns]
    if missing:
        raise CacheError(f"{where}: missing column(s): {', '.join(missing)}")
    for column, kind in SAMPLE_COLUMNS.items():
        series = samples[column]
        if kind == "i" and not pd.api.types.is_integer_dtype(series):
            raise CacheError(f"{where}: column {column!r} must be integer, found {series.dtype}")
        if kind == "f" and not pd.api.types.is_float_dtype(series):
            raise CacheError(f"{where}: column {column!r} must be float, found {series.dtype}")
        if kind == "s" and not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            raise CacheError(f"{where}: column {column!r} must be text, found {series.dtype}")
    if len(samples):
        for column in ("label", "pred"):
            values = samples[column].to_numpy()
            if values.min() < 0 or values.max() >= n_classes:
                raise CacheError(f"{where}: column {column!r} has class indices outside 0..{n_classes - 1}")
        if samples["sample_id"].duplicated().any():
            first = samples.loc[samples["sample_id"].duplicated(), "sample_id"].iloc[0]
            raise CacheError(f"{where}: duplicate sample_id {first!r}")
        bad_split = set(samples["split"]) - {"train", "val", "test"}
        if bad_split:
            raise CacheError(f"{where}: unknown split value(s) {sorted(bad_split)}")


def _validate_arrays(probs: np.ndarray, embeddings: np.ndarray, n_samples: int, n_classes: int) -> None:
    if probs.ndim != 2 or probs.shape != (n_samples, n_classes):
        raise CacheError(f"{PROBS_FILE} has shape {probs.shape}, expected ({n_samples}, {n_classes})")
    if embeddings.ndim != 2 or embeddings.shape[0] != n_samples:
        raise CacheError(f"{EMBEDDINGS_FILE} has shape {embeddings.shape}, expected ({n_samples}, D)")
    if n_samples:
        sums = np.asarray(probs[: min(n_samples, 2048)], dtype=np.float64).sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-3):
            raise CacheError(f"{PROBS_FILE}: rows must sum to 1 (found {sums.min():.3f}..{sums.max():.3f})")
