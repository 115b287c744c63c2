"""The only road from data to Streamlit text: class names, file names, notes and URL values pass through
:func:`md` (Markdown-rendering calls) or :func:`esc` (HTML); plus the few display formats every page shares."""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np


SPLIT_LABELS = {"test": "test", "train": "train (out-of-fold)", "val": "val", "all": "all splits"}
ACTION_LABELS = {
    "keep": "Keep",
    "relabel": "Relabel",
    "multi_label": "Multi-label",
    "remove": "Remove",
    "unsure": "Unsure",
}


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~$|:])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.MULTILINE)


def md(text: Any) -> str:
    """``text`` escaped for Streamlit markdown (labels, captions): no emphasis, links, HTML, LaTeX, emoji codes or
    list/heading syntax from data."""
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    def guard(match: re.Match) -> str:
        token = match.group(2)
        return match.group(1) + (token[:-1] + "\\" + token[-1] if token[0].isdigit() else "\\" + token)

    return _MD_LINE_START.sub(guard, escaped)


def esc(text: Any) -> str:
    """``text`` escaped for HTML (plotly hover and axis labels, HTML written into the page)."""
    return html.escape(str(text), quote=True)


def split_label(split: str) -> str:
    return SPLIT_LABELS.get(split, split)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}%}"
