"""Predictions made elsewhere: read a CSV or parquet file of per-image class probabilities and check every row.

The file has one row per image with columns ``path`` (relative to the data root, or absolute inside it),
``label`` (the given class name) and ``split`` (train / val / test), plus the probabilities as either

* one numeric column per class, named by the class (``pd.DataFrame(model.predict_proba(X),
  columns=model.classes_)``), or
* one list column (``probs``, or any single column of lists; a CSV holds it as ``"[0.1, 0.9]"``) in the order of
  ``classes`` (default: the labels sorted, which is scikit-learn's ``classes_`` order).

Every problem is one :class:`~indoor.data.layouts.DataError` naming the first offending row and how many there
are: a missing column, a path outside the root or not on disk, a duplicate path, an unknown split, a label without
a probability column, a class without an image, a value that is not a number, NaN or infinite, negative, or a row
that does not sum to 1 (``logits=True`` soft-maxes raw scores instead), and embeddings of the wrong shape.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from indoor.data.layouts import SPLITS, DataError, read_csv_text
from indoor.data.paths import inside

SUM_TOLERANCE = 1e-3  # a row of probabilities must sum to 1 within this
REQUIRED = ("path", "label", "split")
LIST_COLUMN = "probs"


@dataclass
class Predictions:
    """A checked predictions file: ``samples`` (sample_id, path, split, label index) sorted by sample_id, and in
    the same row order ``probs`` (N, C) rows summing to 1 and ``embeddings`` (N, D) when given."""

    root: Path
    classes: list[str]
    samples: pd.DataFrame
    probs: np.ndarray
    embeddings: np.ndarray | None = None
    embeddings_from: str = ""  # "column NAME" or "file NAME.npy" when given
    notes: list[str] = field(default_factory=list)


def read_predictions(path: str | Path, *, root: str | Path, embeddings: str | None = None, logits: bool = False,
                     classes: Sequence[str] | None = None) -> Predictions:
    """Read and check a predictions file (see the module docstring). ``embeddings``: a ``.npy`` file with one row
    per predictions row (the file's order) or the name of a list column; ``classes``: the order of a list
    column's entries."""
    path, root = Path(path).expanduser(), Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data root is not a folder: {root}")
    root = root.resolve()
    frame = _read_frame(path)
    name = _Name(path.name)
    name.csv = path.suffix.lower() == ".csv"
    columns = _required_columns(frame, name)
    embedding_column = embeddings if embeddings is not None and embeddings in frame.columns else None
    rest = [c for c in frame.columns if c not in columns.values() and c != embedding_column]
    if frame.empty:
        raise DataError(f"{name} has no rows")
    labels = [_cell(v) for v in frame[columns["label"]]]
    if "" in labels:
        raise DataError(f"{name.at(labels.index(''))}: empty label")
    class_names, matrix, notes = _probabilities(frame, rest, labels, classes, name)
    probs = _check_probabilities(matrix, class_names, logits, name)
    sample_ids, paths = _paths(frame[columns["path"]], root, name)
    splits = [_cell(v).lower() for v in frame[columns["split"]]]
    bad = [i for i, s in enumerate(splits) if s not in SPLITS]
    if bad:
        raise DataError(f"{name.at(bad[0])}: split {splits[bad[0]]!r} is not one of train, val, test "
                        f"({_such(len(bad))})")
    order = sorted(class_names)  # the class order of every cache: names sorted, as the build's layouts have them
    position = {c: i for i, c in enumerate(order)}
    probs = probs[:, [class_names.index(c) for c in order]]
    samples = pd.DataFrame({"sample_id": sample_ids, "path": paths, "split": splits,
                            "label": np.array([position[label] for label in labels], dtype=np.int64)})
    vectors, embeddings_from = _embeddings(embeddings, frame, len(frame), name) if embeddings is not None else (None, "")
    rows = np.argsort(samples["sample_id"].to_numpy(), kind="stable")
    return Predictions(root=root, classes=order, samples=samples.iloc[rows].reset_index(drop=True),
                       probs=probs[rows], embeddings=None if vectors is None else vectors[rows],
                       embeddings_from=embeddings_from, notes=notes)


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"predictions file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(io.StringIO(read_csv_text(path)), dtype=str, keep_default_na=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except DataError:
        raise
    except Exception as exc:  # pandas and pyarrow raise many types for a damaged file
        raise DataError(f"{path.name} is unreadable: {str(exc)[:300]}") from None
    raise DataError(f"{path.name}: predictions must be a .csv or .parquet file")


def _required_columns(frame: pd.DataFrame, name: str) -> dict[str, Any]:
    found = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise DataError(f"{name}: missing column(s) {', '.join(map(repr, missing))}; a predictions file needs "
                        "path, label, split and one probability column per class (or a 'probs' list column)")
    return {c: found[c] for c in REQUIRED}


class _Name(str):
    """The predictions file's name, which also says how to point at one of its rows: a CSV's line (the header
    is line 1), a parquet file's row (the first is 1)."""

    csv = False

    def line(self, index: int) -> str:
        return f"line {index + 2}" if self.csv else f"row {index + 1}"

    def at(self, index: int) -> str:
        return f"{self} {self.line(index)}"


def _such(n: int) -> str:
    return f"{int(n)} such row{'' if int(n) == 1 else 's'}"


def _cell(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) or (isinstance(value, str) and value.strip().startswith("["))


def _probabilities(frame: pd.DataFrame, rest: list, labels: list[str], classes: Sequence[str] | None, name: _Name
                   ) -> tuple[list[str], np.ndarray, list[str]]:
    """(class names in the file's order, the (N, C) raw values, notes) from per-class columns or a list column."""
    list_columns = [c for c in rest if len(frame) and _is_list(frame[c].iloc[0])]
    if LIST_COLUMN in rest and LIST_COLUMN not in list_columns:
        raise DataError(f"{name.at(0)}: column {LIST_COLUMN!r} must hold a list of probabilities per row")
    if len(list_columns) > 1:
        raise DataError(f"{name}: several list columns ({', '.join(map(repr, list_columns))}); keep one list of "
                        "probabilities (pass the other as --embeddings COLUMN)")
    notes: list[str] = []
    if list_columns:
        column = list_columns[0]
        ignored = [str(c) for c in rest if c != column]
        if ignored:
            notes.append(f"{name}: column(s) {', '.join(ignored)} ignored")
        names = list(classes) if classes is not None else sorted(set(labels))
        matrix = _stack(frame[column], name, f"column {column!r}", width=len(names))
        if matrix.shape[1] != len(names):
            raise DataError(f"{name.at(0)}: column {column!r} has {matrix.shape[1]} probabilities but "
                            f"{'--classes names' if classes is not None else 'the labels name'} {len(names)} "
                            "classes; pass --classes with every class in the list's order")
    else:
        if not rest:
            raise DataError(f"{name}: no probability columns: add one column per class, named by the class, or a "
                            f"{LIST_COLUMN!r} list column")
        names = [str(c).strip() for c in rest]
        if classes is not None and list(classes) != names:
            raise DataError(f"{name}: --classes is only for a list column; the class columns name the classes")
        matrix = np.empty((len(frame), len(rest)), dtype=np.float64)
        for j, column in enumerate(rest):
            matrix[:, j] = _numbers(frame[column], name, f"column {column!r}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataError(f"{name}: class {duplicates[0]!r} has two probability columns")
    known = set(names)
    unknown = [i for i, label in enumerate(labels) if label not in known]
    if unknown:
        missing = sorted({labels[i] for i in unknown})
        raise DataError(f"{name.at(unknown[0])}: label {labels[unknown[0]]!r} has no probability column "
                        f"(missing class{'es' if len(missing) > 1 else ''}: {', '.join(map(repr, missing[:8]))})")
    empty = [n for n in names if n not in set(labels)]
    if empty:
        raise DataError(f"{name}: class {empty[0]!r} has a probability column but no image is labelled with it "
                        f"({len(empty)} such): every class needs at least one image (is it a column to drop?)")
    return names, matrix, notes


def _numbers(values: pd.Series, name: _Name, where: str) -> np.ndarray:
    """A column as floats; a value that is not a number is an error naming its row (empty cells become NaN)."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64)
    text = values.map(_cell)
    numbers = pd.to_numeric(text.where(text != "", "nan"), errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & ~text.str.lower().isin(["", "nan"]).to_numpy())
    if len(bad):
        raise DataError(f"{name.at(bad[0])}: {where} value {text.iat[bad[0]][:40]!r} is not a number")
    return numbers.to_numpy(dtype=np.float64)


def _stack(values: pd.Series, name: _Name, where: str, *, width: int | None = None) -> np.ndarray:
    """A list column as an (N, K) float array; rows of other lengths or with non-numbers are refused."""
    rows = []
    for i, value in enumerate(values):
        if isinstance(value, str):
            try:
                value = json.loads(value.replace("nan", "NaN"))
            except ValueError:
                raise DataError(f"{name.at(i)}: {where} holds {value[:40]!r}, not a list of numbers") from None
        try:
            row = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{name.at(i)}: {where} holds something that is not a list of numbers") from None
        if row.ndim != 1 or (rows and len(row) != len(rows[0])):
            expected = len(rows[0]) if rows else width
            raise DataError(f"{name.at(i)}: {where} has {row.size} values, the rows before it {expected}")
        rows.append(row)
    return np.vstack(rows) if rows else np.zeros((0, width or 0))


def _check_probabilities(matrix: np.ndarray, classes: list[str], logits: bool, name: _Name) -> np.ndarray:
    nan = np.isnan(matrix)
    if nan.any():
        i, j = np.argwhere(nan)[0]
        raise DataError(f"{name.at(i)}: the {'score' if logits else 'probability'} of {classes[j]!r} is "
                        f"missing or NaN ({_such(int(nan.any(axis=1).sum()))})")
    infinite = ~np.isfinite(matrix)
    if infinite.any():
        i, j = np.argwhere(infinite)[0]
        raise DataError(f"{name.at(i)}: the value for {classes[j]!r} is infinite "
                        f"({_such(int(infinite.any(axis=1).sum()))})")
    if logits:
        shifted = matrix - matrix.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)
    negative = matrix < 0
    if negative.any():
        i, j = np.argwhere(negative)[0]
        raise DataError(f"{name.at(i)}: the probability of {classes[j]!r} is negative ({matrix[i, j]:g}; "
                        f"{_such(int(negative.any(axis=1).sum()))}); raw scores? pass --logits")
    sums = matrix.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if len(off):
        raise DataError(f"{name.at(off[0])}: the probabilities sum to {sums[off[0]]:.4g}, not 1 (within "
                        f"{SUM_TOLERANCE:g}; {_such(len(off))}); raw scores? pass --logits")
    return matrix / sums[:, None]


def _paths(values: pd.Series, root: Path, name: _Name) -> tuple[list[str], list[str]]:
    """(sample_ids relative to ``root``, absolute paths) of the path column; escaping, missing and duplicate
    paths are refused."""
    sample_ids, paths, seen = [], [], {}
    not_files: list[int] = []
    for i, value in enumerate(values):
        raw = _cell(value)
        if not raw:
            raise DataError(f"{name.at(i)}: empty path")
        resolved = inside(root, raw)
        if resolved is None:
            raise DataError(f"{name.at(i)}: path {raw!r} escapes the data root {root}")
        sample_id = resolved.relative_to(root).as_posix()
        if sample_id in seen:
            raise DataError(f"{name.at(i)}: duplicate path {raw!r} (first on {name.line(seen[sample_id])})")
        seen[sample_id] = i
        if not resolved.is_file():
            not_files.append(i)
        sample_ids.append(sample_id)
        paths.append(str(resolved))
    if not_files:
        first = _cell(values.iloc[not_files[0]])
        raise DataError(f"{name.at(not_files[0])}: no image at {first!r} under {root} ({_such(len(not_files))}"
                        "); are the paths relative to --data?")
    return sample_ids, paths


def _embeddings(source: str, frame: pd.DataFrame, n_rows: int, name: _Name) -> tuple[np.ndarray, str]:
    """The given embeddings, one row per predictions row (a ``.npy`` file or a list column), and where from."""
    if source in frame.columns:
        vectors = _stack(frame[source], name, f"embedding column {source!r}")
        where = f"column {source}"
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise DataError(f"--embeddings {source!r} is neither a column of {name} nor a .npy file")
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path.name} is not a readable .npy array: {exc}") from None
        where = f"file {path.name}"
        if vectors.ndim != 2 or vectors.shape[0] != n_rows or not np.issubdtype(vectors.dtype, np.number):
            raise DataError(f"{where} has shape {vectors.shape} ({vectors.dtype}); expected ({n_rows}, D) numbers: "
                            f"one row per row of {name}, in its order")
    if vectors.shape[1] < 2:
        raise DataError(f"embeddings from {where} have {vectors.shape[1]} dimension(s); at least 2 are needed")
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        raise DataError(f"{name.at(int(np.flatnonzero(~finite)[0]))}: the embedding from {where} has NaN or "
                        f"infinite values ({_such(int((~finite).sum()))})")
    return vectors.astype(np.float32), where
