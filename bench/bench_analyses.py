"""Measure the analyses (indoor/analysis) on a demo cache against the demo's planted truth.

    python bench/bench_analyses.py --cache runs/demo --truth runs/demo-data/truth.csv

Prints: label-issue precision / recall of cleanlab's flagged set and of a low-self-confidence ranking of the same
size; the merge ranking's position of bookstore / videostore; the top shortcut findings (is dark -> bar, and teal
-> hospitalroom, among the top 3?); multi-class recall among the candidates; near-duplicate recall of the planted
train/test copies; false pairs among exact duplicates; and build_tables() wall time (median of --repeats).
The truth file is read here only — never by indoor/ or the pages.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.analysis.tables import build_tables  # noqa: E402
from indoor.cache import CacheError, load_cache  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="runs/demo", help="demo cache folder (python -m indoor demo)")
    parser.add_argument("--truth", default="runs/demo-data/truth.csv", help="the demo's truth.csv")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of build_tables (median reported)")
    args = parser.parse_args(argv)
    try:
        cache = load_cache(args.cache)
    except CacheError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    truth_path = Path(args.truth)
    if not truth_path.is_file():
        print(f"error: no truth file at {truth_path} (it is written by `python -m indoor demo`)", file=sys.stderr)
        return 2
    truth = pd.read_csv(truth_path, keep_default_na=False).set_index("sample_id")
    missing = set(cache.samples["sample_id"]) - set(truth.index)
    if missing:
        print(f"error: {len(missing)} cache images are not in the truth file (e.g. {sorted(missing)[0]})", file=sys.stderr)
        return 2
    truth = truth.loc[cache.samples["sample_id"]].reset_index()
    samples, classes = cache.samples, cache.classes
    probs, embeddings = np.asarray(cache.probs), np.asarray(cache.embeddings)
    thumbs = [cache.thumb_path(row) for row in range(len(samples))]

    times = []
    for _ in range(max(1, args.repeats)):
        started = time.perf_counter()
        tables = build_tables(samples, probs, embeddings, classes, thumbnails=thumbs,
                              probs_out_of_sample=bool(cache.meta.get("probs_out_of_sample", True)),
                              regions=cache.table("regions") if cache.has_table("regions") else None)
        times.append(time.perf_counter() - started)

    n = len(samples)
    print(f"cache {cache.path}: {n:,} images, {len(classes)} classes")
    print(f"build_tables(): median {statistics.median(times):.2f} s of {len(times)} runs "
          f"({', '.join(f'{t:.2f}' for t in times)})")

    # ---------------------------------------------------------------------------------------------- label issues
    flipped = truth["flipped"].to_numpy().astype(bool)
    issues = tables["label_issues"]
    flagged = issues["is_issue"].to_numpy()
    k = int(flagged.sum())
    baseline = issues["low_confidence_rank"].to_numpy() < k

    def pr(mask: np.ndarray) -> str:
        hit = int((mask & flipped).sum())
        return f"precision {hit / max(mask.sum(), 1):.3f}  recall {hit / max(flipped.sum(), 1):.3f}  ({hit} of {int(mask.sum())})"

    print(f"\nLabel issues: {int(flipped.sum())} planted flipped labels ({flipped.mean():.1%} of images)")
    print(f"  cleanlab flagged set     : {pr(flagged)}")
    print(f"  lowest self-confidence {k}: {pr(baseline)}")
    between = int(issues["overlap_issue"].sum())
    if between:
        print(f"  (not flagged: {between} disagreements between overlapping classes — "
              f"{int((issues['overlap_issue'].to_numpy() & flipped).sum())} of them planted flips)")
    index = {c: i for i, c in enumerate(classes)}
    true_index = truth["true_class"].map(index).to_numpy()
    both = flagged & flipped
    print(f"  suggested label = true class for {np.mean(issues['suggested'].to_numpy()[both] == true_index[both]):.1%} "
          "of the flagged planted flips")

    # ---------------------------------------------------------------------------------------------------- merges
    merges = tables["merges"]
    target = merges[((merges["class_a"] == "bookstore") & (merges["class_b"] == "videostore"))
                    | ((merges["class_a"] == "videostore") & (merges["class_b"] == "bookstore"))]
    print("\nMerges: top 3 pairs")
    for r in merges.head(3).itertuples(index=False):
        print(f"  #{r.rank} {r.class_a} + {r.class_b}: confusion {r.confusion:.1%}, overlap {r.overlap:.4f}, "
              f"centroid distance {r.centroid_distance:.3f}, top-1 {r.top1:.1%} -> {r.top1_merged:.1%} if merged")
    print(f"  bookstore/videostore rank: {int(target['rank'].iloc[0]) if len(target) else 'absent'}")

    # ------------------------------------------------------------------------------------------------- shortcuts
    findings = tables["shortcut_findings"]
    primary = findings[findings["rank"] > 0]
    dark = dict(zip(truth["sample_id"], truth["dark"]))
    teal = dict(zip(truth["sample_id"], truth["teal"]))
    print("\nShortcut findings: top 5 (share of the example images that are planted dark / teal)")
    for r in primary.head(5).to_dict("records"):
        ex = r["examples"]
        print(f"  #{r['rank']} {r['summary']}  [t={r['t']:.1f}; examples dark {np.mean([dark[s] for s in ex]):.0%}, "
              f"teal {np.mean([teal[s] for s in ex]):.0%}]")

    def position(cls: str, flag: dict) -> int | None:
        for r in primary.to_dict("records"):
            if r["class"] == cls and np.mean([flag[s] for s in r["examples"]]) >= 0.5:
                return int(r["rank"])
        return None

    dark_rank, teal_rank = position("bar", dark), position("hospitalroom", teal)
    print(f"  dark -> bar: rank {dark_rank} ({'in' if dark_rank and dark_rank <= 3 else 'NOT in'} the top 3)")
    print(f"  teal -> hospitalroom: rank {teal_rank} ({'in' if teal_rank and teal_rank <= 3 else 'NOT in'} the top 3)")
    _teal_diagnostic(truth, probs, classes)

    # ----------------------------------------------------------------------------------------------- multi-class
    planted_multi = truth["second_class"].to_numpy() != ""
    candidates = tables["multiclass"]["row"].to_numpy()
    print(f"\nMulti-class: {int(planted_multi.sum())} planted scenes; {len(candidates)} candidates; recall "
          f"{planted_multi[candidates].sum() / max(planted_multi.sum(), 1):.3f}, precision "
          f"{planted_multi[candidates].mean() if len(candidates) else 0:.3f}")

    # ------------------------------------------------------------------------------------------------ duplicates
    row_of = cache.row_of
    planted_pairs = {tuple(sorted((i, row_of[s]))) for i, s in enumerate(truth["near_duplicate_of"]) if s}
    pairs = tables["duplicate_pairs"]
    near = pairs[pairs["kind"] == "near"]
    found = set(zip(near["row_a"].tolist(), near["row_b"].tolist()))
    print(f"\nDuplicates: {len(planted_pairs)} planted train/test near-duplicates; {len(near)} near pairs listed; "
          f"recall {len(planted_pairs & found) / max(len(planted_pairs), 1):.3f}; "
          f"precision {len(planted_pairs & found) / max(len(near), 1):.3f}")
    nearest = tables["nearest_train"].set_index("row")
    marked = sum(bool(nearest.loc[a if truth['split'].iat[a] != 'train' else b, 'near_duplicate'])
                 for a, b in planted_pairs)
    print(f"  planted test copies marked near-duplicate in the nearest-training-image table: {marked} of {len(planted_pairs)}")
    exact = pairs[pairs["kind"] == "exact"]
    false_exact = 0
    if len(exact):
        from PIL import Image

        for r in exact.itertuples(index=False):
            a = np.asarray(Image.open(samples["path"].iat[r.row_a]).convert("RGB"))
            b = np.asarray(Image.open(samples["path"].iat[r.row_b]).convert("RGB"))
            false_exact += int(a.shape != b.shape or not np.array_equal(a, b))
    print(f"  exact duplicate pairs: {len(exact)}; false pairs (pixels differ): {false_exact}")
    return 0


def _teal_diagnostic(truth: pd.DataFrame, probs: np.ndarray, classes: list[str]) -> None:
    """How much the model leans on teal at all: mean P(hospitalroom) of teal vs other non-hospital images."""
    if "hospitalroom" not in classes:
        return
    h = classes.index("hospitalroom")
    teal = truth["teal"].to_numpy().astype(bool)
    other = (truth["true_class"] != "hospitalroom").to_numpy() & (truth["flipped"].to_numpy() == 0)
    dark = truth["dark"].to_numpy().astype(bool)
    print(f"  (model's lean: teal non-hospital images mean P(hospitalroom) {probs[teal & other, h].mean():.3f} vs "
          f"{probs[~teal & other, h].mean():.3f} for the others; dark non-bar images mean P(bar) "
          f"{probs[dark & (truth['true_class'] != 'bar').to_numpy() & other, classes.index('bar')].mean():.3f} vs "
          f"{probs[~dark & (truth['true_class'] != 'bar').to_numpy() & other, classes.index('bar')].mean():.3f})"
          if "bar" in classes else "")


if __name__ == "__main__":
    raise SystemExit(main())
