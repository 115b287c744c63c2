"""Custom Streamlit components of the dashboard (each in its own folder: JS, CSS and a Python wrapper).

:func:`load` declares one of them from its folder's ``index.js`` and ``style.css`` (read once per process), with
the shared ``common.js`` (DOM helpers such as ``el``) in front of every script and the shared ``common.css`` (the
tooltip card) in front of the styles when asked.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

import streamlit as st

_HERE = Path(__file__).parent


def load(name: str, folder: str, *, common_css: bool = False):
    """The st.components.v2 component ``name`` from ``components/<folder>/`` (mounted without shadow DOM)."""
    css = (_read("common.css") + "\n" if common_css else "") + _read(f"{folder}/style.css")
    js = _read("common.js") + "\n" + _read(f"{folder}/index.js")
    return st.components.v2.component(name, js=js, css=css, isolate_styles=False)


@lru_cache(maxsize=None)
def _read(relative: str) -> str:
    return (_HERE / relative).read_text(encoding="utf-8")


Id = Union[int, str]


def row_id(value: Any) -> Id:
    """A row id that a component reports back when the row is clicked: an int (numpy integers too) or a string;
    ValueError for anything else (bools, floats with a fraction, None)."""
    if isinstance(value, bool):
        raise ValueError(f"ids must be ints or strings, got {value!r}")
    if isinstance(value, str):
        return value
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"ids must be ints or strings, got {value!r}") from None
    if as_int != value:
        raise ValueError(f"ids must be ints or strings, got {value!r}")
    return as_int


def signature(payload: dict[str, Any]) -> str:
    """A short hash of a JSON payload: the browser redraws only when it changes."""
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def clicked_row(name: str, folder: str, payload: dict[str, Any], *, key: str) -> Id | None:
    """Mount a component whose rows report their id when clicked (the bar list, the table); returns the id of the
    row clicked in the run that click started, else None (also for anything that is not one of ``payload["ids"]``)."""
    component = load(name, folder, common_css=True)
    result = component(data=payload, key=key, on_clicked_change=lambda: None)
    clicked = result.get("clicked") if hasattr(result, "get") else getattr(result, "clicked", None)
    if isinstance(clicked, bool) or not isinstance(clicked, (int, str)):
        return None
    return clicked if clicked in set(payload["ids"]) else None
