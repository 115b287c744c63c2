"""Confusion explorer: which classes are mistaken for which. Click a cell to open that pair's gallery."""

from __future__ import annotations

import numpy as np
import streamlit as st

import ui
from indoor import explore
from indoor.metrics import per_class_report

cache = ui.setup_page("Confusion explorer", ":material/grid_on:")
classes = cache.classes
n_classes = len(classes)
present_splits = set(cache.samples["split"].unique())
split_options = [s for s in ("test", "train", "val") if s in present_splits] + ["all"]
default_split = "test" if "test" in present_splits else "all"
VALUES = {"counts": "Counts", "rows": "Row %"}
ORDERS = {"similarity": "Similarity", "accuracy": "Accuracy", "name": "Name"}

PARAMS = {
    "split": ui.choice_param("confusion.split", default_split, split_options),
    "values": ui.choice_param("confusion.values", "counts", list(VALUES)),
    "order": ui.choice_param("confusion.order", "similarity", list(ORDERS)),
    "scale": ui.choice_param("confusion.scale", "errors", ["errors", "all"]),
}
ui.url_sync_in("confusion", PARAMS)

st.title("Confusion explorer")
c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
split = c1.segmented_control("Split", split_options, key="confusion.split", format_func=ui.split_label,
                             required=True)
values = c2.segmented_control("Values", list(VALUES), key="confusion.values", format_func=VALUES.get,
                              required=True)
order_by = c3.segmented_control("Class order", list(ORDERS), key="confusion.order", format_func=ORDERS.get,
                                required=True, help="Similarity clusters classes that are confused with each other.")
scale = c4.segmented_control("Colour scale", ["errors", "all"], key="confusion.scale", required=True,
                             format_func={"errors": "Errors", "all": "All cells"}.get,
                             help="Errors: colours span the off-diagonal cells, so small confusions stand out.")
ui.url_sync_out("confusion", PARAMS)

matrix = ui.confusion(cache, split)
order = ui.class_order(cache, order_by)
support = matrix.sum(axis=1)
rates = explore.normalise_rows(matrix)
shown = (rates if values == "rows" else matrix.astype(float))[np.ix_(order, order)]
counts = matrix[np.ix_(order, order)]
row_rates = rates[np.ix_(order, order)]
n_images = int(matrix.sum())
n_wrong = n_images - int(np.trace(matrix))

st.caption(f"{ui.md(ui.split_label(split))}: {n_images:,} images, {n_wrong:,} misclassified "
           f"({n_wrong / max(n_images, 1):.1%}). Rows: given label · columns: prediction. "
           "**Click a cell** to open the images of that pair.")

# --------------------------------------------------------------------------------------------- the matrix
cell = int(np.clip(900 / max(n_classes, 1), 14, 44))
tick_size = 10 if n_classes > 40 else 11 if n_classes > 20 else 13
longest = max(len(c) for c in classes)
label_px = int(min(longest, 28) * tick_size * 0.62) + 16
plot = cell * n_classes
height = plot + label_px + 60
width = plot + label_px + 110
# Square cells at a fixed size while the matrix surely fits the page; beyond that (e.g. 67 classes) the chart
# stretches to the page width with rows of `cell` pixels, so no space is wasted on either axis.
square = width <= 960
names = [ui.esc(classes[i]) for i in order]
off_diagonal = shown.copy()
np.fill_diagonal(off_diagonal, np.nan)
peak = np.nanmax(off_diagonal) if n_classes > 1 and np.isfinite(np.nanmax(off_diagonal)) else 0
zmax = float(peak) if scale == "errors" and peak > 0 else float(max(shown.max(), 1e-9))

idx = np.arange(n_classes)
gx, gy = np.meshgrid(idx, idx)  # gx: column (prediction), gy: row (given label), in display order
# customdata per cell: [given class index, predicted class index, count, share of the row] (numbers only: plotly
# serialises numeric arrays ~10x faster than strings). Hover text is one string per cell, names HTML-escaped.
customdata = np.stack([order[gy.ravel()], order[gx.ravel()], counts.ravel(), np.round(row_rates.ravel(), 4)],
                      axis=1).astype(float)
hover = np.array([f"<b>given</b> {names[i]}<br><b>predicted</b> {names[j]}" for i, j in zip(gy.ravel(), gx.ravel())])
# Only cells with images get a click marker (a 67 x 67 matrix has ~300 of 4,489): every marker is an SVG node the
# browser lays out; empty cells keep their hover label from the heatmap itself.
clickable = counts.ravel() > 0
colourbar = dict(title=dict(text="row %" if values == "rows" else "images", side="right"), thickness=12,
                 tickformat=".0%" if values == "rows" else ",d", len=min(1.0, 400 / height))
