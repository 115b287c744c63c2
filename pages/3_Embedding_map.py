"""Embedding map: every image on its UMAP position; hover shows the thumbnail, click opens the image, lasso
selects a group for a gallery and for review. Filters live in the URL."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from indoor.app.widgets import detail

from indoor.app.widgets import gallery

from indoor.analysis import explore
from indoor.app import page
from indoor.app.components.scatter_hover import LIBRARY_JS, map_payload, scatter_hover
from indoor.app.static import cache_key, publish_script, retire_published_thumbnails, serve_thumbnails
from indoor.app.text import md

SPLIT_OPTIONS = ("all", "train", "val", "test")
# colour-by option -> (component mode, samples column, colour scale: a plotly scale name)
COLOUR_BY = {
    "true label": ("label", None, None),
    "predicted label": ("pred", None, None),
    "correct / wrong": ("correct", None, None),
    "confidence": ("value", "confidence", "Viridis"),
    "brightness": ("value", "brightness", "Cividis"),
    "contrast": ("value", "contrast", "Viridis"),
    "colourfulness": ("value", "colourfulness", "Plasma"),
    "hue": ("value", "hue", "HSV"),
    "saturation": ("value", "saturation", "Plasma"),
    "sharpness": ("value", "sharpness", "Viridis"),
    "width": ("value", "width", "Viridis"),
    "height": ("value", "height", "Viridis"),
}


def _static_dir() -> Path:
    """The folder Streamlit serves at /app/static/ (static/ beside the main script); INDOOR_STATIC_DIR overrides."""
    override = os.environ.get("INDOOR_STATIC_DIR")
    if override:
        return Path(override)
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    main_script = Path(ctx.main_script_path) if ctx is not None else Path(__file__).resolve().parents[1] / "app.py"
    return main_script.resolve().parent / "static"


def _url(path: str) -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/{path}" if base else f"/{path}"


cache = page.setup_page("Embedding map")
samples = cache.samples
classes = cache.classes
st.title("Embedding map")
if samples.empty:
    st.info("This cache has no images.")
    st.stop()

if not st.get_option("server.enableStaticServing"):
    st.warning(
        "Static file serving is off, so the map's drawing library can't load: set `enableStaticServing = true` "
        "under `[server]` in `.streamlit/config.toml` and restart (a static folder over 1 GB turns it off)."
    )
static_dir = _static_dir()
try:
    library_url = _url(publish_script(LIBRARY_JS, static_dir))
    retire_published_thumbnails(static_dir)  # what earlier versions hard-linked there, one file per image
except OSError as exc:
    st.error(f"The map needs to write into {md(static_dir)} (served at /app/static/), which failed: {md(exc)}")
    st.stop()
try:
    thumb_prefix = _url(serve_thumbnails(cache))  # served from the cache's own folder: nothing is copied
except OSError as exc:
    st.warning(f"Hover thumbnails are unavailable: {md(exc)}")
    thumb_prefix = ""

present_splits = [s for s in SPLIT_OPTIONS[1:] if (samples["split"] == s).any()]
col_split, col_classes, col_colour, col_errors = st.columns([1, 3, 1.4, 1], vertical_alignment="bottom")
split = col_split.selectbox("Split", ["all", *present_splits], key="split", bind="query-params")
chosen = col_classes.multiselect(
    "Classes (true label)", sorted(classes), key="classes", bind="query-params", placeholder="all classes"
)
colour_by = col_colour.selectbox("Colour by", list(COLOUR_BY), key="colour", bind="query-params")
errors_only = col_errors.toggle("Errors only", key="errors", bind="query-params")

label = samples["label"].to_numpy()
pred = samples["pred"].to_numpy()
shown = explore.sample_mask(samples, split=split, errors_only=errors_only,
                            labels=[classes.index(name) for name in chosen] if chosen else None)
rows = np.flatnonzero(shown)

mode, column, scale = COLOUR_BY[colour_by]
map_key = f"embedding_map_{cache_key(cache.path, str(cache.meta.get('created_at', '')))}"
previous = st.session_state.get(map_key) or {}
x_all, y_all = samples["umap_x"].to_numpy(), samples["umap_y"].to_numpy()
payload = map_payload(
    x=x_all[rows],
    y=y_all[rows],
    rows=rows,
    label=label[rows],
    pred=pred[rows],
    confidence=samples["confidence"].to_numpy()[rows],
    split=samples["split"].to_numpy()[rows].tolist(),
    classes=classes,
    thumb_prefix=thumb_prefix,
    library_url=library_url,
    colour=mode,
    values=samples[column].to_numpy()[rows] if column else None,
    value_name=colour_by,
    colour_scale=scale or "Viridis",
    bounds=(float(np.nanmin(x_all)), float(np.nanmax(x_all)), float(np.nanmin(y_all)), float(np.nanmax(y_all))),
    n_total=len(samples),
    selected=previous.get("selected") or [],
    view=map_key,
)

st.caption(
    f"{len(rows):,} of {len(samples):,} images. Hover a point for its thumbnail, click it for details; "
    "drag to lasso-select (box select or pan in the map's toolbar), double-click or Esc to clear; scroll to zoom."
)
if len(rows) == 0:
    st.info("No image matches these filters.")
state = scatter_hover(payload, key=map_key)

clicked = state["clicked"] if isinstance(state["clicked"], int) and 0 <= state["clicked"] < len(samples) else None
selection = [r for r in state["selected"] if isinstance(r, int) and 0 <= r < len(samples) and shown[r]]

# the most recent interaction (a click or a selection) is shown first
last = st.session_state.setdefault("map.last_event", {"clicked": None, "selected": [], "first": "clicked"})
if state["selected"] != last["selected"]:
    last["first"] = "selected"
elif clicked != last["clicked"]:
    last["first"] = "clicked"
last["clicked"], last["selected"] = clicked, list(state["selected"])


def show_clicked() -> None:
    if clicked is None:
        return
    st.subheader("Clicked image")
    detail.image_detail(cache, clicked, key="map_detail")


def show_selection() -> None:
    if not selection:
        return
    st.subheader(f"Selection: {len(selection):,} image{'s' if len(selection) != 1 else ''}")
    if st.button("Review the selection one by one", key="map_to_review", icon=":material/rate_review:"):
        st.session_state["selection_rows"] = selection
        st.switch_page("pages/10_Review.py", query_params={"source": "selection"})
    gallery.gallery(cache, selection, key="map_gallery")


for show in (show_selection, show_clicked) if last["first"] == "selected" else (show_clicked, show_selection):
    show()
