"""Compare runs: two caches of the same images side by side (e.g. before and after cleaning the labels): accuracy
per split, per-class changes, a confusion-delta heatmap and the images whose prediction changed.

Deep link: ``/Compare?a=runs/demo&b=runs/demo-cleaned&ref=b&split=test&show=fixed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

import ui
from components.bars import bars, bars_payload
from components.heatmap import heatmap, heatmap_payload
from components.scatter_hover import colour_scale_of
from indoor import explore
from indoor.cache import Cache, CacheError, find_caches, is_cache, load_cache
from indoor.compare import Comparison, compare_runs

cache = ui.setup_page("Compare runs", ":material/compare_arrows:")

REFERENCES = {"b": "B's labels", "a": "A's labels"}
CHANGES = {"fixed": "Fixed", "broken": "Broken", "changed": "Changed (both wrong)"}
SPLITS = ["test", "val", "train", "all"]
PAGE_SIZE = 24


def _resolve(text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else (ui.ROOT / path)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


current = ui.display_path(cache.path)
sibling = cache.path.parent / f"{cache.path.name}-cleaned"  # what `python -m indoor build` on the cleaned CSV makes
cleaned = ui.display_path(sibling) if is_cache(sibling) else None
found = [ui.display_path(p) for p in find_caches(ui.RUNS)]
options = list(dict.fromkeys([current, *([cleaned] if cleaned else []), *found]))
others = [o for o in options if not _same(_resolve(o), cache.path)]
default_b = cleaned or (others[0] if others else current)

PARAMS = {
    "a": ui.UrlParam("cmp.a", current),
    "b": ui.UrlParam("cmp.b", default_b),
    "ref": ui.choice_param("cmp.ref", "b", list(REFERENCES)),
    "split": ui.choice_param("cmp.split", "test", SPLITS),
    "show": ui.choice_param("cmp.show", "fixed", list(CHANGES)),
}
ui.url_sync_in("compare", PARAMS)


@st.cache_resource(max_entries=4, show_spinner="Loading the run…")
def _load(path: str, stamp: int) -> Cache:
    return load_cache(path)


def _open(text: str) -> Cache:
    """The cache at ``text`` (the dashboard's own if it is the same folder); CacheError otherwise."""
    path = _resolve(text)
    if _same(path, cache.path):
        return cache
    if not path.is_dir():
        raise CacheError(f"no folder {text}")
    try:
        stamp = (path / "meta.json").stat().st_mtime_ns
    except OSError:
        stamp = -1
    return _load(str(path.resolve()), stamp)


@st.cache_resource(max_entries=16, show_spinner="Comparing…")
def _compare(key_a: str, key_b: str, reference: str, split: str, _a: Cache, _b: Cache) -> Comparison:
    return compare_runs(_a.samples, _a.classes, _b.samples, _b.classes, reference=reference, split=split)


st.title("Compare runs")
st.caption("Run A (before) against run B (after), on the images both hold. Accuracy is measured against one set of "
           "labels for both runs, so a cleaned run is judged on its cleaned labels.")
c1, c2, c3, c4 = st.columns([4, 4, 3, 2], vertical_alignment="bottom")
for key in ("cmp.a", "cmp.b"):
    if st.session_state.get(key) and st.session_state[key] not in options:
        options.append(st.session_state[key])
path_a = c1.selectbox("Run A (before)", options, key="cmp.a", accept_new_options=True,
                      help="A cache under runs/, or type the path of any cache folder.")
path_b = c2.selectbox("Run B (after)", options, key="cmp.b", accept_new_options=True,
                      help="A cache under runs/ (e.g. the one rebuilt on the cleaned manifest), or type a path.")
reference = c3.segmented_control("Reference labels", list(REFERENCES), key="cmp.ref", format_func=REFERENCES.get,
                                 required=True, help="Whose labels count as right for both runs: B's (e.g. after "
                                                     "cleaning, the default) or A's.")
split = c4.selectbox("Split", SPLITS, key="cmp.split", format_func=ui.split_label,
                     help="The split of the per-class changes, the heatmap and the changed images.")

runs: dict[str, Cache] = {}
for name, text in (("A", path_a), ("B", path_b)):
    if not text:
        st.info(f"Choose run {name}.")
        ui.url_sync_out("compare", PARAMS)
        st.stop()
    try:
        runs[name] = _open(str(text))
    except CacheError as exc:
        st.error(f"Run {name} ({text}) can't be opened: {exc}")
        ui.url_sync_out("compare", PARAMS)
        st.stop()
run_a, run_b = runs["A"], runs["B"]
result = _compare(ui.cache_key(run_a), ui.cache_key(run_b), reference, split, run_a, run_b)
ui.url_sync_out("compare", PARAMS)

if result.n_common == 0:
    st.error("The two runs share no image (matched by sample_id): nothing to compare.")
    st.stop()
if _same(run_a.path, run_b.path):
    st.info("Run A and run B are the same cache: every difference is zero. Choose another run B.",
            icon=":material/info:")
if result.n_other_pixels:
    st.warning(ui.md(
        f"{result.n_other_pixels:,} of the {result.n_common:,} images matched by sample_id (the path relative to the "
        f"data root) have different pixels in the two runs: run A's data root is "
        f"{run_a.meta.get('data_root', '?')}, run B's {run_b.meta.get('data_root', '?')}. These are probably "
        "different data sets, and the differences below compare unrelated images."), icon=":material/warning:")
notes = [f"{result.n_common:,} images in both runs"]
if result.only_a or result.only_b:
    notes.append(f"{result.only_a:,} only in A (e.g. removed), {result.only_b:,} only in B")
if run_a.classes != run_b.classes:
    notes.append(f"the class lists differ ({len(run_a.classes)} vs {len(run_b.classes)} classes; merges?)")
st.caption(ui.md(" · ".join(notes)))

# ------------------------------------------------------------------------------------------- accuracy per split
st.subheader("Top-1 accuracy")
accuracy = result.accuracy
cols = st.columns(len(accuracy))
for box, rec in zip(cols, accuracy.to_dict("records")):
    box.metric(f"{ui.split_label(rec['split'])}", ui.percent(rec["top1_b"]),
               delta=f"{100 * rec['delta']:+.1f} pts vs A ({ui.percent(rec['top1_a'])})",
               delta_color="normal" if abs(rec["delta"]) > 1e-12 else "off",
               delta_arrow="auto" if abs(rec["delta"]) > 1e-12 else "off",
               help=f"{rec['n']:,} images · A {ui.percent(rec['top1_a'], 2)} → B {ui.percent(rec['top1_b'], 2)}, "
                    f"measured on {REFERENCES[reference]}")

# ------------------------------------------------------------------------------------------- per class
per_class = result.per_class
st.subheader(f"Per-class recall change · {ui.split_label(split)}")
if per_class.empty:
    st.info(f"No images in the {ui.split_label(split)} split.")
else:
    deltas = per_class["delta"].to_numpy(dtype=float) * 100
    reach = max(float(np.abs(deltas).max()), 1.0)  # points: the longest bar fills its half
    chart, notes = st.columns([3, 2], gap="large")
    with chart:  # plain HTML rows from a zero line (components/bars), worst first; a long list scrolls
        bars(bars_payload(
            per_class["class"].tolist(), deltas, domain=(-reach, reach), diverging=True,
            colours=["#16a34a" if d > 0 else "#dc2626" if d < 0 else "#94a3b8" for d in deltas],
            value_text=[f"{d:+.1f} pts" for d in deltas],
            hover=[f"{c}\nrecall A {a:.1f}% → B {b:.1f}%\nchange {d:+.1f} pts · {n:,} images"
                   for c, a, b, d, n in zip(per_class["class"], per_class["recall_a"] * 100,
                                            per_class["recall_b"] * 100, deltas, per_class["n"])],
            max_height=560,
        ), key="cmp.per_class")
    best, worst = per_class.iloc[-1], per_class.iloc[0]
    extremes = [f"largest gain: {best['class']} ({100 * best['delta']:+.1f} pts)"] if best["delta"] > 1e-12 else []
    extremes += [f"largest loss: {worst['class']} ({100 * worst['delta']:+.1f} pts)"] if worst["delta"] < -1e-12 else []
    summary = "; ".join(extremes)
    notes.caption(ui.md(f"Recall measured on {REFERENCES[reference]}, B minus A, sorted, worst first; green: B "
                        "recognises more of the class's images, red: fewer. Hover a bar for both recalls. "
                        + (summary[:1].upper() + summary[1:] + "." if extremes else "No class changed.")))

# ------------------------------------------------------------------------------------------- confusion delta
st.subheader(f"Confusion change · {ui.split_label(split)}")
delta = result.confusion_delta
n_classes = len(result.classes)
if n_classes:
    better = -delta.copy()
    np.fill_diagonal(better, np.diag(delta))  # diagonal: more correct is better; elsewhere fewer confusions
    limit = max(float(np.abs(better).max()), 0.05) * 100
    heatmap(heatmap_payload(
        better * 100, labels=list(result.classes), ids=list(range(n_classes)), zmin=-limit, zmax=limit,
        stops=colour_scale_of("PiYG"), colour_title="better in B (pts)", colour_format="pts",
        values=[delta * 100], hover=["given {row} → predicted {col}", "B − A: {v0:pts} of the row's images"],
        row_title="given (reference) label", col_title="predicted", cell=int(np.clip(640 / n_classes, 12, 36)),
    ), key="cmp.heatmap")
    st.caption("Row-normalised, B minus A. Green: B is better (more correct on the diagonal, fewer confusions off "
               "it); pink: worse. Hover a cell for the change in points of that row's images.")

# ------------------------------------------------------------------------------------------- changed images
changed = result.changed if split == "all" else result.changed[result.changed["split"] == split]
counts = changed["change"].value_counts()
st.subheader(f"Predictions that changed · {ui.split_label(split)}")
show = st.segmented_control("Show", list(CHANGES), key="cmp.show", required=True,
                            on_change=lambda: st.session_state.update({"cmp.page": 1}),
                            format_func=lambda c: f"{CHANGES[c]} ({int(counts.get(c, 0)):,})",
                            help="Fixed: wrong in A, right in B. Broken: right in A, wrong in B. Changed: a "
                                 "different wrong prediction.")
ui.url_sync_out("compare", PARAMS)
subset = changed[changed["change"] == show].reset_index(drop=True)
if subset.empty:
    st.info(f"No {CHANGES[show].lower()} predictions in this split.")
    st.stop()

if _same(cache.path, run_a.path):
    home, home_name = run_a, "A"
elif _same(cache.path, run_b.path):
    home, home_name = run_b, "B"
else:
    home, home_name = None, ""
    st.caption("To open an image in the gallery, choose run A or B as the dashboard's cache in the sidebar.")

pages = explore.page_count(len(subset), PAGE_SIZE)
page = min(max(int(st.session_state.get("cmp.page") or 1), 1), pages)
window = subset.iloc[explore.page_slice(len(subset), page, PAGE_SIZE)]
st.caption(f"{len(subset):,} images · page {page} of {pages}" + (f" · “Open” shows the image in run {home_name}'s "
                                                                  "gallery" if home is not None else ""))
per_row = 6
records = window.to_dict("records")
for start in range(0, len(records), per_row):
    boxes = st.columns(per_row)
    for box, rec in zip(boxes, records[start:start + per_row]):
        sid = rec["sample_id"]
        source = run_a if sid in run_a.row_of else run_b
        with box:
            st.image(str(source.thumb_path(source.row_of[sid])), width="stretch",
                     caption=f"{rec['label']}\nA: {rec['pred_a']} → B: {rec['pred_b']}")
            if home is not None and sid in home.row_of:
                r = home.row_of[sid]
                given = home.classes[int(home.samples["label"].iat[r])]
                predicted = home.classes[int(home.samples["pred"].iat[r])]
                query = ui.gallery_query(given, predicted, str(home.samples["split"].iat[r]),
                                         correct=given == predicted)
                query["image"] = sid
                st.page_link(ui.GALLERY_PAGE, label="Open", icon=":material/open_in_new:", query_params=query)
if pages > 1:
    st.pagination(pages, key="cmp.page", max_visible_pages=9)
