"""The analyses (indoor/analysis): each function on small hand-made inputs with a known answer, then all of them
on the session's demo cache against the demo's planted truth (truth.csv — read by tests only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indoor.analysis.tables import TABLES, build_tables
from indoor.analysis import duplicates, label_issues, merges, multiclass, shortcuts


def _probs(labels_true, n_classes, *, p=0.85, rng=None):
    """Confident probabilities for the given true classes (p on the class, the rest spread with a little noise)."""
    rng = rng or np.random.default_rng(0)
    n = len(labels_true)
    probs = rng.uniform(0.0, 1.0, (n, n_classes))
    probs[np.arange(n), labels_true] = 0.0
    probs = probs / probs.sum(axis=1, keepdims=True) * (1 - p)
    probs[np.arange(n), labels_true] = p
    return probs


# ------------------------------------------------------------------------------------------------ label issues


def test_label_issues_flag_flipped_labels_and_suggest_the_true_class():
    rng = np.random.default_rng(1)
    truth = np.repeat(np.arange(3), 30)
    probs = _probs(truth, 3, p=0.85, rng=rng)
    labels = truth.copy()
    flipped = [3, 40, 77]
    labels[3], labels[40], labels[77] = 1, 2, 0
    table = label_issues.find_label_issues(labels, probs)
    assert list(table.columns) == label_issues.ISSUE_COLUMNS
    assert set(np.flatnonzero(table["is_issue"])) == set(flipped)
    assert list(table.loc[flipped, "suggested"]) == list(truth[flipped])
    # the review queue starts with the flagged images
    assert set(table.sort_values("review_rank")["row"].head(3)) == set(flipped)
    assert sorted(table["review_rank"]) == list(range(len(labels)))
    # label quality is low exactly where the label is wrong
    assert table.loc[flipped, "label_quality"].max() < table.drop(index=flipped)["label_quality"].min()


def test_low_confidence_ranking_orders_by_self_confidence():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]])
    labels = np.array([0, 0, 0, 1])
    assert list(label_issues.low_confidence_ranking(labels, probs)) == [1, 3, 2, 0]


def test_class_label_quality_ranks_the_noisiest_class_first():
    rng = np.random.default_rng(2)
    truth = np.repeat(np.arange(3), 40)
    probs = _probs(truth, 3, rng=rng)
    labels = truth.copy()
    labels[[80, 81, 82, 83, 84, 85]] = 1  # six class-2 images labelled 1: class 1 gets dirty
    table = label_issues.class_label_quality(labels, probs, ["a", "b", "c"], is_issue=np.isin(np.arange(120), [80, 81]))
    assert table["class"].iloc[0] == "b"
    assert table.set_index("class").loc["b", "n"] == 46
    assert table.set_index("class").loc["b", "n_issues"] == 2


def test_label_issue_warnings():
    labels = np.array([0] * 20 + [1] * 3)
    assert label_issues.label_issue_warnings(np.array([0] * 10 + [1] * 10), ["a", "b"]) == []
    warned = label_issues.label_issue_warnings(labels, ["a", "b"], probs_out_of_sample=False)
    assert len(warned) == 2
    assert "out-of-sample" in warned[0]
    assert "b (3)" in warned[1]
    # fewer images than folds is too few even above the default minimum
    assert "a (20)" in label_issues.label_issue_warnings(labels, ["a", "b"], folds=25)[0]


def test_label_issues_reject_bad_input():
    with pytest.raises(ValueError, match="labels must be in"):
        label_issues.find_label_issues(np.array([0, 3]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="one entry per probs row"):
        label_issues.find_label_issues(np.array([0]), np.full((2, 2), 0.5))


# -------------------------------------------------------------------------------------------------- multiclass


def test_multiclass_candidates_are_near_equal_or_both_high():
    probs = np.array([
        [0.90, 0.05, 0.05],  # clear single class
        [0.50, 0.45, 0.05],  # two classes: the best candidate
        [0.60, 0.30, 0.10],  # second fairly high
        [0.40, 0.15, 0.45],  # near-equal 2 and 0
        [0.70, 0.15, 0.15],  # second too low
    ])
    labels = np.array([0, 0, 0, 2, 0])
    table = multiclass.multiclass_candidates(labels, probs)
    assert list(table.columns) == multiclass.CANDIDATE_COLUMNS + multiclass.REGION_CANDIDATE_COLUMNS
    assert set(table["row"]) == {1, 2, 3}
    assert table["row"].iloc[0] == 1
    row3 = table.set_index("row").loc[3]
    assert (row3["class_a"], row3["class_b"]) == (2, 0)


def test_multiclass_scores_discount_pairs_that_are_always_near_equal():
    # classes 0/1 are near-equal in every image (look-alikes): their candidates sink below the 2/3 one
    probs = np.array([[0.5, 0.45, 0.03, 0.02]] * 10 + [[0.03, 0.02, 0.5, 0.45]] + [[0.02, 0.03, 0.9, 0.05]] * 10)
    scores = multiclass.multiclass_scores(probs)
    assert scores["pair_share"].iloc[0] == pytest.approx(1.0)
    assert scores["score"].iloc[10] > scores["score"].iloc[0]
    ranked = multiclass.multiclass_candidates(np.zeros(len(probs), int), probs)
    assert ranked["row"].iloc[0] == 10


# ------------------------------------------------------------------------------------------------------ merges


def test_merge_candidates_rank_the_confused_similar_pair_first():
    rng = np.random.default_rng(3)
    n_per = 30
    truth = np.repeat(np.arange(4), n_per)
    probs = _probs(truth, 4, p=0.9, rng=rng)
    # classes 0 and 1 are indistinguishable: probability split between them at random
    both = truth < 2
    split = rng.uniform(0.3, 0.7, both.sum())
    probs[both, 0] = 0.9 * split
    probs[both, 1] = 0.9 * (1 - split)
    centres = rng.normal(size=(4, 16))
    centres[1] = centres[0] + 0.05 * rng.normal(size=16)
    embeddings = centres[truth] + 0.3 * rng.normal(size=(len(truth), 16))
    table = merges.merge_candidates(truth, probs, embeddings, ["a", "b", "c", "d"])
    assert list(table.columns) == merges.MERGE_COLUMNS
    first = table.iloc[0]
    assert (first["class_a"], first["class_b"], first["rank"]) == ("a", "b", 1)
    assert first["top1_merged"] == pytest.approx(1.0)
    assert first["top1"] < 0.8
    assert first["centroid_distance"] < table["centroid_distance"].iloc[1:].min()
    # the fast per-pair merged accuracy agrees with the direct recomputation for every pair
    for r in table.itertuples():
        assert r.top1_merged == pytest.approx(merges.merged_accuracy(probs, truth, r.index_a, r.index_b))


def test_merged_accuracy_by_hand():
    probs = np.array([[0.4, 0.35, 0.25], [0.3, 0.3, 0.4], [0.1, 0.2, 0.7]])
    labels = np.array([1, 0, 2])
    # now: row0 wrong (0 vs 1), row1 wrong (2 vs 0), row2 right -> 1/3
    assert merges.merged_accuracy(probs, labels, 0, 1) == pytest.approx(1.0)  # 0+1 = 0.75, 0.6 > 0.4; row2 ok
    # 0+2: row0 -> merged (0.65) but labelled 1: wrong; rows 1 and 2 -> merged, labelled 0 / 2: right
    assert merges.merged_accuracy(probs, labels, 0, 2) == pytest.approx(2 / 3)
    table = merges.merge_candidates(labels, probs, np.eye(3), ["a", "b", "c"])
    assert table.set_index(["class_a", "class_b"]).loc[("a", "c"), "top1_merged"] == pytest.approx(2 / 3)
    assert table["top1"].iloc[0] == pytest.approx(1 / 3)


# --------------------------------------------------------------------------------------------------- shortcuts


def test_property_bins_are_quantiles_and_keep_ties_together():
    index, bins = shortcuts.property_bins(np.arange(100.0), n_bins=10)
    assert list(bins["n"]) == [10] * 10
    assert list(index[:10]) == [0] * 10 and index[-1] == 9
    index, bins = shortcuts.property_bins(np.array([1.0] * 50 + [2.0] * 50), n_bins=10)
    assert len(bins) == 2 and list(bins["n"]) == [50, 50]
    index, bins = shortcuts.property_bins(np.full(7, 3.0))
    assert len(bins) == 1 and (index == 0).all()


def test_circular_bins_wrap_around_zero_degrees():
    hue = np.array([350.0, 355.0, 2.0, 8.0, 170.0, 175.0, 180.0, 185.0])
    index, bins = shortcuts.property_bins(hue, n_bins=2, circular=True)
    # the reds on both sides of 0° share a bin (the widest empty arc is between 8° and 170°... and 185°..350°)
    assert index[0] == index[1] == index[2] == index[3]
    assert index[4] == index[7] != index[0]
    red = bins.iloc[index[0]]
    assert red["lo"] == pytest.approx(350.0) and red["hi"] == pytest.approx(8.0)


def _frame(brightness, labels, preds, **extra):
    n = len(labels)
    base = dict(
        sample_id=[f"s{i}" for i in range(n)], label=np.asarray(labels), pred=np.asarray(preds),
        brightness=np.asarray(brightness, float), contrast=np.full(n, 0.2), colourfulness=np.full(n, 0.3),
        hue=np.full(n, 30.0), dominant_hue=np.full(n, 30.0), saturation=np.full(n, 0.3), sharpness=np.full(n, 10.0), width=np.full(n, 100.0),
        height=np.full(n, 100.0),
    )
    base.update(extra)
    return pd.DataFrame(base)


def _shortcut_data(seed: int, *, n: int = 400, pushed: float = 0.3):
    """Four classes; the 40 darkest images of every class get ``pushed`` extra probability of class 0 (a dark ->
    class-0 shortcut); everything else is confidently its own label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    brightness = rng.uniform(0.3, 0.9, n)
    dark = np.arange(n) < 40
    brightness[dark] = rng.uniform(0.02, 0.1, dark.sum())
    probs = np.full((n, 4), 0.02) + rng.uniform(0, 0.01, (n, 4))
    probs[np.arange(n), labels] = 0.9
    probs[dark & (labels != 0), 0] += pushed
    probs /= probs.sum(axis=1, keepdims=True)
    return labels, brightness, dark, probs


