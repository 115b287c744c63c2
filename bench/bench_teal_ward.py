"""Can the demo plant a teal shortcut its model learns, and does an image edit reproduce it? (README, Shortcuts.)

    python bench/bench_teal_ward.py --cache runs/demo --wards 0.5

An experiment, not a product path. The demo draws 80 % of its hospital rooms as plain wards (a bedroom's bed by
the curtain: ``indoor.data.synthetic.render.WARD_SHARE``); this script asks how that share matters. On a 12-class
demo cache, the hospital rooms are re-rendered with a share ``--wards`` of them drawn as wards (0: the demo before
the wards; teal walls in 85 % of them, as the demo plants), re-embedded, and the head refit on the cache's
embeddings with those rows replaced. Then, with that head:

- the renderer's truth: scenes of the other classes drawn with and without teal walls (same seed);
- the edits a test could make towards teal, on images of the cache labelled and predicted bedroom, and of every
  other class: the test's hue rotation, a colour cast, and every large smooth region recoloured to the walls' teal.

Prints the mean change of P(hospitalroom) with a 95 % bootstrap interval and the share flipped to it. Needs the
demo's images on disk (the cache's data root) and the offline backbone; about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.analysis.interventions import bootstrap_ci  # noqa: E402
from indoor.cache import load_cache  # noqa: E402
from indoor.cache import shortcut_tests as stored  # noqa: E402
from indoor.cache.properties import shrink  # noqa: E402
from indoor.data.synthetic import render  # noqa: E402
from indoor.model.backbones import preprocess_image  # noqa: E402
from indoor.model.intervene import move_property, tint  # noqa: E402
from indoor.model.probe import fit_linear_head, head_probs  # noqa: E402

WALL_TEAL = (72, 164, 156)  # the demo's teal wall (indoor.data.synthetic.backdrop)
TEAL_HUE = 172.0  # degrees, inside the demo's teal bin (112-188)


def ward_drawer(share: float):
    """The hospital-room drawer, drawing ``share`` of the scenes as plain wards (the renderer's ``ward`` option)."""
    hospital = render._DRAWERS["hospitalroom"]

    def draw(g, rng, o):
        o.ward = bool(rng.random() < share)
        return hospital(g, rng, o)

    return draw


def smooth_regions_to(image: Image.Image, rgb: tuple[int, int, int], *, flat: float = 0.02, share: float = 0.05) -> Image.Image:
    """Every smooth region covering ``share`` of the image or more (walls, ceiling, floor) recoloured to ``rgb``,
    keeping its own shading."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    luma = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    mean, square = ndimage.uniform_filter(luma, 5), ndimage.uniform_filter(luma * luma, 5)
    regions, _ = ndimage.label(np.sqrt(np.maximum(square - mean * mean, 0)) < flat)
    sizes = np.bincount(regions.ravel())
    sizes[0] = 0
    out, target = pixels.copy(), np.asarray(rgb, dtype=np.float32) / 255
    for k in np.flatnonzero(sizes >= share * regions.size):
        area = regions == k
        out[area] = np.clip(target[None] * (luma[area] / max(float(np.median(luma[area])), 1e-3))[:, None], 0, 1)
    return Image.fromarray((out * 255 + 0.5).astype(np.uint8))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="a 12-class demo cache (python -m indoor demo)")
    parser.add_argument("--wards", type=float, default=0.5, help="share of hospital rooms drawn as plain wards")
    parser.add_argument("--images", type=int, default=64, help="images per edited group")
    args = parser.parse_args()

    cache = load_cache(args.cache)
    classes, samples = cache.classes, cache.samples
    if "hospitalroom" not in classes or "bedroom" not in classes:
        print("error: the cache needs the demo's hospitalroom and bedroom classes", file=sys.stderr)
        return 2
    scorer = stored.cache_scorer(cache)
    embedder = scorer.embedder.eval()

    def embed(images: list[Image.Image]) -> np.ndarray:
        with torch.inference_mode():
            batch = torch.stack([preprocess_image(im, **scorer.preprocessing) for im in images])
            return embedder(batch).float().numpy()

    render._DRAWERS["hospitalroom"] = ward_drawer(args.wards)
    hosp, bed, bar = (classes.index(c) for c in ("hospitalroom", "bedroom", "bar"))
    labels = samples["label"].to_numpy()
    embeddings = np.asarray(cache.embeddings, dtype=np.float32).copy()
    rows = np.flatnonzero(labels == hosp)
    plan = np.random.default_rng(5)
    scenes = [shrink(render.render_scene("hospitalroom", np.random.default_rng(5000 + k), size=256,
                                         teal=bool(plan.random() < 0.85)), 160) for k in range(len(rows))]
    embeddings[rows] = np.concatenate([embed(scenes[i:i + 32]) for i in range(0, len(scenes), 32)])
    train = samples["split"].to_numpy() == "train"
    head = fit_linear_head(embeddings[train], labels[train], n_classes=len(classes))
    test_probs = head_probs(head, embeddings[~train])
    print(f"wards {args.wards:.0%}: refit head, test top-1 {(test_probs.argmax(1) == labels[~train]).mean():.3f}")

    def report(name: str, before: np.ndarray, after: np.ndarray) -> None:
        delta = after[:, hosp] - before[:, hosp]
        mean, lo, hi = bootstrap_ci(delta)
        print(f"  {name:<58} ΔP(hospitalroom) {mean:+.3f} [{lo:+.3f}, {hi:+.3f}], flipped {(after.argmax(1) == hosp).mean():.0%}"
              f" (n={len(delta)})")

    print("the renderer's truth: the same scenes drawn with teal walls")
    others = [c for c in classes if c not in ("hospitalroom", "bar")]
    for group in (["bedroom"], others):
        plain, teal = [], []
        for i in range(args.images):
            cls = group[i % len(group)]
            plain.append(shrink(render.render_scene(cls, np.random.default_rng(1000 + i), size=256, teal=False), 160))
            teal.append(shrink(render.render_scene(cls, np.random.default_rng(1000 + i), size=256, teal=True), 160))
        report(f"{'bedrooms' if len(group) == 1 else 'other classes'}: teal walls drawn",
               head_probs(head, embed(plain)), head_probs(head, embed(teal)))

    print("edits towards teal, on the cache's images labelled and predicted the class")
    load = stored.image_loader(cache, 160)
    correct = labels == samples["pred"].to_numpy()
    edits = {"hue rotation into the teal bin (the test's move)": lambda im: move_property(im, "dominant_hue", TEAL_HUE),
             "colour cast (chroma 0.35)": lambda im: tint(im, TEAL_HUE, 0.35),
             "smooth regions recoloured to the walls' teal": lambda im: smooth_regions_to(im, WALL_TEAL)}
    for name, pool in (("bedrooms", labels == bed), ("other classes", (labels != hosp) & (labels != bar))):
        chosen = np.random.default_rng(0).permutation(np.flatnonzero(pool & correct))[:args.images]
        images = [load(int(r)) for r in chosen]
        before = head_probs(head, embeddings[chosen])
        for edit, move in edits.items():
            report(f"{name}: {edit}", before, head_probs(head, embed([move(im) for im in images])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
