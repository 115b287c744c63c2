"""Building, validating and reading the inference cache; the command line."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from indoor.cache.build import BuildOptions, build_cache
from indoor.cache import SAMPLE_COLUMNS, SCHEMA_VERSION, CacheError, load_cache
from indoor.data.layouts import discover
from indoor.model.probe import LinearHead, head_probs, out_of_fold_probs, usable_folds

REPO = Path(__file__).resolve().parents[1]
TINY = BuildOptions(image_size=64, folds=3, thumb_size=48, workers=0, progress=False)


def _run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "indoor", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)


def _tiny_flat(root: Path, per_class: int = 8) -> Path:
    rng = np.random.default_rng(0)
    colours = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}
    for class_name, colour in colours.items():
        (root / class_name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(np.array(colour) + rng.normal(0, 25, (48, 64, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / class_name / f"{i:02d}.jpg", quality=90)
    return root


# ------------------------------------------------------------------------------------------- the demo cache


def test_demo_cache_is_complete_and_consistent(demo_cache):
    samples, probs = demo_cache.samples, np.asarray(demo_cache.probs)
    assert list(samples.columns) == list(SAMPLE_COLUMNS)
    assert demo_cache.meta["schema_version"] == SCHEMA_VERSION
    assert probs.shape == (len(samples), len(demo_cache.classes))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert (samples["pred"].to_numpy() == probs.argmax(axis=1)).all()
    rows = np.arange(len(samples))
    np.testing.assert_allclose(samples["self_confidence"], probs[rows, samples["label"]], rtol=1e-5)
    np.testing.assert_allclose(samples["loss"], -np.log(np.clip(probs[rows, samples["label"]], 1e-12, 1)), rtol=1e-4)
    assert all(len(top5) == 5 and top5[0] == pred for top5, pred in zip(samples["top5"], samples["pred"]))
    train = samples["split"] == "train"
    assert set(samples.loc[train, "fold"]) == {0, 1, 2} and set(samples.loc[~train, "fold"]) == {-1}
    assert samples["umap_x"].between(0, 1).all() and samples["umap_y"].between(0, 1).all()
    assert (samples["width"] == 96).all() and samples["brightness"].between(0, 1).all()
    assert all(demo_cache.thumb_path(i).stat().st_size > 300 for i in range(0, len(samples), 17))
    meta = demo_cache.meta
    assert meta["backbone"]["name"] == "efficientnet_lite0" and "offline" in meta["backbone"]["weights"]
    assert 0 <= meta["metrics"]["test"]["top1"] <= 1 and meta["metrics"]["test"]["top5"] >= meta["metrics"]["test"]["top1"]
    assert meta["probs_out_of_sample"] == {"train": True, "val": True, "test": True}
    from indoor.analysis.tables import TABLES

    for name in TABLES:  # the analyses are computed at build time
        assert demo_cache.has_table(name), name
    assert len(demo_cache.table("label_issues")) == len(samples)
    from indoor.analysis.explore import class_order
    from indoor.analysis.metrics import confusion_matrix

    stored = demo_cache.table("class_order")["similarity"].to_numpy()  # read by the confusion explorer
    matrix = confusion_matrix(samples["label"].to_numpy(), samples["pred"].to_numpy(), len(demo_cache.classes))
    assert stored.tolist() == class_order(matrix, demo_cache.classes, by="similarity").tolist()


def test_saved_head_reproduces_test_probabilities(demo_cache):
    head = LinearHead(demo_cache.embeddings.shape[1], len(demo_cache.classes))
    head.load_state_dict(torch.load(demo_cache.head_path, weights_only=True))
    test = (demo_cache.samples["split"] == "test").to_numpy()
    np.testing.assert_allclose(head_probs(head, np.asarray(demo_cache.embeddings)[test]),
                               np.asarray(demo_cache.probs)[test], atol=1e-4)


def test_backbone_features_separate_the_demo_classes(demo_cache):
    # the real ImageNet features must make the demo learnable, far above chance (10 classes -> 10 %)
    assert demo_cache.meta["metrics"]["train"]["top1"] > 0.5


# ---------------------------------------------------------------------------------------- bad images, reruns


def test_build_skips_and_lists_bad_images_and_loads_odd_modes(tmp_path):
    root = _tiny_flat(tmp_path / "data")
    (root / "red" / "empty.jpg").write_bytes(b"")
    (root / "red" / "text.jpg").write_text("not an image")
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (120, 120, 3), dtype=np.uint8)).save(buffer, "JPEG")
    (root / "green" / "truncated.jpg").write_bytes(buffer.getvalue()[:600])
    Image.new("L", (64, 48), 90).save(root / "blue" / "gray.jpg")
    Image.new("CMYK", (64, 48), (200, 150, 0, 0)).save(root / "blue" / "cmyk.jpg")
    Image.fromarray(np.full((48, 64), 30000, dtype=np.uint16)).save(root / "blue" / "sixteen.png")
    Image.new("P", (64, 48), 7).save(root / "green" / "palette.gif")
    Image.new("RGB", (64, 48), (40, 60, 200)).save(root / "blue" / "png_named.jpg", format="PNG")
    cache = build_cache(discover(root), tmp_path / "cache", TINY, log=lambda _: None)
    skipped = {item["sample_id"]: item["reason"] for item in cache.meta["skipped"]}
    assert set(skipped) == {"red/empty.jpg", "red/text.jpg", "green/truncated.jpg"}
    assert "empty" in skipped["red/empty.jpg"] and "truncated" in skipped["green/truncated.jpg"]
    kept = set(cache.samples["sample_id"])
    assert {"blue/gray.jpg", "blue/cmyk.jpg", "blue/sixteen.png", "green/palette.gif", "blue/png_named.jpg"} <= kept
    info = _run_cli("info", str(tmp_path / "cache"))
    assert info.returncode == 0 and "3 file(s) skipped" in info.stdout and "red/text.jpg" in info.stdout


def test_build_is_reproducible_for_a_seed(tmp_path):
    index = discover(_tiny_flat(tmp_path / "data"))
    first = build_cache(index, tmp_path / "a", TINY, log=lambda _: None)
    second = build_cache(index, tmp_path / "b", TINY, log=lambda _: None)
    np.testing.assert_array_equal(np.asarray(first.probs), np.asarray(second.probs))
    np.testing.assert_array_equal(first.samples["umap_x"], second.samples["umap_x"])
    assert first.samples["sample_id"].tolist() == second.samples["sample_id"].tolist()


@pytest.mark.parametrize("failing", ["indoor.cache.writer.ChunkedArray._write_chunk",  # the streamed arrays
                                     "pyarrow.parquet.write_table"])  # samples.parquet, at the end
def test_failed_write_leaves_the_earlier_cache_and_decisions_intact(tmp_path, monkeypatch, failing):
    index = discover(_tiny_flat(tmp_path / "data"))
    out = tmp_path / "cache"
    build_cache(index, out, TINY, log=lambda _: None)
    (out / "decisions.sqlite").write_bytes(b"user data")
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    def broken_save(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(failing, broken_save)
    with pytest.raises(OSError, match="disk full"):
        build_cache(index, out, TINY, log=lambda _: None)
    monkeypatch.undo()
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".building-")]  # staging cleaned up
    load_cache(out)
    # a successful rebuild keeps files that are not the cache's (the decisions store)
    build_cache(index, out, TINY, log=lambda _: None)
    assert (out / "decisions.sqlite").read_bytes() == b"user data"


def test_killed_build_leaves_the_earlier_cache_intact(tmp_path):
    """A build killed (SIGKILL) while it writes the new cache's files leaves the earlier cache loadable and
    unchanged. The real CLI runs in a subprocess; to kill it at that moment and not by luck, its first array write
    (a chunk of the streamed embeddings) signals and then waits (a slow disk), and the test kills it then. The
    next build removes the killed one's staging folder."""
    data = _tiny_flat(tmp_path / "data", per_class=40)
    out = tmp_path / "cache"
    build_cache(discover(data), out, TINY, log=lambda _: None)
    probs_before = np.load(out / "probs.npy")
    writing = tmp_path / "writing"
    script = (
        "import sys, time\n"
        "from indoor.cache import writer\n"
        "real_write = writer.ChunkedArray._write_chunk\n"
        "def slow_write(*args, **kwargs):\n"
        f"    open({str(writing)!r}, 'w').close()\n"
        "    time.sleep(120)\n"
        "    return real_write(*args, **kwargs)\n"
        "writer.ChunkedArray._write_chunk = slow_write\n"
        "from indoor.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "build", "--data", str(data), "--out", str(out), "--image-size", "64",
         "--workers", "0", "--folds", "3", "--quiet", "--seed", "5"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not writing.exists() and process.poll() is None:
        time.sleep(0.05)
    assert writing.exists(), process.stdout.read().decode(errors="replace")[-2000:]  # it reached the write
    assert list(out.glob(".building-*"))  # mid-write: the new files are staged inside the cache folder
    process.send_signal(signal.SIGKILL)
    process.wait()
    cache = load_cache(out)
    np.testing.assert_array_equal(np.asarray(cache.probs), probs_before)
    build_cache(discover(data), out, TINY, log=lambda _: None)  # the next build cleans the killed one's staging
    assert not list(out.glob(".building-*"))


def test_chunked_array_writes_every_chunk_once_and_fills_the_rows_never_written(tmp_path):
    from indoor.cache.writer import ChunkedArray

    values = np.arange(22 * 3, dtype=np.float32).reshape(22, 3)
    array = ChunkedArray(tmp_path / "a.npy", (22, 3), chunk_rows=4)
    rows = [r for r in range(22) if not 8 <= r < 12 and r != 1]  # chunk 2 never reached, row 1 a failed image
    for start in range(0, len(rows), 5):  # batches that straddle chunks
        array.write(rows[start:start + 5], values[rows[start:start + 5]])
    with pytest.raises(ValueError, match="ascend"):
        array.write([3], values[[3]])  # chunk 0 is written already
    result = array.close()
    assert array.chunks_written == 6 and isinstance(result, np.memmap)
    expected = values.copy()
    expected[[1, 8, 9, 10, 11]] = np.nan
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), expected)


