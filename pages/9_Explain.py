"""Explain: why did the model say "bar"? Occlusion map, Grad-CAM and nearest training images for one image.

Deep link: ``/Explain?sample=<sample_id>``. Without one, pick among the misclassified images (most confidently
wrong first). Nothing heavy runs until "Explain this prediction" is pressed.
"""

from __future__ import annotations

import streamlit as st

from indoor.analysis import explore
from indoor.app import loading, page, urls
from indoor.app.text import md, split_label
from indoor.app.widgets import explain_panel as ui_explain

MAX_OPTIONS = 500

cache = page.setup_page("Explain")
classes = cache.classes
col = loading.columns(cache)
row_of = cache.row_of

PARAMS = {"sample": urls.UrlParam("explain.sample", None, lambda raw: raw if raw in row_of else None)}
from_url = urls.url_sync_in("explain", PARAMS)

st.title("Explain a prediction")
wrong = explore.confident_errors(col.label, col.pred, col.confidence, limit=MAX_OPTIONS)
rows = wrong if len(wrong) else range(min(len(col.label), MAX_OPTIONS))
options = [str(col.sample_id[r]) for r in rows]
chosen = st.session_state.get("explain.sample")
if chosen is not None and chosen not in options:
    options.insert(0, chosen)
if st.query_params.get("sample") and "sample" in from_url and chosen is None:
    st.warning(f"No image {md(st.query_params.get('sample'))} in this cache; pick one below.")


def label_of(sample_id: str) -> str:
    r = row_of[sample_id]
    return (f"{classes[col.label[r]]} → {classes[col.pred[r]]} ({float(col.confidence[r]):.0%}) · {sample_id}")


what = "misclassified images, most confidently wrong first" if len(wrong) else "images"
st.selectbox("Image", options, key="explain.sample", index=None, format_func=label_of,
             placeholder=f"Pick one of {len(rows):,} {what}…")
urls.url_sync_out("explain", PARAMS)

sample_id = st.session_state.get("explain.sample")
if sample_id is None:
    st.info("Pick an image, or open this page from an image's detail view.", icon=":material/image_search:")
    st.stop()

row = row_of[sample_id]
label, pred = classes[col.label[row]], classes[col.pred[row]]
with st.container(border=True):
    st.markdown(f"##### {md(sample_id)}")
    a, b, c, d = st.columns(4)
    a.metric("Given label", md(label))
    b.metric("Predicted", md(pred), delta="correct" if label == pred else "wrong",
             delta_color="normal" if label == pred else "inverse", delta_arrow="off")
    c.metric("Confidence", f"{float(col.confidence[row]):.0%}", help="Out-of-sample probability of the prediction.")
    d.metric("Split", split_label(str(col.split[row])))
    if not ui_explain.explained(cache, row, key="explain.panel"):
        st.image(str(cache.image_path(row)), width=320)
    ui_explain.explain_panel(cache, row, key="explain.panel")
