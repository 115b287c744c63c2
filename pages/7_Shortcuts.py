"""Shortcuts and biases: where in brightness, colour, sharpness or size the predictions depart from the labels
(ranked findings with example images), per-class accuracy over dataset-relative bins, and CleanVision-style
image issues (dark, light, blurry, low information, odd size or aspect, grayscale).

Deep link: ``/Shortcuts?tab=curves&property=hue``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from indoor.analysis import shortcuts
from indoor.analysis.shortcuts import PROPERTIES
from indoor.app import loading, page, urls
from indoor.app.text import esc, md
from indoor.app.widgets.image_issues import image_issues_view
from indoor.app.widgets import shortcut_tests

cache = page.setup_page("Shortcuts")
classes = cache.classes
samples = cache.samples


tables = loading.analysis_tables(cache)
findings, curves, image_issues = tables["shortcut_findings"], tables["shortcut_curves"], tables["image_issues"]

def _tick(lo: float, hi: float, prop: str) -> str:
    if prop == "hue":
        return f"{lo:.0f}–{hi:.0f}°"
    if prop == "size":
        return f"{lo / 1e6:.2g}–{hi / 1e6:.2g} MP"
    return f"{lo:.3g}–{hi:.3g}"


MIN_CURVE_IMAGES = 3
TABS = {"findings": "Findings", "curves": "Accuracy curves", "issues": "Image issues"}
properties = [p for p in PROPERTIES if p in set(curves["property"])]
PARAMS = {
    "tab": urls.choice_param("sc.tab", "findings", list(TABS)),
    "property": urls.choice_param("sc.property", properties[0] if properties else "brightness", properties or ["brightness"]),
}
urls.url_sync_in("shortcuts", PARAMS)

st.title("Shortcuts")
st.caption(
    "Image properties computed at build time, cut into dataset-relative bins (deciles; hue around the colour "
    "circle). A finding is a bin whose images labelled otherwise get a much higher probability of one class than "
    "images of the same labels get elsewhere. That is a suspicion, not yet a shortcut: a label error or a content "
    "correlation looks the same. Its test moves only that property in images of other classes and re-scores them: "
    "a finding is called a shortcut only when the model's probability of the class then rises."
)
for message in tables["warnings"].query("analysis == 'shortcuts'")["message"]:  # e.g. in-sample train probabilities
    st.warning(md(message), icon=":material/warning:")
tab = st.segmented_control("View", list(TABS), key="sc.tab", format_func=TABS.get, required=True)

# -------------------------------------------------------------------------------------------------- findings
if tab == "findings":
    show_all = st.toggle("Also show findings that repeat a better one", key="sc.all",
                         help="Dark images are also low-contrast and blurry: such repeats are folded into the first.")
    frame = findings if show_all else findings[findings["rank"] > 0]
    if frame.empty:
        st.info("No finding: in no property bin do predictions depart from the labels.",
                icon=":material/check_circle:")
    top_n = st.slider("Findings shown", 1, max(1, len(frame)), min(8, max(1, len(frame))), key="sc.top") \
        if len(frame) > 1 else len(frame)
    shortcut_tests.findings_view(cache, frame.head(top_n), tables, key="sc.f")  # verdict first, then evidence

# ---------------------------------------------------------------------------------------------------- curves
elif tab == "curves":
    prop = st.selectbox("Property", properties, key="sc.property", format_func=PROPERTIES.get)
    suggested = shortcuts.finding_classes(findings, prop, top=4)
    default = ["(all)"] + (suggested or list(classes[:3]))
    picked = st.multiselect("Classes", ["(all)"] + classes, default=default, key=f"sc.classes.{prop}")
    bins = shortcuts.curve_bins(curves, prop)
    if len(bins) < 2:
        st.info(f"Every image has the same {PROPERTIES[prop]}: nothing to compare.", icon=":material/info:")
    else:
        fig = go.Figure()
        for name in picked:
            line = shortcuts.curve_of(curves, prop, name, min_images=MIN_CURVE_IMAGES)  # too few images: a gap
            fig.add_trace(go.Scatter(
                x=line["bin"], y=line["accuracy"], mode="lines+markers", name=esc(name),
                line=dict(width=4 if name == "(all)" else 2, color="#111827" if name == "(all)" else None),
                customdata=np.stack([line["n"], line["correct"], [esc(t) for t in line["bin_label"]]], axis=1),
                hovertemplate="%{customdata[2]}<br>" + esc(name)
                + ": %{y:.0%} (%{customdata[1]} of %{customdata[0]})<extra></extra>",
            ))
        fig.update_layout(
            height=440, margin=dict(l=8, r=8, t=36, b=8), plot_bgcolor="white", hovermode="closest",
            title=dict(text=f"Top-1 accuracy per {esc(PROPERTIES[prop])} bin (by given label)", font=dict(size=14)),
            yaxis=dict(range=[-0.02, 1.04], tickformat=".0%", gridcolor="#eef2f7", title="accuracy"),
            xaxis=dict(tickmode="array", tickvals=bins["bin"].tolist(), gridcolor="#eef2f7",
                       ticktext=[_tick(lo, hi, prop) for lo, hi in zip(bins["lo"], bins["hi"])],
                       title=f"{esc(PROPERTIES[prop])} (equal-count bins, low → high)"),
            legend=dict(orientation="h", y=-0.25),
        )
        st.plotly_chart(fig, key="sc.curve", width="stretch", config={"displayModeBar": False})
        st.caption("Each bin holds about the same number of images. A class whose curve drops in some bins "
                   f"depends on that property; gaps: fewer than {MIN_CURVE_IMAGES} images of the class in the bin. "
                   "Hover for counts.")

# ---------------------------------------------------------------------------------------------------- issues
else:
    image_issues_view(cache, image_issues)
