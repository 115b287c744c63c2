"""The decision model: what a reviewer may decide about one image, and the checks a decision must pass.

Owns :class:`Decision`, the vocabularies (:data:`ACTIONS`, :data:`TAGS`, :data:`UNDO`), the column lists of
the frames and CSV files built from decisions, :class:`DecisionError`, validation (``_problems``,
``_check_names``) and the small value helpers the store and the CSV I/O share.  Nothing here touches a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

__all__ = [
    "ACTIONS",
    "TAGS",
    "UNDO",
    "CURRENT_COLUMNS",
    "HISTORY_COLUMNS",
    "EXPORT_COLUMNS",
    "MERGE_COLUMNS",
    "DecisionError",
    "Decision",
    "decisions_from_frame",
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

