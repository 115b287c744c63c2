"""Measure the analyses on real photographs with planted truth, next to the same numbers on the demo.

    python bench/bench_real.py                                  # intel6 + places40, demo at runs/demo if built
    python bench/bench_real.py --sets intel6 --demo /tmp/demo --demo67 /tmp/demo67 --sections label_issues

Steps, one function each:

1. **plant** — ``../shared/tools/plant.py KIND SRC OUT ...`` copies a photo set from ``../shared/data/<set>`` with
   known truth (label flips, ...) into ``--work`` (default ``/tmp/indoor-bench-real``); skipped when already there.
2. **build** — ``python -m indoor build --data OUT --manifest OUT/manifest.csv --image-size 160`` into
   ``--work``; skipped when the cache is already there (``--rebuild`` to force). The photos and caches never go
   into the repository.
3. **analyse** — :func:`indoor.analysis.tables.build_tables` on the cache's arrays with the code as it is now
   (timed), so a change to an analysis is measured without re-embedding.
4. **score** — one function per analysis (``score_<section>``) turns the tables and the planted truth into
   named figures; the demo's own truth.csv is scored by the same function through :func:`demo_truth`.
5. **print** — one table: a row per (section, figure), a column per data set (demo, 67-class demo, real sets).

Adding an analysis: write its planted truth reader (``truth_<section>`` for plant.py's truth.csv and a branch in
:func:`demo_truth`), its scorer ``score_<section>(tables, truth) -> dict``, and register it in :data:`SECTIONS`.
The truth files are read here only — never by ``indoor/`` or the pages.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indoor.analysis.tables import build_tables  # noqa: E402
from indoor.cache import CacheError, load_cache  # noqa: E402
from indoor.cache.format import is_cache  # noqa: E402

SHARED = ROOT.parent / "shared"
REAL_SETS = ("intel6", "places40")
# photos of the real sets whose own label a person judged wrong (set, path, label, shows, verdict): planted truth
# counts them as false positives; the label-issue figures are also given with them counted as label errors
NATURAL_ERRORS = Path(__file__).with_name("natural_label_errors.csv")
IMAGE_SIZE = 160


# ================================================================================================ sections


@dataclass(frozen=True)
class Section:
    """One analysis measured against planted truth.

    ``plant``: plant.py arguments after the kind's source/target (e.g. ``("flip", "--rate", "0.05", "--seed",
    "1")``; the first is the kind); ``real_truth(cache, truth_csv_frame) -> DataFrame`` aligns plant.py's
    truth.csv with the cache's rows; ``demo_truth(cache, demo_truth_frame) -> DataFrame`` does the same for the
    demo's truth.csv (None: not measurable on the demo); ``score(tables, truth) -> {figure: text}``;
    ``baseline(cache) -> {name: table}`` (optional) adds bench-only tables (e.g. what the code before an issue
    computed) to ``tables`` before scoring."""

    name: str
    plant: tuple[str, ...]
    real_truth: Callable[[object, pd.DataFrame], pd.DataFrame]
    demo_truth: Callable[[object, pd.DataFrame], pd.DataFrame] | None
    score: Callable[[dict[str, pd.DataFrame], pd.DataFrame], dict[str, str]]
    baseline: Callable[[object], dict[str, pd.DataFrame]] | None = None


# ------------------------------------------------------------------------------------------------ label issues


def truth_flips_real(cache, truth: pd.DataFrame) -> pd.DataFrame:
    """plant.py flip's truth.csv (path, given, true, planted) -> per cache row: planted (bool), true_class."""
    by_path = truth.set_index("path")
    ids = cache.samples["sample_id"].astype(str)
    missing = ~ids.isin(by_path.index)
    if missing.any():
        raise SystemExit(f"error: {int(missing.sum())} cache images are not in truth.csv (e.g. {ids[missing].iloc[0]})")
    rows = by_path.loc[ids]
    planted = rows["planted"].astype(str).str.lower().isin(("true", "1")).to_numpy()
    return pd.DataFrame({"planted": planted, "true_class": rows["true"].astype(str).to_numpy()})


