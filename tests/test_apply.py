"""Applying decisions and merges, retraining on the cleaned manifest, comparing runs."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from indoor.decisions.apply import ApplyError, apply_decisions, manifest_csv, resolve_merges, write_manifest
from indoor.cache import load_cache
from indoor.analysis.compare import compare_runs
from indoor.decisions import Decision, DecisionStore, export_csv, merges_csv, unneutralise

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["bar", "bookstore", "deli", "videostore"]


def _samples() -> pd.DataFrame:
    return pd.DataFrame({
        "sample_id": [f"train/x{i}.jpg" for i in range(6)],
        "split": ["train"] * 4 + ["test"] * 2,
        "label": [0, 1, 2, 3, 0, 1],
    })


def test_relabel_remove_multilabel_keep():
    decisions = [
        Decision("train/x0.jpg", "relabel", new_label="deli", annotator="ann"),
        Decision("train/x1.jpg", "remove", annotator="ann"),
        Decision("train/x2.jpg", "multi_label", extra_labels=("bar",), annotator="ann"),
        Decision("train/x3.jpg", "keep", annotator="ann"),
        Decision("train/x4.jpg", "unsure", annotator="ann"),
    ]
    manifest, report = apply_decisions(_samples(), CLASSES, decisions)
    assert list(manifest.columns) == ["path", "label", "split", "extra_labels"]
    rows = manifest.set_index("path")
    assert "train/x1.jpg" not in rows.index and len(manifest) == 5
    assert rows.loc["train/x0.jpg", "label"] == "deli"
    assert rows.loc["train/x2.jpg", "label"] == "deli" and rows.loc["train/x2.jpg", "extra_labels"] == "bar"
    assert rows.loc["train/x3.jpg", "label"] == "videostore" and rows.loc["train/x4.jpg", "label"] == "bar"
    assert (report.relabeled, report.removed, report.multi_label, report.unchanged) == (1, 1, 1, 3)
    assert set(report.changes["action"]) == {"relabel", "remove", "multi_label"}


def test_merges_apply_after_relabels_and_chain():
    merges = pd.DataFrame({"class_a": ["bookstore", "media_store"], "class_b": ["videostore", "deli"],
                           "into": ["media_store", "shop"]})
    mapping = resolve_merges(merges, CLASSES)
    assert mapping == {"bar": "bar", "bookstore": "shop", "deli": "shop", "videostore": "shop"}
    manifest, report = apply_decisions(_samples(), CLASSES, [Decision("train/x0.jpg", "relabel", new_label="bookstore")],
                                       merges=merges)
    assert manifest.set_index("path").loc["train/x0.jpg", "label"] == "shop"
    assert set(manifest["label"]) == {"bar", "shop"}
    assert report.relabeled == 1 and report.merged == 4


def test_conflicts_and_unknowns_are_refused_with_every_problem():
    decisions = [
        Decision("train/x0.jpg", "relabel", new_label="deli", annotator="ann"),
        Decision("train/x0.jpg", "remove", annotator="bob"),
        Decision("train/nope.jpg", "keep", annotator="ann"),
        Decision("train/x2.jpg", "relabel", new_label="sauna", annotator="ann"),
    ]
    with pytest.raises(ApplyError) as error:
        apply_decisions(_samples(), CLASSES, decisions)
    text = str(error.value)
    assert "train/x0.jpg: conflicting decisions" in text and "unknown sample_id 'train/nope.jpg'" in text
    assert "unknown class 'sauna'" in text
    manifest, _ = apply_decisions(_samples(), CLASSES, decisions[:2], annotator="bob")
    assert "train/x0.jpg" not in set(manifest["path"])
    with pytest.raises(ApplyError, match="unknown class 'sauna'"):
        resolve_merges(pd.DataFrame({"class_a": ["sauna"], "class_b": ["bar"], "into": ["x"]}), CLASSES)


NASTY = "=cmd|' /C calc'!A0"  # a merge target that a spreadsheet would run as a formula


def _nasty_manifest() -> pd.DataFrame:
    merges = pd.DataFrame({"class_a": ["bookstore"], "class_b": ["videostore"], "into": [NASTY]})
    decisions = [Decision("train/x2.jpg", "multi_label", extra_labels=("videostore",), annotator="ann")]
    manifest, report = apply_decisions(_samples(), CLASSES, decisions, merges=merges)
    assert report.merged == 3 and NASTY in set(manifest["label"])  # the frame holds the real name
    return manifest


def test_manifest_csv_neutralises_a_merge_target(tmp_path):
    manifest = _nasty_manifest()
    text = manifest_csv(manifest)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["path", "label", "split", "extra_labels"]
    labels = {r[0]: r[1] for r in rows[1:]}
    assert labels["train/x1.jpg"] == "'" + NASTY and labels["train/x0.jpg"] == "bar"
    assert {r[0]: r[3] for r in rows[1:]}["train/x2.jpg"] == "'" + NASTY  # extra_labels too
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    restored = pd.DataFrame([[unneutralise(c) for c in r] for r in rows[1:]], columns=rows[0])
    pd.testing.assert_frame_equal(restored, manifest.reset_index(drop=True))  # the guard round-trips
    write_manifest(manifest, tmp_path / "cleaned.csv")
    assert (tmp_path / "cleaned.csv").read_bytes() == text.encode("utf-8")


def test_a_neutralised_manifest_reads_back_with_the_real_class_names(tmp_path):
    from indoor.data.layouts import discover

    manifest = _nasty_manifest()
    for path in manifest["path"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    write_manifest(manifest, tmp_path / "cleaned.csv")
    index = discover(tmp_path, manifest=tmp_path / "cleaned.csv")
    assert index.classes == sorted(set(manifest["label"]))


def test_compare_runs_counts_fixed_and_broken():
    a = pd.DataFrame({"sample_id": ["s1", "s2", "s3", "s4"], "split": ["test"] * 4, "label": [0, 0, 1, 1], "pred": [0, 1, 1, 0]})
    b = pd.DataFrame({"sample_id": ["s1", "s2", "s3", "s5"], "split": ["test"] * 4, "label": [0, 0, 1, 1], "pred": [1, 0, 1, 1]})
    result = compare_runs(a, ["bar", "deli"], b, ["bar", "deli"])
    assert result.n_common == 3 and result.only_a == 1 and result.only_b == 1
    test = result.accuracy.set_index("split").loc["test"]
    assert test["top1_a"] == pytest.approx(2 / 3) and test["top1_b"] == pytest.approx(2 / 3)
    assert dict(zip(result.changed["sample_id"], result.changed["change"])) == {"s1": "broken", "s2": "fixed"}
    assert result.confusion_delta.shape == (2, 2) and np.allclose(result.confusion_delta.sum(axis=1), 0)
    truth = pd.Series({"s1": "deli", "s2": "deli", "s3": "deli"})
    by_truth = compare_runs(a, ["bar", "deli"], b, ["bar", "deli"], reference=truth)
    assert by_truth.accuracy.set_index("split").loc["test", "top1_b"] == pytest.approx(2 / 3)


def test_compare_runs_counts_shared_ids_with_other_pixels():
    a = pd.DataFrame({"sample_id": ["s1", "s2", "s3"], "split": ["test"] * 3, "label": [0, 1, 1], "pred": [0, 1, 0],
                      "pixel_hash": ["h1", "h2", "h3"]})
    same = compare_runs(a, ["bar", "deli"], a.copy(), ["bar", "deli"])
    assert same.n_other_pixels == 0
    other = a.assign(pixel_hash=["h1", "x2", "x3"])  # same relative paths, two of them other images
    assert compare_runs(a, ["bar", "deli"], other, ["bar", "deli"]).n_other_pixels == 2
    assert compare_runs(a.drop(columns="pixel_hash"), ["bar", "deli"], other, ["bar", "deli"]).n_other_pixels == 0


def test_cli_apply_then_build_on_the_manifest_then_compare(demo_cache_path, demo_data, tmp_path):
    cache = load_cache(demo_cache_path)
    truth = pd.read_csv(demo_data / "truth.csv")
    flipped = truth[(truth["flipped"] == 1) & truth["sample_id"].isin(cache.row_of)]
    assert len(flipped) > 0
    store = DecisionStore(tmp_path / "d.sqlite", classes=cache.classes, known_ids=set(cache.samples["sample_id"]))
    store.save_many([Decision(r.sample_id, "relabel", new_label=r.true_class, annotator="truth") for r in flipped.itertuples()])
    first_id = cache.samples["sample_id"].iat[0]
    store.save(Decision(first_id, "remove", annotator="truth"))
    store.save_merge("bookstore", "videostore", into="media_store", annotator="truth")
    (tmp_path / "decisions.csv").write_text(export_csv(store.current(), cache.samples, cache.classes))
    (tmp_path / "merges.csv").write_text(merges_csv(store.merges()))
    env = {**os.environ, "TQDM_DISABLE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "indoor", "apply", "--cache", str(demo_cache_path), "--decisions", str(tmp_path / "decisions.csv"),
         "--merges", str(tmp_path / "merges.csv"), "--out", str(tmp_path / "cleaned.csv")],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"{len(flipped)} relabeled, 1 removed" in result.stdout
    manifest = pd.read_csv(tmp_path / "cleaned.csv", keep_default_na=False)
    assert len(manifest) == len(cache.samples) - 1 and "media_store" in set(manifest["label"])
    assert not {"bookstore", "videostore"} & set(manifest["label"])

    result = subprocess.run(
        [sys.executable, "-m", "indoor", "build", "--data", cache.meta["data_root"], "--manifest", str(tmp_path / "cleaned.csv"),
         "--out", str(tmp_path / "cleaned"), "--image-size", "96", "--folds", "3", "--thumb-size", "48", "--quiet"],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    after = load_cache(tmp_path / "cleaned")
    assert after.meta["layout"] == "manifest" and "media_store" in after.classes and len(after.classes) == len(cache.classes) - 1
    # the relabeled images carry their true class in the new run
    relabeled = after.samples.set_index("sample_id").loc[flipped["sample_id"]]
    true_names = flipped["true_class"].replace({"bookstore": "media_store", "videostore": "media_store"}).to_numpy()
    assert (np.asarray(after.classes)[relabeled["label"].to_numpy()] == true_names).all()
    comparison = compare_runs(cache.samples, cache.classes, after.samples, after.classes)
    assert comparison.n_common == len(cache.samples) - 1 and comparison.only_a == 1
    assert comparison.n_other_pixels == 0  # the same images, rebuilt


def test_cli_apply_refuses_bad_csv_with_line_numbers(demo_cache_path, tmp_path):
    (tmp_path / "bad.csv").write_text("sample_id,action,new_label\nno/such.jpg,keep,\n")
    result = subprocess.run(
        [sys.executable, "-m", "indoor", "apply", "--cache", str(demo_cache_path), "--decisions", str(tmp_path / "bad.csv"),
         "--out", str(tmp_path / "out.csv")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "line 2" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_apply_on_a_latin1_decisions_csv_names_the_line(demo_cache_path, tmp_path):
    bad = tmp_path / "decisions.csv"
    bad.write_bytes("sample_id,action,new_label\nx.jpg,relabel,caf\u00e9\n".encode("latin-1"))
    result = subprocess.run([sys.executable, "-m", "indoor", "apply", "--cache", str(demo_cache_path), "--decisions",
                             str(bad), "--out", str(tmp_path / "out.csv")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "decisions.csv line 2: not UTF-8 text (byte 0xe9)" in result.stderr
    assert not (tmp_path / "out.csv").exists()
