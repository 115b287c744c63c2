"""Never lose, leak or expose: rebuild safety, containment of every path the data names, odd input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from indoor.cache import CacheError, check_target, load_cache
from indoor.cache.build import BuildOptions, build_cache
from indoor.data.layouts import discover
from indoor.data.paths import inside, unsafe_reason
from indoor.decisions import Decision, DecisionStore

REPO = Path(__file__).resolve().parents[1]
TINY = BuildOptions(image_size=64, folds=2, thumb_size=48, workers=0, progress=False)


def _images(folder: Path, n: int = 4, colour=(200, 40, 40)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    for i in range(n):
        pixels = np.clip(np.array(colour) + rng.normal(0, 25, (40, 40, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:02d}.jpg")


def _flat(root: Path) -> Path:
    _images(root / "red", colour=(200, 40, 40))
    _images(root / "blue", colour=(40, 60, 200))
    return root


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "indoor", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TQDM_DISABLE": "1"})


# --------------------------------------------------------------------------------------------- rebuilds


def test_a_folder_that_is_not_a_cache_is_refused_and_left_untouched(tmp_path):
    data = _flat(tmp_path / "data")
    out = tmp_path / "mine"
    (out / "thumbs").mkdir(parents=True)
    (out / "notes.md").write_text("my notes")
    (out / "thumbs" / "holiday.jpg").write_bytes(b"holiday")
    (out / "meta.json").write_text('{"mine": true}')
    result = _cli("build", "--data", str(data), "--out", str(out), "--image-size", "64", "--quiet")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not an indoor cache and is not empty" in result.stderr and "--force" in result.stderr
    assert sorted(p.name for p in out.rglob("*")) == ["holiday.jpg", "meta.json", "notes.md", "thumbs"]
    # --force builds, and moves what was in the way aside instead of deleting it
    build_cache(discover(data), out, TINY, log=lambda _: None, force=True)
    assert (out / "notes.md").read_text() == "my notes"
    moved = [p for p in out.iterdir() if p.name.startswith("moved-aside-")]
    assert len(moved) == 1 and (moved[0] / "thumbs" / "holiday.jpg").read_bytes() == b"holiday"
    assert (moved[0] / "meta.json").read_text() == '{"mine": true}'
    load_cache(out)


def test_empty_or_absent_folders_and_caches_are_accepted(tmp_path):
    check_target(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    check_target(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(CacheError, match="not a folder"):
        check_target(tmp_path / "file", force=True)


def test_rebuild_while_decisions_are_being_saved(tmp_path):
    """The decisions store stays at its path through a rebuild, with SQLite's -wal/-shm files coming and going."""
    data = _flat(tmp_path / "data")
    out = tmp_path / "cache"
    cache = build_cache(discover(data), out, TINY, log=lambda _: None)
    ids = cache.samples["sample_id"].tolist()
    store = DecisionStore(cache.decisions_path, classes=cache.classes)
    stop = threading.Event()
    saved: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            try:
                store.save(Decision(sample_id=ids[i % len(ids)], action="keep", annotator=f"a{i % 3}"))
                saved.append(i)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for seed in (1, 2):
            build_cache(discover(data), out, BuildOptions(**{**TINY.__dict__, "seed": seed}), log=lambda _: None)
    finally:
        stop.set()
        thread.join()
    assert not errors and len(saved) > 0
    assert not [p.name for p in out.iterdir() if p.name.startswith((".building-", ".old-"))]
    reopened = DecisionStore(out / "decisions.sqlite", classes=cache.classes)
    assert len(reopened.history()) >= len(saved)
    load_cache(out)


# ------------------------------------------------------------------------------------------ containment


def test_path_safety_function():
    root = REPO / "tests"
    assert inside(root, "conftest.py") == (root / "conftest.py").resolve()
    assert inside(root, "../README.md") is None and inside(root, "/etc/hostname") is None
    assert inside(root, "a\x00b") is None
    assert "UTF-8" in unsafe_reason(root, "caf\udce9.jpg")


