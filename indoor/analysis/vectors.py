"""Embedding vectors: unit-length rows and class centroids, the one copy every analysis uses."""

from __future__ import annotations

import numpy as np


def unit_rows(x: np.ndarray) -> np.ndarray:
    """``x`` with every row scaled to unit length (all-zero rows stay zero). ``x`` must be finite."""
    x = np.asarray(x)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros(x.shape, dtype=np.result_type(x.dtype, np.float32)), where=norms > 0)


def class_centroids(embeddings: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, D): the unit-length direction of the mean of each class's unit-length embeddings (zeros for a class
    without images). Cosine similarities to it rank a class's images from typical to odd; the cosine distance
    between two centroids measures how close two classes are. Embeddings must be finite."""
    unit = unit_rows(np.asarray(embeddings, dtype=np.float32))
    labels = np.asarray(labels, dtype=np.int64)
    sums = np.zeros((n_classes, unit.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, unit)
    return unit_rows(sums)
