"""Overview: accuracy per split and per class, the most confused pairs, run metadata, skipped files.

Start the dashboard with ``streamlit run app.py`` (``-- --cache PATH`` or ``INDOOR_CACHE=PATH`` for another cache).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import ui
from indoor.metrics import most_confused_pairs


def _plain(value: object) -> str:
    """A metadata value as short text: dicts as "key: value" pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


cache = ui.setup_page("Overview", ":material/dashboard:")
classes = cache.classes
meta = cache.meta
metrics = meta["metrics"]
splits = [s for s in ("train", "val", "test") if s in metrics and metrics[s].get("n")]

st.title("Overview")
st.caption(f"{ui.md(ui.display_path(cache.path))} · {len(cache.samples):,} images · {len(classes)} classes · "
           f"{ui.md(meta['backbone'].get('name', '?'))} at {meta['image_size']} px · all probabilities are "
           "out-of-sample (train: out-of-fold)")

# ------------------------------------------------------------------------------------------------ per split
columns = st.columns(len(splits) or 1)
for column, split in zip(columns, splits):
    values = metrics[split]
    n_classes = sum(1 for c in values["per_class"].values() if c.get("n"))
    with column, st.container(border=True):
        st.markdown(f"**{ui.md(ui.split_label(split))}**")
        a, b, c, d = st.columns(4)
        a.metric("Images", f"{values['n']:,}")
        b.metric("Classes", n_classes)
        c.metric("Top-1", ui.percent(values["top1"]))
        d.metric("Top-5", ui.percent(values["top5"]))

# ----------------------------------------------------------------------------------- per class / pairs
default_split = "test" if "test" in splits else (splits[0] if splits else "all")
options = [s for s in ("test", "val", "train") if s in splits] + ["all"]
st.session_state.setdefault("overview.split", default_split)
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Accuracy per class")
    split = st.segmented_control("Split", options, key="overview.split", format_func=ui.split_label,
                                 required=True, label_visibility="collapsed")
    matrix = ui.confusion(cache, split)
    support = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(support > 0, np.diag(matrix) / np.where(support > 0, support, 1), np.nan)
    present = np.flatnonzero(support > 0)
    order = present[np.argsort(accuracy[present], kind="stable")]  # worst at the top
    errors = support - np.diag(matrix)
    names = [ui.esc(classes[i]) for i in order]
    customdata = np.stack([np.array([classes[i] for i in order], dtype=object), errors[order], support[order]],
                          axis=1)
    hovertemplate = ("%{y}: %{customdata[3]} correct<br>%{customdata[1]} of %{customdata[2]} wrong"
                     "<br><i>click: open its errors</i><extra></extra>")
    customdata = np.hstack([customdata, np.array([[f"{a:.1%}"] for a in accuracy[order]], dtype=object)])
    fig = go.Figure()
    # A full-width track under each bar, so the whole row (even a 2 % bar) is a click target.
    fig.add_trace(go.Bar(x=np.ones(len(order)), y=names, orientation="h", marker_color="#f1f5f9",
                         customdata=customdata, hovertemplate=hovertemplate, showlegend=False))
    fig.add_trace(go.Bar(
        x=accuracy[order], y=names, orientation="h", customdata=customdata, hovertemplate=hovertemplate,
        marker=dict(color=accuracy[order], colorscale=[[0, "#dc2626"], [0.6, "#f59e0b"], [1, "#16a34a"]],
                    cmin=0, cmax=1),
        text=[f"{a:.0%}" for a in accuracy[order]], textposition="outside", cliponaxis=False, showlegend=False,
    ))
    fig.update_layout(
        barmode="overlay", bargap=0.25,
        height=int(np.clip(480 / max(len(order), 1), 18, 32)) * len(order) + 60, margin=dict(l=8, r=48, t=8, b=30),
        plot_bgcolor="white",
        xaxis=dict(range=[0, 1.08], tickformat=".0%", gridcolor="#e2e8f0", fixedrange=True, side="top"),
        yaxis=dict(autorange="reversed", tickfont=dict(size=11, color="#334155"), fixedrange=True,
                   automargin=True),
    )
    event = st.plotly_chart(fig, key="overview.classes", on_select="rerun", selection_mode="points",
                            config={"displayModeBar": False}, width="stretch")
    points = ui.selected_points(event)
    if points:
        clicked = ui.point_customdata(points[0])
        name = clicked[0] if clicked else None
        if name in classes:
            ui.open_gallery(true=name, split=split)
    st.caption("Click a bar to open that class's misclassified images.")

with right:
    st.subheader("Most confused pairs")
    pairs = most_confused_pairs(matrix, classes, top=15)
    if pairs.empty:
        st.success("No misclassifications in this split.")
    else:
        st.caption(f"{ui.md(ui.split_label(split))} · given label → prediction · images (share of the given class)")
        for rec in pairs.to_dict("records"):
            ui.class_pair_link(rec["true"], rec["pred"], split,
                               label=f"{ui.md(rec['true'])} → {ui.md(rec['pred'])} · **{rec['count']}** "
                                     f"({rec['share']:.0%})")
    with st.expander(f"Every class's errors ({len(present)} classes)"):
        link_columns = st.columns(2)
        by_name = sorted(present, key=lambda i: classes[i].lower())
        for j, i in enumerate(by_name):
            with link_columns[j % 2]:
                ui.class_pair_link(classes[i], None, split, label=f"{ui.md(classes[i])} · {errors[i]} wrong")

# ------------------------------------------------------------------------------------------ run metadata
st.divider()
with st.expander("Run metadata", icon=":material/info:"):
    backbone = meta.get("backbone", {})
    rows = [
        ("Cache", str(cache.path)),
        ("Created", meta.get("created_at", "")),
        ("Data", f"{meta.get('data_root', '')} ({meta.get('layout', '')} layout)"),
        ("Backbone", f"{backbone.get('name', '?')} · {backbone.get('weights', '')}"),
        ("Embedding size", str(backbone.get("embedding_dim", cache.embeddings.shape[1]))),
        ("Image size", f"{meta.get('image_size')} px"),
        ("Head", _plain(meta.get("head", {}))),
        ("Cross-validation", f"{meta.get('folds')} folds (train probabilities are out-of-fold)"),
        ("Seed", str(meta.get("seed"))),
        ("Device", str(meta.get("device", ""))),
    ]
    if meta.get("finetune"):
        rows.append(("Fine-tuning", _plain(meta["finetune"])[:300]))
    for stage, seconds in (meta.get("timings") or {}).items():
        rows.append((f"Time: {stage}", f"{seconds:,.1f} s" if isinstance(seconds, (int, float)) else str(seconds)))
    for package, version in (meta.get("versions") or {}).items():
        rows.append((f"Version: {package}", str(version)))
    st.dataframe(pd.DataFrame(rows, columns=["", "value"]), hide_index=True, width="stretch", height="content",
                 column_config={"": st.column_config.TextColumn(width="medium"),
                                "value": st.column_config.TextColumn(width="large")})
skipped = meta.get("skipped") or []
with st.expander(f"Skipped files ({len(skipped)})", icon=":material/block:"):
    if skipped:
        st.dataframe(pd.DataFrame(skipped, columns=["sample_id", "reason", "path"]), hide_index=True, width="stretch")
    else:
        st.caption("Every image was read.")
