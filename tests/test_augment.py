"""The remedy: feature-space augmentation (``--augment``): honest out-of-fold probabilities (an image's views
never train the head that predicts it), the views themselves, erasing the directions they move the embeddings
along, the CLI options and what the build records."""

from __future__ import annotations

import numpy as np
import pytest

from indoor.model.augmented import shift_directions
from indoor.model.probe import fit_linear_head, head_probs, out_of_fold_probs, with_views


def _shortcut_data(seed: int = 0, n: int = 600, d: int = 24):
    """Class 0 is told apart by dimension 0 (content); a nuisance property along dimensions 1 and 2 (think
    brightness) also predicts class 0 in training; the views move each image along the nuisance only."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = rng.normal(size=(n, d))
    x[:, 0] += 2.0 * (labels == 0)
    x[:, 1] += 3.0 * (labels == 0)  # the shortcut
    x[:, 2] += 1.5 * (labels == 0)
    nuisance = np.zeros(d)
    nuisance[1:3] = [2.0, 1.0]
    views = x[:, None, :] + rng.uniform(-2, 2, size=(n, 2, 1)) * nuisance
    return x.astype(np.float32), labels, views.astype(np.float32), nuisance


def test_erase_makes_the_head_blind_to_what_the_views_change():
    x, labels, views, nuisance = _shortcut_data()
    plain = fit_linear_head(x, labels, n_classes=3)
    erased = fit_linear_head(x, labels, n_classes=3, augmented=views, augment_mode="erase", erase_directions=1)
    moved = x + 1.5 * nuisance.astype(np.float32)  # the property pushed towards class 0, the content unchanged
    gain = lambda head: float((head_probs(head, moved)[:, 0] - head_probs(head, x)[:, 0]).mean())  # noqa: E731
    assert gain(plain) > 0.1  # the plain head took the shortcut
    assert abs(gain(erased)) < 1e-4  # the erased head cannot see the property at all
    held_out, held_labels, _, _ = _shortcut_data(seed=1)
    found = head_probs(erased, held_out).argmax(1) == 0
    assert float((found == (held_labels == 0)).mean()) > 0.75  # class 0 is still found, by its content


def test_shift_directions_are_the_principal_directions_of_the_views_moves():
    x, _, views, nuisance = _shortcut_data()
    (direction,) = shift_directions(x, views, 1).T
    assert abs(abs(direction @ nuisance) / np.linalg.norm(nuisance) - 1) < 1e-6
    views[3, 1] = np.nan  # an unreadable view is skipped
    basis = shift_directions(x, views, 3)
    assert basis.shape == (24, 1) or np.allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-8)
    assert shift_directions(x[:0], views[:0], 4).shape == (24, 0)


def test_unknown_augment_mode_is_refused():
    x, labels, views, _ = _shortcut_data()
    with pytest.raises(ValueError, match="augment_mode must be one of erase, views, both"):
        fit_linear_head(x, labels, n_classes=3, augmented=views, augment_mode="mix")
    with pytest.raises(ValueError, match="augment_mode must be one of"):
        fit_linear_head(x, labels, n_classes=3, augmented=views, augment_mode="auto")  # the build's choice, not a fit


@pytest.mark.parametrize("mode", ["views", "erase", "both"])
def test_views_of_a_held_out_image_never_train_its_head(mode):
    rng = np.random.default_rng(0)
    n, d, classes = 300, 40, 3
    embeddings = rng.normal(size=(n, d)).astype(np.float32)
    labels = rng.integers(0, classes, n)  # random labels: nothing to learn
    near_copies = embeddings[:, None, :] + rng.normal(scale=0.01, size=(n, 2, d)).astype(np.float32)
    probs, fold = out_of_fold_probs(embeddings, labels, n_classes=classes, folds=3, c=10.0, progress=False,
                                    augmented=near_copies, augment_mode=mode, erase_directions=4)
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
    with pytest.raises(SystemExit) as stop:
        main(["build", "--data", str(tmp_path), "--out", str(tmp_path / "c"), "--augment", "brightness",
              "--augment-mode", "mix"])
    assert stop.value.code == 2 and "invalid choice: 'mix'" in capsys.readouterr().err


def test_an_augmented_build_records_its_views(demo_data, tmp_path):
    from indoor.cache.build import BuildOptions, build_cache
    from indoor.data.layouts import discover

    from conftest import SMALL_BUILD

    options = BuildOptions(**SMALL_BUILD, augment=("brightness", "hue"), augment_views=1, shortcut_tests=1,
                           test_images=24)
    cache = build_cache(discover(demo_data / "images"), tmp_path / "aug", options, log=lambda _: None)
    augment = cache.meta["augment"]  # --augment-mode auto: erase and views fit, the better out-of-fold kept
    assert {k: augment[k] for k in ("kinds", "views", "requested_mode", "finetune")} == {
        "kinds": ["brightness", "hue"], "views": 1, "requested_mode": "auto", "finetune": False}
    scores = augment["out_of_fold_top1"]
    assert set(scores) == {"erase", "views"} and augment["mode"] == max(scores, key=lambda m: (scores[m], m == "erase"))
    assert augment["erase_directions"] == (16 if augment["mode"] == "erase" else 0)
    train = cache.samples["split"] == "train"
    oof = float((cache.probs[train.to_numpy()].argmax(axis=1) == cache.samples.loc[train, "label"].to_numpy()).mean())
    assert oof == pytest.approx(scores[augment["mode"]], abs=1e-3)  # the train probabilities are the kept fit's
    from indoor.app.widgets.run_info import metadata_rows

    shown = dict(metadata_rows(cache))["Augmentation"]  # the Overview's run metadata says how the head was fit
    assert f"mode: {augment['mode']}" in shown and "chosen by auto: out-of-fold top-1 erase" in shown
    assert cache.meta["timings"]["augment"] > 0
    assert cache.meta["probs_out_of_sample"]["train"] is True
    from indoor.model.shortcut_test import REPEAT_BUDGET

    tests = cache.table("shortcut_tests")  # the top finding, and its repeats through other properties
    findings = cache.table("shortcut_findings")
    if (findings["rank"] > 0).any():  # the augmented model may well have no finding left on 180 images
        assert 1 <= len(tests) <= 1 + REPEAT_BUDGET and tests["class"].nunique() == 1
    else:
        assert tests.empty
    assert 0.5 < cache.meta["metrics"]["test"]["top1"] <= 1.0
