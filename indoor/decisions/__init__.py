"""Decisions: what a reviewer decided per image, stored in SQLite beside the cache, exported and imported as CSV,
applied to a manifest; plus class definition cards and review queues.

Modules: ``model`` (the Decision, vocabularies, validation), ``db`` (the SQLite file: schema, WAL, transactions),
``store`` (DecisionStore), ``csvio`` (CSV export/import and the formula-injection guard), ``cards`` (class
definition cards), ``queue`` (review queues), ``apply`` (decisions -> a cleaned manifest).

The names below are the public API of the decision model, store and CSV I/O."""

from indoor.decisions.csvio import (
    csv_text,
    export_csv,
    import_csv,
    import_merges_csv,
    merges_csv,
    neutralise,
    unneutralise,
)
from indoor.decisions.db import SCHEMA_VERSION
from indoor.decisions.model import (
    ACTIONS,
    CURRENT_COLUMNS,
    EXPORT_COLUMNS,
    HISTORY_COLUMNS,
    MERGE_COLUMNS,
    TAGS,
    UNDO,
    Decision,
    DecisionError,
    decisions_from_frame,
)
from indoor.decisions.store import DecisionStore

__all__ = ["ACTIONS", "TAGS", "UNDO", "SCHEMA_VERSION", "CURRENT_COLUMNS", "HISTORY_COLUMNS", "EXPORT_COLUMNS", "MERGE_COLUMNS", "DecisionError", "Decision", "DecisionStore", "decisions_from_frame", "export_csv", "import_csv", "import_merges_csv", "merges_csv", "neutralise", "unneutralise", "csv_text"]