def truth_flips_demo(cache, truth: pd.DataFrame) -> pd.DataFrame:
    """The demo's truth.csv (sample_id, true_class, flipped, ...) -> per cache row: planted, true_class."""
    rows = truth.set_index("sample_id").loc[cache.samples["sample_id"].astype(str)]
    return pd.DataFrame({"planted": rows["flipped"].astype(int).to_numpy().astype(bool),
                         "true_class": rows["true_class"].astype(str).to_numpy()})


def baseline_label_issues(cache) -> dict[str, pd.DataFrame]:
    """Before issue 14: cleanlab's confident learning on the probe's probabilities alone (flagged set and review
    order of :func:`indoor.analysis.label_issues.find_label_issues`)."""
    from indoor.analysis.label_issues import find_label_issues

    return {"_probe_only_label_issues": find_label_issues(cache.samples["label"].to_numpy(np.int64),
                                                          np.asarray(cache.probs, dtype=np.float64))}


def _flag_figures(issues: pd.DataFrame, planted: np.ndarray) -> tuple[str, str, str]:
    """(flagged count, flagged precision / recall, precision at n in review order) of a label-issue table."""
    issues = issues.sort_values("row")
    n = int(planted.sum())
    flagged = issues["is_issue"].to_numpy(dtype=bool)
    hit = int((flagged & planted).sum())
    top_n = issues["review_rank"].to_numpy() < n
    return (f"{int(flagged.sum()):,} ({flagged.mean():.0%})",
            f"{hit / max(flagged.sum(), 1):.3f} / {hit / max(n, 1):.3f}", f"{(top_n & planted).sum() / max(n, 1):.3f}")


def _f1(precision_recall: str) -> str:
    """F1 of a "precision / recall" figure (the flagged set's balance of the two, for comparing rules that trade one
    for the other)."""
    precision, recall = (float(v) for v in precision_recall.split(" / "))
    return f"{2 * precision * recall / (precision + recall):.3f}" if precision + recall > 0 else "0.000"


def score_label_issues(tables: dict[str, pd.DataFrame], truth: pd.DataFrame) -> dict[str, str]:
    """Flagged set vs planted flips: count, precision / recall; precision at n (the n most suspicious in review
    order, n = number of planted flips); the same for the code before issue 14 (cleanlab on the probe alone) and
    for the plain lowest-self-confidence ranking; the kinds; the weak-model warning."""
    issues = tables["label_issues"].sort_values("row")
    planted = truth["planted"].to_numpy()
    n = int(planted.sum())
    flagged, pr, at_n = _flag_figures(issues, planted)
    out = {"planted flips (n)": f"{n} of {len(planted):,}", "flagged": flagged, "flagged precision / recall": pr,
           "flagged F1": _f1(pr), "precision at n (review order)": at_n}
    if "_probe_only_label_issues" in tables:
        flagged, pr, at_n = _flag_figures(tables["_probe_only_label_issues"], planted)
        out.update({"before: flagged": flagged, "before: flagged precision / recall": pr,
                    "before: precision at n": at_n})
    natural = truth["natural_error"].to_numpy(dtype=bool) & ~planted if "natural_error" in truth else None
    if natural is not None and natural.any():  # the set's own label errors, confirmed by a person, count as found
        wrong = planted | natural
        flagged_mask = issues["is_issue"].to_numpy(dtype=bool)
        top_n = issues["review_rank"].to_numpy() < n
        out["natural label errors (listed, not planted)"] = f"{int(natural.sum())}"
        out["  ... in the first n; flagged"] = f"{int((top_n & natural).sum())}; {int((flagged_mask & natural).sum())}"
        out["precision at n, natural errors counted"] = f"{(top_n & wrong).sum() / max(n, 1):.3f}"
        out["flagged precision, natural errors counted"] = (
            f"{(flagged_mask & wrong).sum() / max(flagged_mask.sum(), 1):.3f}")
        out["precision at n of a perfect detector (errors in random order)"] = f"{n / (n + natural.sum()):.3f}"
    base_n = issues["low_confidence_rank"].to_numpy() < n
    out["precision at n (low self-conf.)"] = f"{(base_n & planted).sum() / max(n, 1):.3f}"
    if "knn_agreement" in issues:  # "hard": the probe rejects the label, most neighbours carry it
        hard = (issues["probe_self_confidence"].to_numpy() < 0.1) & (issues["knn_agreement"].to_numpy() >= 0.5)
        before = tables.get("_probe_only_label_issues")
        flagged_before = "–" if before is None else int((before.sort_values("row")["is_issue"].to_numpy() & hard).sum())
        out["probe<0.1 & neighbours agree: n (planted)"] = f"{int(hard.sum())} ({int((hard & planted).sum())})"
        out["  ... flagged before / now"] = f"{flagged_before} / {int((issues['is_issue'].to_numpy() & hard).sum())}"
    if "kind" in issues:
        for kind in ("likely mislabelled", "ambiguous", "hard example"):
            mask = issues["kind"].to_numpy() == kind
            out[f"kind {kind}: images (planted)"] = f"{int(mask.sum())} ({int((mask & planted).sum())})"
    warnings = tables["warnings"]
    weak = warnings[(warnings["analysis"] == "label_issues") & warnings["message"].str.contains("too weak")]
    out["weak-model warning"] = "yes" if len(weak) else "no"
    return out


