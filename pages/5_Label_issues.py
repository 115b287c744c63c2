"""Label issues: likely wrong labels (cleanlab confident learning on out-of-sample probabilities), most suspicious
first, each with a suggested label and the relabel form; per-class label quality; multi-class candidates.

Deep link: ``/Label_issues?class=bar&split=test&tab=multi``.
"""

from __future__ import annotations

import streamlit as st

from indoor.analysis import explore, label_issues, multiclass
from indoor.app import loading, page, state, urls
from indoor.app.components.bars import bars, bars_payload
from indoor.app.text import md, percent, split_label
from indoor.app.widgets import decision_form, detail, pick_list
from indoor.decisions import Decision

cache = page.setup_page("Label issues", ":material/rule:")
classes = cache.classes
samples = cache.samples


tables = loading.analysis_tables(cache)
issues, quality, candidates = tables["label_issues"], tables["class_quality"], tables["multiclass"]

TABS = {"queue": "Review queue", "classes": "Per-class label quality", "multi": "Multi-class candidates"}
present = [s for s in ("test", "train", "val") if (samples["split"] == s).any()]
PARAMS = {
    "class": urls.class_param(cache, "li.class"),
    "split": urls.choice_param("li.split", "all", ["all"] + present),
    "flagged": urls.bool_param("li.flagged", True),
    "tab": urls.choice_param("li.tab", "queue", list(TABS)),
}
urls.url_sync_in("label_issues", PARAMS)

st.title("Label issues")
st.caption(
    "Confident learning (cleanlab) on the out-of-sample probabilities: an image is flagged when the model is "
    "confidently sure of another class, judged against per-class thresholds. Most suspicious first."
)
for message in tables["warnings"].query("analysis == 'label_issues'")["message"]:
    st.warning(md(message), icon=":material/warning:")

n_flagged = int(issues["is_issue"].sum())
m1, m2, m3 = st.columns(3)
m1.metric("Flagged labels", f"{n_flagged:,}", help="cleanlab.filter.find_label_issues")
m2.metric("Share of images", percent(n_flagged / max(len(issues), 1)))
worst = quality.dropna(subset=["label_quality"]).head(1)
m3.metric("Noisiest class", md(worst["class"].iloc[0]) if len(worst) else "–",
          help="Lowest cleanlab label quality score (rank_classes_by_label_quality)")

tab = st.segmented_control("View", list(TABS), key="li.tab", format_func=TABS.get, required=True,
                           label_visibility="collapsed")
f1, f2, f3 = st.columns([3, 2, 3], vertical_alignment="bottom")
class_name = f1.selectbox("Given label", [urls.ANY] + classes, key="li.class",
                          format_func=lambda c: "any class" if c == urls.ANY else c)
split = f2.selectbox("Split", ["all"] + present, key="li.split", format_func=split_label)
flagged_only = f3.toggle("Flagged only", key="li.flagged",
                         help="Off: every image, in review order (flagged first, then by label quality).")
urls.url_sync_out("label_issues", PARAMS)
selected = explore.sample_mask(samples, split=split,
                               labels=None if class_name == urls.ANY else [classes.index(class_name)])


def _decided() -> set[str]:
    store = loading.decision_store(cache)
    return set(store.current()["sample_id"]) if store is not None else set()


# ------------------------------------------------------------------------------------------------ review queue
if tab == "queue":
    queue = label_issues.review_queue(issues, keep=selected, flagged_only=flagged_only)
    if queue.empty:
        st.info("No flagged label in this selection." if flagged_only else "No image in this selection.",
                icon=":material/filter_alt_off:")
        st.stop()
    view = label_issues.queue_table(queue, classes, _decided())
    pick_list.pick_table(view, pos_key="li.pos", table_key="li.queue", column_config={
        "label quality": st.column_config.ProgressColumn(format="%.2f", min_value=0.0, max_value=1.0),
        "p(given)": st.column_config.NumberColumn(format="%.2f"),
    })
    pos = pick_list.position("li.pos", len(queue))
    pick_list.nav(pos, len(queue), pos_key="li.pos", table_key="li.queue", what="image")
    row = int(queue["row"].iat[pos])
    sample_id = str(samples["sample_id"].iat[row])
    given, suggested = classes[int(queue["label"].iat[pos])], classes[int(queue["suggested"].iat[pos])]
    s1, s2, s3 = st.columns([3, 2, 2], vertical_alignment="center")
    s1.markdown(f"Suggested label: **{md(suggested)}** (given **{md(given)}**, label quality "
                f"{float(queue['label_quality'].iat[pos]):.2f})")
    s2.button(f"Relabel to {md(suggested)}", key="li.accept", type="primary", icon=":material/swap_horiz:",
              on_click=decision_form.save_decision, width="stretch",
              args=(cache, Decision(sample_id=sample_id, action="relabel", new_label=suggested,
                                    tags=("incorrect label",), annotator=state.annotator())))
    with s3:
        urls.relabel_link(sample_id, label="Full relabel form")
    detail.image_detail(cache, row, key="li.detail")

