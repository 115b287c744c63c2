"""Predictions from any framework (`python -m indoor import`): a scikit-learn model's probabilities on the demo's
embeddings import, every page opens on the imported cache, Compare works between an own build, a checkpoint build
and an import, and each kind of bad predictions file gives one clear message."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from indoor.analysis.tables import build_tables
from indoor.cache import load_cache
from indoor.cli import main

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGES = [None] + sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
COMPARE, EXPLAIN = "pages/11_Compare.py", "pages/9_Explain.py"


@pytest.fixture(scope="module")
def sklearn_predictions(demo_cache, tmp_path_factory) -> dict:
    """A scikit-learn logistic regression fit on the demo's train embeddings: its probabilities for every image
    as a CSV (one column per class, named by ``classes_``), the embeddings as .npy in the CSV's row order."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("predictions")
    samples = demo_cache.samples.sample(frac=1.0, random_state=3).reset_index(drop=True)  # any row order
    rows = demo_cache.samples.reset_index().set_index("sample_id").loc[samples["sample_id"], "index"].to_numpy()
    embeddings = np.asarray(demo_cache.embeddings)[rows]
    names = np.array(demo_cache.classes)[samples["label"].to_numpy()]
    train = samples["split"].to_numpy() == "train"
    model = LogisticRegression(C=0.5, max_iter=500).fit(embeddings[train], names[train])
    probs = model.predict_proba(embeddings)
    frame = pd.DataFrame(probs, columns=model.classes_)
    frame.insert(0, "path", samples["sample_id"])
    frame.insert(1, "label", names)
    frame.insert(2, "split", samples["split"])
    frame.to_csv(folder / "preds.csv", index=False)
    np.save(folder / "emb.npy", embeddings)
    return {"folder": folder, "frame": frame, "probs": probs, "classes": list(model.classes_),
            "embeddings": embeddings}


