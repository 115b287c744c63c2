"""Shortcuts and biases: does the model lean on brightness, colour, sharpness or size instead of the scene?

Works on the image properties the cache build computed in its single decode pass (brightness, contrast,
colourfulness, hue, saturation, sharpness, width, height — see :mod:`indoor.imagestats`), never on the images.

- :func:`property_bins` cuts a property into dataset-relative bins (quantiles; hue on the circle);
- :func:`accuracy_curves` gives per-class accuracy in every bin (curves, not absolute thresholds);
- :func:`shortcut_findings` ranks (property bin, class) cells where images labelled otherwise get a far higher
  probability of a class than their labels explain, e.g. "darkest 10 %: 30x the usual probability of bar".

CleanVision-style image issues (dark, blurry, grayscale ...) live in :mod:`indoor.analysis.image_issues`.

Object scale (how large the defining objects appear) has no cheap proxy among these properties; it is not
analysed here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

PROPERTIES: dict[str, str] = {
    "brightness": "brightness",
    "contrast": "contrast",
    "colourfulness": "colourfulness",
    "hue": "hue (°)",
    "dominant_hue": "dominant hue (°)",
    "saturation": "saturation",
    "sharpness": "sharpness",
    "size": "image size (pixels)",
    "aspect": "aspect ratio (w/h)",
}
CIRCULAR = {"hue", "dominant_hue"}

CURVE_COLUMNS = ["property", "bin", "lo", "hi", "bin_label", "class", "n", "correct", "accuracy"]
FINDING_COLUMNS = [
    "rank", "property", "bin", "lo", "hi", "bin_label", "class", "n_bin", "n_other", "n_pred", "n_label", "pred_share",
    "label_share", "n_false", "mean_prob", "lift", "t", "score", "redundant_with", "also", "summary", "examples",
]


def property_values(samples: pd.DataFrame) -> dict[str, np.ndarray]:
    """The analysed properties as float arrays, from a cache samples frame (needs its property columns).
    ``size`` = width * height; ``aspect`` = width / height."""
    out = {}
    for name in PROPERTIES:
        if name == "size":
            out[name] = samples["width"].to_numpy(float) * samples["height"].to_numpy(float)
        elif name == "aspect":
            height = samples["height"].to_numpy(float)
            out[name] = np.divide(samples["width"].to_numpy(float), height, out=np.ones(len(height)), where=height > 0)
        else:
            out[name] = samples[name].to_numpy(float)
    return out


def property_bins(values: np.ndarray, *, n_bins: int = 10, circular: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    """Dataset-relative bins: (bin index per value, one row per bin with ``bin``, ``lo``, ``hi``, ``n``, ``bin_label``).

    Bin edges are quantiles (``n_bins`` = 10: deciles); tied values share a bin, so a property with few distinct
    values gets fewer bins. ``circular`` (hue, degrees): the circle is cut at the widest empty arc between
    values and the bins wrap around it (``lo`` > ``hi`` for a bin that crosses 0°). Values must be finite.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError("values must be 1-D")
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), pd.DataFrame(columns=["bin", "lo", "hi", "n", "bin_label"])
    if not np.isfinite(values).all():
        raise ValueError("property values must be finite")
    start = 0.0
    work = values
    if circular:
        work = np.mod(values, 360.0)
        ordered = np.sort(work)
        gaps = np.diff(np.concatenate([ordered, [ordered[0] + 360.0]]))
        widest = int(np.argmax(gaps))
        start = ordered[(widest + 1) % len(ordered)]
        work = np.mod(work - start, 360.0)
    edges = np.unique(np.quantile(work, np.linspace(0.0, 1.0, n_bins + 1)))
    index = np.searchsorted(edges[1:-1], work, side="right").astype(np.int64) if len(edges) > 2 else np.zeros(len(work), np.int64)
    n_found = max(1, len(edges) - 1)
    lo = np.array([work[index == b].min() if (index == b).any() else np.nan for b in range(n_found)])
    hi = np.array([work[index == b].max() if (index == b).any() else np.nan for b in range(n_found)])
    counts = np.bincount(index, minlength=n_found)
    if circular:
        lo, hi = np.mod(lo + start, 360.0), np.mod(hi + start, 360.0)
    table = pd.DataFrame({"bin": np.arange(n_found, dtype=np.int64), "lo": lo, "hi": hi, "n": counts.astype(np.int64)})
    table["bin_label"] = [_bin_label(b, n_found, l, h, len(values), c, circular) for b, l, h, c in zip(table["bin"], lo, hi, counts)]
    return index, table