def test_symlinks_out_of_the_data_root_are_skipped_and_listed(tmp_path):
    data = _flat(tmp_path / "data")
    _images(tmp_path / "outside" / "cls")
    (data / "red" / "link.jpg").symlink_to(tmp_path / "outside" / "cls" / "00.jpg")
    (data / "elsewhere").symlink_to(tmp_path / "outside" / "cls", target_is_directory=True)
    _images(data / "blue" / "nested", n=1)
    (data / "blue" / "inside-link.jpg").symlink_to(data / "blue" / "00.jpg")  # inside: fine
    index = discover(data)
    assert index.classes == ["blue", "red"]
    assert all(str(tmp_path / "outside") not in p for p in index.samples["path"])
    assert ("red/link.jpg", "skipped: it is a symbolic link (or path) that leads outside the data root") in index.missing
    assert any("elsewhere" in note and "outside the data root" in note for note in index.notes)
    split_root = tmp_path / "split"
    _images(split_root / "train" / "a")
    _images(split_root / "test" / "a", n=2)
    (split_root / "train" / "a" / "out.jpg").symlink_to(tmp_path / "outside" / "cls" / "01.jpg")
    assert [m[0] for m in discover(split_root).missing] == ["train/a/out.jpg"]


def test_non_utf8_file_names_are_skipped_not_a_traceback(tmp_path):
    data = _flat(tmp_path / "data")
    name = os.fsdecode(b"caf\xe9.jpg")
    shutil.copy(data / "red" / "00.jpg", data / "red" / name)
    index = discover(data)
    assert len(index.samples) == 8
    assert [reason for _, reason in index.missing] == ["skipped: its file name is not valid UTF-8 (rename it)"]
    cache = build_cache(index, tmp_path / "cache", TINY, log=lambda _: None)
    assert len(cache.meta["skipped"]) == 1


def test_thumbnail_and_image_paths_come_from_the_row_not_from_columns(tmp_path, demo_cache_path):
    target = tmp_path / "cache"
    shutil.copytree(demo_cache_path, target)
    samples = pd.read_parquet(target / "samples.parquet")
    samples.loc[0, "thumb"] = "../../../../etc/hostname"
    samples.loc[0, "path"] = "/etc/hostname"
    samples.to_parquet(target / "samples.parquet")
    cache = load_cache(target)
    assert cache.thumb_path(0) == target / "thumbs" / "000000.jpg"
    assert cache.image_path(0) == target / "thumbs" / "000000.jpg"  # /etc is not inside the data root


def test_a_symlinked_thumbnail_is_refused(tmp_path, demo_cache_path):
    target = tmp_path / "cache"
    shutil.copytree(demo_cache_path, target)
    (target / "thumbs" / "000001.jpg").unlink()
    (target / "thumbs" / "000001.jpg").symlink_to("/etc/hostname")
    with pytest.raises(CacheError, match=r"thumbs/000001.jpg \(a thumbnail must be a plain file\)"):
        load_cache(target)


def test_demo_class_count_out_of_range_is_a_message(tmp_path):
    result = _cli("demo", "--classes", "4", "--out", str(tmp_path / "demo"))
    assert result.returncode == 2 and "the demo has 10 to 67 classes, got 4" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "demo").exists()


@pytest.mark.parametrize("key, value, kind", [("metrics", "x", "object"), ("skipped", 3, "array"),
                                              ("backbone", 7, "object"), ("image_size", "big", "integer")])
def test_meta_fields_of_the_wrong_type_are_named(tmp_path, demo_cache_path, key, value, kind):
    import json

    target = tmp_path / "cache"
    shutil.copytree(demo_cache_path, target)
    meta = json.loads((target / "meta.json").read_text())
    (target / "meta.json").write_text(json.dumps({**meta, key: value}))
    result = _cli("info", str(target))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"'{key}' must be a JSON {kind}" in result.stderr


