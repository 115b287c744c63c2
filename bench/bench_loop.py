"""The whole loop on the demo with a perfect annotator: fix the planted flipped labels -> apply -> retrain -> compare.

    python bench/bench_loop.py --cache runs/demo --truth runs/demo-data/truth.csv

Writes <cache>-truthfix-decisions.csv, <cache>-cleaned.csv and the retrained cache <cache>-cleaned, then prints
test top-1 before and after, measured on the TRUTH labels, and how many predictions were fixed / broken.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.cache import load_cache  # noqa: E402
from indoor.analysis.compare import compare_runs  # noqa: E402
from indoor.decisions import Decision, DecisionStore, export_csv  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("runs/demo"))
    parser.add_argument("--truth", type=Path, default=Path("runs/demo-data/truth.csv"))
    parser.add_argument("--image-size", default="160")
    args = parser.parse_args()

    before = load_cache(args.cache)
    truth = pd.read_csv(args.truth)
    flipped = truth[truth["flipped"] == 1]
    decisions = [Decision(sample_id=row.sample_id, action="relabel", new_label=row.true_class, tags=("incorrect label",),
                          annotator="truth") for row in flipped.itertuples() if row.sample_id in before.row_of]
    store_path = args.cache.parent / f"{args.cache.name}-truthfix.sqlite"
    store_path.unlink(missing_ok=True)
    store = DecisionStore(store_path, classes=before.classes, known_ids=set(before.samples["sample_id"]))
    store.save_many(decisions)
    decisions_csv = args.cache.parent / f"{args.cache.name}-truthfix-decisions.csv"
    decisions_csv.write_text(export_csv(store.current(), before.samples, before.classes), encoding="utf-8")
    manifest = args.cache.parent / f"{args.cache.name}-cleaned.csv"
    cleaned = args.cache.parent / f"{args.cache.name}-cleaned"
    run = lambda *a: subprocess.run([sys.executable, "-m", "indoor", *a], check=True)  # noqa: E731
    run("apply", "--cache", str(args.cache), "--decisions", str(decisions_csv), "--out", str(manifest))
    run("build", "--data", before.meta["data_root"], "--manifest", str(manifest), "--out", str(cleaned),
        "--image-size", args.image_size, "--seed", str(before.meta["seed"]), "--quiet")
    after = load_cache(cleaned)
    reference = truth.set_index("sample_id")["true_class"]
    result = compare_runs(before.samples, before.classes, after.samples, after.classes, reference=reference)
    print(f"{len(decisions)} flipped labels fixed by a perfect annotator")
    print(result.accuracy.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    test_changes = result.changed[result.changed["split"] == "test"]["change"].value_counts().to_dict()
    print(f"test predictions changed: {test_changes}")


if __name__ == "__main__":
    main()
