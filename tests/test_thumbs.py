"""Serving a cache's thumbnails to the map (from the cache's own folder) and publishing the map's WebGL library
into the app's static folder."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from indoor.app.static import (
    cache_key,
    publish_script,
    retire_published_thumbnails,
    serve_thumbnails,
    thumb_url,
)
from indoor.cache import load_cache


@pytest.fixture
def own_cache(demo_cache_path, tmp_path):
    """A private copy of the demo cache (these tests rebuild it)."""
    path = tmp_path / "runs" / "demo"
    shutil.copytree(demo_cache_path, path)
    return load_cache(path)


def _served(cache, url: str) -> Path | None:
    """The file Streamlit's component route would send for ``url`` (None: refused), with the folder
    serve_thumbnails declared; the route's own path check (streamlit.web.server.component_file_utils)."""
    from streamlit.web.server.component_file_utils import build_safe_abspath

    name, _, filename = url.removeprefix("component/").partition("/")
    assert name.startswith("indoor.app.static.thumbs_"), name
    found = build_safe_abspath(str(cache.path / "thumbs"), filename)
    return Path(found) if found is not None else None


def test_thumbnails_are_served_from_the_cache_folder_without_copying(own_cache, tmp_path):
    static = tmp_path / "static"
    serve_thumbnails(own_cache)  # (imports Streamlit's components module once)
    start = time.perf_counter()
    prefix = serve_thumbnails(own_cache)
    assert time.perf_counter() - start < 0.05  # nothing copied or linked, whatever the number of rows

    key = cache_key(own_cache.path, own_cache.meta["created_at"])
    assert prefix == f"component/indoor.app.static.thumbs_{key}/"
    assert not static.exists()
    for row in (0, len(own_cache.samples) - 1):
        assert _served(own_cache, thumb_url(prefix, row)) == own_cache.thumb_path(row).resolve()
    assert serve_thumbnails(own_cache) == prefix  # the same URL on every run


def test_the_route_refuses_paths_and_links_out_of_the_thumbnail_folder(own_cache, tmp_path):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"secret")
    (own_cache.path / "thumbs" / "link.jpg").symlink_to(outside)
    prefix = serve_thumbnails(own_cache)
    assert _served(own_cache, f"{prefix}link.jpg") is None
    assert _served(own_cache, f"{prefix}../meta.json") is None
    assert _served(own_cache, f"{prefix}/etc/passwd") is None


def test_a_thumbnail_folder_leading_outside_the_cache_is_refused(own_cache, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(own_cache.path / "thumbs", elsewhere)
    (own_cache.path / "thumbs").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError, match="outside the cache"):
        serve_thumbnails(own_cache)
    shutil.rmtree(elsewhere)
    (own_cache.path / "thumbs").unlink()
    with pytest.raises(OSError, match="missing"):
        serve_thumbnails(own_cache)


def test_a_rebuilt_cache_gets_new_urls(own_cache):
    old_prefix = serve_thumbnails(own_cache)
    meta_path = own_cache.path / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["created_at"] = "2099-01-01T00:00:00+00:00"
    meta_path.write_text(json.dumps(meta))
    assert serve_thumbnails(load_cache(own_cache.path)) != old_prefix  # browsers never show a stale thumbnail


def test_thumbnails_published_by_earlier_versions_are_retired(tmp_path):
    static = tmp_path / "static"
    old = static / "thumbs" / "0123456789ab"
    old.mkdir(parents=True)
    for row in range(50):
        (old / f"{row:06d}.jpg").write_bytes(b"x")
    (old / ".published.json").write_text("{}")
    (static / "thumbs" / ".0123456789ab.tmp-12-abcdef01").mkdir()  # a killed publisher's staging folder
    (static / "vendor").mkdir()
    (static / ".thumbs-retired-0badc0de" / "x").mkdir(parents=True)  # left half deleted by a stopped server
    assert retire_published_thumbnails(static)
    assert not (static / "thumbs").exists()
    deadline = time.monotonic() + 10
    while [p for p in static.iterdir() if p.name != "vendor"] and time.monotonic() < deadline:
        time.sleep(0.02)  # deleted in a background thread
    assert [p.name for p in static.iterdir()] == ["vendor"]
    assert not retire_published_thumbnails(static)  # nothing left: a no-op
    assert not retire_published_thumbnails(tmp_path / "absent")


def test_retiring_leaves_what_earlier_versions_did_not_publish(tmp_path):
    """A folder in static/thumbs/ without the publication marker is not ours: it stays, and thumbs/ with it."""
    static = tmp_path / "static"
    mine = static / "thumbs" / "my-own-pictures"
    mine.mkdir(parents=True)
    (mine / "keep.jpg").write_bytes(b"x")
    (static / "thumbs" / "notes.txt").write_text("keep")
    assert not retire_published_thumbnails(static)
    assert (mine / "keep.jpg").read_bytes() == b"x" and (static / "thumbs" / "notes.txt").exists()


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
