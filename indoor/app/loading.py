"""Every ``st.cache_*`` wrapper of the app in one place: the cache itself, and the read-only arrays and tables
pages derive from it, shared by all sessions and keyed by the cache's build (:attr:`indoor.cache.Cache.key`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from indoor.analysis import explore
from indoor.app import state
from indoor.analysis.compare import Comparison, compare_runs
from indoor.analysis.metrics import confusion_matrix
from indoor.cache import Cache, CacheError, load_cache
from indoor.decisions import DecisionError, DecisionStore


_LOG = logging.getLogger("indoor.app")


def _stamp(path: Path) -> int:
    try:
        return (path / "meta.json").stat().st_mtime_ns
    except OSError:
        return -1


@st.cache_resource(show_spinner="Loading the inference cache…", max_entries=4)
def _load_cache(path: str, stamp: int) -> Cache:
    """One shared, read-only Cache per (path, meta.json mtime): a rebuilt cache is picked up on the next run."""
    return load_cache(path)


def load(path: Path) -> Cache:
    """The cache at ``path``, loaded once per build and shared read-only by every session (a rebuilt cache, with a
    new ``meta.json``, is picked up on the next run). Raises :class:`indoor.cache.CacheError`."""
    return _load_cache(str(path), _stamp(path))


@dataclass(frozen=True)
class Columns:
    """Plain numpy copies of the sample columns pages read row by row (pandas scalar access is slow)."""

    sample_id: np.ndarray
    label: np.ndarray
    pred: np.ndarray
    confidence: np.ndarray
    self_confidence: np.ndarray
    split: np.ndarray


@st.cache_resource(max_entries=8, show_spinner=False)
def _columns(key: str, _cache: Cache) -> Columns:
    s = _cache.samples
    arrays = {name: s[name].to_numpy(dtype=object if name in ("sample_id", "split") else None).copy()
              for name in ("sample_id", "label", "pred", "confidence", "self_confidence", "split")}
    for array in arrays.values():
        array.flags.writeable = False
    return Columns(**arrays)


def columns(cache: Cache) -> Columns:
    return _columns(cache.key, cache)


@st.cache_resource(max_entries=32, show_spinner=False)
def _confusion(key: str, _cache: Cache, split: str) -> np.ndarray:
    samples = _cache.samples
    mask = explore.split_mask(samples["split"].to_numpy(), split)
    matrix = confusion_matrix(samples["label"].to_numpy()[mask], samples["pred"].to_numpy()[mask],
                              len(_cache.classes))
    matrix.flags.writeable = False
    return matrix


def confusion(cache: Cache, split: str) -> np.ndarray:
    """Confusion counts (rows = given label, columns = prediction) of one split (or ``all``); shared, read-only."""
    return _confusion(cache.key, cache, split)


@st.cache_resource(max_entries=32, show_spinner=False)
def _order(key: str, _cache: Cache, by: str) -> np.ndarray:
    order = _stored_similarity_order(_cache) if by == "similarity" else None
    if order is None:
        order = explore.class_order(_confusion(key, _cache, "all"), _cache.classes, by=by)
    order.flags.writeable = False
    return order


def _stored_similarity_order(cache: Cache) -> np.ndarray | None:
    """The similarity order the build stored (analysis/class_order.parquet), if present and a permutation of the
    classes; None otherwise (then it is computed)."""
    if not cache.has_table("class_order"):
        return None
    try:
        order = cache.table("class_order")["similarity"].to_numpy(np.int64)
    except (CacheError, KeyError, ValueError):
        return None
    return order if np.array_equal(np.sort(order), np.arange(len(cache.classes))) else None


def class_order(cache: Cache, by: str) -> np.ndarray:
    """Class indices ordered by name, accuracy or similarity; computed on every image (all splits, out-of-sample
    probabilities) so the order stays put when the split changes."""
    return _order(cache.key, cache, by)


@st.cache_resource(max_entries=8, show_spinner=False)
def _typical(key: str, _cache: Cache, k: int) -> dict[int, np.ndarray]:
    samples = _cache.samples
    labels, preds = samples["label"].to_numpy(), samples["pred"].to_numpy()
    self_conf = samples["self_confidence"].to_numpy()
    return {c: explore.typical_examples(labels, preds, self_conf, c, k=k) for c in range(len(_cache.classes))}


def typical_rows(cache: Cache, class_index: int, *, k: int = 6, exclude: int | None = None) -> list[int]:
    """Rows of the most confidently, correctly classified images of a class (out-of-sample probabilities)."""
    rows = [int(r) for r in _typical(cache.key, cache, k + 1)[int(class_index)] if r != exclude]
    return rows[:k]


@st.cache_resource(max_entries=8, show_spinner=False)
def _store(path: str, key: str, _cache: Cache) -> DecisionStore:
    return DecisionStore(path, classes=_cache.classes, known_ids=_cache.row_of.keys())


@st.cache_resource(max_entries=8, show_spinner=False)
def _store_problems(path: str, stamp: tuple[int, int], _store: DecisionStore) -> tuple[str, ...]:
    return tuple(_store.integrity_problems())


def _file_stamp(path: Path) -> tuple[int, int]:
    stamps = []
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            stamps.append(file.stat().st_mtime_ns)
        except OSError:
            stamps.append(-1)
    return stamps[0], stamps[1]


def decisions_problem(cache: Cache) -> str | None:
    """Why the decisions store beside the cache can't be used (unopenable, or damaged per SQLite's quick check,
    re-checked whenever the file changes), or None. Pages then work read-only; setup_page says so once."""
    try:
        store = _store(str(cache.decisions_path), cache.key, cache)
    except DecisionError as exc:
        return str(exc)
    problems = _store_problems(str(cache.decisions_path), _file_stamp(cache.decisions_path), store)
    if problems:
        return f"{cache.decisions_path} is damaged ({'; '.join(problems[:3])})"
    return None


def decision_store(cache: Cache) -> DecisionStore | None:
    """The decisions store beside the cache (created on first use); None when unusable (see
    :func:`decisions_problem`): the caller then shows decisions read-only or not at all."""
    if decisions_problem(cache) is not None:
        return None
    return _store(str(cache.decisions_path), cache.key, cache)


def top_classes(cache: Cache, rows: Sequence[int], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(indices, probabilities) of the k most probable classes of ``rows``."""
    probs = np.asarray(cache.probs[np.sort(np.asarray(rows, dtype=int))])
    order = np.argsort(np.argsort(np.asarray(rows, dtype=int)))  # back to the order of ``rows``
    return explore.top_k(probs[order], k)


