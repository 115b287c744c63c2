"""Multi-class candidates from region evidence: crop geometry and scoring with the real backbone
(indoor/model/regions.py), the pure candidate rule (indoor/analysis/multiclass.py), the stored table and the view
on the Label issues page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indoor.analysis import multiclass
from indoor.analysis.multiclass import REGION_COLUMNS, reference_rows, region_candidates, region_pool


def _regions(spec: dict[int, list[tuple[int, float]]]) -> pd.DataFrame:
    """A region table from {row: [(top class, its probability) per crop]} (second and third classes filler)."""
    records = []
    for row, crops in spec.items():
        for k, (cls, p) in enumerate(crops):
            records.append({"row": row, "region": f"crop {k}", "x0": 0.0, "y0": 0.0, "x1": 0.5, "y1": 0.5,
                            "class_1": cls, "p_1": p, "class_2": (cls + 1) % 4, "p_2": (1 - p) / 2,
                            "class_3": (cls + 2) % 4, "p_3": (1 - p) / 4})
    return pd.DataFrame(records)[REGION_COLUMNS]


def _probs(rows: dict[int, list[float]], n: int = 6) -> np.ndarray:
    probs = np.tile([0.97, 0.01, 0.01, 0.01], (n, 1))
    for row, p in rows.items():
        probs[row] = p
    return probs


def test_two_confident_regions_of_two_classes_make_a_candidate():
    regions = _regions({
        0: [(0, 0.9), (1, 0.8), (0, 0.7)],  # a kitchen on the left, a dining room on the right
        1: [(0, 0.9), (0, 0.8), (0, 0.95)],  # every crop agrees
        2: [(0, 0.9), (2, 0.9)],  # crops disagree, but the whole image is sure
        3: [(2, 0.9), (3, 0.85)],  # two look-alike classes (one group): a merge question
        4: [(0, 0.9), (1, 0.3)],  # the second region is not confident
        5: [(1, 0.6), (3, 0.6)],  # a weaker but real candidate, the whole image less uncertain
    })
    probs = _probs({0: [0.45, 0.45, 0.05, 0.05], 1: [0.5, 0.3, 0.1, 0.1], 3: [0.05, 0.05, 0.5, 0.4],
                    4: [0.5, 0.4, 0.05, 0.05], 5: [0.1, 0.7, 0.1, 0.1]})
    labels = np.array([0, 0, 0, 2, 0, 1])
    groups = np.array([0, 1, 2, 2])
    table = region_candidates(regions, labels, probs, class_groups=groups, min_region=0.5)
    assert list(table.columns) == multiclass.CANDIDATE_COLUMNS + multiclass.REGION_CANDIDATE_COLUMNS
    assert table["row"].tolist() == [0, 5]
    first = table.iloc[0]
    assert (first["class_a"], first["class_b"], first["region_a"], first["region_b"]) == (0, 1, "crop 0", "crop 1")
    assert first["p_region_a"] == pytest.approx(0.9) and first["p_region_b"] == pytest.approx(0.8)
    assert first["p_a"] == pytest.approx(0.45) and first["evidence"] == "regions"
    entropy = -(probs[0] * np.log(probs[0])).sum() / np.log(4)
    assert first["score"] == pytest.approx(0.8 * entropy)
    # without class groups the look-alike pair is a candidate too
    assert 3 in region_candidates(regions, labels, probs, min_region=0.5)["row"].tolist()
    # a pair the model often mixes up (confused_pairs) is no evidence either way round: kitchen / dining room here
    confused = np.zeros((4, 4), dtype=bool)
    confused[0, 1] = confused[1, 0] = True
    assert region_candidates(regions, labels, probs, class_groups=groups, min_region=0.5,
                             confused_pairs=confused)["row"].tolist() == [5]
    # an empty region table gives an empty candidate table with the same columns
    empty = region_candidates(multiclass.empty_regions(), labels, probs)
    assert empty.empty and list(empty.columns) == list(table.columns)


def test_the_pool_is_the_least_sure_images_within_the_budget():
    probs = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3], [0.6, 0.4], [0.99, 0.01]])
    labels = np.zeros(5, int)
    assert region_pool(labels, probs, max_confidence=0.8).tolist() == [1, 3, 2]
    assert region_pool(labels, probs, max_confidence=0.8, max_images=2).tolist() == [1, 3]
    assert region_pool(labels, probs, max_confidence=0.5).tolist() == []
    with pytest.raises(ValueError):
        region_pool(labels[:3], probs)


def test_region_boxes_are_square_grid_windows_and_the_centre():
    from indoor.model.regions import region_boxes

    boxes, names = region_boxes(300, 200, grid=2, window=0.5)
    assert names == ["grid 1,1", "grid 1,2", "grid 2,1", "grid 2,2", "centre"]
    assert boxes.shape == (5, 4) and (boxes >= 0).all() and (boxes <= 1).all()
    side_px = (boxes[:, 2] - boxes[:, 0]) * 300
    assert side_px == pytest.approx(np.full(5, 100.0)) and (boxes[:, 3] - boxes[:, 1]) * 200 == pytest.approx(side_px)
    assert boxes[0, :2].tolist() == [0.0, 0.0] and boxes[3, 2:].tolist() == pytest.approx([1.0, 1.0])
    assert boxes[4].tolist() == pytest.approx([1 / 3, 0.25, 2 / 3, 0.75])
    with pytest.raises(ValueError):
        region_boxes(10, 10, window=1.5)


def test_build_tables_use_the_region_evidence_when_given(demo_cache):
    from indoor.analysis.tables import build_tables

    samples, probs = demo_cache.samples, np.asarray(demo_cache.probs)
    unsure = np.flatnonzero(probs.max(axis=1) < 0.8)[:2]
    if len(unsure) < 2:
        pytest.skip("the small demo has fewer than two unsure images")
    labels = samples["label"].to_numpy()
    others = [c for c in range(len(demo_cache.classes)) if c != labels[unsure[0]]]
    regions = _regions({int(unsure[0]): [(int(labels[unsure[0]]), 0.9), (others[0], 0.9)],
                        int(unsure[1]): [(0, 0.9), (0, 0.9)]})
    with_regions = build_tables(samples, probs, np.asarray(demo_cache.embeddings), demo_cache.classes, regions=regions)
    assert len(with_regions["regions"]) == 4
    candidates = with_regions["multiclass"]
    assert (candidates["evidence"] == "regions").all()
    assert set(candidates["row"]) <= {int(unsure[0])}
    without = build_tables(samples, probs, np.asarray(demo_cache.embeddings), demo_cache.classes)
    assert without["regions"].empty and list(without["regions"].columns) == REGION_COLUMNS
    assert (without["multiclass"]["evidence"] == "probabilities").all()


def test_region_evidence_scores_crops_with_the_real_backbone(demo_cache):
    """The real backbone and the cache's head on a few crops; train rows use their own fold's head."""
    import torch

    from indoor.model.backbones import create_backbone
    from indoor.model.probe import LinearHead
    from indoor.model.regions import region_evidence

    meta, samples = demo_cache.meta, demo_cache.samples
    backbone = create_backbone(meta["backbone"]["name"], image_size=int(meta["image_size"]))
    head = LinearHead(backbone.embedding_dim, len(demo_cache.classes))
    head.load_state_dict(torch.load(demo_cache.head_path, weights_only=True))
    probs = np.asarray(demo_cache.probs, float)
    table, stats = region_evidence(
        backbone, samples["path"].tolist(), labels=samples["label"].to_numpy(), probs=probs,
        embeddings=np.asarray(demo_cache.embeddings), split=samples["split"].to_numpy(),
        fold=samples["fold"].to_numpy(), head=head, head_c=float(meta["head"]["C"]), max_crops=15,
        suspect_crops=0, max_confidence=1.01, workers=0)
    assert list(table.columns) == REGION_COLUMNS
    assert stats["images"] == 3 and stats["crops"] == 15 and stats["skipped"] == 0
    assert table["row"].tolist() == np.repeat(region_pool(samples["label"], probs, max_confidence=1.01)[:3], 5).tolist()
    assert (table["p_1"] >= table["p_2"]).all() and (table["p_2"] >= table["p_3"]).all()
    assert table["class_1"].between(0, len(demo_cache.classes) - 1).all()
    assert not np.allclose(table.groupby("row")["p_1"].std().fillna(0), 0)  # five different views per image
    # this small demo's model is sure of too few train images of some classes: the whole-image heads scored
    assert stats["scored_by"] == "whole-image heads" and stats["reference_images"] == 0


def test_region_head_scores_crops_when_every_class_has_reference_images(demo_cache):
    """The region head with the real backbone: fit on crops of sure, correctly predicted train images outside the
    pool, it scores the pool's crops (other probabilities than the whole-image heads give the same boxes)."""
    import torch

    from indoor.model.backbones import create_backbone
    from indoor.model.probe import LinearHead
    from indoor.model.regions import region_evidence

    meta, samples = demo_cache.meta, demo_cache.samples
    backbone = create_backbone(meta["backbone"]["name"], image_size=int(meta["image_size"]))
    head = LinearHead(backbone.embedding_dim, len(demo_cache.classes))
    head.load_state_dict(torch.load(demo_cache.head_path, weights_only=True))
    labels, split = samples["label"].to_numpy(), samples["split"].to_numpy()
    probs = np.asarray(demo_cache.probs, float).copy()
    train = split == "train"
    probs[train] = 0.02 / (probs.shape[1] - 1)  # a model sure of every train image: each class has references
    probs[np.flatnonzero(train), labels[train]] = 0.98
    common = dict(labels=labels, probs=probs, embeddings=np.asarray(demo_cache.embeddings), split=split,
                  fold=samples["fold"].to_numpy(), head=head, head_c=float(meta["head"]["C"]), max_crops=15,
                  suspect_crops=0, max_confidence=0.8, workers=0)
    table, stats = region_evidence(backbone, samples["path"].tolist(), reference_crops=5 * 3 * len(demo_cache.classes),
                                   **common)
    pool = region_pool(labels, probs, max_confidence=0.8)[:3]
    assert table["row"].tolist() == np.repeat(pool, 5).tolist() and not train[pool].any()
    assert stats["scored_by"] == "region head" and stats["region_head_c"] in (0.05, 0.2)
    assert stats["reference_images"] == 3 * len(set(labels[train])) and stats["reference_crops"] == 5 * 3 * 10
    assert (table["p_1"] >= table["p_2"]).all() and table["class_1"].between(0, len(demo_cache.classes) - 1).all()

    whole, whole_stats = region_evidence(backbone, samples["path"].tolist(), reference_crops=0, **common)
    assert whole_stats["scored_by"] == "whole-image heads" and whole_stats["reference_images"] == 0
    assert whole["row"].tolist() == table["row"].tolist()
    assert np.allclose(whole[["x0", "y0", "x1", "y1"]], table[["x0", "y0", "x1", "y1"]])
    assert not np.allclose(whole["p_1"], table["p_1"])


