"""Publishing files into a web app's static folder: a cache's thumbnails, and vendored scripts (the map's
WebGL library).

Streamlit serves ``<app folder>/static/`` at ``/app/static/...`` (``server.enableStaticServing = true``) but refuses
symlinks that point outside that folder, so a cache's thumbnails are hard-linked into it (copied when the cache
lives on another file system). Each cache gets its own folder, ``static/thumbs/<key>/NNNNNN.jpg`` with NNNNNN the
row in ``cache.samples``; the key changes when the cache is rebuilt, so browsers never see a stale thumbnail.
Publishing is idempotent: a marker file records what was published and a second call returns at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Literal

from indoor.cache import Cache, cache_key
from indoor.data.paths import inside

THUMBS_FOLDER = "thumbs"
VENDOR_FOLDER = "vendor"
MARKER_FILE = ".published.json"
URL_ROOT = "app/static"
STALE_STAGING_S = 3600  # a staging folder this old was left by a killed publisher

Mode = Literal["auto", "link", "copy"]


def thumb_url(prefix: str, row: int) -> str:
    """The URL of row ``row``'s thumbnail under a prefix returned by :func:`publish_thumbnails`."""
    return f"{prefix}{row:06d}.jpg"


def publish_thumbnails(cache: Cache, static_dir: str | Path, *, mode: Mode = "auto") -> str:
    """Make every thumbnail of ``cache`` servable from ``static_dir``; returns the URL prefix (no leading slash).

    ``static_dir`` must be the folder the web server serves at ``/app/static/`` (Streamlit: ``static/`` beside
    the main script). ``mode``: "link" hard-links (fails across file systems), "copy" copies, "auto" hard-links
    and falls back to copying. Fast when already published (one small file read). Earlier publications of the
    same cache folder (older builds) are removed. Thumbnails missing from the cache are skipped.
    """
    static_dir = Path(static_dir)
    created_at = str(cache.meta.get("created_at", ""))
    n_samples = len(cache.samples)
    key = cache_key(cache.path, created_at)
    prefix = f"{URL_ROOT}/{THUMBS_FOLDER}/{key}/"
    root = static_dir / THUMBS_FOLDER
    final = root / key
    wanted = {"key": key, "created_at": created_at, "n_samples": n_samples, "source": _source_id(cache.path)}
    if _read_marker(final) == wanted:
        return prefix

    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        _fill(staging, cache.path, [cache.thumb_path(row) for row in range(n_samples)], mode)
        (staging / MARKER_FILE).write_text(json.dumps(wanted), encoding="utf-8")
        if final.exists() and _read_marker(final) != wanted:  # partial or outdated: replace
            shutil.rmtree(final, ignore_errors=True)
        try:
            staging.rename(final)
        except OSError:
            if _read_marker(final) != wanted:  # not a concurrent publisher that won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune_older(root, keep=key, source=wanted["source"])
    return prefix


def publish_script(source: str | Path, static_dir: str | Path) -> str:
    """Put a vendored script (the map's WebGL library) into ``static_dir/vendor/``; returns its URL (no leading
    slash). The file name carries a hash of the content, so browsers may cache it and a new version gets a new
    URL. Idempotent: once published, a call compares a size and returns.
    """
    source = Path(source)
    content = source.read_bytes()
    stem = source.name.removesuffix(".js").removesuffix(".min")
    target = Path(static_dir) / VENDOR_FOLDER / f"{stem}-{hashlib.sha1(content).hexdigest()[:10]}.min.js"
    if not (target.is_file() and target.stat().st_size == len(content)):
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
        temporary.write_bytes(content)
        os.replace(temporary, target)
    return f"{URL_ROOT}/{VENDOR_FOLDER}/{target.name}"


# ---------------------------------------------------------------------------------------------------- helpers


def _source_id(cache_path: Path) -> str:
    return hashlib.sha1(str(Path(cache_path).resolve()).encode("utf-8")).hexdigest()[:12]


def _read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _fill(folder: Path, cache_path: Path, sources: list[Path], mode: Mode) -> None:
    """Publish each source that is a plain file inside the cache folder (a symbolic link, even to a file inside,
    is skipped: only what the build wrote is served)."""
    for row, source in enumerate(sources):
        if source.is_symlink() or not source.is_file() or inside(cache_path, source) is None:
            continue
        placed = _place(source, folder / f"{row:06d}.jpg", mode)
        if mode == "auto" and placed == "copy":
            mode = "copy"  # linking failed once (other file system): don't retry for every file


def _place(source: Path, target: Path, mode: Mode) -> str:
    if mode in ("auto", "link"):
        try:
            os.link(source, target)
            return "link"
        except OSError:
            if mode == "link":
                raise
    shutil.copyfile(source, target)
    return "copy"


def _prune_older(root: Path, *, keep: str, source: str) -> None:
    for folder in root.iterdir():
        try:  # other publishers may rename or remove folders meanwhile
            if folder.name == keep or not folder.is_dir():
                continue
            if folder.name.startswith("."):  # a staging folder: another publisher's at work, or a killed one's
                if ".tmp-" in folder.name and time.time() - folder.stat().st_mtime > STALE_STAGING_S:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            marker = _read_marker(folder)
            if marker is not None and marker.get("source") == source:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
