"""Confusion explorer: which classes are mistaken for which. Click a cell to open that pair's gallery."""

from __future__ import annotations

import streamlit as st

from indoor.analysis import confusion_focus as focus
from indoor.analysis import explore
from indoor.analysis.metrics import confusion_totals, per_class_table
from indoor.app import loading, page, urls
from indoor.app.components.heatmap import heatmap, heatmap_payload
from indoor.app.components.table import Column, table, table_payload
from indoor.app.text import md, split_label

cache = page.setup_page("Confusion explorer")
classes = cache.classes
n_classes = len(classes)
present_splits = set(cache.samples["split"].unique())
split_options = [s for s in ("test", "train", "val") if s in present_splits] + ["all"]
default_split = "test" if "test" in present_splits else "all"
VALUES = {"counts": "Counts", "rows": "Row %"}
ORDERS = {"similarity": "Similarity", "accuracy": "Accuracy", "name": "Name"}

PARAMS = {
    "split": urls.choice_param("confusion.split", default_split, split_options),
    "values": urls.choice_param("confusion.values", "counts", list(VALUES)),
    "order": urls.choice_param("confusion.order", "similarity", list(ORDERS)),
    "scale": urls.choice_param("confusion.scale", "errors", ["errors", "all"]),
}
# Over FULL_MATRIX_MAX classes (Places365: 365) the whole matrix can't be read: the page opens on the most
# confused classes, with a class's neighbourhood and a name search beside them.
many = n_classes > focus.FULL_MATRIX_MAX
VIEWS = {"top": "Most confused", "class": "A class and its neighbours", "search": "Name search", "all": "All"}
if many:
    PARAMS |= {
        "view": urls.choice_param("confusion.view", "top", list(VIEWS)),
        "k": urls.UrlParam("confusion.k", focus.DEFAULT_K, lambda raw: int(raw) if int(raw) in focus.TOP_K else None),
        "class": urls.UrlParam("confusion.class", None, lambda raw: raw if raw in classes else None),
        "q": urls.UrlParam("confusion.q", ""),
    }
urls.url_sync_in("confusion", PARAMS)

st.title("Confusion explorer")
c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
split = c1.segmented_control("Split", split_options, key="confusion.split", format_func=split_label,
                             required=True)
values = c2.segmented_control("Values", list(VALUES), key="confusion.values", format_func=VALUES.get,
                              required=True)
order_by = c3.segmented_control("Class order", list(ORDERS), key="confusion.order", format_func=ORDERS.get,
                                required=True, help="Similarity clusters classes that are confused with each other.")
scale = c4.segmented_control("Colour scale", ["errors", "all"], key="confusion.scale", required=True,
                             format_func={"errors": "Errors", "all": "All cells"}.get,
                             help="Errors: colours span the off-diagonal cells, so small confusions stand out.")
view, k, centre, query = "all", focus.DEFAULT_K, None, ""
if many:
    f1, f2, f3 = st.columns([5, 2, 3], vertical_alignment="bottom")
    view = f1.segmented_control("Show", list(VIEWS), key="confusion.view", format_func=VIEWS.get, required=True,
                                help=f"{n_classes} classes are too many to read in one matrix: the classes of the "
                                     "most confused pairs, one class with the classes it is confused with, or "
                                     "the classes whose name matches.")
    if view in ("top", "class"):
        k = f2.selectbox("Classes" if view == "top" else "Neighbours", focus.TOP_K, key="confusion.k")
    if view == "class":
        centre = f3.selectbox("Class", sorted(classes, key=str.lower), key="confusion.class", index=None,
                              placeholder="the most confused (type to search)")
    elif view == "search":
        query = f3.text_input("Name contains", key="confusion.q", placeholder="e.g. kitchen")
urls.url_sync_out("confusion", PARAMS)

