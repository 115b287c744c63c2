"""The cache's shortcut tests (``analysis/shortcut_tests.parquet``, columns
:data:`indoor.analysis.interventions.TEST_COLUMNS`): read them, run more on a loaded cache (on demand from the
dashboard, in ``python -m indoor analyze``, or run A's tests on run B for Compare) and store them.

A stored test stays valid as long as the images, the model and the bins do: ``analyze`` changes none of them, so
it keeps every stored test and only tests top findings that have none. Running a test imports torch (at call
time); reading does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from indoor.analysis import interventions
from indoor.cache.format import Cache, CacheError

TABLE = "shortcut_tests"
DEFAULT_TOP = 3  # findings tested at build time (and by analyze)
DEFAULT_IMAGES = 64  # images edited per test


def stored_tests(cache: Cache) -> pd.DataFrame:
    """The cache's stored tests; an empty table when it has none (an older cache) or the file is unreadable."""
    if not cache.has_table(TABLE):
        return interventions.empty_tests()
    try:
        table = cache.table(TABLE)
    except CacheError:
        return interventions.empty_tests()
    table = interventions.with_optional_columns(table)  # an older cache's tests lack the newer columns only
    return interventions.empty_tests() if table is None else table


def label_issue_flags(cache: Cache, tables: dict[str, pd.DataFrame] | None = None) -> np.ndarray | None:
    """Per row of the cache: flagged as a likely label error (the ``label_issues`` table), or None if unknown."""
    try:
        issues = tables["label_issues"] if tables is not None else cache.table("label_issues")
    except (CacheError, KeyError):
        return None
    flags = np.zeros(len(cache.samples), dtype=bool)
    flags[issues["row"].to_numpy(np.int64)] = issues["is_issue"].to_numpy(bool)
    return flags


def input_side(preprocessing: dict) -> int:
    """The shorter side the model resizes an image to before its centre crop (preprocess_image's arithmetic)."""
    size = int(preprocessing["size"])
    return max(size, math.floor(size / float(preprocessing.get("crop_pct", 1.0) or 1.0)))


def cache_scorer(cache: Cache):
    """The cache's image -> probabilities model (backbone, fine-tuned when it was, and the head fit on the whole
    train split) as a :class:`indoor.model.shortcut_test.Scorer` (on the GPU when there is one). Loads torch and
    the weights: seconds."""
    from indoor.model.explain import load_classifier
    from indoor.model.shortcut_test import Scorer

    classifier = load_classifier(cache)
    preprocessing = {"size": classifier.image_size, "mean": tuple(classifier.mean), "std": tuple(classifier.std),
                     "interpolation": classifier.interpolation, "crop_pct": float(classifier.crop_pct)}
    from indoor.model.features import default_device

    return Scorer(classifier.model.embedder, classifier.model.head, preprocessing, default_device())


def image_loader(cache: Cache, side: int) -> Callable[[int], Any]:
    """row -> the working copy of that image (its original when still inside the data root, else its thumbnail),
    with the original size the build measured."""
    from indoor.model.shortcut_test import working_image

    widths, heights = cache.samples["width"].to_numpy(), cache.samples["height"].to_numpy()

    def load(row: int):
        size = (int(widths[row]), int(heights[row]))
        return working_image(str(cache.image_path(row)), side=side, original_size=size)

    return load


