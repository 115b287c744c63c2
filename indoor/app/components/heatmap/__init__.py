"""A clickable class-by-class heatmap drawn on one canvas (st.components.v2, no plotly).

Used for the confusion matrix (67 x 67 = 4,489 cells) and the Compare page's confusion change. A plotly heatmap of
that size costs the browser seconds (plotly.js is a 4.7 MB chunk, and a click needs an invisible marker per cell);
this component draws the cells, labels and colour bar on a canvas in a few milliseconds, shows a tooltip on hover,
and reports a click on a cell as a one-shot trigger value.

:func:`heatmap_payload` packs the numbers compactly (rounded floats, names once); :func:`heatmap` mounts it.
Every text from the data reaches the page through canvas ``fillText`` or ``textContent``, never as HTML.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from indoor.app.components import load, signature

NAME = "indoor_heatmap"
FORMATS = ("int", "pct", "pts")  # how numbers are written: 1,234 · 12.5% · +1.2 pts

# the confusion explorer's scale: near-white for zero, blues for more images
BLUES = [[0.0, "#f8fafc"], [0.02, "#e0ecff"], [0.25, "#93c5fd"], [0.6, "#2563eb"], [1.0, "#0b2a6f"]]


def heatmap_payload(
    colour: np.ndarray,
    *,
    labels: Sequence[str],
    ids: Sequence[int],
    zmin: float,
    zmax: float,
    stops: Sequence[Sequence[Any]] = BLUES,
    colour_title: str = "",
    colour_format: str = "int",
    values: Sequence[np.ndarray] = (),
    hover: Sequence[str] = ("{row} → {col}",),
    hover_empty: Sequence[str] | None = None,
    clickable: np.ndarray | None = None,
    cell_text: bool = False,
    row_title: str = "",
    col_title: str = "",
    cell: int = 14,
) -> dict[str, Any]:
    """The JSON the component draws.

    ``colour``: (n, n) numbers that set each cell's colour, rows and columns in display order; ``labels`` the n
    names in that order, ``ids`` what a click reports for each position (e.g. class indices). ``values``: extra
    (n, n) arrays for the tooltip, referred to in ``hover`` lines as ``{v0:int}``, ``{v1:pct}``, ``{v0:pts}``
    (``{row}``, ``{col}`` are the names, ``{z:…}`` the colour value). ``hover_empty`` replaces ``hover`` on cells
    that are not clickable. ``clickable``: (n, n) booleans (default: none). ``cell_text`` writes ``colour`` in
    each cell in ``colour_format``. ``cell`` is the largest cell size in CSS pixels (cells shrink to fit).
    """
    colour = np.asarray(colour, dtype=np.float64)
    n = len(labels)
    if colour.shape != (n, n):
        raise ValueError(f"colour must be {n} x {n} (one row and column per label), got {colour.shape}")
    if len(ids) != n:
        raise ValueError(f"ids must have {n} entries, got {len(ids)}")
    if colour_format not in FORMATS:
        raise ValueError(f"unknown colour_format {colour_format!r}: use one of {', '.join(FORMATS)}")
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    for i, array in enumerate(arrays):
        if array.shape != (n, n):
            raise ValueError(f"values[{i}] must be {n} x {n}, got {array.shape}")
    click = np.zeros((n, n), dtype=bool) if clickable is None else np.asarray(clickable, dtype=bool)
    if click.shape != (n, n):
        raise ValueError(f"clickable must be {n} x {n}, got {click.shape}")
    payload: dict[str, Any] = {
        "labels": [str(label) for label in labels],
        "ids": [int(i) for i in ids],
        "z": _numbers(colour),
        "zmin": float(zmin),
        "zmax": float(zmax) if zmax > zmin else float(zmin) + 1.0,
        "stops": [[float(position), str(colour_)] for position, colour_ in stops],
        "colour_title": str(colour_title),
        "colour_format": colour_format,
        "values": [_numbers(array) for array in arrays],
        "hover": [str(line) for line in hover],
        "hover_empty": None if hover_empty is None else [str(line) for line in hover_empty],
        # clickable cells as flat indices (a 67 x 67 confusion matrix has a few hundred non-empty cells)
        "clickable": np.flatnonzero(click.ravel()).tolist(),
        "cell_text": bool(cell_text),
        "row_title": str(row_title),
        "col_title": str(col_title),
        "cell": int(cell),
    }
    payload["sig"] = signature(payload)
    return payload


def heatmap(payload: dict[str, Any], *, key: str) -> tuple[int, int] | None:
    """Mount the heatmap; returns (row id, column id) of the cell clicked in the run that click started, else None."""
    component = load(NAME, "heatmap", common_css=True)
    result = component(data=payload, key=key, on_clicked_change=lambda: None)
    clicked = result.get("clicked") if hasattr(result, "get") else getattr(result, "clicked", None)
    if not isinstance(clicked, dict):
        return None
    row, col = clicked.get("row"), clicked.get("col")
    ids = set(payload["ids"])
    if isinstance(row, int) and isinstance(col, int) and row in ids and col in ids:
        return row, col
    return None


def _numbers(array: np.ndarray) -> list[float | int | None]:
    """Row-major numbers, rounded to 4 decimals (ints stay ints), NaN as null."""
    flat = np.round(np.asarray(array, dtype=np.float64).ravel(), 4)
    if np.all(np.isfinite(flat)) and np.all(flat == np.rint(flat)):
        return flat.astype(np.int64).tolist()
    return [None if not np.isfinite(v) else float(v) for v in flat]