def test_reference_rows_are_sure_correct_train_images_outside_the_pool():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 0])
    probs = np.full((10, 3), 0.05)
    probs[np.arange(10), [0, 0, 0, 1, 1, 1, 1, 2, 2, 0]] = 0.9
    probs[2] = [0.6, 0.3, 0.1]  # unsure
    split = np.array(["train"] * 9 + ["test"])
    rows = reference_rows(labels, probs, split, np.array([1]), per_class=5, max_images=100)
    # 1 excluded (the pool), 2 unsure, 3 predicted as another class, 9 not train
    assert rows.tolist() == [0, 4, 5, 6, 7, 8]
    capped = reference_rows(labels, probs, split, np.array([1]), per_class=2, max_images=100)
    assert np.bincount(labels[capped]).tolist() == [1, 2, 2]
    even = reference_rows(labels, probs, split, np.array([], dtype=int), per_class=5, max_images=3)
    assert np.bincount(labels[even], minlength=3).tolist() == [1, 1, 1]  # max_images split over the classes
    assert even.tolist() == reference_rows(labels, probs, split, np.array([], dtype=int), per_class=5,
                                           max_images=3).tolist()  # seeded
    assert reference_rows(labels, probs, split, np.array([1]), per_class=0, max_images=10).tolist() == []
    with pytest.raises(ValueError):
        reference_rows(labels[:5], probs, split, np.array([1]), per_class=2, max_images=10)


