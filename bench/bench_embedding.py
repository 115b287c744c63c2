"""Embedding throughput of the build (decode + forward, DataLoader workers) vs raw forward of the same backbone.

    python bench/bench_embedding.py --data runs/demo-data/images --image-size 160 --images 640

Prints images/s for both (median of --repeats, measured alternately in one run) and their ratio; the goal is a
ratio >= 0.8 (decoding is never the bottleneck).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.backbones import create_backbone  # noqa: E402
from indoor.datasets import discover  # noqa: E402
from indoor.train import extract_features  # noqa: E402


def raw_forward(backbone, n_images: int, batch_size: int) -> float:
    batch = torch.randn(batch_size, 3, backbone.image_size, backbone.image_size)
    start = time.perf_counter()
    done = 0
    with torch.inference_mode():
        while done < n_images:
            backbone.embedder(batch)
            done += batch_size
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("runs/demo-data/images"))
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--images", type=int, default=640)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    paths = discover(args.data).samples["path"].tolist()[: args.images]
    backbone = create_backbone(image_size=args.image_size)
    raw_forward(backbone, args.batch_size * 2, args.batch_size)  # warm-up
    extract_features(paths[: args.batch_size * 2], backbone, batch_size=args.batch_size, workers=args.workers, progress=False)
    raw, build = [], []
    for _ in range(args.repeats):
        raw.append(raw_forward(backbone, len(paths), args.batch_size))
        features = extract_features(paths, backbone, batch_size=args.batch_size, workers=args.workers, progress=False)
        build.append(len(paths) / features.seconds)
    raw_median, build_median = statistics.median(raw), statistics.median(build)
    print(f"torch threads {torch.get_num_threads()}, {len(paths)} images at {args.image_size} px, batch {args.batch_size}, "
          f"{args.workers} decode workers, {args.repeats} repeats")
    print(f"raw forward     : {raw_median:7.1f} images/s  (runs: {', '.join(f'{v:.1f}' for v in raw)})")
    print(f"build embedding : {build_median:7.1f} images/s  (runs: {', '.join(f'{v:.1f}' for v in build)})")
    print(f"ratio build/raw : {build_median / raw_median:.2f}  (goal >= 0.8)")


if __name__ == "__main__":
    main()
