"""Label issues: likely wrong labels (cleanlab confident learning on out-of-sample probabilities), most suspicious
first, each with a suggested label and the relabel form; per-class label quality; multi-class candidates.

Deep link: ``/Label_issues?class=bar&split=test&tab=multi``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import ui
from components.bars import bars, bars_payload
from indoor.decisions import Decision

cache = ui.setup_page("Label issues", ":material/rule:")
classes = cache.classes
samples = cache.samples


tables = ui.analysis_tables(cache)
issues, quality, candidates = tables["label_issues"], tables["class_quality"], tables["multiclass"]

TABS = {"queue": "Review queue", "classes": "Per-class label quality", "multi": "Multi-class candidates"}
present = [s for s in ("test", "train", "val") if (samples["split"] == s).any()]
PARAMS = {
    "class": ui.class_param(cache, "li.class"),
    "split": ui.choice_param("li.split", "all", ["all"] + present),
    "flagged": ui.bool_param("li.flagged", True),
    "tab": ui.choice_param("li.tab", "queue", list(TABS)),
}
ui.url_sync_in("label_issues", PARAMS)

st.title("Label issues")
st.caption(
    "Confident learning (cleanlab) on the out-of-sample probabilities: an image is flagged when the model is "
    "confidently sure of another class, judged against per-class thresholds. Most suspicious first."
)
for message in tables["warnings"].query("analysis == 'label_issues'")["message"]:
    st.warning(message, icon=":material/warning:")

n_flagged = int(issues["is_issue"].sum())
m1, m2, m3 = st.columns(3)
m1.metric("Flagged labels", f"{n_flagged:,}", help="cleanlab.filter.find_label_issues")
m2.metric("Share of images", ui.percent(n_flagged / max(len(issues), 1)))
worst = quality.dropna(subset=["label_quality"]).head(1)
m3.metric("Noisiest class", worst["class"].iloc[0] if len(worst) else "–",
          help="Lowest cleanlab label quality score (rank_classes_by_label_quality)")

tab = st.segmented_control("View", list(TABS), key="li.tab", format_func=TABS.get, required=True,
                           label_visibility="collapsed")
f1, f2, f3 = st.columns([3, 2, 3], vertical_alignment="bottom")
class_name = f1.selectbox("Given label", [ui.ANY] + classes, key="li.class",
                          format_func=lambda c: "any class" if c == ui.ANY else c)
split = f2.selectbox("Split", ["all"] + present, key="li.split", format_func=ui.split_label)
flagged_only = f3.toggle("Flagged only", key="li.flagged",
                         help="Off: every image, in review order (flagged first, then by label quality).")
ui.url_sync_out("label_issues", PARAMS)


def _filtered(frame: pd.DataFrame, row_column: str = "row") -> pd.DataFrame:
    rows = frame[row_column].to_numpy()
    keep = np.ones(len(frame), dtype=bool)
    if class_name != ui.ANY:
        keep &= samples["label"].to_numpy()[rows] == classes.index(class_name)
    if split != "all":
        keep &= samples["split"].to_numpy()[rows] == split
    return frame[keep]


def _decided() -> set[str]:
    store = ui.decision_store(cache)
    return set(store.current()["sample_id"]) if store is not None else set()


def _save_decision(decision: Decision) -> None:
    store = ui.decision_store(cache)
    if store is None:
        return
    try:
        store.save(decision)
    except Exception as exc:  # DecisionError: say why, never a traceback
        ui.notify("error", f"Not saved: {exc}")
        return
    ui.notify("success", f"Saved: {decision.summary()} for {decision.sample_id}")


def _position(key: str, n: int) -> int:
    """The reviewed item's index in a list of n, kept in session state; Previous / Next move it."""
    pos = min(max(int(st.session_state.get(key, 0)), 0), max(n - 1, 0))
    st.session_state[key] = pos
    return pos


def _move(key: str, step: int, table_key: str) -> None:
    st.session_state[key] = max(int(st.session_state.get(key, 0)) + step, 0)
    st.session_state[f"{table_key}.gen"] = st.session_state.get(f"{table_key}.gen", 0) + 1


def _picked(key: str, table_key: str) -> None:
    event = st.session_state.get(f"{table_key}.{st.session_state.get(f'{table_key}.gen', 0)}")
    rows = (event or {}).get("selection", {}).get("rows", []) if isinstance(event, dict) else event.selection.rows
    if rows:
        st.session_state[key] = int(rows[0])


def _pick_table(frame: pd.DataFrame, *, pos_key: str, table_key: str, column_config: dict, height: int = 360) -> None:
    """A list the reviewer can click (one row) to open that item below."""
    gen = st.session_state.get(f"{table_key}.gen", 0)
    st.dataframe(frame, key=f"{table_key}.{gen}", on_select=lambda: _picked(pos_key, table_key),
                 selection_mode="single-row", hide_index=True, width="stretch", height=height,
                 column_config=column_config)


def _nav(pos: int, n: int, *, pos_key: str, table_key: str, what: str) -> None:
    a, b, c = st.columns([1, 1, 5], vertical_alignment="center")
    a.button("Previous", key=f"{pos_key}.prev", disabled=pos == 0, on_click=_move, args=(pos_key, -1, table_key),
             icon=":material/arrow_back:", width="stretch")
    b.button("Next", key=f"{pos_key}.next", disabled=pos >= n - 1, on_click=_move, args=(pos_key, 1, table_key),
             icon=":material/arrow_forward:", width="stretch")
    c.markdown(f"Reviewing **{what} {pos + 1:,} of {n:,}** (click a row above to jump)")


