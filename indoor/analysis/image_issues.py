"""CleanVision-style image issues (dark, light, blurry, low information, odd size or aspect, grayscale), judged on
the image properties the cache build computed in its single decode pass, never on the images.

A property is an issue only when the image is an outlier for its data set AND for its own class: a sea photo is
smooth because the sea is smooth, a bar is dark because bars are dark, and a grayscale image is unremarkable in
a grayscale data set. Absolute thresholds (the first version of this module) flagged every image of a grayscale
data set as "grayscale" and most sea and sky photos as "blurry".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indoor.analysis.shortcuts import property_values

ISSUE_COLUMNS = ["row", "issue", "value", "threshold", "score", "z_data", "z_class", "data_median", "class_median",
                 "reason"]
ISSUE_NAMES: dict[str, str] = {
    "dark": "Dark", "light": "Light", "blurry": "Blurry", "low_information": "Low information", "odd_size": "Odd size",
    "odd_aspect": "Odd aspect ratio", "grayscale": "Grayscale",
}
# issue -> (property, side: -1 low / +1 high / 0 either, judged on a log scale)
CHECKS: dict[str, tuple[str, int, bool]] = {
    "dark": ("brightness", -1, False),
    "light": ("brightness", +1, False),
    "blurry": ("sharpness", -1, True),
    "low_information": ("contrast", -1, False),
    "odd_size": ("size", 0, True),
    "odd_aspect": ("aspect", 0, True),
}


def image_issues(
    samples: pd.DataFrame,
    *,
    z: float = 3.5,
    z_data: float = 2.0,
    min_class_images: int = 8,
    grayscale_saturation: float = 0.02,
    colour_majority: float = 0.5,
) -> pd.DataFrame:
    """Images whose brightness, sharpness, contrast, size, aspect or colour stand out from their data set AND
    their class (by given label).

    ``samples`` is a cache samples frame: ``label`` and the property columns (brightness, contrast, saturation,
    sharpness, width, height ...). For each check (:data:`CHECKS`) two robust z-scores (median, 1.4826 MAD; on a
    log scale for sharpness, size and aspect) are computed: against every image (``z_data``) and against the
    images of the same label (``z_class``; a label with fewer than ``min_class_images`` images is judged against
    the data set only). The image is flagged when ``z_class`` lies beyond ``z`` (far outside its own class) and
    ``z_data`` beyond ``z_data`` (outside the data set's usual range: a data set whose bars are mostly dark makes
    darkness common, yet a dark kitchen stands out) on the issue's side; ``threshold`` is the value it had to pass
    (the stricter of the two limits), ``score`` the weaker of the two |z| / their threshold (worst first).

    ``grayscale`` (mean saturation below ``grayscale_saturation``) is flagged only while more than
    ``colour_majority`` of the data set AND of the image's class are in colour: a grayscale data set (or class)
    has no grayscale issue. Its ``score`` is the colour share of the class; ``z_*`` are NaN.

    Columns :data:`ISSUE_COLUMNS` (``reason`` is plain text); issues in :data:`ISSUE_NAMES` order.
    """
    if z <= 0 or z_data <= 0:
        raise ValueError("z and z_data must be positive")
    props = property_values(samples)
    labels = samples["label"].to_numpy(np.int64)
    n = len(labels)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] if n else []
    parts = []
    for issue, (prop, side, log) in CHECKS.items():
        values = props[prop]
        x = np.log(np.maximum(values, 1e-12)) if log else values
        data_med, data_scale = _centre_scale(x)
        zd_all = (x - data_med) / data_scale
        class_med = np.full(n, data_med)
        class_scale = np.full(n, data_scale)
        for rows in groups:
            if len(rows) >= min_class_images:
                class_med[rows], class_scale[rows] = _centre_scale(x[rows])
        z_class = (x - class_med) / class_scale
        if side < 0:
            hit = (zd_all < -z_data) & (z_class < -z)
        elif side > 0:
            hit = (zd_all > z_data) & (z_class > z)
        else:
            hit = ((zd_all < -z_data) & (z_class < -z)) | ((zd_all > z_data) & (z_class > z))
        if not hit.any():
            continue
        low = zd_all[hit] < 0
        limit = np.where(low, np.minimum(data_med - z_data * data_scale, class_med[hit] - z * class_scale[hit]),
                         np.maximum(data_med + z_data * data_scale, class_med[hit] + z * class_scale[hit]))
        back = np.exp if log else (lambda v: v)
        zd, zc, cm = zd_all[hit], z_class[hit], back(class_med[hit])
        name = prop.replace("_", " ")
        parts.append(pd.DataFrame({
            "row": np.flatnonzero(hit).astype(np.int64), "issue": issue, "value": values[hit],
            "threshold": back(limit), "score": np.minimum(np.abs(zd) / z_data, np.abs(zc) / z),
            "z_data": zd, "z_class": zc, "data_median": float(back(data_med)), "class_median": cm,
            "reason": [f"{name} {_fmt(v)}: {'below' if lo else 'above'} {_fmt(t)}; its class's median is {_fmt(c)}, "
                       f"the data set's {_fmt(float(back(data_med)))} (robust z {a:+.1f} in its class, {b:+.1f} "
                       "in the data set)"
                       for v, lo, t, c, a, b in zip(values[hit], low, back(limit), cm, zc, zd)],
        }))
    parts.append(_grayscale(props["saturation"], labels, groups, grayscale_saturation, colour_majority))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else str if c in ("issue", "reason") else float)
                             for c in ISSUE_COLUMNS})
    frame["_o"] = frame["issue"].map({k: i for i, k in enumerate(ISSUE_NAMES)})
    frame = frame.sort_values(["_o", "score", "row"], ascending=[True, False, True], kind="stable")
    return frame.drop(columns="_o")[ISSUE_COLUMNS].reset_index(drop=True)


def _grayscale(saturation: np.ndarray, labels: np.ndarray, groups: list[np.ndarray], limit: float,
               majority: float) -> pd.DataFrame:
    gray = saturation < limit
    colour_share = 1.0 - float(gray.mean()) if len(gray) else 1.0
    class_share = np.full(len(gray), colour_share)
    for rows in groups:
        class_share[rows] = 1.0 - float(gray[rows].mean())
    hit = gray & (colour_share > majority) & (class_share > majority)
    return pd.DataFrame({
        "row": np.flatnonzero(hit).astype(np.int64), "issue": "grayscale", "value": saturation[hit],
        "threshold": float(limit), "score": class_share[hit], "z_data": np.nan, "z_class": np.nan,
        "data_median": float(np.median(saturation)) if len(saturation) else np.nan,
        "class_median": [float(np.median(saturation[labels == labels[r]])) for r in np.flatnonzero(hit)],
        "reason": [f"saturation {_fmt(s)} (grayscale) while {share:.0%} of its class and {colour_share:.0%} of the "
                   "data set are in colour" for s, share in zip(saturation[hit], class_share[hit])],
    })


def _centre_scale(x: np.ndarray) -> tuple[float, float]:
    """Median and robust scale (1.4826 MAD; the standard deviation when the MAD is 0; 1e-9 for constant data)."""
    if not len(x):
        return 0.0, 1.0
    med = float(np.median(x))
    mad = 1.4826 * float(np.median(np.abs(x - med)))
    std = float(np.std(x))
    return med, mad if mad > 0 else (std if std > 0 else 1e-9)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "?"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"
