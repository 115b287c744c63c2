"""The sortable table component (components/table): its payload's checks and what a click returns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import apptest_util
from streamlit.testing.v1 import AppTest

from indoor.app.components.table import Column, table_payload

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "indoor" / "app" / "components" / "table"

FRAME = pd.DataFrame({
    "class": ["<b>bar</b>", "kitchen", "deli"],
    "recall": [88.461538, np.nan, 100.0],
    "support": np.array([26, 0, 25], dtype=np.int64),
    "note": ["gameroom (3)", "", None],
})
COLUMNS = [Column("class", "class"), Column("recall", "recall", "percent", "share predicted as it"),
           Column("support", "images", "int"), Column("note", "most often predicted as")]


def test_payload_keeps_rows_in_order_as_plain_json():
    payload = table_payload(FRAME, COLUMNS, ids=FRAME["class"].tolist(), clickable=True, hint="open", max_height=300)
    assert [c["key"] for c in payload["columns"]] == ["class", "recall", "support", "note"]
    assert payload["columns"][1] == {"key": "recall", "title": "recall", "kind": "percent",
                                     "help": "share predicted as it"}
    assert payload["n"] == 3 and payload["ids"] == ["<b>bar</b>", "kitchen", "deli"]
    assert payload["cells"]["class"] == ["<b>bar</b>", "kitchen", "deli"]  # text stays text (drawn with textContent)
    assert payload["cells"]["recall"] == [88.46, None, 100.0]  # rounded; NaN is an empty cell
    assert payload["cells"]["support"] == [26, 0, 25] and all(type(v) is int for v in payload["cells"]["support"])
    assert payload["cells"]["note"] == ["gameroom (3)", "", ""]
    assert payload["clickable"] is True and payload["hint"] == "open" and payload["max_height"] == 300
    assert json.loads(json.dumps(payload)) == payload


def test_defaults_and_signature():
    payload = table_payload(FRAME, COLUMNS[:1])
    assert payload["ids"] == [0, 1, 2] and payload["clickable"] is False and payload["max_height"] is None
    assert payload["sig"] == table_payload(FRAME, COLUMNS[:1])["sig"]
    assert payload["sig"] != table_payload(FRAME.iloc[::-1], COLUMNS[:1])["sig"]  # the order is part of it
    assert table_payload(FRAME.iloc[:0], COLUMNS)["n"] == 0


@pytest.mark.parametrize("columns, ids, height, message", [
    ([], None, None, "at least one column"),
    ([Column("class", "c", "bars")], None, None, "kind must be one of"),
    ([Column("nope", "n")], None, None, "'nope' is not in the table"),
    ([Column("class", "a"), Column("class", "b")], None, None, "given twice"),
    ([Column("class", "c", "int")], None, None, "a number is needed"),
    ([Column("recall", "r", "int")], None, None, "a whole number is needed"),
    ([Column("class", "c")], [1, 2], None, "one entry per row"),
    ([Column("class", "c")], [1, 1, 2], None, "distinct"),
    ([Column("class", "c")], [True, 1, 2], None, "ints or strings"),
    ([Column("class", "c")], None, 20, "max_height"),
])
def test_bad_arguments_are_named(columns, ids, height, message):
    with pytest.raises(ValueError, match=message):
        table_payload(FRAME, columns, ids=ids, max_height=height)


def test_infinite_numbers_are_refused():
    with pytest.raises(ValueError, match="finite"):
        table_payload(pd.DataFrame({"v": [1.0, np.inf]}), [Column("v", "v", "percent")])


def test_assets_never_parse_data_as_html():
    script = (TABLE / "index.js").read_text(encoding="utf-8")
    code = "\n".join(line.split("//")[0] for line in script.splitlines())
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, sink
    assert "textContent" in code and 'setTriggerValue("clicked"' in code
    assert 'data-testid", "indoor-table"' in code


SCRIPT = """
import pandas as pd
import streamlit as st
from indoor.app.components.table import Column, table, table_payload

frame = pd.DataFrame({"class": ["alpha", "beta"], "n": [3, 4]})
payload = table_payload(frame, [Column("class", "class"), Column("n", "images", "int")], ids=["alpha", 9],
                        clickable=True)
clicked = table(payload, key="demo.table")
st.session_state["seen"] = st.session_state.get("seen", []) + [clicked]
"""


@pytest.fixture
def table_app(monkeypatch) -> AppTest:
    return apptest_util.run_script(monkeypatch, SCRIPT)


def test_the_component_is_mounted_and_a_click_returns_the_rows_id(table_app):
    (component,) = table_app.get("bidi_component")
    assert component.proto.component_name == "indoor_table"
    assert json.loads(component.proto.json)["cells"]["class"] == ["alpha", "beta"]
    table_app.session_state["demo.table"] = {"clicked": 9}
    table_app.run()
    assert table_app.session_state["seen"] == [None, 9]


@pytest.mark.parametrize("clicked", ["beta", 8, "9", True, None, [9]])
def test_a_value_that_is_no_rows_id_returns_none(table_app, clicked):
    table_app.session_state["demo.table"] = {"clicked": clicked}
    table_app.run()
    assert not table_app.exception and table_app.session_state["seen"][-1] is None
