"""Review: a queue of images judged one at a time against the classes' definition cards; class definitions;
annotators and their disagreements.

Deep links: ``/Review?true=bar&pred=deli&split=test`` (a confusion pair), ``?source=class&class=bar``,
``?source=issues``, ``?source=selection`` (the embedding map's selection), ``?source=disagreements``; ``sample``
is the image on screen; ``view=cards`` / ``view=annotators`` open the other sections.
Keyboard: K keep · P relabel to predicted · L relabel to the chosen class · M multi-label · U unsure · X remove ·
← previous · → next · S skip · Z undo.
"""

from __future__ import annotations

import streamlit as st

from indoor.app import loading, page, state, urls
from indoor.app.components.review_keys import review_keys
from indoor.app.text import md, split_label
from indoor.app.widgets import review
from indoor.decisions import queue

cache = page.setup_page("Review")
classes = cache.classes
store = loading.decision_store(cache)
if store is None:
    st.stop()

VIEWS = {"queue": "Review queue", "cards": "Class definitions", "annotators": "Annotators"}
SPLITS = review.splits(cache)
DEFAULT_TRUE, DEFAULT_PRED, DEFAULT_CLASS = review.defaults(cache)
a_class = lambda raw: raw if raw in classes else None  # noqa: E731
PARAMS = {
    "view": urls.choice_param("rv.view", "queue", list(VIEWS)),
    "source": urls.choice_param("rv.source", "pair", list(queue.SOURCES)),
    "true": urls.UrlParam("rv.true", DEFAULT_TRUE, a_class),
    "pred": urls.UrlParam("rv.pred", DEFAULT_PRED, a_class),
    "class": urls.UrlParam("rv.class", urls.ANY, lambda raw: raw if raw in classes or raw == urls.ANY else None),
    "split": urls.choice_param("rv.split", "all", SPLITS),
    "errors": urls.bool_param("rv.errors", False),
    "flagged": urls.bool_param("rv.flagged", True),
    "sample": urls.sample_param(cache, review.SAMPLE_KEY),
    "card": urls.UrlParam("rv.card", DEFAULT_CLASS, a_class),
}
urls.url_sync_in("review", PARAMS)


def queue_view() -> None:
    ss = st.session_state
    kind = st.segmented_control("Queue", list(queue.SOURCES), key="rv.source", format_func=queue.SOURCES.get,
                                required=True, on_change=review.reset_position,
                                help="Which images to review: a confusion pair, one class, the label-issue list, "
                                     "the embedding map's selection or the images annotators disagree on.")
    c2, c3, c4, c5 = st.columns([3, 3, 2, 3], vertical_alignment="bottom")
    if kind == "pair":
        c2.selectbox("Given label", classes, key="rv.true", on_change=review.reset_position)
        c3.selectbox("Predicted", classes, key="rv.pred", on_change=review.reset_position)
    elif kind in ("class", "issues"):
        options = classes if kind == "class" else [urls.ANY] + classes
        if ss.get("rv.class") not in options:
            ss["rv.class"] = DEFAULT_CLASS
        c2.selectbox("Given label", options, key="rv.class", on_change=review.reset_position,
                     format_func=lambda c: "any class" if c == urls.ANY else c)
        if kind == "class":
            c3.toggle("Errors only", key="rv.errors", on_change=review.reset_position,
                      help="Only images whose prediction differs from the given label.")
        else:
            c3.toggle("Flagged only", key="rv.flagged", on_change=review.reset_position,
                      help="Off: every image, in review order (flagged first).")
    elif kind == "selection":
        n = len(ss.get(review.SELECTION_KEY) or [])
        c2.caption(f"{n:,} image{'s' if n != 1 else ''} selected on the Embedding map.")
    c4.selectbox("Split", SPLITS, key="rv.split", format_func=split_label, on_change=review.reset_position)

    source = review.source()
    try:
        ids = review.queue_ids(cache, store, source)
    except queue.QueueError as exc:
        st.info(f"No queue: {md(exc)}.", icon=":material/playlist_remove:")
        if kind == "selection":
            st.page_link(urls.MAP_PAGE, label="Open the Embedding map", icon=":material/scatter_plot:")
        return
    c5.caption(f"{len(ids):,} image{'s' if len(ids) != 1 else ''} · most suspicious first")
    if not ids:
        st.info(f"No image in this queue ({md(source.describe())}).", icon=":material/playlist_remove:")
        return

    who = state.annotator()
    decided = frozenset(store.current(annotator=who)["sample_id"])
    done = queue.progress(ids, decided)
    at = review.position(ids, decided)
    st.progress(done.fraction, text=f"{md(done.text)} (by {md(who)}) · image {at + 1:,} of {len(ids):,}")
    if done.remaining == 0:
        st.success(f"Every image of this queue has a decision by {md(who)}.", icon=":material/task_alt:")
    review.navigation(cache, ids, at, decided, source.describe())

    left, right = st.columns([5, 5], gap="large")
    with left:
        review.image_panel(cache, ids[at])
    with right:
        review.decision_panel(cache, ids, at, decided)


def cards_view() -> None:
    st.caption("Per class, the attributes that define it (e.g. bar: high chairs, drinks, a bar counter). While "
               "reviewing, the given and predicted classes' cards are shown beside the image as checkboxes; the "
               "ticked ones are saved with the decision and exported with it.")
    edit, overview = st.columns([2, 3], gap="large")
    with edit:
        review.card_editor(cache, store)
    with overview:
        review.cards_overview(cache, store)
    st.subheader("Share definitions")
    review.share_cards(cache, store)


def annotators_view() -> None:
    a1, a2 = st.columns([2, 3], gap="large")
    with a1:
        review.annotator_picker(store)
    with a2:
        review.annotator_table(store)
    review.disagreements(cache, store)


st.title("Review")
view = st.segmented_control("View", list(VIEWS), key="rv.view", format_func=VIEWS.get, required=True,
                            label_visibility="collapsed")
if view == "cards":
    cards_view()
elif view == "annotators":
    annotators_view()
else:
    queue_view()
    review_keys(key="rv.keys")
urls.url_sync_out("review", PARAMS)