def accuracy_curves(
    samples: pd.DataFrame, classes: Sequence[str], *, n_bins: int = 10, rows: np.ndarray | None = None
) -> pd.DataFrame:
    """Per property, bin and class (by given label, plus ``class`` = "(all)"): n images, correct top-1
    predictions and accuracy — long format, columns :data:`CURVE_COLUMNS`. ``samples`` is a cache samples frame
    (``label``, ``pred`` and the property columns); ``rows`` restricts to a subset (bins stay dataset-relative
    to the subset)."""
    frame = samples if rows is None else samples.iloc[np.asarray(rows)]
    labels = frame["label"].to_numpy(np.int64)
    correct = (frame["pred"].to_numpy(np.int64) == labels).astype(np.int64)
    n_classes = len(classes)
    parts = []
    for name, values in property_values(frame).items():
        index, bins = property_bins(values, n_bins=n_bins, circular=name in CIRCULAR)
        n_found = len(bins)
        cell = index * n_classes + labels
        n = np.bincount(cell, minlength=n_found * n_classes).reshape(n_found, n_classes)
        ok = np.bincount(cell, weights=correct, minlength=n_found * n_classes).reshape(n_found, n_classes)
        n = np.concatenate([n, n.sum(axis=1, keepdims=True)], axis=1)
        ok = np.concatenate([ok, ok.sum(axis=1, keepdims=True)], axis=1)
        names = list(classes) + ["(all)"]
        b_idx, c_idx = np.nonzero(n > 0)
        parts.append(
            pd.DataFrame(
                {
                    "property": name,
                    "bin": b_idx.astype(np.int64),
                    "lo": bins["lo"].to_numpy()[b_idx],
                    "hi": bins["hi"].to_numpy()[b_idx],
                    "bin_label": bins["bin_label"].to_numpy()[b_idx],
                    "class": [names[c] for c in c_idx],
                    "n": n[b_idx, c_idx].astype(np.int64),
                    "correct": ok[b_idx, c_idx].astype(np.int64),
                    "accuracy": ok[b_idx, c_idx] / n[b_idx, c_idx],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]


def shortcut_findings(
    samples: pd.DataFrame,
    probs: np.ndarray,
    classes: Sequence[str],
    *,
    n_bins: int = 10,
    min_images: int = 5,
    min_t: float = 4.0,
    min_lift: float = 2.0,
    n_examples: int = 8,
    redundancy: float = 0.5,
) -> pd.DataFrame:
    """(property bin, class) cells where images labelled otherwise get a much higher probability of the class than
    their labels explain — the signature of a shortcut (dark -> bar, teal -> hospital room), visible in the
    probabilities long before it flips predictions.

    ``samples`` is a cache samples frame (``sample_id``, ``label``, ``pred`` and the property columns), ``probs``
    its (N, C) OUT-OF-SAMPLE probabilities. For bin b and class c, each image i in b labelled l != c contributes
    d_i = log p_i[c] - (mean log p_j[c] over images j labelled l OUTSIDE b): comparing within each given label
    keeps a bin full of one class from inheriting that class's usual confusions. ``lift`` = exp(mean d): how many
    times the usual probability of c; ``t`` = sum d / sqrt(sum of the outside variances); ``score`` = the
    lower 2-standard-error bound of mean d (about the low end of its 95 % interval: large and well supported;
    the t threshold below already guards against chance). Kept when ``n_other`` >= ``min_images``,
    t >= ``min_t`` (about a Bonferroni 5 % over thousands of cells) and lift >= ``min_lift``; ranked by score.
    Also reported: ``n_false`` (images of b labelled otherwise and predicted c), ``pred_share`` /
    ``label_share`` (share of b predicted / labelled c).

    Properties correlate (dark images are also low-contrast and blurry): a finding whose evidence (the quarter
    of its images labelled otherwise most pushed towards the class) mostly (share > ``redundancy``) repeats a better-ranked
    finding of the same class is kept with ``redundant_with`` = that
    finding's rank and ``rank`` 0; the better one lists it in ``also``. ``examples``: up to ``n_examples``
    sample_ids of images labelled otherwise with the highest probability of c.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = samples["label"].to_numpy(np.int64)
    pred = samples["pred"].to_numpy(np.int64)
    n_classes = len(classes)
    if probs.shape != (len(samples), n_classes):
        raise ValueError(f"probs has shape {probs.shape}, expected ({len(samples)}, {n_classes})")
    sample_ids = samples["sample_id"].to_numpy()
    log_p = np.log(np.clip(probs, 1e-6, 1.0))
    off = ~np.eye(n_classes, dtype=bool)[None]
    rows = []
    for name, values in property_values(samples).items():
        index, bins = property_bins(values, n_bins=n_bins, circular=name in CIRCULAR)
        n_found = len(bins)
        if n_found < 2:
            continue
        # per bin b and label l: image count, sum and sum of squares of log p[c]
        count = np.zeros((n_found, n_classes))
        total = np.zeros((n_found, n_classes, n_classes))
        squares = np.zeros((n_found, n_classes, n_classes))
        np.add.at(count, (index, labels), 1.0)
        np.add.at(total, (index, labels), log_p)
        np.add.at(squares, (index, labels), log_p**2)
        out_count = count.sum(axis=0)[None] - count
        out_mean = (total.sum(axis=0)[None] - total) / np.maximum(out_count, 1.0)[:, :, None]
        out_var = (squares.sum(axis=0)[None] - squares) / np.maximum(out_count, 1.0)[:, :, None] - out_mean**2
        out_var = np.maximum(out_var, 1e-3)
        usable = off & (out_count >= 2)[:, :, None]  # labels l != c seen outside the bin
        n_other = (count[:, :, None] * usable).sum(axis=1)  # [b, c]
        excess = ((total - count[:, :, None] * out_mean) * usable).sum(axis=1)
        variance = (count[:, :, None] * out_var * usable).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n_other > 0, excess / np.maximum(n_other, 1), 0.0)
            t = np.where(variance > 0, excess / np.sqrt(variance), 0.0)
            score = mean - 2.0 * np.sqrt(variance) / np.maximum(n_other, 1)
        counts = np.bincount((index * n_classes + labels) * n_classes + pred,
                             minlength=n_found * n_classes * n_classes).reshape(n_found, n_classes, n_classes)
        n_bin = count.sum(axis=1)
        n_pred = counts.sum(axis=1)
        n_false = (counts * off).sum(axis=1)
        keep = (n_other >= min_images) & (t >= min_t) & (mean >= np.log(min_lift))
        for b, c in zip(*np.nonzero(keep)):
            members = np.flatnonzero((index == b) & (labels != c))
            members = members[np.argsort(-probs[members, c], kind="stable")]
            rows.append({
                "property": name,
                "bin": int(b),
                "lo": float(bins["lo"].iat[b]),
                "hi": float(bins["hi"].iat[b]),
                "bin_label": bins["bin_label"].iat[b],
                "class": classes[c],
                "n_bin": int(n_bin[b]),
                "n_other": int(n_other[b, c]),
                "n_pred": int(n_pred[b, c]),
                "n_label": int(count[b, c]),
                "pred_share": n_pred[b, c] / n_bin[b],
                "label_share": count[b, c] / n_bin[b],
                "n_false": int(n_false[b, c]),
                "mean_prob": float(probs[members, c].mean()),
                "lift": float(np.exp(mean[b, c])),
                "t": float(t[b, c]),
                "score": float(score[b, c]),
                "_members": members,
            })
    if not rows:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(["score", "t"], ascending=[False, False], kind="stable").reset_index(drop=True)
    ranks, redundant_with, also = _dedupe(frame, redundancy)
    frame["rank"] = ranks
    frame["redundant_with"] = redundant_with
    frame["also"] = also
    frame["examples"] = [list(sample_ids[m[:n_examples]]) for m in frame["_members"]]
    frame["summary"] = [
        f"{PROPERTIES[prop]} {label}: images labelled otherwise get {lift:.0f}x the usual probability of {cls} "
        f"({ps:.0%} predicted {cls}, {ls:.0%} labelled {cls})"
        for prop, label, lift, ps, ls, cls in zip(frame["property"], frame["bin_label"], frame["lift"],
                                                  frame["pred_share"], frame["label_share"], frame["class"])
    ]
    frame = frame.drop(columns="_members")
    frame = frame.assign(_primary=frame["rank"] == 0).sort_values(["_primary", "score"], ascending=[True, False], kind="stable")
    return frame[FINDING_COLUMNS].reset_index(drop=True).astype({"rank": np.int64, "redundant_with": np.int64})


# ---------------------------------------------------------------------------------------------------- helpers


def _bin_label(b: int, n_bins: int, lo: float, hi: float, n_total: int, n: int, circular: bool) -> str:
    share = f"{n / n_total:.0%}" if n_total else "0%"
    if circular:
        return f"{lo:.0f}–{hi:.0f}° ({share})"
    if n_bins >= 2 and b == 0:
        where = "lowest"
    elif n_bins >= 2 and b == n_bins - 1:
        where = "highest"
    else:
        where = f"bin {b + 1}/{n_bins}"
    return f"{where} {share} ({_fmt(lo)}–{_fmt(hi)})"


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "?"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.0f}"
    return f"{x:.2g}" if abs(x) < 0.1 else f"{x:.2f}"


def _dedupe(frame: pd.DataFrame, redundancy: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Greedy, best first: a finding whose evidence (the quarter of its images labelled otherwise with the highest
    probability of the class, at least 5) mostly overlaps (share of the smaller set) a kept finding of the same
    class is redundant with it. Returns (rank, 0 when redundant), (rank it repeats, else 0), (per row: what repeats it)."""
    ranks = np.zeros(len(frame), dtype=np.int64)
    redundant_with = np.zeros(len(frame), dtype=np.int64)
    also: list[list[str]] = [[] for _ in range(len(frame))]
    kept: list[tuple[int, str, set]] = []  # (position, class, members)
    names = frame["class"].tolist()
    members_all = [m[: max(5, len(m) // 4)] for m in frame["_members"]]
    where = [f"{PROPERTIES[p]} {label}" for p, label in zip(frame["property"], frame["bin_label"])]
    for i in range(len(frame)):
        members = set(members_all[i].tolist())
        for j, cls, other in kept:
            if cls == names[i] and len(members & other) > redundancy * min(len(members), len(other)):
                redundant_with[i] = ranks[j]
                also[j].append(where[i])
                break
        else:
            ranks[i] = len(kept) + 1
            kept.append((i, names[i], members))
    return ranks, redundant_with, ["; ".join(a) for a in also]


def curve_of(curves: pd.DataFrame, prop: str, name: str, *, min_images: int = 3) -> pd.DataFrame:
    """One class's (or ``"(all)"``'s) accuracy curve over every bin of ``prop`` (from :func:`accuracy_curves`),
    indexed and ordered by bin: n and correct (0 in a bin without its images), bin_label, and accuracy (NaN where
    the class has fewer than ``min_images`` images in the bin: a gap, not a misleading 0 % or 100 %)."""
    data = curves[curves["property"] == prop]
    bins = curve_bins(curves, prop)
    line = data[data["class"] == name].set_index("bin").reindex(bins["bin"])
    line["bin"] = line.index
    line["bin_label"] = bins.set_index("bin")["bin_label"]
    line[["n", "correct"]] = line[["n", "correct"]].fillna(0)
    if name != "(all)":
        line.loc[line["n"] < min_images, "accuracy"] = np.nan
    return line


def curve_bins(curves: pd.DataFrame, prop: str) -> pd.DataFrame:
    """The bins of ``prop`` in :func:`accuracy_curves`, one row each, in bin order (``bin``, ``lo``, ``hi``,
    ``bin_label``)."""
    return curves[curves["property"] == prop].drop_duplicates("bin").sort_values("bin")


def finding_classes(findings: pd.DataFrame, prop: str, *, top: int = 4) -> list[str]:
    """Up to ``top`` classes of the ranked (not repeated) findings on ``prop``, best first."""
    ranked = findings.loc[(findings["property"] == prop) & (findings["rank"] > 0), "class"]
    return [str(c) for c in ranked.unique()][:top]
