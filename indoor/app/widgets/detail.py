"""One image in detail: full size, labels, top-5, typical images of both classes, quick decisions, and the
explanation panel on demand."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from indoor.analysis import explore
from indoor.app.loading import typical_rows
from indoor.app.text import md, split_label
from indoor.app.urls import relabel_link
from indoor.app.widgets.decision_form import quick_decisions
from indoor.cache import Cache


def image_detail(cache: Cache, row: int, *, key: str) -> None:
    """One image: full size, given label, prediction, confidence, top-5 bar chart, typical correct examples of
    the given and the predicted class side by side, quick decisions and a link to the full relabel form."""
    s = cache.samples
    classes = cache.classes
    row = int(row)
    sample_id = str(s["sample_id"].iat[row])
    label_i, pred_i = int(s["label"].iat[row]), int(s["pred"].iat[row])
    label, pred = classes[label_i], classes[pred_i]
    with st.container(border=True):
        st.markdown(f"##### {md(sample_id)}")
        left, right = st.columns([5, 4], gap="medium")
        with left:
            st.image(str(cache.image_path(row)), width="stretch")
        with right:
            a, b, c = st.columns(3)
            a.metric("Given label", md(label))
            b.metric("Predicted", md(pred), delta="correct" if label_i == pred_i else "wrong",
                     delta_color="normal" if label_i == pred_i else "inverse", delta_arrow="off")
            c.metric("Confidence", f"{float(s['confidence'].iat[row]):.0%}",
                     help="Out-of-sample probability of the predicted class.")
            fold = int(s["fold"].iat[row])
            st.caption(md(f"{split_label(str(s['split'].iat[row]))} split"
                          + (f" · fold {fold}" if fold >= 0 else "")
                          + f" · probability of the given label {float(s['self_confidence'].iat[row]):.1%}"
                          + f" · loss {float(s['loss'].iat[row]):.2f}"))
            from indoor.app.components.bars import bars

            st.caption("Top-5 probabilities (green: the given label)")
            bars(top5_payload(cache, row), key=f"{key}.top5")
            quick_decisions(cache, sample_id, key=f"{key}.quick")
            relabel_link(sample_id)
        t_col, p_col = st.columns(2, gap="medium")
        with t_col:
            _typical_strip(cache, label_i, exclude=row, title=f"Typical {label} (given label)")
        with p_col:
            if pred_i != label_i:
                _typical_strip(cache, pred_i, exclude=row, title=f"Typical {pred} (predicted)")
        with st.expander(f"Why did it say {md(pred)}? Occlusion map, Grad-CAM and nearest training images"):
            from indoor.app.widgets import explain_panel as ui_explain  # imported on first use: it brings the explanation code, not torch itself

            ui_explain.explain_panel(cache, row, key=f"{key}.explain")


def _typical_strip(cache: Cache, class_index: int, *, exclude: int, title: str) -> None:
    st.markdown(f"**{md(title)}**")
    rows = typical_rows(cache, class_index, k=5, exclude=exclude)
    if not rows:
        st.caption("No correctly classified image of this class.")
        return
    conf = cache.samples["self_confidence"].to_numpy()
    st.image([str(cache.thumb_path(r)) for r in rows], width=92, caption=[f"{conf[r]:.0%}" for r in rows])


def top5_payload(cache: Cache, row: int) -> dict[str, Any]:
    """The bar list (components/bars) of an image's five most probable classes, most probable first: the given
    label in green, the prediction in blue (when it is not the given label), the others grey."""
    from indoor.app.components.bars import bars_payload

    classes = cache.classes
    probs = np.asarray(cache.probs[int(row)], dtype=float)
    index, values = explore.top_k(probs, 5)
    index, values = index[0], values[0]
    label = int(cache.samples["label"].iat[int(row)])
    names = [classes[int(i)] for i in index]
    colours = ["#16a34a" if int(i) == label else "#2563eb" if j == 0 else "#94a3b8" for j, i in enumerate(index)]
    roles = [("\nthe given label and the prediction" if j == 0 else "\nthe given label") if int(i) == label
             else "\nthe prediction" if j == 0 else "" for j, i in enumerate(index)]
    return bars_payload(names, values, ids=[int(i) for i in index], colours=colours,
                        value_text=[f"{v:.0%}" for v in values],
                        hover=[f"{name}: {v:.1%}{role}" for name, v, role in zip(names, values, roles)])
