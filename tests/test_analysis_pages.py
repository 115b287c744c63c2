"""AppTests of the analysis pages (Label issues, Class merges, Shortcuts, Duplicates) on the session's demo cache."""

from __future__ import annotations

import functools

import json
from pathlib import Path

import pytest

import apptest_util

from indoor.cache.tables import cache_tables
from indoor.cache import load_cache
from indoor.decisions import DecisionStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
LABEL_ISSUES, MERGES = "pages/5_Label_issues.py", "pages/6_Class_merges.py"
SHORTCUTS, DUPLICATES = "pages/7_Shortcuts.py", "pages/8_Duplicates.py"
TITLES = {LABEL_ISSUES: "Label issues", MERGES: "Class merges", SHORTCUTS: "Shortcuts", DUPLICATES: "Duplicates"}




open_page = functools.partial(apptest_util.open_page, timeout_s=120)  # -> AppTest


markdown_text = apptest_util.markdown_text


@pytest.mark.parametrize("page", list(TITLES))
def test_every_analysis_page_renders(monkeypatch, shared_copy, page):
    at = open_page(monkeypatch, shared_copy, page)
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == TITLES[page]


def test_label_issues_queue_moves_and_filters(monkeypatch, shared_copy):
    at = open_page(monkeypatch, shared_copy, LABEL_ISSUES)
    first = markdown_text(at)
    assert "Reviewing **image 1 of" in first
    at.button(key="li.pos.next").click().run()
    assert not at.exception
    assert "Reviewing **image 2 of" in markdown_text(at)
    # another class: the queue shrinks to that class's flagged images
    cache = load_cache(shared_copy)
    issues = cache_tables(cache)["label_issues"]
    flagged = issues[issues["is_issue"]]
    label = int(flagged["label"].value_counts().index[0])
    at.selectbox(key="li.class").set_value(cache.classes[label]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert (table["given"] == cache.classes[label]).all()
    assert len(table) == int((flagged["label"] == label).sum())
    # everything (not only flagged): the whole class, in review order
    at.toggle(key="li.flagged").set_value(False).run()
    assert len(at.dataframe[0].value) == int((cache.samples["label"] == label).sum())


def test_label_issues_relabel_to_suggested_saves_a_decision(monkeypatch, own_copy):
    at = open_page(monkeypatch, own_copy, LABEL_ISSUES)
    table = at.dataframe[0].value
    sample_id, suggested = table["sample_id"].iloc[0], table["suggested"].iloc[0]
    at.button(key="li.accept").click().run()
    assert not at.exception
    cache = load_cache(own_copy)
    current = DecisionStore(cache.decisions_path).current()
    saved = current[current["sample_id"] == sample_id]
    assert len(saved) == 1 and saved["action"].iloc[0] == "relabel" and saved["new_label"].iloc[0] == suggested


def test_label_issues_other_views(monkeypatch, shared_copy):
    at = open_page(monkeypatch, shared_copy, LABEL_ISSUES, tab="classes")
    assert not at.exception
    assert not at.get("plotly_chart")
    (chart,) = [c for c in at.get("bidi_component") if c.proto.component_name == "indoor_bars"]
    data = json.loads(chart.proto.json)
    quality = cache_tables(load_cache(shared_copy))["class_quality"].dropna(subset=["label_quality"])
    assert data["labels"] == quality["class"].tolist()  # worst first, as the table
    assert data["values"] == pytest.approx(quality["label_quality"].tolist(), abs=1e-6)
    assert data["text"] == [f"{q:.2f}" for q in quality["label_quality"]]
    assert data["colours"] == ["#dc2626" if q < 0.8 else "#f59e0b" if q < 0.9 else "#16a34a"
                               for q in quality["label_quality"]]
    first = quality.iloc[0]
    assert data["hover"][0] == (f"{first['class']}: quality {first['label_quality']:.2f}\n"
                                f"{first['n']} images, {first['n_issues']} flagged")
    assert not data["clickable"] and data["domain"] == [0.0, 1.0]
    at = open_page(monkeypatch, shared_copy, LABEL_ISSUES, tab="multi")
    assert not at.exception
    assert any("Typical" in m.value for m in at.markdown)


def test_multilabel_decision_from_candidates(monkeypatch, own_copy):
    at = open_page(monkeypatch, own_copy, LABEL_ISSUES, tab="multi")
    table = at.dataframe[0].value
    sample_id = table["sample_id"].iloc[0]
    at.button(key="li.multilabel").click().run()
    assert not at.exception
    current = DecisionStore(own_copy / "decisions.sqlite").current()
    saved = current[current["sample_id"] == sample_id]
    assert saved["action"].iloc[0] == "multi_label"
    assert saved["extra_labels"].iloc[0]


def test_merges_page_shows_the_chosen_pair_and_records_a_merge(monkeypatch, own_copy):
    at = open_page(monkeypatch, own_copy, MERGES)
    first_pair = {at.selectbox(key="merge.a").value, at.selectbox(key="merge.b").value}
    assert first_pair == {"bookstore", "videostore"}
    # choosing another pair changes the evidence shown
    at.selectbox(key="merge.b").set_value("bar" if "bar" not in first_pair else "deli").run()
    assert not at.exception
    assert any("Typical bar" in m.value or "Typical deli" in m.value for m in at.markdown)
    target = at.selectbox(key="merge.into").options[2]  # a new name: "<a>_<b>"
    at.selectbox(key="merge.into").set_value(target).run()
    at.button(key="merge.save").click().run()
    assert not at.exception
    merges = DecisionStore(own_copy / "decisions.sqlite").merges()
    assert len(merges) == 1 and merges["into"].iloc[0] == target
    assert any(len(df.value) == 1 for df in at.dataframe)  # the recorded merges table


def test_shortcuts_views_change(monkeypatch, shared_copy):
    at = open_page(monkeypatch, shared_copy, SHORTCUTS)
    assert any("→ bar" in m.value for m in at.markdown)  # the planted dark -> bar finding, with its verdict
    at = open_page(monkeypatch, shared_copy, SHORTCUTS, tab="curves")
    assert at.selectbox(key="sc.property").value == "brightness"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "(all)" in {trace["name"] for trace in spec["data"]}
    assert "°" not in "".join(spec["layout"]["xaxis"]["ticktext"])
    at.selectbox(key="sc.property").set_value("hue").run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "°" in "".join(spec["layout"]["xaxis"]["ticktext"])  # the chart now shows hue bins
    # a deep link opens the same view
    at = open_page(monkeypatch, shared_copy, SHORTCUTS, tab="curves", property="hue")
    assert at.selectbox(key="sc.property").value == "hue"
    at = open_page(monkeypatch, shared_copy, SHORTCUTS, tab="issues", issue="dark")
    assert not at.exception
    assert len(at.get("image")) >= 1


def test_duplicates_views(monkeypatch, shared_copy):
    at = open_page(monkeypatch, shared_copy, DUPLICATES, view="errors")
    assert not at.exception
    at.toggle(key="dup.only").set_value(False).run()
    assert not at.exception
    assert len(at.get("image")) >= 2  # test errors beside their nearest training images
    for view in ("exact", "near", "leakage", "labels"):
        at = open_page(monkeypatch, shared_copy, DUPLICATES, view=view)
        assert not at.exception
