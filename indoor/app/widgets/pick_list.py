"""A list to work through one item at a time: a table the reviewer clicks (one row) to jump to an item, and
Previous / Next buttons. The position lives in session state under ``pos_key``; the table's widget key changes
(``<table_key>.<generation>``) whenever Previous / Next move, so its highlighted row never lags behind."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def position(pos_key: str, n: int) -> int:
    """The current item's index in a list of ``n``, kept in session state (clamped into the list)."""
    pos = min(max(int(st.session_state.get(pos_key, 0)), 0), max(n - 1, 0))
    st.session_state[pos_key] = pos
    return pos


def _move(pos_key: str, step: int, table_key: str) -> None:
    st.session_state[pos_key] = max(int(st.session_state.get(pos_key, 0)) + step, 0)
    st.session_state[f"{table_key}.gen"] = st.session_state.get(f"{table_key}.gen", 0) + 1


def _picked(pos_key: str, table_key: str) -> None:
    event = st.session_state.get(f"{table_key}.{st.session_state.get(f'{table_key}.gen', 0)}")
    rows = (event or {}).get("selection", {}).get("rows", []) if isinstance(event, dict) else event.selection.rows
    if rows:
        st.session_state[pos_key] = int(rows[0])


def pick_table(frame: pd.DataFrame, *, pos_key: str, table_key: str, column_config: dict, height: int = 360) -> None:
    """A list the reviewer can click (one row) to open that item below."""
    gen = st.session_state.get(f"{table_key}.gen", 0)
    st.dataframe(frame, key=f"{table_key}.{gen}", on_select=lambda: _picked(pos_key, table_key),
                 selection_mode="single-row", hide_index=True, width="stretch", height=height,
                 column_config=column_config)


def nav(pos: int, n: int, *, pos_key: str, table_key: str, what: str) -> None:
    """Previous / Next buttons (keys ``<pos_key>.prev`` / ``.next``) and where the reviewer is in the list."""
    a, b, c = st.columns([1, 1, 5], vertical_alignment="center")
    a.button("Previous", key=f"{pos_key}.prev", disabled=pos == 0, on_click=_move, args=(pos_key, -1, table_key),
             icon=":material/arrow_back:", width="stretch")
    b.button("Next", key=f"{pos_key}.next", disabled=pos >= n - 1, on_click=_move, args=(pos_key, 1, table_key),
             icon=":material/arrow_forward:", width="stretch")
    c.markdown(f"Reviewing **{what} {pos + 1:,} of {n:,}** (click a row above to jump)")
