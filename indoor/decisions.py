"""The decisions store: the only module that opens the decisions database.

A practitioner reviews images and records one decision per image (per
annotator).  Decisions live in a SQLite file beside the inference cache
(conventionally ``<cache_dir>/decisions.sqlite``; callers pass the path).

Design
------
* SQLite in WAL mode, ``synchronous=NORMAL``, ``busy_timeout`` of 15 s.
* A short-lived connection per operation (nothing is kept across Streamlit
  reruns or threads), so one :class:`DecisionStore` may be shared freely.
* Every write is one ``BEGIN IMMEDIATE`` transaction: concurrent writers
  (several tabs, several processes) serialise and nothing is lost.
* Append-only history: rows are never updated or deleted (triggers refuse
  it).  Undo is an event of its own (``action = 'undo'``, ``undoes = <id>``).
  The *current* decision of a (sample_id, annotator) pair is its latest
  decision event that no undo event points at; undo always targets the
  current one, so undoing restores the previous decision (or none).
* ``meta`` holds ``schema_version`` (= 1) so later versions can migrate.

Tables: ``decision_events``, ``merge_events`` (class merges) and
``class_cards`` (class-definition attribute lists, one row per version).
CSV export/import helpers neutralise spreadsheet formula injection (OWASP).
"""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "ACTIONS",
    "TAGS",
    "UNDO",
    "SCHEMA_VERSION",
    "CURRENT_COLUMNS",
    "HISTORY_COLUMNS",
    "EXPORT_COLUMNS",
    "MERGE_COLUMNS",
    "DecisionError",
    "Decision",
    "DecisionStore",
    "decisions_from_frame",
    "export_csv",
    "import_csv",
    "import_merges_csv",
    "merges_csv",
]

ACTIONS: tuple[str, ...] = ("keep", "relabel", "multi_label", "remove", "unsure")
TAGS: tuple[str, ...] = (
    "incorrect label",
    "multi-class",
    "ambiguous",
    "low light",
    "colour/texture",
    "scale",
    "other",
)
UNDO = "undo"  # action of an undo event (never a valid decision action)
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 15_000
SEP = ";"  # joins list-valued fields in DataFrames and CSV

CURRENT_COLUMNS: list[str] = [
    "sample_id", "annotator", "action", "new_label", "extra_labels", "tags",
    "note", "attributes", "decided_at", "event_id",
]
HISTORY_COLUMNS: list[str] = [
    "event_id", "sample_id", "annotator", "action", "new_label", "extra_labels",
    "tags", "note", "attributes", "decided_at", "undoes", "undone",
]
EXPORT_COLUMNS: list[str] = [
    "sample_id", "path", "split", "label", "predicted", "action", "new_label",
    "extra_labels", "tags", "note", "attributes", "annotator", "decided_at",
]
MERGE_COLUMNS: list[str] = ["class_a", "class_b", "into", "annotator", "note", "decided_at"]
DISAGREEMENT_COLUMNS: list[str] = ["sample_id", "n_annotators", "annotators", "summary"]

# OWASP CSV injection: cells starting with these are neutralised with a
# leading quote.  "'" itself is included so that a value that genuinely starts
# with a quote survives export -> import unchanged.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISE_START = _FORMULA_START + ("'",)


class DecisionError(ValueError):
    """An invalid decision, an unusable decisions file, or a bad CSV.

    ``problems`` lists the individual reasons (for CSV import: one entry per
    bad row, prefixed with its line number).
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems)


# --------------------------------------------------------------------------
# small coercion helpers
# --------------------------------------------------------------------------
def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str:
    return "" if _is_missing(value) else str(value)


def _seq(value: Any) -> tuple[str, ...]:
    """None/NaN -> (); ";"-joined string -> parts; iterable -> tuple of str."""
    if _is_missing(value):
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(SEP) if p.strip())
    return tuple(_text(v) for v in value)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _normalise_time(value: str) -> str:
    """ISO-8601 -> UTC ISO-8601 with microseconds; raises ValueError."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _json_list(items: Sequence[str]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def _from_json_list(text: str | None) -> list[str]:
    if not text:
        return []
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else []


def _joined(text: str | None) -> str:
    return SEP.join(_from_json_list(text))


