"""2-D map of the embeddings (UMAP after PCA), computed at cache build time only."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

KNN_WORKING_MEMORY_MB = 64  # scikit-learn's block size for the exact neighbour search (see umap_2d)
_UMAP_MODULES = ("umap.umap_", "umap.layouts", "umap.utils")  # where umap-learn keeps its numba kernels


def cache_umap_kernels() -> int:
    """Let numba keep umap-learn's compiled kernels on disk. umap-learn compiles a few of them (the fuzzy simplicial
    set, the layout epochs) without numba's cache, so every build process spent about 10 s compiling them on 2
    cores; with the cache only the first build on a machine does. This turns on, for those kernels, what
    ``@numba.njit(cache=True)`` does (numba's ``Dispatcher.enable_caching``; numba writes the cache beside the
    package, or in the user's cache folder when that is read-only). Returns how many kernels it turned on; 0 if
    this numba or umap-learn lays things out differently (nothing else changes)."""
    import importlib

    turned_on = 0
    try:
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:
        return 0
    for name in _UMAP_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for kernel in vars(module).values():
            if isinstance(kernel, CPUDispatcher) and isinstance(getattr(kernel, "_cache", None), NullCache):
                # numba raises RuntimeError when it finds no folder to keep a cache in: then it compiles, as before
                with contextlib.suppress(RuntimeError):
                    kernel.enable_caching()
                    turned_on += 1
    return turned_on


def umap_2d(embeddings: np.ndarray, *, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """(N, 2) float32 UMAP coordinates (cosine metric, after PCA to at most 50 dims), scaled to [0, 1].

    Seeded, hence single-threaded and reproducible. Fewer than 8 rows fall back to PCA.
    """
    from sklearn.decomposition import PCA

    data = np.asarray(embeddings, dtype=np.float32)
    n = len(data)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    n_components = max(1, min(50, n - 1, data.shape[1]))
    reduced = PCA(n_components=n_components, random_state=seed).fit_transform(data) if n > 2 else data[:, :2]
    if n < 8:
        coords = np.zeros((n, 2), dtype=np.float32)
        coords[:, : min(2, reduced.shape[1])] = reduced[:, :2]
    else:
        import sklearn
        import umap
        from sklearn.neighbors import NearestNeighbors

        cache_umap_kernels()
        k = min(n_neighbors, n - 1)
        # exact cosine neighbours by BLAS (seconds even at 15,600 points) handed to UMAP, instead of UMAP's own
        # search: below 4,096 points that calls a numba distance once per pair from Python, above it pynndescent
        # compiles for a long time; together they were over half of UMAP's time in a build.
        # working_memory: the distance blocks scikit-learn computes at a time (default 1 GB: at 15,611 points that
        # was 1.5 GB of distances and argpartition indices, the build's peak memory); 64 MB blocks give the same
        # neighbours, faster, and keep this step's memory from growing with N squared.
        with sklearn.config_context(working_memory=KNN_WORKING_MEMORY_MB):
            distances, indices = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(
                reduced).kneighbors()
        distances = np.hstack([np.zeros((n, 1)), distances]).astype(np.float32)  # UMAP counts each point as its
        indices = np.hstack([np.arange(n)[:, None], indices])  # own first neighbour
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # n_jobs overridden by random_state; spectral init notes
            reducer = umap.UMAP(
                n_components=2,
                n_neighbors=k,
                min_dist=min_dist,
                metric="cosine",
                random_state=seed,
                init="spectral" if n > 30 else "random",
                precomputed_knn=(indices[:, :k], distances[:, :k]),
            )
            coords = reducer.fit_transform(reduced).astype(np.float32)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return ((coords - low) / span).astype(np.float32)
