"""Apply reviewed decisions to a data set: relabels, removals, merges -> a cleaned CSV manifest for a rebuild.

The manifest has the columns ``path,label,split,extra_labels`` with paths relative to the data root (they are
the cache's ``sample_id``), so ``python -m indoor build --data ROOT --manifest cleaned.csv`` retrains on it.
:func:`manifest_csv` / :func:`write_manifest` write it through the formula-injection guard of
:mod:`indoor.decisions.csvio` (a class or merge target such as ``=cmd|...`` is written ``'=cmd|...``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from indoor.decisions.csvio import csv_text
from indoor.decisions.model import Decision

MANIFEST_COLUMNS = ("path", "label", "split", "extra_labels")


class ApplyError(ValueError):
    """Decisions or merges that cannot be applied; ``problems`` lists every one."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message + ("".join(f"\n  - {p}" for p in problems) if problems else ""))
        self.problems = list(problems)


@dataclass
class ApplyReport:
    """What changed: counts per action and one row per changed image."""

    relabeled: int = 0
    removed: int = 0
    multi_label: int = 0
    merged: int = 0
    unchanged: int = 0
    merges: list[str] = field(default_factory=list)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> str:
        merges = f" ({'; '.join(self.merges)})" if self.merges else ""
        return (f"{self.relabeled} relabeled, {self.removed} removed, {self.multi_label} multi-label, "
                f"{self.merged} relabeled by {len(self.merges)} merge(s){merges}, {self.unchanged} unchanged")


def resolve_merges(merges: pd.DataFrame | None, classes: Sequence[str]) -> dict[str, str]:
    """Class -> final class name after applying merges in order (``class_a``, ``class_b``, ``into``).

    A merge may name the result of an earlier merge. A class merged into two different results is refused.
    """
    mapping = {name: name for name in classes}
    if merges is None or merges.empty:
        return mapping
    problems = []
    known = set(classes)
    for number, row in enumerate(merges.itertuples(index=False), start=1):
        class_a, class_b, into = str(row.class_a), str(row.class_b), str(row.into).strip()
        for name in (class_a, class_b):
            if name not in known:
                problems.append(f"merge {number}: unknown class {name!r}")
        if not into:
            problems.append(f"merge {number}: empty target name")
        if problems:
            continue
        for name, target in list(mapping.items()):
            if target in (class_a, class_b):
                mapping[name] = into
        known.add(into)
    if problems:
        raise ApplyError("cannot apply the merges:", problems)
    return mapping


def apply_decisions(
    samples: pd.DataFrame,
    classes: Sequence[str],
    decisions: Sequence[Decision],
    *,
    merges: pd.DataFrame | None = None,
    annotator: str | None = None,
) -> tuple[pd.DataFrame, ApplyReport]:
    """Cleaned manifest of ``samples`` (columns sample_id, split, label as class index) after ``decisions``.

    ``decisions`` must be valid for these classes and ids (``indoor.decisions.import_csv`` checks that). When
    several annotators decided one image differently the call refuses (listing the images) unless
    ``annotator`` picks whose decisions count. Relabels use the given classes; merges are applied afterwards.
    """
    if annotator is not None:
        decisions = [d for d in decisions if d.annotator == annotator]
    by_sample: dict[str, list[Decision]] = {}
    for decision in decisions:
        by_sample.setdefault(decision.sample_id, []).append(decision)
    known = set(samples["sample_id"])
    problems = [f"unknown sample_id {sid!r}" for sid in by_sample if sid not in known]
    class_set = set(classes)
    for decision in decisions:
        for name in (decision.new_label, *decision.extra_labels):
            if name and name not in class_set:
                problems.append(f"{decision.sample_id}: unknown class {name!r}")
    for sample_id, group in by_sample.items():
        outcomes = {(d.action, d.new_label, tuple(sorted(d.extra_labels))) for d in group if d.action not in ("keep", "unsure")}
        keeps = [d for d in group if d.action == "keep"]
        if len(outcomes) > 1 or (outcomes and keeps):
            who = ", ".join(f"{d.annotator}: {d.summary() if hasattr(d, 'summary') else d.action}" for d in group)
            problems.append(f"{sample_id}: conflicting decisions ({who}); pass --annotator to choose")
    if problems:
        raise ApplyError(f"refusing to apply {len(problems)} problem(s):", problems)
    mapping = resolve_merges(merges, classes)

    report = ApplyReport(merges=[f"{r.class_a} + {r.class_b} -> {r.into}" for r in merges.itertuples(index=False)]
                         if merges is not None and not merges.empty else [])
    rows, changes = [], []
    for sample_id, split, label in zip(samples["sample_id"], samples["split"], samples["label"]):
        old = classes[int(label)]
        group = [d for d in by_sample.get(sample_id, []) if d.action not in ("keep", "unsure")]
        decision = group[0] if group else None
        new, extra, action = old, (), "unchanged"
        if decision is not None and decision.action == "remove":
            report.removed += 1
            changes.append((sample_id, old, "", "remove"))
            continue
        if decision is not None and decision.action == "relabel":
            new, action = decision.new_label, "relabel"
        elif decision is not None and decision.action == "multi_label":
            extra, action = decision.extra_labels, "multi_label"
        final = mapping[new]
        final_extra = sorted({mapping[e] for e in extra} - {final})
        if action == "relabel":
            report.relabeled += 1
        elif action == "multi_label":
            report.multi_label += 1
        elif final != old:
            action = "merge"
            report.merged += 1
        else:
            report.unchanged += 1
        if action != "unchanged":
            changes.append((sample_id, old, final, action))
        rows.append((sample_id, final, split, ";".join(final_extra)))
    report.changes = pd.DataFrame(changes, columns=["sample_id", "old_label", "new_label", "action"])
    return pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)), report


def manifest_csv(manifest: pd.DataFrame) -> str:
    """CSV text of a cleaned manifest (columns :data:`MANIFEST_COLUMNS`, as :func:`apply_decisions` returns it).

    Every cell goes through :func:`indoor.decisions.csvio.neutralise`: one starting with = + - @ tab CR or a quote
    gets a leading "'" (a merge target ``=cmd|...`` is written ``'=cmd|...``); a reader restores the value with
    :func:`indoor.decisions.csvio.unneutralise`.
    """
    columns = list(MANIFEST_COLUMNS)
    return csv_text(columns, manifest[columns].itertuples(index=False, name=None))


def write_manifest(manifest: pd.DataFrame, path: str | Path) -> None:
    """Write :func:`manifest_csv` of ``manifest`` to ``path`` (UTF-8, CRLF line ends as written)."""
    Path(path).write_text(manifest_csv(manifest), encoding="utf-8", newline="")
