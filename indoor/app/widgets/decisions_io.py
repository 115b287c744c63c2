"""Decisions in and out of the store: the decisions and class merges CSV downloads, and the CSV import (validated
in full first: nothing is imported when one row is wrong)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indoor.app import state
from indoor.app.text import md
from indoor.cache import Cache
from indoor.decisions import DecisionError, DecisionStore, export_csv, import_csv, merges_csv


def export_import(cache: Cache, store: DecisionStore, current: pd.DataFrame, *, key: str = "relabel") -> None:
    """Two columns: downloads of ``current`` (the store's current decisions) and of the recorded merges, and an
    upload that imports a decisions CSV as the current reviewer's default annotator."""
    export_col, import_col = st.columns(2, gap="large")
    with export_col:
        _downloads(cache, store, current, key=key)
    with import_col:
        _upload(cache, store, key=key)


def _downloads(cache: Cache, store: DecisionStore, current: pd.DataFrame, *, key: str) -> None:
    samples = cache.samples
    st.markdown("**Download**")
    decided = samples.iloc[[cache.row_of[i] for i in set(current["sample_id"]) if i in cache.row_of]]
    csv_text = export_csv(current, decided[["sample_id", "path", "split", "label", "pred"]], cache.classes)
    st.download_button(f"Download decisions CSV ({len(current):,} rows)", csv_text, file_name="decisions.csv",
                       mime="text/csv", icon=":material/download:", key=f"{key}.download",
                       disabled=current.empty, on_click="ignore")
    merges = store.merges()
    if not merges.empty:
        st.download_button(f"Download class merges CSV ({len(merges):,})", merges_csv(merges),
                           file_name="merges.csv", mime="text/csv", icon=":material/download:",
                           key=f"{key}.download_merges", on_click="ignore")
    st.caption("Columns: sample_id, path, split, label, predicted, action, new_label, extra_labels, tags, note, "
               "attributes, annotator, decided_at. Cells starting with = + − @ are neutralised for spreadsheets.")


def _upload(cache: Cache, store: DecisionStore, *, key: str) -> None:
    st.markdown("**Import**")
    round_key = f"{key}.upload_round"
    uploaded = st.file_uploader("Decisions CSV (same columns; sample_id and action required)", type=["csv"],
                                key=f"{key}.upload.{st.session_state.get(round_key, 0)}")
    if uploaded is None:
        return
    try:
        text = uploaded.getvalue().decode("utf-8-sig")
    except UnicodeDecodeError:
        st.error("This file is not UTF-8 text; save it as CSV (UTF-8) and try again.")
        return
    try:
        parsed = import_csv(text, classes=cache.classes, known_ids=cache.row_of.keys(),
                            annotator_default=state.annotator())
    except DecisionError as exc:
        st.error(f"Nothing imported: {len(exc.problems) or 1} problem(s) in {md(uploaded.name)}.")
        st.code("\n".join(exc.problems) or str(exc), language=None)
        return
    if not parsed:
        st.warning(f"{md(uploaded.name)} has no decision rows.")
    elif st.button(f"Import {len(parsed):,} decisions", type="primary", key=f"{key}.import",
                   icon=":material/upload:"):
        try:
            saved = store.save_many(parsed)
        except DecisionError as exc:
            st.error(f"Nothing imported: {md(exc)}")
        else:
            st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
            state.notify("success", f"Imported {saved:,} decisions from {md(uploaded.name)}.")
            st.rerun()
    else:
        st.caption(f"{len(parsed):,} valid rows; they become the current decisions of their annotators.")