def test_region_head_learns_crops_and_picks_c_by_held_out_loss():
    from indoor.model.probe import head_probs
    from indoor.model.regions import fit_region_head

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    labels = np.repeat(np.arange(3), 8)
    whole = centres[labels] + rng.normal(size=(24, 16))
    crops = centres[labels][:, None, :] + rng.normal(size=(24, 5, 16)) * 2  # crops: noisier views of the class
    head, c = fit_region_head(crops, whole, labels, n_classes=4, c_grid=(0.05, 0.2), seed=0)
    assert c in (0.05, 0.2)
    test = centres[[0, 1, 2]] + rng.normal(size=(3, 16)) * 2
    probs = head_probs(head, test)
    assert probs.shape == (3, 4) and probs.argmax(axis=1).tolist() == [0, 1, 2]
    assert probs[:, 3].max() < 1e-6  # a class without reference images is never predicted
    only, c_only = fit_region_head(crops, whole, labels, n_classes=3, c_grid=(0.5,))
    assert c_only == 0.5
    with pytest.raises(ValueError):
        fit_region_head(crops[:5], whole, labels, n_classes=3)


def test_the_demo_build_stores_region_evidence(demo_cache):
    stats = demo_cache.meta.get("regions")
    assert stats is not None and stats["crops"] == 5 * stats["images"]
    # the region head only when every trained class has MIN_REFERENCE sure, correctly predicted train images
    from indoor.model.regions import MIN_REFERENCE, REFERENCE_CROPS, REFERENCE_PER_CLASS

    samples, probs = demo_cache.samples, np.asarray(demo_cache.probs, float)
    labels, split = samples["label"].to_numpy(), samples["split"].to_numpy()
    pool = np.unique(demo_cache.table("regions")["row"])
    reference = reference_rows(labels, probs, split, pool, per_class=REFERENCE_PER_CLASS,
                               max_images=REFERENCE_CROPS // 5)
    enough = (np.bincount(labels[reference], minlength=probs.shape[1])[np.unique(labels[split == "train"])]
              >= MIN_REFERENCE).all()
    assert stats["scored_by"] == ("region head" if enough else "whole-image heads")
    assert stats["reference_crops"] == 5 * stats["reference_images"] == (5 * len(reference) if enough else 0)
    regions = demo_cache.table("regions")
    crops, halves = multiclass.split_regions(regions)
    assert list(regions.columns) == REGION_COLUMNS and len(crops) == stats["crops"]
    assert (demo_cache.table("multiclass")["evidence"] == "regions").all()
    # every image has its four halves when the halves head had references, else none and why
    halves_stats = stats["halves"]
    if enough:
        assert halves_stats["scored_by"] == "halves head" and len(halves) == 4 * halves_stats["images"]
        assert set(halves["row"]) == set(range(len(samples)))  # every image, the cropped ones too
    else:
        assert halves.empty and halves_stats["scored_by"] is None and "fewer than" in halves_stats["reason"]
    assert not list(demo_cache.path.rglob("*.tmp.npy"))  # the halves' scratch file is gone


def test_label_issues_page_outlines_the_regions(monkeypatch, shared_copy):
    from indoor.cache import load_cache
    from tests.test_analysis_pages import open_page

    candidates = load_cache(shared_copy).table("multiclass")
    at = open_page(monkeypatch, shared_copy, "pages/5_Label_issues.py", tab="multi")
    assert not at.exception
    if candidates.empty:
        assert any("No multi-class candidate" in i.value for i in at.info)
        return
    assert any("two regions confidently predict" in c.value for c in at.caption)
    captions = [img.proto.imgs[0].caption for img in at.get("image") if img.proto.imgs]
    assert any("whole image" in caption and "given" in caption for caption in captions), captions  # outlined image
    assert any("region" in df.value.columns for df in at.dataframe)  # the crops' classes


def test_analyze_keeps_the_region_evidence(own_copy):
    """`indoor analyze` recomputes the tables from the stored arrays: the stored crops' scores stay, and the
    candidates are still judged on them."""
    from indoor.cache import load_cache
    from indoor.cli import main

    before = load_cache(own_copy).table("regions")
    assert main(["analyze", str(own_copy), "--shortcut-tests", "0"]) == 0
    cache = load_cache(own_copy)
    assert len(cache.table("regions")) == len(before)
    assert (cache.table("multiclass")["evidence"] == "regions").all()


def test_a_rejected_label_that_a_crop_still_shows_is_a_two_class_candidate():
    """Sure of the whole image (so region_candidates skips it), but one crop shows the given label and another
    the class the model predicts: a candidate, scored and ordered like the region candidates."""
    from indoor.analysis.label_evidence import two_class_suspects
    from indoor.analysis.multiclass import CANDIDATE_COLUMNS, REGION_CANDIDATE_COLUMNS, two_class_candidates

    labels, suggested = np.array([0, 0, 1, 2, 3, 3]), np.array([1, 1, 2, 2, 0, 0])
    probs = _probs({0: [0.01, 0.97, 0.01, 0.01], 1: [0.02, 0.96, 0.01, 0.01], 2: [0.01, 0.02, 0.96, 0.01]})
    regions = _regions({0: [(1, 0.9), (0, 0.7)], 1: [(1, 0.95), (1, 0.9)], 2: [(2, 0.8), (1, 0.99)]})
    assert region_candidates(regions, labels, probs).empty  # the model is sure of every whole image
    table = two_class_candidates(np.array([0, 1, 2]), labels, suggested, probs, regions)
    assert list(table.columns) == CANDIDATE_COLUMNS + REGION_CANDIDATE_COLUMNS
    assert table["row"].tolist() == [2, 0]  # row 1's crops never show its label 0
    first = table.set_index("row").loc[2]
    assert (first["class_a"], first["class_b"]) == (1, 2)  # the surer crop's class first
    assert first["p_region_a"] == pytest.approx(0.99) and first["p_region_b"] == pytest.approx(0.8)
    assert first["p_a"] == pytest.approx(0.02) and first["evidence"] == "regions"
    assert table["score"].is_monotonic_decreasing
    issues = pd.DataFrame({"label": labels, "suggested": suggested, "is_suspect": [True, True, True, True, False, True],
                           "probe_self_confidence": [0.01, 0.01, 0.2, 0.01, 0.01, 0.01],
                           "knn_self_confidence": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]})
    # row 2: the probe keeps 20 % on its label (not both judges reject it); rows 3-5 have no crops of both
    # the pair's confusion is judged on the whole data set: 50 more correctly predicted images of each class
    many_labels = np.concatenate([labels, np.repeat(np.arange(4), 50)])
    many_probs = np.concatenate([probs, np.eye(4)[np.repeat(np.arange(4), 50)] * 0.9 + 0.025])
    many_issues = pd.concat([issues, pd.DataFrame({"label": many_labels[6:], "suggested": many_labels[6:],
                                                   "is_suspect": False, "probe_self_confidence": 0.9,
                                                   "knn_self_confidence": 0.9})], ignore_index=True)
    expected = [True] + [False] * (len(many_labels) - 1)
    assert two_class_suspects(many_issues, regions, many_probs).tolist() == expected
    assert not two_class_suspects(many_issues, None, many_probs).any()
    # on the six images alone, classes 0 and 1 are mixed up for 2 of their 3 images: no two-class scene
    assert not two_class_suspects(issues, regions, probs).any()