@pytest.fixture(scope="module")
def imported(sklearn_predictions, demo_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "imported"
    folder = sklearn_predictions["folder"]
    assert main(["import", "--data", str(demo_data / "images"), "--predictions", str(folder / "preds.csv"),
                 "--embeddings", str(folder / "emb.npy"), "--out", str(out), "--thumb-size", "64", "--quiet"]) == 0
    return out


def test_sklearn_predictions_import_as_given(imported, sklearn_predictions, demo_cache):
    cache = load_cache(imported)
    assert cache.classes == sorted(sklearn_predictions["classes"]) == demo_cache.classes
    frame = sklearn_predictions["frame"].set_index("path")
    samples = cache.samples
    expected = frame.loc[samples["sample_id"], cache.classes].to_numpy()
    np.testing.assert_allclose(np.asarray(cache.probs), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(cache.embeddings),
                               sklearn_predictions["embeddings"][frame.index.get_indexer(samples["sample_id"])])
    assert (samples["pred"].to_numpy() == expected.argmax(axis=1)).all()
    assert (samples["label"].map(lambda i: cache.classes[i]).to_numpy() == frame.loc[samples["sample_id"], "label"]).all()
    own = demo_cache.samples.set_index("sample_id")  # same images: same pixels, same properties
    assert (own.loc[samples["sample_id"], "pixel_hash"].to_numpy() == samples["pixel_hash"].to_numpy()).all()
    np.testing.assert_allclose(own.loc[samples["sample_id"], "brightness"], samples["brightness"], atol=1e-6)
    meta = cache.meta
    assert meta["source"]["kind"] == "import" and meta["source"]["embeddings"] == "file emb.npy"
    assert meta["probs_out_of_sample"] == {"train": False, "val": True, "test": True}
    assert meta["folds"] == 0 and (samples["fold"] == -1).all() and not cache.head_path.exists()
    assert cache.model_path is None and (imported / "thumbs" / "000000.jpg").is_file()
    # the train split's probabilities are in-sample: only test images are flagged, and the analyses say so
    issues = cache.table("label_issues")
    assert issues["is_issue"].any() and not issues.loc[issues["split"] == "train", "is_issue"].any()
    assert set(cache.table("multiclass")["row"]) <= set(np.flatnonzero(samples["split"] != "train"))
    messages = cache.table("warnings")
    in_sample = messages[messages["message"].str.contains("in-sample")]
    assert set(in_sample["analysis"]) == {"label_issues", "merges", "shortcuts"}
    assert "--out-of-sample" in in_sample["message"].iloc[0]


def test_out_of_sample_list_column_with_logits_and_our_backbone(sklearn_predictions, demo_data, tmp_path):
    frame = sklearn_predictions["frame"]
    classes = sklearn_predictions["classes"]
    logits = np.log(np.clip(frame[classes].to_numpy(), 1e-9, 1)) + 3.0  # any shift: soft-max undoes it
    table = pd.DataFrame({"path": frame["path"], "label": frame["label"], "split": frame["split"],
                          "probs": list(logits), "note": "x"})
    table.to_parquet(tmp_path / "preds.parquet")
    code = main(["import", "--data", str(demo_data / "images"), "--predictions", str(tmp_path / "preds.parquet"),
                 "--logits", "--out-of-sample", "--out", str(tmp_path / "c"), "--image-size", "64",
                 "--thumb-size", "48", "--quiet"])
    assert code == 0
    cache = load_cache(tmp_path / "c")
    expected = frame.set_index("path").loc[cache.samples["sample_id"], cache.classes].to_numpy()
    np.testing.assert_allclose(np.asarray(cache.probs), expected / expected.sum(1, keepdims=True), atol=1e-4)
    assert cache.meta["probs_out_of_sample"]["train"] is True
    assert cache.meta["backbone"]["name"] == "efficientnet_lite0" and np.asarray(cache.embeddings).shape[1] == 1280
    assert "note" in " ".join(cache.meta["notes"])
    assert not cache.table("warnings")["message"].str.contains("in-sample").any()


# ---------------------------------------------------------------------------------------------- the pages


def _open(monkeypatch, cache_path: Path, page: str | None = None, **query: str) -> AppTest:
    monkeypatch.setenv("INDOOR_CACHE", str(cache_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.query_params = dict(query)
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def test_every_page_opens_on_an_imported_cache(monkeypatch, imported):
    at = _open(monkeypatch, imported)
    captions = " ".join(c.value for c in at.caption)
    assert "train probabilities are in-sample" in captions and "imported embeddings at" not in captions
    assert "imported, in-sample (fit on these labels)" in at.dataframe[0].value["value"].tolist()  # run metadata
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
        assert any("Source\\: imported predictions preds.csv" in c.value for c in at.sidebar.caption), page
        if page in ("pages/5_Label_issues.py", "pages/6_Class_merges.py", "pages/7_Shortcuts.py"):
            assert any("in-sample" in w.value for w in at.warning), page
        if page == "pages/1_Confusion.py":
            assert "train (in-sample)" in str(at.segmented_control(key="confusion.split").options)


def test_explain_shows_neighbours_without_a_model(monkeypatch, imported):
    cache = load_cache(imported)
    sample = str(cache.samples["sample_id"].iat[0])
    at = _open(monkeypatch, imported, EXPLAIN, sample=sample)
    assert not at.error
    assert any("imported predictions, not a model" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "explain.panel.go"]  # no model to explain with
    assert any("share this image's given label" in c.value for c in at.caption)


@pytest.fixture(scope="module")
def checkpoint_build(demo_data, tmp_path_factory) -> Path:
    """The demo built from a torchvision resnet18 checkpoint with random weights (its own classifier for test)."""
    import torch
    import torchvision

    from indoor.cache.build import BuildOptions, build_cache
    from indoor.data.layouts import discover

    folder = tmp_path_factory.mktemp("ckpt")
    index = discover(demo_data / "images")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=len(index.classes))
    torch.save({"state_dict": model.state_dict(), "classes": index.classes}, folder / "resnet18.pt")
    out = folder / "runs" / "checkpoint"
    build_cache(index, out, BuildOptions(backbone="tv:resnet18", weights=str(folder / "resnet18.pt"), head="model",
                                         image_size=64, folds=2, thumb_size=48, workers=2, progress=False),
                log=lambda _: None)
    return out


@pytest.mark.parametrize("pair", [("own", "import"), ("import", "checkpoint"), ("checkpoint", "own")])
def test_compare_between_any_two_sources(monkeypatch, demo_cache_path, imported, checkpoint_build, pair):
    from indoor.app import state

    paths = {"own": demo_cache_path, "import": imported, "checkpoint": checkpoint_build}
    a, b = (paths[name] for name in pair)
    monkeypatch.setattr(state, "RUNS", Path(b).parent)  # offered, as a cache under runs/ is
    at = _open(monkeypatch, a, COMPARE, b=str(b))
    assert not at.error, [e.value for e in at.error]
    names = {"own": "own build", "import": "imported predictions preds.csv",
             "checkpoint": "your checkpoint resnet18.pt (its own classifier)"}
    text = " ".join(c.value for c in at.caption)
    assert f"A\\: {names[pair[0]]}, B\\: {names[pair[1]]}" in text
    n_test = int((load_cache(a).samples["split"] == "test").sum())
    assert at.metric and any(f"{n_test:,} images" in m.proto.help for m in at.metric)
    assert not [w for w in at.warning if "different data sets" in w.value]  # the same pixels in every run
    if "import" in pair and "own" in pair:
        assert "train probabilities are in-sample" in text


def test_every_page_opens_on_a_checkpoint_cache(monkeypatch, checkpoint_build):
    at = _open(monkeypatch, checkpoint_build)
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        # a random-weight checkpoint is too weak to judge labels: that banner is the one error a page may show
        errors = [e.value for e in at.error if "too weak to judge labels" not in e.value]
        assert not errors, (page, errors)
    assert any("your checkpoint resnet18.pt (its own classifier)" in c.value for c in at.sidebar.caption)


# ------------------------------------------------------------------------------------------ bad files


def _bad(frame: pd.DataFrame, change) -> pd.DataFrame:
    frame = frame.copy()
    changed = change(frame)
    return frame if changed is None else changed


BAD = {
    "nan": (lambda f: f.__setitem__("bar", f["bar"].where(f.index != 4)), r"line 6: the probability of 'bar' is "
                                                                          r"missing or NaN \(1 such row\)"),
    "negative": (lambda f: f.loc.__setitem__((2, "bar"), -0.2), r"line 4: the probability of 'bar' is negative"),
    "not summing": (lambda f: f.loc.__setitem__((7, "bar"), f.loc[7, "bar"] + 0.3),
                    r"line 9: the probabilities sum to 1\.3, not 1 \(within 0\.001; 1 such row\)"),
    "unknown path": (lambda f: f.loc.__setitem__((3, "path"), "bar/nowhere.jpg"),
                     r"line 5: no image at 'bar/nowhere\.jpg' under .* \(1 such row\)"),
    "duplicate path": (lambda f: f.loc.__setitem__((5, "path"), f.loc[1, "path"]),
                       r"line 7: duplicate path '.*' \(first on line 3\)"),
    "missing class": (lambda f: f.drop(columns="deli"),
                      r"label 'deli' has no probability column \(missing class: 'deli'\)"),
    "escaping path": (lambda f: f.loc.__setitem__((6, "path"), "../../../../etc/passwd"),
                      r"line 8: path '\.\./\.\./\.\./\.\./etc/passwd' escapes the data root"),
    "absolute path elsewhere": (lambda f: f.loc.__setitem__((6, "path"), "/etc/hostname"),
                                r"line 8: path '/etc/hostname' escapes the data root"),
    "not a number": (lambda f: f.__setitem__("bar", f["bar"].astype(object).where(f.index != 2, "high")),
                     r"line 4: column 'bar' value 'high' is not a number"),
    "bad split": (lambda f: f.loc.__setitem__((2, "split"), "holdout"), r"line 4: split 'holdout' is not one of"),
    "missing column": (lambda f: f.drop(columns="split"), r"missing column\(s\) 'split'"),
    "class without images": (lambda f: f.insert(3, "zoo", 0.0), r"class 'zoo' has a probability column but no image"),
}


@pytest.mark.parametrize("problem", list(BAD))
def test_each_bad_predictions_file_gives_one_clear_message(problem, sklearn_predictions, demo_data, tmp_path, capsys):
    change, message = BAD[problem]
    frame = _bad(sklearn_predictions["frame"], change)
    frame.to_csv(tmp_path / "bad.csv", index=False)
    code = main(["import", "--data", str(demo_data / "images"), "--predictions", str(tmp_path / "bad.csv"),
                 "--out", str(tmp_path / "c"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: bad.csv"), err
    assert re.search(message, err), err
    assert not (tmp_path / "c").exists()  # refused before any work


def test_bad_embeddings_are_refused(sklearn_predictions, demo_data, tmp_path, capsys):
    folder = sklearn_predictions["folder"]
    embeddings = sklearn_predictions["embeddings"]
    args = ["import", "--data", str(demo_data / "images"), "--predictions", str(folder / "preds.csv"), "--out",
            str(tmp_path / "c"), "--quiet", "--embeddings"]
    np.save(tmp_path / "short.npy", embeddings[:-1])
    assert main(args + [str(tmp_path / "short.npy")]) == 2
    assert f"has shape ({len(embeddings) - 1}, {embeddings.shape[1]})" in capsys.readouterr().err
    broken = embeddings.copy()
    broken[3, 0] = np.nan
    np.save(tmp_path / "nan.npy", broken)
    assert main(args + [str(tmp_path / "nan.npy")]) == 2
    assert "line 5: the embedding from file nan.npy has NaN or infinite values" in capsys.readouterr().err
    assert main(args + ["nowhere"]) == 2
    assert "neither a column of preds.csv nor a .npy file" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_build_tables_uses_out_of_sample_rows_only(demo_cache):
    samples = demo_cache.samples
    probs, embeddings = np.asarray(demo_cache.probs), np.asarray(demo_cache.embeddings)
    full = build_tables(samples, probs, embeddings, demo_cache.classes)
    partial = build_tables(samples, probs, embeddings, demo_cache.classes,
                           probs_out_of_sample={"train": False, "val": True, "test": True}, in_sample_remedy="Fix.")
    test = samples["split"].to_numpy() == "test"
    assert not partial["label_issues"].loc[~test, "is_issue"].any()
    assert partial["class_quality"]["n"].sum() == test.sum()  # per-class quality of the trusted rows only
    assert full["label_issues"]["is_issue"].sum() > partial["label_issues"]["is_issue"].sum()
    ranks = partial["label_issues"].sort_values("review_rank")
    flagged = int(ranks["is_issue"].sum())
    assert ranks["is_issue"].iloc[:flagged].all() and (ranks["split"].iloc[flagged:test.sum()] == "test").all()
    assert partial["warnings"]["message"].str.endswith("Fix.").sum() == 3
    assert not full["warnings"]["message"].str.contains("in-sample").any()