# ------------------------------------------------------------------------------------------------- multi-class


def truth_composite_real(cache, truth: pd.DataFrame) -> pd.DataFrame:
    """plant.py composite's truth.csv (path, label, extra_label, planted) -> per cache row: planted, second_class."""
    rows = truth.set_index("path").loc[cache.samples["sample_id"].astype(str)]
    return pd.DataFrame({"planted": rows["planted"].astype(str).str.lower().isin(("true", "1")).to_numpy(),
                         "second_class": rows["extra_label"].astype(str).to_numpy()})


def truth_multiclass_demo(cache, truth: pd.DataFrame) -> pd.DataFrame:
    """The demo's truth.csv -> per cache row: planted (a second class drawn in), second_class."""
    rows = truth.set_index("sample_id").loc[cache.samples["sample_id"].astype(str)]
    second = rows["second_class"].astype(str).to_numpy()
    return pd.DataFrame({"planted": second != "", "second_class": second})


def baseline_multiclass(cache) -> dict[str, pd.DataFrame]:
    """Before issue 14: candidates from the whole image's probabilities alone (top-2 both high or near-equal)."""
    from indoor.analysis import label_issues, multiclass

    labels, probs = cache.samples["label"].to_numpy(np.int64), np.asarray(cache.probs, dtype=np.float64)
    groups = label_issues.overlapping_class_groups(labels, probs, share=label_issues.OVERLAP_SHARE)
    out = {"_probs_only_multiclass": multiclass.multiclass_candidates(labels, probs, class_groups=groups)}
    crops, halves = multiclass.split_regions(cache.table("regions") if cache.has_table("regions") else None)
    if halves is not None and len(halves):  # the same cache without the halves: the crops' candidates, their order
        from indoor.analysis.tables import build_tables

        out["_crops_only_multiclass"] = build_tables(
            cache.samples, probs, np.asarray(cache.embeddings), cache.classes, regions=crops,
            probs_out_of_sample=cache.meta.get("probs_out_of_sample", True))["multiclass"]
    return out