@st.cache_resource(max_entries=4, show_spinner="Running the analyses on this cache (a rebuild stores them)…")
def _analysis_tables(key: str, _cache: Cache) -> dict:
    from indoor.cache.tables import cache_tables

    return cache_tables(_cache)


def analysis_tables(cache: Cache) -> dict:
    """The cache's analysis tables (name -> DataFrame): read from the cache, or computed once when absent."""
    return _analysis_tables(cache.key, cache)


# ------------------------------------------------------------------------------ shortcut tests (on demand, stored)


def _tests_stamp(cache: Cache) -> int:
    try:
        return (cache.path / "analysis" / "shortcut_tests.parquet").stat().st_mtime_ns
    except OSError:
        return -1


@st.cache_resource(max_entries=8, show_spinner=False)
def _stored_tests(key: str, stamp: int, _cache: Cache):
    from indoor.cache.shortcut_tests import stored_tests

    return stored_tests(_cache)


@st.cache_resource(max_entries=8, show_spinner=False)
def _unsaved_tests(key: str) -> dict:
    """Tests run on demand that could not be written into the cache (a read-only folder): key -> row."""
    return {}


def shortcut_tests(cache: Cache):
    """The cache's shortcut tests (``analysis/shortcut_tests.parquet``, re-read when a test run on demand rewrote
    it), with any that could not be stored; no torch."""
    from indoor.analysis.interventions import merge_tests, tests_frame

    stored = _stored_tests(cache.key, _tests_stamp(cache), cache)
    unsaved = _unsaved_tests(cache.key)
    return merge_tests(stored, tests_frame(list(unsaved.values()))) if unsaved else stored


