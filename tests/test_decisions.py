"""Tests for indoor.decisions: the append-only, multi-process-safe decisions store."""

from __future__ import annotations

import csv
import io
import multiprocessing as mp
import os
import signal
import sqlite3
import sys
import time
import types
from pathlib import Path

import pandas as pd
import pytest

from indoor.decisions import (
    ACTIONS,
    CURRENT_COLUMNS,
    EXPORT_COLUMNS,
    HISTORY_COLUMNS,
    TAGS,
    Decision,
    DecisionError,
    DecisionStore,
    decisions_from_frame,
    export_csv,
    import_csv,
    merges_csv,
    neutralise,
    unneutralise,
)

CLASSES = ["bathroom", "bedroom", "-basement", "kitchen"]
IDS = [f"img{i:03d}" for i in range(20)]


@pytest.fixture
def store(tmp_path: Path) -> DecisionStore:
    return DecisionStore(tmp_path / "cache" / "decisions.sqlite", classes=CLASSES, known_ids=IDS)


def _samples() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample_id": IDS,
            "path": [f"images/{i}.jpg" for i in IDS],
            "split": ["val"] * len(IDS),
            "label": [i % len(CLASSES) for i in range(len(IDS))],
            "pred": [(i + 1) % len(CLASSES) for i in range(len(IDS))],
        }
    )


# --------------------------------------------------------------------------
# schema / file handling
# --------------------------------------------------------------------------
def test_creates_file_and_schema(store: DecisionStore) -> None:
    assert store.path.exists()
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"meta", "decision_events", "merge_events", "class_cards"} <= tables
    finally:
        con.close()
    # reopening an existing store is fine
    assert DecisionStore(store.path).count() == 0


def test_rows_cannot_be_updated_or_deleted(store: DecisionStore) -> None:
    store.save(Decision("img000", "keep", annotator="ann"))
    con = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE decision_events SET action='remove'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM decision_events")
    finally:
        con.close()


@pytest.mark.parametrize("content", [os.urandom(8192), b"hello, not a database", b"x" * 100])
def test_corrupt_file_gives_decision_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "decisions.sqlite"
    path.write_bytes(content)
    with pytest.raises(DecisionError) as info:
        DecisionStore(path)
    assert str(path) in str(info.value)
    assert not isinstance(info.value, sqlite3.Error)


