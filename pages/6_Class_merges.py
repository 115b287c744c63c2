"""Class merges: class pairs the model cannot tell apart, ranked by label overlap (cleanlab), two-way confusion
and embedding-centroid distance, with typical images of both side by side, the confusion counts, a preview of
accuracy if merged, and a button that records the merge (exported as the merges CSV on the Relabel page).

Deep link: ``/Class_merges?a=bookstore&b=videostore``.
"""

from __future__ import annotations

import streamlit as st

from indoor.analysis import merges
from indoor.app import loading, page, state, urls
from indoor.app.text import md, percent, split_label
from indoor.decisions import DecisionError
from indoor.app.widgets.merge_advice import merge_advice

cache = page.setup_page("Class merges")
classes = cache.classes


tables = loading.analysis_tables(cache)
pairs = tables["merges"]
if pairs.empty:
    st.title("Class merges")
    st.info("This cache has a single class: nothing to merge.")
    st.stop()

known = set(classes)
first = pairs.iloc[0]  # default view: the most mergeable pair
PARAMS = {
    "a": urls.UrlParam("merge.a", first["class_a"], lambda raw: raw if raw in known else None),
    "b": urls.UrlParam("merge.b", first["class_b"], lambda raw: raw if raw in known else None),
}
urls.url_sync_in("merges", PARAMS)

eval_split = "test" if (cache.samples["split"] == "test").any() else "all"
st.title("Class merges")
st.caption(
    "Class pairs ranked by the mean of three ranks: label overlap (cleanlab find_overlapping_classes: estimated "
    "share of images labelled one class but truly the other), two-way confusion, and the cosine distance between "
    f"the classes' mean embeddings. Accuracy if merged: top-1 on the {split_label(eval_split)} split with the "
    "two classes' probabilities summed."
)
for message in tables["warnings"].query("analysis == 'merges'")["message"]:  # e.g. in-sample train probabilities
    st.warning(md(message), icon=":material/warning:")

top_n = st.slider("Pairs listed", 5, min(100, len(pairs)), min(15, len(pairs)), key="merge.top") if len(pairs) > 5 else len(pairs)
shown = pairs.head(top_n)
view = merges.merge_table(shown)


def _picked() -> None:
    event = st.session_state.get("merge.table")
    rows = event["selection"]["rows"] if isinstance(event, dict) else event.selection.rows
    if rows:
        pick = shown.iloc[int(rows[0])]
        st.session_state["merge.a"], st.session_state["merge.b"] = pick["class_a"], pick["class_b"]


st.dataframe(view, key="merge.table", on_select=_picked, selection_mode="single-row", hide_index=True,
             width="stretch", height="content" if len(view) <= 15 else 560, column_config={
                 "confusion": st.column_config.NumberColumn(format="%.1f%%", help="(A→B + B→A) / (A + B images)"),
                 "overlap": st.column_config.NumberColumn(format="%.4f", help="cleanlab joint probability"),
                 "centroid distance": st.column_config.NumberColumn(format="%.3f"),
                 "top-1": st.column_config.NumberColumn(format="%.1f%%"),
                 "top-1 if merged": st.column_config.NumberColumn(format="%.1f%%"),
             })

c1, c2 = st.columns(2)
a = c1.selectbox("Class A", classes, key="merge.a")
b = c2.selectbox("Class B", classes, key="merge.b")
urls.url_sync_out("merges", PARAMS)
if a == b:
    st.info("Choose two different classes.")
    st.stop()
pair = merges.find_pair(pairs, classes.index(a), classes.index(b))
a, b = classes[int(pair["index_a"])], classes[int(pair["index_b"])]

with st.container(border=True):
    st.markdown(f"#### {md(a)} + {md(b)} · rank {int(pair['rank'])} of {len(pairs)}")
    merge_advice(pair)
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric(f"{md(a)} → {md(b)}", f"{int(pair['a_as_b'])}", help=f"{md(a)} images predicted {md(b)} (all splits)")
    m2.metric(f"{md(b)} → {md(a)}", f"{int(pair['b_as_a'])}", help=f"{md(b)} images predicted {md(a)} (all splits)")
    m3.metric("Overlapping labels", f"{int(pair['n_overlap'])}", help="cleanlab estimate of images labelled one "
              "class whose true class is the other")
    m4.metric("Centroid distance", f"{pair['centroid_distance']:.3f}", help="1 − cosine of the mean embeddings")
    m5.metric("Top-1 if merged", percent(pair["top1_merged"]), delta=f"{pair['gain'] * 100:+.1f} pts",
              help=f"{split_label(eval_split)} split; now {percent(pair['top1'])}")
    left, right = st.columns(2, gap="large")
    for column, name, other in ((left, a, b), (right, b, a)):
        with column:
            st.markdown(f"**Typical {md(name)}**")
            rows = loading.typical_rows(cache, classes.index(name), k=8)
            if rows:
                st.image([str(cache.thumb_path(r)) for r in rows], width=100)
            else:
                st.caption("No correctly classified image of this class.")
            urls.class_pair_link(name, other, None, label=f"{md(name)} predicted as {md(other)}", key=f"merge.link.{name}",
                               icon=":material/photo_library:")

    store = loading.decision_store(cache)
    if store is not None:
        st.markdown("**Record a merge**")
        f1, f2, f3 = st.columns([2, 3, 1.4], vertical_alignment="bottom")
        into_choice = f1.selectbox("Merge into", [a, b, f"{a}_{b}"], key="merge.into")
        note = f2.text_input("Note", key="merge.note", placeholder="Why? (optional)")
        if f3.button("Record merge", key="merge.save", type="primary", icon=":material/merge:", width="stretch"):
            try:
                store.save_merge(a, b, into=into_choice, annotator=state.annotator(), note=note)
            except DecisionError as exc:
                st.error(f"Not recorded: {md(exc)}")
            else:
                state.notify("success", f"Recorded: merge {md(a)} + {md(b)} into {md(into_choice)}")
                st.rerun()

store = loading.decision_store(cache)
if store is not None:
    recorded = store.merges()
    st.markdown("#### Recorded merges")
    if recorded.empty:
        st.caption("None yet.")
    else:
        st.dataframe(recorded, hide_index=True, width="stretch")
        u1, u2 = st.columns([3, 2], vertical_alignment="bottom")
        undo_id = u1.selectbox("Undo a merge", recorded["event_id"].tolist(), key="merge.undo_id",
                               format_func=lambda i: " + ".join(recorded.set_index("event_id").loc[i, ["class_a", "class_b"]]))
        if u2.button("Undo merge", key="merge.undo", icon=":material/undo:"):
            try:
                store.undo_merge(int(undo_id), annotator=state.annotator())
            except DecisionError as exc:
                st.error(f"Undo failed: {md(exc)}")
            else:
                state.notify("info", "Merge undone.")
                st.rerun()
        st.page_link(urls.RELABEL_PAGE, label="Download the merges CSV on the Relabel page", icon=":material/download:")