def test_shortcut_findings_find_dark_images_pushed_to_one_class():
    labels, brightness, dark, probs = _shortcut_data(4)
    samples = _frame(brightness, labels, probs.argmax(axis=1))
    found = shortcuts.shortcut_findings(samples, probs, ["bar", "deli", "bed", "gym"])
    assert list(found.columns) == shortcuts.FINDING_COLUMNS
    top = found.iloc[0]
    assert (top["property"], top["class"], top["bin"], top["rank"]) == ("brightness", "bar", 0, 1)
    assert top["lift"] > 5
    assert top["n_other"] == (dark & (labels != 0)).sum()
    assert "bar" in top["summary"] and "lowest" in top["summary"]
    assert set(top["examples"]) <= {f"s{i}" for i in np.flatnonzero(dark)}
    # nothing else: no other property varies, no other class is pushed
    assert (found["rank"] > 0).sum() == 1


def test_shortcut_findings_need_more_than_the_labels_explain():
    # class 0 lives in the dark bin, and its usual confusion with class 1 goes with it: no shortcut
    rng = np.random.default_rng(11)
    n = 400
    labels = rng.integers(0, 4, n)
    brightness = np.where(labels == 1, rng.uniform(0.02, 0.2, n), rng.uniform(0.3, 0.9, n))
    probs = np.full((n, 4), 0.02) + rng.uniform(0, 0.01, (n, 4))
    probs[np.arange(n), labels] = 0.9
    probs[labels == 1, 0] = rng.uniform(0.2, 0.5, (labels == 1).sum())  # class 1 always half-looks like 0
    probs /= probs.sum(axis=1, keepdims=True)
    found = shortcuts.shortcut_findings(_frame(brightness, labels, probs.argmax(axis=1)), probs, list("abcd"))
    assert not ((found["class"] == "a") & (found["rank"] > 0)).any(), found[["summary"]]


