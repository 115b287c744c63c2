"""Overview: accuracy per split and per class, the most confused pairs, run metadata, skipped files.

Start the dashboard with ``streamlit run app.py`` (``-- --cache PATH`` or ``INDOOR_CACHE=PATH`` for another cache).

This file has two roles. ``streamlit run app.py`` first imports it as a module (``__name__ == "app"``) and finds
``app``, an ``st.App`` whose start-up hook warms the server in a background thread (imports, the cache, the
confusion matrices; see :func:`ui.warm_up`) while the browser is still loading, so the first page opened after
start-up doesn't pay for them. Streamlit then runs this file as the Overview page (``__name__ == "__main__"``)
on every rerun: :func:`main`. Nothing heavy is imported at module level, so the server starts as fast as before.
"""

from __future__ import annotations

import contextlib
import json
import threading

import streamlit as st


@contextlib.asynccontextmanager
async def _warm_up_on_start(_app):
    def warm_up() -> None:
        import ui  # pandas, numpy, the indoor package: imported here, off the start-up path

        ui.warm_up()

    threading.Thread(target=warm_up, name="indoor-warm-up", daemon=True).start()
    yield


if __name__ != "__main__":  # imported by `streamlit run app.py` to be served
    app = st.App(__file__, lifespan=_warm_up_on_start)


def _plain(value: object) -> str:
    """A metadata value as short text: dicts as "key: value" pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def main() -> None:
    """The Overview page (Streamlit runs this file as a script on every rerun)."""
    import numpy as np
    import pandas as pd

    import ui
    from components.bars import bars, bars_payload, colour_ramp
    from indoor.metrics import most_confused_pairs

    cache = ui.setup_page("Overview", ":material/dashboard:")
    classes = cache.classes
    meta = cache.meta
    metrics = meta["metrics"]
    splits = [s for s in ("train", "val", "test") if s in metrics and metrics[s].get("n")]

    st.title("Overview")
    st.caption(f"{ui.md(ui.display_path(cache.path))} · {len(cache.samples):,} images · {len(classes)} classes · "
               f"{ui.md(meta['backbone'].get('name', '?'))} at {meta['image_size']} px · all probabilities are "
               "out-of-sample (train: out-of-fold)")

    # ------------------------------------------------------------------------------------------------ per split
    columns = st.columns(len(splits) or 1)
    for column, split in zip(columns, splits):
        values = metrics[split]
        n_classes = sum(1 for c in values["per_class"].values() if c.get("n"))
        with column, st.container(border=True):
            st.markdown(f"**{ui.md(ui.split_label(split))}**")
            a, b, c, d = st.columns(4)
            a.metric("Images", f"{values['n']:,}")
            b.metric("Classes", n_classes)
            c.metric("Top-1", ui.percent(values["top1"]))
            d.metric("Top-5", ui.percent(values["top5"]))

    # ----------------------------------------------------------------------------------- per class / pairs
    default_split = "test" if "test" in splits else (splits[0] if splits else "all")
    options = [s for s in ("test", "val", "train") if s in splits] + ["all"]
    st.session_state.setdefault("overview.split", default_split)
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Accuracy per class")
        split = st.segmented_control("Split", options, key="overview.split", format_func=ui.split_label,
                                     required=True, label_visibility="collapsed")
        matrix = ui.confusion(cache, split)
        support = matrix.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            accuracy = np.where(support > 0, np.diag(matrix) / np.where(support > 0, support, 1), np.nan)
        present = np.flatnonzero(support > 0)
        order = present[np.argsort(accuracy[present], kind="stable")]  # worst at the top
        errors = support - np.diag(matrix)
        shown = accuracy[order]
        # plain HTML rows (components/bars): a plotly chart costs the browser seconds on first render
        payload = bars_payload(
            [classes[i] for i in order], shown, ids=[classes[i] for i in order],
            colours=colour_ramp(shown, [(0.0, "#dc2626"), (0.6, "#f59e0b"), (1.0, "#16a34a")]),
            value_text=[f"{a:.0%}" for a in shown],
            hover=[f"{classes[i]}: {a:.1%} correct\n{errors[i]} of {support[i]} wrong" for i, a in zip(order, shown)],
            clickable=True, hint="click: open its errors",
        )
        name = bars(payload, key="overview.classes")
        if name in classes:
            ui.open_gallery(true=name, split=split)
        st.caption("Click a bar to open that class's misclassified images.")

    with right:
        st.subheader("Most confused pairs")
        pairs = most_confused_pairs(matrix, classes, top=15)
        if pairs.empty:
            st.success("No misclassifications in this split.")
        else:
            st.caption(f"{ui.md(ui.split_label(split))} · given label → prediction · images (share of the given class)")
            for rec in pairs.to_dict("records"):
                ui.class_pair_link(rec["true"], rec["pred"], split,
                                   label=f"{ui.md(rec['true'])} → {ui.md(rec['pred'])} · **{rec['count']}** "
                                         f"({rec['share']:.0%})")
        with st.expander(f"Every class's errors ({len(present)} classes)"):
            link_columns = st.columns(2)
            by_name = sorted(present, key=lambda i: classes[i].lower())
            for j, i in enumerate(by_name):
                with link_columns[j % 2]:
                    ui.class_pair_link(classes[i], None, split, label=f"{ui.md(classes[i])} · {errors[i]} wrong")

    # ------------------------------------------------------------------------------------------ run metadata
    st.divider()
    with st.expander("Run metadata", icon=":material/info:"):
        backbone = meta.get("backbone", {})
        rows = [
            ("Cache", str(cache.path)),
            ("Created", meta.get("created_at", "")),
            ("Data", f"{meta.get('data_root', '')} ({meta.get('layout', '')} layout)"),
            ("Backbone", f"{backbone.get('name', '?')} · {backbone.get('weights', '')}"),
            ("Embedding size", str(backbone.get("embedding_dim", cache.embeddings.shape[1]))),
            ("Image size", f"{meta.get('image_size')} px"),
            ("Head", _plain(meta.get("head", {}))),
            ("Cross-validation", f"{meta.get('folds')} folds (train probabilities are out-of-fold)"),
            ("Seed", str(meta.get("seed"))),
            ("Device", str(meta.get("device", ""))),
        ]
        if meta.get("finetune"):
            rows.append(("Fine-tuning", _plain(meta["finetune"])[:300]))
        for stage, seconds in (meta.get("timings") or {}).items():
            rows.append((f"Time: {stage}", f"{seconds:,.1f} s" if isinstance(seconds, (int, float)) else str(seconds)))
        for package, version in (meta.get("versions") or {}).items():
            rows.append((f"Version: {package}", str(version)))
        st.dataframe(pd.DataFrame(rows, columns=["", "value"]), hide_index=True, width="stretch", height="content",
                     column_config={"": st.column_config.TextColumn(width="medium"),
                                    "value": st.column_config.TextColumn(width="large")})
    skipped = meta.get("skipped") or []
    with st.expander(f"Skipped files ({len(skipped)})", icon=":material/block:"):
        if skipped:
            st.dataframe(pd.DataFrame(skipped, columns=["sample_id", "reason", "path"]), hide_index=True, width="stretch")
        else:
            st.caption("Every image was read.")


if __name__ == "__main__":
    main()
