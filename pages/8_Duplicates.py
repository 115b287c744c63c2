"""Duplicates and leakage: exact copies (same decoded pixels), near copies (embedding cosine), train/test
leakage, the same image under two labels, and test errors whose nearest training image is a near copy.

Deep link: ``/Duplicates?view=leakage``.
"""

from __future__ import annotations

import streamlit as st

from indoor.analysis import duplicates, explore
from indoor.app import loading, page, urls
from indoor.app.text import md

cache = page.setup_page("Duplicates")
classes = cache.classes
samples = cache.samples


tables = loading.analysis_tables(cache)
pairs, nearest = tables["duplicate_pairs"], tables["nearest_train"]

VIEWS = {
    "exact": "Exact duplicates",
    "near": "Near duplicates",
    "leakage": "Train ↔ test leakage",
    "labels": "Same image, two labels",
    "errors": "Test errors near training",
}
PAGE_SIZE = 12
counts = duplicates.view_counts(pairs, nearest)
first_found = next((v for v in VIEWS if counts[v]), "exact")  # open on the first non-empty list
PARAMS = {"view": urls.choice_param("dup.view", first_found, list(VIEWS))}
urls.url_sync_in("duplicates", PARAMS)

st.title("Duplicates")
st.caption(
    "Exact: identical decoded pixels (hash computed at build time). Near: an embedding neighbour whose 16×16 "
    "thumbnail matches in colour and edges (a re-crop, re-encode or brightness change of the same picture). "
    "Leakage: a pair with one image in train and one outside it — test accuracy on such images is flattered."
)
for message in tables["warnings"].query("analysis == 'duplicates'")["message"]:
    st.warning(md(message), icon=":material/warning:")
view = st.segmented_control("View", list(VIEWS), key="dup.view", required=True,
                            format_func=lambda v: f"{VIEWS[v]} ({counts[v]:,})")
urls.url_sync_out("duplicates", PARAMS)


def _caption(row: int) -> str:
    return (f"{samples['sample_id'].iat[row]}\n{samples['split'].iat[row]} · "
            f"{classes[int(samples['label'].iat[row])]} → {classes[int(samples['pred'].iat[row])]}")


def _page(n: int, key: str) -> slice:
    page, pages, window = explore.page_window(n, st.session_state.get(key), PAGE_SIZE)
    if pages > 1:
        st.caption(f"{n:,} pairs · page {page:,} of {pages:,}")
    return window


def _pagination(n: int, key: str) -> None:
    pages = explore.page_count(n, PAGE_SIZE)
    if pages > 1:
        st.pagination(pages, key=key, max_visible_pages=9)


def _pair(row_a: int, row_b: int, note: str, key: str) -> None:
    with st.container(border=True):
        st.markdown(md(note))
        st.image([str(cache.thumb_path(row_a)), str(cache.thumb_path(row_b))], width=200,
                 caption=[md(_caption(row_a)), md(_caption(row_b))])
        left, right, _ = st.columns([1, 1, 2])
        with left:
            urls.relabel_link(str(samples["sample_id"].iat[row_a]), label="Relabel left", key=f"{key}.a")
        with right:
            urls.relabel_link(str(samples["sample_id"].iat[row_b]), label="Relabel right", key=f"{key}.b")


if view != "errors":
    frame = duplicates.pair_view(pairs, view)
    if frame.empty:
        st.info(f"No {VIEWS[view].lower()} in this cache.", icon=":material/check_circle:")
    else:
        if view == "near" and len(frame) > 1:
            column = duplicates.similarity_column(frame)
            lowest = float(frame[column].min())
            if lowest < 1.0:
                cut = st.slider("Minimum similarity", lowest, 1.0, lowest, step=0.001, key="dup.min", format="%.3f")
                frame = frame[frame[column] >= cut]
        window = frame.iloc[_page(len(frame), "dup.page")]
        for i, pair in enumerate(window.to_dict("records")):
            _pair(int(pair["row_a"]), int(pair["row_b"]), duplicates.pair_note(pair), key=f"dup.{view}.{i}")
        _pagination(len(frame), "dup.page")
else:
    st.caption("Every misclassified image outside the train split, with its most similar training image. A near "
               "copy in train means the error (or its label) was probably copied too.")
    only_near = st.toggle("Only those whose nearest training image is a near duplicate", value=True, key="dup.only")
    frame = duplicates.errors_near_training(nearest, near_only=only_near)
    if frame.empty:
        st.info("No test error has a near-duplicate training image." if only_near else "No test error.",
                icon=":material/check_circle:")
    else:
        window = frame.iloc[_page(len(frame), "dup.epage")]
        for i, error in enumerate(window.to_dict("records")):
            _pair(int(error["row"]), int(error["nearest_train"]), duplicates.error_note(error), key=f"dup.err.{i}")
        _pagination(len(frame), "dup.epage")
