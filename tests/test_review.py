"""Unit tests of indoor/review.py: queues from every source, their order, progress, moving, class cards I/O."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from indoor.decisions import cards as class_cards
from indoor.decisions import queue as review
from indoor.decisions.cards import CardError
from indoor.decisions.queue import QueueError, QueueSource

CLASSES = ["bar", "deli", "kitchen"]


def toy_samples() -> pd.DataFrame:
    """Eight images: given label, prediction, split and the probability of the given label."""
    return pd.DataFrame({
        "sample_id": [f"img{i}" for i in range(8)],
        "label": [0, 0, 0, 1, 1, 0, 2, 0],
        "pred": [1, 1, 0, 1, 0, 1, 2, 1],
        "split": ["test", "train", "test", "test", "train", "test", "test", "train"],
        "self_confidence": [0.30, 0.10, 0.90, 0.80, 0.20, 0.05, 0.70, 0.40],
    })


def test_pair_rows_are_that_pair_most_suspicious_first_and_split_filtered():
    samples = toy_samples()
    assert review.pair_rows(samples, 0, 1).tolist() == [5, 1, 0, 7]  # self-confidence 0.05, 0.10, 0.30, 0.40
    assert review.pair_rows(samples, 0, 1, split="test").tolist() == [5, 0]
    assert review.pair_rows(samples, 2, 0).tolist() == []
    with pytest.raises(QueueError, match="unknown split"):
        review.pair_rows(samples, 0, 1, split="holdout")


def test_class_rows_with_and_without_errors_only():
    samples = toy_samples()
    assert review.class_rows(samples, 0).tolist() == [5, 1, 0, 7, 2]
    assert review.class_rows(samples, 0, errors_only=True).tolist() == [5, 1, 0, 7]
    assert review.class_rows(samples, 1, split="train").tolist() == [4]


def test_issue_rows_follow_review_rank_and_filters():
    samples = toy_samples()
    issues = pd.DataFrame({
        "row": [0, 1, 2, 3, 4, 5, 6, 7],
        "is_issue": [True, True, False, False, True, True, False, False],
        "review_rank": [2, 1, 6, 5, 3, 0, 7, 4],
    })
    assert review.issue_rows(issues, samples).tolist() == [5, 1, 0, 4]
    assert review.issue_rows(issues, samples, flagged_only=False).tolist() == [5, 1, 0, 4, 7, 3, 2, 6]
    assert review.issue_rows(issues, samples, class_index=1).tolist() == [4]
    assert review.issue_rows(issues, samples, split="test").tolist() == [5, 0]
    with pytest.raises(QueueError, match="review_rank"):
        review.issue_rows(issues.drop(columns="review_rank"), samples)


def test_selected_rows_validate_dedupe_and_order():
    conf = toy_samples()["self_confidence"].to_numpy()
    assert review.selected_rows([3, 0, 3, 99, -1, 5], 8).tolist() == [3, 0, 5]  # given order, invalid dropped
    assert review.selected_rows([3, 0, 5], 8, self_confidence=conf).tolist() == [5, 0, 3]
    mask = np.array([True, False, True, False, True, True, True, False])
    assert review.selected_rows([3, 0, 5], 8, split_mask=mask).tolist() == [0, 5]
    assert review.selected_rows(np.array([2, 1]), 8).tolist() == [2, 1]  # numpy integers are row numbers
    with pytest.raises(QueueError, match="row numbers"):
        review.selected_rows(["img1"], 8)
    with pytest.raises(QueueError, match="row numbers"):
        review.selected_rows([True], 8)


def test_build_queue_dispatches_and_explains_what_is_missing():
    samples = toy_samples()
    row_of = {sid: i for i, sid in enumerate(samples["sample_id"])}
    pair = QueueSource(kind="pair", true="bar", pred="deli", split="test")
    assert review.build_queue(pair, samples, CLASSES).tolist() == [5, 0]
    one = QueueSource(kind="class", class_name="deli")
    assert review.build_queue(one, samples, CLASSES).tolist() == [4, 3]
    chosen = QueueSource(kind="selection")
    assert review.build_queue(chosen, samples, CLASSES, selection=[2, 7, 1]).tolist() == [1, 7, 2]
    disagree = QueueSource(kind="disagreements")
    assert review.build_queue(disagree, samples, CLASSES, disagreements=["img2", "gone", "img0"],
                              row_of=row_of).tolist() == [0, 2]

    with pytest.raises(QueueError, match="no selection"):
        review.build_queue(chosen, samples, CLASSES, selection=[])
    with pytest.raises(QueueError, match="label-issue table"):
        review.build_queue(QueueSource(kind="issues"), samples, CLASSES)
    with pytest.raises(QueueError, match="unknown class 'pub'"):
        review.build_queue(QueueSource(kind="pair", true="pub", pred="bar"), samples, CLASSES)
    with pytest.raises(QueueError, match="choose the class"):
        review.build_queue(QueueSource(kind="class"), samples, CLASSES)
    with pytest.raises(QueueError, match="unknown queue source"):
        review.build_queue(QueueSource(kind="random"), samples, CLASSES)


def test_source_query_names_only_what_the_kind_uses():
    pair = QueueSource(kind="pair", true="bar", pred="deli", split="test", class_name="kitchen")
    assert review.source_query(pair) == {"source": "pair", "true": "bar", "pred": "deli", "split": "test"}
    issues = QueueSource(kind="issues", flagged_only=False)
    assert review.source_query(issues) == {"source": "issues", "flagged": "false"}
    one = QueueSource(kind="class", class_name="bar", errors_only=True)
    assert review.source_query(one) == {"source": "class", "class": "bar", "errors": "true"}
    assert pair.describe() == "bar → deli · test"


def test_progress_counts_decided_images_of_the_queue_only():
    ids = [f"img{i}" for i in range(120)]
    decided = {f"img{i}" for i in range(38)} | {"elsewhere"}
    done = review.progress(ids, decided)
    assert (done.reviewed, done.total, done.remaining) == (38, 120, 82)
    assert done.text == "38 of 120 reviewed"
    assert done.fraction == pytest.approx(38 / 120)
    assert review.progress([], set()).fraction == 1.0


def test_next_undecided_wraps_and_ends():
    ids = ["a", "b", "c", "d"]
    assert review.next_undecided(ids, set()) == 0
    assert review.next_undecided(ids, {"a", "b"}) == 2
    assert review.next_undecided(ids, {"c"}, after=1) == 3
    assert review.next_undecided(ids, {"a"}, after=3) == 1  # wraps past the end, skips decided "a"
    assert review.next_undecided(ids, {"a", "b", "d"}, after=2) is None  # only the current one is left
    assert review.next_undecided(ids, set(ids)) is None
    assert review.next_undecided([], set()) is None
    assert review.position_of(ids, "c") == 2 and review.position_of(ids, "z") is None
    assert review.position_of(ids, None) is None


def test_step_clamps():
    assert review.step(0, 5, -1) == 0
    assert review.step(3, 5, 1) == 4
    assert review.step(4, 5, 1) == 4
    assert review.step(2, 0, 1) == 0


def test_parse_attributes_one_per_line():
    assert class_cards.parse_attributes("high chairs\n\n  a bar counter \nhigh chairs\n") == ["high chairs", "a bar counter"]
    assert class_cards.parse_attributes("") == []
    with pytest.raises(CardError, match="contains ';'"):
        class_cards.parse_attributes("stools; chairs", class_name="bar")


def test_cards_json_and_csv_round_trip_in_class_order():
    cards = {"deli": ["a counter", "=SUM(A1)"], "bar": ["high chairs", "drinks"], "kitchen": []}
    as_json = class_cards.cards_to_json(cards, classes=CLASSES)
    assert list(json.loads(as_json)) == ["bar", "deli", "kitchen"]
    assert class_cards.parse_cards(as_json, classes=CLASSES) == cards
    as_csv = class_cards.cards_to_csv(cards, classes=CLASSES)
    lines = as_csv.splitlines()
    assert lines[0] == "class,attribute"
    assert "deli,'=SUM(A1)" in lines  # a formula is neutralised in the file ...
    assert "kitchen," in lines  # an empty card keeps its class
    assert class_cards.parse_cards(as_csv, classes=CLASSES) == cards  # ... and restored on import


def test_parse_cards_cleans_and_guesses_the_format():
    text = "class,attribute\nbar, high chairs \nbar,high chairs\nbar,\n\ndeli,cheese\n"
    assert class_cards.parse_cards(text, classes=CLASSES) == {"bar": ["high chairs"], "deli": ["cheese"]}
    assert class_cards.parse_cards('  {"bar": ["x", " x ", ""]}', classes=CLASSES) == {"bar": ["x"]}


def test_parse_cards_lists_every_unknown_class_in_one_clear_error():
    text = json.dumps({"bar": ["stools"], "pub": ["beer"], "diner": ["booths"]})
    with pytest.raises(CardError) as info:
        class_cards.parse_cards(text, classes=CLASSES)
    message = str(info.value)
    assert "unknown classes 'pub', 'diner'" in message
    assert "bar, deli, kitchen" in message  # says which classes exist
    assert info.value.problems[0].startswith("unknown classes")
    with pytest.raises(CardError, match="unknown class 'pub'"):
        class_cards.parse_cards("class,attribute\npub,beer\n", classes=CLASSES)


@pytest.mark.parametrize(
    "text, fmt, match",
    [
        ("{not json", None, "not valid JSON"),
        ('["bar"]', "json", "is an object"),
        ('{"bar": "stools"}', None, "must be a list"),
        ('{"bar": [1]}', None, "must be strings"),
        ('{"bar": ["a;b"]}', None, "contains ';'"),
        ("name,attribute\nbar,x\n", "csv", "missing column"),
        ("", "csv", "empty"),
        ("class,attribute\n,x\n", "csv", "line 2: empty class"),
        ("x", "yaml", "unknown cards format"),
    ],
)
def test_parse_cards_rejects_bad_files_with_a_reason(text, fmt, match):
    with pytest.raises(CardError, match=match):
        class_cards.parse_cards(text, classes=CLASSES, fmt=fmt)


def test_qualified_attributes():
    assert class_cards.qualify("bar", "high chairs") == "bar: high chairs"
    assert class_cards.unqualify("bar: high chairs") == ("bar", "high chairs")
    assert class_cards.unqualify("no class") == ("", "no class")
