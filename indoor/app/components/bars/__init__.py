"""A horizontal bar list in plain HTML and CSS (st.components.v2, no plotly).

One row per item: label · a track with a coloured fill · the value's text. Used for the Overview's accuracy per
class, the Label issues page's label quality per class, the Compare page's per-class recall change (diverging,
from a zero line in the middle) and an image's top-5 probabilities. A plotly bar chart costs the browser a 4.7 MB
script and a CPU layout on first render; these rows cost next to nothing.

:func:`bars_payload` checks and packs the numbers (rounded floats, NaN as an empty bar and "–"); :func:`bars`
mounts it and returns the id of a clicked row. Clickable rows are ``<button>`` elements (keyboard accessible).
Every text from the data reaches the page through ``textContent``, never as HTML.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

from indoor.app.components import Id, clicked_row, row_id, signature

NAME = "indoor_bars"
DEFAULT_COLOUR = "#3b82f6"
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def bars_payload(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    ids: Sequence[Id] | None = None,
    colours: Sequence[str] | None = None,
    value_text: Sequence[str] | None = None,
    hover: Sequence[str] | None = None,
    domain: tuple[float, float] = (0.0, 1.0),
    diverging: bool = False,
    clickable: bool = False,
    hint: str = "",
    max_height: int | None = None,
) -> dict[str, Any]:
    """The JSON the component draws: one row per label, top to bottom in the order given.

    ``labels``: n names. ``values``: n finite numbers or NaN (NaN: an empty bar and "–" as its text); each bar
    fills its track in proportion to where its value lies in ``domain`` = (low, high), low < high (values outside
    are clipped to it). ``diverging``: bars grow left or right from a zero line in the middle; ``domain`` must then
    be symmetric, (-L, L) with L > 0. ``ids``: what a click on each row reports, n distinct ints or strings
    (default 0 .. n-1). ``colours``: one ``#rgb`` or ``#rrggbb`` colour per bar (default one blue).
    ``value_text``: n strings shown at the end of each row (default: the value, e.g. "0.84"). ``hover``: n plain
    texts for the rows' tooltips, lines split by "\\n" (the first line is bold; the label is put in front when the
    text doesn't contain it). ``clickable``: rows are buttons that report their id; ``hint`` is an extra line in
    the tooltip of clickable rows (e.g. "click: open its errors"). ``max_height``: pixels; a taller list scrolls
    (cut through the middle of a row, with a note below). Raises ValueError naming the argument that is wrong.
    """
    labels = [_text(label, "labels") for label in labels]
    n = len(labels)
    numbers = _values(values, n)
    if ids is None:
        ids_out: list[Id] = list(range(n))
    else:
        ids_out = [row_id(i) for i in _sized(ids, n, "ids")]
        if len(set(ids_out)) != n:
            raise ValueError("ids must be distinct")
    if colours is None:
        colours_out = [DEFAULT_COLOUR] * n
    else:
        colours_out = list(_sized(colours, n, "colours"))
        for k, colour in enumerate(colours_out):
            if not isinstance(colour, str) or not HEX_COLOUR.fullmatch(colour):
                raise ValueError(f"colours[{k}] must be a hex colour like '#16a34a' or '#f00', got {colour!r}")
    if value_text is None:
        texts = [_default_text(v) for v in numbers]
    else:
        texts = [_text(t, "value_text") for t in _sized(value_text, n, "value_text")]
    texts = ["–" if v is None else t for v, t in zip(numbers, texts)]
    tips = None if hover is None else [_text(t, "hover") for t in _sized(hover, n, "hover")]
    low, high = _domain(domain, diverging)
    if max_height is not None and (isinstance(max_height, bool) or not isinstance(max_height, int) or max_height < 40):
        raise ValueError(f"max_height must be a whole number of pixels >= 40 (or None), got {max_height!r}")
    payload: dict[str, Any] = {
        "labels": labels,
        "ids": ids_out,
        "values": numbers,
        "colours": colours_out,
        "text": texts,
        "hover": tips if tips is not None else [f"{label}: {text}" for label, text in zip(labels, texts)],
        "domain": [low, high],
        "diverging": bool(diverging),
        "clickable": bool(clickable),
        "hint": _text(hint, "hint"),
        "max_height": max_height,
    }
    payload["sig"] = signature(payload)
    return payload


def bars(payload: dict[str, Any], *, key: str) -> Id | None:
    """Mount the bar list; returns the id of the row clicked in the run that click started, else None (also for
    anything that is not one of the payload's ids)."""
    return clicked_row(NAME, "bars", payload, key=key)


def _sized(items: Sequence[Any], n: int, name: str) -> list[Any]:
    if isinstance(items, (str, bytes)):
        raise ValueError(f"{name} must be a sequence of {n} entries, not one string")
    items = list(items)
    if len(items) != n:
        raise ValueError(f"{name} must have one entry per label ({n}), got {len(items)}")
    return items


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be strings, got {value!r}")
    return value


def _values(values: Sequence[float], n: int) -> list[float | None]:
    """Numbers rounded to 6 decimals, NaN as None; ValueError for anything else (inf, text, wrong length)."""
    out: list[float | None] = []
    for k, value in enumerate(_sized(values, n, "values")):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"values[{k}] must be a number, got {value!r}") from None
        if math.isnan(number):
            out.append(None)
        elif math.isinf(number):
            raise ValueError(f"values[{k}] must be finite (or NaN for no value), got {value!r}")
        else:
            out.append(round(number, 6))
    return out


def _domain(domain: tuple[float, float], diverging: bool) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(f"domain must be two numbers (low, high), got {domain!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"domain must be two finite numbers with low < high, got {domain!r}")
    if diverging and not math.isclose(low, -high, rel_tol=1e-9, abs_tol=1e-12):
        raise ValueError(f"a diverging domain must be symmetric around zero, (-L, L), got {domain!r}")
    return low, high


def _default_text(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:,.0f}"


def colour_ramp(values: Sequence[float], stops: Sequence[tuple[float, str]], *, nan: str = "#cbd5e1") -> list[str]:
    """One ``#rrggbb`` colour per value, linearly interpolated between ``stops`` = [(position, hex colour), ...]
    (positions increasing; values outside them get the end colours, NaN gets ``nan``)."""
    points = [(float(position), _rgb(colour)) for position, colour in stops]
    if not points or any(b[0] < a[0] for a, b in zip(points, points[1:])):
        raise ValueError("stops must be one or more (position, colour) pairs with increasing positions")
    out = []
    for value in values:
        v = float(value)
        if math.isnan(v):
            out.append(nan)
            continue
        if v <= points[0][0]:
            rgb = points[0][1]
        elif v >= points[-1][0]:
            rgb = points[-1][1]
        else:
            k = next(k for k in range(1, len(points)) if v <= points[k][0])
            (p0, c0), (p1, c1) = points[k - 1], points[k]
            f = (v - p0) / (p1 - p0) if p1 > p0 else 1.0
            rgb = tuple(round(a + f * (b - a)) for a, b in zip(c0, c1))
        out.append("#{:02x}{:02x}{:02x}".format(*rgb))
    return out


def _rgb(colour: str) -> tuple[int, int, int]:
    if not isinstance(colour, str) or not HEX_COLOUR.fullmatch(colour):
        raise ValueError(f"stop colours must be hex colours like '#16a34a', got {colour!r}")
    digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