# ------------------------------------------------------------------ halves of the feature map (every image)


def test_halves_embedder_gives_the_embedding_and_the_halves_of_the_real_backbone(demo_cache):
    """EfficientNet-Lite0's halves: its own embedding first (the same numbers as the plain embedder), then the mean
    feature over the left, right, top and bottom of the last feature map; a picture made of two images' halves has
    each half nearer to the image it came from."""
    import torch
    from PIL import Image

    from indoor.model.backbones import create_backbone
    from indoor.model.halves import halves_embedder

    backbone = create_backbone("efficientnet_lite0", image_size=160)
    paths = demo_cache.samples["path"].tolist()
    left, right = Image.open(paths[0]).convert("RGB"), Image.open(paths[-1]).convert("RGB").resize((256, 256))
    left = left.resize((256, 256))
    both = left.copy()
    both.paste(right.crop((128, 0, 256, 256)), (128, 0))
    batch = torch.stack([backbone.preprocess(image) for image in (left, right, both)])
    module = halves_embedder(backbone, batch)
    assert module is not None
    with torch.no_grad():
        out, plain = module(batch), backbone.embedder(batch)
    assert out.shape == (3, 5, backbone.embedding_dim)
    assert torch.allclose(out[:, 0], plain, atol=1e-5)

    def cos(a, b):
        return float(torch.nn.functional.cosine_similarity(a, b, dim=0))

    composite_left, composite_right = out[2, 1], out[2, 2]
    assert cos(composite_left, out[0, 0]) > cos(composite_left, out[1, 0])
    assert cos(composite_right, out[1, 0]) > cos(composite_right, out[0, 0])
    # an embedder that is not a CNN's pooled feature map has no halves
    from dataclasses import replace

    flat = replace(backbone, embedder=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(8)))
    assert halves_embedder(flat, batch) is None


