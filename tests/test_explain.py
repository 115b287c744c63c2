"""Explanations: occlusion and Grad-CAM maps on the demo cache's real model, nearest training images, the page."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from indoor.model import explain
from indoor.data.synthetic import render_scene

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def classifier(demo_cache):
    return explain.load_classifier(demo_cache)


def corner_scene(seed: int, anchor=(0.2, 0.2)) -> Image.Image:
    """A plain room whose only class-defining object (a pool table) sits around ``anchor`` (x, y fractions)."""
    return render_scene("gameroom", np.random.default_rng(seed), size=128, anchor=anchor, scale=0.7)


def quadrant_means(heat: np.ndarray) -> np.ndarray:
    """Mean of (top-left, top-right, bottom-left, bottom-right)."""
    h, w = heat.shape[0] // 2, heat.shape[1] // 2
    return np.array([heat[:h, :w].mean(), heat[:h, w:].mean(), heat[h:, :w].mean(), heat[h:, w:].mean()])


# ------------------------------------------------------------------------------------------------ the model


def test_classifier_is_the_cache_model(demo_cache, classifier):
    """Backbone + head reproduce the cache's predictions on val/test images (the head there is the one saved)."""
    assert classifier.classes == demo_cache.classes and classifier.image_size == demo_cache.meta["image_size"]
    s = demo_cache.samples
    rows = np.flatnonzero(s["split"].to_numpy() != "train")[:6]
    for row in rows:
        with Image.open(demo_cache.image_path(int(row))) as image:
            probs = classifier.probs(image)
        np.testing.assert_allclose(probs, demo_cache.probs[row], atol=0.02)


def test_fold_heads_reproduce_the_out_of_fold_probabilities(demo_cache, classifier):
    """Train images were predicted by a head that never saw them; fold_head refits exactly that head."""
    s = demo_cache.samples
    train = s["split"].to_numpy() == "train"
    fold = 1
    rows = np.flatnonzero(train & (s["fold"].to_numpy() == fold))[:4]
    fold_classifier = classifier.with_head(explain.fold_head(demo_cache, fold), fold=fold)
    assert fold_classifier.fold == fold and fold_classifier.model.embedder is classifier.model.embedder
    for row in rows:
        with Image.open(demo_cache.image_path(int(row))) as image:
            np.testing.assert_allclose(fold_classifier.probs(image), demo_cache.probs[row], atol=0.02)
    with pytest.raises(explain.ExplainError, match="no train fold"):
        explain.fold_head(demo_cache, 99)


def test_missing_head_is_a_clear_error(demo_cache, tmp_path):
    with pytest.raises(explain.ExplainError, match="no trained head"):
        explain.load_classifier(backbone="efficientnet_lite0", image_size=96, head_path=tmp_path / "head.pt",
                                classes=demo_cache.classes)


# ------------------------------------------------------------------------------------------------------ maps


def test_maps_have_the_image_shape_also_when_not_square(classifier):
    image = render_scene("bar", np.random.default_rng(1), size=128).resize((160, 112))
    target = classifier.classes.index("bar")
    occlusion = explain.occlusion_map(classifier, image, target)
    gradcam = explain.gradcam_map(classifier, image, target)
    for heat in (occlusion, gradcam):
        assert heat.shape == (112, 160) and heat.dtype == np.float32
        assert np.isfinite(heat).all()
    assert 0.0 <= gradcam.min() and gradcam.max() <= 1.0 and gradcam.max() == pytest.approx(1.0, abs=1e-3)
    assert np.abs(occlusion).max() > 0
    # the model sees the centre crop (112 x 112 of 160 x 112): the side margins get no attribution
    left, top, right, bottom = explain.seen_box(image.size, classifier.image_size)
    assert (left, right) == pytest.approx((24, 136), abs=1) and (top, bottom) == pytest.approx((0, 112), abs=1)
    for heat in (occlusion, gradcam):
        assert not heat[:, :23].any() and not heat[:, 137:].any()
        assert np.abs(heat[:, 30:130]).max() > 0


