"""Label-issue evidence on the pages: the weak-model banner (Overview, Label issues), a suspect's kind and the
evidence for it (what the probe and the nearest training images say, the neighbours as thumbnails with their
labels) on the Label issues page and in the review queue. The analysis is
:mod:`indoor.analysis.label_evidence`; caches built before it lack the kind and evidence columns, and then these
widgets show nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from indoor.analysis.label_evidence import KINDS, region_pair, weak_model_message
from indoor.analysis.multiclass import split_regions
from indoor.app import loading
from indoor.app.text import md
from indoor.cache import Cache, CacheError

KIND_STYLE = {  # kind -> (badge colour, icon, what it means)
    KINDS[0]: ("red", ":material/label_off:", ("two judges reject the given label: the probe and the nearest "
                                               "training images, or either of them and the image's crops")),
    KINDS[1]: ("orange", ":material/help:", ("the given label and another class both have support (from the "
                                             "two judges, or two crops of the image that show both classes)")),
    KINDS[2]: ("blue", ":material/school:", ("the nearest training images vote for the given label; the probe "
                                             "rejects it — probably a correct label the model gets wrong")),
}


def stored_warnings(cache: Cache) -> pd.DataFrame | None:
    """The cache's analysis ``warnings`` table when the build stored one (a small parquet read; no recompute)."""
    try:
        return cache.table("warnings") if cache.has_table("warnings") else None
    except CacheError:
        return None


def weak_model_banner(warnings: pd.DataFrame | None, *, link: bool = False) -> bool:
    """The weak-model warning (reason and what would help) as an error banner, with a link to the Label issues
    page when ``link``; True when shown."""
    message = weak_model_message(warnings)
    if message is None:
        return False
    st.error(md(message), icon=":material/report:")
    if link:
        st.page_link("pages/5_Label_issues.py", label="Label issues: the ranked suspects", icon=":material/rule:")
    return True


def kind_badge(kind: str) -> None:
    """A coloured badge naming the suspect's kind (nothing for an image that is not a suspect)."""
    if kind in KIND_STYLE:
        colour, icon, meaning = KIND_STYLE[kind]
        st.badge(md(kind.capitalize()), color=colour, icon=icon, help=md(meaning))


def issue_record(issues: pd.DataFrame, row: int) -> dict | None:
    """The label-issue record of ``row`` (a dict of the table's columns) when the table has the evidence columns,
    else None."""
    if "kind" not in issues:
        return None
    found = issues[issues["row"].to_numpy() == row]
    return found.iloc[0].to_dict() if len(found) else None


def stored_issue(cache: Cache, row: int) -> dict | None:
    """:func:`issue_record` from the cache's stored label-issue table (None for a cache without one: the pages
    that show this don't compute the tables just for it)."""
    if not cache.has_table("label_issues"):
        return None
    try:
        return issue_record(loading.analysis_tables(cache)["label_issues"], row)
    except CacheError:
        return None


def evidence(cache: Cache, record: dict | None, *, key: str, only_suspects: bool = True, thumbs: int = 6) -> None:
    """For a label-issue ``record`` (:func:`issue_record`): the kind badge, one line of evidence (the probe's and
    the neighbours' probability of the given label, how many neighbours carry it) and the nearest training images
    with their labels and cosine similarity. Nothing for None, or a non-suspect when ``only_suspects``."""
    if record is None or (only_suspects and not record["is_suspect"]):
        return
    classes = cache.classes
    given = classes[int(record["label"])]
    with st.container(border=True, key=f"{key}.box"):
        kind_badge(str(record["kind"]))
        st.caption(
            f"Evidence: the probe gives **{md(given)}** {float(record['probe_self_confidence']):.0%}, the nearest "
            f"training images {float(record['knn_self_confidence']):.0%} ({float(record['knn_agreement']):.0%} of "
            f"them are labelled {md(given)}){_crops_opinion(record)}; suggested "
            f"**{md(classes[int(record['suggested'])])}**. "
            "Nearest training images (none saw this image's label):"
        )
        both = _both_in_crops(cache, record)
        if both is not None:
            label_region, p_label, other_region, p_other = both
            st.caption(
                f"Its crops show both classes: **{md(given)}** {p_label:.0%} ({md(label_region)}) and "
                f"**{md(classes[int(record['suggested'])])}** {p_other:.0%} ({md(other_region)}): a scene with both in "
                "it, so it is not flagged as mislabelled. The Multi-class candidates tab outlines such regions."
            )
        neighbours = list(record["neighbours"])[:thumbs]
        if not neighbours:
            st.caption("No training image to compare with.")
            return
        labels, sims = list(record["neighbour_labels"]), list(record["neighbour_similarity"])
        st.image([str(cache.thumb_path(int(r))) for r in neighbours], width=96,
                 caption=[md(f"{classes[int(labels[i])]} · {float(sims[i]):.2f}") for i in range(len(neighbours))])


def _crops_opinion(record: dict) -> str:
    """", its crops 3 % on average" when the build cropped the image (a third judge), else ""."""
    crops = record.get("crop_self_confidence")
    if crops is None or not np.isfinite(float(crops)):
        return ""
    return f", its crops {float(crops):.0%} on average"


def _both_in_crops(cache: Cache, record: dict) -> tuple[str, float, str, float] | None:
    """The two crops that show the given label and the suggested class (:func:`region_pair`), when the build
    cropped this image; None otherwise (or for a cache without region evidence)."""
    try:
        regions = loading.analysis_tables(cache).get("regions")
    except CacheError:
        return None
    crops, _ = split_regions(regions)  # the halves are multi-class evidence, not a judge of the label
    return region_pair(crops, int(record["row"]), int(record["label"]), int(record["suggested"]))


def kind_counts(issues: pd.DataFrame) -> dict[str, int]:
    """Suspects per kind (empty when the table has no kinds)."""
    if "kind" not in issues:
        return {}
    counts = issues.loc[issues["is_suspect"].astype(bool), "kind"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in KINDS}