def test_foreign_sqlite_file_and_newer_schema_rejected(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(DecisionError, match="not a decisions database"):
        DecisionStore(other)

    newer = tmp_path / "newer.sqlite"
    DecisionStore(newer)
    con = sqlite3.connect(newer)
    con.execute("DELETE FROM meta")
    con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    con.commit()
    con.close()
    with pytest.raises(DecisionError, match="schema version 2"):
        DecisionStore(newer)


def test_directory_path_rejected(tmp_path: Path) -> None:
    with pytest.raises(DecisionError, match="directory"):
        DecisionStore(tmp_path)


# --------------------------------------------------------------------------
# save / current / history / undo
# --------------------------------------------------------------------------
def test_save_current_history(store: DecisionStore) -> None:
    e1 = store.save(Decision("img001", "keep", annotator="ann"))
    e2 = store.save(
        Decision("img001", "relabel", "kitchen", tags=("incorrect label", "low light"),
                 note="clearly a kitchen", annotator="ann", attributes=["oven", "sink"])
    )
    e3 = store.save(Decision("img002", "multi_label", extra_labels=["bathroom", "-basement"], annotator="ann"))
    assert 0 < e1 < e2 < e3

    cur = store.current()
    assert list(cur.columns) == CURRENT_COLUMNS
    assert len(cur) == 2 and store.count() == 2
    row = cur[cur.sample_id == "img001"].iloc[0]
    assert (row.action, row.new_label, row.event_id) == ("relabel", "kitchen", e2)
    assert row.tags == "incorrect label;low light"
    assert row.attributes == "oven;sink"
    assert row.note == "clearly a kitchen"
    assert cur[cur.sample_id == "img002"].iloc[0].extra_labels == "bathroom;-basement"
    # ISO-8601 UTC with microseconds
    assert row.decided_at.endswith("+00:00") and len(row.decided_at.split(".")[1]) == len("123456+00:00")

    hist = store.history()
    assert list(hist.columns) == HISTORY_COLUMNS
    assert list(hist.event_id) == [e1, e2, e3]
    assert list(store.history("img001").event_id) == [e1, e2]

    d = store.current_decisions()
    assert d[0] == Decision("img001", "relabel", "kitchen", (), ("incorrect label", "low light"),
                            "clearly a kitchen", "ann", ("oven", "sink"), d[0].decided_at)
    assert decisions_from_frame(cur) == d


def test_undo_restores_previous_and_first_undo_removes(store: DecisionStore) -> None:
    e1 = store.save(Decision("img001", "keep", annotator="ann"))
    e2 = store.save(Decision("img001", "remove", annotator="ann"))
    e3 = store.save(Decision("img001", "unsure", annotator="ann"))

    now = store.undo("img001", annotator="ann")
    assert now is not None and (now.action, now.event_id) == ("remove", e2)
    now = store.undo("img001", annotator="ann")
    assert now is not None and (now.action, now.event_id) == ("keep", e1)
    assert store.current().event_id.tolist() == [e1]
    # undoing the first decision removes it
    assert store.undo("img001", annotator="ann") is None
    assert store.count() == 0 and store.current().empty
    # nothing left to undo: no event written
    n_events = len(store.history())
    assert store.undo("img001", annotator="ann") is None
    assert len(store.history()) == n_events == 6

    hist = store.history("img001")
    assert hist.action.tolist() == ["keep", "remove", "unsure", "undo", "undo", "undo"]
    assert hist.undoes.tolist() == [0, 0, 0, e3, e2, e1]
    assert hist.undone.tolist() == [True, True, True, False, False, False]

    # a new decision after undos becomes current; undo brings back nothing older
    e7 = store.save(Decision("img001", "keep", annotator="ann"))
    assert store.current().event_id.tolist() == [e7]
    assert store.undo("img001", annotator="ann") is None


def test_undo_last_any_sample(store: DecisionStore) -> None:
    a1 = store.save(Decision("img001", "keep", annotator="ann"))
    store.save(Decision("img002", "remove", annotator="ann"))
    b1 = store.save(Decision("img003", "keep", annotator="bob"))
    now = store.undo_last(annotator="ann")  # undoes img002 (ann's latest)
    assert now is None
    assert set(store.current().sample_id) == {"img001", "img003"}
    assert store.undo_last(annotator="ann") is None  # undoes img001
    assert store.undo_last(annotator="ann") is None  # nothing left
    assert store.current().event_id.tolist() == [b1]
    assert a1 in store.history().event_id.tolist()


def test_multiple_annotators_kept_and_disagreements(store: DecisionStore) -> None:
    store.save(Decision("img001", "relabel", "kitchen", annotator="ann"))
    store.save(Decision("img001", "relabel", "kitchen", annotator="bob", note="agree"))
    store.save(Decision("img002", "relabel", "kitchen", annotator="ann"))
    store.save(Decision("img002", "keep", annotator="bob"))
    store.save(Decision("img003", "multi_label", extra_labels=["bedroom", "kitchen"], annotator="ann"))
    store.save(Decision("img003", "multi_label", extra_labels=["kitchen", "bedroom"], annotator="bob"))
    store.save(Decision("img004", "remove", annotator="ann"))

    assert store.count() == 7
    assert len(store.current(annotator="bob")) == 3
    both = store.for_sample("img001")
    assert sorted(both.annotator) == ["ann", "bob"]

    dis = store.disagreements()
    assert dis.sample_id.tolist() == ["img002"]
    row = dis.iloc[0]
    assert row.n_annotators == 2 and row.annotators == "ann;bob"
    assert "ann: relabel -> kitchen" in row.summary and "bob: keep" in row.summary

    # undo on one annotator does not touch the other's decision
    store.undo("img002", annotator="bob")
    assert store.for_sample("img002").annotator.tolist() == ["ann"]
    assert store.disagreements().empty


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (Decision("img001", "delete"), "unknown action 'delete'"),
        (Decision("img001", "relabel"), "'relabel' needs a new_label"),
        (Decision("img001", "relabel", "garage"), "unknown class 'garage' in new_label"),
        (Decision("img001", "keep", "kitchen"), "new_label must be empty"),
        (Decision("img001", "multi_label"), "needs at least one extra label"),
        (Decision("img001", "multi_label", extra_labels=["kitchen", "garage"]), "unknown class 'garage' in extra_labels"),
        (Decision("img001", "keep", extra_labels=["kitchen"]), "extra_labels must be empty"),
        (Decision("img001", "keep", tags=["blurry"]), "unknown tag 'blurry'"),
        (Decision("nope", "keep"), "unknown sample_id 'nope'"),
        (Decision("", "keep"), "sample_id is empty"),
        (Decision("img001", "keep", annotator="  "), "annotator is empty"),
        (Decision("img001", "keep", decided_at="yesterday"), "not an ISO-8601"),
        (Decision("img001", "keep", attributes=["a;b"]), "contains ';'"),
    ],
)
def test_validation_errors(store: DecisionStore, decision: Decision, message: str) -> None:
    with pytest.raises(DecisionError, match=message) as info:
        store.save(decision)
    assert isinstance(info.value, ValueError)
    assert store.count() == 0 and store.history().empty


