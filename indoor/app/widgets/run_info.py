"""What a cache was built from: where it came from (own build, your checkpoint, imported predictions), the run
metadata table and the files the build skipped (the Overview's caption and expanders, the sidebar's summary)."""

from __future__ import annotations

import json
from pathlib import PurePath

import pandas as pd
import streamlit as st

from indoor.cache import SOURCE_KINDS, Cache, cache_source, out_of_sample, probs_sources


def plain(value: object) -> str:
    """A metadata value as short text: dicts as "key: value" pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def source_line(meta: dict) -> str:
    """Where the cache came from, in a few words: "own build", "your checkpoint model.pt (its classifier)",
    "imported predictions preds.csv"."""
    source = cache_source(meta)
    kind = source["kind"]
    text = SOURCE_KINDS.get(kind, kind)
    if kind == "checkpoint":
        text += f" {PurePath(str(source.get('weights', ''))).name}" + (
            " (its own classifier)" if source.get("head") == "checkpoint" else " (linear probe)")
    elif kind == "import":
        text += f" {PurePath(str(source.get('predictions', ''))).name}"
    return f"Source: {text}"


def probs_caption(meta: dict) -> str:
    """One sentence on the probabilities: all out-of-sample, or which splits are in-sample and what that means."""
    sound = out_of_sample(meta)
    present = [s for s in ("train", "val", "test") if (meta.get("metrics", {}).get(s) or {}).get("n")]
    in_sample = [s for s in present if not sound[s]]
    if not in_sample:
        folds = meta.get("folds") if isinstance(meta.get("folds"), int) else 0
        return "all probabilities are out-of-sample" + (" (train: out-of-fold)" if folds else "")
    rest = [s for s in present if sound[s]]
    return (f"{' and '.join(in_sample)} probabilities are in-sample: label issues, merges and shortcuts use "
            + (" and ".join(rest) if rest else "them anyway, with a warning") + (" only" if rest else ""))


def augment_text(augment: dict) -> str:
    """meta.json's ``augment`` in words, e.g. "brightness; 2 views per training image; mode: erase (16
    directions projected out), chosen by auto: out-of-fold top-1 erase 87.0 %, views 85.5 %"."""
    kinds = ", ".join(str(kind) for kind in augment.get("kinds") or []) or "?"
    views = int(augment.get("views", 0) or 0)
    parts = [kinds, f"{views} view{'' if views == 1 else 's'} per training image"]
    mode = augment.get("mode")
    if mode:
        how = f"mode: {mode}"
        if mode != "views" and augment.get("erase_directions"):
            how += f" ({augment['erase_directions']} directions projected out)"
        scores = augment.get("out_of_fold_top1") or {}
        if augment.get("requested_mode") == "auto" and scores:
            how += ", chosen by auto: out-of-fold top-1 " + ", ".join(
                f"{name} {float(value):.1%}".replace("%", " %") for name, value in scores.items())
        parts.append(how)
    if augment.get("finetune"):
        parts.append("also applied to fine-tuning")
    return "; ".join(parts)


def metadata_rows(cache: Cache) -> list[tuple[str, str]]:
    """(name, value) rows describing the run: cache, data, backbone, head, folds, seed, timings, versions."""
    meta = cache.meta
    backbone = meta.get("backbone", {})
    source = cache_source(meta)
    rows = [
        ("Cache", str(cache.path)),
        ("Source", source_line(meta).removeprefix("Source: ")),
        ("Created", meta.get("created_at", "")),
        ("Data", f"{meta.get('data_root', '')} ({meta.get('layout', '')} layout)"),
        ("Backbone", f"{backbone.get('name', '?')} · {backbone.get('weights', '')}"),
        ("Embedding size", str(backbone.get("embedding_dim", cache.embeddings.shape[1]))),
        ("Image size", f"{meta.get('image_size')} px" if meta.get("image_size") else "–"),
        ("Head", plain(meta.get("head", {}))),
        *[(f"Probabilities: {split}", text) for split, text in probs_sources(meta).items()
          if (meta.get("metrics", {}).get(split) or {}).get("n")],
        ("Out-of-sample", plain({split: "yes" if ok else "no (in-sample)" for split, ok in out_of_sample(meta).items()})),
        ("Cross-validation", f"{meta.get('folds')} folds (train probabilities are out-of-fold)" if meta.get("folds")
         else "none"),
        ("Seed", str(meta.get("seed"))),
        ("Device", str(meta.get("device", ""))),
    ]
    for key, value in source.items():
        if key not in ("kind", "backbone"):
            rows.append((f"Source: {key}", plain(value)))
    if meta.get("finetune"):
        rows.append(("Fine-tuning", plain(meta["finetune"])[:300]))
    if meta.get("augment"):  # the remedy: --augment's kinds, views and how they were used
        rows.append(("Augmentation", augment_text(meta["augment"])))
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
