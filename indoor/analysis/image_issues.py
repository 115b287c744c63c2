"""CleanVision-style image issues (dark, light, blurry, low information, odd size or aspect, grayscale) judged on
the image properties the cache build computed in its single decode pass, never on the images."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indoor.analysis.shortcuts import property_values

ISSUE_COLUMNS = ["row", "issue", "value", "threshold", "score"]
ISSUE_NAMES: dict[str, str] = {
    "dark": "Dark", "light": "Light", "blurry": "Blurry", "low_information": "Low information", "odd_size": "Odd size",
    "odd_aspect": "Odd aspect ratio", "grayscale": "Grayscale",
}


def image_issues(samples: pd.DataFrame, *, z: float = 3.5, grayscale_saturation: float = 0.02) -> pd.DataFrame:
    """CleanVision-style image issues from the cache's property columns, thresholds relative to the data set.

    The ``cleanvision`` package would decode every image again; the cache build already computed these
    statistics in its single decode pass, so they are judged here. For each issue a robust z-score (median /
    1.4826 MAD over the data set, on a log scale where the property is multiplicative) flags values beyond
    ``z``: ``dark`` (low brightness), ``light`` (high brightness), ``blurry`` (low log sharpness),
    ``low_information`` (low contrast, standing in for CleanVision's entropy), ``odd_size`` (log pixel count,
    either side), ``odd_aspect`` (log width/height, either side). ``grayscale`` is absolute: mean saturation
    below ``grayscale_saturation``. Columns :data:`ISSUE_COLUMNS`; ``score`` = |z| (grayscale: 1 - saturation),
    worst first within each issue.
    """
    props = property_values(samples)
    checks = {
        "dark": (props["brightness"], -1, False),
        "light": (props["brightness"], +1, False),
        "blurry": (props["sharpness"], -1, True),
        "low_information": (props["contrast"], -1, False),
        "odd_size": (props["size"], 0, True),
        "odd_aspect": (props["aspect"], 0, True),
    }
    parts = []
    for issue, (values, side, log) in checks.items():
        x = np.log(np.maximum(values, 1e-12)) if log else values
        scores, limit_lo, limit_hi = _robust_z(x)
        if side < 0:
            hit = scores < -z
        elif side > 0:
            hit = scores > z
        else:
            hit = np.abs(scores) > z
        if not hit.any():
            continue
        lo, hi = limit_lo(z), limit_hi(z)
        threshold = np.where(scores[hit] < 0, lo, hi)
        if log:
            threshold = np.exp(threshold)
        parts.append(pd.DataFrame({
            "row": np.flatnonzero(hit).astype(np.int64), "issue": issue, "value": values[hit],
            "threshold": threshold, "score": np.abs(scores[hit]),
        }))
    gray = props["saturation"] < grayscale_saturation
    if gray.any():
        parts.append(pd.DataFrame({
            "row": np.flatnonzero(gray).astype(np.int64), "issue": "grayscale", "value": props["saturation"][gray],
            "threshold": grayscale_saturation, "score": 1.0 - props["saturation"][gray],
        }))
    if not parts:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "issue": pd.Series(dtype=str), "value": pd.Series(dtype=float),
                             "threshold": pd.Series(dtype=float), "score": pd.Series(dtype=float)})
    frame = pd.concat(parts, ignore_index=True)
    order = list(dict.fromkeys([*checks, "grayscale"]))
    frame["_o"] = frame["issue"].map({k: i for i, k in enumerate(order)})
    return frame.sort_values(["_o", "score"], ascending=[True, False], kind="stable").drop(columns="_o")[ISSUE_COLUMNS].reset_index(drop=True)



def _robust_z(x: np.ndarray):
    """Robust z-scores of x (median, 1.4826 MAD; falls back to the std, then to 1e-9 for constant data) and
    functions giving the lower / upper value at a given z."""
    med = float(np.median(x)) if len(x) else 0.0
    mad = 1.4826 * float(np.median(np.abs(x - med))) if len(x) else 0.0
    scale = mad if mad > 0 else (float(np.std(x)) if len(x) and np.std(x) > 0 else 1e-9)
    return (x - med) / scale, (lambda zz: med - zz * scale), (lambda zz: med + zz * scale)
