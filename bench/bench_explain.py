"""Seconds per image for an occlusion map (7 x 7 = 49 patches) and a Grad-CAM, at 224 px, on this machine's CPU.

    python bench/bench_explain.py                      # EfficientNet-Lite0 at 224 px + a random linear head
    python bench/bench_explain.py --cache runs/demo    # the cache's own model (backbone, head, image size)

Prints the median (and min / max) seconds per image of each method over --images demo-rendered scenes, after
one warm-up image, plus torch's thread count and the process's CPU seconds per image (on a machine shared with
other work, wall time is inflated; CPU time / threads is what a quiet machine would roughly take). A random head
times exactly like a trained one (same shapes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.model import explain  # noqa: E402
from indoor.model.backbones import DEFAULT_BACKBONE, create_backbone  # noqa: E402
from indoor.cache import CacheError, load_cache  # noqa: E402
from indoor.data.synthetic import DEMO_CLASSES, render_scene  # noqa: E402
from indoor.model.probe import LinearHead  # noqa: E402


def timing_classifier(image_size: int, n_classes: int) -> explain.Classifier:
    """The default backbone plus a random linear head: the same computation as a cache's model."""
    net = create_backbone(DEFAULT_BACKBONE, image_size=image_size)
    head = LinearHead(net.embedding_dim, n_classes)
    model = explain._ImageClassifier(net.embedder, head).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return explain.Classifier(model=model, gradcam_layer=net.gradcam_layer, classes=DEMO_CLASSES[:n_classes],
                              image_size=image_size, mean=tuple(net.mean), std=tuple(net.std),
                              backbone_name=DEFAULT_BACKBONE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="explain with this cache's model (default: Lite0 + random head)")
    parser.add_argument("--image-size", type=int, default=224, help="model input size without --cache")
    parser.add_argument("--images", type=int, default=7, help="timed images (median reported)")
    parser.add_argument("--patches", type=int, default=7, help="occlusion grid per side (7 -> 49 patches)")
    parser.add_argument("--per-eval", type=int, default=16, help="captum perturbations_per_eval (batch)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    if args.cache:
        try:
            classifier = explain.load_classifier(load_cache(args.cache))
        except (CacheError, explain.ExplainError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        classifier = timing_classifier(args.image_size, 12)
    load_s = time.perf_counter() - start
    size = classifier.image_size
    window, stride = explain.occlusion_geometry(size, args.patches)
    classes = [c for c in DEMO_CLASSES if c in classifier.classes] or DEMO_CLASSES
    rng = np.random.default_rng(0)
    images = [render_scene(classes[i % len(classes)], rng, size=max(256, size)) for i in range(args.images + 1)]

    occlusion_s, gradcam_s, occlusion_cpu, gradcam_cpu = [], [], [], []
    for i, image in enumerate(images):
        target = int(classifier.probs(image).argmax())
        t0, c0 = time.perf_counter(), time.process_time()
        explain.occlusion_map(classifier, image, target, patches=args.patches, perturbations_per_eval=args.per_eval)
        t1, c1 = time.perf_counter(), time.process_time()
        explain.gradcam_map(classifier, image, target)
        t2, c2 = time.perf_counter(), time.process_time()
        if not i:  # the first image warms up (occlusion: traces the optimised backbone, once per server process)
            first = (t1 - t0, t2 - t1)
        else:
            occlusion_s.append(t1 - t0)
            gradcam_s.append(t2 - t1)
            occlusion_cpu.append(c1 - c0)
            gradcam_cpu.append(c2 - c1)

    batch = torch.stack([classifier.preprocess(image) for image in images[:16]] * 2)[:16]
    with torch.no_grad():
        t0 = time.perf_counter()
        classifier.fast_logits(batch)
        forward_rate = len(batch) / (time.perf_counter() - t0)

    print(f"model: {classifier.backbone_name} at {size} px ({'cache ' + args.cache if args.cache else 'random head'}),"
          f" loaded in {load_s:.1f} s; torch threads {torch.get_num_threads()}")
    print(f"occlusion: {args.patches}x{args.patches} = {args.patches ** 2} patches (window {window} px, stride "
          f"{stride} px), {args.per_eval} per forward pass")
    for name, values, cpu in (("occlusion", occlusion_s, occlusion_cpu), ("grad-cam", gradcam_s, gradcam_cpu)):
        print(f"{name:>10}: median {statistics.median(values):.2f} s/image  (min {min(values):.2f}, max "
              f"{max(values):.2f}, n={len(values)}); CPU time {statistics.median(cpu):.2f} s/image")
    print(f"first image (cold): occlusion {first[0]:.2f} s (includes tracing the backbone once), grad-cam "
          f"{first[1]:.2f} s")
    total = [a + b for a, b in zip(occlusion_s, gradcam_s)]
    print(f"{'both':>10}: median {statistics.median(total):.2f} s/image")
    n_forward = args.patches ** 2 + 1
    print(f"reference: the optimised forward pass occlusion uses ran at {forward_rate:.1f} images/s just now, so "
          f"{n_forward} forward passes alone take {n_forward / forward_rate:.2f} s (occlusion's floor; on a "
          "shared machine compare against this, not against a quiet machine's rate)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