matrix = loading.confusion(cache, split)
order = loading.class_order(cache, order_by)
if many:
    order = focus.in_order(order, focus.focus(matrix, classes, view=view, k=k, query=query,
                                              centre=classes.index(centre) if centre in classes else None))
shown, counts, row_rates = explore.confusion_view(matrix, order, values=values)
n_images, n_wrong = confusion_totals(matrix)

st.caption(f"{md(split_label(split))}: {n_images:,} images, {n_wrong:,} misclassified "
           f"({n_wrong / max(n_images, 1):.1%}). Rows: given label · columns: prediction. "
           "**Click a cell** to open the images of that pair.")
if many and view != "all":
    covered, errors = focus.errors_covered(matrix, order)
    st.caption(f"Showing {len(order):,} of {n_classes:,} classes; {covered:,} of the {errors:,} errors lie between "
               f"them ({covered / max(errors, 1):.0%}). Rows and columns keep the class order chosen above.")

# --------------------------------------------------------------------------------------------- the matrix
# One canvas (components/heatmap): a plotly heatmap of 67 x 67 cells takes the browser seconds to draw, and needs
# an invisible marker per cell to be clickable.
clickable = counts > 0
if not len(order):
    st.info(f"No class name contains “{md(query)}”.")
payload = None if not len(order) else heatmap_payload(
    shown, labels=[classes[i] for i in order], ids=order.tolist(), zmin=0, zmax=explore.colour_limit(shown, scale),
    colour_title="row %" if values == "rows" else "images", colour_format="pct" if values == "rows" else "int",
    values=[counts, row_rates],
    hover=["given {row} → predicted {col}", "{v0:int} images · {v1:pct} of the row"],
    hover_empty=["given {row} → predicted {col}", "no images"],
    clickable=clickable, cell_text=len(order) <= 16, row_title="given label", col_title="predicted",
    cell=int(min(max(900 / max(len(order), 1), 12), 44)),
)
clicked = heatmap(payload, key="confusion.matrix") if payload else None
if clicked is not None:
    given, predicted = classes[clicked[0]], classes[clicked[1]]
    urls.open_gallery(given, predicted, split, correct=given == predicted)

with st.container(border=True):
    st.markdown("**Open a pair's gallery**")
    p1, p2, p3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    pair_true = p1.selectbox("Given label", [urls.ANY] + classes, key="confusion.pair_true")
    pair_pred = p2.selectbox("Predicted", [urls.ANY] + classes, key="confusion.pair_pred")
    with p3:
        urls.class_pair_link(pair_true, pair_pred, split, label="Open gallery", icon=":material/photo_library:",
                           correct=pair_true != urls.ANY and pair_true == pair_pred)

# ------------------------------------------------------------------------------------------ per-class table
# A plain HTML table (components/table): Streamlit's data grid held the matrix back by half a second.
st.subheader("Per-class precision, recall and F1")
report = per_class_table(matrix, classes)  # classes with images, worst F1 first, in percent
clicked_class = table(table_payload(
    report,
    [
        Column("class", "class"),
        Column("precision", "precision", "percent",
               "Of the images predicted as this class, the share that carry its label"),
        Column("recall", "recall (accuracy)", "percent",
               "Of the images labelled this class, the share predicted as it"),
        Column("f1", "F1", "percent", "Harmonic mean of precision and recall"),
        Column("support", "images", "int", "Images labelled this class in the split"),
        Column("errors", "misclassified", "int", "Images labelled this class and predicted as another"),
        Column("most often predicted as", "most often predicted as", "text",
               "The class its misclassified images are most often predicted as (how many)"),
    ],
    ids=report["class"].tolist(), clickable=True, hint="Click: open this class's misclassified images",
    max_height=600 if len(report) > 16 else None,
), key="confusion.classes")
if clicked_class in classes:
    urls.open_gallery(true=clicked_class, split=split)
st.caption(f"{md(split_label(split))}, worst F1 first. Click a column header to sort, a row to open that class's "
           "misclassified images.")