def test_shortcut_findings_fold_redundant_properties():
    labels, brightness, dark, probs = _shortcut_data(5)
    contrast = brightness * 0.5  # the same images are also the low-contrast ones
    samples = _frame(brightness, labels, probs.argmax(axis=1), contrast=contrast)
    found = shortcuts.shortcut_findings(samples, probs, ["bar", "deli", "bed", "gym"])
    primary = found[found["rank"] > 0]
    assert len(primary) == 1
    repeats = found[found["rank"] == 0]
    assert len(repeats) == 1 and repeats["redundant_with"].iloc[0] == 1
    assert "contrast" in primary["also"].iloc[0] or "brightness" in primary["also"].iloc[0]


def test_accuracy_curves_per_bin_and_class():
    labels = np.array([0, 0, 1, 1] * 5)
    preds = labels.copy()
    brightness = np.arange(20.0)
    preds[:4] = 1 - labels[:4]  # the darkest four are all wrong
    curves = shortcuts.accuracy_curves(_frame(brightness, labels, preds), ["a", "b"], n_bins=5)
    assert list(curves.columns) == shortcuts.CURVE_COLUMNS
    b = curves[curves["property"] == "brightness"]
    overall = b[b["class"] == "(all)"].set_index("bin")["accuracy"]
    assert overall[0] == 0.0 and (overall.drop(index=0) == 1.0).all()
    assert b[(b["class"] == "a") & (b["bin"] == 0)]["n"].iloc[0] == 2