def score_multiclass(tables: dict[str, pd.DataFrame], truth: pd.DataFrame) -> dict[str, str]:
    """Candidates vs planted two-class scenes: count, recall, precision (now, and before: probabilities alone);
    how many images the build cropped and whether the planted scenes were among them."""
    planted = truth["planted"].to_numpy()
    out = {"planted two-class scenes": f"{int(planted.sum())} of {len(planted):,}"}

    def figures(candidates: pd.DataFrame) -> tuple[str, str]:
        rows = candidates["row"].to_numpy()
        hit = int(planted[rows].sum())
        return f"{len(rows):,}", f"{hit / max(planted.sum(), 1):.3f} / {hit / max(len(rows), 1):.3f}"

    candidates = tables["multiclass"]
    evidence = candidates["evidence"].iloc[0] if "evidence" in candidates and len(candidates) else "–"
    out["candidates (evidence)"] = f"{figures(candidates)[0]} ({evidence})"
    out["recall / precision"] = figures(candidates)[1]
    n_planted = max(int(planted.sum()), 1)

    def ranking(frame: pd.DataFrame) -> tuple[str, str]:  # precision among the first n; best recall at p >= 0.5
        ranked = planted[frame["row"].to_numpy()]
        hits = np.cumsum(ranked)
        at_half = hits[hits / np.arange(1, len(ranked) + 1) >= 0.5]
        return f"{ranked[:n_planted].sum() / n_planted:.3f}", f"{(at_half.max() if len(at_half) else 0) / n_planted:.3f}"

    first_n, best = ranking(candidates)
    out["precision among the first n (n = planted)"] = first_n
    out["best recall at precision >= 0.5 (along the ranking)"] = best
    if "_probs_only_multiclass" in tables:
        n, pr = figures(tables["_probs_only_multiclass"])
        out["before: candidates"], out["before: recall / precision"] = n, pr
    from indoor.analysis import multiclass

    crops, halves = multiclass.split_regions(tables.get("regions"))
    if crops is not None and len(crops):
        cropped = np.unique(crops["row"].to_numpy())
        out["images cropped (crops)"] = f"{len(cropped):,} ({len(crops):,})"
        out["planted among the cropped"] = f"{planted[cropped].sum() / max(planted.sum(), 1):.3f}"
        halved = np.unique(halves["row"].to_numpy())
        found = candidates["region_a"].isin(multiclass.HALVES).to_numpy() if len(candidates) else np.zeros(0, bool)
        out["images with halves; candidates from halves (planted)"] = (
            f"{len(halved):,}; {found.sum():,} ({planted[candidates['row'].to_numpy()[found]].sum():,})")
    else:
        out["images cropped (crops)"] = "0 (cache built without region evidence)"
    if "_crops_only_multiclass" in tables:  # the same cache's tables without the halves
        alone = tables["_crops_only_multiclass"]
        n, pr = figures(alone)
        out["crops alone: candidates, recall / precision"] = f"{n}, {pr}"
        out["crops alone: first n precise; best recall at p >= 0.5"] = "; ".join(ranking(alone))
    return out


# ------------------------------------------------------------------------------------------------ image issues


def truth_gray_real(cache, truth: pd.DataFrame) -> pd.DataFrame:
    """plant.py gray's truth.csv: every image converted to grayscale."""
    return pd.DataFrame({"planted": np.ones(len(cache.samples), dtype=bool)})


def truth_dark_demo(cache, truth: pd.DataFrame) -> pd.DataFrame:
    """The demo's truth.csv -> per cache row: planted = drawn dark (80 % of bars, 3 % of the rest), true_class."""
    rows = truth.set_index("sample_id").loc[cache.samples["sample_id"].astype(str)]
    return pd.DataFrame({"planted": rows["dark"].astype(int).to_numpy().astype(bool),
                         "true_class": rows["true_class"].astype(str).to_numpy()})


def baseline_image_issues(cache) -> dict[str, pd.DataFrame]:
    """Before issue 14: thresholds relative to the whole data set only, grayscale absolute (saturation < 0.02)."""
    from indoor.analysis.image_issues import image_issues

    samples = cache.samples
    table = image_issues(samples, min_class_images=len(samples) + 1, colour_majority=-1.0)  # data set only
    return {"_dataset_only_image_issues": table}


def score_image_issues(tables: dict[str, pd.DataFrame], truth: pd.DataFrame) -> dict[str, str]:
    """Images flagged per issue now (and before: data-set-relative, grayscale absolute); on a planted dark demo,
    the share of dark flags that are planted dark images outside the dark class."""
    from indoor.analysis.image_issues import ISSUE_NAMES

    now = tables["image_issues"]["issue"].value_counts()
    before = tables.get("_dataset_only_image_issues")
    before = before["issue"].value_counts() if before is not None else pd.Series(dtype=int)
    out = {f"{ISSUE_NAMES[k]} (before / now)": f"{int(before.get(k, 0)):,} / {int(now.get(k, 0)):,}" for k in ISSUE_NAMES}
    if "true_class" in truth:
        dark = tables["image_issues"]
        rows = dark.loc[dark["issue"] == "dark", "row"].to_numpy()
        planted = truth["planted"].to_numpy()
        out["dark flags: planted dark (of them bars)"] = (
            f"{planted[rows].mean() if len(rows) else 0:.2f} ({int((truth['true_class'].to_numpy()[rows] == 'bar').sum())})")
    return out


