"""A WebGL scatter map that shows each point's thumbnail on hover (st.components.v2 + plotly.js).

:func:`map_payload` packs the points compactly (integers, class names once, no image data: the browser builds a
thumbnail URL from a prefix and the row, and fetches it only on hover). :func:`scatter_hover` mounts the component
and returns its state: ``clicked`` (row of the last clicked point or None) and ``selected`` (rows of the last lasso
or box selection). plotly.js is loaded by the browser from the app's static folder (no CDN).
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np
from indoor.app.components import load

NAME = "indoor_scatter_hover"
SPLITS = ("train", "val", "test")  # split index sent per point, decoded in index.js
XY_STEPS = 9999  # map coordinates are sent as integers 0..XY_STEPS
COLOUR_STEPS = 999  # continuous colour values are sent as integers 0..COLOUR_STEPS


def palette(n_classes: int) -> list[str]:
    """n distinct colours: plotly's Dark24, Alphabet and Light24 (74 colours; the darker ones first, legible on
    white), cycled when there are more classes."""
    from plotly.colors import qualitative

    colours = list(qualitative.Dark24) + list(qualitative.Alphabet) + list(qualitative.Light24)
    return [colours[i % len(colours)] for i in range(n_classes)]


def colour_scale_of(name: str) -> list[list]:
    """A plotly colour scale by name as explicit [position, colour] stops (plotly.js knows only a few names)."""
    from plotly.colors import get_colorscale

    return [[float(position), str(colour)] for position, colour in get_colorscale(name)]


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
    plotly_url: str,
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
    """The JSON the component draws. Arrays are per shown point; ``rows`` are the points' rows in the cache.

    ``colour``: "label", "pred", "correct" or "value" (then ``values`` are the per-point numbers, ``value_name``
    their name). ``bounds`` = (x_min, x_max, y_min, y_max) of the whole map, so positions stay put when filters
    change. ``n_total``: rows in the whole cache (``rows`` are omitted from the payload when all are shown in
    order). ``thumb_prefix`` + zero-padded row + ".jpg" must be a thumbnail URL.
    """
    rows = np.asarray(rows, dtype=np.int64)
    x_min, x_max, y_min, y_max = bounds
    payload: dict[str, Any] = {
        "x": _steps(x, x_min, x_max, XY_STEPS),
        "y": _steps(y, y_min, y_max, XY_STEPS),
        "rows": None if n_total == len(rows) and np.array_equal(rows, np.arange(len(rows))) else rows.tolist(),
        "label": np.asarray(label, dtype=np.int64).tolist(),
        "pred": np.asarray(pred, dtype=np.int64).tolist(),
        "conf": np.rint(np.clip(np.asarray(confidence, dtype=np.float64), 0, 1) * 100).astype(np.int64).tolist(),
        "split": [SPLITS.index(s) if s in SPLITS else -1 for s in split],
        "classes": [str(c) for c in classes],
        "palette": palette(len(classes)),
        "thumb_prefix": thumb_prefix,
        "plotly_url": plotly_url,
        "height": int(height),
        "view": view,
        "marker_size": 4 if len(rows) > 5000 else 6,
        "selected": [int(r) for r in selected],
    }
    if colour == "value":
        numbers = np.asarray(values, dtype=np.float64)
        finite = numbers[np.isfinite(numbers)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if high <= low:
            high = low + 1.0
        payload["colour"] = {
            "mode": "value",
            "name": value_name,
            "values": _steps(np.where(np.isfinite(numbers), numbers, low), low, high, COLOUR_STEPS),
            "min": round(low, 4),
            "max": round(high, 4),
            "scale": colour_scale_of(colour_scale),
        }
    elif colour in ("label", "pred", "correct"):
        payload["colour"] = {"mode": colour}
    else:
        raise ValueError(f"unknown colour mode {colour!r}: use label, pred, correct or value")
    payload["sig"] = _signature(payload)
    return payload


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


def _steps(values: np.ndarray, low: float, high: float, steps: int) -> list[int]:
    span = (high - low) or 1.0
    scaled = (np.asarray(values, dtype=np.float64) - low) / span
    return np.rint(np.clip(scaled, 0.0, 1.0) * steps).astype(np.int64).tolist()


def _signature(payload: dict[str, Any]) -> str:
    """Changes whenever what is drawn changes (not with the selection, which the browser already shows)."""
    digest = hashlib.sha1()
    for name in ("x", "y", "rows", "label", "pred", "thumb_prefix", "view"):
        digest.update(repr(payload[name]).encode())
    digest.update(repr(payload["colour"]).encode())
    return digest.hexdigest()[:16]
