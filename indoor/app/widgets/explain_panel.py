"""The "why did it say bar?" panel for one image: occlusion map, Grad-CAM and the nearest training images.

Computed on demand (a button), cached per (cache, image, class, method); the model is loaded once per server
process. torch (via ``indoor.explain``) is imported only when the user asks for an explanation, so pages that
show this panel still start fast.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from indoor.app.text import md
from indoor.cache import Cache, CacheError, cache_source

WORKING_SIZE = 768  # the explained image's longer side at most (the model sees a much smaller crop anyway)
_EXPLAINED = "indoor.explained"  # session state: the set of (key, row) the user asked to explain


# ================================================================================================ cached work


@st.cache_resource(show_spinner=False, max_entries=2)
def _final_classifier(key: str, _cache: Cache) -> Any:
    """The cache's image -> class model (head fit on the whole train split), once per server process."""
    from indoor.model.explain import load_classifier

    return load_classifier(_cache)


@st.cache_resource(show_spinner=False, max_entries=16)
def _fold_classifier(key: str, fold: int, _cache: Cache) -> Any:
    """The same backbone with the out-of-fold head of one train fold (refit from cached embeddings, once)."""
    from indoor.model.explain import fold_head

    return _final_classifier(key, _cache).with_head(fold_head(_cache, fold), fold=fold)


def _fold_of(cache: Cache, row: int) -> int | None:
    """The train fold whose out-of-fold head predicted ``row`` (None for val/test: the final head did)."""
    fold = int(cache.samples["fold"].iat[row])
    return fold if fold >= 0 and str(cache.samples["split"].iat[row]) == "train" else None


def _classifier(key: str, _cache: Cache, row: int) -> Any:
    """The model behind the cache's (out-of-sample) probabilities of ``row``."""
    fold = _fold_of(_cache, row)
    return _final_classifier(key, _cache) if fold is None else _fold_classifier(key, fold, _cache)


def _working_image(cache: Cache, row: int) -> tuple[Image.Image, bool]:
    """The image to explain (longer side <= WORKING_SIZE) and whether it is the original (else the thumbnail)."""
    path = cache.image_path(row)
    original = Path(path) != cache.thumb_path(row)
    with Image.open(path) as opened:
        opened.draft("RGB", (WORKING_SIZE, WORKING_SIZE))
        image = opened.convert("RGB")
    image.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.LANCZOS)
    return image, original


