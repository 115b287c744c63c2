"""Relabel: the full decision form per image, every decision in a table (edit, undo), CSV export and import.

Deep link: ``/Relabel?sample=<sample_id>`` opens that image in the form (the gallery and the map link here).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from indoor.decisions import DecisionError, export_csv, import_csv, merges_csv

cache = ui.setup_page("Relabel", ":material/edit_note:")
classes = cache.classes
samples = cache.samples
store = ui.decision_store(cache)
if store is None:
    st.stop()

SHOW = {"wrong": "Wrong", "all": "All", "decided": "Decided"}
CLASS_KEY, SHOW_KEY, SAMPLE_KEY = "relabel.class", "relabel.show", "relabel.sample"
PARAMS = {"sample": ui.UrlParam(SAMPLE_KEY, None, lambda raw: raw if raw in cache.row_of else None)}
ui.url_sync_in("relabel", PARAMS)
pending = st.session_state.pop("relabel.pending", None)  # "edit" in the decisions table below
if pending in cache.row_of:
    st.session_state[SAMPLE_KEY] = pending

current = store.current()
decided_ids = set(current["sample_id"])


def candidates(class_name: str, show: str) -> pd.DataFrame:
    """Images offered in the picker: one given class (or any), misclassified / all / decided."""
    frame = samples
    if class_name != ui.ANY:
        frame = frame[frame["label"] == classes.index(class_name)]
    if show == "wrong":
        frame = frame[frame["label"] != frame["pred"]].sort_values("confidence", ascending=False, kind="stable")
    elif show == "decided":
        frame = frame[frame["sample_id"].isin(decided_ids)]
    return frame


# Keep the filters consistent with the chosen image (a deep link or "edit" may point anywhere).
chosen = st.session_state.get(SAMPLE_KEY)
st.session_state.setdefault(SHOW_KEY, "wrong")
if chosen is not None:
    row = cache.row_of[chosen]
    chosen_class = classes[int(samples["label"].iat[row])]
    if st.session_state.get(CLASS_KEY) not in (ui.ANY, chosen_class):
        st.session_state[CLASS_KEY] = chosen_class
    if chosen not in set(candidates(st.session_state.get(CLASS_KEY, chosen_class), st.session_state[SHOW_KEY])
                         ["sample_id"]):
        st.session_state[SHOW_KEY] = "all"
if CLASS_KEY not in st.session_state:
    wrong_counts = (samples["label"] != samples["pred"]).groupby(samples["label"]).sum()
    st.session_state[CLASS_KEY] = classes[int(wrong_counts.idxmax())] if len(wrong_counts) else classes[0]


def _undo_last() -> None:
    try:
        now = store.undo_last(annotator=ui.annotator())
    except DecisionError as exc:
        ui.notify("error", f"Undo failed: {exc}")
        return
    ui.notify("info", "Undone." + (f" Now: {now.summary()} for {now.sample_id}" if now else ""))


def filters_changed() -> None:
    st.session_state[SAMPLE_KEY] = None


st.title("Relabel")
picker, form = st.columns([5, 4], gap="large")
with picker:
    f1, f2 = st.columns([3, 2])
    class_name = f1.selectbox("Given label", [ui.ANY] + classes, key=CLASS_KEY, on_change=filters_changed,
                              format_func=lambda c: "any class" if c == ui.ANY else c)
    show = f2.segmented_control("Show", list(SHOW), key=SHOW_KEY, format_func=SHOW.get, required=True,
                                on_change=filters_changed,
                                help="Wrong: misclassified images, most confident first. Decided: images with a decision.")
    offered = candidates(class_name, show)
    LIMIT = 1000
    ids = offered["sample_id"].head(LIMIT).tolist()
    if chosen is not None and chosen not in ids:
        ids.insert(0, chosen)
    if st.session_state.get(SAMPLE_KEY) not in ids:
        st.session_state[SAMPLE_KEY] = ids[0] if ids else None

    col = ui.columns(cache)

    def describe(sample_id: str) -> str:
        r = cache.row_of[sample_id]
        mark = " · decided" if sample_id in decided_ids else ""
        return (f"{sample_id} · {classes[col.label[r]]} → {classes[col.pred[r]]} "
                f"({float(col.confidence[r]):.0%}){mark}")

    sample_id = st.selectbox(f"Image ({len(offered):,} match)", ids, key=SAMPLE_KEY, format_func=describe,
                             placeholder="No image matches these filters")
    if len(offered) > LIMIT:
        st.caption(f"Showing the first {LIMIT:,}; narrow the filters to see the others.")
    if sample_id is not None:
        r = cache.row_of[sample_id]
        label, pred = classes[int(samples["label"].iat[r])], classes[int(samples["pred"].iat[r])]
        st.image(str(cache.image_path(r)), width="stretch")
        st.markdown(f"Given **{ui.md(label)}** · predicted **{ui.md(pred)}** "
                    f"({float(samples['confidence'].iat[r]):.0%}) · {ui.md(ui.split_label(str(samples['split'].iat[r])))}")
ui.url_sync_out("relabel", PARAMS)

with form:
    if sample_id is None:
        st.info("Choose an image on the left.")
    else:
        st.subheader("Decision")
        ui.decision_form(cache, sample_id, key="relabel.form")

# ------------------------------------------------------------------------------------------- all decisions
st.divider()
current = store.current()  # again: the form above may just have saved
st.subheader(f"All decisions ({len(current):,})")
if current.empty:
    st.caption("No decision yet. Decisions saved in the gallery, the map or the form above appear here.")
else:
    table = current.merge(samples[["sample_id", "split", "label", "pred"]], on="sample_id", how="left")
    table["given"] = [classes[int(i)] if pd.notna(i) else "" for i in table["label"]]
    table["predicted"] = [classes[int(i)] if pd.notna(i) else "" for i in table["pred"]]
    table = table.sort_values("event_id", ascending=False, kind="stable").reset_index(drop=True)
    table["decided (UTC)"] = pd.to_datetime(table["decided_at"], utc=True, format="ISO8601").dt.strftime(
        "%Y-%m-%d %H:%M")
    columns = ["sample_id", "split", "given", "predicted", "action", "new_label", "extra_labels", "tags", "note",
               "annotator", "decided (UTC)"]

    st.caption("Select a row to open that image in the form above (edit).")
    event = st.dataframe(table[columns], hide_index=True, width="stretch", key="relabel.table",
                         on_select="rerun", selection_mode="single-row",
                         height=min(36 * (len(table) + 1) + 3, 420),
                         column_config={name: st.column_config.TextColumn(width="small")
                                        for name in ("split", "action", "extra_labels", "note", "annotator")})
    selected_rows = list(((event or {}).get("selection") or {}).get("rows") or [])
    selected_rows = [r for r in selected_rows if 0 <= r < len(table)]
    if selected_rows != st.session_state.get("relabel.table_handled", []):
        st.session_state["relabel.table_handled"] = selected_rows
        if selected_rows and table["sample_id"].iat[selected_rows[0]] != sample_id:
            st.session_state["relabel.pending"] = str(table["sample_id"].iat[selected_rows[0]])
            st.rerun()
    buttons = st.container(horizontal=True)
    if selected_rows:
        picked = table.iloc[selected_rows[0]]
        buttons.button(f"Undo {ui.md(picked['annotator'])}'s decision on {ui.md(picked['sample_id'])}",
                       icon=":material/undo:", key="relabel.undo_selected", on_click=ui.undo_decision,
                       args=(cache, str(picked["sample_id"]), str(picked["annotator"])))
    buttons.button(f"Undo my last decision ({ui.md(ui.annotator())})", icon=":material/undo:",
                   key="relabel.undo_last", on_click=_undo_last)


# --------------------------------------------------------------------------------------------- export/import
st.divider()
st.subheader("Export and import")
export_col, import_col = st.columns(2, gap="large")
with export_col:
    st.markdown("**Download**")
    decided = samples.iloc[[cache.row_of[i] for i in set(current["sample_id"]) if i in cache.row_of]]
    csv_text = export_csv(current, decided[["sample_id", "path", "split", "label", "pred"]], classes)
    st.download_button(f"Download decisions CSV ({len(current):,} rows)", csv_text, file_name="decisions.csv",
                       mime="text/csv", icon=":material/download:", key="relabel.download",
                       disabled=current.empty, on_click="ignore")
    merges = store.merges()
    if not merges.empty:
        st.download_button(f"Download class merges CSV ({len(merges):,})", merges_csv(merges),
                           file_name="merges.csv", mime="text/csv", icon=":material/download:",
                           key="relabel.download_merges", on_click="ignore")
    st.caption("Columns: sample_id, path, split, label, predicted, action, new_label, extra_labels, tags, note, "
               "attributes, annotator, decided_at. Cells starting with = + − @ are neutralised for spreadsheets.")
with import_col:
    st.markdown("**Import**")
    upload_key = f"relabel.upload.{st.session_state.get('relabel.upload_round', 0)}"
    uploaded = st.file_uploader("Decisions CSV (same columns; sample_id and action required)", type=["csv"],
                                key=upload_key)
    if uploaded is not None:
        try:
            text = uploaded.getvalue().decode("utf-8-sig")
        except UnicodeDecodeError:
            st.error("This file is not UTF-8 text; save it as CSV (UTF-8) and try again.")
            text = None
        if text is not None:
            try:
                parsed = import_csv(text, classes=classes, known_ids=cache.row_of.keys(),
                                    annotator_default=ui.annotator())
            except DecisionError as exc:
                st.error(f"Nothing imported: {len(exc.problems) or 1} problem(s) in {uploaded.name}.")
                st.code("\n".join(exc.problems) or str(exc), language=None)
            else:
                if not parsed:
                    st.warning(f"{uploaded.name} has no decision rows.")
                elif st.button(f"Import {len(parsed):,} decisions", type="primary", key="relabel.import",
                               icon=":material/upload:"):
                    try:
                        saved = store.save_many(parsed)
                    except DecisionError as exc:
                        st.error(f"Nothing imported: {exc}")
                    else:
                        st.session_state["relabel.upload_round"] = st.session_state.get("relabel.upload_round", 0) + 1
                        ui.notify("success", f"Imported {saved:,} decisions from {uploaded.name}.")
                        st.rerun()
                else:
                    st.caption(f"{len(parsed):,} valid rows; they become the current decisions of their annotators.")