@st.cache_resource(max_entries=2, show_spinner=False)
def _test_scorer(key: str, _cache: Cache):
    """The cache's model for shortcut tests, loaded once per server process (torch is imported here)."""
    import threading

    from indoor.cache.shortcut_tests import cache_scorer

    return cache_scorer(_cache), threading.Lock()


def run_shortcut_test(cache: Cache, finding: dict, every=None):
    """Test one finding (a shortcut-findings row) on demand: edit, re-embed and score ~200 images with the cache's
    model (seconds; the first test of a server process also loads the model), and, when it is not confirmed, its
    repeats in ``every`` (the findings table) that move another property; store the results in the cache and
    return them (a test table). Imports torch at call time."""
    import pandas as pd

    from indoor.cache.shortcut_tests import save_tests, test_findings

    scorer, lock = _test_scorer(cache.key, cache)
    with lock:  # one forward pass at a time per model
        result = test_findings(cache, pd.DataFrame([finding]), scorer=scorer, every=every, save=False)
    if len(result) and not save_tests(cache, result):
        _unsaved_tests(cache.key).update({row["key"]: row for row in result.to_dict("records")})
    return result


def run_class_test(cache: Cache, test: dict, from_class: str) -> dict:
    """Test a stored test's finding on ``from_class``'s images alone, on fresh images (seconds; torch imported at
    call time); stored in the cache, or kept for this server process when the cache folder is read-only."""
    from indoor.analysis.interventions import tests_frame
    from indoor.cache.shortcut_tests import save_tests, test_one_class

    scorer, lock = _test_scorer(cache.key, cache)
    with lock:  # one forward pass at a time per model
        row = test_one_class(cache, test, from_class, scorer=scorer, save=False)
    if not save_tests(cache, tests_frame([row])):
        _unsaved_tests(cache.key)[row["key"]] = row
    return row


@st.cache_data(max_entries=64, show_spinner=False)
def _nearest_class(key: str, cls: str, exclude: tuple[str, ...], _cache: Cache) -> str | None:
    from indoor.analysis.intervention_report import nearest_class as nearest

    return (nearest(_cache.samples, _cache.probs, cls, _cache.classes, exclude=exclude)  # a decidable test
            or nearest(_cache.samples, _cache.probs, cls, _cache.classes, exclude=exclude, min_images=2))


def nearest_class(cache: Cache, cls: str, exclude: tuple[str, ...]) -> str | None:
    """The class to test a finding of ``cls`` on alone (:func:`indoor.analysis.intervention_report.nearest_class`),
    none of ``exclude``'s images; once per cache and test. In a small data set where no class has enough images
    for a decided test (16), the nearest class with two or more: its test may well say "too few images"."""
    return _nearest_class(cache.key, cls, exclude, cache)


@st.cache_data(max_entries=16, show_spinner=False)
def _replayed(key_a: str, key_b: str, stamp_a: int, _run_a: Cache, _run_b: Cache):
    import pandas as pd

    from indoor.cache.shortcut_tests import test_findings

    tests = shortcut_tests(_run_a)
    if tests.empty or _run_b.path.resolve() == _run_a.path.resolve():
        return tests.iloc[0:0]
    scorer, lock = _test_scorer(key_b, _run_b)
    ids = {k: list(v) for k, v in zip(tests["key"], tests["sample_ids"])}
    with lock:
        return test_findings(_run_b, pd.DataFrame(tests), scorer=scorer, sample_ids=ids, save=False,
                             source="compare: run A's test")