def test_build_streams_its_arrays_in_chunks_with_the_in_memory_results(tmp_path, monkeypatch):
    """With chunks smaller than the data set, the embeddings are written chunk by chunk into the staging folder
    (never held whole by the feature pass), thumbnails as they are made, and the cache is the one a single-chunk
    build writes, unreadable images (skipped, later rows renumbered) included; the embeddings are the in-memory
    feature pass's."""
    from indoor.cache import writer
    from indoor.model.backbones import create_backbone
    from indoor.model.features import extract_features, seed_everything

    root = _tiny_flat(tmp_path / "data")
    (root / "green" / "03b.jpg").write_text("not an image")  # a middle row, so later thumbnails are renumbered
    index = discover(root)
    chunks: list[tuple[str, int]] = []
    real_write = writer.ChunkedArray._write_chunk

    def counting_write(self, chunk, buffer):
        chunks.append((self.path.name, chunk))
        return real_write(self, chunk, buffer)

    monkeypatch.setattr(writer.ChunkedArray, "_write_chunk", counting_write)
    small = build_cache(index, tmp_path / "small", replace(TINY, chunk_rows=5),
                        log=lambda _: None)
    embedded = [chunk for name, chunk in chunks if name == "embeddings.all.tmp.npy"]
    assert embedded == list(range(-(-len(index.samples) // 5)))  # 25 images: chunks 0..4, each written once
    assert len([name for name, _ in chunks if name == "probs.npy"]) == -(-len(small.samples) // 5)
    chunks.clear()
    whole = build_cache(index, tmp_path / "whole", replace(TINY, chunk_rows=10_000),
                        log=lambda _: None)
    assert [name for name, _ in chunks].count("embeddings.all.tmp.npy") == 1
    assert [item["sample_id"] for item in small.meta["skipped"]] == ["green/03b.jpg"]
    np.testing.assert_array_equal(np.asarray(small.embeddings), np.asarray(whole.embeddings))
    np.testing.assert_array_equal(np.asarray(small.probs), np.asarray(whole.probs))
    pd.testing.assert_frame_equal(small.samples, whole.samples)
    for row in range(len(small.samples)):
        assert small.thumb_path(row).read_bytes() == whole.thumb_path(row).read_bytes()

    seed_everything(TINY.seed)  # as the build does before it creates the backbone
    backbone = create_backbone(TINY.backbone, image_size=TINY.image_size)
    in_memory = extract_features(small.samples["path"].tolist(), backbone, workers=0, thumb_size=TINY.thumb_size,
                                 progress=False)
    np.testing.assert_array_equal(in_memory.embeddings, np.asarray(small.embeddings))
    assert in_memory.thumbnails == [small.thumb_path(row).read_bytes() for row in range(len(small.samples))]


# -------------------------------------------------------------------------------------------- validation


def _copy(cache_path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(cache_path, target)
    return target


def test_removed_column_is_named(demo_cache_path, tmp_path):
    target = _copy(demo_cache_path, tmp_path)
    samples = pd.read_parquet(target / "samples.parquet").drop(columns=["margin"])
    samples.to_parquet(target / "samples.parquet")
    with pytest.raises(CacheError, match=r"missing column\(s\): margin"):
        load_cache(target)
    result = _run_cli("info", str(target))
    assert result.returncode == 2 and "missing column(s): margin" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "probs.npy").unlink(), r"probs.npy is missing"),
        (lambda p: np.save(p / "probs.npy", np.ones((3, 2), np.float32)), r"probs.npy has shape"),
        (lambda p: (p / "meta.json").write_text("{not json"), r"meta.json is unreadable"),
        (lambda p: (p / "meta.json").write_text(json.dumps({**json.loads((p / "meta.json").read_text()), "schema_version": 0})),
         r"schema version 0.*Rebuild"),
        (lambda p: (p / "thumbs" / "000003.jpg").unlink(), r"1 thumbnail\(s\) missing, first thumbs/000003.jpg"),
        (lambda p: shutil.rmtree(p / "thumbs"), r"thumbnail\(s\) missing, first thumbs/000000.jpg"),
        (lambda p: shutil.rmtree(p), r"no cache at"),
    ],
)
def test_damaged_caches_fail_validation_with_a_message(demo_cache_path, tmp_path, damage, message):
    target = _copy(demo_cache_path, tmp_path)
    damage(target)
    with pytest.raises(CacheError, match=message):
        load_cache(target)


# ------------------------------------------------------------------------------------------------- CLI


def test_info_json_has_run_metadata(demo_cache_path):
    result = _run_cli("info", str(demo_cache_path), "--json")
    assert result.returncode == 0, result.stderr
    meta = json.loads(result.stdout)
    assert 0 < meta["metrics"]["test"]["top1"] <= 1
    assert meta["skipped"] == [] and meta["layout"] == "split-folders" and meta["folds"] == 3


def test_cli_errors_are_one_clear_line(tmp_path):
    result = _run_cli("build", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: data root does not exist: {tmp_path / 'nowhere'}"
    (tmp_path / "m.csv").write_text("path,label\n../escape.jpg,bar\n")
    result = _run_cli("build", "--data", str(tmp_path), "--manifest", str(tmp_path / "m.csv"), "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "line 2" in result.stderr and "escapes the data root" in result.stderr


def test_data_sets_too_small_to_learn_fail_with_one_clear_line(tmp_path):
    root = tmp_path / "one"
    _tiny_flat(root, per_class=3)
    for name in ("green", "blue"):
        shutil.rmtree(root / name)
    result = _run_cli("build", "--data", str(root), "--out", str(tmp_path / "x"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: a classifier needs at least two classes; {root} has only 'red': add a folder of images per class")
    assert not (tmp_path / "x").exists()  # refused before any work

    root = _tiny_flat(tmp_path / "thin", per_class=1)  # one training image per class: no fold can be fit
    result = _run_cli("build", "--data", str(root), "--out", str(tmp_path / "y"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "error: out-of-fold probabilities need two classes or more with at least two training images each")


def test_usable_folds_fit_the_smallest_data_sets():
    assert usable_folds(np.array([0, 0, 1, 1]), 5) == 2  # no more folds than the largest class has rows
    assert usable_folds(np.array([0] * 9 + [1] * 3 + [2]), 5) == 5
    with pytest.raises(ValueError, match="two classes or more with at least two training images"):
        usable_folds(np.array([0, 0, 0, 1]), 5)  # the fold that holds out class 1 would fit class 0 alone
    with pytest.raises(ValueError, match="at least 2"):
        usable_folds(np.array([0, 0, 1, 1]), 1)
    labels = np.array([0, 0, 0, 1, 1, 2])  # class 2 has one row: its fold is fit without it
    embeddings = np.random.default_rng(0).normal(size=(6, 4)) + 3.0 * np.eye(3)[labels] @ np.eye(3, 4)
    probs, fold = out_of_fold_probs(embeddings.astype(np.float32), labels, n_classes=3, folds=5, progress=False)
    assert sorted(set(fold)) == [0, 1, 2] and np.allclose(probs.sum(axis=1), 1.0)
    assert probs[5, 2] == 0.0  # never seen in its fit: no probability for its own class


def test_tiny_classes_build_with_fewer_folds(tmp_path):
    root = _tiny_flat(tmp_path / "data", per_class=3)  # 2 train images per class: 5 folds are not possible
    cache = build_cache(discover(root), tmp_path / "cache", replace(TINY, folds=5), log=lambda _: None)
    train = cache.samples["split"] == "train"
    assert cache.meta["folds"] == 2 and set(cache.samples.loc[train, "fold"]) == {0, 1}
    assert np.allclose(np.asarray(cache.probs).sum(axis=1), 1.0)


def test_every_command_has_help():
    for command in ("demo", "build", "info"):
        result = _run_cli(command, "--help")
        assert result.returncode == 0 and "--" in result.stdout
    assert "--finetune-epochs" in _run_cli("build", "--help").stdout


def test_finetune_runs_on_cpu(tmp_path):
    index = discover(_tiny_flat(tmp_path / "data", per_class=6))
    options = BuildOptions(image_size=64, folds=2, thumb_size=48, workers=0, progress=False, finetune_epochs=1,
                           batch_size=8, device="cpu")
    cache = build_cache(index, tmp_path / "ft", options, log=lambda _: None)
    assert cache.model_path is not None and cache.meta["finetune"]["epochs"] == 1
    assert cache.meta["probs_out_of_sample"]["train"] is False
    state = torch.load(cache.model_path, weights_only=True)
    assert any(key.endswith("conv_stem.weight") for key in state)


def test_umap_kernels_are_kept_on_disk_and_the_map_is_unchanged():
    """umap-learn's uncached numba kernels get numba's on-disk cache (about 10 s of compiling per build process
    otherwise): in a fresh process they start uncached, umap_2d turns the cache on and the cache files exist
    afterwards; the map is the one this process draws."""
    from indoor.cache.projection import umap_2d

    script = (
        "import json, pathlib, numpy as np, umap.umap_ as u\n"
        "from numba.core.caching import NullCache\n"
        "assert isinstance(u.smooth_knn_dist._cache, NullCache)  # umap-learn leaves it uncached\n"
        "from indoor.cache.projection import cache_umap_kernels, umap_2d\n"
        "x = np.random.default_rng(0).normal(size=(60, 8)).astype('float32')\n"
        "coords = umap_2d(x, seed=0)\n"
        "assert cache_umap_kernels() == 0  # already on: umap_2d did it\n"
        "for kernel in (u.smooth_knn_dist, u.compute_membership_strengths):\n"
        "    folder = pathlib.Path(kernel._cache.cache_path)\n"
        "    assert list(folder.glob(f'umap_.{kernel.__name__}-*.nbi')), folder\n"
        "print(json.dumps(coords.tolist()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    x = np.random.default_rng(0).normal(size=(60, 8)).astype("float32")
    assert np.allclose(np.array(json.loads(done.stdout.strip().splitlines()[-1])), umap_2d(x, seed=0))
