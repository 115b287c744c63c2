"""Duplicates and leakage: exact copies (same decoded pixels), near copies (embedding cosine), train/test
leakage, the same image under two labels, and test errors whose nearest training image is a near copy.

Deep link: ``/Duplicates?view=leakage``.
"""

from __future__ import annotations

import streamlit as st

import ui

cache = ui.setup_page("Duplicates", ":material/content_copy:")
classes = cache.classes
samples = cache.samples


tables = ui.analysis_tables(cache)
pairs, nearest = tables["duplicate_pairs"], tables["nearest_train"]

VIEWS = {
    "exact": "Exact duplicates",
    "near": "Near duplicates",
    "leakage": "Train ↔ test leakage",
    "labels": "Same image, two labels",
    "errors": "Test errors near training",
}
PAGE_SIZE = 12
selections = {
    "exact": pairs["kind"] == "exact",
    "near": pairs["kind"] == "near",
    "leakage": pairs["cross_split"],
    "labels": pairs["label_differs"],
}
errors = nearest[nearest["is_error"]]
counts = {name: int(mask.sum()) for name, mask in selections.items()} | {"errors": int(errors["near_duplicate"].sum())}
first_found = next((v for v in VIEWS if counts[v]), "exact")  # open on the first non-empty list
PARAMS = {"view": ui.choice_param("dup.view", first_found, list(VIEWS))}
ui.url_sync_in("duplicates", PARAMS)

st.title("Duplicates")
st.caption(
    "Exact: identical decoded pixels (hash computed at build time). Near: an embedding neighbour whose 16×16 "
    "thumbnail matches in colour and edges (a re-crop, re-encode or brightness change of the same picture). "
    "Leakage: a pair with one image in train and one outside it — test accuracy on such images is flattered."
)
for message in tables["warnings"].query("analysis == 'duplicates'")["message"]:
    st.warning(message, icon=":material/warning:")
view = st.segmented_control("View", list(VIEWS), key="dup.view", required=True,
                            format_func=lambda v: f"{VIEWS[v]} ({counts[v]})")
ui.url_sync_out("duplicates", PARAMS)


def _caption(row: int) -> str:
    return (f"{samples['sample_id'].iat[row]}\n{samples['split'].iat[row]} · "
            f"{classes[int(samples['label'].iat[row])]} → {classes[int(samples['pred'].iat[row])]}")


def _page(n: int, key: str) -> slice:
    pages = max(1, -(-n // PAGE_SIZE))
    page = min(max(int(st.session_state.get(key, 1) or 1), 1), pages)
    if pages > 1:
        st.caption(f"{n:,} pairs · page {page} of {pages}")
    return slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)


def _pair(row_a: int, row_b: int, note: str, key: str) -> None:
    with st.container(border=True):
        st.markdown(ui.md(note))
        st.image([str(cache.thumb_path(row_a)), str(cache.thumb_path(row_b))], width=200,
                 caption=[_caption(row_a), _caption(row_b)])
        left, right, _ = st.columns([1, 1, 2])
        with left:
            ui.relabel_link(str(samples["sample_id"].iat[row_a]), label="Relabel left", key=f"{key}.a")
        with right:
            ui.relabel_link(str(samples["sample_id"].iat[row_b]), label="Relabel right", key=f"{key}.b")


if view != "errors":
    frame = pairs[selections[view]]
    if frame.empty:
        st.info(f"No {VIEWS[view].lower()} in this cache.", icon=":material/check_circle:")
    else:
        if view == "near" and len(frame) > 1:
            column = "pixel_similarity" if frame["pixel_similarity"].notna().all() else "similarity"
            lowest = float(frame[column].min())
            if lowest < 1.0:
                cut = st.slider("Minimum similarity", lowest, 1.0, lowest, step=0.001, key="dup.min", format="%.3f")
                frame = frame[frame[column] >= cut]
        window = frame.iloc[_page(len(frame), "dup.page")]
        for i, r in enumerate(window.itertuples(index=False)):
            kind = "identical pixels" if r.kind == "exact" else (
                f"pixel similarity {r.pixel_similarity:.3f} · embedding {r.similarity:.3f}"
                if r.pixel_similarity == r.pixel_similarity else f"embedding similarity {r.similarity:.3f}")
            flags = (" · train ↔ " + (r.split_b if r.split_a == "train" else r.split_a) if r.cross_split else "") + \
                (" · different labels" if r.label_differs else "")
            _pair(int(r.row_a), int(r.row_b), f"{kind}{flags}", key=f"dup.{view}.{i}")
        pages = max(1, -(-len(frame) // PAGE_SIZE))
        if pages > 1:
            st.pagination(pages, key="dup.page", max_visible_pages=9)
else:
    st.caption("Every misclassified image outside the train split, with its most similar training image. A near "
               "copy in train means the error (or its label) was probably copied too.")
    only_near = st.toggle("Only those whose nearest training image is a near duplicate", value=True, key="dup.only")
    frame = errors[errors["near_duplicate"]] if only_near else errors.sort_values("similarity", ascending=False)
    if frame.empty:
        st.info("No test error has a near-duplicate training image." if only_near else "No test error.",
                icon=":material/check_circle:")
    else:
        window = frame.iloc[_page(len(frame), "dup.epage")]
        for i, r in enumerate(window.itertuples(index=False)):
            near = " · NEAR DUPLICATE" if r.near_duplicate else ""
            pixel = f" · pixel similarity {r.pixel_similarity:.3f}" if r.pixel_similarity == r.pixel_similarity else ""
            _pair(int(r.row), int(r.nearest_train), f"test error ↔ nearest training image · embedding similarity "
                  f"{r.similarity:.3f}{pixel}{near}", key=f"dup.err.{i}")
        pages = max(1, -(-len(frame) // PAGE_SIZE))
        if pages > 1:
            st.pagination(pages, key="dup.epage", max_visible_pages=9)
