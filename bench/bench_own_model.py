"""Bring your own model, timed: `indoor import` of a scikit-learn model's probabilities on a demo cache's
embeddings, and `indoor build` from a local resnet18 checkpoint (random weights: nothing can be downloaded here).

    python bench/bench_own_model.py --cache runs/demo --truth runs/demo-data/truth.csv [--runs 3]

Writes <cache>-own/ or --work (predictions, embeddings, the checkpoint and the caches it builds) and prints, per command,
whole-process wall time (median of --runs for the main import), the cache's phase timings and, with --truth,
precision/recall of the flagged label issues against the planted flipped labels per split.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.cache import load_cache  # noqa: E402


def sklearn_predictions(cache, folder: Path, *, cross_validate: bool = True) -> dict[str, Path]:
    """The README's worked example: in-sample and out-of-fold train probabilities, one CSV each, and emb.npy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    samples, x = cache.samples, np.asarray(cache.embeddings)
    labels = np.array(cache.classes)[samples["label"]]
    train = (samples["split"] == "train").to_numpy()
    started = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000)).fit(x[train], labels[train])
    probs = model.predict_proba(x)
    out = {}
    for name, oof in (("in_sample", False), ("out_of_fold", True))[: 2 if cross_validate else 1]:
        values = probs.copy()
        if oof:
            values[train] = cross_val_predict(model, x[train], labels[train], cv=5, method="predict_proba")
        frame = pd.DataFrame(values, columns=model.classes_)
        frame.insert(0, "path", samples["sample_id"])
        frame.insert(1, "label", labels)
        frame.insert(2, "split", samples["split"])
        out[name] = folder / f"preds_{name}.csv"
        frame.to_csv(out[name], index=False)
    np.save(folder / "emb.npy", x)
    print(f"scikit-learn fit + predictions{' + 5-fold cross_val_predict' if cross_validate else ''}: "
          f"{time.perf_counter() - started:.1f} s")
    return out


def run(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "indoor", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def flips_found(cache_path: Path, truth: pd.DataFrame) -> str:
    cache = load_cache(cache_path)
    issues = cache.table("label_issues").set_index("sample_id")
    flipped = set(truth.loc[truth["flipped"] == 1, "sample_id"])
    parts = []
    for split in ("train", "test"):
        rows = issues[issues["split"] == split]
        flagged = set(rows.index[rows["is_issue"]])
        planted = flipped & set(rows.index)
        hits = len(flagged & planted)
        parts.append(f"{split}: {len(flagged)} flagged, precision {hits / max(len(flagged), 1):.3f}, "
                     f"recall {hits / max(len(planted), 1):.3f} ({hits} of {len(planted)} flips)")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("runs/demo"))
    parser.add_argument("--truth", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3, help="runs of the main import (median)")
    parser.add_argument("--image-size", default="160", help="input size of the checkpoint build and the backbone "
                                                          "import (default 160, the demo's)")
    parser.add_argument("--data", default=None, help="the images' root (default: the cache's data root)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the files and caches this writes "
                                                               "(default: <cache>-own beside the cache)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["cross-validation", "backbone-import", "checkpoint"],
                        help="cross-validation: no out-of-fold predictions (the timed import is then the in-sample "
                             "one, --runs times)")
    args = parser.parse_args()

    cache = load_cache(args.cache)
    root = args.data or cache.meta["data_root"]
    folder = args.work or args.cache.parent / f"{args.cache.name}-own"
    folder.mkdir(parents=True, exist_ok=True)
    preds = sklearn_predictions(cache, folder, cross_validate="cross-validation" not in args.skip)
    common = ["--data", root, "--embeddings", str(folder / "emb.npy"), "--quiet", "--force"]
    results: dict[str, Path] = {}

    if "out_of_fold" in preds:
        times = [run("import", "--predictions", str(preds["out_of_fold"]), "--out-of-sample", "--out",
                     str(folder / "import-oof"), *common) for _ in range(max(1, args.runs))]
        results["import, out-of-fold train, given embeddings"] = folder / "import-oof"
        print(f"import (out-of-fold, --embeddings): median {statistics.median(times):.1f} s "
              f"({', '.join(f'{t:.1f}' for t in times)})")
    times = [run("import", "--predictions", str(preds["in_sample"]), "--out", str(folder / "import-in"), *common)
             for _ in range(1 if "out_of_fold" in preds else max(1, args.runs))]
    results["import, in-sample train, given embeddings"] = folder / "import-in"
    print(f"import (in-sample, --embeddings): median {statistics.median(times):.1f} s "
          f"({', '.join(f'{t:.1f}' for t in times)})")
    if "backbone-import" not in args.skip:
        seconds = run("import", "--data", root, "--predictions", str(preds["in_sample"]), "--image-size",
                      args.image_size, "--out", str(folder / "import-backbone"), "--quiet", "--force")
        results["import, in-sample train, our backbone's embeddings"] = folder / "import-backbone"
        print(f"import (in-sample, embedded by the default backbone at {args.image_size} px): {seconds:.1f} s")
    if "checkpoint" not in args.skip:
        import torch
        import torchvision

        torch.manual_seed(0)
        model = torchvision.models.resnet18(weights=None, num_classes=len(cache.classes))
        torch.save({"state_dict": model.state_dict(), "classes": cache.classes}, folder / "resnet18.pt")
        seconds = run("build", "--data", root, "--backbone", "tv:resnet18", "--weights", str(folder / "resnet18.pt"),
                      "--head", "model", "--image-size", args.image_size, "--out", str(folder / "checkpoint"),
                      "--quiet", "--force")
        results["build from a resnet18 checkpoint (random weights), --head model"] = folder / "checkpoint"
        print(f"build (tv:resnet18 checkpoint, --head model, {args.image_size} px): {seconds:.1f} s")

    truth = pd.read_csv(args.truth) if args.truth else None
    for name, path in {"own build": args.cache, **results}.items():
        meta = load_cache(path).meta
        timings = {k: round(v, 1) for k, v in meta["timings"].items()}
        top1 = {s: round(meta["metrics"][s]["top1"], 4) for s in ("train", "test") if s in meta["metrics"]}
        print(f"\n{name}: {path}\n  timings {json.dumps(timings)}\n  top-1 {top1}")
        if truth is not None:
            print(f"  label issues vs planted flips: {flips_found(path, truth)}")


if __name__ == "__main__":
    main()
