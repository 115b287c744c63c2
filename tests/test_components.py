"""The bar list component (components/bars): its payload's checks and what a click returns."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import apptest_util
from streamlit.testing.v1 import AppTest

from indoor.app.components.bars import DEFAULT_COLOUR, bars_payload, colour_ramp

ROOT = Path(__file__).resolve().parents[1]
BARS = ROOT / "indoor" / "app" / "components" / "bars"


# ------------------------------------------------------------------------------------------------ bars_payload


def test_payload_keeps_order_values_and_texts():
    payload = bars_payload(["b", "a", "c"], [0.25, 0.5, 1.0], ids=["b", "a", "c"], colours=["#f00", "#00ff00", "#123abc"],
                           value_text=["25%", "50%", "100%"], hover=["b: 25%", "a: 50%\n1 of 2 wrong", "c"],
                           clickable=True, hint="click: open", max_height=300)
    assert payload["labels"] == ["b", "a", "c"] and payload["ids"] == ["b", "a", "c"]
    assert payload["values"] == [0.25, 0.5, 1.0]
    assert payload["colours"] == ["#f00", "#00ff00", "#123abc"]
    assert payload["text"] == ["25%", "50%", "100%"]
    assert payload["hover"] == ["b: 25%", "a: 50%\n1 of 2 wrong", "c"]
    assert payload["domain"] == [0.0, 1.0] and payload["diverging"] is False
    assert payload["clickable"] is True and payload["hint"] == "click: open" and payload["max_height"] == 300
    assert json.loads(json.dumps(payload)) == payload  # plain JSON


def test_payload_defaults():
    payload = bars_payload(["x", "y"], np.array([0.123456789, 2.0]))
    assert payload["ids"] == [0, 1]
    assert payload["colours"] == [DEFAULT_COLOUR, DEFAULT_COLOUR]
    assert payload["values"] == [0.123457, 2.0]  # rounded for a compact payload
    assert payload["text"] == ["0.12", "2.00"]
    assert payload["hover"] == ["x: 0.12", "y: 2.00"]
    assert payload["clickable"] is False and payload["max_height"] is None


def test_nan_is_an_empty_bar_with_a_dash():
    payload = bars_payload(["a", "b", "c"], [0.5, float("nan"), np.nan], value_text=["50%", "nan%", "x"])
    assert payload["values"] == [0.5, None, None]
    assert payload["text"] == ["50%", "–", "–"]
    assert payload["hover"] == ["a: 50%", "b: –", "c: –"]


def test_signature_follows_the_content():
    one = bars_payload(["a", "b"], [0.1, 0.2])
    assert one["sig"] == bars_payload(["a", "b"], [0.1, 0.2])["sig"]
    assert one["sig"] != bars_payload(["a", "b"], [0.1, 0.3])["sig"]
    assert one["sig"] != bars_payload(["a", "b"], [0.1, 0.2], colours=["#000", "#000"])["sig"]


def test_ids_may_be_ints_or_strings_and_must_be_distinct():
    assert bars_payload(["a", "b"], [1, 2], ids=np.array([4, 7]), domain=(0, 2))["ids"] == [4, 7]
    assert bars_payload(["a", "b"], [1, 2], ids=[3, "x"], domain=(0, 2))["ids"] == [3, "x"]
    with pytest.raises(ValueError, match="ids must be distinct"):
        bars_payload(["a", "b"], [1, 2], ids=[1, 1])
    for bad in ([True, 2], [1.5, 2], [None, 2], [(1,), 2]):
        with pytest.raises(ValueError, match="ids must be ints or strings"):
            bars_payload(["a", "b"], [1, 2], ids=bad)


@pytest.mark.parametrize("argument", ["values", "ids", "colours", "value_text", "hover"])
def test_every_per_bar_argument_needs_one_entry_per_label(argument):
    good = {"values": [0.1, 0.2], "ids": [1, 2], "colours": ["#111", "#222"], "value_text": ["a", "b"],
            "hover": ["a", "b"]}
    arguments = {**good, argument: good[argument][:1]}
    with pytest.raises(ValueError, match=rf"^{argument} must have one entry per label \(2\), got 1"):
        bars_payload(["a", "b"], **arguments)


def test_one_string_is_not_a_list_of_texts():
    with pytest.raises(ValueError, match="value_text must be a sequence of 2 entries, not one string"):
        bars_payload(["a", "b"], [0.1, 0.2], value_text="ab")


def test_values_must_be_numbers_and_finite():
    with pytest.raises(ValueError, match=r"values\[1\] must be a number"):
        bars_payload(["a", "b"], [0.1, "high"])
    with pytest.raises(ValueError, match=r"values\[0\] must be finite"):
        bars_payload(["a", "b"], [math.inf, 0.2])


@pytest.mark.parametrize("colour", ["red", "#12345", "#ggg", "rgb(1,2,3)", "#1234567", " #123", None, 255])
def test_colours_must_be_hex(colour):
    with pytest.raises(ValueError, match=r"colours\[1\] must be a hex colour"):
        bars_payload(["a", "b"], [0.1, 0.2], colours=["#abc", colour])


def test_texts_must_be_strings():
    with pytest.raises(ValueError, match="hover must be strings"):
        bars_payload(["a", "b"], [0.1, 0.2], hover=["a", 3])
    with pytest.raises(ValueError, match="labels must be strings"):
        bars_payload(["a", 2], [0.1, 0.2])


@pytest.mark.parametrize("domain", [(1, 0), (0.5, 0.5), (0, math.inf), (0, math.nan), (0,), "ab", None])
def test_domain_must_be_increasing_and_finite(domain):
    with pytest.raises(ValueError, match="domain must be"):
        bars_payload(["a"], [0.1], domain=domain)


def test_diverging_domain_must_be_symmetric():
    payload = bars_payload(["a", "b", "c"], [-3.0, 0.0, 7.5], domain=(-7.5, 7.5), diverging=True)
    assert payload["domain"] == [-7.5, 7.5] and payload["diverging"] is True
    assert payload["values"] == [-3.0, 0.0, 7.5]
    for domain in [(0, 10), (-5, 10), (-1e-3, 1)]:
        with pytest.raises(ValueError, match="diverging domain must be symmetric"):
            bars_payload(["a"], [1.0], domain=domain, diverging=True)


@pytest.mark.parametrize("height", [0, 39, -100, 12.5, True, "560"])
def test_max_height_must_be_whole_pixels(height):
    with pytest.raises(ValueError, match="max_height must be"):
        bars_payload(["a"], [0.1], max_height=height)


def test_empty_list_is_fine():
    payload = bars_payload([], [])
    assert payload["labels"] == [] and payload["values"] == [] and payload["ids"] == []


def test_colour_ramp_interpolates_between_stops():
    stops = [(0.0, "#dc2626"), (0.6, "#f59e0b"), (1.0, "#16a34a")]
    assert colour_ramp([0.0, 0.6, 1.0, -1.0, 2.0], stops) == ["#dc2626", "#f59e0b", "#16a34a", "#dc2626", "#16a34a"]
    assert colour_ramp([0.3], [(0.0, "#000"), (0.6, "#ffffff")]) == ["#808080"]
    assert colour_ramp([float("nan")], stops, nan="#cccccc") == ["#cccccc"]
    with pytest.raises(ValueError, match="stop colours must be hex"):
        colour_ramp([0.5], [(0.0, "red"), (1.0, "#fff")])
    with pytest.raises(ValueError, match="increasing positions"):
        colour_ramp([0.5], [(1.0, "#000"), (0.0, "#fff")])


def test_assets_never_parse_data_as_html():
    script = (BARS / "index.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert "textContent" in script and 'setTriggerValue("clicked"' in script
    assert 'data-testid", "indoor-bars"' in script


# ------------------------------------------------------------------------------------------------ bars() in a run


SCRIPT = """
import streamlit as st
from indoor.app.components.bars import bars, bars_payload

