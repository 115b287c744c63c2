"""The image-issues view (dark, light, blurry, low information, odd size or aspect, grayscale): one segment per
issue with its count, opening on the first issue that has images, and a gallery of that issue's images."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indoor.analysis import explore
from indoor.analysis.image_issues import ISSUE_NAMES
from indoor.app import urls
from indoor.app.text import md
from indoor.app.widgets import gallery
from indoor.cache import Cache


def image_issues_view(cache: Cache, table: pd.DataFrame, *, key: str = "sc.issue", url_page: str = "shortcuts") -> None:
    """Show ``table`` (the cache's ``image_issues`` table). The chosen issue lives in the URL as ``issue``."""
    counts = table["issue"].value_counts()
    count_of = {name: int(counts.get(name, 0)) for name in ISSUE_NAMES}
    non_empty = [name for name in ISSUE_NAMES if count_of[name]]
    params = {"issue": urls.choice_param(key, non_empty[0] if non_empty else next(iter(ISSUE_NAMES)), list(ISSUE_NAMES))}
    urls.url_sync_in(url_page, params)
    st.caption(
        "An image is flagged only when it is an outlier for its own class (robust z-score beyond 3.5 against "
        "the images of its label) and outside the data set's usual range (beyond 2 against all images): dark "
        "bars in a data set of dark bars are not an issue, a dark kitchen is. Grayscale only when most of the "
        "data set and of the class are in colour."
    )
    if not non_empty:
        st.success("No image stands out from its data set and class on any of these properties.",
                   icon=":material/check_circle:")
        urls.url_sync_out(url_page, params)
        return
    issue = st.segmented_control("Issue", list(ISSUE_NAMES), key=key, required=True,
                                 format_func=lambda k: f"{ISSUE_NAMES[k]} ({count_of[k]})")
    urls.url_sync_out(url_page, params)
    part = table[table["issue"] == issue]
    rows = part["row"].to_numpy()
    if not len(rows):
        st.info(f"No image is flagged {md(ISSUE_NAMES[issue]).lower()}: "
                f"see {', '.join(f'{md(ISSUE_NAMES[k])} ({count_of[k]})' for k in non_empty)}.", icon=":material/info:")
        return
    classes, samples = cache.classes, cache.samples
    pred_share = explore.class_shares(samples["pred"].to_numpy()[rows], classes, top=3)
    label_share = explore.class_shares(samples["label"].to_numpy()[rows], classes, top=3)
    st.caption("Most predicted: " + ", ".join(f"{md(c)} {v:.0%}" for c, v in pred_share)
               + " · most labelled: " + ", ".join(f"{md(c)} {v:.0%}" for c, v in label_share))
    if "reason" in part:
        with st.expander("Why these images", expanded=False):
            st.dataframe(pd.DataFrame({"image": part["sample_id"].to_numpy(), "why": part["reason"].to_numpy()}),
                         hide_index=True, width="stretch")
    gallery.gallery(cache, rows, key=f"{key}.gallery.{issue}")
