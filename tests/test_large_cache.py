"""bench/make_large_cache.py (synthetic caches for 100k-1M row measurements) at a tiny size: the cache loads and
validates, has the promised structure (accuracy, in-group confusion, clusters, shared thumbnails, every table)
and every dashboard page opens on it. Also the writer's streaming API (indoor.cache.writer.stage_cache)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from indoor.analysis.tables import TABLES
from indoor.cache import CacheError, load_cache
from indoor.cache.format import EMBEDDINGS_FILE, PROBS_FILE, thumb_name
from indoor.cache.writer import stage_cache

from apptest_util import open_page

ROOT = Path(__file__).resolve().parents[1]
N, CLASSES = 2000, 40


def _module():
    spec = importlib.util.spec_from_file_location("make_large_cache", ROOT / "bench" / "make_large_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def large_cache(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("large") / "cache"
    assert _module().main([str(N), "--classes", str(CLASSES), "--sample", "800", "--out", str(out)]) == 0
    return out


def test_the_synthetic_cache_loads_and_has_the_promised_structure(large_cache):
    cache = load_cache(large_cache)
    samples = cache.samples
    assert len(samples) == N and cache.probs.shape == (N, CLASSES) and cache.embeddings.shape == (N, 64)
    assert np.allclose(np.asarray(cache.probs).sum(axis=1), 1, atol=1e-4)
    assert (samples["pred"].to_numpy() == np.asarray(cache.probs).argmax(axis=1)).all()
    accuracy = (samples["label"] == samples["pred"]).mean()
    assert 0.65 <= accuracy <= 0.92, accuracy
    groups = np.array([name.rsplit("_", 1)[0] for name in cache.classes])
    wrong = samples[samples["label"] != samples["pred"]]
    in_group = (groups[wrong["label"]] == groups[wrong["pred"]]).mean()
    assert in_group > 0.5, in_group  # the confusion matrix has blocks, not uniform noise
    xy = samples[["umap_x", "umap_y"]].to_numpy()
    assert xy.min() >= 0 and xy.max() <= 1
    right = samples["label"] == samples["pred"]
    spread = pd.DataFrame(xy[right]).groupby(samples["label"][right].to_numpy()).std().mean().mean()
    assert spread < 0.25 * xy.std(axis=0).mean(), spread  # clustered by class
    assert set(samples["split"]) == {"train", "val", "test"}
    assert samples["sample_id"].is_unique


def test_thumbnails_are_shared_hard_links_and_every_row_has_one(large_cache):
    inodes = {os.stat(large_cache / thumb_name(row)).st_ino for row in range(N)}
    assert 50 <= len(inodes) <= 400
    assert os.stat(large_cache / thumb_name(0)).st_nlink > 1
    assert not (large_cache / "thumbs" / ".thumb-pool").exists()


def test_every_analysis_table_is_present_and_points_at_real_rows(large_cache):
    cache = load_cache(large_cache)
    for name in TABLES:
        assert cache.has_table(name), name
    issues = cache.table("label_issues")
    assert len(issues) == N and (issues["row"].to_numpy() == np.arange(N)).all()
    assert 0 < issues["is_issue"].mean() < 0.2
    assert sorted(issues["review_rank"]) == list(range(N))
    for name, columns in {"multiclass": ["row"], "image_issues": ["row"], "nearest_train": ["row"],
                          "duplicate_pairs": ["row_a", "row_b"]}.items():
        table = cache.table(name)
        for column in columns:
            values = table[column].to_numpy()
            assert ((values >= 0) & (values < N)).all(), (name, column)
            if "sample_id" in table and column == "row":
                assert (table["sample_id"].to_numpy() == cache.samples["sample_id"].to_numpy()[values]).all()
    assert sorted(cache.table("class_order")["similarity"]) == list(range(CLASSES))
    assert cache.table("warnings")["message"].str.contains("Synthetic cache").any()


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "pages").glob("*.py")))
def test_every_page_opens_on_the_synthetic_cache(large_cache, monkeypatch, page):
    monkeypatch.setenv("INDOOR_CACHE", str(large_cache))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(f"pages/{page}").run()
    assert not at.exception, (page, at.exception)


def test_a_staged_cache_that_fails_validation_leaves_nothing_behind(tmp_path):
    out = tmp_path / "cache"
    with pytest.raises(CacheError):
        with stage_cache(out) as staged:
            staged.array(PROBS_FILE, (3, 2))[:] = 0.5
            staged.array(EMBEDDINGS_FILE, (3, 4))[:] = 1.0
            staged.commit(samples=pd.DataFrame({"sample_id": ["a", "b", "c"]}),
                          meta={"classes": ["x", "y"]})
    assert [p.name for p in out.iterdir() if not p.name.startswith(".indoor")] == []


def test_chunked_neighbours_match_the_explain_module(large_cache):
    from indoor.analysis.neighbours import nearest_training_rows
    from indoor.model.explain import nearest_training_images

    cache = load_cache(large_cache)
    train = cache.samples["split"].to_numpy() == "train"
    for row in (0, 17, N - 1):
        expected = nearest_training_images(cache.embeddings, row, train_mask=train, k=8)
        got = nearest_training_rows(cache.embeddings, row, train_mask=train, k=8, chunk_rows=300)
        assert got["row"].tolist() == expected["row"].tolist()
        assert np.allclose(got["similarity"], expected["similarity"])


@pytest.fixture(scope="module")
def places_like_cache(tmp_path_factory) -> Path:
    """365 classes (Places365's count), few rows: over the confusion explorer's full-matrix limit."""
    out = tmp_path_factory.mktemp("places") / "cache"
    assert _module().main(["3000", "--classes", "365", "--sample", "800", "--out", str(out)]) == 0
    return out


def test_the_confusion_explorer_opens_on_the_most_confused_of_365_classes(places_like_cache, monkeypatch):
    import json

    from indoor.analysis import confusion_focus

    cache = load_cache(places_like_cache)
    at = open_page(monkeypatch, places_like_cache, "pages/1_Confusion.py")

    def shown() -> list[int]:
        return next(json.loads(c.proto.json)["ids"] for c in at.get("bidi_component")
                    if c.proto.component_name == "indoor_heatmap")

    test = cache.samples[cache.samples["split"] == "test"]
    matrix = np.zeros((365, 365), dtype=int)
    np.add.at(matrix, (test["label"].to_numpy(), test["pred"].to_numpy()), 1)
    assert at.segmented_control(key="confusion.view").value == "top"
    assert sorted(shown()) == sorted(confusion_focus.most_confused(matrix, confusion_focus.DEFAULT_K).tolist())
    at.segmented_control(key="confusion.view").set_value("all").run()
    assert len(shown()) == 365
    at.segmented_control(key="confusion.view").set_value("class").run()
    centre = int(confusion_focus.most_confused(matrix, 1)[0])
    assert centre in shown()
    assert sorted(shown()) == sorted(confusion_focus.neighbours(matrix, centre, confusion_focus.DEFAULT_K).tolist())
    at.segmented_control(key="confusion.view").set_value("search").run()
    at.text_input(key="confusion.q").set_value(cache.classes[200]).run()
    assert 200 in shown() and not at.exception
