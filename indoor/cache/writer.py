"""Writing caches: the whole cache at once (:func:`write_cache`) or its analysis tables (:func:`write_tables`).

Safety rules:

* a folder that is not a cache (and not empty) is never written into unless ``force=True`` (the CLI's
  ``--force``); even then, what is in the way is moved aside, not deleted;
* the new cache is written into a staging folder inside the target and swapped in file by file, ``meta.json``
  removed first and written last: a reader never sees a mixture of two builds as a valid cache, and a build killed
  midway leaves the earlier cache's files in a ``.old-*`` folder;
* files that are not the cache's (``decisions.sqlite`` and its ``-wal``/``-shm``, notes) are never touched;
* the staging folder is removed on any failure.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from indoor.cache.format import (
    CACHE_FILES,
    EMBEDDINGS_FILE,
    HEAD_FILE,
    MARKER_FILE,
    META_FILE,
    MODEL_FILE,
    PROBS_FILE,
    SAMPLES_FILE,
    SCHEMA_VERSION,
    TABLES_DIR,
    THUMBS_DIR,
    CacheError,
    _validate_arrays,
    _validate_frame,
    is_cache,
    thumb_name,
)

DEFAULT_CHUNK_ROWS = 4096  # rows per chunk of a streamed array (4096 x 1280 float32 = 20 MB)


def check_target(out: str | Path, *, force: bool = False) -> None:
    """Raise :class:`CacheError` unless ``out`` may become a cache: absent, empty, already a cache (``meta.json``
    or indoor's marker file), or ``force``. Call before any heavy work, so a wrong ``--out`` fails at once."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise CacheError(f"{out} exists and is not a folder; choose another --out")
    if force or _is_ours(out):
        return
    names = sorted(p.name for p in out.iterdir())
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise CacheError(f"{out} is not an indoor cache and is not empty ({shown}); choose another --out, or pass "
                         "--force to build into it (what is in the way is moved aside, never deleted)")




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
    force: bool = False,
) -> Path:
    """Write a complete cache to ``out`` atomically; ``tensors`` maps HEAD_FILE / MODEL_FILE to state dicts.

    ``samples`` must have every SAMPLE_COLUMNS column except ``thumb`` (filled here); ``thumbnails[i]`` are JPEG
    bytes for row i; ``tables`` are analysis tables (name -> DataFrame). ``out`` must pass :func:`check_target`
    (``force`` lets a non-empty folder that is not a cache through). Files that are not the cache's stay where
    they are, untouched.
    """
    import torch

    out = Path(out)
    check_target(out, force=force)
    out.mkdir(parents=True, exist_ok=True)
    samples = samples.reset_index(drop=True).copy()
    samples["thumb"] = [thumb_name(i) for i in range(len(samples))]
    meta = {**meta, "schema_version": SCHEMA_VERSION, "n_samples": int(len(samples))}
    _validate_frame(samples, len(meta["classes"]), where="samples to write")
    _validate_arrays(probs, embeddings, len(samples), len(meta["classes"]))
    if len(thumbnails) != len(samples):
        raise CacheError(f"{len(thumbnails)} thumbnails for {len(samples)} samples")

    staging = out / f".building-{os.getpid()}-{int(time.time() * 1000)}"
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
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