def test_the_feature_pass_streams_the_halves_beside_unchanged_embeddings(demo_cache, tmp_path):
    from indoor.model.backbones import create_backbone
    from indoor.model.features import extract_features

    backbone = create_backbone("efficientnet_lite0", image_size=96)
    paths = demo_cache.samples["path"].tolist()[:12]
    plain = extract_features(paths, backbone, workers=0, batch_size=5, extras=False, progress=False)
    with_halves = extract_features(paths, backbone, workers=0, batch_size=5, extras=False, progress=False,
                                   halves_to=tmp_path / "halves.tmp.npy", chunk_rows=4)
    assert plain.halves is None
    assert np.allclose(with_halves.embeddings, plain.embeddings, atol=1e-4)
    halves = with_halves.halves
    assert halves.shape == (12, 4 * backbone.embedding_dim) and halves.dtype == np.float16
    assert np.isfinite(halves).all() and (tmp_path / "halves.tmp.npy").exists()
    per_half = np.asarray(halves, dtype=np.float32).reshape(12, 4, -1)
    assert not np.allclose(per_half[:, 0], per_half[:, 1], atol=1e-2)  # left and right differ
    # the reused forward (crops, views, shortcut tests) still gives the plain (B, D) embedding
    import torch

    batch = torch.stack([backbone.preprocess(__import__("PIL.Image").Image.open(p).convert("RGB")) for p in paths[:2]])
    assert tuple(with_halves.forward(batch).shape) == (2, backbone.embedding_dim)