def test_findings(
    cache: Cache,
    findings: pd.DataFrame,
    *,
    scorer: Any = None,
    n: int = DEFAULT_IMAGES,
    source: str = "on demand",
    sample_ids: dict[str, Sequence[str]] | None = None,
    every: pd.DataFrame | None = None,
    save: bool = True,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run the intervention test of every finding in ``findings`` on this cache's model and images; with
    ``save``, merge the results into the stored table (written atomically; a read-only cache keeps nothing, the
    results are returned all the same). ``findings`` are shortcut findings rows, or another run's test rows
    (with ``sample_ids`` = their images, by key, to test the same images). ``every``: the whole findings table,
    to test a finding's repeats when its own test is not confirmed (see :func:`indoor.model.shortcut_test.run_tests`)."""
    from indoor.model.shortcut_test import run_tests

    scorer = scorer or cache_scorer(cache)
    results = run_tests(
        findings, cache.samples, cache.classes, scorer, image_loader(cache, input_side(scorer.preprocessing)),
        label_issues=label_issue_flags(cache), embeddings=cache.embeddings, n=n,
        seed=int(cache.meta.get("seed", 0) or 0), source=source,
        sample_ids=sample_ids, every=every, log=log)
    if save and len(results):
        save_tests(cache, results)
    return results


def test_one_class(cache: Cache, test: dict[str, Any], from_class: str, *, scorer: Any = None,
                   n: int = DEFAULT_IMAGES, save: bool = True) -> dict[str, Any]:
    """Test ``test``'s finding again on ``from_class``'s images alone (up to ``n``, labelled and predicted that
    class, none of the first test's images): does the shortcut act on that class? ``test`` is a stored test row
    (the class to test: :func:`indoor.analysis.intervention_report.nearest_class`). Returns ``test`` with the result in ``class_test``
    (:func:`indoor.analysis.intervention_report.class_test_of`), stored in the cache with ``save`` (a read-only cache:
    returned all the same)."""
    from indoor.model.shortcut_test import run_class_test

    scorer = scorer or cache_scorer(cache)
    updated = run_class_test(test, from_class, cache.samples, cache.classes, scorer,
                             image_loader(cache, input_side(scorer.preprocessing)), label_issues=label_issue_flags(cache),
                             embeddings=cache.embeddings, n=n, seed=int(cache.meta.get("seed", 0) or 0))
    if save:
        save_tests(cache, interventions.tests_frame([updated]))
    return updated


def save_tests(cache: Cache, results: pd.DataFrame) -> bool:
    """Merge ``results`` into the cache's stored tests (one row per finding, the new one wins); False when the
    cache folder cannot be written."""
    from indoor.cache.writer import write_table

    try:
        write_table(cache.path, TABLE, interventions.merge_tests(stored_tests(cache), results))
    except OSError:
        return False
    return True


def refresh_tests(cache: Cache, tables: dict[str, pd.DataFrame], *, top: int = DEFAULT_TOP,
                  log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """For ``python -m indoor analyze``: the stored tests, plus tests of those of the ``top`` best-ranked
    findings in ``tables`` (freshly computed analysis tables) that have none. Without a model (an imported cache,
    no ``head.pt``) nothing new is tested and that is said through ``log``."""
    from indoor.model.shortcut_test import top_findings

    stored = stored_tests(cache)
    findings = top_findings(tables["shortcut_findings"], top)
    keys = [interventions.finding_key(p, b, c) for p, b, c in zip(findings["property"], findings["bin"], findings["class"])]
    missing = findings[[k not in set(stored["key"]) for k in keys]]
    if missing.empty:
        return stored
    if not cache.head_path.is_file():
        if log:
            log(f"{len(missing)} top shortcut finding(s) untested: the cache has no model (head.pt) to test with")
        return stored
    flags = label_issue_flags(cache, tables)
    scorer = cache_scorer(cache)
    from indoor.model.shortcut_test import run_tests

    from indoor.model.shortcut_test import CLASS_BUDGET, REPEAT_BUDGET

    fresh = run_tests(missing, cache.samples, cache.classes, scorer, image_loader(cache, input_side(scorer.preprocessing)),
                      label_issues=flags, embeddings=cache.embeddings, seed=int(cache.meta.get("seed", 0) or 0),
                      source="analyze", every=tables["shortcut_findings"], repeat_budget=REPEAT_BUDGET,
                      probs=cache.probs, class_budget=CLASS_BUDGET, log=log)
    return interventions.merge_tests(stored, fresh)
