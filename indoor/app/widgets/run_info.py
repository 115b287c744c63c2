"""What a cache was built from: the run metadata table and the files the build skipped (the Overview's expanders)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from indoor.cache import Cache


def plain(value: object) -> str:
    """A metadata value as short text: dicts as "key: value" pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def metadata_rows(cache: Cache) -> list[tuple[str, str]]:
    """(name, value) rows describing the run: cache, data, backbone, head, folds, seed, timings, versions."""
    meta = cache.meta
    backbone = meta.get("backbone", {})
    rows = [
        ("Cache", str(cache.path)),
        ("Created", meta.get("created_at", "")),
        ("Data", f"{meta.get('data_root', '')} ({meta.get('layout', '')} layout)"),
        ("Backbone", f"{backbone.get('name', '?')} · {backbone.get('weights', '')}"),
        ("Embedding size", str(backbone.get("embedding_dim", cache.embeddings.shape[1]))),
        ("Image size", f"{meta.get('image_size')} px"),
        ("Head", plain(meta.get("head", {}))),
        ("Cross-validation", f"{meta.get('folds')} folds (train probabilities are out-of-fold)"),
        ("Seed", str(meta.get("seed"))),
        ("Device", str(meta.get("device", ""))),
    ]
    if meta.get("finetune"):
        rows.append(("Fine-tuning", plain(meta["finetune"])[:300]))
    for stage, seconds in (meta.get("timings") or {}).items():
        rows.append((f"Time: {stage}", f"{seconds:,.1f} s" if isinstance(seconds, (int, float)) else str(seconds)))
    for package, version in (meta.get("versions") or {}).items():
        rows.append((f"Version: {package}", str(version)))
    return rows


def run_metadata(cache: Cache) -> None:
    """The "Run metadata" expander: one table of :func:`metadata_rows`."""
    with st.expander("Run metadata", icon=":material/info:"):
        st.dataframe(pd.DataFrame(metadata_rows(cache), columns=["", "value"]), hide_index=True, width="stretch",
                     height="content", column_config={"": st.column_config.TextColumn(width="medium"),
                                                      "value": st.column_config.TextColumn(width="large")})


def skipped_files(cache: Cache) -> None:
    """The "Skipped files" expander: the images the build could not read, and why."""
    skipped = cache.meta.get("skipped") or []
    with st.expander(f"Skipped files ({len(skipped)})", icon=":material/block:"):
        if skipped:
            st.dataframe(pd.DataFrame(skipped, columns=["sample_id", "reason", "path"]), hide_index=True,
                         width="stretch")
        else:
            st.caption("Every image was read.")
