"""The remedy: feature-space augmentation (``--augment``): honest out-of-fold probabilities (an image's views
never train the head that predicts it), the views themselves, the CLI options and what the build records."""

from __future__ import annotations

import numpy as np
import pytest

from indoor.model.probe import out_of_fold_probs, with_views


def test_views_of_a_held_out_image_never_train_its_head():
    rng = np.random.default_rng(0)
    n, d, classes = 300, 40, 3
    embeddings = rng.normal(size=(n, d)).astype(np.float32)
    labels = rng.integers(0, classes, n)  # random labels: nothing to learn
    exact_copies = np.repeat(embeddings[:, None, :], 2, axis=1)  # views identical to their image
    probs, fold = out_of_fold_probs(embeddings, labels, n_classes=classes, folds=3, c=10.0, progress=False,
                                    augmented=exact_copies)
    accuracy = float((probs.argmax(axis=1) == labels).mean())
    assert accuracy < 0.5  # chance is 1/3; a head fit on the held-out images' own copies would get near 1
    assert (fold >= 0).all()


def test_with_views_appends_readable_views_with_their_labels():
    embeddings = np.arange(6, dtype=np.float32).reshape(3, 2)
    views = np.stack([embeddings + 10, embeddings + 20], axis=1)
    views[1, 0] = np.nan  # an unreadable view
    x, y = with_views(embeddings, np.array([0, 1, 2]), views)
    assert len(x) == 3 + 5 and y.tolist() == [0, 1, 2, 0, 0, 1, 2, 2]
    assert np.isfinite(x).all()
    same_x, same_y = with_views(embeddings, np.array([0, 1, 2]), None)
    assert same_x is embeddings


def test_unknown_augmentation_is_a_usage_error(capsys, tmp_path):
    from indoor.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["build", "--data", str(tmp_path), "--out", str(tmp_path / "c"), "--augment", "brightness,zoom"])
    assert stop.value.code == 2
    assert "unknown augmentation 'zoom'; known: brightness" in capsys.readouterr().err


def test_an_augmented_build_records_its_views(demo_data, tmp_path):
    from indoor.cache.build import BuildOptions, build_cache
    from indoor.data.layouts import discover

    from conftest import SMALL_BUILD

    options = BuildOptions(**SMALL_BUILD, augment=("brightness", "hue"), augment_views=1, shortcut_tests=1,
                           test_images=24)
    cache = build_cache(discover(demo_data / "images"), tmp_path / "aug", options, log=lambda _: None)
    assert cache.meta["augment"] == {"kinds": ["brightness", "hue"], "views": 1, "finetune": False}
    assert cache.meta["timings"]["augment"] > 0
    assert cache.meta["probs_out_of_sample"]["train"] is True
    assert len(cache.table("shortcut_tests")) <= 1
    assert 0.5 < cache.meta["metrics"]["test"]["top1"] <= 1.0
