"""Custom Streamlit components of the dashboard (each in its own folder: JS, CSS and a Python wrapper).

:func:`load` declares one of them from its folder's ``index.js`` and ``style.css`` (read once per process), with
the shared ``common.css`` (the tooltip card) in front when asked.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Union

import streamlit as st

_HERE = Path(__file__).parent


def load(name: str, folder: str, *, common_css: bool = False):
    """The st.components.v2 component ``name`` from ``components/<folder>/`` (mounted without shadow DOM)."""
    css = (_read("common.css") + "\n" if common_css else "") + _read(f"{folder}/style.css")
    return st.components.v2.component(name, js=_read(f"{folder}/index.js"), css=css, isolate_styles=False)


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
