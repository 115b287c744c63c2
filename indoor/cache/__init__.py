"""The inference cache: its format (:mod:`.format`, the only reader and writer), the build that makes it
(:mod:`.build`) through :mod:`.writer`, and what the build computes on the way (:mod:`.properties`, :mod:`.projection`, :mod:`.tables`).

The names below are the format's public API, so ``from indoor.cache import load_cache`` reads naturally. Importing
this package loads neither torch nor UMAP."""

from indoor.cache.format import (
    CACHE_FILES,
    SAMPLE_COLUMNS,
    SCHEMA_VERSION,
    SOURCE_KINDS,
    Cache,
    CacheError,
    cache_key,
    cache_source,
    find_caches,
    in_sample_remedy,
    is_cache,
    load_cache,
    out_of_sample,
    probs_sources,
    thumb_name,
)
from indoor.cache.writer import check_target, write_cache, write_tables

__all__ = [
    "CACHE_FILES", "SAMPLE_COLUMNS", "SCHEMA_VERSION", "SOURCE_KINDS", "Cache", "cache_source", "out_of_sample",
    "probs_sources", "in_sample_remedy", "CacheError", "cache_key", "find_caches", "is_cache",
    "load_cache", "thumb_name", "check_target", "write_cache", "write_tables",
]