axis = dict(tickmode="array", tickvals=idx, ticktext=names, tickfont=dict(size=tick_size, color="#334155"),
            showgrid=False, zeroline=False, fixedrange=True, constrain="domain", automargin=True)
heatmap = dict(
    type="heatmap", z=shown, x=idx, y=idx, zmin=0, zmax=zmax, xgap=1, ygap=1,
    hovertext=hover.reshape(n_classes, n_classes), hovertemplate="%{hovertext}<br>no images<extra></extra>",
    colorscale=[[0, "#f8fafc"], [0.02, "#e0ecff"], [0.25, "#93c5fd"], [0.6, "#2563eb"], [1, "#0b2a6f"]],
    colorbar=colourbar,
)
if n_classes <= 16:  # numbers in the cells (zeros left blank) while they fit
    cell_text = [[("" if v == 0 else f"{v:.0%}" if values == "rows" else f"{int(v):d}") for v in row] for row in shown]
    heatmap.update(text=cell_text, texttemplate="%{text}", textfont=dict(size=11))
# Clicks on heatmap cells return nothing in Streamlit: an invisible square marker per cell carries the pair.
overlay = dict(
    type="scatter", x=gx.ravel()[clickable], y=gy.ravel()[clickable], mode="markers",
    customdata=customdata[clickable], hovertext=hover[clickable],
    marker=dict(symbol="square", size=cell, opacity=0.01, color="#000000"), showlegend=False,
    hovertemplate="%{hovertext}<br>%{customdata[2]:,} images · %{customdata[3]:.1%} of the row<extra></extra>",
)
fig = dict(data=[heatmap, overlay], layout=dict(
    width=width if square else None, height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
    xaxis=dict(**axis, tickangle=-90 if n_classes > 12 else -45, title=dict(text="predicted", font=dict(size=12)),
               range=[-0.5, n_classes - 0.5], constraintoward="left"),
    yaxis=dict(**axis, title=dict(text="given label", font=dict(size=12)), scaleanchor="x" if square else None,
               range=[n_classes - 0.5, -0.5], constraintoward="top"),
    hoverlabel=dict(bgcolor="white", font_size=12),
))

event = st.plotly_chart(fig, key="confusion.click", on_select="rerun", selection_mode="points",
                        width="content" if square else "stretch",
                        config={"displayModeBar": False})
points = ui.selected_points(event)
if points:
    data = ui.point_customdata(points[0])
    if len(data) >= 2 and all(isinstance(v, (int, float)) and 0 <= int(v) < n_classes for v in data[:2]):
        given, predicted = classes[int(data[0])], classes[int(data[1])]
        ui.open_gallery(given, predicted, split, correct=given == predicted)

with st.container(border=True):
    st.markdown("**Open a pair's gallery**")
    p1, p2, p3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    pair_true = p1.selectbox("Given label", [ui.ANY] + classes, key="confusion.pair_true")
    pair_pred = p2.selectbox("Predicted", [ui.ANY] + classes, key="confusion.pair_pred")
    with p3:
        ui.class_pair_link(pair_true, pair_pred, split, label="Open gallery", icon=":material/photo_library:",
                           correct=pair_true != ui.ANY and pair_true == pair_pred)

# ------------------------------------------------------------------------------------------ per-class table
st.subheader("Per-class precision, recall and F1")
report = per_class_report(matrix, classes)
off = matrix.astype(float).copy()
np.fill_diagonal(off, 0)
top_confusion = off.argmax(axis=1)
report["errors"] = (support - np.diag(matrix)).astype(int)
report["most often predicted as"] = [
    f"{classes[j]} ({int(off[i, j])})" if off[i, j] > 0 else "" for i, j in enumerate(top_confusion)
]
report = report[report["support"] > 0].sort_values("f1", kind="stable")
report[["precision", "recall", "f1"]] *= 100
st.dataframe(
    report, hide_index=True, width="stretch", height="content" if len(report) <= 16 else 600,
    column_config={
        "class": st.column_config.TextColumn("class", width="medium"),
        "precision": st.column_config.ProgressColumn("precision", format="%.1f%%", min_value=0, max_value=100),
        "recall": st.column_config.ProgressColumn("recall (accuracy)", format="%.1f%%", min_value=0, max_value=100),
        "f1": st.column_config.ProgressColumn("F1", format="%.1f%%", min_value=0, max_value=100),
        "support": st.column_config.NumberColumn("images", format="%d"),
        "errors": st.column_config.NumberColumn("misclassified", format="%d"),
    },
)
st.caption(f"{ui.md(ui.split_label(split))}. Click a column header to sort.")