def test_constants_and_defaults(tmp_path: Path) -> None:
    assert ACTIONS == ("keep", "relabel", "multi_label", "remove", "unsure")
    assert TAGS == ("incorrect label", "multi-class", "ambiguous", "low light",
                    "colour/texture", "scale", "other")
    assert Decision("x", "keep").annotator == "anonymous"
    # without known_ids any sample id is accepted
    open_store = DecisionStore(tmp_path / "d.sqlite", classes=CLASSES)
    open_store.save(Decision("anything", "keep"))
    assert open_store.current().annotator.tolist() == ["anonymous"]


def test_save_many_is_all_or_nothing(store: DecisionStore) -> None:
    good = [Decision(i, "keep", annotator="ann") for i in IDS[:5]]
    bad = good + [Decision("img010", "relabel", "garage", annotator="ann"), Decision("zzz", "keep")]
    with pytest.raises(DecisionError) as info:
        store.save_many(bad)
    assert "decision #6" in str(info.value) and "decision #7" in str(info.value)
    assert store.history().empty
    assert store.save_many(good) == 5
    assert store.count() == 5


def test_explicit_decided_at_is_normalised(store: DecisionStore) -> None:
    store.save(Decision("img001", "keep", decided_at="2024-05-01T12:00:00+02:00"))
    assert store.current().decided_at.iloc[0] == "2024-05-01T10:00:00.000000+00:00"


# --------------------------------------------------------------------------
# merges and class cards
# --------------------------------------------------------------------------
def test_merges(store: DecisionStore) -> None:
    m1 = store.save_merge("bathroom", "kitchen", into="wet room", annotator="ann", note="=HYPERLINK()")
    m2 = store.save_merge("bedroom", "-basement", into="bedroom", annotator="bob")
    assert store.merges().event_id.tolist() == [m1, m2]
    store.undo_merge(m1, annotator="ann")
    merges = store.merges()
    assert merges.event_id.tolist() == [m2]
    assert merges.iloc[0][["class_a", "class_b", "into"]].tolist() == ["bedroom", "-basement", "bedroom"]
    assert len(store.merge_history()) == 3
    with pytest.raises(DecisionError, match="no standing merge"):
        store.undo_merge(m1, annotator="ann")
    with pytest.raises(DecisionError, match="unknown class 'garage'"):
        store.save_merge("garage", "kitchen", into="x", annotator="ann")
    with pytest.raises(DecisionError, match="itself"):
        store.save_merge("kitchen", "kitchen", into="x", annotator="ann")

    store.undo_merge(m2, annotator="ann")
    store.save_merge("bathroom", "kitchen", into="wet room", annotator="ann", note="=HYPERLINK()")
    text = merges_csv(store.merges())
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["class_a", "class_b", "into", "annotator", "note", "decided_at"]
    assert rows[1][4] == "'=HYPERLINK()"


def test_class_cards_keep_history(store: DecisionStore) -> None:
    store.set_card("kitchen", ["oven", "sink"], annotator="ann")
    store.set_card("bedroom", ["bed"], annotator="ann")
    store.set_card("kitchen", ["oven", "sink", "fridge"], annotator="bob")
    assert store.cards() == {"kitchen": ["oven", "sink", "fridge"], "bedroom": ["bed"]}
    assert len(store.card_history("kitchen")) == 2
    with pytest.raises(DecisionError):
        store.set_card("garage", ["car"], annotator="ann")
    with pytest.raises(DecisionError, match="duplicate"):
        store.set_card("kitchen", ["oven", "oven"], annotator="ann")


# --------------------------------------------------------------------------
# CSV export / import
# --------------------------------------------------------------------------
NASTY_NOTES = ["=cmd()", "+1", "-1", "@SUM(A1:A2)", "\tx", "\rcarriage", "'quoted", "plain, with comma\nand newline"]


def _fill_nasty(store: DecisionStore) -> None:
    for i, note in enumerate(NASTY_NOTES):
        store.save(Decision(IDS[i], "keep", note=note, annotator="ann", tags=["other"]))
    store.save(Decision(IDS[10], "relabel", "-basement", annotator="ann", attributes=["=stairs", "dark"]))
    store.save(Decision(IDS[11], "multi_label", extra_labels=["-basement", "kitchen"], annotator="bob"))
    store.save(Decision(IDS[11], "unsure", annotator="ann", tags=["ambiguous", "low light"]))
    store.save(Decision(IDS[12], "remove", annotator="-bob"))


