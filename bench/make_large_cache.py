"""A valid cache of N synthetic rows, for measuring the dashboard at 100k-1M images without rendering them.

    python bench/make_large_cache.py 1000000 --classes 365 --out /tmp/cache1m

What it writes (through :func:`indoor.cache.writer.stage_cache`, validated by :func:`indoor.cache.load_cache`):

* classes in groups of 2-6 look-alikes (``church_a``, ``church_b`` ...); a row's probabilities come from logits
  with a peak at its true class, a smaller bump on the rest of its group and noise elsewhere, so ~75-85 % of
  rows are right and most errors stay inside the group (the confusion matrix has blocks); ~2 % of labels are
  wrong (another class of the group, sometimes any class); dark images lean towards one class (a shortcut);
* embeddings: ``--dim`` (default 64) float32, unit length, around per-class centroids that sit around per-group
  centroids; a wrong prediction pulls the embedding towards the predicted class;
* ``umap_x``/``umap_y``: clusters (a blob per group, a sub-blob per class, errors drawn towards the predicted
  class), scaled to [0, 1] like :func:`indoor.cache.projection.umap_2d` -- not a real UMAP of the embeddings;
* image properties (size, brightness, contrast, colour, sharpness) drawn per row; brightness/hue follow the
  row's thumbnail; a few hundred distinct JPEG thumbnails (one set per class group), hard-linked as
  ``thumbs/NNNNNN.jpg`` for every row; 0.05 % of rows are exact duplicates of the row before them;
* probs and embeddings are generated and written in chunks into memory-mapped ``.npy`` files, so peak memory
  does not hold an (N, C) array twice.

Analysis tables (honest shortcuts, also written into the cache's ``warnings`` table so the pages say so):

* ``label_issues`` (one row per image) is computed over ALL rows, in chunks, with confident learning's
  off-diagonal rule (per-class thresholds = mean self-confidence of the class; flagged when the most probable
  class above its threshold is not the label: cleanlab's ``filter_by="confident_learning"`` idea) instead of
  cleanlab's ``prune_by_noise_rate``; no overlap grouping (``overlap_issue`` is all False);
* ``class_order`` from the confusion matrix of all rows;
* every other table (class quality, multi-class, merges, shortcuts, image issues, duplicates, nearest train) by
  the real :func:`indoor.analysis.tables.build_tables` on a random sample of ``--sample`` rows (default 10,000;
  plus the planted duplicate pairs), row numbers mapped back to the full cache; counts in those tables are
  sample counts. Near duplicates are judged by embedding alone (no thumbnails passed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
import time
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indoor.analysis import label_issues as li  # noqa: E402
from indoor.analysis.tables import build_tables, class_order_table  # noqa: E402
from indoor.cache.format import EMBEDDINGS_FILE, PROBS_FILE, THUMBS_DIR, thumb_name  # noqa: E402
from indoor.cache.writer import stage_cache  # noqa: E402

STEMS = ("airport", "bakery", "bar", "bedroom", "bookstore", "bridge", "bus", "butcher", "campsite", "canyon",
         "castle", "church", "classroom", "closet", "coast", "corridor", "courtyard", "desert", "diner", "dock",
         "factory", "farm", "forest", "fountain", "garage", "garden", "gym", "hallway", "harbour", "highway",
         "hospital", "hotel", "ice_rink", "jail", "kitchen", "laboratory", "library", "lobby", "locker_room",
         "mall", "market", "mountain", "museum", "nursery", "office", "pantry", "park", "parking_lot", "pier",
         "playground", "pool", "prison", "pub", "railway", "restaurant", "river", "road", "roof", "ruin",
         "school", "shed", "shop", "shower", "ski_slope", "stadium", "stage", "staircase", "station", "street",
         "studio", "subway", "supermarket", "swamp", "temple", "theater", "tower", "toyshop", "track", "tunnel",
         "valley", "vineyard", "warehouse", "waterfall", "wharf", "yard", "zoo", "arcade", "attic", "ballroom",
         "barn", "beach", "boathouse", "cafeteria", "casino", "cemetery", "chalet", "cockpit", "dorm", "elevator")
CHUNK = 16384
PROPERTY_SIZES = np.array([[640, 480], [480, 640], [512, 512], [800, 600], [256, 256], [1024, 768]], np.float32)


def class_groups(n_classes: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Class names and each class's group index (groups of 2-6 look-alike classes)."""
    group_of, names, group = [], [], 0
    while len(names) < n_classes:
        size = min(int(rng.integers(2, 7)), n_classes - len(names))
        stem = STEMS[group % len(STEMS)] + (f"{group // len(STEMS) + 1}" if group >= len(STEMS) else "")
        for k in range(size):
            names.append(f"{stem}_{chr(ord('a') + k)}")
            group_of.append(group)
        group += 1
    return names, np.array(group_of, dtype=np.int64)


