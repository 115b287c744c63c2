"""The only road from data to Streamlit text: class names, file names, notes and URL values pass through
:func:`md` (Markdown-rendering calls) or :func:`esc` (HTML); plus the few display formats every page shares."""

from __future__ import annotations

import html
import re
from contextvars import ContextVar
from typing import Any

import numpy as np


SPLIT_LABELS = {"test": "test", "train": "train (out-of-fold)", "val": "val", "all": "all splits"}
# How the cache on show names its train split (see train_label): set per script run by page.setup_page (Streamlit
# runs each session's script in its own thread, so one session never sees another's).
_TRAIN_LABEL: ContextVar[str] = ContextVar("indoor_train_label", default=SPLIT_LABELS["train"])
ACTION_LABELS = {
    "keep": "Keep",
    "relabel": "Relabel",
    "multi_label": "Multi-label",
    "remove": "Remove",
    "unsure": "Unsure",
}


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~$|:])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.MULTILINE)
WORD_JOINER = "\u2060"  # zero-width and invisible: breaks an autolink literal without changing the text's look
# GFM autolink literals (https://github.github.com/gfm/#autolinks-extension-): "scheme://", "www." and e-mail
# addresses "a@b.c" become links even in escaped text. Checked in Chromium against Streamlit 1.67: a word joiner
# between ":" and "//", between "www" and "." and before "@" stops all three (one after the "//" does not: the
# link tokenizer takes any character into the host, and the browser's URL parser drops the joiner).
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def md(text: Any) -> str:
    """``text`` escaped for Streamlit markdown (labels, captions, alerts, tooltips, metric values): no emphasis,
    links, images, autolinks, HTML, LaTeX, emoji codes or list/heading syntax from data; the text looks the same."""
    escaped = _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, str(text)))
    def guard(match: re.Match) -> str:
        token = match.group(2)
        return match.group(1) + (token[:-1] + "\\" + token[-1] if token[0].isdigit() else "\\" + token)

    return _MD_LINE_START.sub(guard, escaped)


def code(text: Any) -> str:
    """``text`` as a Markdown code span: shown literally (no emphasis, links or HTML inside; md() would show its
    backslashes there), whatever backticks it holds. One line."""
    text = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def esc(text: Any) -> str:
    """``text`` escaped for HTML (plotly hover and axis labels, HTML written into the page)."""
    return html.escape(str(text), quote=True)


def split_label(split: str) -> str:
    return _TRAIN_LABEL.get() if split == "train" else SPLIT_LABELS.get(split, split)


def train_label(meta: dict) -> str:
    """The train split's name for a cache (its ``meta``): out-of-fold for a build (ours or from a checkpoint: a
    probe that never saw the image), for imported predictions in-sample or, with ``--out-of-sample``,
    out-of-sample."""
    from indoor.cache import cache_source, out_of_sample

    if cache_source(meta)["kind"] != "import":
        return SPLIT_LABELS["train"]
    return "train (out-of-sample)" if out_of_sample(meta)["train"] else "train (in-sample)"


def use_train_label(label: str) -> None:
    """Make :func:`split_label` name the train split ``label`` for the rest of this script run (see
    :func:`train_label`)."""
    _TRAIN_LABEL.set(label)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}%}"
