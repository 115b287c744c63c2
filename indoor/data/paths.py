"""Path safety: the one check every data layout, the cache and the thumbnail publisher use before they read or
serve a file the user's data names."""

from __future__ import annotations

from pathlib import Path


def inside(root: str | Path, path: str | Path) -> Path | None:
    """``path`` resolved (symbolic links followed, relative paths taken from ``root``) if it lies inside ``root``;
    None when it leads outside (``..``, an absolute path elsewhere, a symbolic link out) or cannot be resolved."""
    try:
        root_resolved = Path(root).resolve()
        resolved = (root_resolved / Path(path)).resolve()
    except (OSError, RuntimeError, ValueError):  # symlink loops, NUL bytes
        return None
    return resolved if resolved.is_relative_to(root_resolved) else None


def unsafe_reason(root: str | Path, path: str | Path) -> str | None:
    """Why a file found under ``root`` is skipped, or None when it may be read: outside ``root`` once resolved, or
    a name that is not valid UTF-8 (it could not be stored, shown or exported)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return "its file name is not valid UTF-8 (rename it)"
    if inside(root, path) is None:
        return "it is a symbolic link (or path) that leads outside the data root"
    return None
