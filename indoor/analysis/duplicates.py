"""Duplicates and leakage: the same image twice (exact: equal pixel hashes), almost the same image (near: a re-crop,
re-encode or slight brightness change), copies across train and test (leakage: test accuracy is flattered), the
same image under two labels (one of them is wrong), and — for each test error — the nearest training image.

Near duplicates in two steps:

1. candidates from the embeddings: each image's ``k`` nearest neighbours by cosine similarity of the
   mean-centred embeddings (exact search, chunked matrix products; N = 15,600 x 1,280 takes seconds). Centring
   matters: the backbone's pooled features are non-negative, so raw cosines of unrelated images sit near 0.7.
2. verification on pixels, when thumbnails are given: ``pixel_similarity`` = mean of the correlation of the two
   16 x 16 thumbnails' RGB values and of their RGB gradients (robust to a few pixels of crop, a brightness
   change and JPEG re-encoding). A pair is a near duplicate at ``pixel_similarity >= PIXEL_THRESHOLD`` (0.9:
   on the demo, planted re-crops score 0.91-0.99, distinct renders of one class at most 0.94, most below 0.9).

Why not embedding similarity alone: within a class of look-alike scenes (shelves of books, rows of desks) the
backbone rates two different photos as similar as a photo and its re-crop (measured on the demo: distinct
bookstore pairs at centred cosine 0.94, planted re-crops at 0.88-0.91), while their pixels differ. Without
thumbnails the fallback is a fixed, high embedding threshold (``EMBEDDING_THRESHOLD``), which misses such copies.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from indoor.analysis.vectors import unit_rows

PIXEL_THRESHOLD = 0.9  # pixel_similarity of a near duplicate (thumbnails given)
EMBEDDING_THRESHOLD = 0.97  # centred-embedding cosine of a near duplicate when there are no thumbnails
NEIGHBOURS = 5  # embedding neighbours per image checked on pixels
MIN_CANDIDATE_SIMILARITY = 0.5  # centred cosine below which a neighbour is never a candidate
TINY = 16  # side of the thumbnails compared
PAIR_CHUNK = 8192  # pixel pairs scored at a time
BLOCK_BYTES = 64 * 2**20  # about this much memory per block of a neighbour search
PAIR_COLUMNS = [
    "kind", "group", "row_a", "row_b", "similarity", "pixel_similarity", "cross_split", "label_differs",
]
NEAREST_COLUMNS = ["row", "nearest_train", "similarity", "pixel_similarity", "near_duplicate"]


def exact_duplicate_groups(pixel_hash: np.ndarray) -> list[np.ndarray]:
    """Groups (row index arrays, ascending, 2+ rows each, ordered by first row) of images with the same pixel hash —
    identical decoded pixels (``pixel_hash`` from :func:`indoor.imagestats.pixel_hash`; empty hashes are ignored)."""
    hashes = pd.Series(np.asarray(pixel_hash, dtype=object))
    valid = hashes.notna() & (hashes.astype(str) != "")
    groups = hashes[valid].groupby(hashes[valid].astype(str), sort=False).indices
    found = [np.sort(np.asarray(rows, dtype=np.int64)) for rows in groups.values() if len(rows) > 1]
    return sorted(found, key=lambda g: int(g[0]))


def normalised_embeddings(embeddings: np.ndarray, *, center: bool = True) -> np.ndarray:
    """float32 (N, D) rows of unit length, after subtracting the mean row when ``center``. Zero rows stay zero."""
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (N, D), got shape {emb.shape}")
    if center and len(emb):
        emb = emb - emb.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)



def similar_pairs(
    unit: np.ndarray, *, threshold: float, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows a, rows b, similarity) of every pair a < b with cosine similarity >= ``threshold``, exact, computed
    in ``chunk``-row blocks of the Gram matrix. ``unit`` must have unit-length rows (:func:`normalised_embeddings`)."""
    unit = np.asarray(unit, dtype=np.float32)
    n = len(unit)
    found_a, found_b, found_s = [], [], []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        sims = unit[start:stop] @ unit[start:].T  # only columns >= start: the upper triangle
        sims[np.tril_indices(stop - start)] = -np.inf  # self and pairs a > b inside the block
        ia, ib = np.nonzero(sims >= threshold)
        found_a.append(ia + start)
        found_b.append(ib + start)
        found_s.append(sims[ia, ib])
    if not found_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return (np.concatenate(found_a).astype(np.int64), np.concatenate(found_b).astype(np.int64),
            np.concatenate(found_s).astype(np.float32))


