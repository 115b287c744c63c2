"""Your own checkpoint, offline: torchvision and timm architectures with random weights saved as state dicts (with
and without wrappers and prefixes) build caches; wrong keys, class counts and class names are named errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import torchvision
from PIL import Image

from indoor.cache.build import BuildError, BuildOptions, build_cache
from indoor.cli import main
from indoor.data.layouts import discover
from indoor.model.backbones import BackboneError, create_backbone
from indoor.model.checkpoint import CheckpointError, class_order, read_checkpoint

SMALL = {"image_size": 64, "folds": 2, "thumb_size": 48, "workers": 0, "progress": False, "batch_size": 16}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Three classes of noisy colour fields, 8 images each (a flat layout: a seeded 20 % test split)."""
    root = tmp_path_factory.mktemp("own") / "images"
    rng = np.random.default_rng(0)
    for name, colour in {"blue": (40, 60, 200), "green": (40, 180, 60), "red": (200, 40, 40)}.items():
        (root / name).mkdir(parents=True)
        for i in range(8):
            pixels = np.clip(np.array(colour) + rng.normal(0, 30, (48, 64, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:02d}.jpg", quality=90)
    return root


def _tv_model(n_classes: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torchvision.models.resnet18(weights=None, num_classes=n_classes).eval()


def _model_probs(model: torch.nn.Module, backbone, paths: list[str]) -> np.ndarray:
    """The checkpoint model's own softmax on the images, preprocessed as the build preprocesses them."""
    with torch.no_grad():
        batch = torch.stack([backbone.preprocess(Image.open(p)) for p in paths])
        return model(batch).softmax(dim=1).double().numpy()


# ------------------------------------------------------------------------------------------------- builds


def test_torchvision_checkpoint_in_a_wrapper_builds_with_its_own_classifier(data_root, tmp_path):
    index = discover(data_root)
    model = _tv_model(3)
    checkpoint_classes = list(reversed(index.classes))  # output 0 is the last class: the build must map them
    weights = tmp_path / "resnet18.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()},
                "classes": checkpoint_classes, "epoch": 7}, weights)
    cache = build_cache(index, tmp_path / "cache", BuildOptions(backbone="tv:resnet18", weights=str(weights),
                                                                 head="model", **SMALL), log=lambda _: None)
    meta = cache.meta
    assert meta["source"]["kind"] == "checkpoint" and meta["source"]["head"] == "checkpoint"
    assert meta["source"]["class_order"] == "the checkpoint's class names"
    assert "own classifier" in meta["probs_source"]["test"] and "out-of-fold" in meta["probs_source"]["train"]
    assert meta["probs_out_of_sample"] == {"train": False, "val": True, "test": True}  # features saw the labels
    assert meta["backbone"]["checkpoint"]["num_classes"] == 3 and meta["backbone"]["embedding_dim"] == 512
    assert meta["preprocessing"]["crop_pct"] == 0.875 and meta["image_size"] == 64

    samples = cache.samples
    test = np.flatnonzero(samples["split"].to_numpy() == "test")
    backbone = create_backbone("tv:resnet18", image_size=64, weights=weights)
    own = _model_probs(model, backbone, samples["path"].iloc[test].tolist())
    position = [checkpoint_classes.index(name) for name in cache.classes]
    np.testing.assert_allclose(np.asarray(cache.probs)[test], own[:, position], atol=2e-4)
    train = samples["split"].to_numpy() == "train"
    assert (samples.loc[train, "fold"] >= 0).all() and (samples.loc[~train, "fold"] == -1).all()

    issues = cache.table("label_issues")  # in-sample train: never flagged, and the pages say why
    assert not issues.loc[issues["split"] == "train", "is_issue"].any()
    warnings = cache.table("warnings")
    assert set(warnings.loc[warnings["message"].str.contains("in-sample"), "analysis"]) == {
        "label_issues", "merges", "shortcuts"}
    assert warnings["message"].str.contains("--weights-independent").any()

    from indoor.model.explain import ExplainError, load_classifier  # the Explain page's model: the same classifier

    classifier = load_classifier(cache)
    row = int(test[0])
    np.testing.assert_allclose(classifier.probs(Image.open(samples["path"].iat[row])), cache.probs[row], atol=2e-4)
    torch.save(model.state_dict(), weights)  # the file changes: explanations would explain another model
    with pytest.raises(ExplainError, match="has changed since"):
        load_classifier(cache)


def test_timm_plain_state_dict_builds_with_the_probe_and_its_preprocessing(data_root, tmp_path):
    torch.manual_seed(1)
    model = timm.create_model("resnet18", pretrained=False, num_classes=3)
    weights = tmp_path / "timm.pth"
    torch.save(model.state_dict(), weights)
    cache = build_cache(discover(data_root), tmp_path / "cache", BuildOptions(
        backbone="timm:resnet18", weights=str(weights), weights_independent=True, **SMALL), log=lambda _: None)
    meta = cache.meta
    cfg = model.pretrained_cfg
    assert meta["preprocessing"]["interpolation"] == cfg["interpolation"]
    assert meta["preprocessing"]["crop_pct"] == pytest.approx(cfg["crop_pct"])
    assert meta["preprocessing"]["mean"] == pytest.approx(list(cfg["mean"]))
    assert meta["source"] == {**meta["source"], "kind": "checkpoint", "head": "probe", "weights_independent": True}
    assert meta["probs_out_of_sample"] == {"train": True, "val": True, "test": True}
    assert "linear probe" in meta["probs_source"]["test"]
    assert np.asarray(cache.embeddings).shape[1] == model.num_features
    assert not cache.table("warnings")["message"].str.contains("in-sample").any()


def test_image_size_defaults_to_the_architectures_config_and_flags_override(tmp_path):
    model = timm.create_model("resnet18", pretrained=False, num_classes=4)
    weights = tmp_path / "w.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    backbone = create_backbone("resnet18", image_size=None, weights=weights)
    assert backbone.image_size == model.pretrained_cfg["input_size"][-1]
    assert backbone.classifier.out_features == 4 and backbone.checkpoint["classes"] is None
    custom = create_backbone("resnet18", image_size=96, weights=weights, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
                             interpolation="bilinear", crop_pct=1.0)
    assert custom.preprocessing() == {"size": 96, "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5),
                                      "interpolation": "bilinear", "crop_pct": 1.0}
    assert tuple(custom.preprocess(Image.new("RGB", (130, 100))).shape) == (3, 96, 96)


def test_cli_build_with_weights_and_head_model(data_root, tmp_path, capsys):
    index = discover(data_root)
    weights = tmp_path / "m.pt"
    torch.save({"model": _tv_model(3).state_dict()}, weights)
    (tmp_path / "classes.txt").write_text("\n".join(index.classes) + "\n")
    code = main(["build", "--data", str(data_root), "--out", str(tmp_path / "c"), "--backbone", "tv:resnet18",
                 "--weights", str(weights), "--head", "model", "--class-map", str(tmp_path / "classes.txt"),
                 "--image-size", "64", "--folds", "2", "--workers", "0", "--thumb-size", "48", "--quiet"])
    assert code == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    assert meta["source"]["class_order"] == "class map classes.txt"
    assert main(["info", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "source: your checkpoint" in out and "the checkpoint's own classifier" in out


# ------------------------------------------------------------------------------------------ named errors


def test_wrong_class_count_is_a_named_error(data_root, tmp_path, capsys):
    weights = tmp_path / "five.pt"
    torch.save(_tv_model(5).state_dict(), weights)
    options = BuildOptions(backbone="tv:resnet18", weights=str(weights), head="model", class_map="sorted", **SMALL)
    with pytest.raises(BuildError, match=r"names 3 classes but the checkpoint's classifier has 5 outputs"):
        build_cache(discover(data_root), tmp_path / "c", options, log=lambda _: None)
    assert not (tmp_path / "c").exists()  # refused before any image was embedded
    code = main(["build", "--data", str(data_root), "--out", str(tmp_path / "c"), "--backbone", "tv:resnet18",
                 "--weights", str(weights), "--head", "model", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: the checkpoint does not name its 5 outputs") and "--class-map" in err
    assert "Traceback" not in err


def test_class_names_that_are_not_the_data_sets_are_refused(data_root, tmp_path):
    weights = tmp_path / "named.pt"
    torch.save({"state_dict": _tv_model(3).state_dict(), "class_to_idx": {"blue": 0, "green": 1, "purple": 2}}, weights)
    options = BuildOptions(backbone="tv:resnet18", weights=str(weights), head="model", **SMALL)
    with pytest.raises(BuildError, match=r"not in the data set: 'purple'; not among the outputs: 'red'"):
        build_cache(discover(data_root), tmp_path / "c", options, log=lambda _: None)
    (tmp_path / "map.json").write_text(json.dumps(["blue", "red", "green"]))
    with pytest.raises(BuildError, match=r"class map map.json and the checkpoint's own class names disagree "
                                         r"\(output 1: 'red' vs 'green'\)"):
        build_cache(discover(data_root), tmp_path / "c", BuildOptions(**{**options.__dict__, "class_map": str(
            tmp_path / "map.json")}), log=lambda _: None)


def test_head_model_needs_a_checkpoint_classifier(data_root, tmp_path):
    model = _tv_model(3)
    headless = {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}
    torch.save(headless, tmp_path / "headless.pt")
    backbone = create_backbone("tv:resnet18", image_size=64, weights=tmp_path / "headless.pt")
    assert backbone.classifier is None and backbone.embedding_dim == 512  # still a feature extractor
    with pytest.raises(BuildError, match="has no classifier weights"):
        build_cache(discover(data_root), tmp_path / "c", BuildOptions(
            backbone="tv:resnet18", weights=str(tmp_path / "headless.pt"), head="model", **SMALL), log=lambda _: None)
    with pytest.raises(BuildError, match="pass --weights FILE"):
        build_cache(discover(data_root), tmp_path / "c", BuildOptions(head="model", **SMALL), log=lambda _: None)


def test_wrong_keys_are_named(tmp_path):
    state = _tv_model(3).state_dict()
    torch.save(state, tmp_path / "r18.pt")
    with pytest.raises(BackboneError, match=r"do not fit tv:resnet34: missing keys \(\d+\): layer1\.2\.conv1\.weight"):
        create_backbone("tv:resnet34", weights=tmp_path / "r18.pt")
    torch.save({**state, "extra.weight": torch.zeros(2)}, tmp_path / "extra.pt")
    with pytest.raises(BackboneError, match=r"unexpected keys \(1\): extra\.weight"):
        create_backbone("tv:resnet18", weights=tmp_path / "extra.pt")
    torch.save({**state, "conv1.weight": torch.zeros(64, 3, 5, 5)}, tmp_path / "shape.pt")
    with pytest.raises(BackboneError, match=r"wrong shapes \(1\): conv1\.weight \(64, 3, 5, 5\) \(expected "
                                            r"\(64, 3, 7, 7\)\)"):
        create_backbone("tv:resnet18", weights=tmp_path / "shape.pt")
    with pytest.raises(BackboneError, match="missing keys"):
        create_backbone("efficientnet_lite0", weights=tmp_path / "r18.pt")


def test_unsafe_or_odd_files_are_refused_without_running_them(tmp_path):
    torch.save(_tv_model(3), tmp_path / "pickled.pt")  # a whole pickled module: never unpickled
    with pytest.raises(BackboneError, match="holds Python objects besides tensors"):
        create_backbone("tv:resnet18", weights=tmp_path / "pickled.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(BackboneError, match="is not a PyTorch weights file"):
        create_backbone("tv:resnet18", weights=tmp_path / "text.pt")
    with pytest.raises(BackboneError, match="weights file not found"):
        create_backbone("tv:resnet18", weights=tmp_path / "absent.pt")
    torch.save({"optimizer": {"lr": 0.1}, "epoch": 3}, tmp_path / "nostate.pt")
    with pytest.raises(CheckpointError, match="without a state dict"):
        read_checkpoint(tmp_path / "nostate.pt")


def test_nested_prefixes_are_stripped(tmp_path):
    state = _tv_model(3).state_dict()
    torch.save({"model_state_dict": {f"module._orig_mod.{k}": v for k, v in state.items()}}, tmp_path / "n.pt")
    backbone = create_backbone("tv:resnet18", image_size=64, weights=tmp_path / "n.pt")
    torch.testing.assert_close(backbone.classifier.weight, state["fc.weight"])


def test_class_order_sources():
    classes = ["bar", "deli", "kitchen"]
    assert class_order(classes, n_outputs=3, checkpoint_classes=["kitchen", "bar", "deli"], class_map=None)[0].tolist() \
        == [1, 2, 0]
    assert class_order(classes, n_outputs=3, checkpoint_classes=None, class_map="sorted")[0].tolist() == [0, 1, 2]
    with pytest.raises(CheckpointError, match="names class 'bar' twice"):
        class_order(classes, n_outputs=3, checkpoint_classes=["bar", "bar", "deli"], class_map=None)