# ------------------------------------------------------------------------------------- damaged decisions


def _damage(cache_path: Path) -> None:
    """A decisions store whose header is valid but whose pages are not (random bytes over a few pages)."""
    import sqlite3

    cache = load_cache(cache_path, check_thumbs=False)
    store = DecisionStore(cache.decisions_path, classes=cache.classes)
    ids = cache.samples["sample_id"].tolist()
    store.save_many([Decision(sample_id=ids[i % len(ids)], action="keep", annotator=f"a{i}", note="n" * 200)
                     for i in range(300)])
    con = sqlite3.connect(cache.decisions_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    with open(cache.decisions_path, "r+b") as file:
        file.seek(4096 * 3)
        file.write(np.random.default_rng(0).bytes(4096 * 4))


def test_damaged_decisions_store_check_and_backup(tmp_path, demo_cache_path):
    target = tmp_path / "cache"
    shutil.copytree(demo_cache_path, target)
    _damage(target)
    check = _cli("decisions", "check", str(target))
    assert check.returncode == 2 and "damaged" in check.stderr and "Traceback" not in check.stderr
    backup = _cli("decisions", "backup", str(target), "--out", str(tmp_path / "copy.sqlite"))
    assert backup.returncode == 2 and "copied it as it is" in backup.stderr
    assert (tmp_path / "copy.sqlite").read_bytes() == (target / "decisions.sqlite").read_bytes()
    healthy = tmp_path / "healthy"
    shutil.copytree(demo_cache_path, healthy)
    DecisionStore(healthy / "decisions.sqlite").save(Decision(sample_id="x", action="keep"))
    assert _cli("decisions", "check", str(healthy)).returncode == 0
    assert _cli("decisions", "backup", str(healthy), "--out", str(tmp_path / "b.sqlite")).returncode == 0
    assert DecisionStore(tmp_path / "b.sqlite").count() == 1


def test_every_page_works_read_only_on_a_damaged_store(monkeypatch, tmp_path, demo_cache_path):
    from streamlit.testing.v1 import AppTest

    target = tmp_path / "cache"
    shutil.copytree(demo_cache_path, target)
    _damage(target)
    cache = load_cache(target)
    label, pred = cache.samples.loc[cache.samples["label"] != cache.samples["pred"], ["label", "pred"]].iloc[0]
    monkeypatch.setenv("INDOOR_CACHE", str(target))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run()
    pages = ["app.py", *sorted(f"pages/{p.name}" for p in (REPO / "pages").glob("*.py"))]
    queries = {"pages/2_Gallery.py": {"true": cache.classes[label], "pred": cache.classes[pred],
                                      "image": cache.samples["sample_id"].iat[0]},
               "pages/4_Relabel.py": {"sample": cache.samples["sample_id"].iat[0]}}
    for page in pages:
        at.query_params = queries.get(page, {})
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        damaged = [e.value for e in at.error if "is damaged" in e.value]
        assert len(damaged) == 1, (page, [e.value for e in at.error])


def test_the_server_is_local_only_and_a_network_server_builds_nothing(monkeypatch, tmp_path):
    import tomllib

    from streamlit import config
    from streamlit.testing.v1 import AppTest

    from indoor.app import state

    settings = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["address"] == "127.0.0.1"
    monkeypatch.delenv("INDOOR_CACHE", raising=False)
    monkeypatch.setattr(state, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(state, "DEFAULT_CACHE", tmp_path / "runs" / "demo")
    monkeypatch.chdir(REPO)
    previous = config.get_option("server.address")
    try:
        config.set_option("server.address", "127.0.0.1")
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
        assert [b.label for b in at.button] == ["Build the demo here"]
        config.set_option("server.address", "0.0.0.0")
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
        assert not at.exception and not at.button
        assert any("reachable from the network" in c.value for c in at.caption)
    finally:
        config.set_option("server.address", previous)