def thumbnail_pool(n_groups: int, per_group: int, rng: np.random.Generator) -> tuple[list[bytes], np.ndarray,
                                                                                        np.ndarray]:
    """``n_groups * per_group`` distinct JPEG thumbnails (image k belongs to group k % n_groups), their
    brightness (0-1) and hue (degrees)."""
    from PIL import Image, ImageDraw

    images, brightness, hues = [], [], []
    for k in range(n_groups * per_group):
        group = k % n_groups
        hue = (group * 137.5 + rng.normal(0, 12)) % 360
        level = float(np.clip(rng.normal(0.45, 0.14), 0.05, 0.9))
        base = Image.new("HSV", (96, 96), (int(hue / 360 * 255), int(rng.uniform(60, 200)), int(level * 255)))
        draw = ImageDraw.Draw(base)
        for _ in range(4):
            x, y = rng.integers(0, 80, 2)
            w, h = rng.integers(10, 50, 2)
            shade = (int((hue + rng.normal(0, 40)) % 360 / 360 * 255), int(rng.uniform(40, 255)),
                     int(np.clip(level * 255 + rng.normal(0, 50), 0, 255)))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([int(x), int(y), int(x + w), int(y + h)],
                                                                      fill=shade)
        rgb = base.convert("RGB")
        ImageDraw.Draw(rgb).text((4, 82), f"synthetic {k}", fill=(255, 255, 255))
        buffer = BytesIO()
        rgb.save(buffer, format="JPEG", quality=80)
        images.append(buffer.getvalue())
        brightness.append(float(np.asarray(rgb.convert("L"), np.float32).mean() / 255))
        hues.append(hue)
    return images, np.array(brightness, np.float32), np.array(hues, np.float32)