# ------------------------------------------------------------------------------------------------------ merges


def score_merges(tables: dict[str, pd.DataFrame], truth: pd.DataFrame) -> dict[str, str]:
    """The three most mergeable pairs with their verdict (indistinguishable / often confused) and evidence."""
    pairs = tables["merges"]
    out = {}
    for r in pairs.head(3).itertuples(index=False):
        verdict = getattr(r, "verdict", "") or "–"
        out[f"#{r.rank}"] = (f"{r.class_a}+{r.class_b}: {verdict} (AUC {getattr(r, 'separability', float('nan')):.2f}, "
                             f"sym {getattr(r, 'symmetry', float('nan')):.2f}, mix {getattr(r, 'mixing', float('nan')):.2f})")
    if "verdict" in pairs:
        out["indistinguishable pairs"] = ", ".join(f"{a}+{b}" for a, b in pairs.loc[
            pairs["verdict"] == "indistinguishable", ["class_a", "class_b"]].itertuples(index=False)) or "none"
    return out


SECTIONS: dict[str, Section] = {
    "label_issues": Section("label_issues", ("flip", "--rate", "0.05", "--seed", "1"),
                            truth_flips_real, truth_flips_demo, score_label_issues, baseline_label_issues),
    "multiclass": Section("multiclass", ("composite", "--rate", "0.04", "--seed", "1"),
                          truth_composite_real, truth_multiclass_demo, score_multiclass, baseline_multiclass),
    "image_issues": Section("image_issues", ("gray",), truth_gray_real, truth_dark_demo, score_image_issues,
                            baseline_image_issues),
    "merges": Section("merges", ("flip", "--rate", "0.05", "--seed", "1"), truth_flips_real, truth_flips_demo,
                      score_merges),
}


# ================================================================================================ plant, build


def plant(set_name: str, section: Section, work: Path) -> Path:
    """A planted copy of ``../shared/data/<set_name>`` for ``section`` (made once; reused when present)."""
    source = SHARED / "data" / set_name
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is absent (the real photo sets live in ../shared/data)")
    out = work / f"{set_name}-{'-'.join(a.lstrip('-') for a in section.plant)}"
    if not (out / "truth.csv").is_file():
        kind, *options = section.plant
        subprocess.run([sys.executable, str(SHARED / "tools" / "plant.py"), kind, str(source), str(out), *options],
                       check=True, stdout=subprocess.DEVNULL)
    return out


def build(data: Path, *, image_size: int, rebuild: bool) -> tuple[Path, float | None]:
    """The cache of a planted copy (``<data>-cache``), built once; returns (path, build seconds or None if reused)."""
    out = data.parent / f"{data.name}-cache{image_size}"
    if is_cache(out) and not rebuild:
        return out, None
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "indoor", "build", "--data", str(data), "--manifest",
                    str(data / "manifest.csv"), "--out", str(out), "--image-size", str(image_size), "--quiet"],
                   check=True, cwd=ROOT)
    return out, time.perf_counter() - started


# ================================================================================================ analyse, score


def analyse(cache, *, repeats: int) -> tuple[dict[str, pd.DataFrame], list[float]]:
    """build_tables() on the cache's arrays with today's code, ``repeats`` times (wall seconds of each)."""
    samples, classes = cache.samples, cache.classes
    probs, embeddings = np.asarray(cache.probs), np.asarray(cache.embeddings)
    thumbs = [cache.thumb_path(row) for row in range(len(samples))]
    times, tables = [], {}
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        tables = build_tables(samples, probs, embeddings, classes, thumbnails=thumbs,
                              probs_out_of_sample=bool(cache.meta.get("probs_out_of_sample", True)),
                              regions=cache.table("regions") if cache.has_table("regions") else None)
        times.append(time.perf_counter() - started)
    return tables, times


