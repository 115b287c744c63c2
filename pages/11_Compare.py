"""Compare runs: two caches of the same images side by side (e.g. before and after cleaning the labels): accuracy
per split, per-class changes, a confusion-delta heatmap and the images whose prediction changed.

Deep link: ``/Compare?a=runs/demo&b=runs/demo-cleaned&ref=b&split=test&show=fixed``.
"""

from __future__ import annotations

import streamlit as st

from indoor.analysis import compare
from indoor.app import loading, page, state, urls
from indoor.app.text import md, split_label
from indoor.app.widgets import compare_view, shortcut_compare
from indoor.cache import Cache, CacheError

cache = page.setup_page("Compare runs")

REFERENCES = {"b": "B's labels", "a": "A's labels"}
CHANGES = {"fixed": "Fixed", "broken": "Broken", "changed": "Changed (both wrong)"}
SPLITS = ["test", "val", "train", "all"]
PAGE_SIZE = 24

options, default_b = loading.run_options(cache)  # this cache, its cleaned rebuild, every cache under runs/
PARAMS = {
    "a": urls.UrlParam("cmp.a", state.display_path(cache.path)),
    "b": urls.UrlParam("cmp.b", default_b),
    "ref": urls.choice_param("cmp.ref", "b", list(REFERENCES)),
    "split": urls.choice_param("cmp.split", "test", SPLITS),
    "show": urls.choice_param("cmp.show", "fixed", list(CHANGES)),
}
urls.url_sync_in("compare", PARAMS)

st.title("Compare runs")
st.caption("Run A (before) against run B (after), on the images both hold. Accuracy is measured against one set of "
           "labels for both runs, so a cleaned run is judged on its cleaned labels.")
c1, c2, c3, c4 = st.columns([4, 4, 3, 2], vertical_alignment="bottom")
for key in ("cmp.a", "cmp.b"):
    if st.session_state.get(key) and st.session_state[key] not in options:
        options.append(st.session_state[key])
path_a = c1.selectbox("Run A (before)", options, key="cmp.a",  # options are plain text: no md()
                      help="One of the caches the sidebar offers (under runs/, --cache or INDOOR_CACHE).")
path_b = c2.selectbox("Run B (after)", options, key="cmp.b",
                      help="One of the caches the sidebar offers, e.g. the one rebuilt on the cleaned manifest.")
reference = c3.segmented_control("Reference labels", list(REFERENCES), key="cmp.ref", format_func=REFERENCES.get,
                                 required=True, help="Whose labels count as right for both runs: B's (e.g. after "
                                                     "cleaning, the default) or A's.")
split = c4.selectbox("Split", SPLITS, key="cmp.split", format_func=split_label,
                     help="The split of the per-class changes, the heatmap and the changed images.")

runs: dict[str, Cache] = {}
for name, text in (("A", path_a), ("B", path_b)):
    if not text:
        st.info(f"Choose run {name}.")
        urls.url_sync_out("compare", PARAMS)
        st.stop()
    try:
        runs[name] = loading.open_run(str(text), cache)
    except CacheError as exc:
        st.error(f"Run {name} ({md(text)}) can't be opened: {md(exc)}")
        urls.url_sync_out("compare", PARAMS)
        st.stop()
run_a, run_b = runs["A"], runs["B"]
result = loading.compare(run_a, run_b, reference, split)
urls.url_sync_out("compare", PARAMS)

if result.n_common == 0:
    st.error("The two runs share no image (matched by sample_id): nothing to compare.")
    st.stop()
compare_view.notes(result, run_a, run_b)
compare_view.accuracy(result, REFERENCES[reference])
compare_view.recall_change(result, split, REFERENCES[reference], key="cmp.per_class")
compare_view.confusion_change(result, split, key="cmp.heatmap")
shortcut_compare.shortcut_change(run_a, run_b, result, key="cmp.tests")  # each test before and after

# ------------------------------------------------------------------------------------------- changed images
changed = compare.changed_images(result.changed, split)
counts = compare.change_counts(changed)
st.subheader(f"Predictions that changed · {split_label(split)}")
show = st.segmented_control("Show", list(CHANGES), key="cmp.show", required=True,
                            on_change=lambda: st.session_state.update({"cmp.page": 1}),
                            format_func=lambda c: f"{CHANGES[c]} ({counts[c]:,})",
                            help="Fixed: wrong in A, right in B. Broken: right in A, wrong in B. Changed: a "
                                 "different wrong prediction.")
urls.url_sync_out("compare", PARAMS)
subset = compare.changed_images(changed, change=show)
if subset.empty:
    st.info(f"No {CHANGES[show].lower()} predictions in this split.")
    st.stop()
compare_view.changed_images(cache, run_a, run_b, subset, key="cmp", page_size=PAGE_SIZE)
