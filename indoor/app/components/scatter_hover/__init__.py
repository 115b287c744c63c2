"""A WebGL scatter map that shows each point's thumbnail on hover (st.components.v2 + regl-scatterplot).

:func:`map_payload` packs the points compactly: the per-point columns are one small-integer DataFrame
(``payload["points"]``, ``COLUMNS`` gives the types) that Streamlit sends to the browser as binary Arrow (no JSON,
no base64), class names once, no image data (the browser builds a thumbnail URL from a prefix and the row, and
fetches it only on hover). :func:`scatter_hover` mounts the component and returns its state: ``clicked`` (row of
the last clicked point or None) and ``selected`` (rows of the last lasso or box selection). The WebGL scatter
library (regl-scatterplot, vendored in ``vendor/``, see ``vendor/VENDOR.md``) is loaded by the browser from the
app's static folder (:data:`LIBRARY_JS`, published by the page; no CDN).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from indoor.app.components import load

NAME = "indoor_scatter_hover"
LIBRARY_JS = Path(__file__).parent / "vendor" / "regl-scatterplot.min.js"  # defines the global reglScatterplot
SPLITS = ("train", "val", "test")  # split index sent per point (255: other), decoded in index.js
XY_STEPS = 65535  # map coordinates are sent as integers 0..XY_STEPS (uint16)
COLOUR_STEPS = 999  # continuous colour values are sent as integers 0..COLOUR_STEPS (uint16)
# per-point columns of payload["points"] and their dtypes; "rows" and "values" may be absent
COLUMNS = {"x": "<u2", "y": "<u2", "rows": "<u4", "label": "<u2", "pred": "<u2", "conf": "<u1", "split": "<u1",
           "values": "<u2"}


def palette(n_classes: int) -> list[str]:
    """n distinct colours: plotly's Dark24, Alphabet and Light24 (74 colours; the darker ones first, legible on
    white), cycled when there are more classes."""
    from plotly.colors import qualitative

    colours = list(qualitative.Dark24) + list(qualitative.Alphabet) + list(qualitative.Light24)
    return [colours[i % len(colours)] for i in range(n_classes)]


def colour_scale_of(name: str) -> list[list]:
    """A plotly colour scale by name as explicit [position, "#rrggbb"] stops (the browser interpolates them)."""
    from plotly.colors import get_colorscale, hex_to_rgb, unlabel_rgb

    stops = []
    for position, colour in get_colorscale(name):
        colour = str(colour)
        rgb = unlabel_rgb(colour) if colour.startswith("rgb") else hex_to_rgb(colour)
        stops.append([float(position), "#" + "".join(f"{int(round(float(c))):02x}" for c in rgb)])
    return stops


def map_payload(
    *,
    x: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    label: np.ndarray,
    pred: np.ndarray,
    confidence: np.ndarray,
    split: Sequence[str],
    classes: Sequence[str],
    thumb_prefix: str,
    library_url: str,
    colour: str = "label",
    values: np.ndarray | None = None,
    value_name: str = "",
    colour_scale: str = "Viridis",
    bounds: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0),
    n_total: int | None = None,
    selected: Sequence[int] = (),
    height: int = 640,
    view: str = "map",
) -> dict[str, Any]:
    """What the component draws: JSON metadata and ``points``, a DataFrame of small integers (``COLUMNS``; read
    them back with :func:`decode_column`) that travels as binary Arrow; ``rows`` are the points' rows in the cache.

    ``colour``: "label", "pred", "correct" or "value" (then ``values`` are the per-point numbers, ``value_name``
    their name). ``bounds`` = (x_min, x_max, y_min, y_max) of the whole map, so positions stay put when filters
    change. ``n_total``: rows in the whole cache (``rows`` are omitted from the payload when all are shown in
    order). ``thumb_prefix`` + zero-padded row + ".jpg" must be a thumbnail URL; ``library_url`` the URL of
    :data:`LIBRARY_JS` as the web server serves it.
    """
    rows = np.asarray(rows, dtype=np.int64)
    n = len(rows)
    if len(classes) > 65535:
        raise ValueError(f"the map draws at most 65,535 classes, got {len(classes):,}")
    x_min, x_max, y_min, y_max = bounds
    every_row = n_total == n and np.array_equal(rows, np.arange(n))
    split_index = {name: i for i, name in enumerate(SPLITS)}
    points = {
        "x": _column(_steps(x, x_min, x_max, XY_STEPS), "x"),
        "y": _column(_steps(y, y_min, y_max, XY_STEPS), "y"),
        "label": _column(np.asarray(label, dtype=np.int64), "label"),
        "pred": _column(np.asarray(pred, dtype=np.int64), "pred"),
        "conf": _column(np.rint(np.clip(np.asarray(confidence, dtype=np.float64), 0, 1) * 100), "conf"),
        "split": _column(np.fromiter((split_index.get(s, 255) for s in split), dtype=np.int64, count=n), "split"),
    }
    if not every_row:
        points["rows"] = _column(rows, "rows")
    payload: dict[str, Any] = {
        "n": n,
        "every_row": bool(every_row),
        "classes": [str(c) for c in classes],
        "palette": palette(len(classes)),
        "thumb_prefix": thumb_prefix,
        "library_url": library_url,
        "height": int(height),
        "view": view,
        "point_size": 2 if n > 250_000 else 3 if n > 20_000 else 4 if n > 5_000 else 6,
        "selected": [int(r) for r in selected],
    }
    if colour == "value":
        numbers = np.asarray(values, dtype=np.float64)
        finite = numbers[np.isfinite(numbers)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if high <= low:
            high = low + 1.0
        points["values"] = _column(_steps(np.where(np.isfinite(numbers), numbers, low), low, high, COLOUR_STEPS),
                                   "values")
        payload["colour"] = {
            "mode": "value",
            "name": value_name,
            "min": round(low, 4),
            "max": round(high, 4),
            "scale": colour_scale_of(colour_scale),
        }
    elif colour in ("label", "pred", "correct"):
        payload["colour"] = {"mode": colour}
    else:
        raise ValueError(f"unknown colour mode {colour!r}: use label, pred, correct or value")
    payload["points"] = pd.DataFrame(points)
    payload["sig"] = _signature(payload)
    return payload


def decode_column(payload: dict[str, Any], name: str) -> np.ndarray | None:
    """A per-point column of a payload as integers (``name`` in ``COLUMNS``; "values" is the colour values);
    None when the payload omits it. ``payload["points"]`` may be the DataFrame or any table with those columns."""
    points = payload["points"]
    if name not in points.columns:
        return None
    return np.asarray(points[name]).astype(np.int64)


def scatter_hover(payload: dict[str, Any], *, key: str) -> dict[str, Any]:
    """Mount the map; returns {"clicked": row | None, "selected": [rows]} (kept across reruns under ``key``)."""
    component = load(NAME, "scatter_hover", common_css=True)
    result = component(
        data=payload,
        key=key,
        default={"clicked": None, "selected": []},
        on_clicked_change=lambda: None,
        on_selected_change=lambda: None,
        height=int(payload["height"]),
    )
    return {"clicked": result.get("clicked"), "selected": list(result.get("selected") or [])}


def _column(values: np.ndarray, name: str) -> np.ndarray:
    dtype = np.dtype(COLUMNS[name])
    values = np.asarray(values)
    if len(values) and (values.min() < 0 or values.max() > np.iinfo(dtype).max):
        raise ValueError(f"{name} values must lie in 0..{np.iinfo(dtype).max}")
    return values.astype(dtype)


def _steps(values: np.ndarray, low: float, high: float, steps: int) -> np.ndarray:
    span = (high - low) or 1.0
    scaled = (np.asarray(values, dtype=np.float64) - low) / span
    return np.rint(np.nan_to_num(np.clip(scaled, 0.0, 1.0), nan=0.0) * steps).astype(np.int64)


def _signature(payload: dict[str, Any]) -> str:
    """Changes whenever what is drawn changes (not with the selection, which the browser already shows)."""
    digest = hashlib.sha1()
    for name, values in payload["points"].items():
        if name not in ("conf", "split"):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(values.to_numpy()).tobytes())
    for name in ("thumb_prefix", "view", "point_size"):
        digest.update(repr(payload[name]).encode())
    digest.update(repr(payload["colour"]).encode())
    return digest.hexdigest()[:16]