# -------------------------------------------------------------------------------------------------- duplicates


def test_exact_duplicate_groups():
    groups = duplicates.exact_duplicate_groups(np.array(["h1", "h2", "h1", "h3", "h2", "h1", ""], dtype=object))
    assert [list(g) for g in groups] == [[0, 2, 5], [1, 4]]


def test_similar_pairs_are_exact_and_chunk_independent():
    rng = np.random.default_rng(7)
    emb = rng.normal(size=(50, 8))
    emb[30] = emb[4] + 0.01 * rng.normal(size=8)
    emb[41] = emb[12] + 0.01 * rng.normal(size=8)
    unit = duplicates.normalised_embeddings(emb, center=False)
    a, b, s = duplicates.similar_pairs(unit, threshold=0.99, chunk=7)
    assert set(zip(a.tolist(), b.tolist())) == {(4, 30), (12, 41)}
    full = unit @ unit.T
    np.fill_diagonal(full, -1)
    expect = {(i, j) for i, j in zip(*np.nonzero(full >= 0.8)) if i < j}
    a, b, _ = duplicates.similar_pairs(unit, threshold=0.8, chunk=5)
    assert set(zip(a.tolist(), b.tolist())) == expect


def test_duplicate_pairs_leakage_and_two_labels_without_thumbnails():
    rng = np.random.default_rng(8)
    emb = rng.normal(size=(10, 16))
    emb[7] = emb[2] * 1.001  # near copy (test of a train image)
    hashes = np.array([f"h{i}" for i in range(10)], dtype=object)
    hashes[9] = hashes[1]  # exact copy, another label
    splits = np.array(["train"] * 6 + ["test"] * 4)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 2, 1, 0])
    table = duplicates.duplicate_pairs(hashes, emb, splits, labels, embedding_threshold=0.97, center=False)
    assert list(table.columns) == duplicates.PAIR_COLUMNS
    assert table.iloc[0][["kind", "row_a", "row_b"]].tolist() == ["exact", 1, 9]
    assert bool(table.iloc[0]["cross_split"]) and bool(table.iloc[0]["label_differs"])
    near = table[table["kind"] == "near"]
    assert near[["row_a", "row_b"]].values.tolist() == [[2, 7]]
    assert bool(near["cross_split"].iloc[0]) and not bool(near["label_differs"].iloc[0])
    assert np.isnan(near["pixel_similarity"].iloc[0])
    assert len(table) == 2  # the exact pair is not listed again as a near pair