@pytest.fixture(scope="module")
def corner_maps(classifier) -> list[np.ndarray]:
    """Occlusion maps of "gameroom" for six plain rooms with the pool table in the top-left corner."""
    target = classifier.classes.index("gameroom")
    return [explain.occlusion_map(classifier, corner_scene(seed), target) for seed in range(6)]


def test_maps_respond_to_the_image(classifier, corner_maps):
    target = classifier.classes.index("gameroom")
    top_left, bottom_right = corner_scene(0, (0.2, 0.2)), corner_scene(0, (0.8, 0.8))
    moved = explain.occlusion_map(classifier, bottom_right, target)
    assert moved.shape == corner_maps[0].shape == (128, 128)
    assert not np.allclose(moved, corner_maps[0], atol=1e-3)
    assert not np.allclose(corner_maps[0], corner_maps[1], atol=1e-3)  # another room, another map
    cam_a = explain.gradcam_map(classifier, top_left, target)
    cam_b = explain.gradcam_map(classifier, bottom_right, target)
    assert not np.allclose(cam_a, cam_b, atol=1e-3)
    # and to the class asked about
    other = explain.gradcam_map(classifier, top_left, classifier.classes.index("bar"))
    assert not np.allclose(cam_a, other, atol=1e-3)


def test_occlusion_peaks_where_the_class_defining_object_is(corner_maps):
    """A pool table in the top-left corner of an otherwise plain room: covering it drops "gameroom" most.

    Per image, the quadrant with the largest mean drop (a single pixel's peak is noisy: a window that covers the
    table's lower edge lands just below the middle). Measured on the 96-px test model with seeds 0..7: the
    top-left quadrant for 5 of 8 images (5 of the first 6), the other maps nearly flat (max drop < 0.07); the
    assertion allows two misses in six.
    """
    top_left = sum(int(quadrant_means(heat).argmax() == 0) for heat in corner_maps)
    assert top_left >= 4
    mean_map = np.mean(corner_maps, axis=0)
    quads = quadrant_means(mean_map)
    assert quads.argmax() == 0, quads
    assert mean_map.max() > 0.05  # a real drop in probability, not noise


def test_occlusion_geometry_and_options(classifier):
    assert explain.occlusion_geometry(224, 7) == (56, 28)  # 7 x 7 = 49 half-overlapping windows
    assert explain.occlusion_geometry(96, 7) == (24, 12)
    assert explain.occlusion_geometry(96, 3) == (48, 24)
    image = corner_scene(2)
    target = classifier.classes.index("gameroom")
    one = explain.occlusion_map(classifier, image, target, patches=3, perturbations_per_eval=1)
    batched = explain.occlusion_map(classifier, image, target, patches=3, perturbations_per_eval=16)
    np.testing.assert_allclose(one, batched, atol=1e-4)  # batching changes speed, not the result
    black = explain.occlusion_map(classifier, image, target, patches=3, baseline="black")
    assert black.shape == one.shape and not np.allclose(black, one)
    for baseline in ("mean", "blur"):
        other = explain.occlusion_map(classifier, image, target, patches=3, baseline=baseline)
        assert other.shape == one.shape and np.isfinite(other).all() and not np.allclose(other, one)
    with pytest.raises(explain.ExplainError, match="baseline"):
        explain.occlusion_map(classifier, image, target, baseline="pink")
    with pytest.raises(explain.ExplainError, match="not a class index"):
        explain.gradcam_map(classifier, image, len(classifier.classes))


def test_overlay_keeps_size_and_colours_the_hot_region():
    image = Image.new("RGB", (40, 30), (128, 128, 128))
    heat = np.zeros((30, 40), dtype=np.float32)
    heat[:10, :10] = 1.0
    out = np.asarray(explain.overlay(image, heat, alpha=0.6))
    assert out.shape == (30, 40, 3)
    assert (out[20:, 20:] == 128).all()  # zero heat leaves the image as it is
    assert out[5, 5, 0] - out[5, 5, 2] > 60 and out[5, 5, 1] < 60  # hottest = dark red in "jet"
    np.testing.assert_array_equal(explain.jet(np.array([0.0, 1.0])), [[0, 0, 128], [128, 0, 0]])
    dimmed = np.asarray(explain.overlay(image, heat, box=(10, 0, 30, 30)))
    assert (dimmed[:, 12:28] == np.asarray(explain.overlay(image, heat))[:, 12:28]).all()
    assert (dimmed[20:, 35] != 128).all()  # outside the box: dimmed