def label_issue_seconds(cache, *, repeats: int) -> tuple[float, float | None]:
    """Median wall seconds of the label-issue analysis alone (what build_tables spends on it): (cleanlab on the
    probe alone, the code before issue 14; the two-judge table, None when this checkout lacks it)."""
    from indoor.analysis import label_issues

    samples = cache.samples
    labels = samples["label"].to_numpy(np.int64)
    probs = np.asarray(cache.probs, dtype=np.float64)
    label_issues.find_label_issues(labels, probs)  # imports (cleanlab) out of the timing
    runs = [lambda: label_issues.find_label_issues(labels, probs)]
    try:
        from indoor.analysis.label_evidence import label_issue_table

        splits, folds = samples["split"].astype(str).to_numpy(), samples["fold"].to_numpy(np.int64)
        runs.append(lambda: label_issue_table(labels, probs, np.asarray(cache.embeddings), splits, folds))
    except ImportError:
        runs.append(None)
    medians = []
    for run in runs:
        times = []
        for _ in range(max(1, repeats) if run is not None else 0):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        medians.append(statistics.median(times) if times else None)
    return medians[0], medians[1]


def _seconds(*values: float | None) -> str:
    return " / ".join("–" if v is None else f"{v:.2f}" for v in values)


def natural_errors(cache, set_name: str | None) -> np.ndarray:
    """(N,) bool: the cache's photos listed in :data:`NATURAL_ERRORS` for ``set_name`` (a real photo set whose own
    label a person judged wrong: *mislabelled* or *likely mislabelled*); all False for the demo (None)."""
    ids = cache.samples["sample_id"].astype(str)
    if set_name is None or not NATURAL_ERRORS.is_file():
        return np.zeros(len(ids), dtype=bool)
    listed = pd.read_csv(NATURAL_ERRORS, keep_default_na=False)
    return ids.isin(listed.loc[listed["set"] == set_name, "path"].astype(str)).to_numpy()


def measure(name: str, cache_path: Path, truth_path: Path, sections: list[Section], *, demo: bool,
            repeats: int, set_name: str | None = None) -> dict[tuple[str, str], str]:
    """Every figure of ``sections`` on one cache, keyed by (section, figure); ``set_name`` (a real set) adds its
    :func:`natural_errors` to the truth as the column ``natural_error``."""
    cache = load_cache(cache_path)
    tables, times = analyse(cache, repeats=repeats)
    top1 = cache.meta["metrics"].get("test", {}).get("top1", float("nan"))
    figures = {("cache", "images / classes"): f"{len(cache.samples):,} / {len(cache.classes)}",
               ("cache", "test top-1 (given labels)"): f"{top1:.1%}",
               ("cache", "build_tables() s (median)"): f"{statistics.median(times):.2f}",
               ("cache", "label-issue analysis s (before / now)"): _seconds(*label_issue_seconds(cache, repeats=repeats))}
    truth_frame = pd.read_csv(truth_path, keep_default_na=False)
    for section in sections:
        reader = section.demo_truth if demo else section.real_truth
        if reader is None:
            continue
        truth = reader(cache, truth_frame).assign(natural_error=natural_errors(cache, None if demo else set_name))
        extra = section.baseline(cache) if section.baseline is not None else {}
        for figure, value in section.score({**tables, **extra}, truth).items():
            figures[(section.name, figure)] = value
    print(f"  {name}: {cache_path} measured", file=sys.stderr)
    return figures