# --------------------------------------------------------------------------------------------- per-class quality
elif tab == "classes":
    frame = quality.dropna(subset=["label_quality"])
    left, right = st.columns([3, 4], gap="large")
    with left:
        st.markdown("**Label quality per class (worst first)**")
        st.caption("Estimated share of correct labels: red below 0.8, amber below 0.9.")
        scores = frame["label_quality"].to_numpy(dtype=float)
        bars(bars_payload(
            frame["class"].tolist(), scores,
            colours=["#dc2626" if q < 0.8 else "#f59e0b" if q < 0.9 else "#16a34a" for q in scores],
            value_text=[f"{q:.2f}" for q in scores],
            hover=[f"{c}: quality {q:.2f}\n{n} images, {k} flagged"
                   for c, q, n, k in zip(frame["class"], scores, frame["n"], frame["n_issues"])],
            max_height=600,  # as tall as the table beside it; more classes scroll
        ), key="li.quality_chart")
    with right:
        st.dataframe(quality, hide_index=True, width="stretch", height=min(600, 36 * len(quality) + 40),
                     column_config={
                         "label_quality": st.column_config.ProgressColumn("label quality", format="%.2f",
                                                                          min_value=0.0, max_value=1.0),
                         "issue_share": st.column_config.NumberColumn("flagged share", format="percent"),
                         "noise_out": st.column_config.NumberColumn("labelled, truly other", format="percent"),
                         "noise_in": st.column_config.NumberColumn("truly, labelled other", format="percent"),
                     })
        pick = st.selectbox("Open a class", frame["class"].tolist(), key="li.quality_class")
        c1, c2 = st.columns(2)
        with c1:
            urls.class_pair_link(pick, None, None, label=f"Errors of {md(pick)} in the gallery", key="li.ql1",
                               icon=":material/photo_library:")
        with c2:
            st.page_link("pages/5_Label_issues.py", label=f"Flagged labels of {md(pick)}", icon=":material/rule:",
                         query_params={"class": pick})

# ------------------------------------------------------------------------------------------ multi-class candidates
else:
    frame = explore.rows_where(candidates, selected)
    st.caption("Images whose two most probable classes are both high or nearly equal — possibly both present. "
               "Pairs that are near-equal for most of their images (look-alike classes) rank lower: see Class merges.")
    if frame.empty:
        st.info("No multi-class candidate in this selection.", icon=":material/filter_alt_off:")
        st.stop()
    view = multiclass.candidate_table(frame, classes)
    pick_list.pick_table(view, pos_key="li.mpos", table_key="li.multi", height=300, column_config={
        "p(A)": st.column_config.NumberColumn(format="%.2f"), "p(B)": st.column_config.NumberColumn(format="%.2f"),
        "score": st.column_config.NumberColumn(format="%.2f"),
    })
    pos = pick_list.position("li.mpos", len(frame))
    pick_list.nav(pos, len(frame), pos_key="li.mpos", table_key="li.multi", what="candidate")
    item = frame.iloc[pos]
    row = int(item["row"])
    sample_id = str(item["sample_id"])
    label = classes[int(item["label"])]
    a, b = classes[int(item["class_a"])], classes[int(item["class_b"])]
    extra = tuple(c for c in (a, b) if c != label)
    with st.container(border=True):
        left, right = st.columns([2, 3], gap="large")
        with left:
            st.image(str(cache.image_path(row)), width="stretch",
                     caption=md(f"{sample_id} · given {label} · {a} {item['p_a']:.0%} / {b} {item['p_b']:.0%}"))
        with right:
            st.markdown(f"**Both {md(a)} and {md(b)}?**")
            st.button(f"Multi-label: {md(label)} + {md(', '.join(extra))}", key="li.multilabel", type="primary",
                      icon=":material/join:", on_click=decision_form.save_decision, disabled=not extra,
                      args=(cache, Decision(sample_id=sample_id, action="multi_label", extra_labels=extra,
                                            tags=("multi-class",), annotator=state.annotator())))
            decision_form.quick_decisions(cache, sample_id, key="li.mquick")
            urls.relabel_link(sample_id)
        for name in (a, b):
            typical = loading.typical_rows(cache, classes.index(name), k=6, exclude=row)
            st.markdown(f"**Typical {md(name)}**")
            if typical:
                st.image([str(cache.thumb_path(r)) for r in typical], width=110)
            else:
                st.caption("No correctly classified image of this class.")
