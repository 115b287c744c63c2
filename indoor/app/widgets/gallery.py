"""The paginated thumbnail gallery with a picker that opens one image's detail."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import streamlit as st

from indoor.analysis import explore
from indoor.app.loading import columns, top_classes
from indoor.app.text import md
from indoor.app.urls import int_param, sample_param, url_sync_in, url_sync_out
from indoor.app.widgets.detail import image_detail
from indoor.cache import Cache


def caption_of(cache: Cache, row: int, top_idx: np.ndarray, top_p: np.ndarray, number: int | None = None) -> str:
    """Plain-text caption: ``3. bar → deli`` (given → predicted), then ``93% · then bar 5% · kitchen 1%`` (the
    prediction's confidence and the rest of the top-3)."""
    classes = cache.classes
    col = columns(cache)
    label, pred = classes[col.label[row]], classes[col.pred[row]]
    head = f"{number}. " if number is not None else ""
    arrow = f"{label} → {pred}" if label != pred else f"{label} ✓"
    rest = " · ".join(f"{classes[int(i)]} {p:.0%}" for i, p in list(zip(top_idx, top_p))[1:])
    confidence = f"{float(col.confidence[row]):.0%}"
    return f"{head}{arrow}\n{confidence} · then {rest}" if rest else f"{head}{arrow}\n{confidence}"


def gallery(
    cache: Cache,
    rows: Sequence[int],
    *,
    key: str,
    page_size: int = 48,
    thumb_width: int = 160,
    url: bool = False,
    detail: bool = True,
) -> int | None:
    """A paginated thumbnail grid of ``rows`` (in the given order) with a picker that opens one image's detail.

    Each caption: given → predicted, confidence, then the 2nd and 3rd most probable classes. With ``url=True`` the page number and the opened image
    live in the query string (``page``, ``image``). Returns the row of the opened image, or None.
    """
    rows = np.asarray(rows, dtype=int)
    n = len(rows)
    page_key, image_key, sig_key = f"{key}.page", f"{key}.image", f"{key}.signature"
    params = {"page": int_param(page_key, 1), "image": sample_param(cache, image_key)}
    from_url = url_sync_in(key, params) if url else set()
    signature = hashlib.blake2b(rows.tobytes(), digest_size=8).hexdigest()
    previous = st.session_state.get(sig_key)
    if previous is not None and previous != signature and not from_url:  # the filter changed: first page
        st.session_state[page_key] = 1
        st.session_state[image_key] = None
    st.session_state[sig_key] = signature

    if n == 0:
        st.info("No images match these filters.", icon=":material/filter_alt_off:")
        if url:
            url_sync_out(key, params)
        return None

    pages = explore.page_count(n, page_size)
    page = min(max(int(st.session_state.get(page_key) or 1), 1), pages)
    if st.session_state.get(page_key) != page:
        st.session_state[page_key] = page
    window = rows[explore.page_slice(n, page, page_size)]
    offset = (page - 1) * page_size

    on_page = [str(columns(cache).sample_id[r]) for r in window]
    selected = st.session_state.get(image_key)
    row_of = cache.row_of
    if selected is not None and (selected not in row_of or not np.any(rows == row_of[selected])):
        selected = None
    options = list(on_page)
    if selected is not None and selected not in options:
        options.insert(0, selected)
    st.session_state[image_key] = selected
    number_of = {sid: offset + i + 1 for i, sid in enumerate(on_page)}
    top_idx, top_p = top_classes(cache, window, 3)

    col = columns(cache)

    def label_of(sid: str) -> str:
        r = row_of[sid]
        number = number_of.get(sid)
        head = f"#{number} · " if number else ""
        return (f"{head}{cache.classes[col.label[r]]} → {cache.classes[col.pred[r]]} "
                f"({float(col.confidence[r]):.0%}) · {sid}")

    st.selectbox("Open an image", options, key=image_key, index=None, format_func=label_of,
                 placeholder=f"Pick one of the {len(on_page)} images on this page to see it in detail…")
    opened = st.session_state.get(image_key)
    opened_row = row_of[opened] if opened is not None else None
    if detail and opened_row is not None:
        image_detail(cache, opened_row, key=f"{key}.detail")

    first, last = offset + 1, offset + len(window)
    st.caption(f"Images {first:,}–{last:,} of {n:,} · page {page:,} of {pages:,}")
    captions = [caption_of(cache, int(r), top_idx[i], top_p[i], offset + i + 1) for i, r in enumerate(window)]
    st.image([str(cache.thumb_path(int(r))) for r in window], width=thumb_width, caption=[md(c) for c in captions])
    if pages > 1:
        st.pagination(pages, key=page_key, max_visible_pages=9)
    if url:
        url_sync_out(key, params)
    return opened_row