def test_half_boxes_cover_the_square_the_model_sees():
    from indoor.model.halves import half_boxes

    boxes = half_boxes(np.array([200.0, 100.0]), np.array([100.0, 100.0]))
    # a 200 x 100 image: the model sees the centre 100 x 100 square, x from 50 to 150
    assert boxes.shape == (2, 4, 4)
    assert boxes[0, 0].tolist() == pytest.approx([0.25, 0.0, 0.45, 1.0])  # left 40 %
    assert boxes[0, 1].tolist() == pytest.approx([0.55, 0.0, 0.75, 1.0])  # right
    assert boxes[0, 2].tolist() == pytest.approx([0.25, 0.0, 0.75, 0.4])  # top
    assert boxes[1, 3].tolist() == pytest.approx([0.0, 0.6, 1.0, 1.0])  # bottom of a square image
    assert half_boxes(np.array([100.0]), np.array([100.0]), crop_pct=0.5)[0, 0].tolist() == pytest.approx(
        [0.25, 0.25, 0.45, 0.75])


def _half_world(seed: int = 0):
    """Synthetic halves: 3 classes, 60 images each; every image's four halves and embedding near its class centre,
    except row 5 (class 0), whose right half is a class 2 scene, and row 7, which the crops covered."""
    rng = np.random.default_rng(seed)
    dim, n_classes = 12, 3
    centres = rng.normal(size=(n_classes, dim)) * 4
    labels = np.repeat(np.arange(n_classes), 60)
    halves = centres[labels][:, None, :] + rng.normal(size=(len(labels), 4, dim))
    halves[5, 1] = centres[2] + rng.normal(size=dim)  # the right half shows class 2
    embeddings = halves.mean(axis=1)
    probs = np.full((len(labels), n_classes), 0.01)
    probs[np.arange(len(labels)), labels] = 0.98  # sure of every image, row 5 included
    split = np.where(np.arange(len(labels)) % 4 == 0, "test", "train")
    return halves.reshape(len(labels), -1).astype(np.float16), labels, probs, embeddings.astype(np.float32), split