# --------------------------------------------------------------------------
# Decision
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One reviewer decision on one image.

    List-valued fields accept any iterable or a ";"-joined string and are
    stored as tuples.  ``decided_at`` empty means "now" when saved;
    ``event_id`` is ignored by :meth:`DecisionStore.save` and by ``==``
    (a decision read back equals the one that was saved or imported).
    """

    sample_id: str
    action: str
    new_label: str = ""
    extra_labels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    note: str = ""
    annotator: str = "anonymous"
    attributes: tuple[str, ...] = ()
    decided_at: str = ""
    event_id: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "sample_id", _text(self.sample_id))
        set_(self, "action", _text(self.action))
        set_(self, "new_label", _text(self.new_label))
        set_(self, "extra_labels", _seq(self.extra_labels))
        set_(self, "tags", _seq(self.tags))
        set_(self, "note", _text(self.note))
        set_(self, "annotator", _text(self.annotator).strip())
        set_(self, "attributes", _seq(self.attributes))
        set_(self, "decided_at", _text(self.decided_at))
        set_(self, "event_id", 0 if _is_missing(self.event_id) else int(self.event_id))

    @classmethod
    def from_row(cls, row: Any) -> Decision:
        """Build from a mapping/Series with :data:`CURRENT_COLUMNS`-style keys."""
        get = row.get if hasattr(row, "get") else (lambda k, d=None: getattr(row, k, d))
        return cls(
            sample_id=get("sample_id"),
            action=get("action"),
            new_label=get("new_label", ""),
            extra_labels=get("extra_labels", ()),
            tags=get("tags", ()),
            note=get("note", ""),
            annotator=get("annotator", "anonymous"),
            attributes=get("attributes", ()),
            decided_at=get("decided_at", ""),
            event_id=get("event_id", 0),
        )

    def key(self) -> tuple[str, str, tuple[str, ...]]:
        """What two annotators must agree on: (action, new_label, extra_labels)."""
        return (self.action, self.new_label, tuple(sorted(self.extra_labels)))

    def summary(self) -> str:
        """Short human-readable form, e.g. ``relabel -> cat``."""
        text = self.action
        if self.new_label:
            text += f" -> {self.new_label}"
        if self.extra_labels:
            text += " +" + ",".join(self.extra_labels)
        return text


def decisions_from_frame(frame: pd.DataFrame) -> list[Decision]:
    """Rows of :meth:`DecisionStore.current` (or similar) -> Decisions."""
    return [Decision.from_row(r) for r in frame.to_dict("records")]


def _check_names(values: Sequence[str], field: str, classes: frozenset[str] | None) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for v in values:
        if not v.strip():
            problems.append(f"empty entry in {field}")
        elif SEP in v:
            problems.append(f"{field} entry {v!r} contains ';'")
        elif classes is not None and v not in classes:
            problems.append(f"unknown class {v!r} in {field}")
        if v in seen:
            problems.append(f"duplicate {v!r} in {field}")
        seen.add(v)
    return problems


def _problems(
    d: Decision, classes: frozenset[str] | None, known_ids: frozenset[str] | None
) -> list[str]:
    """Every reason why ``d`` is invalid (empty list: valid).

    ``classes``/``known_ids`` of None mean "unknown, not checked".
    """
    out: list[str] = []
    if not d.sample_id.strip():
        out.append("sample_id is empty")
    elif known_ids is not None and d.sample_id not in known_ids:
        out.append(f"unknown sample_id {d.sample_id!r}")
    if d.action not in ACTIONS:
        out.append(f"unknown action {d.action!r} (expected one of {', '.join(ACTIONS)})")
    if d.action == "relabel":
        if not d.new_label.strip():
            out.append("action 'relabel' needs a new_label")
        elif classes is not None and d.new_label not in classes:
            out.append(f"unknown class {d.new_label!r} in new_label")
    elif d.new_label:
        out.append(f"new_label must be empty for action {d.action!r} (got {d.new_label!r})")
    if d.action == "multi_label":
        if not d.extra_labels:
            out.append("action 'multi_label' needs at least one extra label")
        out.extend(_check_names(d.extra_labels, "extra_labels", classes))
    elif d.extra_labels:
        out.append(f"extra_labels must be empty for action {d.action!r}")
    seen: set[str] = set()
    for t in d.tags:
        if t not in TAGS:
            out.append(f"unknown tag {t!r} (expected some of {', '.join(TAGS)})")
        elif t in seen:
            out.append(f"duplicate tag {t!r}")
        seen.add(t)
    out.extend(_check_names(d.attributes, "attributes", None))
    if not d.annotator:
        out.append("annotator is empty")
    if d.decided_at:
        try:
            _normalise_time(d.decided_at)
        except ValueError:
            out.append(f"decided_at {d.decided_at!r} is not an ISO-8601 timestamp")
    return out


# --------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------
_TABLES = ("meta", "decision_events", "merge_events", "class_cards")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decision_events (
    event_id     INTEGER PRIMARY KEY,
    sample_id    TEXT NOT NULL,
    annotator    TEXT NOT NULL,
    action       TEXT NOT NULL,            -- one of ACTIONS, or '{UNDO}'
    new_label    TEXT NOT NULL DEFAULT '',
    extra_labels TEXT NOT NULL DEFAULT '[]',  -- JSON list
    tags         TEXT NOT NULL DEFAULT '[]',  -- JSON list
    note         TEXT NOT NULL DEFAULT '',
    attributes   TEXT NOT NULL DEFAULT '[]',  -- JSON list
    decided_at   TEXT NOT NULL,            -- ISO-8601 UTC, microseconds
    undoes       INTEGER                   -- undo events: the event undone
);
CREATE INDEX IF NOT EXISTS decision_events_pair
    ON decision_events (sample_id, annotator, event_id);
CREATE INDEX IF NOT EXISTS decision_events_annotator
    ON decision_events (annotator, event_id);
CREATE INDEX IF NOT EXISTS decision_events_undoes
    ON decision_events (undoes) WHERE undoes IS NOT NULL;
CREATE TABLE IF NOT EXISTS merge_events (
    event_id   INTEGER PRIMARY KEY,
    action     TEXT NOT NULL,              -- 'merge' or '{UNDO}'
    class_a    TEXT NOT NULL DEFAULT '',
    class_b    TEXT NOT NULL DEFAULT '',
    into_class TEXT NOT NULL DEFAULT '',
    annotator  TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL,
    undoes     INTEGER
);
CREATE TABLE IF NOT EXISTS class_cards (
    event_id   INTEGER PRIMARY KEY,
    class_name TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '[]', -- JSON list
    updated_at TEXT NOT NULL,
    annotator  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS class_cards_name ON class_cards (class_name, event_id);
""" + "".join(
    f"""
CREATE TRIGGER IF NOT EXISTS {t}_no_update BEFORE UPDATE ON {t}
BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {t}_no_delete BEFORE DELETE ON {t}
BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;
"""
    for t in ("decision_events", "merge_events", "class_cards")
)

