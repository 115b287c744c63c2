"""AppTests of the Review page (queue, cards, annotators) and the Compare page on the session's demo cache."""

from __future__ import annotations

import functools

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import apptest_util

from indoor.app.text import md

from indoor.cache import load_cache
from indoor.decisions import Decision, DecisionStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
REVIEW, COMPARE = "pages/10_Review.py", "pages/11_Compare.py"



def bars_data(at: AppTest, index: int = 0) -> dict:
    """The payload of the page's ``index``-th bar list (components/bars)."""
    return [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.component_name == "indoor_bars"][index]


open_page = functools.partial(apptest_util.open_page, timeout_s=90)  # -> AppTest


def store_of(cache_path: Path) -> DecisionStore:
    cache = load_cache(cache_path)
    return DecisionStore(cache.decisions_path, classes=cache.classes, known_ids=cache.row_of.keys())


def progress_text(at: AppTest) -> str:
    bars = at.get("progress")
    assert bars, "no progress bar"
    return bars[0].proto.text


def button(at: AppTest, key: str):
    return at.button(key=key)


def shown_image(at: AppTest, cache) -> tuple[str, int, str, str]:
    """The review page's current image: (sample_id, cache row, given label, predicted class)."""
    sample_id = at.session_state["rv.sample"]
    row = cache.row_of[sample_id]
    return (sample_id, row, cache.classes[int(cache.samples["label"].iat[row])],
            cache.classes[int(cache.samples["pred"].iat[row])])