def nearest_neighbours(
    unit: np.ndarray, query_rows: np.ndarray, reference_rows: np.ndarray, *, k: int = 1, chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each query row its ``k`` most similar reference rows (never itself), most similar first, and their
    cosine similarities: arrays (Q, k); -1 / NaN where there are fewer references. ``unit``: unit-length rows.
    Queries go ``chunk`` rows at a time (default: as many as keep a block's similarities, masks and indices near
    :data:`BLOCK_BYTES`)."""
    unit = np.asarray(unit, dtype=np.float32)
    query_rows = np.asarray(query_rows, dtype=np.int64)
    reference_rows = np.asarray(reference_rows, dtype=np.int64)
    best = np.full((len(query_rows), k), -1, dtype=np.int64)
    best_sim = np.full((len(query_rows), k), np.nan, dtype=np.float32)
    if len(query_rows) == 0 or len(reference_rows) == 0:
        return best, best_sim
    ref = unit[reference_rows]
    kk = min(k, len(reference_rows))
    chunk = chunk or max(16, min(1024, BLOCK_BYTES // (len(reference_rows) * 24)))  # float32 + int64 + masks
    for start in range(0, len(query_rows), chunk):
        q = query_rows[start:start + chunk]
        sims = unit[q] @ ref.T
        sims[q[:, None] == reference_rows[None, :]] = -np.inf
        top = np.argpartition(-sims, kth=kk - 1, axis=1)[:, :kk] if kk < sims.shape[1] else np.tile(
            np.arange(sims.shape[1]), (len(q), 1))
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        top, top_sims = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_sims, order, axis=1)
        ok = np.isfinite(top_sims)
        best[start:start + len(q), :kk] = np.where(ok, reference_rows[top], -1)
        best_sim[start:start + len(q), :kk] = np.where(ok, top_sims, np.nan)
    return best, best_sim


def tiny_images(thumbnails: Sequence[bytes | str | Path], *, side: int = TINY) -> np.ndarray:
    """(N, side, side, 3) float32 RGB of each thumbnail (JPEG bytes or a file path), shrunk while decoding (JPEG
    draft mode). An unreadable thumbnail gives an all-zero image (it then matches nothing)."""
    from PIL import Image

    out = np.zeros((len(thumbnails), side, side, 3), dtype=np.float32)
    for i, item in enumerate(thumbnails):
        try:
            image = Image.open(io.BytesIO(item) if isinstance(item, (bytes, bytearray)) else item)
            image.draft("RGB", (side, side))
            image = image.convert("RGB")
            if image.size != (side, side):
                image = image.resize((side, side), Image.BILINEAR)
            out[i] = np.asarray(image, dtype=np.float32)
        except (OSError, ValueError):
            continue
    return out


def pixel_signatures(tiny: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors per image: (centred RGB values, RGB gradients) of :func:`tiny_images` output. Their dot
    products are the two correlations behind :func:`pixel_similarity`. Colour matters: two renders of one room
    layout with differently coloured furniture correlate well in gray, not in colour."""
    rgb = np.asarray(tiny, dtype=np.float32)
    flat = rgb.reshape(len(rgb), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    grad = np.concatenate([np.diff(rgb, axis=1).reshape(len(rgb), -1),
                           np.diff(rgb, axis=2).reshape(len(rgb), -1)], axis=1)
    return unit_rows(flat), unit_rows(grad)


def pixel_similarity(signatures: tuple[np.ndarray, np.ndarray], rows_a: np.ndarray, rows_b: np.ndarray, *,
                     chunk: int = PAIR_CHUNK) -> np.ndarray:
    """Per pair: mean of the colour correlation and the colour-gradient correlation of the two tiny thumbnails
    (1 = the same picture; a re-crop by a few pixels, a brightness change or a JPEG re-encode stays above ~0.9).
    Pairs are scored ``chunk`` at a time, so memory does not grow with the number of pairs."""
    intensity, gradient = signatures
    rows_a, rows_b = np.asarray(rows_a, dtype=np.int64), np.asarray(rows_b, dtype=np.int64)
    out = np.empty(len(rows_a), dtype=np.result_type(intensity, gradient))
    for start in range(0, len(rows_a), chunk):
        a, b = rows_a[start:start + chunk], rows_b[start:start + chunk]
        out[start:start + chunk] = 0.5 * ((intensity[a] * intensity[b]).sum(axis=1) + (gradient[a] * gradient[b]).sum(axis=1))
    return out


def duplicate_pairs(
    pixel_hash: np.ndarray,
    embeddings: np.ndarray,
    splits: np.ndarray,
    labels: np.ndarray,
    *,
    thumbnails: Sequence[bytes | str | Path] | np.ndarray | None = None,
    pixel_threshold: float = PIXEL_THRESHOLD,
    embedding_threshold: float = EMBEDDING_THRESHOLD,
    neighbours: int = NEIGHBOURS,
    center: bool = True,
) -> pd.DataFrame:
    """Exact and near duplicate pairs, columns :data:`PAIR_COLUMNS`: exact first, then near by descending
    pixel similarity (embedding similarity without thumbnails).

    ``pixel_hash`` (N,) decoded-pixel hashes, ``embeddings`` (N, D), ``splits`` (N,) split names, ``labels`` (N,)
    given labels, ``thumbnails`` (N,) JPEG bytes or paths, or their :func:`tiny_images` array (optional; see the
    module docstring for why they help).
    ``kind`` = "exact" (same hash; ``group`` numbers the hash group, every pair of it is listed) or "near"
    (group -1). ``similarity``: centred embedding cosine; ``pixel_similarity``: NaN without thumbnails.
    ``cross_split``: one image in train, the other not (leakage); ``label_differs``: two labels for one picture.
    """
    splits = np.asarray(splits).astype(str)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if len(splits) != n or len(pixel_hash) != n or len(embeddings) != n:
        raise ValueError("pixel_hash, embeddings, splits and labels must have one entry per image")
    if thumbnails is not None and len(thumbnails) != n:
        raise ValueError(f"{len(thumbnails)} thumbnails for {n} images")
    unit = normalised_embeddings(embeddings, center=center)
    signatures = pixel_signatures(_tiny(thumbnails)) if thumbnails is not None else None

    exact_a, exact_b, groups = [], [], []
    for g, members in enumerate(exact_duplicate_groups(pixel_hash)):
        ia, ib = np.triu_indices(len(members), k=1)
        exact_a += members[ia].tolist()
        exact_b += members[ib].tolist()
        groups += [g] * len(ia)
    exact_a, exact_b = np.asarray(exact_a, dtype=np.int64), np.asarray(exact_b, dtype=np.int64)

    if signatures is not None:
        near_a, near_b, near_s = candidate_pairs(unit, k=neighbours)
        near_p = pixel_similarity(signatures, near_a, near_b)
        keep = near_p >= pixel_threshold
    else:
        near_a, near_b, near_s = similar_pairs(unit, threshold=embedding_threshold)
        near_p = np.full(len(near_a), np.nan)
        keep = np.ones(len(near_a), dtype=bool)
    exact_keys = set(zip(exact_a.tolist(), exact_b.tolist()))
    keep &= np.array([(a, b) not in exact_keys for a, b in zip(near_a.tolist(), near_b.tolist())], dtype=bool)
    near_a, near_b, near_s, near_p = near_a[keep], near_b[keep], near_s[keep], near_p[keep]

    a = np.concatenate([exact_a, near_a])
    b = np.concatenate([exact_b, near_b])
    exact_sim = np.sum(unit[exact_a] * unit[exact_b], axis=1) if len(exact_a) else np.zeros(0)
    exact_pix = pixel_similarity(signatures, exact_a, exact_b) if signatures is not None else np.full(len(exact_a), np.nan)
    frame = pd.DataFrame({
        "kind": np.array(["exact"] * len(exact_a) + ["near"] * len(near_a), dtype=object),
        "group": np.concatenate([np.asarray(groups, dtype=np.int64), np.full(len(near_a), -1, dtype=np.int64)]),
        "row_a": a,
        "row_b": b,
        "similarity": np.concatenate([exact_sim, near_s]).astype(float),
        "pixel_similarity": np.concatenate([exact_pix, near_p]).astype(float),
        "cross_split": (splits[a] == "train") != (splits[b] == "train"),
        "label_differs": labels[a] != labels[b],
    })
    sort_key = frame["pixel_similarity"].fillna(frame["similarity"])
    frame = frame.assign(_near=frame["kind"] == "near", _key=sort_key)
    frame = frame.sort_values(["_near", "_key", "row_a", "row_b"], ascending=[True, False, True, True], kind="stable")
    return frame[PAIR_COLUMNS].reset_index(drop=True)


def candidate_pairs(unit: np.ndarray, *, k: int = NEIGHBOURS, min_similarity: float = MIN_CANDIDATE_SIMILARITY
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows a, rows b, similarity), a < b, unique: each image paired with its ``k`` nearest neighbours by cosine
    (at least ``min_similarity``). ``unit`` must have unit-length rows."""
    n = len(unit)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    rows = np.arange(n)
    best, sims = nearest_neighbours(unit, rows, rows, k=min(k, n - 1))
    a = np.repeat(rows, best.shape[1])
    b, s = best.ravel(), sims.ravel()
    ok = (b >= 0) & (np.nan_to_num(s, nan=-1.0) >= min_similarity)
    lo, hi, s = np.minimum(a, b)[ok], np.maximum(a, b)[ok], s[ok]
    key, first = np.unique(lo * n + hi, return_index=True)
    return lo[first].astype(np.int64), hi[first].astype(np.int64), s[first].astype(np.float32)


def nearest_training_images(
    embeddings: np.ndarray,
    splits: np.ndarray,
    *,
    rows: np.ndarray | None = None,
    thumbnails: Sequence[bytes | str | Path] | np.ndarray | None = None,
    pixel_threshold: float = PIXEL_THRESHOLD,
    embedding_threshold: float = EMBEDDING_THRESHOLD,
    neighbours: int = NEIGHBOURS,
    center: bool = True,
) -> pd.DataFrame:
    """For each image in ``rows`` (default: every image outside the train split) its nearest training image and
    whether that is a near duplicate: a test error whose nearest training image is a copy is a leak, not a
    generalisation failure. With ``thumbnails`` the ``neighbours`` nearest training images (by centred embedding
    cosine) are checked on pixels and the best pixel match is reported when it passes ``pixel_threshold``;
    otherwise the embedding's nearest, near duplicate at ``similarity >= embedding_threshold``. Columns
    :data:`NEAREST_COLUMNS`; ``nearest_train`` is -1 when there is no training image."""
    splits = np.asarray(splits).astype(str)
    unit = normalised_embeddings(embeddings, center=center)
    query = np.flatnonzero(splits != "train") if rows is None else np.asarray(rows, dtype=np.int64)
    train = np.flatnonzero(splits == "train")
    k = neighbours if thumbnails is not None else 1
    best, sims = nearest_neighbours(unit, query, train, k=k)
    chosen, chosen_sim = best[:, 0].copy(), sims[:, 0].astype(float)
    pixel = np.full(len(query), np.nan)
    if thumbnails is not None and len(query) and len(train):
        if len(thumbnails) != len(splits):
            raise ValueError(f"{len(thumbnails)} thumbnails for {len(splits)} images")
        if isinstance(thumbnails, np.ndarray):
            tiny = thumbnails
        else:  # decode only the thumbnails compared
            involved = np.unique(np.concatenate([query, best[best >= 0]]))
            tiny = np.zeros((len(splits), TINY, TINY, 3), dtype=np.float32)
            tiny[involved] = tiny_images([thumbnails[i] for i in involved])
        signatures = pixel_signatures(tiny)
        valid = best >= 0
        scores = np.full(best.shape, -np.inf)
        qa = np.repeat(query, best.shape[1]).reshape(best.shape)
        scores[valid] = pixel_similarity(signatures, qa[valid], best[valid])
        pick = scores.argmax(axis=1)
        at = np.arange(len(query))
        pixel = np.where(np.isfinite(scores[at, pick]), scores[at, pick], np.nan)
        passes = np.nan_to_num(pixel, nan=-1.0) >= pixel_threshold
        chosen = np.where(passes, best[at, pick], chosen)
        chosen_sim = np.where(passes, sims[at, pick], chosen_sim)
        pixel = np.where(passes, pixel, scores[:, 0] if best.shape[1] else np.nan)
        pixel = np.where(np.isfinite(pixel), pixel, np.nan)
        near = passes
    else:
        near = np.nan_to_num(chosen_sim, nan=-1.0) >= embedding_threshold
    return pd.DataFrame({
        "row": query.astype(np.int64),
        "nearest_train": chosen.astype(np.int64),
        "similarity": chosen_sim.astype(float),
        "pixel_similarity": pixel.astype(float),
        "near_duplicate": near.astype(bool),
    })


def _tiny(thumbnails: Sequence[bytes | str | Path] | np.ndarray) -> np.ndarray:
    if isinstance(thumbnails, np.ndarray) and thumbnails.ndim == 4:
        return thumbnails
    return tiny_images(thumbnails)


# ------------------------------------------------------------------------------------------------- views

PAIR_VIEWS = ("exact", "near", "leakage", "labels")


def pair_view(pairs: pd.DataFrame, view: str) -> pd.DataFrame:
    """The duplicate pairs (:func:`duplicate_pairs`) of one view: ``exact`` or ``near`` (by kind), ``leakage``
    (one image in train, the other outside it) or ``labels`` (the two labels differ); table order."""
    if view in ("exact", "near"):
        return pairs[pairs["kind"] == view]
    if view == "leakage":
        return pairs[pairs["cross_split"].astype(bool)]
    if view == "labels":
        return pairs[pairs["label_differs"].astype(bool)]
    raise ValueError(f"unknown view {view!r} (expected one of {', '.join(PAIR_VIEWS)})")


def errors_near_training(nearest: pd.DataFrame, *, near_only: bool = True) -> pd.DataFrame:
    """The misclassified images of a nearest-training table (:func:`nearest_training_images` plus ``is_error``, as
    stored): those whose nearest training image is a near duplicate (table order), or, with ``near_only=False``,
    all of them, most similar first."""
    errors = nearest[nearest["is_error"].astype(bool)]
    if near_only:
        return errors[errors["near_duplicate"].astype(bool)]
    return errors.sort_values("similarity", ascending=False)


def view_counts(pairs: pd.DataFrame, nearest: pd.DataFrame) -> dict[str, int]:
    """Items per view: pairs per :data:`PAIR_VIEWS` view, and ``errors``: the errors whose nearest training image
    is a near duplicate."""
    counts = {view: len(pair_view(pairs, view)) for view in PAIR_VIEWS}
    return counts | {"errors": len(errors_near_training(nearest))}


def similarity_column(pairs: pd.DataFrame) -> str:
    """The similarity to threshold near pairs on: ``pixel_similarity`` when every pair has one, else ``similarity``
    (embedding)."""
    return "pixel_similarity" if pairs["pixel_similarity"].notna().all() else "similarity"


def pair_note(pair) -> str:
    """One line on a duplicate pair (a row of :func:`duplicate_pairs` with ``split_a``/``split_b``, as stored):
    how alike the two images are, then whether it crosses train and another split and whether the labels differ."""
    if pair["kind"] == "exact":
        kind = "identical pixels"
    elif pd.notna(pair["pixel_similarity"]):
        kind = f"pixel similarity {pair['pixel_similarity']:.3f} · embedding {pair['similarity']:.3f}"
    else:
        kind = f"embedding similarity {pair['similarity']:.3f}"
    other = pair["split_b"] if pair["split_a"] == "train" else pair["split_a"]
    return (kind + (f" · train ↔ {other}" if pair["cross_split"] else "")
            + (" · different labels" if pair["label_differs"] else ""))


def error_note(error) -> str:
    """One line on a misclassified image beside its nearest training image (a row of :func:`errors_near_training`)."""
    pixel = f" · pixel similarity {error['pixel_similarity']:.3f}" if pd.notna(error["pixel_similarity"]) else ""
    near = " · NEAR DUPLICATE" if error["near_duplicate"] else ""
    return f"test error ↔ nearest training image · embedding similarity {error['similarity']:.3f}{pixel}{near}"