class StagedCache:
    """A cache written piece by piece, for arrays that do not fit in memory (see :func:`stage_cache`): ``array``
    gives a memory-mapped ``.npy`` to fill in chunks, thumbnails go into ``thumbs`` (``thumb_name(row)``), and
    :meth:`commit` writes the samples, tables and ``meta.json``, validates the whole folder with
    :func:`indoor.cache.format.load_cache` and swaps it in (same rules as :func:`write_cache`)."""

    def __init__(self, out: Path, staging: Path) -> None:
        self.out, self.staging = out, staging
        self.thumbs = staging / THUMBS_DIR

    def array(self, name: str, shape: tuple[int, int]) -> np.memmap:
        """A float32 ``.npy`` of ``shape`` (PROBS_FILE or EMBEDDINGS_FILE), memory-mapped for writing."""
        if name not in (PROBS_FILE, EMBEDDINGS_FILE):
            raise CacheError(f"unknown array file {name!r}")
        return np.lib.format.open_memmap(self.staging / name, mode="w+", dtype=np.float32, shape=tuple(shape))

    def chunked(self, name: str, shape: tuple[int, int], *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> "ChunkedArray":
        """A float32 ``.npy`` of ``shape`` in the staging folder, written chunk by chunk (:class:`ChunkedArray`):
        PROBS_FILE, EMBEDDINGS_FILE or a scratch name (``*.tmp.npy``, removed before :meth:`commit` swaps)."""
        if name not in (PROBS_FILE, EMBEDDINGS_FILE) and not name.endswith(".tmp.npy"):
            raise CacheError(f"unknown array file {name!r}")
        return ChunkedArray(self.staging / name, shape, chunk_rows=chunk_rows)

    def commit(self, *, samples: Any, meta: dict[str, Any], tables: dict[str, pd.DataFrame] | None = None,
               tensors: dict[str, dict[str, Any]] | None = None) -> Path:
        """Write ``samples`` (a DataFrame or pyarrow Table with every SAMPLE_COLUMNS column but ``thumb``),
        ``tables``, ``tensors`` (HEAD_FILE / MODEL_FILE -> state dict) and ``meta``, validate, swap in. Flush and
        drop the arrays' memmaps first."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from indoor.cache.format import load_cache

        for scratch in self.staging.glob("*.tmp.npy"):
            scratch.unlink()
        for file_name, state in (tensors or {}).items():
            if file_name not in (HEAD_FILE, MODEL_FILE):
                raise CacheError(f"unknown tensor file {file_name!r}")
            import torch

            torch.save(state, self.staging / file_name)

        table = samples if isinstance(samples, pa.Table) else pa.Table.from_pandas(samples, preserve_index=False)
        n = table.num_rows
        table = table.append_column("thumb", pa.array([thumb_name(i) for i in range(n)], type=pa.string()))
        pq.write_table(table, self.staging / SAMPLES_FILE, row_group_size=65536)
        if tables:
            (self.staging / TABLES_DIR).mkdir(exist_ok=True)
            for name, frame in tables.items():
                if not name.isidentifier():
                    raise CacheError(f"analysis table name {name!r} must be an identifier")
                frame.to_parquet(self.staging / TABLES_DIR / f"{name}.parquet", index=False)
        meta = {**meta, "schema_version": SCHEMA_VERSION, "n_samples": int(n)}
        (self.staging / META_FILE).write_text(json.dumps(_jsonable(meta), indent=2), encoding="utf-8")
        load_cache(self.staging)  # raises CacheError naming what is wrong
        _swap_in(self.staging, self.out)
        return self.out


@contextmanager
def stage_cache(out: str | Path, *, force: bool = False) -> Iterator[StagedCache]:
    """A :class:`StagedCache` for ``out`` (which must pass :func:`check_target`); the staging folder is removed
    if the block raises or never commits."""
    out = Path(out)
    check_target(out, force=force)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out)
    staging = out / f".building-{os.getpid()}-{int(time.time() * 1000)}"
    staging.mkdir()
    (staging / THUMBS_DIR).mkdir()
    try:
        yield StagedCache(out, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_stale_staging(out: Path) -> None:
    """Remove the staging folders (``.building-PID-*``) that builds killed midway left in ``out``: those whose
    process is gone. A streamed build stages its arrays from the start, so a killed one leaves them behind."""
    for folder in out.glob(".building-*"):
        try:
            pid = int(folder.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # alive (another user's): leave it
            pass



class ChunkedArray:
    """A 2-D ``.npy`` written in row chunks, so the writer never holds the whole array: :meth:`write` buffers
    rows (rows arrive in ascending order, as a DataLoader yields them) and each full chunk is written through a
    short-lived memory map of just its rows (``np.memmap`` at the chunk's offset, flushed and dropped), so
    neither the array nor its written pages stay in the writer's resident memory. Rows never written hold
    ``fill`` (NaN). :meth:`close` writes the last chunk and returns the file memory-mapped read-only."""

    def __init__(self, path: str | Path, shape: tuple[int, int], *, dtype=np.float32,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, fill: float = np.nan) -> None:
        self.path = Path(path)
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.chunk_rows = max(1, int(chunk_rows))
        self.fill = fill
        header = np.lib.format.open_memmap(self.path, mode="w+", dtype=self.dtype, shape=self.shape)
        self.offset = int(header.offset) if header.size else 0
        del header  # the file exists at full size (sparse until written), header included
        self.chunks = -(-self.shape[0] // self.chunk_rows)
        self.chunks_written = 0
        self._chunk = -1  # the chunk being buffered (-1: none yet)
        self._buffer: np.ndarray | None = None

    def write(self, rows, values) -> None:
        """Rows ``rows`` (ascending, each at or after the chunk being filled) take ``values`` (len(rows), D)."""
        rows = np.asarray(rows, dtype=np.int64)
        values = np.asarray(values).reshape(len(rows), self.shape[1])
        if not len(rows):
            return
        if (np.diff(rows) < 0).any() or rows[0] // self.chunk_rows < max(self._chunk, 0) or rows[-1] >= self.shape[0]:
            raise ValueError(f"rows must ascend within 0..{self.shape[0] - 1} (chunk {self._chunk} is being filled)")
        chunk_of = rows // self.chunk_rows
        for chunk in np.unique(chunk_of):
            self._open(int(chunk))
            mine = chunk_of == chunk
            self._buffer[rows[mine] - chunk * self.chunk_rows] = values[mine]

    def close(self) -> np.ndarray:
        """Write what is buffered and every chunk not yet written (``fill``); -> the array, memory-mapped."""
        self._open(self.chunks)
        if self.shape[0] * self.shape[1] == 0:
            return np.load(self.path, allow_pickle=False)
        return np.load(self.path, mmap_mode="r", allow_pickle=False)

    def _open(self, chunk: int) -> None:
        if chunk == self._chunk:
            return
        if self._buffer is not None:
            self._write_chunk(self._chunk, self._buffer)
        for skipped in range(self._chunk + 1, min(chunk, self.chunks)):  # chunks no row reached
            self._write_chunk(skipped, np.full((self.chunk_rows, self.shape[1]), self.fill, dtype=self.dtype))
        self._chunk = chunk
        self._buffer = (np.full((self.chunk_rows, self.shape[1]), self.fill, dtype=self.dtype)
                        if chunk < self.chunks else None)

    def _write_chunk(self, chunk: int, buffer: np.ndarray) -> None:
        start = chunk * self.chunk_rows
        rows = min(self.chunk_rows, self.shape[0] - start)
        if rows <= 0 or self.shape[1] == 0:
            return
        view = np.memmap(self.path, dtype=self.dtype, mode="r+", shape=(rows, self.shape[1]),
                         offset=self.offset + start * self.shape[1] * self.dtype.itemsize)
        view[:] = buffer[:rows]
        view.flush()
        del view
        self.chunks_written += 1


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


def _is_ours(folder: Path) -> bool:
    if (folder / MARKER_FILE).is_file():
        return True
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "schema_version" in meta and "classes" in meta


def _swap_in(staging: Path, out: Path) -> None:
    """Move the staged cache files into ``out``, one by one: ``meta.json`` out first and in last. What was there
    goes into a retired folder, deleted at the end when it was our own cache, kept (and named) otherwise."""
    ours = _is_ours(out)
    (out / MARKER_FILE).write_text(json.dumps({"written_by": "indoor"}), encoding="utf-8")
    retired = out / f".old-{os.getpid()}-{int(time.time() * 1000)}"
    retired.mkdir()
    for name in (META_FILE, *[n for n in CACHE_FILES if n != META_FILE]):
        if (out / name).exists() or (out / name).is_symlink():
            (out / name).rename(retired / name)
    for name in [n for n in CACHE_FILES if n != META_FILE] + [META_FILE]:
        if (staging / name).exists():
            (staging / name).rename(out / name)
    staging.rmdir()
    if ours:
        shutil.rmtree(retired, ignore_errors=True)
    elif any(retired.iterdir()):
        kept = out / f"moved-aside-{time.strftime('%Y%m%d-%H%M%S')}"
        retired.rename(kept)
        print(f"note: files of {out} that were in the cache's way were moved into {kept}")
    else:
        retired.rmdir()


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




def write_table(cache_path: str | Path, name: str, table: pd.DataFrame) -> None:
    """Replace one analysis table of an existing cache (``analysis/<name>.parquet``) atomically: written beside
    it, then renamed over it (e.g. a shortcut test run on demand from the dashboard). The other tables stay."""
    cache_path = Path(cache_path)
    if not is_cache(cache_path):
        raise CacheError(f"no cache at {cache_path}")
    if not name.isidentifier():
        raise CacheError(f"analysis table name {name!r} must be an identifier")
    folder = cache_path / TABLES_DIR
    folder.mkdir(exist_ok=True)
    staging = folder / f".{name}.{os.getpid()}-{time.monotonic_ns()}.parquet"
    try:
        table.to_parquet(staging, index=False)
        os.replace(staging, folder / f"{name}.parquet")
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
