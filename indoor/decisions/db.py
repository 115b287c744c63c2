"""The decisions database file: schema, connection settings and transactions.

* SQLite in WAL mode, ``synchronous=NORMAL``, ``busy_timeout`` of 15 s.
* A short-lived connection per operation (nothing is kept across Streamlit
  reruns or threads), so one store may be shared freely.
* Every write is one ``BEGIN IMMEDIATE`` transaction: concurrent writers
  (several tabs, several processes) serialise and nothing is lost.
* Tables are append-only (triggers refuse UPDATE and DELETE).
* ``meta`` holds ``schema_version`` (= 1) so later versions can migrate.

:class:`_Database` is the base of :class:`indoor.decisions.store.DecisionStore`; nothing else opens the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from indoor.decisions.model import SEP, UNDO, DecisionError, _now

__all__ = ["SCHEMA_VERSION", "BUSY_TIMEOUT_MS"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 15_000


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
# list-valued columns (JSON lists)
# --------------------------------------------------------------------------
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
# the file
# --------------------------------------------------------------------------
class _Database:
    """The decisions file at ``path``: created (folder included) and schema-checked on construction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DecisionError(f"cannot create the folder of decisions file {self.path}: {exc}") from exc
        if self.path.is_dir():
            raise DecisionError(f"decisions file {self.path} is a directory")
        self._init_schema()

    # ---- health ----------------------------------------------------------
    def integrity_problems(self, *, quick: bool = True) -> list[str]:
        """SQLite's own check (``PRAGMA quick_check``, or the slower ``integrity_check``): an empty list when the
        file is sound, else what it found (a damaged page, a bad index ...)."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            with self._read() as con:
                rows = [str(r[0]) for r in con.execute(f"PRAGMA {pragma}(50)")]
                for table in ("decision_events", "merge_events", "class_cards"):  # reads every row too
                    con.execute(f"SELECT * FROM {table}").fetchall()
        except DecisionError as exc:
            return [str(exc.__cause__ or exc)]
        return [] if rows == ["ok"] else rows

    def backup(self, target: str | Path) -> Path:
        """A consistent copy of the store at ``target`` (``VACUUM INTO``: safe while others write); refuses to
        overwrite an existing file."""
        target = Path(target)
        if target.exists():
            raise DecisionError(f"{target} exists already; choose another backup file")
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._read() as con:
            con.execute("VACUUM INTO ?", (str(target),))
        return target

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
