"""The analysis tables of a loaded cache: read from ``analysis/*.parquet``, or computed now for an older cache."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indoor.analysis.multiclass import empty_regions
from indoor.analysis.tables import LATE_TABLES, TABLES, build_tables, class_order_table
from indoor.cache.format import in_sample_remedy, out_of_sample
from indoor.cache.shortcut_tests import stored_tests


def cache_tables(cache) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLES` for a loaded :class:`indoor.cache.Cache`: read from the cache when its build
    stored them all (``analysis/<name>.parquet``), else computed now with :func:`build_tables` (seconds for a
    small cache; a rebuild stores them)."""
    present = [name for name in TABLES if cache.has_table(name)]
    if set(present) >= set(TABLES) - set(LATE_TABLES):
        tables = {name: cache.table(name) for name in present}
        if "class_order" not in tables:
            samples = cache.samples
            tables["class_order"] = class_order_table(samples["label"].to_numpy(np.int64),
                                                      samples["pred"].to_numpy(np.int64), len(cache.classes))
        if "shortcut_tests" not in tables:  # built before the tests existed: untested (the page offers them)
            tables["shortcut_tests"] = stored_tests(cache)
        if "regions" not in tables:  # built before region evidence: candidates from probabilities (stored)
            tables["regions"] = empty_regions()
        return {name: tables[name] for name in TABLES}
    tables = build_tables(
        cache.samples, np.asarray(cache.probs), np.asarray(cache.embeddings), cache.classes,
        seed=int(cache.meta.get("seed", 0) or 0),
        probs_out_of_sample=out_of_sample(cache.meta), in_sample_remedy=in_sample_remedy(cache.meta),
        thumbnails=[cache.thumb_path(row) for row in range(len(cache.samples))],
        regions=cache.table("regions") if cache.has_table("regions") else None,
    )
    tables["shortcut_tests"] = stored_tests(cache)
    return tables
