"""Procedural demo data set: synthetic indoor-scene photos with planted, known problems.

Nothing is downloaded: every image is drawn with Pillow's ImageDraw (polygons, rectangles, ellipses) plus a
little numpy for lighting, blur and sensor noise, deterministically from a seed. Classes are defined by the
objects in the room (a pool table makes a game room), so a frozen ImageNet CNN + a linear probe learns them;
the planted problems (flipped labels, multi-class scenes, brightness/colour shortcuts, look-alike classes,
near-duplicates across splits) are written to a separate ``truth.csv`` so that an error-analysis tool can be
checked against them. This module holds the two entry points, :func:`render_scene` (one image) and
:func:`render_demo` (the data set: planting the truth, the worker pool, ``truth.csv``); the drawing lives in
the sibling modules (see the package docstring).

Layout written by :func:`render_demo`::

    out_dir/images/{train,test}/<given_label>/<given_label>_<NNNN>.jpg
    out_dir/truth.csv

``sample_id`` (the key used by the rest of ``indoor``) is the path relative to ``out_dir/images`` with forward
slashes, e.g. ``train/bar/bar_0007.jpg``.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from indoor.data.synthetic.backdrop import _draw_decor, _draw_room, _room_palette
from indoor.data.synthetic.canvas import _G, _Opts, _ri, _u
from indoor.data.synthetic.classes import _DRAWERS, _LOOKALIKES, _PARTNERS, INDOOR67_CLASSES, demo_class_names
from indoor.data.synthetic.generic import _d_generic, _template
from indoor.data.synthetic.postprocess import _finish

__all__ = ["TRUTH_COLUMNS", "DemoSummary", "render_demo", "render_scene"]

TRUTH_COLUMNS = [
    "sample_id", "split", "true_class", "given_label", "flipped", "second_class", "dark", "teal",
    "green_bedspread", "scale", "near_duplicate_of", "ward",
]
WARD_SHARE = 0.8  # hospital rooms drawn as plain wards: a bedroom's bed by the curtain, told apart by colour only


# ----------------------------------------------------------------------------------------------------------
# public: one scene


def render_scene(class_name: str, rng: np.random.Generator, *, size: int = 256, dark: bool = False,
                 teal: bool | None = None, green_bedspread: bool = False, scale: float = 1.0,
                 second_class: str | None = None, ward: bool = False,
                 anchor: tuple[float, float] | None = None) -> Image.Image:
    """One RGB ``size`` x ``size`` scene of ``class_name`` (any :data:`INDOOR67_CLASSES` name).

    ``scale`` multiplies the size of the class-defining objects (0.4..1.6 sensible). ``dark``: global low light
    (x0.25-0.45, warm tint). ``teal``: teal walls (and curtain, in a hospital room); None = True for
    hospitalroom, False otherwise. ``green_bedspread`` colours a bedroom's bedspread green. ``ward`` draws a
    hospital room as a plain ward: the curtain and a bedroom's bed, no monitor or drip. ``second_class``
    also draws that class's defining objects (side by side: a multi-class scene). ``anchor`` = (x, y) in [0,1]
    is the centre of the defining object group; when given, the rest of the image is a plain room with no
    other objects (used by occlusion tests). The result depends only on the arguments and the rng state.
    """
    if class_name not in INDOOR67_CLASSES:
        raise ValueError(f"unknown class {class_name!r}")
    if second_class is not None and second_class not in INDOOR67_CLASSES:
        raise ValueError(f"unknown class {second_class!r}")
    S = int(size)
    if S < 16:
        raise ValueError("size must be >= 16")
    if teal is None:
        teal = class_name == "hospitalroom"
    teal = bool(teal)
    pal = _room_palette(class_name, rng, teal)
    img = Image.new("RGB", (S, S))
    d = ImageDraw.Draw(img)
    da = ImageDraw.Draw(img, "RGBA")
    vp, back = _draw_room(d, rng, S, pal)
    if anchor is None:
        light = _draw_decor(d, da, rng, S, pal, back)
    else:
        light = (vp[0], back[1] * 0.5)
    scale = float(scale)
    zoom = _u(rng, 0.92, 1.08)

    def group(cls, cx, cy, u):
        o = _Opts(teal=teal if cls == class_name else cls == "hospitalroom", green_bedspread=green_bedspread,
                  template=None if cls in _DRAWERS else _template(cls), ward=bool(ward) and cls == class_name)
        g = _G(img, d, da, cx, cy, u, vp, mirror=rng.random() < 0.5)
        _DRAWERS.get(cls, _d_generic)(g, rng, o)

    by1 = back[3]
    if anchor is not None:
        u = 0.3 * S * scale
        group(class_name, anchor[0] * S, anchor[1] * S, u)
        if second_class is not None:
            group(second_class, (1.0 - anchor[0]) * S, anchor[1] * S, u)
    elif second_class is None:
        u = 0.3 * S * scale * zoom
        ground = _u(rng, by1 + 0.45 * (S - by1), S * 0.97)
        cx = S * (0.5 + _u(rng, -0.07, 0.07))
        group(class_name, cx, ground - u, u)
    else:
        u = 0.3 * S * scale * zoom * 0.7
        ground = _u(rng, by1 + 0.55 * (S - by1), S * 0.97)
        left = rng.random() < 0.5
        xs = (0.29, 0.73) if left else (0.73, 0.29)
        group(class_name, S * xs[0], ground - u, u)
        group(second_class, S * xs[1], ground - u, u)
    return _finish(img, rng, light, pal, bool(dark))


# ----------------------------------------------------------------------------------------------------------
# public: the whole data set


@dataclass
class DemoSummary:
    images_dir: Path
    truth_path: Path
    classes: list[str]
    n_images: int
    n_flipped: int
    n_multi: int
    n_near_duplicates: int
    seconds: float


def _perturb(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Near-duplicate: shift/crop by a few pixels, brightness +-5 %, JPEG re-encode."""
    S = img.size[0]
    m = rng.integers(1, max(2, S // 50) + 2, 4)
    crop = img.crop((int(m[0]), int(m[1]), S - int(m[2]), S - int(m[3]))).resize((S, S), Image.BILINEAR)
    f = 1.0 + float(rng.choice([-1.0, 1.0])) * _u(rng, 0.02, 0.05)
    a = np.asarray(crop, dtype=np.float32) * f
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=_ri(rng, 70, 86))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _render_task(task: tuple) -> None:
    """Worker: render one image (re-rendered from its source's seed and perturbed for a near-duplicate) and
    write it as JPEG q90."""
    (path, cls, second, dark, teal, green, scale, size, entropy, dup_entropy, ward) = task
    rng = np.random.default_rng(np.random.SeedSequence(list(entropy)))
    img = render_scene(cls, rng, size=size, dark=dark, teal=teal, green_bedspread=green, scale=scale,
                       second_class=second, ward=ward)
    if dup_entropy is not None:
        img = _perturb(img, np.random.default_rng(np.random.SeedSequence(list(dup_entropy))))
    img.save(path, "JPEG", quality=90)


def _pool_context():
    """"fork" (fast, and needs no ``if __name__ == "__main__"`` guard in the caller's script) unless other Python
    threads are running (a web app, a thread pool): forking them can deadlock, so use "forkserver" then."""
    import threading

    methods = mp.get_all_start_methods()
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and type(t).__name__ != "TMonitor"]  # tqdm's idle monitor
    if not others and "fork" in methods:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def render_demo(out_dir: Path, *, n_classes: int = 12, per_class: int = 130, seed: int = 0, size: int = 256,
                test_fraction: float = 0.2, workers: int = 2, progress: bool = True) -> DemoSummary:
    """Render the demo data set into ``out_dir`` (see module docstring for the layout) and its ground truth
    ``out_dir/truth.csv`` (columns :data:`TRUTH_COLUMNS`). Deterministic for ``seed``: a rerun writes the same
    bytes, whatever ``workers`` is. Overwrites a previous rendering cleanly (renders into a temporary folder
    inside ``out_dir``, then swaps it in).

    Planted problems: ~5 % flipped labels in each split, ~3 % multi-class scenes, ~80 % of bar images dark
    (~3 % of the others), ~85 % of hospital rooms teal (~2 % of the others) and ~80 % of them plain wards that
    look like bedrooms but for their colour (:data:`WARD_SHARE`), ~20 % of bedrooms with a green
    bedspread, a wide range of object scales, and near-duplicates of train images in test (~1 % of test,
    at least 2; at least 3 when test has >= 200 images). Each planted category is kept clean: near-duplicates
    (and their sources) are never flipped or multi-class, multi-class images are never flipped.

    File numbers are assigned per folder in a seeded random order, so a name reveals nothing about the truth.
    ``workers`` > 1 renders in a process pool ("fork" when the caller has no other threads, else "forkserver",
    which re-imports the caller's main script: guard it with ``if __name__ == "__main__":``).
    """
    import pandas as pd
    from tqdm import tqdm

    t_start = time.perf_counter()
    classes = demo_class_names(n_classes)
    per_class = int(per_class)
    if per_class < 2:
        raise ValueError("per_class must be >= 2")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    n_test = int(round(test_fraction * per_class))
    n_test = min(max(n_test, 1), per_class - 1)
    n_train = per_class - n_test
    C = len(classes)
    N = C * per_class
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    plan = np.random.default_rng(np.random.SeedSequence([int(seed), 7919, C, per_class, n_test]))
    ci = np.repeat(np.arange(C), per_class)
    jj = np.tile(np.arange(per_class), C)
    is_test = jj >= n_train
    # per-image scene parameters
    scale = np.clip(np.exp(plan.normal(0.0, 0.3, N)), 0.45, 1.6).round(4)
    u = plan.random((4, N))
    name = np.array(classes, dtype=object)[ci]
    dark = np.where(name == "bar", u[0] < 0.8, u[0] < 0.03)
    teal = np.where(name == "hospitalroom", u[1] < 0.85, u[1] < 0.02)
    green = (name == "bedroom") & (u[2] < 0.2)
    # drawn from a stream of its own, so the rest of the plan is what it was before wards were planted
    ward_draw = np.random.default_rng(np.random.SeedSequence([int(seed), 7919, C, per_class, n_test, 1])).random(N)
    ward = (name == "hospitalroom") & (ward_draw < WARD_SHARE)
    src = np.full(N, -1)  # near-duplicate: index of the train image it copies
    second = np.full(N, -1)
    given = ci.copy()

    # near-duplicates (test -> train of the same class)
    test_idx = np.flatnonzero(is_test)
    n_dup = max(2, int(round(0.01 * len(test_idx))))
    if len(test_idx) >= 200:
        n_dup = max(3, n_dup)
    n_dup = min(n_dup, len(test_idx))
    used_src: set[int] = set()
    for k in plan.choice(test_idx, n_dup, replace=False):
        c = ci[k]
        cands = [c * per_class + j for j in range(n_train) if c * per_class + j not in used_src]
        s = int(cands[int(plan.integers(len(cands)))])
        used_src.add(s)
        src[k] = s
    reserved = (src >= 0)
    reserved[list(used_src)] = True

    # multi-class scenes
    def partner(c: int) -> int:
        nm = classes[c]
        avail = [p for p in _PARTNERS.get(nm, []) if p in classes]
        if avail:
            return classes.index(avail[int(plan.integers(len(avail)))])
        bad = _LOOKALIKES.get(nm, set()) | {nm}
        opts = [i for i, x in enumerate(classes) if x not in bad]
        return opts[int(plan.integers(len(opts)))]

    n_multi = int(round(0.03 * N))
    elig = np.flatnonzero(~reserved)
    for k in plan.choice(elig, min(n_multi, len(elig)), replace=False):
        second[k] = partner(int(ci[k]))
    reserved |= second >= 0

    # flipped labels, in each split
    for split_mask in (~is_test, is_test):
        elig = np.flatnonzero(split_mask & ~reserved)
        k_flip = min(len(elig), max(1, int(round(0.05 * int(split_mask.sum())))))
        for k in plan.choice(elig, k_flip, replace=False):
            other = int(plan.integers(C - 1))
            given[k] = other if other < ci[k] else other + 1
    flipped = given != ci

    # file names: numbered per (split, given-label) folder in a shuffled order (names leak nothing)
    order = plan.permutation(N)
    counters: dict[tuple[bool, int], int] = {}
    rel = [""] * N
    for k in order:
        key = (bool(is_test[k]), int(given[k]))
        n = counters.get(key, 0)
        counters[key] = n + 1
        lab = classes[given[k]]
        rel[k] = f"{'test' if is_test[k] else 'train'}/{lab}/{lab}_{n:04d}.jpg"

    # copy the source's scene parameters into near-duplicates
    for k in np.flatnonzero(src >= 0):
        s = src[k]
        scale[k], dark[k], teal[k], green[k], ward[k] = scale[s], dark[s], teal[s], green[s], ward[s]

    tmp = out_dir / f".images_tmp_{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    for split in ("train", "test"):
        for c in classes:
            (tmp / split / c).mkdir(parents=True, exist_ok=True)
    tasks = []
    for k in range(N):
        s = int(src[k]) if src[k] >= 0 else k
        entropy = (int(seed), int(ci[s]), int(jj[s]))
        dup_entropy = (int(seed), int(ci[k]), int(jj[k]), 1) if src[k] >= 0 else None
        tasks.append((str(tmp / rel[k]), classes[ci[k]], classes[second[k]] if second[k] >= 0 else None,
                      bool(dark[k]), bool(teal[k]), bool(green[k]), float(scale[k]), int(size), entropy,
                      dup_entropy, bool(ward[k])))

    bar = tqdm(total=N, desc="rendering demo images", unit="img", disable=not progress)
    try:
        if workers is None or workers <= 1:
            for t in tasks:
                _render_task(t)
                bar.update(1)
        else:
            with _pool_context().Pool(int(workers)) as pool:
                for _ in pool.imap_unordered(_render_task, tasks, chunksize=16):
                    bar.update(1)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()

    images_dir = out_dir / "images"
    if images_dir.exists():
        shutil.rmtree(images_dir)
    tmp.rename(images_dir)

    truth = pd.DataFrame({
        "sample_id": rel,
        "split": np.where(is_test, "test", "train"),
        "true_class": np.array(classes, dtype=object)[ci],
        "given_label": np.array(classes, dtype=object)[given],
        "flipped": flipped.astype(int),
        "second_class": [classes[s] if s >= 0 else "" for s in second],
        "dark": dark.astype(int),
        "teal": teal.astype(int),
        "green_bedspread": green.astype(int),
        "scale": scale,
        "near_duplicate_of": [rel[s] if s >= 0 else "" for s in src],
        "ward": ward.astype(int),
    })[TRUTH_COLUMNS].sort_values("sample_id", kind="stable").reset_index(drop=True)
    truth_path = out_dir / "truth.csv"
    tmp_csv = out_dir / f".truth_tmp_{os.getpid()}.csv"
    truth.to_csv(tmp_csv, index=False)
    os.replace(tmp_csv, truth_path)
    seconds = time.perf_counter() - t_start
    return DemoSummary(images_dir=images_dir, truth_path=truth_path, classes=classes, n_images=N,
                       n_flipped=int(flipped.sum()), n_multi=int((second >= 0).sum()),
                       n_near_duplicates=int((src >= 0).sum()), seconds=round(seconds, 3))
