"""Publishing a cache's thumbnails (and the map's WebGL library) into the app's static folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from indoor.cache import load_cache
from indoor.app.static import MARKER_FILE, cache_key, publish_script, publish_thumbnails, thumb_url


@pytest.fixture
def own_cache(demo_cache_path, tmp_path):
    """A private copy of the demo cache (these tests rebuild it)."""
    path = tmp_path / "runs" / "demo"
    shutil.copytree(demo_cache_path, path)
    return load_cache(path)


def _published(static: Path, prefix: str) -> Path:
    assert prefix.startswith("app/static/") and prefix.endswith("/")
    return static / prefix.removeprefix("app/static/")


def test_publish_hard_links_every_thumbnail(own_cache, tmp_path):
    static = tmp_path / "static"
    prefix = publish_thumbnails(own_cache, static)

    key = cache_key(own_cache.path, own_cache.meta["created_at"])
    assert prefix == f"app/static/thumbs/{key}/"
    folder = _published(static, prefix)
    names = sorted(p.name for p in folder.glob("*.jpg"))
    assert names == [f"{row:06d}.jpg" for row in range(len(own_cache.samples))]
    for row in (0, len(own_cache.samples) - 1):
        published = static / thumb_url(prefix, row).removeprefix("app/static/")
        assert published.stat().st_ino == own_cache.thumb_path(row).stat().st_ino  # a hard link, not a symlink
        assert not published.is_symlink()
    assert not [p for p in (static / "thumbs").iterdir() if p.name.startswith(".")]  # no staging left


def test_copy_mode_and_cross_file_system_fallback(own_cache, tmp_path):
    static = tmp_path / "static"
    prefix = publish_thumbnails(own_cache, static, mode="copy")
    published = _published(static, prefix) / "000001.jpg"
    assert published.read_bytes() == own_cache.thumb_path(1).read_bytes()
    assert published.stat().st_ino != own_cache.thumb_path(1).stat().st_ino

    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second writable file system to publish across")
    other = Path(shm / f"indoor-test-{os.getpid()}")
    try:
        with pytest.raises(OSError):  # hard links can't cross file systems ...
            publish_thumbnails(own_cache, other / "strict", mode="link")
        prefix = publish_thumbnails(own_cache, other / "auto")  # ... so "auto" copies
        copied = _published(other / "auto", prefix) / "000002.jpg"
        assert copied.read_bytes() == own_cache.thumb_path(2).read_bytes()
        assert len(list(copied.parent.glob("*.jpg"))) == len(own_cache.samples)
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_republishing_is_a_no_op(own_cache, tmp_path):
    static = tmp_path / "static"
    prefix = publish_thumbnails(own_cache, static)
    folder = _published(static, prefix)
    marker = json.loads((folder / MARKER_FILE).read_text())
    assert marker["created_at"] == own_cache.meta["created_at"]
    assert marker["n_samples"] == len(own_cache.samples)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    start = time.perf_counter()
    assert publish_thumbnails(own_cache, static) == prefix
    assert time.perf_counter() - start < 0.05
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_a_rebuilt_cache_is_published_afresh_and_the_old_copy_removed(own_cache, tmp_path):
    static = tmp_path / "static"
    old_prefix = publish_thumbnails(own_cache, static)
    unrelated = tmp_path / "other-cache"
    shutil.copytree(own_cache.path, unrelated)
    other_prefix = publish_thumbnails(load_cache(unrelated), static)

    # rebuild: a new created_at and a changed thumbnail
    meta_path = own_cache.path / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["created_at"] = "2099-01-01T00:00:00+00:00"
    meta_path.write_text(json.dumps(meta))
    new_thumb = own_cache.thumb_path(3)
    new_thumb.unlink()  # a rebuild writes new files; never modify a file that may be hard-linked
    new_thumb.write_bytes(own_cache.thumb_path(4).read_bytes())
    rebuilt = load_cache(own_cache.path)

    new_prefix = publish_thumbnails(rebuilt, static)
    assert new_prefix != old_prefix
    assert (_published(static, new_prefix) / "000003.jpg").read_bytes() == own_cache.thumb_path(4).read_bytes()
    assert not _published(static, old_prefix).exists()  # the stale build is gone ...
    assert (_published(static, other_prefix) / "000000.jpg").is_file()  # ... other caches are kept


def test_a_partial_publication_is_replaced(own_cache, tmp_path):
    static = tmp_path / "static"
    key = cache_key(own_cache.path, own_cache.meta["created_at"])
    partial = static / "thumbs" / key
    partial.mkdir(parents=True)
    (partial / "000000.jpg").write_bytes(b"truncated")  # e.g. a server killed midway, without a marker

    prefix = publish_thumbnails(own_cache, static)
    folder = _published(static, prefix)
    assert (folder / "000000.jpg").read_bytes() == own_cache.thumb_path(0).read_bytes()
    assert len(list(folder.glob("*.jpg"))) == len(own_cache.samples)


def test_concurrent_publishers_agree(own_cache, tmp_path):
    static = tmp_path / "static"
    results: list[str] = []
    errors: list[BaseException] = []

    def publish() -> None:
        try:
            results.append(publish_thumbnails(own_cache, static))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    folder = _published(static, results[0])
    assert len(list(folder.glob("*.jpg"))) == len(own_cache.samples)
    assert [p.name for p in (static / "thumbs").iterdir()] == [folder.name]


def test_missing_thumbnails_are_skipped(own_cache, tmp_path):
    own_cache.thumb_path(0).unlink()
    prefix = publish_thumbnails(own_cache, tmp_path / "static")
    folder = _published(tmp_path / "static", prefix)
    assert not (folder / "000000.jpg").exists()
    assert (folder / "000001.jpg").is_file()


def test_publish_script(tmp_path):
    from indoor.app.components.scatter_hover import LIBRARY_JS

    static = tmp_path / "static"
    url = publish_script(LIBRARY_JS, static)
    assert re.fullmatch(r"app/static/vendor/regl-scatterplot-[0-9a-f]{10}\.min\.js", url), url
    published = static / url.removeprefix("app/static/")
    assert published.read_bytes() == LIBRARY_JS.read_bytes()
    modified = published.stat().st_mtime_ns
    assert publish_script(LIBRARY_JS, static) == url  # idempotent: not written again
    assert published.stat().st_mtime_ns == modified
    changed = tmp_path / "regl-scatterplot.min.js"
    changed.write_bytes(LIBRARY_JS.read_bytes() + b"\n// another version")
    assert publish_script(changed, static) != url  # a new version gets a new URL (browsers cache by URL)