def _encode(image: Image.Image) -> bytes:
    """Encoded for the browser: JPEG (q90) — a 768-px photo as PNG would be ~1 MB per map."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@st.cache_data(show_spinner=False, max_entries=64)
def _explained(key: str, row: int, target: int, method: str, _cache: Cache) -> dict[str, Any]:
    """One map of one image for one class: the overlay as JPEG bytes plus the numbers the captions show.

    ``key`` names the cache build (path and creation time), so a rebuilt cache is explained afresh.
    """
    from indoor.model import explain

    classifier = _classifier(key, _cache, row)
    image, _ = _working_image(_cache, row)
    box = explain.seen_box(image.size, classifier.image_size, classifier.crop_pct)
    if method == "occlusion":
        heat = explain.occlusion_map(classifier, image, target)
        peak = float(heat.max(initial=0.0))
        picture = explain.overlay(image, heat, box=box)
        return {"png": _encode(picture), "peak": peak, "min": float(heat.min(initial=0.0))}
    if method == "gradcam":
        heat = explain.gradcam_map(classifier, image, target)
        return {"png": _encode(explain.overlay(image, heat, box=box)), "peak": float(heat.max(initial=0.0))}
    if method == "original":
        probs = classifier.probs(image)
        return {"png": _encode(explain.overlay(image, np.zeros((1, 1)), box=box)), "probs": probs.tolist(),
                "fine_tuned": bool(classifier.fine_tuned),
                "cropped": any(abs(a - b) > 0.5 for a, b in zip(box, (0, 0, *image.size)))}
    raise ValueError(f"unknown method {method!r}")


@st.cache_resource(show_spinner=False, max_entries=4)
def _issue_rows(key: str, _cache: Cache) -> frozenset[int]:
    """Rows flagged as suspected label issues at build time (empty when the cache has no such table)."""
    if not _cache.has_table("label_issues"):
        return frozenset()
    try:
        table = _cache.table("label_issues")
    except CacheError:
        return frozenset()
    if "row" not in table or "is_issue" not in table:
        return frozenset()
    return frozenset(int(r) for r in table.loc[table["is_issue"].astype(bool), "row"])


@st.cache_resource(show_spinner=False, max_entries=4)
def _train_mask(key: str, _cache: Cache) -> np.ndarray:
    mask = (_cache.samples["split"].to_numpy() == "train")
    mask.flags.writeable = False
    return mask


@st.cache_data(show_spinner=False, max_entries=256)
def _neighbours(key: str, row: int, k: int, _cache: Cache) -> list[tuple[int, float]]:
    from indoor.analysis.neighbours import nearest_training_rows  # chunked, numpy only (no torch import)

    table = nearest_training_rows(_cache.embeddings, row, train_mask=_train_mask(key, _cache), k=k)
    return [(int(r), float(s)) for r, s in zip(table["row"], table["similarity"])]


# ================================================================================================ the panel


def _class_options(cache: Cache, row: int) -> list[int]:
    """Predicted class first, then the given label, then the rest of the top-5 (out-of-sample probabilities)."""
    s = cache.samples
    pred, label = int(s["pred"].iat[row]), int(s["label"].iat[row])
    options = [pred] + ([label] if label != pred else [])
    options += [int(c) for c in s["top5"].iat[row] if int(c) not in options]
    return options


def explained(cache: Cache, row: int, *, key: str) -> bool:
    """Has the user asked to explain this image in the panel ``key`` (this session)?"""
    return (key, cache.key, int(row)) in st.session_state.get(_EXPLAINED, set())


def explain_panel(cache: Cache, row: int, *, key: str) -> None:
    """Why this prediction? For one image (cache row): a button that computes, for a chosen class (predicted by
    default, given label or another top-5 class), the occlusion map and Grad-CAM side by side with the image,
    and the nearest training images with their labels (suspected label issues marked)."""
    row = int(row)
    classes = cache.classes
    s = cache.samples
    pred, label = int(s["pred"].iat[row]), int(s["label"].iat[row])
    cache_id = cache.key
    explained: set = st.session_state.setdefault(_EXPLAINED, set())
    marker = (key, cache_id, row)

    st.markdown("**Why this prediction?**")
    if cache_source(cache.meta)["kind"] == "import":
        st.caption("This cache holds imported predictions, not a model: occlusion maps and Grad-CAM need the model "
                   "itself, so only the images it leans on can be shown, the nearest training images by embedding.")
        _neighbour_strip(cache, row, key=key)
        return
    if marker not in explained:
        st.caption("Occlusion sensitivity and Grad-CAM show which regions of the image the model relies on; the "
                   "nearest training images show which examples it leans on. Takes a few seconds on a CPU.")
        st.button("Explain this prediction", key=f"{key}.go", icon=":material/visibility:", type="primary",
                  on_click=explained.add, args=(marker,))
        return

    options = _class_options(cache, row)
    probs = np.asarray(cache.probs[row], dtype=float)

    def name(c: int) -> str:
        role = " (predicted)" if c == pred else " (given label)" if c == label else ""
        return f"{md(classes[c])}{role} · {probs[c]:.0%}"

    choice_key = f"{key}.class"
    if st.session_state.get(choice_key) not in options:
        st.session_state[choice_key] = pred
    target = st.radio("Explain the class", options, key=choice_key, format_func=name, horizontal=True,
                      help="Probabilities are the cache's out-of-sample ones. The maps explain that class's "
                           "probability (occlusion) and logit (Grad-CAM).")
    target = int(target)

    try:
        fold = _fold_of(cache, row)
        if fold is not None:
            with st.spinner(f"Refitting the fold-{fold:d} head (once per server)…"):
                _classifier(cache_id, cache, row)
        with st.spinner(f"Explaining {md(classes[target])}: occlusion (49 patches) and Grad-CAM…"):
            base = _explained(cache_id, row, target, "original", cache)
            occlusion = _explained(cache_id, row, target, "occlusion", cache)
            gradcam = _explained(cache_id, row, target, "gradcam", cache)
    except (OSError, ValueError, RuntimeError, CacheError) as exc:
        st.error(f"This image can't be explained: {md(exc)}")
        return

    live = float(base["probs"][target])
    a, b, c = st.columns(3, gap="small")
    with a:
        st.image(base["png"], width="stretch")
        st.caption(md(f"Image · probability of {classes[target]}: {live:.0%}")
                   + ("  \nGreyed margins: outside the centre crop the model sees." if base["cropped"] else ""))
    with b:
        st.image(occlusion["png"], width="stretch")
        if occlusion["peak"] >= 0.005:
            text = (f"Occlusion (grey patches): covering the red region lowers the probability of {classes[target]} "
                    f"by up to {occlusion['peak'] * 100:.0f} percentage points")
        else:
            text = f"Occlusion (grey patches): covering no single region lowers {classes[target]} noticeably"
        st.caption(md(text))
    with c:
        st.image(gradcam["png"], width="stretch")
        st.caption(md(f"Grad-CAM on the last convolution for {classes[target]}"
                         + ("" if gradcam["peak"] > 0 else ": no region supports this class")))
    fold = _fold_of(cache, row)
    if fold is None:
        notes = ["The maps explain the head fit on the train split: the model behind this image's probabilities."]
    else:
        notes = [f"The maps explain the fold-{fold} head (refit from the cached embeddings of the other train "
                 "folds): the model behind this train image's out-of-fold probabilities, which never saw its label."]
    if base["fine_tuned"]:
        notes.append("The backbone is the fine-tuned one.")
    if abs(live - float(probs[target])) > 0.02:
        notes.append(f"Its probability of {classes[target]} on the image as loaded now is {live:.0%}, the cache "
                     f"says {probs[target]:.0%}.")
    if Path(cache.image_path(row)) == cache.thumb_path(row):
        notes.append("The original image is no longer on disk: the thumbnail is explained.")
    st.caption(md(" ".join(notes)))

    _neighbour_strip(cache, row, key=key)


def _neighbour_strip(cache: Cache, row: int, *, key: str, k: int = 8) -> None:
    cache_id = cache.key
    neighbours = _neighbours(cache_id, row, k, cache)
    st.markdown("**Nearest training images** (cosine similarity of embeddings)")
    if not neighbours:
        st.caption("No training images to compare with.")
        return
    classes = cache.classes
    labels = cache.samples["label"].to_numpy()
    flagged = _issue_rows(cache_id, cache)
    own = int(labels[row])
    captions = []
    for r, similarity in neighbours:
        name = classes[int(labels[r])]
        mark = "✓ " if int(labels[r]) == own else ""
        issue = "\n⚠ suspected label issue" if r in flagged else ""
        captions.append(f"{mark}{name}\nsimilarity {similarity:.2f}{issue}")
    st.image([str(cache.thumb_path(r)) for r, _ in neighbours], width=96, caption=captions)
    same = sum(int(labels[r]) == own for r, _ in neighbours)
    n_flagged = sum(r in flagged for r, _ in neighbours)
    summary = f"{same} of {len(neighbours)} share this image's given label ({classes[own]})."
    if cache.has_table("label_issues"):
        summary += (f" {n_flagged} of them {'is a' if n_flagged == 1 else 'are'} suspected label "
                    f"issue{'' if n_flagged == 1 else 's'}." if n_flagged else " None is a suspected label issue.")
    st.caption(md(summary))