def test_export_neutralises_formula_cells(store: DecisionStore) -> None:
    _fill_nasty(store)
    text = export_csv(store.current(), _samples(), CLASSES)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][: len(EXPORT_COLUMNS)] == EXPORT_COLUMNS
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    by_id = {r[0]: dict(zip(rows[0], r)) for r in rows[1:] if r[11] != "bob"}
    assert by_id[IDS[0]]["note"] == "'=cmd()"
    assert by_id[IDS[1]]["note"] == "'+1"
    assert by_id[IDS[2]]["note"] == "'-1"
    assert by_id[IDS[3]]["note"] == "'@SUM(A1:A2)"
    assert by_id[IDS[4]]["note"] == "'\tx"
    assert by_id[IDS[5]]["note"] == "'\rcarriage"
    # class names as names, neutralised where they start with '-'
    assert by_id[IDS[2]]["label"] == "'-basement"  # label index 2
    assert by_id[IDS[1]]["predicted"] == "'-basement"
    assert by_id[IDS[0]]["label"] == "bathroom" and by_id[IDS[0]]["predicted"] == "bedroom"
    assert by_id[IDS[10]]["new_label"] == "'-basement"
    assert by_id[IDS[10]]["attributes"] == "'=stairs;dark"
    assert by_id[IDS[0]]["path"] == f"images/{IDS[0]}.jpg" and by_id[IDS[0]]["split"] == "val"


@pytest.mark.parametrize("value", ["=cmd|' /C calc'!A0", "+1", "-basement", "@SUM(A1)", "\tx", "\rx", "'=x", "'quoted"])
def test_one_formula_guard_round_trips(value: str) -> None:
    assert neutralise(value) == "'" + value
    assert unneutralise(neutralise(value)) == value
    assert neutralise("bathroom") == "bathroom" and unneutralise("bathroom") == "bathroom"
    assert neutralise(None) == "" and neutralise(float("nan")) == ""
    assert unneutralise("'") == "'" and unneutralise("'x") == "'x"  # only a quote the guard added is stripped
    from indoor.decisions import cards, csvio

    assert cards.unneutralise is csvio.unneutralise  # the cards CSV uses the same guard


def test_export_import_round_trip(store: DecisionStore, tmp_path: Path) -> None:
    _fill_nasty(store)
    original = store.current_decisions()
    text = export_csv(store.current(), _samples(), CLASSES)
    imported = import_csv(text, classes=CLASSES, known_ids=IDS)
    assert imported == original
    assert [d.decided_at for d in imported] == [d.decided_at for d in original]

    other = DecisionStore(tmp_path / "other.sqlite", classes=CLASSES, known_ids=IDS)
    assert other.save_many(imported) == len(original)
    cols = [c for c in CURRENT_COLUMNS if c != "event_id"]
    pd.testing.assert_frame_equal(other.current()[cols], store.current()[cols])


def test_import_minimal_columns_and_defaults() -> None:
    text = "action,sample_id\nkeep,img001\nRELABEL,img002\n"
    with pytest.raises(DecisionError, match="line 3: action 'relabel' needs a new_label"):
        import_csv(text, classes=CLASSES, known_ids=IDS)
    out = import_csv("sample_id,action,extra\nimg001,keep,ignored\n\nimg002,unsure,\n",
                     classes=CLASSES, known_ids=IDS, annotator_default="csv")
    assert out == [Decision("img001", "keep", annotator="csv"), Decision("img002", "unsure", annotator="csv")]


def test_import_lists_all_bad_rows_with_line_numbers() -> None:
    text = (
        "sample_id,action,new_label,extra_labels,tags,note,annotator\n"   # line 1
        "img001,keep,,,,ok,ann\n"                                         # 2 ok
        "img999,keep,,,,,ann\n"                                           # 3 unknown id
        "img002,relabel,garage,,,,ann\n"                                  # 4 unknown class
        'img003,keep,,,,"two\nlines",ann\n'                               # 5-6 ok
        "img004,destroy,,,,,ann\n"                                        # 7 unknown action
        "img005,keep,,,blurry,,ann\n"                                     # 8 unknown tag
        "img006,multi_label,,kitchen;attic,,,ann\n"                       # 9 unknown extra class
        "img001,remove,,,,,ann\n"                                         # 10 duplicate of 2
        "img001,remove,,,,,bob\n"                                         # 11 ok (other annotator)
    )
    with pytest.raises(DecisionError) as info:
        import_csv(text, classes=CLASSES, known_ids=IDS)
    problems = info.value.problems
    lines = [int(p.split(":")[0].removeprefix("line ")) for p in problems]
    assert lines == [3, 4, 7, 8, 9, 10]
    message = str(info.value)
    assert "line 3: unknown sample_id 'img999'" in message
    assert "line 4: unknown class 'garage' in new_label" in message
    assert "line 7: unknown action 'destroy'" in message
    assert "line 8: unknown tag 'blurry'" in message
    assert "line 9: unknown class 'attic' in extra_labels" in message
    assert "line 10: duplicate of line 2" in message


