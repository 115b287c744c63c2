"""The canvas heatmap's payload (components/heatmap) and the confusion matrix's colour limit (indoor.explore)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from indoor.app.components.heatmap import heatmap_payload
from indoor.analysis.explore import colour_limit

LABELS = ["bar", "<b>deli</b>", "office"]


def _payload(**overrides):
    counts = np.array([[5, 2, 0], [1, 7, 0], [0, 0, 3]])
    arguments = dict(labels=LABELS, ids=[2, 0, 1], zmin=0, zmax=2, values=[counts], clickable=counts > 0)
    arguments.update(overrides)
    return heatmap_payload(counts, **arguments)


def test_payload_is_compact_json_with_names_once_and_clickable_cells_as_flat_indices():
    data = _payload()
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert data["labels"] == LABELS  # raw text: the browser draws it with fillText / textContent, never as HTML
    assert data["ids"] == [2, 0, 1]
    assert data["z"] == [5, 2, 0, 1, 7, 0, 0, 0, 3]  # integers stay integers, row-major
    assert data["clickable"] == [0, 1, 3, 4, 8]
    assert data["zmin"] == 0 and data["zmax"] == 2


def test_floats_are_rounded_and_nan_becomes_null():
    rates = np.array([[0.123456, np.nan, 0.0], [1 / 3, 2 / 3, 0.0], [0.0, 0.0, 1.0]])
    data = heatmap_payload(rates, labels=LABELS, ids=[0, 1, 2], zmin=0, zmax=1, colour_format="pct")
    assert data["z"][:5] == [0.1235, None, 0.0, 0.3333, 0.6667]
    assert data["clickable"] == []  # nothing clickable unless asked


def test_signature_changes_with_what_is_drawn_only():
    assert _payload()["sig"] == _payload()["sig"]
    assert _payload()["sig"] != _payload(zmax=3)["sig"]
    assert _payload()["sig"] != _payload(labels=["a", "b", "c"])["sig"]


def test_flat_scale_gets_a_usable_range():
    data = _payload(zmin=0, zmax=0)
    assert data["zmax"] > data["zmin"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(labels=["a", "b"]), r"colour must be 2 x 2"),
        (dict(ids=[0, 1]), r"ids must have 3 entries"),
        (dict(colour_format="percent"), r"unknown colour_format 'percent'"),
        (dict(values=[np.zeros((2, 2))]), r"values\[0\] must be 3 x 3"),
        (dict(clickable=np.ones((3, 2), bool)), r"clickable must be 3 x 3"),
    ],
)
def test_bad_shapes_and_formats_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        _payload(**overrides)


def test_colour_limit_spans_the_errors_or_every_cell():
    counts = np.array([[50.0, 3.0, 0.0], [1.0, 40.0, 7.0], [0.0, 0.0, 30.0]])
    assert colour_limit(counts, "errors") == 7.0  # the largest off-diagonal cell
    assert colour_limit(counts, "all") == 50.0
    perfect = np.diag([5.0, 4.0])
    assert colour_limit(perfect, "errors") == 5.0  # no errors: falls back to the largest cell
    assert colour_limit(np.zeros((2, 2)), "errors") > 0  # never a zero range
    with pytest.raises(ValueError, match="unknown colour scale"):
        colour_limit(counts, "diagonal")


def test_the_script_never_parses_data_as_html():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[1] / "indoor" / "app" / "components" / "heatmap" / "index.js").read_text()
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert unsafe not in script, unsafe
