"""The procedural demo data set: file tree, truth file, planted problems, determinism, and the scene drawer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from indoor.data.synthetic import (
    DEMO_CLASSES,
    INDOOR67_CLASSES,
    TRUTH_COLUMNS,
    demo_class_names,
    render_demo,
    render_scene,
)

SMALL = dict(n_classes=10, per_class=20, size=96, workers=1, progress=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    summary = render_demo(out, seed=0, **SMALL)
    return out, summary, pd.read_csv(summary.truth_path, keep_default_na=False)


def _files(images_dir: Path) -> list[str]:
    return sorted(p.relative_to(images_dir).as_posix() for p in images_dir.rglob("*.jpg"))


def test_tree_matches_truth(demo):
    out, summary, truth = demo
    assert list(truth.columns) == TRUTH_COLUMNS
    assert summary.images_dir == out / "images" and summary.truth_path == out / "truth.csv"
    assert summary.classes == demo_class_names(10)
    assert summary.n_images == len(truth) == 200
    assert sorted(truth.sample_id) == _files(summary.images_dir)
    parts = truth.sample_id.str.split("/", expand=True)
    assert (parts[0] == truth.split).all()
    assert (parts[1] == truth.given_label).all()
    assert all(f.startswith(lab + "_") for f, lab in zip(parts[2], truth.given_label))
    assert set(truth.true_class) == set(summary.classes) and set(truth.given_label) <= set(summary.classes)
    # split by index per class: round(0.2 * 20) = 4 test images per true class
    assert (truth[truth.split == "test"].true_class.value_counts() == 4).all()
    with Image.open(summary.images_dir / truth.sample_id[0]) as im:
        assert im.mode == "RGB" and im.size == (96, 96) and im.format == "JPEG"


def test_planted_problems(demo):
    _, summary, truth = demo
    flipped = truth.flipped == 1
    assert ((truth.given_label != truth.true_class) == flipped).all()
    for split in ("train", "test"):
        assert flipped[truth.split == split].sum() > 0
    assert 0.02 < flipped.mean() < 0.09
    multi = truth.second_class != ""
    assert multi.sum() == summary.n_multi > 0
    assert not (multi & flipped).any()
    assert (truth.second_class[multi] != truth.true_class[multi]).all()
    # near-duplicates: test -> existing, unflipped train image of the same class and the same given label
    dups = truth[truth.near_duplicate_of != ""]
    assert len(dups) == summary.n_near_duplicates >= 2
    by_id = truth.set_index("sample_id")
    for _, row in dups.iterrows():
        assert row.split == "test" and row.flipped == 0 and row.second_class == ""
        src = by_id.loc[row.near_duplicate_of]
        assert src.split == "train" and src.flipped == 0 and src.second_class == ""
        assert src.given_label == row.given_label and src.true_class == row.true_class
        assert (src.dark, src.teal, src.scale, src.ward) == (row.dark, row.teal, row.scale, row.ward)
    # brightness / colour biases and scale range
    bar = truth.true_class == "bar"
    assert truth.dark[bar].mean() > 0.5 > truth.dark[~bar].mean()
    hosp = truth.true_class == "hospitalroom"
    assert truth.teal[hosp].mean() > 0.5 > truth.teal[~hosp].mean()
    assert truth.ward[hosp].mean() > 0.5 and truth.ward[~hosp].sum() == 0  # wards: hospital rooms only
    assert truth.green_bedspread[truth.true_class != "bedroom"].sum() == 0
    assert truth.scale.between(0.45, 1.6).all() and truth.scale.std() > 0.1


def test_near_duplicate_looks_like_its_source(demo):
    _, summary, truth = demo
    row = truth[truth.near_duplicate_of != ""].iloc[0]
    a = np.asarray(Image.open(summary.images_dir / row.sample_id), dtype=np.float32)
    b = np.asarray(Image.open(summary.images_dir / row.near_duplicate_of), dtype=np.float32)
    other = truth[(truth.true_class == row.true_class) & (truth.sample_id != row.near_duplicate_of)
                  & (truth.split == "train")].iloc[0]
    c = np.asarray(Image.open(summary.images_dir / other.sample_id), dtype=np.float32)
    small = lambda x: x.reshape(24, 4, 24, 4, 3).mean(axis=(1, 3))  # noqa: E731  (tolerates the shift)
    assert np.abs(small(a) - small(b)).mean() < 0.5 * np.abs(small(a) - small(c)).mean()


def test_deterministic_and_overwrites_cleanly(demo, tmp_path):
    out, summary, truth = demo
    stray = tmp_path / "images" / "train" / "stale_class" / "old.jpg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"old")
    again = render_demo(tmp_path, seed=0, **SMALL)
    assert not stray.exists() and not stray.parent.exists()
    assert again.truth_path.read_bytes() == summary.truth_path.read_bytes()
    files = _files(again.images_dir)
    assert files == _files(summary.images_dir)
    for rel in files[::7]:
        assert (again.images_dir / rel).read_bytes() == (summary.images_dir / rel).read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers



def test_another_seed_differs(tmp_path):
    kw = dict(n_classes=10, per_class=5, size=48, workers=1, progress=False)
    a = render_demo(tmp_path / "s0", seed=0, **kw)
    b = render_demo(tmp_path / "s1", seed=1, **kw)
    assert a.truth_path.read_bytes() != b.truth_path.read_bytes()
    same_names = sorted(set(_files(a.images_dir)) & set(_files(b.images_dir)))
    assert len(same_names) > 20
    assert all((a.images_dir / r).read_bytes() != (b.images_dir / r).read_bytes() for r in same_names)


def test_every_class_renders():
    names = demo_class_names(67)
    assert names[:12] == DEMO_CLASSES and sorted(names) == sorted(INDOOR67_CLASSES) and len(set(names)) == 67
    means = []
    for i, c in enumerate(names):
        im = render_scene(c, np.random.default_rng(i), size=64)
        assert im.mode == "RGB" and im.size == (64, 64)
        means.append(np.asarray(im, dtype=np.float32).mean(axis=(0, 1)))
    # classes do not collapse onto one look
    assert np.unique(np.round(np.array(means) / 8), axis=0).shape[0] > 30


def test_render_scene_is_deterministic():
    a = render_scene("kitchen", np.random.default_rng(5), size=64)
    b = render_scene("kitchen", np.random.default_rng(5), size=64)
    assert a.tobytes() == b.tobytes()


def test_dark_is_darker():
    for c in ("bar", "office", "bedroom"):
        light = np.asarray(render_scene(c, np.random.default_rng(3), size=64), dtype=np.float32).mean()
        dark = np.asarray(render_scene(c, np.random.default_rng(3), size=64, dark=True), np.float32).mean()
        assert dark < 0.6 * light


def _teal_pixels(im: Image.Image) -> int:
    a = np.asarray(im, dtype=np.int16)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    return int(((g - r > 40) & (b - r > 30) & (np.abs(g - b) < 45)).sum())


def test_teal_hospital_room():
    assert render_scene("hospitalroom", np.random.default_rng(0), size=64).mode == "RGB"
    for seed in range(3):
        teal = _teal_pixels(render_scene("hospitalroom", np.random.default_rng(seed), size=64, teal=True))
        plain = _teal_pixels(render_scene("hospitalroom", np.random.default_rng(seed), size=64, teal=False))
        assert teal > 0.3 * 64 * 64 and plain < 0.05 * 64 * 64
    # teal=None means teal for hospital rooms
    default = render_scene("hospitalroom", np.random.default_rng(0), size=64)
    assert default.tobytes() == render_scene("hospitalroom", np.random.default_rng(0), size=64, teal=True).tobytes()


def test_a_ward_is_a_bedroom_by_a_curtain_without_monitor_or_drip():
    """The teal shortcut's plant: a plain ward has no heart monitor; its bed is a bedroom's, so its colour is
    what tells it from a bedroom."""
    def screen(im):  # the monitor's near-black, green-tinted screen
        a = np.asarray(im, dtype=np.int16)
        return int(((a[..., 0] < 40) & (a[..., 1] < 50) & (a[..., 2] < 50) & (a[..., 1] > a[..., 0] + 4)).sum())

    for seed in range(4):
        ward = render_scene("hospitalroom", np.random.default_rng(seed), size=128, ward=True)
        room = render_scene("hospitalroom", np.random.default_rng(seed), size=128)
        assert screen(room) > 40 and screen(ward) == 0
        assert ward.tobytes() != room.tobytes()
    # the ward option is for hospital rooms: other classes draw the same scene with or without it
    assert render_scene("kitchen", np.random.default_rng(1), size=64, ward=True).tobytes() == \
        render_scene("kitchen", np.random.default_rng(1), size=64).tobytes()


def test_green_bedspread():
    def green(im):
        a = np.asarray(im, dtype=np.int16)
        return int(((a[..., 1] - a[..., 0] > 40) & (a[..., 1] - a[..., 2] > 30)).sum())

    for seed in range(3):
        on = render_scene("bedroom", np.random.default_rng(seed), size=64, green_bedspread=True)
        off = render_scene("bedroom", np.random.default_rng(seed), size=64)
        assert green(on) > green(off) + 40


def _felt_mask(im: Image.Image) -> np.ndarray:
    a = np.asarray(im, dtype=np.int16)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    return (g - r > 45) & (g - b > 25)


def test_anchor_puts_the_defining_objects_in_the_corner():
    S = 128
    for seed in range(4):
        im = render_scene("gameroom", np.random.default_rng(seed), size=S, anchor=(0.15, 0.15), scale=0.5)
        m = _felt_mask(im)
        h = S // 2
        quads = [m[:h, :h].sum(), m[:h, h:].sum(), m[h:, :h].sum(), m[h:, h:].sum()]
        assert quads[0] > 100 and sum(quads[1:]) == 0, quads
    # the default layout puts the table in the middle of the picture
    m = _felt_mask(render_scene("gameroom", np.random.default_rng(0), size=S))
    ys, xs = np.nonzero(m)
    assert len(xs) > 300 and 0.3 * S < xs.mean() < 0.7 * S


def test_scale_changes_object_size():
    small = _felt_mask(render_scene("gameroom", np.random.default_rng(1), size=128, scale=0.5)).sum()
    big = _felt_mask(render_scene("gameroom", np.random.default_rng(1), size=128, scale=1.5)).sum()
    assert big > 4 * small > 0


def test_multi_class_scene_draws_both():
    im = render_scene("bar", np.random.default_rng(2), size=128, second_class="gameroom")
    assert _felt_mask(im).sum() > 120
    assert _felt_mask(render_scene("bar", np.random.default_rng(2), size=128)).sum() < 40  # green bottles


def test_bookstore_and_videostore_are_the_same_distribution():
    for seed in range(3):
        a = render_scene("bookstore", np.random.default_rng(seed), size=64)
        b = render_scene("videostore", np.random.default_rng(seed), size=64)
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("n", [9, 68, 0, -1, 10.5])
def test_demo_class_names_range(n):
    with pytest.raises(ValueError):
        demo_class_names(n)


def test_demo_class_names_order():
    assert demo_class_names(10) == DEMO_CLASSES[:10]
    assert demo_class_names(12) == DEMO_CLASSES
    assert demo_class_names(13)[:12] == DEMO_CLASSES and demo_class_names(13)[12] not in DEMO_CLASSES


def test_unknown_class_rejected():
    with pytest.raises(ValueError):
        render_scene("spaceship", np.random.default_rng(0), size=64)


def test_parallel_rendering_gives_the_same_bytes(tmp_path):
    kw = dict(n_classes=10, per_class=5, size=48, progress=False)
    one = render_demo(tmp_path / "w1", seed=3, workers=1, **kw)
    two = render_demo(tmp_path / "w2", seed=3, workers=2, **kw)
    assert one.truth_path.read_bytes() == two.truth_path.read_bytes()
    files = _files(one.images_dir)
    assert files == _files(two.images_dir) and len(files) == 50
    assert all((one.images_dir / f).read_bytes() == (two.images_dir / f).read_bytes() for f in files)
