"""Misclassification gallery: the images of one (given label, prediction) pair, most confidently wrong first.

Deep link: ``/Gallery?true=bar&pred=deli&split=test`` (also ``correct``, ``sort``, ``page``, ``image``).
"""

from __future__ import annotations

import streamlit as st

from indoor.app.widgets import gallery

from indoor.app import page

from indoor.app.text import md, split_label

from indoor.app import urls
from indoor.analysis import explore

cache = page.setup_page("Gallery")
classes = cache.classes
present_splits = set(cache.samples["split"].unique())
split_options = ["all"] + [s for s in ("test", "train", "val") if s in present_splits]
SORTS = {"confidence": "Confidence of the prediction", "loss": "Loss of the given label",
         "margin": "Margin (top-1 − top-2)"}

PARAMS = {
    "true": urls.class_param(cache, "gallery.true"),
    "pred": urls.class_param(cache, "gallery.pred"),
    "split": urls.choice_param("gallery.split", "all", split_options),
    "correct": urls.bool_param("gallery.correct", False),
    "sort": urls.choice_param("gallery.sort", "confidence", list(SORTS)),
}
urls.url_sync_in("gallery", PARAMS)

st.title("Gallery")
c1, c2, c3, c4, c5 = st.columns([3, 3, 2, 3, 2.4], vertical_alignment="bottom")
true = c1.selectbox("Given label", [urls.ANY] + classes, key="gallery.true",
                    format_func=lambda c: "any class" if c == urls.ANY else c)
pred = c2.selectbox("Predicted", [urls.ANY] + classes, key="gallery.pred",
                    format_func=lambda c: "any class" if c == urls.ANY else c)
split = c3.selectbox("Split", split_options, key="gallery.split", format_func=split_label)
sort = c4.selectbox("Sort by", list(SORTS), key="gallery.sort", format_func=SORTS.get,
                    help="Highest first: the most confidently wrong images (or highest loss) come first.")
include_correct = c5.toggle("Include correct", key="gallery.correct",
                            help="Also show images whose prediction equals the given label.")
urls.url_sync_out("gallery", PARAMS)

true_index = None if true == urls.ANY else classes.index(true)
pred_index = None if pred == urls.ANY else classes.index(pred)
same_class = true_index is not None and true_index == pred_index
table = explore.error_table(
    cache.samples, true=true_index, pred=pred_index, split=split,
    include_correct=include_correct or same_class, sort=sort,
)

what = "images" if include_correct or same_class else "misclassified images"
given = "any class" if true == urls.ANY else true
predicted = "any class" if pred == urls.ANY else pred
st.markdown(f"**{len(table):,}** {what} · given **{md(given)}** · predicted **{md(predicted)}** · "
            f"{md(split_label(split))} · sorted by {SORTS[sort].lower()}")
if same_class and not include_correct:
    st.caption("Given label and prediction are the same class, so these are its correctly classified images.")

gallery.gallery(cache, table.index.to_numpy(), key="gallery", url=True)
