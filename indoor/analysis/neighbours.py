"""The nearest training images of one image, in chunks: for caches of a million rows (memory-mapped embeddings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

CHUNK_ROWS = 131072


def nearest_training_rows(embeddings: np.ndarray, query_row: int, *, train_mask: np.ndarray, k: int = 8,
                          chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """The ``k`` training rows most similar to ``query_row`` by cosine similarity of their embeddings; the same
    answer at any ``chunk_rows`` (:func:`indoor.model.explain.nearest_training_images` calls it), computed chunk by chunk
    over ``embeddings`` (N, D; a memory-mapped array is read in ``chunk_rows`` slices, never copied whole).

    ``train_mask`` (N,) bool: the rows that may be returned. The query itself is never returned; rows with a zero
    or non-finite embedding are skipped. Returns DataFrame(row, similarity), most similar first.
    """
    train_mask = np.asarray(train_mask, dtype=bool)
    n = len(embeddings)
    if np.ndim(embeddings) != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {np.shape(embeddings)}")
    if train_mask.shape != (n,):
        raise ValueError(f"train_mask must have shape ({n},), got {train_mask.shape}")
    if not 0 <= int(query_row) < n:
        raise ValueError(f"query_row {query_row} is outside 0..{n - 1}")
    if k < 1:
        raise ValueError("k must be at least 1")
    empty = pd.DataFrame({"row": np.zeros(0, dtype=np.int64), "similarity": np.zeros(0, dtype=np.float64)})
    query = np.asarray(embeddings[int(query_row)], dtype=np.float64)
    query_norm = np.linalg.norm(query)
    if not np.isfinite(query_norm) or query_norm == 0:
        return empty
    query32 = query.astype(np.float32)
    rows_kept, sims_kept = [], []
    for start in range(0, n, chunk_rows):
        stop = min(n, start + chunk_rows)
        mask = train_mask[start:stop].copy()
        if start <= int(query_row) < stop:
            mask[int(query_row) - start] = False
        if not mask.any():
            continue
        block = np.asarray(embeddings[start:stop], dtype=np.float32)
        norms = np.linalg.norm(block, axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            similarity = (block @ query32).astype(np.float64) / (norms * query_norm)
        valid = mask & np.isfinite(similarity) & (norms > 0)
        candidates = np.flatnonzero(valid)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-similarity[candidates], k - 1)[:k]]
        rows_kept.append(candidates + start)
        sims_kept.append(similarity[candidates])
    if not rows_kept or not sum(len(r) for r in rows_kept):
        return empty
    rows, sims = np.concatenate(rows_kept), np.concatenate(sims_kept)
    top = min(int(k), len(rows))
    best = np.argpartition(-sims, top - 1)[:top]
    best = best[np.lexsort((rows[best], -sims[best]))]  # most similar first; ties by row
    return pd.DataFrame({"row": rows[best].astype(np.int64), "similarity": sims[best]})