def test_half_evidence_finds_a_two_class_scene_the_model_is_sure_of():
    from indoor.analysis.multiclass import HALVES, half_candidates
    from indoor.model.halves import half_evidence

    halves, labels, probs, embeddings, split = _half_world()
    sizes = np.tile([160.0, 120.0], (len(labels), 1))
    table, stats = half_evidence(halves, labels=labels, probs=probs, embeddings=embeddings, split=split,
                                 sizes=sizes, pool=np.array([7]), reference_images=60, seed=0)
    assert list(table.columns) == REGION_COLUMNS
    assert stats["scored_by"] == "halves head" and stats["reference_images"] == 60
    assert stats["images"] == len(labels) and set(table["row"]) == set(range(len(labels)))  # every image
    _, pool_stats = half_evidence(halves, labels=labels, probs=probs, embeddings=embeddings, split=split,
                                  sizes=sizes, pool=np.flatnonzero(labels == 0)[:50], reference_images=180)
    assert pool_stats["reference_images"] == 8 + 30 + 30  # class 0: its 8 training images outside the pool
    assert all(tuple(names) == HALVES for names in table.groupby("row")["region"].apply(list))
    five = table[table["row"] == 5].set_index("region")
    assert five.loc["right half", "class_1"] == 2 and five.loc["left half", "class_1"] == 0
    candidates = half_candidates(table, labels, probs, min_region=0.8)
    assert candidates["row"].tolist() == [5]
    first = candidates.iloc[0]
    assert (first["class_a"], first["class_b"]) in ((0, 2), (2, 0))
    assert "right half" in (first["region_a"], first["region_b"])
    # a source map: the halves of row i are in row source_rows[i] (the feature pass kept unreadable rows)
    shifted = np.concatenate([np.zeros((1, halves.shape[1]), np.float16), halves])
    again, _ = half_evidence(shifted, labels=labels, probs=probs, embeddings=embeddings, split=split, sizes=sizes,
                             pool=np.array([7]), source_rows=np.arange(1, len(labels) + 1), reference_images=60)
    assert np.allclose(again["p_1"], table["p_1"]) and again["class_1"].tolist() == table["class_1"].tolist()
    # too few sure training images in a class: no head, no evidence, and why
    unsure = probs.copy()
    unsure[labels == 1] = [0.3, 0.4, 0.3]
    empty, why = half_evidence(halves, labels=labels, probs=unsure, embeddings=embeddings, split=split, sizes=sizes,
                               pool=np.array([], dtype=int), reference_images=60)
    assert empty.empty and why["scored_by"] is None and "fewer than" in why["reason"]
    with pytest.raises(ValueError):
        half_evidence(halves[:, :-1], labels=labels, probs=probs, embeddings=embeddings, split=split, sizes=sizes,
                      pool=np.array([], dtype=int))


def test_half_evidence_scores_a_reference_image_with_a_head_that_never_saw_it():
    """A reference image whose halves all say "class 1" while its label is 0 (a planted wrong label among the
    sure ones): the head fit on it would echo its label; the head of the other half of the references does not."""
    from indoor.analysis.multiclass import reference_rows
    from indoor.model.halves import half_evidence
    from indoor.model.regions import REFERENCE_PER_CLASS

    halves, labels, probs, _, split = _half_world(seed=1)
    reference = reference_rows(labels, probs, split, np.array([], dtype=int), per_class=REFERENCE_PER_CLASS,
                               max_images=90, seed=0)
    row = int(reference[labels[reference] == 0][0])
    world = halves.astype(np.float32).reshape(len(labels), 4, -1)
    # class 1 seen through something no other image has: only its own label (0) can teach a head what that means
    unique = np.random.default_rng(2).normal(size=world.shape[2])
    world[row] = world[labels == 1].mean(axis=0) + 2 * unique / np.linalg.norm(unique) * np.sqrt(world.shape[2])
    table, _ = half_evidence(world.reshape(len(labels), -1).astype(np.float16), labels=labels, probs=probs,
                             embeddings=world.mean(axis=1), split=split, sizes=np.tile([100.0, 100.0], (len(labels), 1)),
                             pool=np.array([], dtype=int), reference_images=90, seed=0)
    assert (table[table["row"] == row]["class_1"] == 1).all()


def test_build_tables_take_halves_as_multi_class_evidence_only(demo_cache):
    """Half rows add candidates among images no crop covers; the label-issue judges only read crops."""
    from indoor.analysis.multiclass import HALVES
    from indoor.analysis.tables import build_tables

    samples, probs = demo_cache.samples, np.asarray(demo_cache.probs, float)
    labels = samples["label"].to_numpy()
    sure = np.flatnonzero(probs.max(axis=1) >= 0.9)
    row = int(sure[0])
    other = (int(labels[row]) + 3) % len(demo_cache.classes)
    halves = _regions({row: [(int(labels[row]), 0.95), (other, 0.9), (int(labels[row]), 0.9), (other, 0.6)]})
    halves["region"] = list(HALVES)
    tables = build_tables(samples, probs, np.asarray(demo_cache.embeddings), demo_cache.classes, regions=halves)
    candidates = tables["multiclass"]
    assert candidates["row"].tolist() == [row]
    first = candidates.iloc[0]
    assert (first["region_a"], first["region_b"]) == ("left half", "right half") and first["evidence"] == "regions"
    assert len(tables["regions"]) == 4
    assert tables["label_issues"]["crop_self_confidence"].isna().all()  # the halves are no judge of a label
    weak = halves.assign(p_1=[0.95, 0.7, 0.9, 0.6])  # the other class's half under HALF_MIN_REGION
    assert build_tables(samples, probs, np.asarray(demo_cache.embeddings), demo_cache.classes,
                        regions=weak)["multiclass"].empty


