"""Embedding throughput of the build (decode + forward, DataLoader workers) vs raw forward of the same backbone.

    python bench/bench_embedding.py --data runs/demo-data/images --image-size 160 --images 1560

Prints images/s (median of --repeats, measured alternately in one run) of
  - the raw forward of the optimised (TorchScript, batch norm folded) embedder the build uses on the CPU,
  - the raw forward of the eager timm module (what the build used before the optimisation),
  - the build's extract_features (decode, image properties, thumbnail, pixel hash in DataLoader workers; the
    optimised forward, including the ~3 s it takes to trace and optimise the model once per call; also shown
    without that one-off setup, the steady state a long build runs at),
and the ratios build / raw. The goal is build / raw >= 0.8 (decoding is never the bottleneck).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.model.backbones import create_backbone, fast_inference  # noqa: E402
from indoor.data.layouts import discover  # noqa: E402
from indoor.model.features import extract_features  # noqa: E402


def raw_forward(forward, image_size: int, n_images: int, batch_size: int) -> float:
    batch = torch.randn(batch_size, 3, image_size, image_size)
    start = time.perf_counter()
    done = 0
    with torch.inference_mode():
        while done < n_images:
            forward(batch)
            done += batch_size
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("runs/demo-data/images"))
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--images", type=int, default=1560)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    paths = discover(args.data).samples["path"].tolist()[: args.images]
    backbone = create_backbone(image_size=args.image_size)
    size = args.image_size
    optimised = fast_inference(backbone.embedder, torch.randn(args.batch_size, 3, size, size))
    assert optimised is not backbone.embedder, "fast_inference fell back to the eager module"
    for forward in (optimised, backbone.embedder):  # warm-up
        raw_forward(forward, size, args.batch_size * 2, args.batch_size)
    extract_features(paths[: args.batch_size * 2], backbone, batch_size=args.batch_size, workers=args.workers, progress=False)
    raw, eager, build, steady, setup = [], [], [], [], []
    for _ in range(args.repeats):
        raw.append(raw_forward(optimised, size, len(paths), args.batch_size))
        eager.append(raw_forward(backbone.embedder, size, len(paths), args.batch_size))
        features = extract_features(paths, backbone, batch_size=args.batch_size, workers=args.workers, progress=False)
        build.append(len(paths) / features.seconds)
        steady.append(len(paths) / (features.seconds - features.setup_seconds))
        setup.append(features.setup_seconds)
    raw_median, eager_median, build_median, steady_median = (statistics.median(v) for v in (raw, eager, build, steady))
    runs = lambda values: ", ".join(f"{v:.1f}" for v in values)  # noqa: E731
    print(f"torch threads {torch.get_num_threads()}, {len(paths)} images at {size} px, batch {args.batch_size}, "
          f"{args.workers} decode workers, {args.repeats} repeats, load average before/after "
          f"{load_before:.1f}/{os.getloadavg()[0]:.1f}")
    print(f"raw forward, optimised (the build's) : {raw_median:7.1f} images/s  (runs: {runs(raw)})")
    print(f"raw forward, eager timm module       : {eager_median:7.1f} images/s  (runs: {runs(eager)})")
    print(f"build embedding (extract_features)   : {build_median:7.1f} images/s  (runs: {runs(build)}; "
          f"{statistics.median(setup):.1f} s of each run optimising the model once)")
    print(f"  the same without that one-off setup: {steady_median:7.1f} images/s  (runs: {runs(steady)})")
    print(f"ratio build / optimised raw forward  : {build_median / raw_median:.2f} whole pass, "
          f"{steady_median / raw_median:.2f} steady state  (goal >= 0.8)")
    print(f"ratio build / eager raw forward      : {build_median / eager_median:.2f} whole pass")


if __name__ == "__main__":
    main()
