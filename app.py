"""Overview: accuracy per split and per class, the most confused pairs, run metadata, skipped files.

Start the dashboard with ``streamlit run app.py`` (``-- --cache PATH`` or ``INDOOR_CACHE=PATH`` for another cache).

This file has two roles. ``streamlit run app.py`` first imports it as a module (``__name__ == "app"``) and finds
``app``, an ``st.App`` whose start-up hook warms the server in a background thread (imports, the cache, the
confusion matrices; see :func:`loading.warm_up`) while the browser is still loading, so the first page opened after
start-up doesn't pay for them, and routes that answer the pages' URLs with the server's address in their HTML (see
:mod:`indoor.app.page_urls`), so a page opened by its URL connects on the first try. Streamlit then runs this file
as the Overview page (``__name__ == "__main__"``) on every rerun: :func:`main`. Nothing heavy is imported at module
level, so the server starts as fast as before.
"""

from __future__ import annotations

import contextlib
import threading

import streamlit as st


@contextlib.asynccontextmanager
async def _warm_up_on_start(_app):
    def warm_up() -> None:
        from indoor.app import loading

        loading.warm_up()

    threading.Thread(target=warm_up, name="indoor-warm-up", daemon=True).start()
    yield


if __name__ != "__main__":  # imported by `streamlit run app.py` to be served
    from pathlib import Path

    from indoor.app.page_urls import page_routes

    # the pages' URLs answer with the server's address in their HTML: no failed first ping (see page_urls)
    app = st.App(__file__, lifespan=_warm_up_on_start, routes=page_routes(Path(__file__).with_name("pages")))


def main() -> None:
    """The Overview page (Streamlit runs this file as a script on every rerun)."""
    from indoor.analysis.metrics import class_accuracy, most_confused_pairs
    from indoor.app import loading, page, state, urls
    from indoor.app.components.bars import bars, bars_payload, colour_ramp
    from indoor.app.text import md, percent, split_label
    from indoor.app.widgets import label_evidence, run_info

    cache = page.setup_page("Overview")
    classes = cache.classes
    meta = cache.meta
    metrics = meta["metrics"]
    splits = [s for s in ("train", "val", "test") if s in metrics and metrics[s].get("n")]

    st.title("Overview")
    st.caption(f"{md(state.display_path(cache.path))} · {len(cache.samples):,} images · {len(classes)} classes · "
               f"{md(meta['backbone'].get('name', '?'))}"
               + (f" at {md(meta['image_size'])} px" if meta.get("image_size") else "")
               + f" · {md(run_info.source_line(meta))} · {md(run_info.probs_caption(meta))}")
    label_evidence.weak_model_banner(label_evidence.stored_warnings(cache), link=True)  # too weak to judge labels

    # ------------------------------------------------------------------------------------------------ per split
    columns = st.columns(len(splits) or 1)
    for column, split in zip(columns, splits):
        values = metrics[split]
        n_classes = sum(1 for c in values["per_class"].values() if c.get("n"))
        with column, st.container(border=True):
            st.markdown(f"**{md(split_label(split))}**")
            a, b, c, d = st.columns(4)
            a.metric("Images", f"{values['n']:,}")
            b.metric("Classes", n_classes)
            c.metric("Top-1", percent(values["top1"]))
            d.metric("Top-5", percent(values["top5"]))

    # ----------------------------------------------------------------------------------- per class / pairs
    default_split = "test" if "test" in splits else (splits[0] if splits else "all")
    options = [s for s in ("test", "val", "train") if s in splits] + ["all"]
    st.session_state.setdefault("overview.split", default_split)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Accuracy per class")
        split = st.segmented_control("Split", options, key="overview.split", format_func=split_label,
                                     required=True, label_visibility="collapsed")
        matrix = loading.confusion(cache, split)
        per_class = class_accuracy(matrix)  # worst at the top
        names = [classes[i] for i in per_class["index"]]
        shown = per_class["accuracy"].to_numpy()
        # plain HTML rows (components/bars): a plotly chart costs the browser seconds on first render
        payload = bars_payload(
            names, shown, ids=names,
            colours=colour_ramp(shown, [(0.0, "#dc2626"), (0.6, "#f59e0b"), (1.0, "#16a34a")]),
            value_text=[f"{a:.0%}" for a in shown],
            hover=[f"{name}: {rec['accuracy']:.1%} correct\n{rec['errors']} of {rec['support']} wrong"
                   for name, rec in zip(names, per_class.to_dict("records"))],
            clickable=True, hint="click: open its errors",
        )
        name = bars(payload, key="overview.classes")
        if name in classes:
            urls.open_gallery(true=name, split=split)
        st.caption("Click a bar to open that class's misclassified images.")

    with right:
        st.subheader("Most confused pairs")
        pairs = most_confused_pairs(matrix, classes, top=15)
        if pairs.empty:
            st.success("No misclassifications in this split.")
        else:
            st.caption(f"{md(split_label(split))} · given label → prediction · images (share of the given class)")
            for rec in pairs.to_dict("records"):
                urls.class_pair_link(rec["true"], rec["pred"], split,
                                     label=f"{md(rec['true'])} → {md(rec['pred'])} · **{rec['count']:,}** "
                                           f"({rec['share']:.0%})")
        with st.expander(f"Every class's errors ({len(per_class)} classes)"):
            link_columns = st.columns(2)
            by_name = sorted(per_class.to_dict("records"),
                             key=lambda rec: (classes[rec["index"]].lower(), rec["index"]))
            for j, rec in enumerate(by_name):
                with link_columns[j % 2]:
                    name = classes[rec["index"]]
                    urls.class_pair_link(name, None, split, label=f"{md(name)} · {rec['errors']:,} wrong")

    # ------------------------------------------------------------------------------------------ run metadata
    st.divider()
    run_info.run_metadata(cache)
    run_info.skipped_files(cache)


if __name__ == "__main__":
    main()
