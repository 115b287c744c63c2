"""The decisions store: :class:`DecisionStore`, what a reviewer decided, kept in SQLite.

A practitioner reviews images and records one decision per image (per
annotator).  Decisions live in a SQLite file beside the inference cache
(conventionally ``<cache_dir>/decisions.sqlite``; callers pass the path);
:mod:`indoor.decisions.db` owns the file (schema, WAL, transactions).

Append-only history: rows are never updated or deleted.  Undo is an event
of its own (``action = 'undo'``, ``undoes = <id>``).  The *current* decision
of a (sample_id, annotator) pair is its latest decision event that no undo
event points at; undo always targets the current one, so undoing restores
the previous decision (or none).  Besides decisions the store keeps class
merges (``merge_events``) and class-definition cards (``class_cards``, one
row per version).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence, Set as AbstractSet
from pathlib import Path

import pandas as pd

from indoor.decisions.db import (
    _CURRENT_SELECT,
    _LIVE,
    _Database,
    _from_json_list,
    _joined,
    _json_list,
)
from indoor.decisions.model import (
    CURRENT_COLUMNS,
    DISAGREEMENT_COLUMNS,
    HISTORY_COLUMNS,
    MERGE_COLUMNS,
    SEP,
    UNDO,
    Decision,
    DecisionError,
    _check_names,
    _normalise_time,
    _now,
    _problems,
    _text,
)

__all__ = ["DecisionStore"]


class DecisionStore(_Database):
    """Append-only, multi-process-safe store of review decisions.

    ``classes``: the class names new_label / extra_labels / merges must come
    from (empty: class names are not checked).  ``known_ids``: the sample ids
    decisions may refer to (None: not checked).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        classes: Sequence[str] = (),
        known_ids: Collection[str] | None = None,
    ) -> None:
        self.classes: tuple[str, ...] = tuple(str(c) for c in classes)
        self._classes = frozenset(self.classes) if self.classes else None
        self._known = (None if known_ids is None else known_ids if isinstance(known_ids, AbstractSet)  # as is: a
                       else frozenset(str(i) for i in known_ids))  # cache's row_of.keys(), 1M ids, is not copied
        super().__init__(path)

    # ---- validation ----------------------------------------------------
    def validate(self, decision: Decision) -> list[str]:
        """Reasons why ``decision`` cannot be saved (empty list: it can)."""
        if not isinstance(decision, Decision):
            return [f"expected a Decision, got {type(decision).__name__}"]
        return _problems(decision, self._classes, self._known)

    def _check_class(self, name: str, field: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DecisionError(f"{field} is empty")
        if self._classes is not None and name not in self._classes:
            raise DecisionError(f"unknown class {name!r} in {field}")

    @staticmethod
    def _check_annotator(annotator: str) -> str:
        annotator = _text(annotator).strip()
        if not annotator:
            raise DecisionError("annotator is empty")
        return annotator

    # ---- decisions -----------------------------------------------------
    @staticmethod
    def _insert(con: sqlite3.Connection, d: Decision) -> int:
        decided_at = _normalise_time(d.decided_at) if d.decided_at else _now()
        cur = con.execute(
            "INSERT INTO decision_events (sample_id, annotator, action, new_label, "
            "extra_labels, tags, note, attributes, decided_at, undoes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                d.sample_id, d.annotator, d.action, d.new_label,
                _json_list(d.extra_labels), _json_list(d.tags), d.note,
                _json_list(d.attributes), decided_at,
            ),
        )
        return int(cur.lastrowid)

    def save(self, decision: Decision) -> int:
        """Validate and append one decision; returns its event_id."""
        problems = self.validate(decision)
        if problems:
            sid = getattr(decision, "sample_id", "?")
            raise DecisionError(
                f"invalid decision for sample {sid!r}: " + "; ".join(problems), problems
            )
        with self._write() as con:
            return self._insert(con, decision)

    def save_many(self, decisions: Iterable[Decision]) -> int:
        """Validate all, then append all in one transaction (all-or-nothing).

        Returns the number of decisions saved.
        """
        items = list(decisions)
        problems: list[str] = []
        for i, d in enumerate(items, start=1):
            for p in self.validate(d):
                problems.append(f"decision #{i} (sample {getattr(d, 'sample_id', '?')!r}): {p}")
        if problems:
            raise DecisionError(
                f"{len(problems)} problem(s), nothing saved:\n" + "\n".join(problems), problems
            )
        if not items:
            return 0
        with self._write() as con:
            for d in items:
                self._insert(con, d)
        return len(items)

    def _current_rows(
        self, con: sqlite3.Connection, *, sample_id: str | None = None, annotator: str | None = None
    ) -> list[tuple]:
        where, params = [], []
        if sample_id is not None:
            where.append("AND d.sample_id = ?")
            params.append(sample_id)
        if annotator is not None:
            where.append("AND d.annotator = ?")
            params.append(annotator)
        sql = _LIVE.format(where=" ".join(where)) + _CURRENT_SELECT
        return con.execute(sql, params).fetchall()

    @staticmethod
    def _row_decision(row: tuple) -> Decision:
        sid, ann, action, new_label, extras, tags, note, attrs, decided_at, event_id = row
        return Decision(
            sample_id=sid, action=action, new_label=new_label,
            extra_labels=tuple(_from_json_list(extras)), tags=tuple(_from_json_list(tags)),
            note=note, annotator=ann, attributes=tuple(_from_json_list(attrs)),
            decided_at=decided_at, event_id=event_id,
        )

    def _undo_in(self, con: sqlite3.Connection, sample_id: str, annotator: str) -> Decision | None:
        rows = self._current_rows(con, sample_id=sample_id, annotator=annotator)
        if not rows:
            return None
        target = rows[-1][-1]
        con.execute(
            "INSERT INTO decision_events (sample_id, annotator, action, decided_at, undoes) "
            "VALUES (?, ?, ?, ?, ?)",
            (sample_id, annotator, UNDO, _now(), target),
        )
        rows = self._current_rows(con, sample_id=sample_id, annotator=annotator)
        return self._row_decision(rows[-1]) if rows else None

    def undo(self, sample_id: str, *, annotator: str) -> Decision | None:
        """Undo the current decision of (sample_id, annotator).

        Returns the decision now current (the previous one), or None.  With
        nothing to undo, nothing is written and None is returned.
        """
        annotator = self._check_annotator(annotator)
        with self._write() as con:
            return self._undo_in(con, str(sample_id), annotator)

    def undo_last(self, *, annotator: str) -> Decision | None:
        """Undo ``annotator``'s most recent still-standing decision (any sample).

        Returns the decision now current for that sample, or None.
        """
        annotator = self._check_annotator(annotator)
        with self._write() as con:
            row = con.execute(
                f"SELECT sample_id FROM decision_events AS d WHERE annotator = ? "
                f"AND action != '{UNDO}' AND NOT EXISTS (SELECT 1 FROM decision_events AS u "
                f"WHERE u.undoes = d.event_id) ORDER BY event_id DESC LIMIT 1",
                (annotator,),
            ).fetchone()
            if row is None:
                return None
            return self._undo_in(con, row[0], annotator)

    @staticmethod
    def _current_frame(rows: list[tuple]) -> pd.DataFrame:
        records = [
            (sid, ann, action, nl, _joined(ex), _joined(tg), note, _joined(at), when, int(eid))
            for sid, ann, action, nl, ex, tg, note, at, when, eid in rows
        ]
        frame = pd.DataFrame.from_records(records, columns=CURRENT_COLUMNS)
        return frame.astype({"event_id": "int64"})

    def current(self, *, annotator: str | None = None) -> pd.DataFrame:
        """Current decision per (sample_id, annotator), oldest first.

        Columns: :data:`CURRENT_COLUMNS`; list fields are ";"-joined strings.
        """
        with self._read() as con:
            return self._current_frame(self._current_rows(con, annotator=annotator))

    def current_decisions(self, *, annotator: str | None = None) -> list[Decision]:
        """Like :meth:`current` but as :class:`Decision` objects."""
        with self._read() as con:
            return [self._row_decision(r) for r in self._current_rows(con, annotator=annotator)]

    def for_sample(self, sample_id: str) -> pd.DataFrame:
        """Current decisions of all annotators for one image."""
        with self._read() as con:
            return self._current_frame(self._current_rows(con, sample_id=str(sample_id)))

    def history(self, sample_id: str | None = None) -> pd.DataFrame:
        """All decision events, undo events included, oldest first.

        Columns: :data:`HISTORY_COLUMNS` (``undoes``: event undone by an undo
        event, else 0; ``undone``: whether an undo event points at this one).
        """
        sql = (
            "SELECT d.event_id, d.sample_id, d.annotator, d.action, d.new_label, "
            "d.extra_labels, d.tags, d.note, d.attributes, d.decided_at, "
            "COALESCE(d.undoes, 0), EXISTS (SELECT 1 FROM decision_events AS u "
            "WHERE u.undoes = d.event_id) FROM decision_events AS d"
        )
        params: list[str] = []
        if sample_id is not None:
            sql += " WHERE d.sample_id = ?"
            params.append(str(sample_id))
        sql += " ORDER BY d.event_id"
        with self._read() as con:
            rows = con.execute(sql, params).fetchall()
        records = [
            (eid, sid, ann, act, nl, _joined(ex), _joined(tg), note, _joined(at), when, int(und), bool(done))
            for eid, sid, ann, act, nl, ex, tg, note, at, when, und, done in rows
        ]
        frame = pd.DataFrame.from_records(records, columns=HISTORY_COLUMNS)
        return frame.astype({"event_id": "int64", "undoes": "int64", "undone": "bool"})

    def disagreements(self) -> pd.DataFrame:
        """Samples whose current decisions (≥2 annotators) differ.

        Decisions differ when (action, new_label, extra_labels as a set)
        differ.  Columns: sample_id, n_annotators, annotators (";"-joined),
        summary (``"alice: relabel -> cat | bob: keep"``).
        """
        with self._read() as con:
            decisions = [self._row_decision(r) for r in self._current_rows(con)]
        by_sample: dict[str, list[Decision]] = {}
        for d in decisions:
            by_sample.setdefault(d.sample_id, []).append(d)
        records = []
        for sid in sorted(by_sample):
            group = sorted(by_sample[sid], key=lambda d: d.annotator)
            if len(group) >= 2 and len({d.key() for d in group}) > 1:
                records.append((
                    sid, len(group), SEP.join(d.annotator for d in group),
                    " | ".join(f"{d.annotator}: {d.summary()}" for d in group),
                ))
        frame = pd.DataFrame.from_records(records, columns=DISAGREEMENT_COLUMNS)
        return frame.astype({"n_annotators": "int64"})

    def count(self) -> int:
        """Number of current decisions (pairs of sample and annotator)."""
        sql = _LIVE.format(where="") + "SELECT COUNT(*) FROM ranked WHERE rn = 1"
        with self._read() as con:
            return int(con.execute(sql).fetchone()[0])

    # ---- class merges ----------------------------------------------------
    def save_merge(
        self, class_a: str, class_b: str, *, into: str, annotator: str, note: str = ""
    ) -> int:
        """Record that classes ``class_a`` and ``class_b`` merge into ``into``.

        ``into`` may be one of the two or a new name.  Returns the event_id.
        """
        self._check_class(class_a, "class_a")
        self._check_class(class_b, "class_b")
        if class_a == class_b:
            raise DecisionError(f"cannot merge class {class_a!r} with itself")
        into = _text(into).strip()
        if not into:
            raise DecisionError("merge target name ('into') is empty")
        annotator = self._check_annotator(annotator)
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO merge_events (action, class_a, class_b, into_class, annotator, "
                "note, decided_at) VALUES ('merge', ?, ?, ?, ?, ?, ?)",
                (class_a, class_b, into, annotator, _text(note), _now()),
            )
            return int(cur.lastrowid)

    def undo_merge(self, event_id: int, *, annotator: str, note: str = "") -> int:
        """Undo the (still standing) merge with ``event_id``; returns the undo event's id."""
        annotator = self._check_annotator(annotator)
        with self._write() as con:
            row = con.execute(
                "SELECT 1 FROM merge_events AS m WHERE event_id = ? AND action = 'merge' "
                "AND NOT EXISTS (SELECT 1 FROM merge_events AS u WHERE u.undoes = m.event_id)",
                (int(event_id),),
            ).fetchone()
            if row is None:
                raise DecisionError(f"no standing merge with event_id {event_id}")
            cur = con.execute(
                "INSERT INTO merge_events (action, annotator, note, decided_at, undoes) "
                "VALUES (?, ?, ?, ?, ?)",
                (UNDO, annotator, _text(note), _now(), int(event_id)),
            )
            return int(cur.lastrowid)

    def merges(self) -> pd.DataFrame:
        """Standing (non-undone) merges, oldest first.

        Columns: event_id, class_a, class_b, into, annotator, note, decided_at.
        """
        with self._read() as con:
            rows = con.execute(
                "SELECT event_id, class_a, class_b, into_class, annotator, note, decided_at "
                "FROM merge_events AS m WHERE action = 'merge' AND NOT EXISTS "
                "(SELECT 1 FROM merge_events AS u WHERE u.undoes = m.event_id) ORDER BY event_id"
            ).fetchall()
        frame = pd.DataFrame.from_records(rows, columns=["event_id", *MERGE_COLUMNS])
        return frame.astype({"event_id": "int64"})

    def merge_history(self) -> pd.DataFrame:
        """All merge events (merges and undos), oldest first."""
        with self._read() as con:
            rows = con.execute(
                "SELECT event_id, action, class_a, class_b, into_class, annotator, note, "
                "decided_at, COALESCE(undoes, 0) FROM merge_events ORDER BY event_id"
            ).fetchall()
        cols = ["event_id", "action", *MERGE_COLUMNS, "undoes"]
        return pd.DataFrame.from_records(rows, columns=cols).astype(
            {"event_id": "int64", "undoes": "int64"}
        )

    # ---- class definition cards ---------------------------------------
    def set_card(self, class_name: str, attributes: Sequence[str], *, annotator: str) -> int:
        """Append a new version of the definition card of ``class_name``.

        ``attributes``: the attribute strings (no ';', no duplicates; may be
        empty to clear the card).  Returns the event_id.
        """
        self._check_class(class_name, "class_name")
        if isinstance(attributes, str):
            raise DecisionError("attributes must be a sequence of strings, not one string")
        attrs = tuple(_text(a).strip() for a in attributes)
        problems = _check_names(attrs, "attributes", None)
        if problems:
            raise DecisionError(f"invalid card for {class_name!r}: " + "; ".join(problems), problems)
        annotator = self._check_annotator(annotator)
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO class_cards (class_name, attributes, updated_at, annotator) "
                "VALUES (?, ?, ?, ?)",
                (class_name, _json_list(attrs), _now(), annotator),
            )
            return int(cur.lastrowid)

    def cards(self) -> dict[str, list[str]]:
        """Latest attribute list per class."""
        with self._read() as con:
            rows = con.execute(
                "SELECT class_name, attributes FROM class_cards ORDER BY event_id"
            ).fetchall()
        out: dict[str, list[str]] = {}
        for name, attrs in rows:
            out[name] = _from_json_list(attrs)
        return out

    def card_history(self, class_name: str | None = None) -> pd.DataFrame:
        """All card versions, oldest first (attributes ";"-joined)."""
        sql = "SELECT event_id, class_name, attributes, updated_at, annotator FROM class_cards"
        params: list[str] = []
        if class_name is not None:
            sql += " WHERE class_name = ?"
            params.append(class_name)
        with self._read() as con:
            rows = con.execute(sql + " ORDER BY event_id", params).fetchall()
        records = [(e, n, _joined(a), u, w) for e, n, a, u, w in rows]
        cols = ["event_id", "class_name", "attributes", "updated_at", "annotator"]
        return pd.DataFrame.from_records(records, columns=cols).astype({"event_id": "int64"})