_LIVE = f"""
WITH live AS (
    SELECT d.* FROM decision_events AS d
    WHERE d.action != '{UNDO}'
      AND NOT EXISTS (SELECT 1 FROM decision_events AS u WHERE u.undoes = d.event_id)
      {{where}}
), ranked AS (
    SELECT live.*, ROW_NUMBER() OVER (
        PARTITION BY sample_id, annotator ORDER BY event_id DESC) AS rn
    FROM live
)
"""
_CURRENT_SELECT = (
    "SELECT sample_id, annotator, action, new_label, extra_labels, tags, note, "
    "attributes, decided_at, event_id FROM ranked WHERE rn = 1 ORDER BY event_id"
)


def _split_statements(script: str) -> list[str]:
    """Split the schema script into statements (``executescript`` would COMMIT)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return [s for s in out if s]


_SCHEMA_STATEMENTS = _split_statements(_SCHEMA)


# --------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------
class DecisionStore:
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
        self.path = Path(path)
        self.classes: tuple[str, ...] = tuple(str(c) for c in classes)
        self._classes = frozenset(self.classes) if self.classes else None
        self._known = None if known_ids is None else frozenset(str(i) for i in known_ids)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DecisionError(f"cannot create the folder of decisions file {self.path}: {exc}") from exc
        if self.path.is_dir():
            raise DecisionError(f"decisions file {self.path} is a directory")
        self._init_schema()

    # ---- connections ---------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            con.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            con.close()
            raise
        return con

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            con = self._connect()
            try:
                yield con
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise DecisionError(f"decisions file {self.path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction on a fresh connection."""
        try:
            con = self._connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    try:
                        con.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                    raise
                con.execute("COMMIT")
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise DecisionError(f"decisions file {self.path}: {exc}") from exc

    def _init_schema(self) -> None:
        try:
            con = self._connect()
            try:
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()
                if not mode or str(mode[0]).lower() != "wal":
                    raise DecisionError(
                        f"decisions file {self.path}: cannot switch to WAL mode (got {mode})"
                    )
                con.execute("BEGIN IMMEDIATE")
                try:
                    self._create_or_check(con)
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise DecisionError(
                f"{self.path} is not a usable decisions database: {exc}"
            ) from exc

    def _create_or_check(self, con: sqlite3.Connection) -> None:
        tables = {
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        tables.discard("sqlite_sequence")
        if "meta" in tables:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            try:
                version = int(row[0]) if row else None
            except (TypeError, ValueError):
                version = None
            if version is None:
                raise DecisionError(f"{self.path} is not a decisions database (no schema_version)")
            if version > SCHEMA_VERSION:
                raise DecisionError(
                    f"{self.path} has decisions schema version {version}; this version of "
                    f"indoor understands up to {SCHEMA_VERSION} - upgrade indoor"
                )
            # version <= SCHEMA_VERSION: nothing to migrate yet (1 is the first).
        elif tables:
            raise DecisionError(
                f"{self.path} is an SQLite file but not a decisions database "
                f"(tables: {', '.join(sorted(tables))})"
            )
        for statement in _SCHEMA_STATEMENTS:
            con.execute(statement)
        con.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        con.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (_now(),)
        )

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


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------
def _neutralise(value: Any) -> str:
    """OWASP CSV-injection guard: prefix "'" to cells that start a formula."""
    text = _text(value)
    return "'" + text if text.startswith(_NEUTRALISE_START) else text


