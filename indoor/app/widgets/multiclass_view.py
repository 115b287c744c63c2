"""The multi-class view of the Label issues page: candidates that may show two classes at once, each with its
region evidence (the crops the build scored, the two that disagree outlined and named), a multi-label button and
typical images of both classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

from indoor.analysis import explore, multiclass
from indoor.app import loading, state, urls
from indoor.app.text import md
from indoor.app.widgets import decision_form, pick_list
from indoor.cache import Cache
from indoor.decisions import Decision

COLOURS = ("#f97316", "#2563eb")  # region of class A, region of class B
OTHER = "#e5e7eb"


def outlined(image: Image.Image, boxes: list[tuple[float, float, float, float]], names: list[str],
             colours: list[str], *, width: int = 480) -> Image.Image:
    """A copy of ``image`` (resized to ``width`` px wide) with each box (fractions of the image: x0, y0, x1, y1)
    outlined in its colour and labelled with its name (drawn in order: later boxes on top)."""
    image = image.convert("RGB")
    scale = width / image.width
    image = image.resize((width, max(1, round(image.height * scale))), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    line = max(2, width // 160)
    for (x0, y0, x1, y1), name, colour in zip(boxes, names, colours):
        box = [x0 * image.width + line, y0 * image.height + line, x1 * image.width - line, y1 * image.height - line]
        draw.rectangle(box, outline=colour, width=line)
        if name:
            left, top, right, bottom = draw.textbbox((box[0] + line, box[1] + line), name)
            draw.rectangle([left - 2, top - 2, right + 2, bottom + 2], fill=colour)
            draw.text((box[0] + line, box[1] + line), name, fill="white" if colour != OTHER else "black")
    return image


def multiclass_view(cache: Cache, candidates: pd.DataFrame, regions: pd.DataFrame | None, selected: np.ndarray) -> None:
    """Candidates (the cache's ``multiclass`` table) among the ``selected`` rows, best first; ``regions`` (the
    cache's ``regions`` table, None or empty for a cache built without region evidence)."""
    classes = cache.classes
    frame = explore.rows_where(candidates, selected)
    with_regions = regions is not None and len(regions) > 0 and "region_a" in candidates
    if with_regions:
        stats = cache.meta.get("regions") or {}
        scorer = (f"a region head: a classifier fit on the crops of {stats.get('reference_images', 0):,} ordinary "
                  "training images of every class, so it knows what a crop of each class looks like"
                  if stats.get("scored_by") == "region head" else "the same head")
        halves = stats.get("halves") or {}
        every_other = (" Every image's halves (left, right, top and bottom of the backbone's last feature map, from "
                       "the same forward pass) were scored the same way: where no crop was taken, two halves of two "
                       f"classes at {multiclass.HALF_MIN_REGION:.0%} or more make a candidate, and a candidate ranks "
                       "higher when its halves also show both classes." if halves.get("scored_by") else "")
        st.caption("Crops of the images the model was least sure about, and of those whose label it rejects (a "
                   f"grid of windows and the centre), were scored by the same backbone and {scorer}.{every_other} "
                   "A candidate is an image where two regions confidently predict two different classes that the "
                   "model does not usually mix up, or one whose label the model rejects while a region still shows "
                   "it.")
    else:
        st.caption("Images whose two most probable classes are both high or nearly equal — possibly both present. "
                   "Rebuild the cache for region evidence (crops of each candidate scored separately).")
    if frame.empty:
        st.info("No multi-class candidate in this selection.", icon=":material/filter_alt_off:")
        return
    view = multiclass.candidate_table(frame, classes)
    pick_list.pick_table(view, pos_key="li.mpos", table_key="li.multi", height=300, column_config={
        c: st.column_config.NumberColumn(format="%.2f") for c in view.columns if "p(" in c or c == "score"})
    pos = pick_list.position("li.mpos", len(frame))
    pick_list.nav(pos, len(frame), pos_key="li.mpos", table_key="li.multi", what="candidate")
    item = frame.iloc[pos]
    row, sample_id = int(item["row"]), str(item["sample_id"])
    label = classes[int(item["label"])]
    a, b = classes[int(item["class_a"])], classes[int(item["class_b"])]
    extra = tuple(c for c in (a, b) if c != label)
    with st.container(border=True):
        left, right = st.columns([2, 3], gap="large")
        with left:
            image = Image.open(cache.image_path(row))
            caption = f"{sample_id} · given {label} · whole image: {a} {item['p_a']:.0%}, {b} {item['p_b']:.0%}"
            if with_regions and isinstance(item.get("region_a"), str) and item["region_a"]:
                crops = regions[regions["row"] == row]  # outlined: the crops, or the halves, that found it
                crops = crops[crops["region"].isin(multiclass.HALVES) == (item["region_a"] in multiclass.HALVES)]
                order = [r for r in crops.itertuples(index=False) if r.region not in (item["region_a"], item["region_b"])]
                order += [r for name in (item["region_b"], item["region_a"]) for r in crops.itertuples(index=False)
                          if r.region == name]
                names = {item["region_a"]: f"{a} {item['p_region_a']:.0%}", item["region_b"]: f"{b} {item['p_region_b']:.0%}"}
                colours = {item["region_a"]: COLOURS[0], item["region_b"]: COLOURS[1]}
                image = outlined(image, [(r.x0, r.y0, r.x1, r.y1) for r in order],
                                 [names.get(r.region, "") for r in order], [colours.get(r.region, OTHER) for r in order])
                caption += f" · regions: {a} {item['p_region_a']:.0%} (orange), {b} {item['p_region_b']:.0%} (blue)"
            st.image(image, width="stretch", caption=md(caption))
            if with_regions:
                _region_table(regions[regions["row"] == row], classes)
        with right:
            st.markdown(f"**Both {md(a)} and {md(b)}?**")
            st.button(f"Multi-label: {md(label)} + {md(', '.join(extra))}", key="li.multilabel", type="primary",
                      icon=":material/join:", on_click=decision_form.save_decision, disabled=not extra,
                      args=(cache, Decision(sample_id=sample_id, action="multi_label", extra_labels=extra,
                                            tags=("multi-class",), annotator=state.annotator())))
            decision_form.quick_decisions(cache, sample_id, key="li.mquick")
            urls.relabel_link(sample_id)
        for name in (a, b):
            typical = loading.typical_rows(cache, classes.index(name), k=6, exclude=row)
            st.markdown(f"**Typical {md(name)}**")
            if typical:
                st.image([str(cache.thumb_path(r)) for r in typical], width=110)
            else:
                st.caption("No correctly classified image of this class.")


def _region_table(crops: pd.DataFrame, classes: list[str]) -> None:
    if crops.empty:
        return
    st.dataframe(pd.DataFrame({
        "region": crops["region"].to_numpy(),
        "predicted": [classes[int(c)] for c in crops["class_1"]],
        "p": crops["p_1"].to_numpy(),
        "then": [f"{classes[int(c)]} {p:.0%}" for c, p in zip(crops["class_2"], crops["p_2"])],
    }), hide_index=True, width="stretch", column_config={"p": st.column_config.NumberColumn(format="%.2f")})