# ================================================================================================ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(REAL_SETS), help="real photo sets in ../shared/data (comma list)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"analyses to score ({', '.join(SECTIONS)})")
    parser.add_argument("--work", default="/tmp/indoor-bench-real", help="where planted copies and caches go")
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE, help="build --image-size (default 160)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the caches even when present")
    parser.add_argument("--demo", default="runs/demo", help="12-class demo cache ('' to skip)")
    parser.add_argument("--demo-truth", default=None, help="its truth.csv (default <demo>-data/truth.csv)")
    parser.add_argument("--demo67", default="", help="67-class demo cache (python -m indoor demo --classes 67 "
                                                     "--per-class 233 --out PATH; '' to skip)")
    parser.add_argument("--demo67-truth", default=None, help="its truth.csv (default <demo67>-data/truth.csv)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of build_tables (median reported)")
    parser.add_argument("--plant-seed", type=int, default=None,
                        help="replace the seed of every seeded planting (default: each section's own): a held-out check")
    args = parser.parse_args(argv)

    unknown = [s for s in args.sections.split(",") if s and s not in SECTIONS]
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)} (known: {', '.join(SECTIONS)})", file=sys.stderr)
        return 2
    sections = [SECTIONS[s] for s in args.sections.split(",") if s]
    if args.plant_seed is not None:
        sections = [dataclasses.replace(s, plant=_with_seed(s.plant, args.plant_seed)) for s in sections]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[tuple[str, str], str]] = {}
    notes: list[str] = []

    demos = (("demo", args.demo, args.demo_truth), ("demo67", args.demo67, args.demo67_truth))
    for label, cache_arg, truth_arg in demos:
        if not cache_arg:
            continue
        cache_path = Path(cache_arg)
        truth_path = Path(truth_arg) if truth_arg else cache_path.parent / f"{cache_path.name}-data" / "truth.csv"
        if not is_cache(cache_path) or not truth_path.is_file():
            notes.append(f"{label}: skipped — no cache at {cache_path} or no truth at {truth_path} "
                         f"(python -m indoor demo --out {cache_path})")
            continue
        results[label] = measure(label, cache_path, truth_path, sections, demo=True, repeats=args.repeats)

    for set_name in [s for s in args.sets.split(",") if s]:
        if not (SHARED / "data" / set_name).is_dir():
            notes.append(f"{set_name}: skipped — {SHARED / 'data' / set_name} is absent")
            continue
        # one planted copy + cache per distinct plant spec; each section is scored on its own copy
        by_plant: dict[tuple[str, ...], list[Section]] = {}
        for section in sections:
            by_plant.setdefault(section.plant, []).append(section)
        for spec, group in by_plant.items():
            data = plant(set_name, group[0], work)
            try:
                cache_path, seconds = build(data, image_size=args.image_size, rebuild=args.rebuild)
            except subprocess.CalledProcessError as exc:
                notes.append(f"{set_name} ({' '.join(spec)}): build failed ({exc})")
                continue
            if seconds is not None:
                notes.append(f"{set_name} ({' '.join(spec)}): built in {seconds:.0f} s at {args.image_size} px")
            column = f"{set_name} {spec[0]}"
            try:
                results.setdefault(column, {}).update(
                    measure(column, cache_path, data / "truth.csv", group, demo=False, repeats=args.repeats,
                            set_name=set_name))
            except CacheError as exc:
                notes.append(f"{column}: {exc}")

    print_table(results)
    for note in notes:
        print(f"note: {note}")
    return 0


def _with_seed(plant_args: tuple[str, ...], seed: int) -> tuple[str, ...]:
    """plant.py arguments with ``--seed`` set to ``seed`` (kinds without a seed, such as gray, unchanged)."""
    args = list(plant_args)
    if "--seed" in args:
        args[args.index("--seed") + 1] = str(seed)
    return tuple(args)


def print_table(results: dict[str, dict[tuple[str, str], str]]) -> None:
    """A row per (section, figure), a column per data set; '–' where a figure does not apply."""
    if not results:
        print("nothing measured")
        return
    keys: list[tuple[str, str]] = []
    for figures in results.values():
        keys += [k for k in figures if k not in keys]
    columns = list(results)
    width = max(len(f"{s}: {f}") for s, f in keys) + 2
    col_width = max(14, *(len(c) + 2 for c in columns), *(len(v) + 2 for r in results.values() for v in r.values()))
    print("".ljust(width) + "".join(c.rjust(col_width) for c in columns))
    section = None
    for s, f in keys:
        if s != section:
            print(f"[{s}]")
            section = s
        print(f"  {f}".ljust(width) + "".join(results[c].get((s, f), "–").rjust(col_width) for c in columns))


if __name__ == "__main__":
    raise SystemExit(main())
