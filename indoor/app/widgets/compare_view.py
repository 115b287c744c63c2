"""The sections of a comparison of two runs (:class:`indoor.analysis.compare.Comparison`): what was compared, top-1
accuracy per split, per-class recall change, confusion change and the grid of images whose prediction changed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indoor.analysis import compare, explore
from indoor.analysis.compare import Comparison
from indoor.app import urls
from indoor.app.components.bars import bars, bars_payload
from indoor.app.components.heatmap import heatmap, heatmap_payload
from indoor.app.components.scatter_hover import colour_scale_of
from indoor.app.text import md, percent, split_label
from indoor.app.widgets.run_info import source_line
from indoor.cache import Cache, out_of_sample


def notes(result: Comparison, run_a: Cache, run_b: Cache) -> None:
    """What was compared: the same cache twice, shared ids with other pixels (other data sets), images in only one
    run, different class lists."""
    if run_a.path.resolve() == run_b.path.resolve():
        st.info("Run A and run B are the same cache: every difference is zero. Choose another run B.",
                icon=":material/info:")
    if result.n_other_pixels:
        st.warning(md(
            f"{result.n_other_pixels:,} of the {result.n_common:,} images matched by sample_id (the path relative to "
            f"the data root) have different pixels in the two runs: run A's data root is "
            f"{run_a.meta.get('data_root', '?')}, run B's {run_b.meta.get('data_root', '?')}. These are probably "
            "different data sets, and the differences below compare unrelated images."), icon=":material/warning:")
    lines = [f"{result.n_common:,} images in both runs"]
    if result.only_a or result.only_b:
        lines.append(f"{result.only_a:,} only in A (e.g. removed), {result.only_b:,} only in B")
    if run_a.classes != run_b.classes:
        lines.append(f"the class lists differ ({len(run_a.classes)} vs {len(run_b.classes)} classes; merges?)")
    lines.append(f"A: {source_line(run_a.meta).removeprefix('Source: ')}, B: "
                 f"{source_line(run_b.meta).removeprefix('Source: ')}")
    st.caption(md(" · ".join(lines)))
    if out_of_sample(run_a.meta)["train"] != out_of_sample(run_b.meta)["train"]:
        in_sample = "A" if not out_of_sample(run_a.meta)["train"] else "B"
        st.caption(md(f"Run {in_sample}'s train probabilities are in-sample (its model was fit on those labels), "
                      "the other's are not: compare the test (or val) split."))


def accuracy(result: Comparison, reference_label: str) -> None:
    """One metric per split: B's top-1 and its change from A's, measured on ``reference_label``."""
    st.subheader("Top-1 accuracy")
    frame = result.accuracy
    for box, rec in zip(st.columns(len(frame)), frame.to_dict("records")):
        changed = abs(rec["delta"]) > 1e-12
        box.metric(f"{split_label(rec['split'])}", percent(rec["top1_b"]),
                   delta=f"{100 * rec['delta']:+.1f} pts vs A ({percent(rec['top1_a'])})",
                   delta_color="normal" if changed else "off", delta_arrow="auto" if changed else "off",
                   help=f"{rec['n']:,} images · A {percent(rec['top1_a'], 2)} → B {percent(rec['top1_b'], 2)}, "
                        f"measured on {reference_label}")


def recall_change(result: Comparison, split: str, reference_label: str, *, key: str) -> None:
    """Per-class recall change, B minus A: a diverging bar list (key ``key``), worst first, and its summary."""
    per_class = result.per_class
    st.subheader(f"Per-class recall change · {split_label(split)}")
    if per_class.empty:
        st.info(f"No images in the {split_label(split)} split.")
        return
    deltas, reach = compare.recall_change(per_class)
    chart, text = st.columns([3, 2], gap="large")
    with chart:  # plain HTML rows from a zero line (components/bars), worst first; a long list scrolls
        bars(bars_payload(
            per_class["class"].tolist(), deltas, domain=(-reach, reach), diverging=True,
            colours=["#16a34a" if d > 0 else "#dc2626" if d < 0 else "#94a3b8" for d in deltas],
            value_text=[f"{d:+.1f} pts" for d in deltas],
            hover=[f"{c}\nrecall A {a:.1f}% → B {b:.1f}%\nchange {d:+.1f} pts · {n:,} images"
                   for c, a, b, d, n in zip(per_class["class"], per_class["recall_a"] * 100,
                                            per_class["recall_b"] * 100, deltas, per_class["n"])],
            max_height=560,
        ), key=key)
    text.caption(md(f"Recall measured on {reference_label}, B minus A, sorted, worst first; green: B recognises "
                    "more of the class's images, red: fewer. Hover a bar for both recalls. "
                    + compare.recall_summary(per_class)))


def confusion_change(result: Comparison, split: str, *, key: str) -> None:
    """The row-normalised confusion change, B minus A, as a heat map (key ``key``): green where B is better."""
    st.subheader(f"Confusion change · {split_label(split)}")
    n_classes = len(result.classes)
    if not n_classes:
        return
    better, limit = compare.confusion_improvement(result.confusion_delta)
    heatmap(heatmap_payload(
        better, labels=list(result.classes), ids=list(range(n_classes)), zmin=-limit, zmax=limit,
        stops=colour_scale_of("PiYG"), colour_title="better in B (pts)", colour_format="pts",
        values=[result.confusion_delta * 100], hover=["given {row} → predicted {col}",
                                                      "B − A: {v0:pts} of the row's images"],
        row_title="given (reference) label", col_title="predicted", cell=int(min(max(640 / n_classes, 12), 36)),
    ), key=key)
    st.caption("Row-normalised, B minus A. Green: B is better (more correct on the diagonal, fewer confusions off "
               "it); pink: worse. Hover a cell for the change in points of that row's images.")


def changed_images(cache: Cache, run_a: Cache, run_b: Cache, subset: pd.DataFrame, *, key: str,
                   page_size: int = 24, per_row: int = 6) -> None:
    """A page of ``subset`` (rows of :attr:`Comparison.changed`) as thumbnails with both predictions, each with a
    link to the image in the gallery when the dashboard shows run A or B; pagination under ``<key>.page``."""
    if cache.path.resolve() == run_a.path.resolve():
        home, home_name = run_a, "A"
    elif cache.path.resolve() == run_b.path.resolve():
        home, home_name = run_b, "B"
    else:
        home, home_name = None, ""
        st.caption("To open an image in the gallery, choose run A or B as the dashboard's cache in the sidebar.")
    page, pages, window = explore.page_window(len(subset), st.session_state.get(f"{key}.page"), page_size)
    st.caption(f"{len(subset):,} images · page {page:,} of {pages:,}" + (
        f" · “Open” shows the image in run {home_name}'s gallery" if home is not None else ""))
    records = subset.iloc[window].to_dict("records")
    for start in range(0, len(records), per_row):
        for box, rec in zip(st.columns(per_row), records[start:start + per_row]):
            sid = rec["sample_id"]
            source = run_a if sid in run_a.row_of else run_b
            with box:
                st.image(str(source.thumb_path(source.row_of[sid])), width="stretch",
                         caption=md(f"{rec['label']}\nA: {rec['pred_a']} → B: {rec['pred_b']}"))
                if home is not None and sid in home.row_of:
                    _open_link(home, sid)
    if pages > 1:
        st.pagination(pages, key=f"{key}.page", max_visible_pages=9)


def _open_link(home: Cache, sample_id: str) -> None:
    """A link to ``sample_id`` in the gallery, filtered to its (given, predicted) pair in its split."""
    r = home.row_of[sample_id]
    samples = home.samples
    given = home.classes[int(samples["label"].iat[r])]
    predicted = home.classes[int(samples["pred"].iat[r])]
    query = urls.gallery_query(given, predicted, str(samples["split"].iat[r]), correct=given == predicted)
    query["image"] = sample_id
    st.page_link(urls.GALLERY_PAGE, label="Open", icon=":material/open_in_new:", query_params=query)
