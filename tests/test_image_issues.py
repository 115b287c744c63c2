"""Image issues relative to the data set and the class (indoor/analysis/image_issues.py) and their view
(indoor/app/widgets/image_issues.py on the Shortcuts page)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indoor.analysis.image_issues import ISSUE_COLUMNS, ISSUE_NAMES, image_issues


def _frame(n: int, *, seed: int = 0, labels=None, **extra) -> pd.DataFrame:
    """n ordinary colour images (two classes unless ``labels``), properties with a little natural spread."""
    rng = np.random.default_rng(seed)
    base = dict(
        sample_id=[f"s{i}" for i in range(n)],
        label=np.asarray(labels) if labels is not None else np.arange(n) % 2,
        pred=np.zeros(n, int),
        brightness=rng.normal(0.5, 0.05, n), contrast=rng.normal(0.2, 0.02, n), colourfulness=np.full(n, 0.3),
        hue=np.full(n, 30.0), dominant_hue=np.full(n, 30.0), saturation=rng.uniform(0.2, 0.4, n),
        sharpness=np.exp(rng.normal(2.0, 0.2, n)), width=np.full(n, 100.0), height=np.full(n, 100.0),
    )
    base.update(extra)
    return pd.DataFrame(base)


def _found(table: pd.DataFrame) -> set[tuple[str, int]]:
    return {(r.issue, int(r.row)) for r in table.itertuples()}


def test_outliers_of_their_data_set_and_class_are_flagged():
    samples = _frame(200, seed=6)
    samples.loc[3, "brightness"] = 0.05
    samples.loc[4, "brightness"] = 0.98
    samples.loc[5, "sharpness"] = 0.05
    samples.loc[6, "contrast"] = 0.01
    samples.loc[7, ["width", "height"]] = [1000.0, 1000.0]
    samples.loc[8, "width"] = 400.0
    samples.loc[9, "saturation"] = 0.0
    table = image_issues(samples)
    assert list(table.columns) == ISSUE_COLUMNS
    got = _found(table)
    for expected in [("dark", 3), ("light", 4), ("blurry", 5), ("low_information", 6), ("odd_size", 7),
                     ("odd_aspect", 8), ("grayscale", 9)]:
        assert expected in got
    assert not any(row >= 10 for _, row in got)  # no ordinary image flagged
    assert list(dict.fromkeys(table["issue"])) == [k for k in ISSUE_NAMES if k in set(table["issue"])]
    dark = table[table["issue"] == "dark"].iloc[0]
    assert dark["value"] < dark["threshold"] and dark["z_data"] < -3.5 and dark["z_class"] < -3.5
    assert "below" in dark["reason"]


def test_a_grayscale_data_set_has_no_grayscale_issue():
    samples = _frame(300, seed=1, saturation=np.zeros(300))
    samples.loc[0, "saturation"] = 0.3  # one colour image among grayscale ones is not "grayscale" either
    assert "grayscale" not in set(image_issues(samples)["issue"])


def test_grayscale_needs_a_colour_class_too():
    labels = np.repeat([0, 1, 2], 50)
    saturation = np.random.default_rng(2).uniform(0.2, 0.4, 150)
    saturation[100:140] = 0.0  # class 2 is mostly grayscale (e.g. old photographs of one kind)
    saturation[[5, 60]] = 0.0  # single grayscale images in colour classes
    table = image_issues(_frame(150, labels=labels, saturation=saturation))
    gray = set(table.loc[table["issue"] == "grayscale", "row"])
    assert gray == {5, 60}


def test_blur_is_judged_against_the_class_own_sharpness():
    """Class 1 is smooth by nature (sea and sky): its images are not blurry; a blurred image of the sharp class
    0 is, and so is a sea photo far blurrier than other sea photos."""
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 0], [150, 50, 100])
    sharpness = np.where(labels == 0, np.exp(rng.normal(3.0, 0.2, 300)), np.exp(rng.normal(0.5, 0.2, 300)))
    sharpness[10] = np.exp(-1.0)
    sharpness[160] = np.exp(-2.5)
    table = image_issues(_frame(300, labels=labels, sharpness=sharpness))
    blurry = set(table.loc[table["issue"] == "blurry", "row"])
    assert blurry == {10, 160}
    # judged against the data set only (no class has enough images), the smooth class would be flagged whole
    data_only = image_issues(_frame(300, labels=labels, sharpness=sharpness), min_class_images=10_000)
    assert (labels[data_only.loc[data_only["issue"] == "blurry", "row"].to_numpy()] == 1).sum() >= 45


def test_a_dark_class_is_not_dark_but_a_dark_image_of_a_bright_class_is():
    labels = np.repeat([0, 1, 2], 60)
    rng = np.random.default_rng(4)
    brightness = np.where(labels == 0, rng.normal(0.12, 0.02, 180), rng.normal(0.55, 0.05, 180))
    brightness[100] = 0.08
    table = image_issues(_frame(180, labels=labels, brightness=brightness))
    assert set(table.loc[table["issue"] == "dark", "row"]) == {100}


def test_small_classes_are_judged_against_the_data_set_and_constant_data_flags_nothing():
    labels = np.r_[np.zeros(100, int), [1, 1, 1]]
    samples = _frame(103, labels=labels)
    samples.loc[101, "brightness"] = 0.02
    assert ("dark", 101) in _found(image_issues(samples, min_class_images=8))
    constant = _frame(50, brightness=np.full(50, 0.5), contrast=np.full(50, 0.2), sharpness=np.full(50, 5.0),
                      saturation=np.full(50, 0.3))
    assert image_issues(constant).empty
    assert list(image_issues(constant).columns) == ISSUE_COLUMNS
    assert image_issues(_frame(0)).empty


def test_demo_dark_image_issues_are_planted_dark_outside_the_dark_class(demo_cache, demo_truth):
    issues = image_issues(demo_cache.samples)
    dark_rows = issues.loc[issues["issue"] == "dark", "row"].to_numpy()
    assert len(dark_rows)
    assert demo_truth["dark"].to_numpy()[dark_rows].mean() >= 0.75
    # 80 % of bars are dark by construction: for an image labelled bar, dark is ordinary
    assert not (demo_truth["given_label"].to_numpy()[dark_rows] == "bar").any()
    # judged against the data set alone (before), the dark images flagged were bars
    before = image_issues(demo_cache.samples, min_class_images=10**9, z_data=3.5)
    before_rows = before.loc[before["issue"] == "dark", "row"].to_numpy()
    assert len(before_rows) and (demo_truth["given_label"].to_numpy()[before_rows] == "bar").mean() > 0.5


# ------------------------------------------------------------------------------------------------ fixtures + app

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def demo_truth(demo_cache, demo_data):
    truth = pd.read_csv(demo_data / "truth.csv", keep_default_na=False).set_index("sample_id")
    return truth.loc[demo_cache.samples["sample_id"]].reset_index()


def _open_issues(monkeypatch, cache_path, **query):
    from tests.test_analysis_pages import open_page

    return open_page(monkeypatch, cache_path, "pages/7_Shortcuts.py", tab="issues", **query)


def test_view_opens_on_a_non_empty_issue_with_counts_on_the_labels(monkeypatch, shared_copy):
    from indoor.cache import load_cache
    from indoor.cache.tables import cache_tables

    table = cache_tables(load_cache(shared_copy))["image_issues"]
    counts = table["issue"].value_counts()
    at = _open_issues(monkeypatch, shared_copy)
    control = next(b for b in at.get("button_group") if b.proto.label == "Issue")
    labels = [o.content for o in control.proto.options]
    assert labels == [f"{ISSUE_NAMES[k]} ({int(counts.get(k, 0))})" for k in ISSUE_NAMES]
    if counts.empty:
        assert any("No image stands out" in s.value for s in at.success)
        return
    first = next(k for k in ISSUE_NAMES if counts.get(k, 0))
    assert control.value in (first, [first])  # the first issue with images, not "Dark (0)"
    assert len(at.get("image")) >= 1  # the gallery of that issue


def test_a_deep_link_to_an_empty_issue_says_where_the_images_are(monkeypatch, shared_copy):
    from indoor.cache import load_cache
    from indoor.cache.tables import cache_tables

    table = cache_tables(load_cache(shared_copy))["image_issues"]
    empty = [k for k in ISSUE_NAMES if not (table["issue"] == k).any()]
    if not empty or table.empty:
        pytest.skip("every issue has images in this cache")
    at = _open_issues(monkeypatch, shared_copy, issue=empty[0])
    assert not at.exception
    assert any(f"No image is flagged {ISSUE_NAMES[empty[0]].lower()}" in i.value for i in at.info)