# ------------------------------------------------------------------------------------------------ review queue
if tab == "queue":
    queue = issues[issues["is_issue"]] if flagged_only else issues
    queue = _filtered(queue).sort_values("review_rank", kind="stable")
    if queue.empty:
        st.info("No flagged label in this selection." if flagged_only else "No image in this selection.",
                icon=":material/filter_alt_off:")
        st.stop()
    decided = _decided()
    rows = queue["row"].to_numpy()
    view = pd.DataFrame({
        "#": np.arange(1, len(queue) + 1),
        "sample_id": queue["sample_id"].to_numpy(),
        "split": queue["split"].to_numpy(),
        "given": [classes[i] for i in queue["label"]],
        "suggested": [classes[i] for i in queue["suggested"]],
        "label quality": queue["label_quality"].to_numpy(),
        "p(given)": queue["self_confidence"].to_numpy(),
        "flagged": queue["is_issue"].to_numpy(),
        "decided": [sid in decided for sid in queue["sample_id"]],
    })
    _pick_table(view, pos_key="li.pos", table_key="li.queue", column_config={
        "label quality": st.column_config.ProgressColumn(format="%.2f", min_value=0.0, max_value=1.0),
        "p(given)": st.column_config.NumberColumn(format="%.2f"),
    })
    pos = _position("li.pos", len(queue))
    _nav(pos, len(queue), pos_key="li.pos", table_key="li.queue", what="image")
    row = int(rows[pos])
    sample_id = str(samples["sample_id"].iat[row])
    given, suggested = classes[int(queue["label"].iat[pos])], classes[int(queue["suggested"].iat[pos])]
    s1, s2, s3 = st.columns([3, 2, 2], vertical_alignment="center")
    s1.markdown(f"Suggested label: **{ui.md(suggested)}** (given **{ui.md(given)}**, label quality "
                f"{float(queue['label_quality'].iat[pos]):.2f})")
    s2.button(f"Relabel to {ui.md(suggested)}", key="li.accept", type="primary", icon=":material/swap_horiz:",
              on_click=_save_decision, width="stretch",
              args=(Decision(sample_id=sample_id, action="relabel", new_label=suggested, tags=("incorrect label",),
                             annotator=ui.annotator()),))
    with s3:
        ui.relabel_link(sample_id, label="Full relabel form")
    ui.image_detail(cache, row, key="li.detail")

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
            ui.class_pair_link(pick, None, None, label=f"Errors of {pick} in the gallery", key="li.ql1",
                               icon=":material/photo_library:")
        with c2:
            st.page_link("pages/5_Label_issues.py", label=f"Flagged labels of {pick}", icon=":material/rule:",
                         query_params={"class": pick})

# ------------------------------------------------------------------------------------------ multi-class candidates
else:
    frame = _filtered(candidates)
    st.caption("Images whose two most probable classes are both high or nearly equal — possibly both present. "
               "Pairs that are near-equal for most of their images (look-alike classes) rank lower: see Class merges.")
    if frame.empty:
        st.info("No multi-class candidate in this selection.", icon=":material/filter_alt_off:")
        st.stop()
    view = pd.DataFrame({
        "#": np.arange(1, len(frame) + 1),
        "sample_id": frame["sample_id"].to_numpy(),
        "given": [classes[i] for i in frame["label"]],
        "class A": [classes[i] for i in frame["class_a"]],
        "class B": [classes[i] for i in frame["class_b"]],
        "p(A)": frame["p_a"].to_numpy(),
        "p(B)": frame["p_b"].to_numpy(),
        "score": frame["score"].to_numpy(),
    })
    _pick_table(view, pos_key="li.mpos", table_key="li.multi", height=300, column_config={
        "p(A)": st.column_config.NumberColumn(format="%.2f"), "p(B)": st.column_config.NumberColumn(format="%.2f"),
        "score": st.column_config.NumberColumn(format="%.2f"),
    })
    pos = _position("li.mpos", len(frame))
    _nav(pos, len(frame), pos_key="li.mpos", table_key="li.multi", what="candidate")
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
                     caption=f"{sample_id} · given {label} · {a} {item['p_a']:.0%} / {b} {item['p_b']:.0%}")
        with right:
            st.markdown(f"**Both {ui.md(a)} and {ui.md(b)}?**")
            st.button(f"Multi-label: {ui.md(label)} + {ui.md(', '.join(extra))}", key="li.multilabel", type="primary",
                      icon=":material/join:", on_click=_save_decision, disabled=not extra,
                      args=(Decision(sample_id=sample_id, action="multi_label", extra_labels=extra,
                                     tags=("multi-class",), annotator=ui.annotator()),))
            ui.quick_decisions(cache, sample_id, key="li.mquick")
            ui.relabel_link(sample_id)
        for name in (a, b):
            typical = ui.typical_rows(cache, classes.index(name), k=6, exclude=row)
            st.markdown(f"**Typical {ui.md(name)}**")
            if typical:
                st.image([str(cache.thumb_path(r)) for r in typical], width=110)
            else:
                st.caption("No correctly classified image of this class.")
