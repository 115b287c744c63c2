"""Which classes the confusion explorer shows when there are too many to read (Places365: 365 x 365 cells).

Pure NumPy on a confusion matrix (rows = given label, columns = prediction, counts): the ``k`` classes of the most
confused pairs (:func:`most_confused`), a class and the classes it is confused with (:func:`neighbours`), the classes whose
name matches a search (:func:`search`); :func:`focus` picks one of these by name, :func:`in_order` lays a subset out
in a display order of every class, and :func:`errors_covered` says how much of the errors the sub-matrix shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

FULL_MATRIX_MAX = 100  # up to this many classes the explorer shows the whole matrix (and no focus controls)
TOP_K = (10, 20, 30, 50, 100)  # sizes offered for a focused view
DEFAULT_K = 30
VIEWS = ("top", "class", "search", "all")
View = Literal["top", "class", "search", "all"]

def _square(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {matrix.shape}")
    return matrix


def error_mass(matrix: np.ndarray) -> np.ndarray:
    """Per class, its off-diagonal mass: images of it predicted as another class plus images of other classes
    predicted as it."""
    matrix = _square(matrix)
    diagonal = np.diag(matrix)
    return (matrix.sum(axis=1) - diagonal) + (matrix.sum(axis=0) - diagonal)


def most_confused(matrix: np.ndarray, k: int) -> np.ndarray:
    """``k`` classes whose sub-matrix holds many errors: the classes of the most confused pairs (images of A
    predicted B plus B predicted A), the largest pair first, each pair's class with more off-diagonal mass
    (:func:`error_mass`) first; classes without any confusion only when fewer than ``k`` have one (by mass, ties:
    lower index first). At 365 classes this shows about twice the errors of the ``k`` classes with the most mass,
    which are often each confused with different classes outside the view."""
    matrix = _square(matrix)
    mass = error_mass(matrix)
    k = max(0, min(int(k), len(mass)))
    off = matrix - np.diag(np.diag(matrix))
    mutual = np.triu(off + off.T, 1)
    first, second = np.nonzero(mutual)
    chosen: list[int] = []
    for pair in np.argsort(-mutual[first, second], kind="stable"):
        if len(chosen) >= k:
            break
        for c in sorted((int(first[pair]), int(second[pair])), key=lambda c: (-mass[c], c)):
            if c not in chosen and len(chosen) < k:
                chosen.append(c)
    rest = [int(c) for c in np.argsort(-mass, kind="stable") if int(c) not in chosen]
    return np.array(chosen + rest[: k - len(chosen)], dtype=int)


def neighbours(matrix: np.ndarray, centre: int, k: int) -> np.ndarray:
    """``centre`` first, then up to ``k`` other classes it is confused with in either direction (images of it
    predicted as them plus theirs predicted as it), the most confused first; classes never confused with it are
    left out."""
    matrix = _square(matrix)
    n = matrix.shape[0]
    if not 0 <= int(centre) < n:
        raise ValueError(f"centre must be a class index in 0..{n - 1}, got {centre}")
    centre = int(centre)
    mutual = matrix[centre, :] + matrix[:, centre]
    mutual[centre] = 0.0
    others = np.argsort(-mutual, kind="stable")
    others = others[mutual[others] > 0][: max(0, int(k))]
    return np.concatenate([[centre], others]).astype(int)


def search(classes: Sequence[str], query: str) -> np.ndarray:
    """Indices of the classes whose name contains ``query`` (case-insensitive; spaces, ``_`` and ``/`` count as
    one another, so "living room" finds "living_room"), in index order; every class for an empty query."""

    def norm(text: str) -> str:
        return " ".join(str(text).lower().replace("_", " ").replace("/", " ").split())

    wanted = norm(query)
    return np.array([i for i, name in enumerate(classes) if wanted in norm(name)], dtype=int)


def focus(matrix: np.ndarray, classes: Sequence[str], *, view: View, k: int = DEFAULT_K, centre: int | None = None,
          query: str = "") -> np.ndarray:
    """The classes a view shows (not yet in display order): "top" the ``k`` most confused, "class" ``centre`` and
    its ``k`` most confused neighbours (the most confused class when ``centre`` is None), "search" the names
    matching ``query``, "all" every class."""
    n = len(classes)
    if _square(matrix).shape[0] != n:
        raise ValueError(f"the matrix has {np.shape(matrix)[0]} classes, the names {n}")
    if view == "top":
        return most_confused(matrix, k)
    if view == "class":
        if centre is None:
            top = most_confused(matrix, 1)
            centre = int(top[0]) if len(top) else 0
        return neighbours(matrix, centre, k) if n else np.arange(0)
    if view == "search":
        return search(classes, query)
    if view == "all":
        return np.arange(n)
    raise ValueError(f"unknown view {view!r} (expected one of {', '.join(VIEWS)})")


def in_order(order: Sequence[int], subset: Sequence[int]) -> np.ndarray:
    """The classes of ``subset`` in the order they take in ``order`` (a display order of every class), so a
    sub-matrix keeps the whole matrix's order (e.g. similar classes side by side)."""
    order = np.asarray(order, dtype=int)
    return order[np.isin(order, np.asarray(subset, dtype=int))]


def errors_covered(matrix: np.ndarray, subset: Sequence[int]) -> tuple[int, int]:
    """(errors in the sub-matrix of ``subset``: given and predicted both in it, all errors)."""
    matrix = _square(matrix)
    off = matrix - np.diag(np.diag(matrix))
    index = np.asarray(subset, dtype=int)
    return round(float(off[np.ix_(index, index)].sum())), round(float(off.sum()))
