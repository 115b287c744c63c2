"""Shortcut intervention tests, the pure parts: each image edit moves its property into a bin and leaves the
others near their values; the plan picks the right images; the verdict logic on synthetic effects."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from indoor.analysis import intervention_report, interventions
from indoor.analysis.shortcuts import CIRCULAR, property_bins
from indoor.cache.properties import image_properties
from indoor.model.intervene import AUGMENTATIONS, augment, check_augmentations, measure, move_property

# ================================================================================================ images


def _scene(rng: np.random.Generator, size: int = 160) -> Image.Image:
    """A colourful synthetic photo-like image: a gradient, coloured blobs, texture, then a random light level,
    saturation and blur, so a set of them spreads over every property."""
    y, x = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(0.2, 0.8, 3)[None, None] * (0.6 + 0.4 * x[..., None])
    for _ in range(5):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.3)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / r**2)[..., None]
        base = base * (1 - blob) + blob * rng.uniform(0, 1, 3)[None, None]
    base = base + rng.normal(0, 0.04, base.shape)
    grey = base.mean(axis=2, keepdims=True)
    base = grey + (base - grey) * rng.uniform(0.2, 1.6)
    base = base * rng.uniform(0.35, 1.3)
    image = Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8), "RGB")
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 2.5)))
    image.info["original_size"] = (size, size)
    return image


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(7)
    images = [_scene(rng) for _ in range(40)]
    values = pd.DataFrame([image_properties(im) for im in images])
    return images, values


# what each edit may not change (others are tied to it by the build's absolute measures, see intervene's docstring)
KEPT = {
    "brightness": ("hue", "dominant_hue"),
    "contrast": ("brightness", "saturation", "hue"),
    "saturation": ("brightness", "contrast", "sharpness"),
    "colourfulness": ("brightness", "contrast"),
    "hue": ("brightness", "contrast", "saturation", "sharpness"),
    "dominant_hue": ("brightness", "contrast", "saturation", "sharpness"),
    "sharpness": ("brightness", "saturation", "hue"),
}
# (absolute, relative) tolerance: |after - before| <= absolute + relative * max(after, before); degrees for hues
TOLERANCE = {"brightness": (0.03, 0.0), "contrast": (0.02, 0.0), "saturation": (0.01, 0.3), "sharpness": (0.02, 0.15),
             "hue": (6.0, 0.0), "dominant_hue": (16.0, 0.0)}


def _inside(value: float, lo: float, hi: float, circular: bool, slack: float) -> bool:
    if circular:
        if lo > hi:
            return value >= lo - slack or value <= hi + slack
        return lo - slack <= value <= hi + slack
    return lo - slack <= value <= hi + slack


@pytest.mark.parametrize("prop", list(KEPT))
@pytest.mark.parametrize("end", ["lowest", "highest"])
def test_each_edit_moves_its_property_into_the_bin_and_keeps_the_others(scenes, prop, end):
    images, values = scenes
    column = values[prop].to_numpy()
    index, bins = property_bins(column, n_bins=5, circular=prop in CIRCULAR)
    b = 0 if end == "lowest" else len(bins) - 1
    lo, hi = float(bins["lo"].iat[b]), float(bins["hi"].iat[b])
    target = interventions.bin_centre(column[index == b], circular=prop in CIRCULAR)
    slack = 1.5 if prop in CIRCULAR else 0.02 * (column.max() - column.min())
    outside = np.flatnonzero(index != b)
    outside = outside[np.argsort(np.abs(column[outside] - np.median(column)), kind="stable")][:6]  # ordinary images
    for i in outside:
        if prop in ("hue", "dominant_hue") and values["saturation"].iat[i] < 0.05:
            continue  # a grey image has no hue to rotate
        moved = move_property(images[i], prop, target)
        assert _inside(measure(moved, prop), lo, hi, prop in CIRCULAR, slack), (prop, end, i, measure(moved, prop), lo, hi)
        after = image_properties(moved)
        for other in KEPT[prop]:
            before, now = float(values[other].iat[i]), float(after[other])
            if other in CIRCULAR:
                gap = abs((now - before + 180) % 360 - 180)
                assert gap <= TOLERANCE[other][0] or values["saturation"].iat[i] < 0.05, (prop, other, before, now)
            else:
                absolute, relative = TOLERANCE[other]
                assert abs(now - before) <= absolute + relative * max(now, before), (prop, other, before, now)


def test_size_and_aspect_edits_reach_their_targets(scenes):
    image = scenes[0][0]
    smaller = move_property(image, "size", 80 * 80)
    assert measure(smaller, "size") == pytest.approx(80 * 80, rel=0.03)
    assert smaller.size[0] <= 81  # the pixels really are fewer
    assert abs(image_properties(smaller)["brightness"] - image_properties(image)["brightness"]) < 0.03
    wide = move_property(image, "aspect", 1.6)
    assert measure(wide, "aspect") == pytest.approx(1.6, rel=0.02)
    assert wide.size[0] / wide.size[1] == pytest.approx(1.6, rel=0.02)


def test_unreachable_targets_get_as_close_as_the_edit_can():
    white = Image.new("RGB", (64, 64), (250, 250, 250))
    assert measure(move_property(white, "brightness", 2.0), "brightness") > 0.99  # brighter than white: white
    assert measure(move_property(white, "brightness", 0.1), "brightness") == pytest.approx(0.1, abs=0.01)


def test_unknown_property_and_augmentation_are_refused():
    with pytest.raises(ValueError, match="unknown property 'loudness'"):
        move_property(Image.new("RGB", (8, 8)), "loudness", 1.0)
    with pytest.raises(ValueError, match="unknown augmentation 'zoom'; known: brightness"):
        check_augmentations(["brightness", "zoom"])
    assert check_augmentations(["hue", " scale", "hue"]) == ("hue", "crop")


def test_augmentations_are_seeded_and_vary(scenes):
    image = scenes[0][0]
    for kind in AUGMENTATIONS:
        a = np.asarray(augment(image, [kind], np.random.default_rng(3)))
        b = np.asarray(augment(image, [kind], np.random.default_rng(3)))
        assert np.array_equal(a, b), kind
        assert a.shape == np.asarray(image).shape, kind
    views = [image_properties(augment(image, ["brightness"], np.random.default_rng(s)))["brightness"] for s in range(20)]
    assert min(views) < 0.5 * image_properties(image)["brightness"] < max(views) * 1.5  # dark views among them


# ================================================================================================ the plan


def _samples(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    pred = np.where(rng.random(n) < 0.85, labels, (labels + 1) % 4)
    return pd.DataFrame({
        "sample_id": [f"img{i:04d}.jpg" for i in range(n)], "split": np.where(rng.random(n) < 0.25, "test", "train"),
        "label": labels, "pred": pred, "width": 200.0, "height": 150.0, "brightness": rng.uniform(0, 1, n),
        "contrast": rng.uniform(0, 0.3, n), "colourfulness": rng.uniform(0, 1, n), "hue": rng.uniform(0, 360, n),
        "dominant_hue": rng.uniform(0, 360, n), "saturation": rng.uniform(0, 0.5, n), "sharpness": rng.uniform(0.1, 50, n),
    })


def test_plan_picks_other_classes_outside_the_bin_held_out_first():
    samples = _samples()
    classes = ["bar", "deli", "bed", "gym"]
    plan = interventions.plan_test(samples, {"property": "brightness", "bin": 0, "class": "bar"}, classes, n=64, seed=1)
    values = samples["brightness"].to_numpy()
    index, bins = property_bins(values, n_bins=10)
    rows = plan.rows
    assert len(rows) == 64 and len(set(rows)) == 64
    assert (samples["label"].to_numpy()[rows] != 0).all()
    assert (samples["label"].to_numpy()[rows] == samples["pred"].to_numpy()[rows]).all()  # correctly predicted
    assert (index[rows] != 0).all()  # outside the bin
    held = (samples["split"].to_numpy()[rows] == "test")
    assert held[: plan.n_heldout].all() and not held[plan.n_heldout:].any()  # held-out images first
    assert plan.n_heldout == min(64, int(((samples["split"] == "test") & (samples["label"] != 0)
                                           & (samples["label"] == samples["pred"]) & (index != 0)).sum()))
    assert bins["lo"].iat[0] <= plan.target <= bins["hi"].iat[0]
    assert (samples["label"].to_numpy()[plan.reverse_rows] == 0).all() and (index[plan.reverse_rows] == 0).all()
    # the control moves each image as far the other way (within the data's 1st..99th percentile)
    expected = np.clip(2 * values[rows] - plan.target, *np.quantile(values, [0.01, 0.99]))
    assert np.allclose(plan.control, expected)
    again = interventions.plan_test(samples, {"property": "brightness", "bin": 0, "class": "bar"}, classes, n=64, seed=1)
    assert np.array_equal(again.rows, rows)  # seeded
    # another run's images and bin: only those still outside the bin and of other classes
    ids = samples["sample_id"].to_numpy()[rows[:10]].tolist() + ["gone.jpg"]
    spec = {"property": "brightness", "bin": 0, "class": "bar", "lo": plan.lo, "hi": plan.hi, "target": plan.target}
    replay = interventions.plan_test(samples, spec, classes, sample_ids=ids)
    assert replay.rows.tolist() == rows[:10].tolist() and replay.target == plan.target


def test_plan_on_the_colour_circle_and_refusals():
    samples = _samples()
    plan = interventions.plan_test(samples, {"property": "hue", "bin": 3, "class": "deli"}, ["bar", "deli", "bed", "gym"])
    assert np.allclose(plan.control, (plan.target + 180) % 360)  # the control: the complementary hue
    with pytest.raises(ValueError, match="not among this cache's classes"):
        interventions.plan_test(samples, {"property": "hue", "bin": 3, "class": "zoo"}, ["bar", "deli", "bed", "gym"])


# ================================================================================================ the verdict


def _probs(p_class: np.ndarray, n_classes: int = 4, c: int = 0, own: int = 1) -> np.ndarray:
    """Probabilities with P(c) = p_class and the rest on class ``own``."""
    probs = np.full((len(p_class), n_classes), 0.0)
    probs[:, c] = p_class
    probs[:, own] = 1.0 - p_class
    return probs


def test_bootstrap_interval_covers_the_mean_and_narrows():
    rng = np.random.default_rng(0)
    small = rng.normal(0.1, 0.2, 20)
    large = rng.normal(0.1, 0.2, 2000)
    mean, lo, hi = interventions.bootstrap_ci(small)
    assert lo < mean < hi and mean == pytest.approx(small.mean())
    _, lo2, hi2 = interventions.bootstrap_ci(large)
    assert hi2 - lo2 < (hi - lo) / 5 and lo2 < 0.1 < hi2
    assert all(np.isnan(interventions.bootstrap_ci(np.array([]))))


def test_verdict_on_a_synthetic_effect():
    rng = np.random.default_rng(1)
    before = _probs(rng.uniform(0.0, 0.02, 64))
    after = _probs(np.clip(before[:, 0] + rng.normal(0.35, 0.15, 64), 0, 0.95))
    control = _probs(np.clip(before[:, 0] + rng.normal(0.0, 0.01, 64), 0, 1))
    stats = interventions.summarise(before, after, control, class_index=0)
    assert stats["effect_lo"] > 0.25 and stats["control_hi"] < 0.02
    assert stats["flip_share"] == pytest.approx(np.mean(after[:, 0] > 0.5))
    code, cause, reason = interventions.verdict(stats)
    assert code == "confirmed" and cause == "shortcut" and "above the control" in reason


def test_verdict_without_an_effect_names_its_cause():
    rng = np.random.default_rng(2)
    before = _probs(rng.uniform(0.0, 0.05, 64))
    after = _probs(np.clip(before[:, 0] + rng.normal(0.0, 0.01, 64), 0, 1))
    stats = interventions.summarise(before, after, after, class_index=0)
    assert interventions.verdict(stats)[:2] == ("no_effect", "correlation")
    assert interventions.verdict(stats, label_issue_share=0.75)[:2] == ("no_effect", "label errors")
    # an effect that any edit has (the opposite move raises P as much) is no shortcut either
    moved = _probs(np.clip(before[:, 0] + 0.2, 0, 1))
    stats = interventions.summarise(before, moved, moved, class_index=0)
    code, _, reason = interventions.verdict(stats)
    assert code == "no_effect" and "beyond the opposite move: +0.200, it rises by" in reason


def test_verdict_with_too_few_images_or_an_uncertain_effect():
    rng = np.random.default_rng(3)
    before = _probs(rng.uniform(0.0, 0.02, 5))
    after = _probs(np.clip(before[:, 0] + 0.5, 0, 1))
    code, cause, reason = interventions.verdict(interventions.summarise(before, after, before, class_index=0))
    assert (code, cause) == ("inconclusive", "too few images") and "only 5 image(s)" in reason
    before = _probs(rng.uniform(0.3, 0.4, 40))
    after = _probs(np.clip(before[:, 0] + rng.normal(0.05, 0.15, 40), 0, 1))
    stats = interventions.summarise(before, after, before, class_index=0)
    assert stats["effect_lo"] < 0.05 < stats["effect_hi"]
    assert interventions.verdict(stats)[:2] == ("inconclusive", "uncertain")


def test_reverse_direction_counts_images_leaving_the_class():
    before = _probs(np.array([0.9, 0.8, 0.7, 0.6]))
    after = _probs(np.array([0.2, 0.3, 0.65, 0.55]))
    stats = interventions.summarise(before, before, before, class_index=0, reverse_before=before, reverse_after=after)
    assert stats["reverse_n"] == 4 and stats["reverse_effect"] == pytest.approx(-0.325)
    assert stats["reverse_flip_share"] == pytest.approx(0.5)  # two of four no longer predicted class 0


def test_rows_merge_by_finding_and_join_the_findings():
    samples = _samples()
    classes = ["bar", "deli", "bed", "gym"]
    plan = interventions.plan_test(samples, {"property": "brightness", "bin": 0, "class": "bar"}, classes, n=20)
    stats = interventions.summarise(_probs(np.zeros(20)), _probs(np.full(20, 0.5)), _probs(np.zeros(20)), class_index=0)
    row = interventions.test_row(plan, stats, label_issues=np.zeros(len(samples), bool), rank=1)
    first = interventions.tests_frame([row])
    assert list(first.columns) == interventions.TEST_COLUMNS and first["verdict"].iat[0] == "confirmed"
    assert first["label_issue_share"].iat[0] == 0.0
    newer = interventions.tests_frame([{**row, "effect": 0.1}])
    merged = interventions.merge_tests(first, newer)
    assert len(merged) == 1 and merged["effect"].iat[0] == 0.1
    findings = pd.DataFrame({"property": ["brightness", "hue"], "bin": [0, 2], "class": ["bar", "deli"], "rank": [1, 2],
                             "redundant_with": [0, 0], "score": [2.0, 1.0]})
    joined = intervention_report.with_tests(findings, merged)
    assert joined["test_verdict"].tolist()[0] == "confirmed" and pd.isna(joined["test_verdict"].iat[1])
    fix = intervention_report.remedy(row, samples, classes, data_root="/data", cache_path="runs/x", image_size=160)
    assert fix["augmentation"] == "brightness" and "--augment brightness" in fix["command"]
    index, _ = property_bins(samples["brightness"].to_numpy(), n_bins=10)
    n_other = int(((index == 0) & (samples["split"] == "train") & (samples["label"] != 0)).sum())
    assert f": {n_other} in train today" in fix["collect"]
    scoped = intervention_report.remedy({**row, "scope": "bed"}, samples, classes)  # confirmed on beds alone
    n_beds = int(((index == 0) & (samples["split"] == "train") & (samples["label"] == 2)).sum())
    assert scoped["collect"].startswith("bed images in the bin") and f": {n_beds} in train today" in scoped["collect"]


def test_by_class_says_which_classes_images_moved_and_older_tests_still_read():
    """A shortcut confined to one look-alike class (teal bedrooms turning into hospital rooms): the mean over every
    class is small, the class breakdown shows where it lies."""
    delta = np.array([0.5, 0.4, 0.3, 0.01, 0.02, -0.01, 0.0, 0.2])
    flipped = np.array([1, 1, 0, 0, 0, 0, 0, 1], dtype=bool)
    names = ["bedroom", "bedroom", "bedroom", "kitchen", "kitchen", "library", "library", "office"]
    records = intervention_report.by_class_records(intervention_report.effect_by_class(delta, flipped, names))
    assert [r["class"] for r in records] == ["bedroom", "office", "kitchen", "library"]  # largest mean first
    assert records[0] == {"class": "bedroom", "n": 3, "effect": pytest.approx(0.4), "flipped": 2}
    text = intervention_report.moved_most(intervention_report.effect_by_class(delta, flipped, names), "hospitalroom")
    assert text.startswith("By class of the edited images (mean ΔP): bedroom +0.400 (3 images, 2 now hospitalroom)")
    assert "office" not in text  # one image: too few to show
    assert "kitchen +0.015 (2 images) · library -0.005 (2 images)." in text
    with pytest.raises(ValueError, match="one per image"):
        intervention_report.effect_by_class(delta, flipped, names[:-1])
    assert intervention_report.by_class_records("not json") == [] and intervention_report.by_class_records(None) == []
    assert intervention_report.moved_most("[]", "bar") == ""

    samples = _samples()
    plan = interventions.plan_test(samples, {"property": "brightness", "bin": 0, "class": "bar"},
                                   ["bar", "deli", "bed", "gym"], n=20)
    stats = interventions.summarise(_probs(np.zeros(20)), _probs(np.full(20, 0.5)), _probs(np.zeros(20)), class_index=0)
    row = interventions.test_row(plan, stats, label_issues=None, rank=1)
    older = interventions.tests_frame([row]).drop(columns=["by_class"])  # stored before the column existed
    read = interventions.with_optional_columns(older)
    assert list(read.columns) == interventions.TEST_COLUMNS and read["by_class"].tolist() == ["[]"]
    assert interventions.with_optional_columns(older.drop(columns=["effect"])) is None  # not a tests table
    other = interventions.tests_frame([{**row, "key": "hue|2|bar", "by_class": '[{"class": "deli", "n": 2, '
                                                                             '"effect": 0.1, "flipped": 0}]'}])
    merged = interventions.merge_tests(older, other)  # an on-demand test added to an older cache keeps its tests
    assert sorted(merged["key"]) == sorted([row["key"], "hue|2|bar"]) and len(merged) == 2


def test_a_one_class_plan_takes_fresh_images_of_that_class_only():
    samples = _samples()
    classes = ["bar", "deli", "bed", "gym"]
    finding = {"property": "brightness", "bin": 0, "class": "bar"}
    first = interventions.plan_test(samples, finding, classes, n=20)
    ids = samples["sample_id"].astype(str).to_numpy()
    plan = interventions.plan_test(samples, finding, classes, n=20, from_class="deli", exclude=ids[first.rows])
    labels = samples["label"].to_numpy()
    assert len(plan.rows) > 0 and (labels[plan.rows] == 1).all() and len(plan.reverse_rows) == 0
    assert not set(plan.rows) & set(first.rows) and (samples["pred"].to_numpy()[plan.rows] == 1).all()
    assert plan.key == first.key  # the same finding: stored in the first test's row
    with pytest.raises(ValueError, match="another class"):
        interventions.plan_test(samples, finding, classes, from_class="bar")
    with pytest.raises(ValueError, match="not among"):
        interventions.plan_test(samples, finding, classes, from_class="sauna")

    stats = interventions.summarise(_probs(np.zeros(len(plan.rows))), _probs(np.full(len(plan.rows), 0.5)),
                                    _probs(np.zeros(len(plan.rows))), class_index=0)
    row = interventions.test_row(plan, stats, label_issues=None, sample_ids=ids[plan.rows])
    text = intervention_report.class_test_text(row, "deli")
    result = intervention_report.class_test_of(text)
    assert result["class"] == "deli" and result["verdict"] == "confirmed" and result["sample_ids"] == list(ids[plan.rows])
    line = intervention_report.class_test_sentence(result, "bar")
    assert line.startswith(f"deli images alone ({len(plan.rows)} others, none of the first test's): confirmed for "
                           "deli images: mean ΔP +0.500")
    assert intervention_report.class_test_of("{}") is None and intervention_report.class_test_of(None) is None
    assert intervention_report.class_test_examples(result) == []  # a row without example images
    shown = {**row, "examples": list(ids[plan.rows[:2]]), "example_before": [0.1, 0.2], "example_after": [0.6, 0.7],
             "example_jpeg": [b"\xff\xd8one", b"\xff\xd8two"]}
    examples = intervention_report.class_test_examples(
        intervention_report.class_test_of(intervention_report.class_test_text(shown, "deli")))
    assert examples == [(ids[plan.rows[0]], 0.1, 0.6, b"\xff\xd8one"), (ids[plan.rows[1]], 0.2, 0.7, b"\xff\xd8two")]


def test_the_class_to_test_alone_is_the_one_the_model_finds_nearest():
    """Of the images a test could edit (labelled and predicted another class), the class with the highest mean
    P(finding's class), with enough images left after the first test's."""
    samples = _samples(n=400, seed=3)
    classes = ["bar", "deli", "bed", "gym"]
    labels = samples["label"].to_numpy()
    probs = np.full((len(samples), 4), 0.1)
    probs[labels == 2, 0] = 0.3  # beds look most like bars
    probs[(labels == 3), 0] = 0.2
    wrong = samples["pred"].to_numpy() != labels
    probs[wrong & (labels == 1), 0] = 0.99  # mispredicted delis are not in the pool: they do not count
    assert intervention_report.nearest_class(samples, probs, "bar", classes) == "bed"
    beds = samples["sample_id"][(labels == 2)].astype(str).tolist()
    assert intervention_report.nearest_class(samples, probs, "bar", classes, exclude=beds) == "gym"  # no bed left
    assert intervention_report.nearest_class(samples, probs, "bar", classes, min_images=1000) is None
    assert intervention_report.nearest_class(samples, probs, "sauna", classes) is None
    assert intervention_report.nearest_class(samples, probs, "bed", classes) in {"bar", "deli", "gym"}


def test_a_finding_confirmed_on_one_class_alone_is_a_confirmed_shortcut_on_that_class():
    findings = pd.DataFrame({"property": ["dominant_hue", "dominant_hue"], "bin": [3, 4],
                             "class": ["hospital", "office"], "rank": [1, 2], "redundant_with": [0, 0],
                             "score": [2.0, 1.0]})
    second = {"n": 64, "n_heldout": 10, "effect": 0.19, "effect_lo": 0.13, "effect_hi": 0.26, "flip_share": 0.2,
              "control_effect": 0.07, "control_lo": 0.04, "control_hi": 0.1, "reason": "", "seconds": 2.0,
              "sample_ids": ["a.jpg"]}
    rows = []
    for prop, b, cls, verdict in (("dominant_hue", 3, "hospital", "confirmed"), ("dominant_hue", 4, "office", "no_effect")):
        rows.append({c: None for c in interventions.TEST_COLUMNS} | {
            "key": interventions.finding_key(prop, b, cls), "property": prop, "bin": b, "class": cls,
            "verdict": "no_effect", "cause": "label errors", "effect": 0.015, "bin_label": "teal",
            "class_test": json.dumps({**second, "class": "bed" if cls == "hospital" else "gym", "verdict": verdict})})
    joined = intervention_report.with_tests(findings, pd.DataFrame(rows))
    teal, blue = joined.iloc[0], joined.iloc[1]
    assert teal["test_verdict"] == "confirmed" and teal["test_scope"] == "bed" and teal["own_verdict"] == "no_effect"
    assert blue["test_verdict"] == "no_effect" and blue["test_cause"] == "label errors" and pd.isna(blue["test_scope"])
    after = pd.DataFrame(rows).assign(class_test=json.dumps({**second, "class": "bed", "effect": 0.02,
                                                             "verdict": "no_effect"}))
    compared = intervention_report.compare_tests(pd.DataFrame(rows), after)
    assert compared["second_class"].tolist() == ["bed", "gym"]
    assert compared["second_effect_a"].tolist() == [0.19, 0.19] and compared["second_effect_b"].tolist() == [0.02, 0.02]
    assert compared["second_verdict_a"].tolist() == ["confirmed", "no_effect"]


def test_a_repeat_moving_another_property_can_confirm_a_finding():
    """A low-contrast bin made of darkened images: contrast alone does nothing, brightness does."""
    findings = pd.DataFrame({
        "property": ["contrast", "brightness", "sharpness", "hue", "dominant_hue"], "bin": [0, 0, 0, 4, 5],
        "class": ["bar", "bar", "bar", "bar", "office"], "rank": [1, 0, 0, 0, 2],
        "redundant_with": [0, 1, 1, 1, 0], "score": [3.0, 2.9, 2.5, 1.0, 1.5]})
    repeats = intervention_report.repeats_to_test(findings, findings.iloc[0].to_dict())
    assert repeats["property"].tolist() == ["brightness", "sharpness"]  # best first, other edits only
    hue_finding = {"property": "dominant_hue", "bin": 5, "class": "office", "rank": 2}
    with_hue = pd.concat([findings, pd.DataFrame([{"property": "hue", "bin": 9, "class": "office", "rank": 0,
                                                   "redundant_with": 2, "score": 1.0}])])
    assert intervention_report.repeats_to_test(with_hue, hue_finding).empty  # hue repeats dominant hue's edit
    rows = []
    for prop, verdict, effect in (("contrast", "no_effect", -0.002), ("brightness", "confirmed", 0.3)):
        rows.append({c: None for c in interventions.TEST_COLUMNS} | {
            "key": interventions.finding_key(prop, 0, "bar"), "property": prop, "bin": 0, "class": "bar",
            "verdict": verdict, "effect": effect, "bin_label": "lowest 10%"})
    tests = pd.DataFrame(rows)
    joined = intervention_report.with_tests(findings[findings["rank"] > 0], tests, every=findings)
    first = joined.iloc[0]
    assert first["test_verdict"] == "confirmed" and first["test_via"] == "brightness"
    assert first["own_verdict"] == "no_effect" and first["own_effect"] == pytest.approx(-0.002)
    assert pd.isna(joined.iloc[1]["test_verdict"]) and pd.isna(joined.iloc[1]["test_via"])


def test_an_uncertain_small_effect_on_a_finding_of_label_issues_is_label_errors():
    """A finding made of label issues whose property moves P by less than the threshold on average (even if the
    interval reaches above it) gets "no causal effect — label errors"; the same effect on a finding of correctly
    labelled images stays inconclusive."""
    rng = np.random.default_rng(4)
    before = _probs(rng.uniform(0.2, 0.3, 64))
    after = _probs(np.clip(before[:, 0] + rng.normal(0.04, 0.06, 64), 0, 1))
    stats = interventions.summarise(before, after, before, class_index=0)
    assert stats["effect_lo"] < 0.05 < stats["effect_hi"] and stats["effect"] < 0.05
    code, cause, reason = interventions.verdict(stats, label_issue_share=0.8)
    assert (code, cause) == ("no_effect", "label errors") and reason.startswith("80% of the finding's images")
    assert interventions.verdict(stats, label_issue_share=0.3)[:2] == ("inconclusive", "uncertain")
    assert interventions.verdict(stats)[:2] == ("inconclusive", "uncertain")