# ------------------------------------------------------------------------------------------------ neighbours


def test_nearest_training_images_known_answer():
    embeddings = np.array([
        [1.0, 0.0, 0.0],    # 0 query
        [0.9, 0.1, 0.0],    # 1 train, very close
        [10.0, 0.0, 0.1],   # 2 train, closest in angle (length does not matter)
        [0.0, 1.0, 0.0],    # 3 train, orthogonal
        [1.0, 0.0, 0.0],    # 4 test, identical but not train
        [-1.0, 0.0, 0.0],   # 5 train, opposite
        [0.0, 0.0, 0.0],    # 6 train, zero vector: skipped
    ], dtype=np.float32)
    train = np.array([True, True, True, True, False, True, True])
    table = explain.nearest_training_images(embeddings, 0, train_mask=train, k=3)
    assert list(table.columns) == ["row", "similarity"]
    assert table["row"].tolist() == [2, 1, 3]
    np.testing.assert_allclose(table["similarity"], [10 / np.sqrt(100.01), 0.9 / np.sqrt(0.82), 0.0], atol=1e-6)
    everything = explain.nearest_training_images(embeddings, 0, train_mask=train, k=10)
    assert everything["row"].tolist() == [2, 1, 3, 5]  # not the query, not test rows, not the zero vector
    # a train image never finds itself
    assert 1 not in explain.nearest_training_images(embeddings, 1, train_mask=train, k=10)["row"].tolist()


def test_nearest_training_images_bad_input():
    embeddings = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="query_row"):
        explain.nearest_training_images(embeddings, 3, train_mask=np.ones(3, bool))
    with pytest.raises(ValueError, match="train_mask"):
        explain.nearest_training_images(embeddings, 0, train_mask=np.ones(2, bool))
    empty = explain.nearest_training_images(embeddings, 0, train_mask=np.array([True, False, False]))
    assert isinstance(empty, pd.DataFrame) and empty.empty


def test_nearest_training_images_on_the_cache(demo_cache):
    train = demo_cache.samples["split"].to_numpy() == "train"
    query = int(np.flatnonzero(~train)[0])
    table = explain.nearest_training_images(demo_cache.embeddings, query, train_mask=train, k=8)
    assert len(table) == 8 and train[table["row"]].all()
    assert table["similarity"].is_monotonic_decreasing and (table["similarity"] <= 1 + 1e-6).all()


# ------------------------------------------------------------------------------------------------------ page


def test_explain_page_renders_and_explains(demo_cache_path, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    cache_path = tmp_path / "demo"
    shutil.copytree(demo_cache_path, cache_path)
    monkeypatch.setenv("INDOOR_CACHE", str(cache_path))
    monkeypatch.chdir(ROOT)
    from indoor.cache import load_cache

    cache = load_cache(cache_path)
    s = cache.samples
    wrong = s.index[s["label"] != s["pred"]]
    row = int(wrong[0]) if len(wrong) else 0
    sample_id = str(s["sample_id"].iat[row])

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.query_params = {"sample": sample_id}
    at.switch_page("pages/9_Explain.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="explain.sample").value == sample_id
    buttons = [b for b in at.button if b.label == "Explain this prediction"]
    assert len(buttons) == 1
    images_before = len(at.get("image"))
    buttons[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    captions = " ".join(c.value for c in at.caption)
    assert "Occlusion" in captions and "Grad-CAM" in captions and "share this image's given label" in captions
    assert len(at.get("image")) > images_before
    # another class: the labelled one (the radio offers predicted first, then the given label)
    radio = at.radio(key="explain.panel.class")
    assert radio.value == int(s["pred"].iat[row])
    radio.set_value(int(s["label"].iat[row])).run()
    assert not at.exception, at.exception
    assert cache.classes[int(s["label"].iat[row])] in " ".join(c.value for c in at.caption)