def test_real_halves_scored_by_the_halves_head_show_their_image_class(demo_cache, tmp_path):
    """The build's path with the real backbone: the feature pass's halves of every demo image, a model sure of every
    training image (so each class has references), the halves head fit on them: most halves of the test images
    predict the image's own class (a half shows its scene)."""
    from indoor.model.backbones import create_backbone
    from indoor.model.features import extract_features
    from indoor.model.halves import half_evidence

    samples = demo_cache.samples
    backbone = create_backbone("efficientnet_lite0", image_size=int(demo_cache.meta["image_size"]))
    features = extract_features(samples["path"].tolist(), backbone, workers=0, extras=False, progress=False,
                                halves_to=tmp_path / "halves.tmp.npy")
    labels, split = samples["label"].to_numpy(), samples["split"].to_numpy()
    probs = np.full((len(labels), len(demo_cache.classes)), 0.02 / (len(demo_cache.classes) - 1))
    probs[np.arange(len(labels)), labels] = 0.98
    table, stats = half_evidence(features.halves, labels=labels, probs=probs, embeddings=features.embeddings,
                                 split=split, sizes=samples[["width", "height"]].to_numpy(float),
                                 pool=np.array([0, 1]), seed=0)
    assert stats["scored_by"] == "halves head" and stats["images"] == len(labels)
    test = table[split[table["row"].to_numpy()] == "test"]
    assert len(test) and (test["class_1"].to_numpy() == labels[test["row"].to_numpy()]).mean() > 0.6


def test_candidates_rank_higher_when_the_halves_show_both_classes():
    """A second view: of two crop candidates with the same score, the one whose halves also show both classes
    comes first; a class outside a half's stored top 3 counts its share of the rest; no halves, no change."""
    regions = _regions({0: [(0, 0.9), (1, 0.8)], 1: [(0, 0.9), (1, 0.8)]})
    probs = _probs({0: [0.45, 0.45, 0.05, 0.05], 1: [0.45, 0.45, 0.05, 0.05]}, n=2)
    candidates = multiclass.region_candidates(regions, np.array([0, 0]), probs, min_region=0.5)
    assert candidates["row"].tolist() == [0, 1]  # a tie: by row
    halves = _regions({0: [(0, 0.9), (2, 0.9), (0, 0.8), (3, 0.7)],  # row 0's halves never show class 1
                       1: [(0, 0.6), (1, 0.64), (0, 0.9), (0, 0.9)]})  # row 1's right half shows class 1
    halves["region"] = list(multiclass.HALVES) * 2
    support = multiclass.half_support(halves, candidates, n_classes=4)
    assert support[1] == pytest.approx(0.64)
    # row 0: class 1 is never a half's top class; _regions stores it second, (1 - p) / 2, under class 0: at most 0.1
    assert support[0] == pytest.approx(0.1)
    ranked = multiclass.rank_with_halves(candidates, halves, n_classes=4)
    assert ranked["row"].tolist() == [1, 0]
    assert ranked.set_index("row").loc[1, "score"] == pytest.approx(candidates.set_index("row").loc[1, "score"] * 0.8)
    assert multiclass.rank_with_halves(candidates, halves.iloc[:0], n_classes=4).equals(candidates)
    # a class outside the stored top 3: its even share of the rest, at most the last stored probability
    row = halves.iloc[[0]]
    from indoor.analysis.label_evidence import region_class_probability

    assert region_class_probability(row, np.array([3]), n_classes=5)[0] == pytest.approx(
        min(row["p_3"].iloc[0], (1 - row[["p_1", "p_2", "p_3"]].sum(axis=1).iloc[0]) / 2))
