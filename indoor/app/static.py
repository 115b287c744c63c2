"""What the embedding map's browser side fetches over HTTP: a cache's thumbnails, and vendored scripts (the map's
WebGL library).

Thumbnails are served where they lie, in the cache's ``thumbs/`` folder, through Streamlit's route for a declared
custom component's files (``/component/<name>/NNNNNN.jpg``, NNNNNN the row in ``cache.samples``): nothing is
copied or linked, so a million-row cache costs what a small one does. (Earlier versions hard-linked every
thumbnail into ``static/thumbs/``: 426 s for a million rows, and a static folder over 1 GB, which makes Streamlit
turn static serving off at start-up; :func:`retire_published_thumbnails` removes such a folder.)

Scripts go into ``<app folder>/static/vendor/``, which Streamlit serves at ``/app/static/...``
(``server.enableStaticServing = true``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from pathlib import Path

from indoor.cache import Cache, cache_key
from indoor.data.paths import inside

THUMBS_FOLDER = "thumbs"  # the cache's thumbnail folder, and what earlier versions published under static/
VENDOR_FOLDER = "vendor"
URL_ROOT = "app/static"
COMPONENT_ROOT = "component"  # Streamlit's route for a declared custom component's files
RETIRED_PREFIX = f".{THUMBS_FOLDER}-retired-"  # a folder earlier versions published, being deleted
MARKER_FILE = ".published.json"  # what earlier versions wrote into each folder they published


def thumb_url(prefix: str, row: int) -> str:
    """The URL of row ``row``'s thumbnail under a prefix returned by :func:`serve_thumbnails`."""
    return f"{prefix}{row:06d}.jpg"


def serve_thumbnails(cache: Cache) -> str:
    """The URL prefix (no leading slash) under which the web server serves ``cache``'s thumbnails. Costs the same
    at any number of rows: nothing is copied or linked.

    Streamlit serves a declared custom component's folder at ``/component/<name>/<file>`` (a file below it; a
    symbolic link is resolved and refused when it leads out of the folder; ``..`` is refused). The cache's
    ``thumbs/`` folder is declared as such a component (never drawn), named after the cache key, so a rebuilt
    cache gets new URLs and browsers never show a stale thumbnail. OSError when the folder is missing or leads
    outside the cache. Outside a running server (AppTest) the prefix is returned without a route behind it.
    """
    import streamlit.components.v1 as components

    folder = inside(cache.path, THUMBS_FOLDER)
    if folder is None or not folder.is_dir():
        raise OSError(f"the cache's {THUMBS_FOLDER}/ folder is missing or leads outside the cache")
    name = f"{THUMBS_FOLDER}_{cache_key(cache.path, str(cache.meta.get('created_at', '')))}"
    try:
        name = components.declare_component(name, path=str(folder)).name
    except RuntimeError:  # no Streamlit runtime to register with (AppTest): the name it would have
        name = f"{__name__}.{name}"
    return f"{COMPONENT_ROOT}/{name}/"


def retire_published_thumbnails(static_dir: str | Path) -> bool:
    """Remove what earlier versions published into ``static_dir/thumbs/``: one folder per cache, a hard link per
    thumbnail, each marked by a ``.published.json`` file (and their ``.<key>.tmp-*`` staging folders). At a
    million rows that folder makes Streamlit turn static serving off at start-up, the map's library with it.
    Only such folders are touched (anything else in ``thumbs/`` stays, and ``thumbs/`` with it); each is moved
    aside at once and deleted in a background thread, with what a stopped server left half deleted. True when
    there was one."""
    static_dir = Path(static_dir)
    folder = static_dir / THUMBS_FOLDER
    found = False
    if folder.is_dir() and not folder.is_symlink():
        for child in list(folder.iterdir()):
            ours = (child / MARKER_FILE).is_file() or (child.name.startswith(".") and ".tmp-" in child.name)
            if not child.is_dir() or child.is_symlink() or not ours:
                continue
            try:
                child.rename(static_dir / f"{RETIRED_PREFIX}{uuid.uuid4().hex[:8]}")
                found = True
            except OSError:  # another session got there first
                pass
        try:
            folder.rmdir()  # only when nothing else is in it
        except OSError:
            pass
    leftovers = [p for p in static_dir.glob(f"{RETIRED_PREFIX}*") if p.is_dir() and not p.is_symlink()]
    if leftovers:
        threading.Thread(target=_remove, args=(leftovers,), daemon=True).start()
    return found


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


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
