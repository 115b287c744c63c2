"""Session state that outlives a page: which cache is shown (sidebar > ``-- --cache`` > ``INDOOR_CACHE`` >
``runs/demo`` > any cache under ``runs/``), who the reviewer is, and a notice to show once after a callback.
Every session-state key the app layer shares is named here."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from indoor.cache import find_caches, is_cache


ROOT = Path(__file__).resolve().parents[2]  # the project folder: app.py, pages/, runs/
RUNS = ROOT / "runs"
DEFAULT_CACHE = RUNS / "demo"
ENV_CACHE = "INDOOR_CACHE"
CACHE_CHOICE = "indoor.cache_choice"  # the sidebar's choice (a path string), kept across pages
ANNOTATOR = "indoor.annotator"  # the reviewer's name, kept across pages
NOTICE = "indoor.notice"  # a message to show once after a callback (saved, undone, failed)


@dataclass(frozen=True)
class CacheChoice:
    path: Path | None
    source: str  # "sidebar", "command line", "INDOOR_CACHE", "default", "found", "none"


def _cli_cache() -> str | None:
    """``streamlit run app.py -- --cache PATH`` puts ``--cache PATH`` into the script's sys.argv."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--cache")
    try:
        args, _ = parser.parse_known_args(sys.argv[1:])
    except SystemExit:  # e.g. "--cache" without a value
        return None
    return args.cache


def resolve_cache() -> CacheChoice:
    """Which cache to show: sidebar choice > ``-- --cache PATH`` > ``INDOOR_CACHE`` > ``runs/demo`` > any cache
    under ``runs/`` > none."""
    chosen = st.session_state.get(CACHE_CHOICE)
    if chosen:
        return CacheChoice(Path(chosen), "sidebar")
    return default_cache()


def default_cache() -> CacheChoice:
    """The cache a new session starts on: :func:`resolve_cache` without the sidebar choice (needs no session)."""
    cli = _cli_cache()
    if cli:
        return CacheChoice(Path(cli).expanduser().resolve(), "command line")
    env = os.environ.get(ENV_CACHE)
    if env:
        return CacheChoice(Path(env).expanduser().resolve(), ENV_CACHE)
    if DEFAULT_CACHE.exists():
        return CacheChoice(DEFAULT_CACHE, "default")
    found = find_caches(RUNS)
    if found:
        return CacheChoice(found[0], "found")
    return CacheChoice(None, "none")


def offered_caches(current: Path | None = None) -> list[Path]:
    """Every cache the dashboard may open, the only ones: the shown one, the one given by ``--cache`` or
    ``INDOOR_CACHE``, the shown one's rebuild on its cleaned manifest (``<cache>-cleaned``) and each cache under
    ``runs/``. The sidebar offers these, and Compare opens nothing else (whatever a URL says)."""
    candidates = [current, default_cache().path]
    if current is not None:
        candidates.append(current.parent / f"{current.name}-cleaned")
    candidates += find_caches(RUNS)
    offered: dict[Path, Path] = {}
    for path in candidates:
        if path is not None and (path == current or is_cache(path)):
            offered.setdefault(Path(path).resolve(), Path(path))
    return list(offered.values())


def choose_cache(path: str) -> None:
    """Remember the sidebar's cache choice for this session (every page then shows that cache)."""
    st.session_state[CACHE_CHOICE] = path


def display_path(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def annotator() -> str:
    return st.session_state.get(ANNOTATOR) or "anonymous"


def set_annotator(name: str) -> None:
    """Switch the current reviewer (blank means anonymous); every decision is saved under this name."""
    st.session_state[ANNOTATOR] = str(name).strip() or "anonymous"


def notify(kind: str, text: str) -> None:
    st.session_state[NOTICE] = (kind, text)


def pop_notice() -> tuple[str, str] | None:
    """The (kind, text) notice left by a callback, once."""
    return st.session_state.pop(NOTICE, None)
