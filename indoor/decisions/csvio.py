"""CSV I/O of decisions and class merges, and the one spreadsheet formula-injection guard.

Owns :func:`export_csv` / :func:`import_csv` (decisions), :func:`merges_csv` / :func:`import_merges_csv`
(class merges) and the OWASP CSV-injection guard every CSV the package writes goes through
(:func:`neutralise` on export, :func:`unneutralise` on import; :func:`csv_text` applies it to every cell):
class cards (:mod:`indoor.decisions.cards`) and the cleaned manifest (:mod:`indoor.decisions.apply`) too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from indoor.decisions.model import (
    EXPORT_COLUMNS,
    MERGE_COLUMNS,
    SEP,
    TAGS,
    Decision,
    DecisionError,
    _is_missing,
    _normalise_time,
    _problems,
    _seq,
    _text,
)

__all__ = [
    "neutralise",
    "unneutralise",
    "csv_text",
    "export_csv",
    "import_csv",
    "import_merges_csv",
    "merges_csv",
]

# OWASP CSV injection: cells starting with these are neutralised with a
# leading quote.  "'" itself is included so that a value that genuinely starts
# with a quote survives export -> import unchanged.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISE_START = _FORMULA_START + ("'",)


def neutralise(value: Any) -> str:
    """OWASP CSV-injection guard: prefix "'" to cells that start a formula.

    A cell starting with = + - @ tab CR (or a quote, so that such a value
    survives export -> import unchanged) gets a leading "'"; None/NaN -> "".
    """
    text = _text(value)
    return "'" + text if text.startswith(_NEUTRALISE_START) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` (strip the quote export added)."""
    if len(text) >= 2 and text[0] == "'" and text[1] in _NEUTRALISE_START:
        return text[1:]
    return text


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (RFC 4180, CRLF): the header ``columns``, then ``rows``, every cell through :func:`neutralise`."""
    buf = io.StringIO(newline="")
    # "\r\n" (RFC 4180) also makes the writer quote cells containing a bare "\r".
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
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
    return csv_text(EXPORT_COLUMNS, rows)


def merges_csv(merges: pd.DataFrame) -> str:
    """CSV text of ``merges`` (rows of :meth:`DecisionStore.merges`), neutralised."""
    rows = [
        [_text(rec.get(c)) for c in MERGE_COLUMNS] for rec in merges.to_dict("records")
    ]
    return csv_text(MERGE_COLUMNS, rows)


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
            return unneutralise(cells[i]) if i is not None and i < len(cells) else ""

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
        listed = _capped(problems)
        raise DecisionError(
            f"CSV import failed, nothing imported - {len(problems):,} bad row(s):\n" + "\n".join(listed), listed)
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
        record = {name: unneutralise(cells[i]).strip() if i < len(cells) else "" for i, name in enumerate(header)}
        row_problems = [f"unknown class {record[c]!r}" for c in ("class_a", "class_b") if record[c] not in known]
        if not record["into"]:
            row_problems.append("empty 'into'")
        if row_problems:
            problems.append(f"line {line}: " + "; ".join(row_problems))
            continue
        known.add(record["into"])
        rows.append([record.get(c, "") for c in MERGE_COLUMNS])
    if problems:
        listed = _capped(problems)
        raise DecisionError(f"merges CSV import failed - {len(problems):,} bad row(s):\n" + "\n".join(listed), listed)
    return pd.DataFrame(rows, columns=MERGE_COLUMNS)


MAX_LISTED_PROBLEMS = 50  # a file with 200,000 bad rows gets a readable message, not megabytes of it


def _capped(problems: list[str]) -> list[str]:
    """The first problems, and one line counting the rest."""
    if len(problems) <= MAX_LISTED_PROBLEMS:
        return problems
    return problems[:MAX_LISTED_PROBLEMS] + [f"... and {len(problems) - MAX_LISTED_PROBLEMS:,} more bad row(s)"]
