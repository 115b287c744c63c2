"""The advice for one class pair on the Class merges page, worded by why the pair is confused
(:func:`indoor.analysis.merges.pair_verdicts`): merge indistinguishable classes, inspect often-confused ones."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indoor.analysis.merges import VERDICTS
from indoor.app.text import md

ADVICE = {
    "indistinguishable": (
        "If you cannot tell them apart on the typical images below either, merge them; if you can, write the "
        "difference into both class cards and relabel — more data will not separate classes drawn alike."
    ),
    "often confused": (
        "Merging would hide a fixable problem: open the confused images (links below). They may be mislabelled, "
        "show both classes, or be a kind of image the model has too few examples of — relabel, mark them "
        "multi-label, or add examples of that kind."
    ),
    "distinct": "No reason to merge.",
}


def merge_advice(pair: pd.Series) -> None:
    """A box with the pair's verdict, the evidence in words and what to do; nothing for a cache built before
    verdicts existed, or a pair ranked below the ones judged."""
    verdict = str(pair.get("verdict", "") or "")
    if verdict not in VERDICTS:
        return
    text = f"**{VERDICTS[verdict]}** — {md(pair.get('why', ''))} {ADVICE[verdict]}"
    if verdict == "indistinguishable":
        st.warning(text, icon=":material/merge:")
    elif verdict == "often confused":
        st.info(text, icon=":material/compare_arrows:")
    else:
        st.success(text, icon=":material/check_circle:")