def generate(n: int, n_classes: int, out: Path, *, dim: int = 64, sample: int = 10000, seed: int = 0,
             force: bool = False, log=print) -> dict[str, float]:
    """Write the synthetic cache; returns the seconds spent per stage."""
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    classes, group_of = class_groups(n_classes, rng)
    n_groups = int(group_of.max()) + 1
    members = [np.flatnonzero(group_of == g) for g in range(n_groups)]
    per_group = max(3, -(-300 // n_groups))
    pool, pool_brightness, pool_hue = thumbnail_pool(n_groups, per_group, rng)
    dark_class = classes.index("bar_a") if "bar_a" in classes else 0

    group_centre = rng.normal(0, 1, (n_groups, dim)).astype(np.float32)
    class_centre = group_centre[group_of] + 0.55 * rng.normal(0, 1, (n_classes, dim)).astype(np.float32)
    group_xy = rng.uniform(0, 1, (n_groups, 2)).astype(np.float32)
    class_xy = group_xy[group_of] + rng.normal(0, 0.018, (n_classes, 2)).astype(np.float32)
    class_weight = rng.gamma(4.0, 1.0, n_classes)
    class_weight /= class_weight.sum()

    label = rng.choice(n_classes, size=n, p=class_weight).astype(np.int64)
    true = label.copy()
    noisy = rng.random(n) < 0.02  # wrong labels: the image is really another class of its group (or any)
    for i in np.flatnonzero(noisy):
        options = members[group_of[label[i]]]
        true[i] = rng.choice(options) if len(options) > 1 and rng.random() < 0.8 else rng.integers(n_classes)
    split = rng.choice(np.array(["train", "val", "test"]), size=n, p=[0.8, 0.1, 0.1])
    fold = np.where(split == "train", rng.integers(0, 5, n), -1).astype(np.int64)
    pool_index = (group_of[true] + n_groups * rng.integers(0, per_group, n)).astype(np.int64)
    duplicate = np.zeros(n, dtype=bool)
    duplicate[1:] = rng.random(n - 1) < 0.0005
    duplicate[1:] &= ~duplicate[:-1]  # a duplicate's original is not itself a duplicate
    pool_index[duplicate] = pool_index[np.flatnonzero(duplicate) - 1]
    brightness = np.clip(pool_brightness[pool_index] + rng.normal(0, 0.03, n), 0, 1).astype(np.float32)
    brightness[duplicate] = brightness[np.flatnonzero(duplicate) - 1]
    timings["setup"] = time.perf_counter() - t0

    pred = np.empty(n, np.int64)
    conf = np.empty(n, np.float32)
    self_conf = np.empty(n, np.float32)
    margin = np.empty(n, np.float32)
    top5 = np.empty((n, 5), np.int64)
    umap = np.empty((n, 2), np.float32)
    with stage_cache(out, force=force) as staged:
        t0 = time.perf_counter()
        probs = staged.array(PROBS_FILE, (n, n_classes))
        embeddings = staged.array(EMBEDDINGS_FILE, (n, dim))
        for start in range(0, n, CHUNK):
            rows = slice(start, min(n, start + CHUNK))
            m = rows.stop - rows.start
            t = true[rows]
            logits = rng.standard_normal((m, n_classes), dtype=np.float32)
            logits += 2.8 * (group_of[None, :] == group_of[t][:, None])
            logits[np.arange(m), t] += rng.normal(2.6, 1.3, m).astype(np.float32)
            logits[:, dark_class] += 3.0 * (brightness[rows] < 0.2)
            logits *= 1.3
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            dup = np.flatnonzero(duplicate[rows])
            if len(dup) and dup[0] == 0:
                dup = dup[1:]  # its original is in the previous chunk: keep it a near copy
            p[dup] = p[dup - 1]
            probs[rows] = p
            best = np.argpartition(p, -5, axis=1)[:, -5:]
            order = np.argsort(-np.take_along_axis(p, best, axis=1), axis=1)
            best = np.take_along_axis(best, order, axis=1)
            top5[rows] = best
            pred[rows] = best[:, 0]
            conf[rows] = p[np.arange(m), best[:, 0]]
            margin[rows] = conf[rows] - p[np.arange(m), best[:, 1]]
            self_conf[rows] = p[np.arange(m), label[rows]]
            wrong = (best[:, 0] != t)[:, None]
            e = class_centre[t] + 0.9 * rng.standard_normal((m, dim), dtype=np.float32)
            e += wrong * 0.5 * (class_centre[best[:, 0]] - class_centre[t])
            e /= np.linalg.norm(e, axis=1, keepdims=True)
            e[dup] = e[dup - 1]
            embeddings[rows] = e
            xy = class_xy[t] + rng.normal(0, 0.012, (m, 2)).astype(np.float32)
            xy += wrong * 0.6 * (class_xy[best[:, 0]] - class_xy[t])
            umap[rows] = xy
        probs.flush()
        embeddings.flush()
        timings["arrays"] = time.perf_counter() - t0
        log(f"arrays: {timings['arrays']:.1f} s, accuracy {np.mean(pred == label):.3f}")

        t0 = time.perf_counter()
        pool_dir = staged.staging / ".thumb-pool"
        pool_dir.mkdir()
        for k, data in enumerate(pool):
            (pool_dir / f"{k}.jpg").write_bytes(data)
        pool_paths = [str(pool_dir / f"{k}.jpg") for k in range(len(pool))]
        thumbs = str(staged.staging / THUMBS_DIR)
        for row, k in enumerate(pool_index.tolist()):
            os.link(pool_paths[k], f"{thumbs}/{row:06d}.jpg")
        shutil.rmtree(pool_dir)  # the links keep the files
        timings["thumbnails"] = time.perf_counter() - t0
        log(f"thumbnails: {timings['thumbnails']:.1f} s ({len(pool)} distinct, {n:,} links)")

        t0 = time.perf_counter()
        umap -= umap.min(axis=0)
        umap /= np.maximum(umap.max(axis=0), 1e-9)
        samples = _samples_frame(n, classes, label, pred, fold, split, conf, self_conf, margin, top5, umap,
                                 brightness, pool_hue[pool_index], duplicate, rng)
        timings["samples"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        tables = _tables(samples, probs, embeddings, classes, duplicate, sample, rng)
        timings["tables"] = time.perf_counter() - t0
        log(f"tables: {timings['tables']:.1f} s")
        del probs, embeddings
        t0 = time.perf_counter()
        meta = _meta(classes, n, dim, label, pred, top5, split, seed, sample)
        staged.commit(samples=samples, meta=meta, tables=tables)
        timings["write+validate"] = time.perf_counter() - t0
        log(f"write + validate: {timings['write+validate']:.1f} s")
    return timings


def _samples_frame(n, classes, label, pred, fold, split, conf, self_conf, margin, top5, umap, brightness, hue,
                   duplicate, rng):
    """The samples as a pyarrow Table (the list column without a million Python lists)."""
    import pyarrow as pa

    names = np.asarray(classes, dtype=object)
    sample_id = [f"{s}/{c}/{i:08d}.jpg" for s, c, i in zip(split.tolist(), names[label].tolist(), range(n))]
    hashes = rng.integers(0, 2**63, (n, 2), dtype=np.int64)
    hashes[duplicate] = hashes[np.flatnonzero(duplicate) - 1]
    pixel_hash = [f"{a:016x}{b:016x}" for a, b in hashes.tolist()]
    sizes = PROPERTY_SIZES[rng.integers(0, len(PROPERTY_SIZES), n)]
    loss = -np.log(np.maximum(self_conf, 1e-12)).astype(np.float32)
    f32 = lambda v: pa.array(np.asarray(v, np.float32))  # noqa: E731
    columns = {
        "sample_id": pa.array(sample_id, pa.string()),
        "path": pa.array(["/synthetic/" + s for s in sample_id], pa.string()),
        "split": pa.array(split.tolist(), pa.string()),
        "label": pa.array(label), "pred": pa.array(pred), "fold": pa.array(fold),
        "confidence": f32(conf), "self_confidence": f32(self_conf), "margin": f32(margin), "loss": f32(loss),
        "top5": pa.ListArray.from_arrays(pa.array(np.arange(0, 5 * n + 1, 5, dtype=np.int32)),
                                         pa.array(top5.reshape(-1))),
        "umap_x": f32(umap[:, 0]), "umap_y": f32(umap[:, 1]),
        "width": f32(sizes[:, 0]), "height": f32(sizes[:, 1]),
        "brightness": f32(brightness),
        "contrast": f32(np.clip(rng.normal(0.22, 0.05, n), 0.02, 0.6)),
        "colourfulness": f32(np.abs(rng.normal(0.15, 0.08, n))),
        "hue": f32(hue),
        "dominant_hue": f32((np.round(hue / 15) * 15) % 360),
        "saturation": f32(np.abs(rng.normal(0.13, 0.08, n))),
        "sharpness": f32(rng.lognormal(3.3, 0.55, n)),
        "pixel_hash": pa.array(pixel_hash, pa.string()),
    }
    return pa.table(columns)


def _tables(samples, probs, embeddings, classes, duplicate, sample, rng) -> dict[str, pd.DataFrame]:
    """See the module docstring: label_issues and class_order over all rows, the rest on a sample."""
    n, n_classes = probs.shape
    label = samples["label"].to_numpy()
    pred = samples["pred"].to_numpy()
    self_conf = samples["self_confidence"].to_numpy().astype(np.float64)
    # confident learning thresholds: per class, the mean probability of the class over the images labelled with it
    thresholds = np.bincount(label, self_conf, n_classes) / np.maximum(np.bincount(label, minlength=n_classes), 1)
    thresholds[np.bincount(label, minlength=n_classes) == 0] = np.inf  # no image: never confidently that class
    suggested = np.empty(n, np.int64)
    is_issue = np.empty(n, bool)
    for start in range(0, n, CHUNK):
        rows = slice(start, min(n, start + CHUNK))
        p = np.array(probs[rows], dtype=np.float32)
        m = len(p)
        confident = np.where(p >= thresholds[None, :], p, -1.0)
        has = confident.max(axis=1) >= 0
        confident_class = confident.argmax(axis=1)
        is_issue[rows] = has & (confident_class != label[rows])
        p[np.arange(m), label[rows]] = -1.0
        suggested[rows] = p.argmax(axis=1)
    row = np.arange(n)
    sample_ids = samples["sample_id"].to_numpy(zero_copy_only=False).astype(object)
    splits = samples["split"].to_numpy(zero_copy_only=False).astype(object)
    issues = pd.DataFrame({
        "row": row, "sample_id": sample_ids, "split": splits, "label": label, "suggested": suggested,
        "label_quality": self_conf, "self_confidence": self_conf, "is_issue": is_issue,
        "overlap_issue": np.zeros(n, bool),
        "review_rank": li._ranks(np.lexsort((row, self_conf, ~is_issue))),
        "low_confidence_rank": li._ranks(np.lexsort((row, self_conf))),  # = low_confidence_ranking
    })

    take = np.unique(np.concatenate([rng.choice(n, size=min(sample, n), replace=False),
                                     np.flatnonzero(duplicate), np.flatnonzero(duplicate) - 1]))
    sub_samples = samples.take(take).to_pandas()
    sub_samples["thumb"] = [thumb_name(i) for i in take]
    with warnings.catch_warnings():  # cleanlab: "too few examples" for small classes of a small sample
        warnings.simplefilter("ignore")
        tables = build_tables(sub_samples, np.asarray(probs[take]), np.asarray(embeddings[take]), classes,
                              in_sample_remedy="")
    for name, columns in {"multiclass": ["row"], "image_issues": ["row"], "duplicate_pairs": ["row_a", "row_b"],
                          "nearest_train": ["row", "nearest_train"]}.items():
        table = tables[name]
        for column in columns:
            values = table[column].to_numpy()
            table[column] = np.where(values >= 0, take[np.maximum(values, 0)], values).astype(np.int64)
    tables["label_issues"] = issues
    tables["class_quality"] = li.class_label_quality(label[take], np.asarray(probs[take]), classes,
                                                     is_issue=is_issue[take])
    tables["class_order"] = class_order_table(label, pred, n_classes)
    note = (f"Synthetic cache: label issues over all {n:,} rows use a confident-learning threshold rule, not "
            f"cleanlab; the other analyses ran on a random sample of {len(take):,} rows (their counts are sample "
            "counts). Made by bench/make_large_cache.py.")
    extra = pd.DataFrame([(a, note) for a in ("label_issues", "merges", "shortcuts", "duplicates")],
                         columns=["analysis", "message"])
    tables["warnings"] = pd.concat([tables["warnings"], extra], ignore_index=True).astype(str)
    return tables


def _meta(classes, n, dim, label, pred, top5, split, seed, sample) -> dict:
    metrics = {}
    hit5 = (top5 == label[:, None]).any(axis=1)
    for name in ("train", "val", "test"):
        rows = split == name
        count = np.bincount(label[rows], minlength=len(classes))
        top1 = np.bincount(label[rows], pred[rows] == label[rows], len(classes)) / np.maximum(count, 1)
        top5_c = np.bincount(label[rows], hit5[rows], len(classes)) / np.maximum(count, 1)
        metrics[name] = {"n": int(rows.sum()), "top1": float(np.mean(pred[rows] == label[rows])) if rows.any() else 0.0,
                         "top5": float(np.mean(hit5[rows])) if rows.any() else 0.0,
                         "per_class": {c: {"n": int(count[i]), "top1": float(top1[i]), "top5": float(top5_c[i])}
                                       for i, c in enumerate(classes)}}
    return {
        "classes": classes, "data_root": "", "layout": "synthetic",
        "backbone": {"name": "synthetic", "weights": "none (bench/make_large_cache.py)", "embedding_dim": dim},
        "image_size": 96, "folds": 5, "seed": seed, "metrics": metrics,
        "timings": {}, "versions": {}, "skipped": [], "probs_out_of_sample": True,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "source": {"kind": "import", "file": "synthetic (bench/make_large_cache.py)", "sample": sample},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of rows (images)")
    parser.add_argument("--classes", type=int, default=365)
    parser.add_argument("--dim", type=int, default=64, help="embedding dimension (default 64)")
    parser.add_argument("--sample", type=int, default=10000, help="rows the sampled analysis tables run on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if args.n < 10 or args.classes < 2:
        parser.error("need at least 10 rows and 2 classes")
    start = time.perf_counter()
    timings = generate(args.n, args.classes, Path(args.out), dim=args.dim, sample=args.sample, seed=args.seed,
                       force=args.force)
    total = time.perf_counter() - start
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wrote {args.out}: {args.n:,} rows, {args.classes} classes in {total:.1f} s (peak RSS {peak:,.0f} MB); "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