def test_review_decision_saves_ticked_card_attributes_advances_and_undo(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    at = open_page(monkeypatch, own_copy, REVIEW)
    first, row, label, pred = shown_image(at, cache)
    total = int(progress_text(at).split(" of ")[1].split(" ")[0].replace(",", ""))
    assert progress_text(at).startswith(f"0 of {total} reviewed")

    store = store_of(own_copy)
    store.set_card(label, ["counter", "stools"], annotator="lead")
    store.set_card(pred, ["shelves"], annotator="lead")
    at.run()
    labels = [c.label for c in at.checkbox]
    assert {"counter", "stools"} <= set(labels)
    if pred != label:
        assert "shelves" in labels
    next(c for c in at.checkbox if c.label == "stools").check()
    if pred != label:
        next(c for c in at.checkbox if c.label == "shelves").check()
    at.multiselect(key="rv.tags").set_value(["low light"])
    at.text_input(key="rv.note").input("dim")
    button(at, "rv.keep").click().run()
    assert not at.exception, at.exception

    current = store.current()
    assert current["sample_id"].tolist() == [first]
    saved = Decision.from_row(current.iloc[0].to_dict())
    expected = {f"{label}: stools"} | ({f"{pred}: shelves"} if pred != label else set())
    assert (saved.action, saved.annotator, saved.note) == ("keep", "anonymous", "dim")
    assert set(saved.attributes) == expected and saved.tags == ("low light",)
    if total > 1:
        assert at.session_state["rv.sample"] != first  # advanced to the next image
    assert progress_text(at).startswith(f"1 of {total} reviewed")
    assert not at.checkbox or not any(c.value for c in at.checkbox)  # a fresh form for the next image
    assert at.query_params["sample"] == at.session_state["rv.sample"]

    button(at, "rv.undo").click().run()
    assert not at.exception, at.exception
    assert store.current().empty
    assert at.session_state["rv.sample"] == first  # back on the undone image
    assert progress_text(at).startswith(f"0 of {total} reviewed")
    assert len(store.history()) == 2  # the decision and its undo event: nothing is deleted


def test_review_relabel_to_prediction_and_to_another_class(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    at = open_page(monkeypatch, own_copy, REVIEW)
    first, row, label, pred = shown_image(at, cache)
    assert label != pred, "the default queue is the most confused pair: its first image is misclassified"
    button(at, "rv.topred").click().run()
    second = at.session_state["rv.sample"]
    target = next(c for c in cache.classes if c not in (label, pred))
    other = cache.classes[int(cache.samples["label"].iat[cache.row_of[second]])]
    at.selectbox(key="rv.to").set_value(target if target != other else pred)
    button(at, "rv.relabel").click().run()
    assert not at.exception, at.exception
    store = store_of(own_copy)
    decisions = {d.sample_id: d for d in store.current_decisions()}
    assert decisions[first].action == "relabel" and decisions[first].new_label == pred
    assert decisions[first].tags == ("incorrect label",)
    chosen = target if target != other else pred
    assert decisions[second].action == "relabel" and decisions[second].new_label == chosen


def test_review_shows_the_top5_bar_list_and_mounts_the_keyboard_helper(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    at = open_page(monkeypatch, shared_copy, REVIEW)
    _, row, _, _ = shown_image(at, cache)
    names = [c.proto.component_name for c in at.get("bidi_component")]
    assert names.count("indoor_bars") == 1 and names.count("indoor_review_keys") == 1
    top5 = bars_data(at)
    probs = np.asarray(cache.probs[row], dtype=float)
    assert top5["values"] == pytest.approx(sorted(probs, reverse=True)[:5], abs=1e-6)
    assert top5["labels"] == [cache.classes[i] for i in top5["ids"]]
    assert top5["text"] == [f"{probs[i]:.0%}" for i in top5["ids"]]


def test_review_relabel_without_a_class_says_so_and_saves_nothing(monkeypatch, own_copy):
    at = open_page(monkeypatch, own_copy, REVIEW)
    first = at.session_state["rv.sample"]
    button(at, "rv.relabel").click().run()
    assert any("choose the class to relabel to" in e.value for e in at.error)
    assert store_of(own_copy).current().empty
    assert at.session_state["rv.sample"] == first


def test_review_navigation_next_previous_skip(monkeypatch, own_copy):
    at = open_page(monkeypatch, own_copy, REVIEW, source="class", **{"class": load_cache(own_copy).classes[0]})
    first = at.session_state["rv.sample"]
    button(at, "rv.next").click().run()
    second = at.session_state["rv.sample"]
    assert second != first
    button(at, "rv.prev").click().run()
    assert at.session_state["rv.sample"] == first
    button(at, "rv.skip").click().run()
    assert at.session_state["rv.sample"] == second
    assert store_of(own_copy).current().empty


def test_review_deep_link_reproduces_the_pair_queue(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    s = cache.samples
    wrong = s[(s["label"] != s["pred"]) & (s["split"] == "train")]
    label, pred = wrong.groupby(["label", "pred"]).size().idxmax()
    true_name, pred_name = cache.classes[label], cache.classes[pred]
    expected = wrong[(wrong["label"] == label) & (wrong["pred"] == pred)]
    at = open_page(monkeypatch, own_copy, REVIEW, true=true_name, pred=pred_name, split="train")
    assert progress_text(at).startswith(f"0 of {len(expected)} reviewed")
    # the first image shown is the most suspicious one: the lowest probability of its given label
    assert at.session_state["rv.sample"] == expected.sort_values("self_confidence", kind="stable")["sample_id"].iloc[0]
    assert at.selectbox(key="rv.true").value == true_name and at.selectbox(key="rv.pred").value == pred_name


def test_review_selection_and_label_issue_sources(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    monkeypatch.setenv("INDOOR_CACHE", str(own_copy))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.session_state["selection_rows"] = [5, 1, 5, 9]
    at.query_params = {"source": "selection"}
    at.switch_page(REVIEW).run()
    assert not at.exception, at.exception
    assert progress_text(at).startswith("0 of 3 reviewed")
    assert at.session_state["rv.sample"] in {cache.samples["sample_id"].iat[r] for r in (1, 5, 9)}

    at.segmented_control(key="rv.source").set_value("issues").run()
    assert not at.exception, at.exception
    from indoor.cache.tables import cache_tables

    issues = cache_tables(cache)["label_issues"]  # the stored table the queue reads (probe + neighbours)
    flagged = issues[issues["is_issue"]].sort_values("review_rank")
    if len(flagged):
        assert progress_text(at).startswith(f"0 of {len(flagged)} reviewed")
        assert at.session_state["rv.sample"] == cache.samples["sample_id"].iat[int(flagged["row"].iloc[0])]
    else:
        assert any("No image in this queue" in i.value for i in at.info)


def test_review_selection_without_one_explains(monkeypatch, own_copy):
    at = open_page(monkeypatch, own_copy, REVIEW, source="selection")
    assert any("no selection" in i.value for i in at.info)


def test_card_edit_save_and_import_with_unknown_class_error(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    name = cache.classes[1]
    at = open_page(monkeypatch, own_copy, REVIEW, view="cards", card=name)
    at.text_area(key="rv.card_text").input("high chairs\n\n a counter \n")
    button(at, "rv.card_save").click().run()
    assert not at.exception, at.exception
    store = store_of(own_copy)
    assert store.cards() == {name: ["high chairs", "a counter"]}

    bad = json.dumps({cache.classes[0]: ["x"], "no_such_room": ["y"]})
    at.text_area(key="rv.cards_paste").input(bad)
    button(at, "rv.cards_import_text").click().run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "unknown class" in errors and "no\\_such\\_room" in errors
    assert store.cards() == {name: ["high chairs", "a counter"]}  # nothing imported

    good = "class,attribute\n" + f"{cache.classes[0]},x\n{cache.classes[0]},y\n"
    at.text_area(key="rv.cards_paste").input(good)
    button(at, "rv.cards_import_text").click().run()
    assert not at.error
    assert store.cards()[cache.classes[0]] == ["x", "y"]
    downloads = at.get("download_button")
    assert len(downloads) == 2


def test_annotators_view_shows_disagreements_and_switches_reviewer(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    sid = cache.samples["sample_id"].iat[0]
    store = store_of(own_copy)
    store.save(Decision(sample_id=sid, action="keep", annotator="alice"))
    store.save(Decision(sample_id=sid, action="remove", annotator="bob", note="blurry"))
    at = open_page(monkeypatch, own_copy, REVIEW, view="annotators")
    text = " ".join(m.value for m in at.markdown)
    assert "alice" in text and "bob" in text and "remove" in text
    assert any("Disagreements (1)" in h.value for h in at.subheader)
    at.selectbox(key="rv.who").set_value("bob").run()
    assert at.session_state["indoor.annotator"] == "bob"
    button(at, "rv.review_disagreements").click().run()
    assert not at.exception, at.exception
    assert at.session_state["rv.sample"] == sid
    assert progress_text(at).startswith("1 of 1 reviewed (by bob)")


def _second_run(source: Path, target: Path, n_fix: int = 3, n_break: int = 2) -> tuple[Path, set[str], set[str]]:
    """A copy of the cache whose test predictions differ: ``n_fix`` wrong ones made right and ``n_break`` right
    ones made wrong (the top two probabilities swapped, so the cache stays consistent)."""
    shutil.copytree(source, target)
    samples = pd.read_parquet(target / "samples.parquet")
    probs = np.load(target / "probs.npy")
    test = samples["split"] == "test"
    wrong = samples.index[test & (samples["label"] != samples["pred"])][:n_fix]
    right = samples.index[test & (samples["label"] == samples["pred"])][:n_break]
    for r in wrong:
        label, pred = int(samples.at[r, "label"]), int(samples.at[r, "pred"])
        probs[r, [label, pred]] = probs[r, [pred, label]]
    for r in right:
        label = int(samples.at[r, "label"])
        second = int(np.argsort(-probs[r])[1])
        probs[r, [label, second]] = probs[r, [second, label]]
    changed = list(wrong) + list(right)
    samples.loc[changed, "pred"] = probs[changed].argmax(axis=1)
    samples.loc[changed, "confidence"] = probs[changed].max(axis=1)
    np.save(target / "probs.npy", probs)
    samples.to_parquet(target / "samples.parquet", index=False)
    return target, set(samples.loc[wrong, "sample_id"]), set(samples.loc[right, "sample_id"])


def test_compare_page_renders_a_cache_against_itself(monkeypatch, own_copy):
    at = open_page(monkeypatch, own_copy, COMPARE, b=str(own_copy))
    assert any("same cache" in i.value for i in at.info)
    metrics = at.metric
    assert metrics and all("+0.0 pts" in m.proto.delta for m in metrics)
    assert not at.get("plotly_chart")
    assert [c.proto.component_name for c in at.get("bidi_component")] == ["indoor_bars", "indoor_heatmap"]
    recall = bars_data(at)  # per-class recall change: every class of the test split, all zero
    cache = load_cache(own_copy)
    test = cache.samples[cache.samples["split"] == "test"]
    assert sorted(recall["labels"]) == sorted(cache.classes[i] for i in test["label"].unique())
    assert recall["values"] == [0.0] * len(recall["labels"]) and set(recall["text"]) == {"+0.0 pts"}
    assert recall["diverging"] and recall["domain"] == [-1.0, 1.0] and recall["max_height"] == 560
    assert any("No fixed predictions" in i.value for i in at.info)


def test_compare_page_shows_fixed_and_broken_images(monkeypatch, own_copy, tmp_path):
    other, fixed, broken = _second_run(own_copy, tmp_path / "demo-cleaned")
    at = open_page(monkeypatch, own_copy, COMPARE, ref="a")
    assert not at.exception, at.exception
    assert at.selectbox(key="cmp.b").value == str(other)  # the sibling "<cache>-cleaned" is the default B
    test_metric = next(m for m in at.metric if m.label == "test")
    n_test = int((load_cache(own_copy).samples["split"] == "test").sum())
    assert f"{100 * (len(fixed) - len(broken)) / n_test:+.1f} pts" in test_metric.proto.delta
    options = at.segmented_control(key="cmp.show").options
    assert f"Fixed ({len(fixed)})" in options and f"Broken ({len(broken)})" in options
    # per-class recall change: +1 image for each fixed one, -1 for each broken one, in points of its class
    cache = load_cache(own_copy)
    samples, names = cache.samples, cache.classes
    test = samples[samples["split"] == "test"]
    change = {names[i]: 0 for i in test["label"].unique()}
    for sample_id, sign in [*((s, 1) for s in fixed), *((s, -1) for s in broken)]:
        change[names[int(samples.loc[samples["sample_id"] == sample_id, "label"].iat[0])]] += sign
    size = test["label"].map(lambda i: names[i]).value_counts()
    expected = {name: 100 * k / size[name] for name, k in change.items()}
    recall = bars_data(at)
    assert dict(zip(recall["labels"], recall["values"])) == pytest.approx(expected, abs=1e-4)
    assert recall["values"] == sorted(recall["values"])  # worst first
    assert recall["text"] == [f"{v:+.1f} pts" for v in recall["values"]]
    assert recall["colours"] == ["#16a34a" if v > 0 else "#dc2626" if v < 0 else "#94a3b8" for v in recall["values"]]
    reach = max(max(abs(v) for v in recall["values"]), 1.0)  # the longest bar fills its half (at least 1 pt)
    assert recall["domain"] == pytest.approx([-reach, reach]) and recall["diverging"]
    worst = recall["labels"][0]
    assert recall["hover"][0].startswith(f"{worst}\nrecall A ") and f"{size[worst]:,} images" in recall["hover"][0]
    images = at.get("image")
    assert len(images) == len(fixed)
    links = [link for link in at.get("page_link") if link.proto.label == "Open"]
    assert len(links) == len(fixed) and all("Gallery" in link.proto.page for link in links)
    at.segmented_control(key="cmp.show").set_value("broken").run()
    assert len(at.get("image")) == len(broken)
    assert at.query_params["show"] == "broken"


def test_compare_page_warns_when_shared_ids_are_other_images(monkeypatch, own_copy, tmp_path):
    from indoor.app import state

    other, _, _ = _second_run(own_copy, tmp_path / "other-data-set")
    monkeypatch.setattr(state, "RUNS", tmp_path)  # offered, as a cache under runs/ is
    samples = pd.read_parquet(other / "samples.parquet")
    samples.loc[: len(samples) // 2 - 1, "pixel_hash"] = "0" * 32  # same relative paths, other pictures
    samples.to_parquet(other / "samples.parquet", index=False)
    at = open_page(monkeypatch, own_copy, COMPARE, b=str(other))
    assert not at.exception, at.exception
    warning = " ".join(w.value for w in at.warning)
    assert f"{len(samples) // 2:,} of the {len(samples):,} images matched by sample" in warning
    assert "different data sets" in warning
    same = open_page(monkeypatch, own_copy, COMPARE, b=str(own_copy))
    assert not [w for w in same.warning if "different data sets" in w.value]
    assert any("No class changed." in c.value for c in same.caption)


def test_compare_page_bad_path_shows_a_message(monkeypatch, own_copy, tmp_path):
    at = open_page(monkeypatch, own_copy, COMPARE, b=str(tmp_path / "nowhere"))
    assert any("can't be opened" in e.value for e in at.error)


def test_compare_opens_only_offered_caches_with_one_message(monkeypatch, own_copy, tmp_path):
    """No directory-existence oracle: /etc, a missing folder and a real cache outside the offered list all get the
    same answer; a hostile value is shown as text."""
    elsewhere, _, _ = _second_run(own_copy, tmp_path / "elsewhere" / "cache")
    answers = []
    for value in ("/etc", str(tmp_path / "nonexistent"), str(elsewhere), "![r](https://evil.example/r.png)"):
        at = open_page(monkeypatch, own_copy, COMPARE, a=value)
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "not one of the caches this dashboard offers" in errors[0]
        answers.append(errors[0].replace(md(value), "VALUE"))
    assert len(set(answers)) == 1, answers
    assert md("![r](https://evil.example/r.png)") in errors[0]  # shown as text, not an image


def test_compare_of_runs_with_no_shared_image_is_a_message(monkeypatch, own_copy, tmp_path):
    from indoor.app import state

    other, _, _ = _second_run(own_copy, tmp_path / "unrelated")
    samples = pd.read_parquet(other / "samples.parquet")
    samples["sample_id"] = "other/" + samples["sample_id"]
    samples.to_parquet(other / "samples.parquet", index=False)
    monkeypatch.setattr(state, "RUNS", tmp_path)
    at = open_page(monkeypatch, own_copy, COMPARE, b=str(other))
    assert not at.exception, at.exception
    assert any("share no image" in e.value for e in at.error)
