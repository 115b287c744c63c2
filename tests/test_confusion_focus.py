"""indoor.analysis.confusion_focus: which classes the confusion explorer shows when there are hundreds."""

from __future__ import annotations

import numpy as np
import pytest

from indoor.analysis import confusion_focus as focus

# 5 classes: 0 <-> 1 confused a lot, 2 -> 3 a little, 4 never wrong
MATRIX = np.array([
    [50, 9, 0, 0, 0],
    [6, 40, 0, 0, 0],
    [0, 0, 30, 2, 0],
    [0, 1, 0, 20, 0],
    [0, 0, 0, 0, 10],
])
CLASSES = ["living_room", "bedroom", "Kitchen", "dining room", "garage/indoor"]


def test_error_mass_counts_errors_given_and_predicted():
    # class 1: 6 given-as-1 predicted 0 + (9 from 0 + 1 from 3) predicted as 1
    assert focus.error_mass(MATRIX).tolist() == [15, 16, 2, 3, 0]


def test_most_confused_takes_the_classes_of_the_most_confused_pairs():
    assert focus.most_confused(MATRIX, 2).tolist() == [1, 0]
    assert focus.most_confused(MATRIX, 4).tolist() == [1, 0, 3, 2]
    assert focus.most_confused(MATRIX, 99).tolist() == [1, 0, 3, 2, 4]  # error-free ones only to fill k
    assert focus.most_confused(np.zeros((3, 3)), 2).tolist() == [0, 1]  # ties: index order


def test_most_confused_at_365_classes_finds_the_planted_block():
    rng = np.random.default_rng(0)
    matrix = np.diag(rng.integers(50, 100, 365)) + (rng.random((365, 365)) < 0.01)
    block = [17, 101, 250, 364]
    matrix[np.ix_(block, block)] += 40 * (1 - np.eye(4, dtype=int))
    assert set(focus.most_confused(matrix, 4).tolist()) == set(block)


def test_most_confused_prefers_a_confused_pair_to_two_busy_strangers():
    """Classes 0 and 1 each have many errors, but with classes 4 and 5; the pair 2 <-> 3 is the largest:
    k = 2 shows 2 and 3 (their errors lie inside the view), not 0 and 1 (whose errors all lie outside it)."""
    matrix = np.diag([50] * 6)
    matrix[0, 4] = matrix[4, 0] = 6
    matrix[1, 5] = matrix[5, 1] = 6
    matrix[0, 5] = matrix[1, 4] = 4
    matrix[2, 3] = matrix[3, 2] = 7
    assert focus.error_mass(matrix)[:4].tolist() == [16, 16, 14, 14]
    assert sorted(focus.most_confused(matrix, 2).tolist()) == [2, 3]
    assert focus.errors_covered(matrix, focus.most_confused(matrix, 2))[0] == 14


def test_neighbours_are_the_classes_confused_with_the_centre_either_way():
    assert focus.neighbours(MATRIX, 0, 5).tolist() == [0, 1]  # 9 + 6 with class 1, none with others
    assert focus.neighbours(MATRIX, 1, 5).tolist() == [1, 0, 3]  # 15 with class 0, 1 with class 3
    assert focus.neighbours(MATRIX, 1, 1).tolist() == [1, 0]  # at most k neighbours, the most confused first
    assert focus.neighbours(MATRIX, 4, 5).tolist() == [4]  # never confused: alone
    with pytest.raises(ValueError, match="centre"):
        focus.neighbours(MATRIX, 5, 3)


def test_search_matches_parts_of_names_whatever_the_case_and_separators():
    assert focus.search(CLASSES, "room").tolist() == [0, 1, 3]
    assert focus.search(CLASSES, "Living Room").tolist() == [0]  # space finds underscore
    assert focus.search(CLASSES, "kitchen").tolist() == [2]
    assert focus.search(CLASSES, "garage indoor").tolist() == [4]  # space finds slash
    assert focus.search(CLASSES, "  ").tolist() == [0, 1, 2, 3, 4]  # empty: every class
    assert focus.search(CLASSES, "zebra").tolist() == []


def test_focus_dispatches_on_the_view():
    assert focus.focus(MATRIX, CLASSES, view="top", k=2).tolist() == [1, 0]
    assert focus.focus(MATRIX, CLASSES, view="class", k=5, centre=3).tolist() == [3, 2, 1]
    assert focus.focus(MATRIX, CLASSES, view="class", k=5).tolist() == [1, 0, 3]  # default: the most confused
    assert focus.focus(MATRIX, CLASSES, view="search", query="room").tolist() == [0, 1, 3]
    assert focus.focus(MATRIX, CLASSES, view="all").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="view"):
        focus.focus(MATRIX, CLASSES, view="bar")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="classes"):
        focus.focus(MATRIX, CLASSES[:3], view="all")


def test_in_order_keeps_the_display_order_of_every_class():
    order = np.array([4, 2, 0, 3, 1])
    assert focus.in_order(order, [1, 0, 3]).tolist() == [0, 3, 1]
    assert focus.in_order(order, []).tolist() == []


def test_errors_covered_counts_errors_inside_the_sub_matrix():
    assert focus.errors_covered(MATRIX, [0, 1]) == (15, 18)
    assert focus.errors_covered(MATRIX, [0, 1, 2, 3]) == (18, 18)
    assert focus.errors_covered(MATRIX, []) == (0, 18)
    with pytest.raises(ValueError, match="square"):
        focus.errors_covered(np.zeros((2, 3)), [0])