def test_import_missing_required_column_and_empty() -> None:
    with pytest.raises(DecisionError, match="missing required column.*action"):
        import_csv("sample_id,note\nimg001,x\n", classes=CLASSES, known_ids=IDS)
    with pytest.raises(DecisionError, match="empty"):
        import_csv("", classes=CLASSES, known_ids=IDS)


# --------------------------------------------------------------------------
# concurrency (spawned processes)
# --------------------------------------------------------------------------
def _concurrent_writer(path: str, worker: int, n: int, barrier) -> None:
    store = DecisionStore(path, classes=CLASSES)
    barrier.wait(timeout=60)
    for i in range(n):
        store.save(Decision(f"w{worker}_{i:03d}", "relabel", CLASSES[i % len(CLASSES)],
                            note=f"worker {worker}", annotator=f"worker{worker}"))


def _killable_writer(path: str, ids_path: str) -> None:
    store = DecisionStore(path, classes=CLASSES)
    with open(ids_path, "a", encoding="utf-8") as out:
        for i in range(1_000_000):
            event_id = store.save(Decision(f"s{i % 50}", "relabel", CLASSES[i % len(CLASSES)],
                                           annotator="victim", note="x" * (i % 300)))
            out.write(f"{event_id}\n")
            out.flush()


def _clean_context():
    """A "spawn" context whose children do not re-run this session's __main__: after an AppTest ran a page in
    this process, __main__ is that page, and spawn would execute it in every child. While the children start,
    __main__ is an empty module (so nothing is re-run); the workers live in this importable test module."""
    main = sys.modules["__main__"]
    if getattr(main, "__file__", None):
        placeholder = types.ModuleType("__main__")
        sys.modules["__main__"] = placeholder
        _restore.append(main)
    return mp.get_context("spawn")


_restore: list = []


@pytest.fixture(autouse=True)
def _restore_main():
    yield
    while _restore:
        sys.modules["__main__"] = _restore.pop()


def test_four_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "decisions.sqlite"
    DecisionStore(path)
    ctx = _clean_context()
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_concurrent_writer, args=(str(path), w, 50, barrier)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]

    store = DecisionStore(path)
    hist = store.history()
    assert len(hist) == 200
    assert sorted(hist.event_id) == list(range(1, 201))
    assert store.count() == 200
    assert set(store.current().sample_id) == {f"w{w}_{i:03d}" for w in range(4) for i in range(50)}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_writer_killed_mid_loop_loses_no_acknowledged_save(tmp_path: Path) -> None:
    path = tmp_path / "decisions.sqlite"
    ids_path = tmp_path / "ids.txt"
    ids_path.touch()
    DecisionStore(path)
    ctx = _clean_context()
    proc = ctx.Process(target=_killable_writer, args=(str(path), str(ids_path)))
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while ids_path.read_text().count("\n") < 150:
            assert proc.is_alive(), f"writer died early (exit code {proc.exitcode})"
            assert time.monotonic() < deadline, "writer too slow"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=30)
    finally:
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL

    raw = ids_path.read_text()
    acknowledged = {int(x) for x in raw[: raw.rfind("\n") + 1].split()}
    assert len(acknowledged) >= 150

    store = DecisionStore(path, classes=CLASSES)  # still opens
    events = set(store.history().event_id)
    assert acknowledged <= events
    assert sorted(events) == list(range(1, len(events) + 1))  # no holes, no half rows
    assert store.count() == min(50, len(events))
    store.save(Decision("after", "keep", annotator="survivor"))  # still writable
    assert store.count() == min(50, len(events)) + 1


def test_a_huge_bad_import_gets_a_capped_message():
    from indoor.decisions import import_csv

    text = "sample_id,action\n" + "".join(f"s{i},explode\n" for i in range(200_000))
    with pytest.raises(DecisionError) as caught:
        import_csv(text, classes=["a", "b"], known_ids={"s1"})
    assert "200,000 bad row(s)" in str(caught.value) and len(str(caught.value)) < 10_000
    assert len(caught.value.problems) == 51 and caught.value.problems[-1] == "... and 199,950 more bad row(s)"