def replay_shortcut_tests(run_a: Cache, run_b: Cache):
    """Run A's shortcut tests on run B's model, on the same images and bins (e.g. after ``--augment``): a test
    table of B's effects, keyed like A's; computed once per pair of builds (kept in memory, not in B's cache,
    whose own findings may differ)."""
    return _replayed(run_a.key, run_b.key, _tests_stamp(run_a), run_a, run_b)


# ------------------------------------------------------------------------------------------- other runs (Compare)


def run_options(cache: Cache) -> tuple[list[str], str]:
    """(options, default run B) of a run picker, as display paths: :func:`indoor.app.state.offered_caches`; run B
    defaults to the shown cache's cleaned rebuild (``<cache>-cleaned``), else another run, else the shown cache."""
    offered = state.offered_caches(cache.path)
    options = [state.display_path(p) for p in offered]
    sibling = cache.path.parent / f"{cache.path.name}-cleaned"
    cleaned = next((state.display_path(p) for p in offered if p.resolve() == sibling.resolve()), None)
    others = [state.display_path(p) for p in offered if p.resolve() != cache.path.resolve()]
    return options, cleaned or (others[0] if others else options[0])


NOT_OFFERED = ("not one of the caches this dashboard offers (the sidebar's list: caches under runs/, the one given "
               "by --cache or INDOOR_CACHE, and the shown cache's -cleaned rebuild)")


def open_run(text: str, home: Cache) -> Cache:
    """The offered cache (:func:`indoor.app.state.offered_caches`) whose display path or path is ``text``;
    ``home`` itself when it is that one. Anything else, existing or not, gets the same :class:`CacheError`
    (no answer reveals what exists on the disk)."""
    for path in state.offered_caches(home.path):
        if text in (state.display_path(path), str(path)):
            return home if path.resolve() == home.path.resolve() else load(path.resolve())
    raise CacheError(NOT_OFFERED)


@st.cache_resource(max_entries=16, show_spinner="Comparing…")
def _compare(key_a: str, key_b: str, reference: str, split: str, _a: Cache, _b: Cache) -> Comparison:
    return compare_runs(_a.samples, _a.classes, _b.samples, _b.classes, reference=reference, split=split)


def compare(run_a: Cache, run_b: Cache, reference: str, split: str) -> Comparison:
    """Run A against run B (:func:`indoor.analysis.compare.compare_runs`), once per pair of builds and options."""
    return _compare(run_a.key, run_b.key, reference, split, run_a, run_b)


def warm_up() -> None:
    """Fill the server's shared caches before the first session needs them: the default cache, its confusion
    matrices and the similarity class order (stored by the build; computed for older caches). Called once, in a
    background thread, by the start-up hook in app.py. Errors are left to the pages, which report them."""
    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "missing ScriptRunContext": expected outside a session
    try:
        # Streamlit checks once per process, on the first element a page writes, whether it runs in a REPL: an
        # inspect.stack() that reads the source of every frame, 0.3 s deep in a page's script thread, next to
        # nothing here. (Private; skipped if it ever changes.)
        from streamlit import delta_generator

        with contextlib.suppress(Exception):
            delta_generator._maybe_print_use_warning()
        choice = state.default_cache()
        if choice.path is None:
            return
        cache = load(choice.path)
        columns(cache)
        for split in [*sorted(set(cache.samples["split"].unique())), explore.SPLIT_ALL]:
            confusion(cache, split)
        class_order(cache, "similarity")
        cache.row_of.get("")  # builds the sample_id index (1M rows: ~1-2 s) after what the first page needs
    except Exception as exc:  # noqa: BLE001 - a broken cache is the pages' to explain
        _LOG.info("warm-up stopped: %s", exc)
    finally:
        quiet.setLevel(level)
