"""Relabel: the full decision form per image, every decision in a table (edit, undo), CSV export and import.

Deep link: ``/Relabel?sample=<sample_id>`` opens that image in the form (the gallery and the map link here).
"""

from __future__ import annotations

import streamlit as st

from indoor.analysis import relabel
from indoor.app import loading, page, state, urls
from indoor.app.text import md, split_label
from indoor.app.widgets import decision_form, decisions_io
from indoor.decisions import DecisionError

cache = page.setup_page("Relabel")
classes = cache.classes
samples = cache.samples
store = loading.decision_store(cache)
if store is None:
    st.stop()

SHOW = {"wrong": "Wrong", "all": "All", "decided": "Decided"}
CLASS_KEY, SHOW_KEY, SAMPLE_KEY = "relabel.class", "relabel.show", "relabel.sample"
PARAMS = {"sample": urls.UrlParam(SAMPLE_KEY, None, lambda raw: raw if raw in cache.row_of else None)}
urls.url_sync_in("relabel", PARAMS)
pending = st.session_state.pop("relabel.pending", None)  # "edit" in the decisions table below
if pending in cache.row_of:
    st.session_state[SAMPLE_KEY] = pending

current = store.current()
decided_ids = set(current["sample_id"])


def candidates(class_name: str, show: str):
    """Images offered in the picker: one given class (or any), misclassified / all / decided."""
    label = None if class_name == urls.ANY else classes.index(class_name)
    return relabel.picker_rows(samples, label=label, show=show, decided=decided_ids)


# Keep the filters consistent with the chosen image (a deep link or "edit" may point anywhere).
chosen = st.session_state.get(SAMPLE_KEY)
st.session_state.setdefault(SHOW_KEY, "wrong")
if chosen is not None:
    row = cache.row_of[chosen]
    chosen_class = classes[int(samples["label"].iat[row])]
    if st.session_state.get(CLASS_KEY) not in (urls.ANY, chosen_class):
        st.session_state[CLASS_KEY] = chosen_class
    if chosen not in set(candidates(st.session_state.get(CLASS_KEY, chosen_class), st.session_state[SHOW_KEY])
                         ["sample_id"]):
        st.session_state[SHOW_KEY] = "all"
if CLASS_KEY not in st.session_state:
    most_errors = relabel.class_with_most_errors(samples["label"].to_numpy(), samples["pred"].to_numpy())
    st.session_state[CLASS_KEY] = classes[most_errors] if most_errors is not None else classes[0]


def _undo_last() -> None:
    try:
        now = store.undo_last(annotator=state.annotator())
    except DecisionError as exc:
        state.notify("error", f"Undo failed: {md(exc)}")
        return
    state.notify("info", "Undone." + (f" Now: {md(now.summary())} for {md(now.sample_id)}" if now else ""))


def filters_changed() -> None:
    st.session_state[SAMPLE_KEY] = None


st.title("Relabel")
picker, form = st.columns([5, 4], gap="large")
with picker:
    f1, f2 = st.columns([3, 2])
    class_name = f1.selectbox("Given label", [urls.ANY] + classes, key=CLASS_KEY, on_change=filters_changed,
                              format_func=lambda c: "any class" if c == urls.ANY else c)
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

    col = loading.columns(cache)

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
        st.markdown(f"Given **{md(label)}** · predicted **{md(pred)}** "
                    f"({float(samples['confidence'].iat[r]):.0%}) · {md(split_label(str(samples['split'].iat[r])))}")
urls.url_sync_out("relabel", PARAMS)

with form:
    if sample_id is None:
        st.info("Choose an image on the left.")
    else:
        st.subheader("Decision")
        decision_form.decision_form(cache, sample_id, key="relabel.form")

# ------------------------------------------------------------------------------------------- all decisions
st.divider()
current = store.current()  # again: the form above may just have saved
st.subheader(f"All decisions ({len(current):,})")
if current.empty:
    st.caption("No decision yet. Decisions saved in the gallery, the map or the form above appear here.")
else:
    table = relabel.decision_table(current, samples, classes)  # newest first
    st.caption("Select a row to open that image in the form above (edit).")
    event = st.dataframe(table[relabel.DECISION_COLUMNS], hide_index=True, width="stretch", key="relabel.table",
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
        buttons.button(f"Undo {md(picked['annotator'])}'s decision on {md(picked['sample_id'])}",
                       icon=":material/undo:", key="relabel.undo_selected", on_click=decision_form.undo_decision,
                       args=(cache, str(picked["sample_id"]), str(picked["annotator"])))
    buttons.button(f"Undo my last decision ({md(state.annotator())})", icon=":material/undo:",
                   key="relabel.undo_last", on_click=_undo_last)


# --------------------------------------------------------------------------------------------- export/import
st.divider()
st.subheader("Export and import")
decisions_io.export_import(cache, store, current, key="relabel")