payload = bars_payload(["alpha", "beta", "gamma"], [0.1, 0.5, 0.9], ids=[7, "beta", 3], clickable=True)
clicked = bars(payload, key="demo.bars")
st.session_state["seen"] = st.session_state.get("seen", []) + [clicked]
"""


@pytest.fixture
def bars_app(monkeypatch) -> AppTest:
    return apptest_util.run_script(monkeypatch, SCRIPT)


def test_the_component_is_mounted_with_its_payload(bars_app):
    (component,) = bars_app.get("bidi_component")
    assert component.proto.component_name == "indoor_bars"
    payload = json.loads(component.proto.json)
    assert payload["labels"] == ["alpha", "beta", "gamma"] and payload["ids"] == [7, "beta", 3]
    assert bars_app.session_state["seen"] == [None]


def test_a_click_returns_the_rows_id(bars_app):
    # (AppTest keeps an injected trigger value for later runs too; in a browser it lasts one run)
    bars_app.session_state["demo.bars"] = {"clicked": 7}
    bars_app.run()
    bars_app.session_state["demo.bars"] = {"clicked": "beta"}
    bars_app.run()
    assert bars_app.session_state["seen"] == [None, 7, "beta"]


@pytest.mark.parametrize("clicked", [8, "alpha", "7", True, None, [7], {"id": 7}, 7.5])
def test_a_value_that_is_no_rows_id_returns_none(bars_app, clicked):
    bars_app.session_state["demo.bars"] = {"clicked": clicked}
    bars_app.run()
    assert not bars_app.exception
    assert bars_app.session_state["seen"][-1] is None
