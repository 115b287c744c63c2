"""Label issues: likely wrong labels (two out-of-sample judges, the probe and the nearest training images, combined
by cleanlab's confident learning), most suspicious first, each with its kind (likely mislabelled / ambiguous /
hard example), the evidence (neighbours with their labels), a suggested label and the relabel form; per-class
label quality; multi-class candidates. A weak model (too inaccurate to judge labels) ranks but flags nothing.

Deep link: ``/Label_issues?class=bar&split=test&tab=multi``.
"""

from __future__ import annotations

import streamlit as st

from indoor.analysis import explore, label_issues
from indoor.app import loading, page, state, urls
from indoor.app.components.bars import bars, bars_payload
from indoor.app.text import md, percent, split_label
from indoor.app.widgets import decision_form, detail, label_evidence, pick_list
from indoor.app.widgets.multiclass_view import multiclass_view
from indoor.decisions import Decision

cache = page.setup_page("Label issues")
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
    "Two out-of-sample judges — the probe and the image's nearest training images — averaged; cleanlab's confident "
    "learning on the average names the suspects. The images the build cropped have a third judge, their crops. A "
    "suspect is flagged (likely mislabelled) only when two judges reject its label; ambiguous and hard examples are "
    "shown, not flagged. Most suspicious first (the judges' mean probability of the label)."
)
weak = label_evidence.weak_model_banner(tables["warnings"])
for message in tables["warnings"].query("analysis == 'label_issues'")["message"]:
    if message != label_evidence.weak_model_message(tables["warnings"]):
        st.warning(md(message), icon=":material/warning:")

n_flagged = int(issues["is_issue"].sum())
kinds = label_evidence.kind_counts(issues)
m1, m2, m3 = st.columns(3)
m1.metric("Flagged labels", f"{n_flagged:,}", help="Likely mislabelled: two judges reject the given label",
          delta=f"{percent(n_flagged / max(len(issues), 1))} of images", delta_color="off", delta_arrow="off")
m2.metric("Ambiguous · hard examples", f"{kinds.get('ambiguous', 0):,} · {kinds.get('hard example', 0):,}"
          if kinds else "–", help="Suspects that are not flagged: two classes plausible, or a correct label the "
                                  "model gets wrong (its nearest training images vote for it)")
worst = quality.dropna(subset=["label_quality"]).head(1)
m3.metric("Noisiest class", md(worst["class"].iloc[0]) if len(worst) else "–",
          help="Lowest cleanlab label quality score (rank_classes_by_label_quality)")

tab = st.segmented_control("View", list(TABS), key="li.tab", format_func=TABS.get, required=True,
                           label_visibility="collapsed")
f1, f2, f3 = st.columns([3, 2, 3], vertical_alignment="bottom")
class_name = f1.selectbox("Given label", [urls.ANY] + classes, key="li.class",
                          format_func=lambda c: "any class" if c == urls.ANY else c)
split = f2.selectbox("Split", ["all"] + present, key="li.split", format_func=split_label)
flagged_only = f3.toggle("Suspects only" if weak else "Flagged only", key="li.flagged",
                         help="Off: every image, in review order (flagged first, then by label quality).")
urls.url_sync_out("label_issues", PARAMS)
selected = explore.sample_mask(samples, split=split,
                               labels=None if class_name == urls.ANY else [classes.index(class_name)])


def _decided() -> set[str]:
    store = loading.decision_store(cache)
    return set(store.current()["sample_id"]) if store is not None else set()


# ------------------------------------------------------------------------------------------------ review queue
if tab == "queue":
    suspects = issues[issues["is_suspect"]] if weak and flagged_only and "is_suspect" in issues else issues
    queue = label_issues.review_queue(suspects, keep=selected, flagged_only=flagged_only and not weak)
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
    label_evidence.evidence(cache, label_evidence.issue_record(queue, row), key="li.evidence", only_suspects=False)
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
    multiclass_view(cache, candidates, tables.get("regions"), selected)