def _unneutralise(text: str) -> str:
    """Undo :func:`_neutralise` (strip the quote export added)."""
    if len(text) >= 2 and text[0] == "'" and text[1] in _NEUTRALISE_START:
        return text[1:]
    return text


def _write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO(newline="")
    # "\r\n" (RFC 4180) also makes the writer quote cells containing a bare "\r".
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_neutralise(v) for v in row])
    return buf.getvalue()


def _class_name(value: Any, classes: Sequence[str]) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    try:
        index = int(value)
    except (TypeError, ValueError):
        return str(value)
    if index != value:
        return str(value)
    return classes[index] if 0 <= index < len(classes) else str(index)


def _joined_cell(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    return SEP.join(_text(v) for v in value)


def export_csv(decisions: pd.DataFrame, samples: pd.DataFrame, classes: Sequence[str]) -> str:
    """CSV text of ``decisions`` (rows of :meth:`DecisionStore.current`).

    Columns: :data:`EXPORT_COLUMNS`.  ``samples`` supplies path, split,
    label and pred (int indices into ``classes``, written as class names).
    Cells starting with = + - @ tab CR (or a quote) are prefixed with "'".
    """
    lookup: dict[str, dict[str, Any]] = {}
    if samples is not None and len(samples):
        for rec in samples.to_dict("records"):
            lookup.setdefault(_text(rec.get("sample_id")), rec)
    rows = []
    for rec in decisions.to_dict("records"):
        sid = _text(rec.get("sample_id"))
        s = lookup.get(sid, {})
        rows.append([
            sid,
            _text(s.get("path")),
            _text(s.get("split")),
            _class_name(s.get("label"), classes),
            _class_name(s.get("pred"), classes),
            _text(rec.get("action")),
            _text(rec.get("new_label")),
            _joined_cell(rec.get("extra_labels")),
            _joined_cell(rec.get("tags")),
            _text(rec.get("note")),
            _joined_cell(rec.get("attributes")),
            _text(rec.get("annotator")),
            _text(rec.get("decided_at")),
        ])
    return _write_csv(EXPORT_COLUMNS, rows)


def merges_csv(merges: pd.DataFrame) -> str:
    """CSV text of ``merges`` (rows of :meth:`DecisionStore.merges`), neutralised."""
    rows = [
        [_text(rec.get(c)) for c in MERGE_COLUMNS] for rec in merges.to_dict("records")
    ]
    return _write_csv(MERGE_COLUMNS, rows)


_REQUIRED_IMPORT_COLUMNS = ("sample_id", "action")
_TAG_LOOKUP = {t.lower(): t for t in TAGS}


def import_csv(
    text: str,
    *,
    classes: Sequence[str],
    known_ids: Collection[str],
    annotator_default: str = "imported",
) -> list[Decision]:
    """Parse and validate a CSV in the :func:`export_csv` format.

    Only ``sample_id`` and ``action`` are required; other columns are
    optional and unknown columns are ignored.  Line numbers count the header
    as line 1 and are the (physical) line on which a row starts.  Raises
    :class:`DecisionError` listing every bad row; never returns a partial
    result.  Save with ``store.save_many(result)``.
    """
    class_set = frozenset(str(c) for c in classes) if classes else None
    known = frozenset(str(i) for i in known_ids)
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DecisionError("CSV is empty (no header line)") from None
    except csv.Error as exc:
        raise DecisionError(f"line 1: unreadable CSV: {exc}") from exc
    names = [h.strip().lower() for h in header]
    missing = [c for c in _REQUIRED_IMPORT_COLUMNS if c not in names]
    if missing:
        msg = f"line 1: missing required column(s): {', '.join(missing)}"
        raise DecisionError(f"CSV import failed: {msg}", [msg])
    index = {n: i for i, n in reversed(list(enumerate(names)))}  # first occurrence wins

    problems: list[str] = []
    decisions: list[Decision] = []
    first_line: dict[tuple[str, str], int] = {}
    line_after = reader.line_num
    while True:
        start = line_after + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {start}: unreadable CSV: {exc}")
            break
        line_after = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line / empty spreadsheet row
        row_problems: list[str] = []
        if len(cells) > len(names):
            row_problems.append(f"{len(cells)} fields but the header has {len(names)}")

        def cell(name: str) -> str:
            i = index.get(name)
            return _unneutralise(cells[i]) if i is not None and i < len(cells) else ""

        action = cell("action").strip().lower()
        tags = []
        for t in _seq(cell("tags")):
            tags.append(_TAG_LOOKUP.get(t.lower(), t))
        annotator = cell("annotator").strip() or annotator_default
        decision = Decision(
            sample_id=cell("sample_id").strip(),
            action=action,
            new_label=cell("new_label").strip(),
            extra_labels=_seq(cell("extra_labels")),
            tags=tuple(tags),
            note=cell("note"),
            annotator=annotator,
            attributes=_seq(cell("attributes")),
            decided_at=cell("decided_at").strip(),
        )
        row_problems.extend(_problems(decision, class_set, known))
        if decision.decided_at and not any("decided_at" in p for p in row_problems):
            decision = replace(decision, decided_at=_normalise_time(decision.decided_at))
        pair = (decision.sample_id, decision.annotator)
        if decision.sample_id and pair in first_line:
            row_problems.append(
                f"duplicate of line {first_line[pair]} (sample_id {pair[0]!r}, annotator {pair[1]!r})"
            )
        else:
            first_line.setdefault(pair, start)
        if row_problems:
            problems.append(f"line {start}: " + "; ".join(row_problems))
        else:
            decisions.append(decision)
    if problems:
        raise DecisionError(
            f"CSV import failed, nothing imported - {len(problems)} bad row(s):\n"
            + "\n".join(problems),
            problems,
        )
    return decisions


def import_merges_csv(text: str, *, classes: Sequence[str]) -> pd.DataFrame:
    """Parse a merges CSV (the :func:`merges_csv` format: class_a, class_b, into[, annotator, note, decided_at]).

    ``class_a``/``class_b`` must be known classes or the ``into`` of an earlier row. Raises
    :class:`DecisionError` listing every bad row with its line number.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DecisionError("merges CSV is empty (no header line)") from None
    missing = [c for c in ("class_a", "class_b", "into") if c not in header]
    if missing:
        msg = f"line 1: missing required column(s): {', '.join(missing)}"
        raise DecisionError(f"merges CSV import failed: {msg}", [msg])
    known = set(str(c) for c in classes)
    rows, problems = [], []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        record = {name: _unneutralise(cells[i]).strip() if i < len(cells) else "" for i, name in enumerate(header)}
        row_problems = [f"unknown class {record[c]!r}" for c in ("class_a", "class_b") if record[c] not in known]
        if not record["into"]:
            row_problems.append("empty 'into'")
        if row_problems:
            problems.append(f"line {line}: " + "; ".join(row_problems))
            continue
        known.add(record["into"])
        rows.append([record.get(c, "") for c in MERGE_COLUMNS])
    if problems:
        raise DecisionError(f"merges CSV import failed - {len(problems)} bad row(s):\n" + "\n".join(problems), problems)
    return pd.DataFrame(rows, columns=MERGE_COLUMNS)