def _scene(rng, palette, size=96):
    """A blocky 'room': random rectangles in colours from ``palette`` (same layout for the same rng state)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), tuple(int(v) for v in palette[0]))
    draw = ImageDraw.Draw(image)
    for k in range(14):
        x0, y0 = rng.integers(0, size - 20, 2)
        w, h = rng.integers(8, 40, 2)
        draw.rectangle((int(x0), int(y0), int(x0 + w), int(y0 + h)), fill=tuple(int(v) for v in palette[1 + k % (len(palette) - 1)]))
    return image


def _jpeg(image, quality=85) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_near_duplicates_are_verified_on_pixels():
    from PIL import Image

    rng = np.random.default_rng(12)
    palettes = rng.integers(0, 255, (6, 6, 3))
    images = [_scene(np.random.default_rng(100 + i), palettes[i]) for i in range(6)]
    # row 6: a re-crop + brighter re-encode of row 1; row 7: row 3's layout in other colours (a look-alike)
    crop = images[1].crop((2, 1, 94, 95)).resize((96, 96), Image.BILINEAR)
    crop = Image.fromarray(np.clip(np.asarray(crop, float) * 1.04, 0, 255).astype(np.uint8))
    images.append(crop)
    images.append(_scene(np.random.default_rng(103), palettes[5][::-1]))
    thumbs = [_jpeg(im) for im in images]
    # embeddings that cannot tell either pair apart from its original
    emb = rng.normal(size=(8, 16))
    emb[6] = emb[1] + 0.01 * rng.normal(size=16)
    emb[7] = emb[3] + 0.01 * rng.normal(size=16)
    splits = np.array(["train"] * 5 + ["test"] * 3)
    labels = np.array([0, 1, 2, 3, 0, 1, 1, 3])
    hashes = np.array([f"h{i}" for i in range(8)], dtype=object)
    table = duplicates.duplicate_pairs(hashes, emb, splits, labels, thumbnails=thumbs, neighbours=2, center=False)
    assert table[["row_a", "row_b"]].values.tolist() == [[1, 6]]
    assert table["pixel_similarity"].iloc[0] >= duplicates.PIXEL_THRESHOLD
    look_alike = duplicates.pixel_similarity(duplicates.pixel_signatures(duplicates.tiny_images(thumbs)), [3], [7])
    assert look_alike[0] < duplicates.PIXEL_THRESHOLD
    nearest = duplicates.nearest_training_images(emb, splits, thumbnails=thumbs, neighbours=2, center=False)
    by_row = nearest.set_index("row")
    assert by_row.loc[6, "nearest_train"] == 1 and bool(by_row.loc[6, "near_duplicate"])
    assert by_row.loc[7, "nearest_train"] == 3 and not bool(by_row.loc[7, "near_duplicate"])


def test_nearest_training_images_without_thumbnails():
    rng = np.random.default_rng(9)
    emb = rng.normal(size=(8, 16))
    emb[6] = emb[1] + 0.001 * rng.normal(size=16)
    splits = np.array(["train"] * 5 + ["test"] * 3)
    table = duplicates.nearest_training_images(emb, splits, embedding_threshold=0.99, center=False)
    assert list(table.columns) == duplicates.NEAREST_COLUMNS
    assert list(table["row"]) == [5, 6, 7]
    r6 = table.set_index("row").loc[6]
    assert r6["nearest_train"] == 1 and bool(r6["near_duplicate"])
    assert not table.set_index("row").loc[[5, 7], "near_duplicate"].any()
    none = duplicates.nearest_training_images(emb, np.array(["test"] * 8), center=False)
    assert (none["nearest_train"] == -1).all() and not none["near_duplicate"].any()


# ------------------------------------------------------------------------------------ the demo's planted truth


@pytest.fixture(scope="module")
def demo_tables(demo_cache):
    thumbs = [demo_cache.thumb_path(row) for row in range(len(demo_cache.samples))]
    return build_tables(demo_cache.samples, np.asarray(demo_cache.probs), np.asarray(demo_cache.embeddings),
                        demo_cache.classes, thumbnails=thumbs)


@pytest.fixture(scope="module")
def truth(demo_cache, demo_data):
    table = pd.read_csv(demo_data / "truth.csv", keep_default_na=False)
    return table.set_index("sample_id").loc[demo_cache.samples["sample_id"]].reset_index()


def test_build_tables_returns_every_named_table(demo_tables, demo_cache):
    assert set(demo_tables) == set(TABLES)
    n = len(demo_cache.samples)
    assert len(demo_tables["label_issues"]) == n
    for name, table in demo_tables.items():
        assert isinstance(table, pd.DataFrame), name
        assert name.isidentifier()
        for column in table.columns:
            if column in ("row", "row_a", "row_b", "nearest_train"):
                assert table[column].between(-1, n - 1).all(), (name, column)


def test_build_tables_round_trips_through_parquet(demo_tables, tmp_path):
    for name, table in demo_tables.items():
        path = tmp_path / f"{name}.parquet"
        table.to_parquet(path, index=False)
        back = pd.read_parquet(path)
        assert list(back.columns) == list(table.columns), name
        assert len(back) == len(table), name


def test_demo_flagged_label_issues_beat_the_base_rate(demo_tables, truth, demo_cache):
    flipped = truth["flipped"].to_numpy().astype(bool)
    issues = demo_tables["label_issues"]
    flagged = issues["is_issue"].to_numpy()
    base_rate = flipped.mean()
    precision = (flagged & flipped).sum() / flagged.sum()
    recall = (flagged & flipped).sum() / flipped.sum()
    assert precision > 3 * base_rate
    assert recall >= 0.5
    # the first images of the review queue are mostly planted flips
    first = issues.sort_values("review_rank")["row"].to_numpy()[: flipped.sum()]
    assert flipped[first].mean() >= 0.3
    # for a flagged planted flip, the suggestion is usually the true class, or its twin: the demo draws bookstores
    # and video stores alike on purpose (the merges analysis calls them indistinguishable)
    index = {c: i for i, c in enumerate(demo_cache.classes)}
    twin = {"bookstore": "videostore", "videostore": "bookstore"}
    true_index = truth["true_class"].map(index).to_numpy()
    twin_index = truth["true_class"].map(lambda c: index.get(twin.get(c), -1)).to_numpy()
    both = flagged & flipped
    suggested = issues["suggested"].to_numpy()[both]
    assert ((suggested == true_index[both]) | (suggested == twin_index[both])).mean() >= 0.7


def test_demo_bookstore_videostore_is_the_first_merge(demo_tables):
    first = demo_tables["merges"].iloc[0]
    assert {first["class_a"], first["class_b"]} == {"bookstore", "videostore"}
    assert first["top1_merged"] >= first["top1"]


def test_demo_dark_bar_shortcut_in_the_top_three(demo_tables, truth):
    found = demo_tables["shortcut_findings"]
    top = found[(found["rank"] >= 1) & (found["rank"] <= 3)]
    bar = top[top["class"] == "bar"]
    assert len(bar), found[["rank", "summary"]].head(5).to_string()
    dark = dict(zip(truth["sample_id"], truth["dark"]))
    examples = [sid for lst in bar["examples"] for sid in lst]
    assert np.mean([dark[sid] for sid in examples]) >= 0.5  # its evidence is dark images


def test_demo_multiclass_candidates_recall(demo_tables, truth):
    planted = truth["second_class"].to_numpy() != ""
    candidates = demo_tables["multiclass"]["row"].to_numpy()
    assert planted[candidates].sum() / planted.sum() >= 0.4
    assert planted[candidates].mean() > 2 * planted.mean()  # far richer than a random pick


def test_demo_near_duplicates_are_found(demo_tables, truth, demo_cache):
    row_of = demo_cache.row_of
    planted = {tuple(sorted((i, row_of[src]))) for i, src in enumerate(truth["near_duplicate_of"]) if src}
    assert planted
    pairs = demo_tables["duplicate_pairs"]
    near = pairs[pairs["kind"] == "near"]
    found = set(zip(near["row_a"], near["row_b"]))
    assert planted <= found  # every planted train/test copy
    assert near["cross_split"][[p in planted for p in zip(near["row_a"], near["row_b"])]].all()
    # each planted test copy is marked as a near duplicate of its source in the nearest-training-image table
    nearest = demo_tables["nearest_train"].set_index("row")
    for a, b in planted:
        test_row, train_row = (a, b) if truth["split"].iat[a] != "train" else (b, a)
        assert nearest.loc[test_row, "nearest_train"] == train_row
        assert bool(nearest.loc[test_row, "near_duplicate"])
    # no false pairs among exact duplicates: equal hashes are equal pixels, and the demo has none
    assert (pairs["kind"] == "exact").sum() == 0


def test_demo_dark_image_issues_are_planted_dark(demo_tables, truth):
    issues = demo_tables["image_issues"]
    dark_rows = issues.loc[issues["issue"] == "dark", "row"].to_numpy()
    assert len(dark_rows)
    assert truth["dark"].to_numpy()[dark_rows].mean() >= 0.75  # relative to class and data set (test_image_issues.py)


def test_cache_tables_prefers_the_stored_tables(demo_cache_path, demo_tables, tmp_path):
    import shutil

    from indoor.cache.tables import cache_tables
    from indoor.cache import load_cache

    copy = tmp_path / "demo"
    shutil.copytree(demo_cache_path, copy)
    (copy / "analysis").mkdir(exist_ok=True)
    for name, table in demo_tables.items():
        stored = table.head(1) if name == "label_issues" else table  # a marker: stored tables are what is read
        stored.to_parquet(copy / "analysis" / f"{name}.parquet", index=False)
    tables = cache_tables(load_cache(copy))
    assert len(tables["label_issues"]) == 1
    (copy / "analysis" / "merges.parquet").unlink()  # incomplete: computed afresh
    assert len(cache_tables(load_cache(copy))["label_issues"]) == len(demo_tables["label_issues"])


def test_build_tables_warns_without_thumbnails_and_for_in_sample_probs(demo_cache):
    tables = build_tables(demo_cache.samples, np.asarray(demo_cache.probs), np.asarray(demo_cache.embeddings),
                          demo_cache.classes, probs_out_of_sample=False)
    messages = " ".join(tables["warnings"]["message"])
    assert "not out-of-sample" in messages and "No thumbnails" in messages


# ------------------------------------------------------------------------------ what the pages show (no Streamlit)


def test_review_queue_and_its_table():
    issues = pd.DataFrame({"row": [0, 1, 2, 3], "sample_id": ["s0", "s1", "s2", "s3"],
                           "split": ["test", "train", "test", "test"], "label": [0, 1, 0, 1],
                           "suggested": [1, 0, 0, 0], "label_quality": [0.2, 0.1, 0.9, 0.3],
                           "self_confidence": [0.1, 0.05, 0.9, 0.2], "is_issue": [True, True, False, True],
                           "review_rank": [2, 1, 4, 3]})
    assert label_issues.review_queue(issues)["row"].tolist() == [1, 0, 3]
    assert label_issues.review_queue(issues, flagged_only=False)["row"].tolist() == [1, 0, 3, 2]
    keep = np.array([True, False, True, False])
    assert label_issues.review_queue(issues, keep=keep, flagged_only=False)["row"].tolist() == [0, 2]
    table = label_issues.queue_table(label_issues.review_queue(issues), ["bar", "deli"], {"s0"})
    assert table["#"].tolist() == [1, 2, 3] and table["sample_id"].tolist() == ["s1", "s0", "s3"]
    assert table["given"].tolist() == ["deli", "bar", "deli"] and table["suggested"].tolist() == ["bar", "deli", "bar"]
    assert table["decided"].tolist() == [False, True, False]
    assert table["label quality"].tolist() == [0.1, 0.2, 0.3] and table["p(given)"].tolist() == [0.05, 0.1, 0.2]


def test_multiclass_candidate_table_names_the_classes():
    candidates = pd.DataFrame({"row": [5, 2], "sample_id": ["s5", "s2"], "label": [0, 2], "class_a": [1, 2],
                               "class_b": [0, 1], "p_a": [0.5, 0.6], "p_b": [0.4, 0.3], "score": [0.9, 0.5]})
    table = multiclass.candidate_table(candidates, ["a", "b", "c"])
    assert list(table.columns) == ["#", "sample_id", "given", "class A", "class B", "p(A)", "p(B)", "score"]
    assert table["#"].tolist() == [1, 2] and table["given"].tolist() == ["a", "c"]
    assert table["class A"].tolist() == ["b", "c"] and table["class B"].tolist() == ["a", "b"]


def test_merge_table_and_find_pair():
    rng = np.random.default_rng(4)
    truth = np.repeat(np.arange(3), 20)
    probs = _probs(truth, 3, p=0.8, rng=rng)
    table = merges.merge_candidates(truth, probs, rng.normal(size=(60, 8)), ["a", "b", "c"])
    view = merges.merge_table(table)
    assert view["class A"].tolist() == table["class_a"].tolist()
    assert view["confusion"].tolist() == pytest.approx((table["confusion"] * 100).tolist())
    assert view["top-1 if merged"].tolist() == pytest.approx((table["top1_merged"] * 100).tolist())
    pair = merges.find_pair(table, 2, 0)
    assert (pair["index_a"], pair["index_b"], pair["class_a"], pair["class_b"]) == (0, 2, "a", "c")
    with pytest.raises(KeyError):
        merges.find_pair(table.iloc[:0], 0, 1)


def test_curve_of_fills_missing_bins_and_leaves_gaps():
    labels = np.array([0, 0, 1, 1] * 5)
    preds = labels.copy()
    preds[:4] = 1 - labels[:4]
    labels[16:] = preds[16:] = 0  # the brightest bin holds no image of class b
    curves = shortcuts.accuracy_curves(_frame(np.arange(20.0), labels, preds), ["a", "b"], n_bins=5)
    bins = shortcuts.curve_bins(curves, "brightness")
    assert bins["bin"].tolist() == [0, 1, 2, 3, 4]
    overall = shortcuts.curve_of(curves, "brightness", "(all)")
    assert overall.index.tolist() == [0, 1, 2, 3, 4] and overall["n"].tolist() == [4, 4, 4, 4, 4]
    assert overall["accuracy"].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]  # "(all)" never has gaps
    b = shortcuts.curve_of(curves, "brightness", "b")
    assert b["n"].tolist() == [2, 2, 2, 2, 0] and b["bin_label"].tolist() == bins["bin_label"].tolist()
    assert b["accuracy"].isna().all()  # 2 images a bin: fewer than 3
    assert shortcuts.curve_of(curves, "brightness", "b", min_images=2)["accuracy"].tolist()[:4] == [0.0, 1.0, 1.0, 1.0]
    findings = pd.DataFrame({"property": ["hue", "brightness", "hue", "hue"], "rank": [1, 2, 0, 3],
                             "class": ["bar", "deli", "deli", "bar"]})
    assert shortcuts.finding_classes(findings, "hue") == ["bar"]
    assert shortcuts.finding_classes(findings, "brightness") == ["deli"]


def test_duplicate_views_notes_and_errors_near_training():
    pairs = pd.DataFrame({"kind": ["exact", "near", "near"], "row_a": [0, 2, 4], "row_b": [1, 3, 5],
                          "similarity": [1.0, 0.95, 0.9], "pixel_similarity": [np.nan, 0.97, np.nan],
                          "cross_split": [False, True, False], "label_differs": [True, False, False],
                          "split_a": ["train", "train", "test"], "split_b": ["train", "val", "test"]})
    assert duplicates.pair_view(pairs, "exact")["row_a"].tolist() == [0]
    assert duplicates.pair_view(pairs, "near")["row_a"].tolist() == [2, 4]
    assert duplicates.pair_view(pairs, "leakage")["row_a"].tolist() == [2]
    assert duplicates.pair_view(pairs, "labels")["row_a"].tolist() == [0]
    with pytest.raises(ValueError):
        duplicates.pair_view(pairs, "nothing")
    assert duplicates.similarity_column(pairs) == "similarity"
    assert duplicates.similarity_column(pairs.iloc[1:2]) == "pixel_similarity"
    notes = [duplicates.pair_note(r) for r in pairs.to_dict("records")]
    assert notes == ["identical pixels · different labels",
                     "pixel similarity 0.970 · embedding 0.950 · train ↔ val",
                     "embedding similarity 0.900"]
    nearest = pd.DataFrame({"row": [6, 7, 8], "nearest_train": [0, 1, 2], "similarity": [0.5, 0.99, 0.8],
                            "pixel_similarity": [0.2, 0.95, np.nan], "near_duplicate": [False, True, False],
                            "is_error": [True, True, True]})
    assert duplicates.errors_near_training(nearest)["row"].tolist() == [7]
    assert duplicates.errors_near_training(nearest, near_only=False)["row"].tolist() == [7, 8, 6]
    assert duplicates.view_counts(pairs, nearest) == {"exact": 1, "near": 2, "leakage": 1, "labels": 1, "errors": 1}
    assert duplicates.error_note(nearest.iloc[1]) == ("test error ↔ nearest training image · embedding similarity "
                                                      "0.990 · pixel similarity 0.950 · NEAR DUPLICATE")
    assert duplicates.error_note(nearest.iloc[2]).endswith("similarity 0.800")


def test_pixel_similarity_and_neighbour_search_in_small_blocks_match_one_block():
    """Chunked scoring (memory flat in the number of pairs / references) gives the results of one big block."""
    from indoor.analysis.duplicates import nearest_neighbours, pixel_signatures, pixel_similarity
    from indoor.analysis.vectors import unit_rows

    rng = np.random.default_rng(0)
    signatures = pixel_signatures(rng.random((40, 16, 16, 3)).astype(np.float32))
    a, b = rng.integers(0, 40, 500), rng.integers(0, 40, 500)
    assert np.array_equal(pixel_similarity(signatures, a, b, chunk=7), pixel_similarity(signatures, a, b, chunk=10**6))
    unit = unit_rows(rng.normal(size=(300, 8)).astype(np.float32))
    query, reference = np.arange(0, 300, 2), np.arange(300)
    small = nearest_neighbours(unit, query, reference, k=4, chunk=5)
    default = nearest_neighbours(unit, query, reference, k=4)
    assert np.array_equal(small[0], default[0]) and np.allclose(small[1], default[1])
    assert (small[0] != query[:, None]).all()  # never itself
