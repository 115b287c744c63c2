"""A sortable table in plain HTML and CSS (st.components.v2): text, whole numbers, and percentages drawn as bars.

Used for the Confusion explorer's per-class precision, recall and F1. Streamlit's data grid costs the browser a
1.2 MB script, and on that page it held back the confusion matrix by about half a second on every first render;
this table costs next to nothing. Click a column header to sort (again: the other way); click a row (or Enter on
it) to report its id.

:func:`table_payload` checks and packs the columns; :func:`table` mounts it and returns the id of a row clicked in
the run that click started. Every text from the data reaches the page through ``textContent``, never as HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from indoor.app.components import Id, clicked_row, row_id, signature

NAME = "indoor_table"
KINDS = ("text", "int", "percent")


@dataclass(frozen=True)
class Column:
    """One column: ``key`` in the frame, ``title`` shown in the header, ``kind`` "text", "int" (whole numbers) or
    "percent" (numbers 0–100, drawn as a bar with "83.4 %"), ``help`` the header's tooltip."""

    key: str
    title: str
    kind: str = "text"
    help: str = ""


def table_payload(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    ids: Sequence[Id] | None = None,
    clickable: bool = False,
    hint: str = "",
    max_height: int | None = None,
) -> dict[str, Any]:
    """The JSON the component draws: the rows of ``frame`` in its order (the order shown until a header is
    clicked), the ``columns`` given, left to right.

    Cells: text columns as strings; int columns as whole numbers; percent columns as numbers rounded to 2
    decimals (NaN: empty, shown as "–"). ``ids``: what a click on each row reports, distinct ints or strings
    (default 0 .. n-1). ``clickable``: rows report their id when clicked; ``hint`` says what a click does (row
    tooltip). ``max_height``: pixels; a taller table scrolls under its header. Raises ValueError naming what is
    wrong (an unknown kind or key, a non-number in a number column, ids of the wrong length)."""
    n = len(frame)
    if not columns:
        raise ValueError("columns must name at least one column")
    out_columns, cells = [], {}
    for column in columns:
        if column.kind not in KINDS:
            raise ValueError(f"column {column.key!r}: kind must be one of {', '.join(KINDS)}, got {column.kind!r}")
        if column.key not in frame.columns:
            raise ValueError(f"column {column.key!r} is not in the table (it has {', '.join(map(str, frame.columns))})")
        if column.key in cells:
            raise ValueError(f"column {column.key!r} is given twice")
        out_columns.append({"key": column.key, "title": str(column.title), "kind": column.kind,
                            "help": str(column.help)})
        cells[column.key] = _cells(frame[column.key].tolist(), column)
    if ids is None:
        ids_out: list[Id] = list(range(n))
    else:
        ids_out = [row_id(value) for value in ids]
        if len(ids_out) != n:
            raise ValueError(f"ids must have one entry per row ({n}), got {len(ids_out)}")
        if len(set(ids_out)) != n:
            raise ValueError("ids must be distinct")
    if max_height is not None and (isinstance(max_height, bool) or not isinstance(max_height, int) or max_height < 80):
        raise ValueError(f"max_height must be a whole number of pixels >= 80 (or None), got {max_height!r}")
    payload: dict[str, Any] = {
        "columns": out_columns,
        "n": n,
        "cells": cells,
        "ids": ids_out,
        "clickable": bool(clickable),
        "hint": str(hint),
        "max_height": max_height,
    }
    payload["sig"] = signature(payload)
    return payload


def table(payload: dict[str, Any], *, key: str) -> Id | None:
    """Mount the table; returns the id of the row clicked in the run that click started, else None (also for
    anything that is not one of the payload's ids)."""
    return clicked_row(NAME, "table", payload, key=key)


def _cells(values: list[Any], column: Column) -> list[Any]:
    if column.kind == "text":  # missing (None, NaN) is an empty cell
        return ["" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
                for value in values]
    out: list[Any] = []
    for k, value in enumerate(values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"column {column.key!r}, row {k}: a number is needed, got {value!r}") from None
        if math.isnan(number):
            out.append(None)
        elif math.isinf(number):
            raise ValueError(f"column {column.key!r}, row {k}: numbers must be finite (NaN for none), got {value!r}")
        elif column.kind == "int":
            if number != int(number):
                raise ValueError(f"column {column.key!r}, row {k}: a whole number is needed, got {value!r}")
            out.append(int(number))
        else:
            out.append(round(number, 2))
    return out

