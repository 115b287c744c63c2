"""Data set layouts: find images and labels on disk.

Layouts (auto-detected by :func:`discover`):

* ``indoor67`` -- MIT Indoor 67: ``ROOT/Images/<class>/<file>`` plus ``TrainImages.txt`` and ``TestImages.txt``
  (lines like ``kitchen/int474.jpg``) in ROOT or beside it.
* ``split-folders`` -- ``ROOT/train/<class>/...`` and ``ROOT/test/<class>/...`` (optional ``ROOT/val/<class>``).
* ``flat`` -- ``ROOT/<class>/...``; a seeded, stratified split (``test_fraction``).
* ``manifest`` -- a CSV ``path,label[,split]`` with paths relative to ROOT.

Every image gets a stable ``sample_id``: its path relative to ROOT with forward slashes. Problems with the
*layout* raise :class:`DataError` with a message that names the file or line; problems with single *images*
(unreadable, truncated, empty, too large) are left to :func:`indoor.data.images.load_rgb`, whose :class:`ImageLoadError` the build
turns into a listed skip.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from indoor.data.paths import inside, unsafe_reason
from indoor.decisions.csvio import unneutralise

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".jfif"})
SPLITS = ("train", "val", "test")
LAYOUTS = ("indoor67", "split-folders", "flat", "manifest")


class DataError(ValueError):
    """The data set on disk cannot be used as it is; the message says what and where."""


@dataclass
class DatasetIndex:
    """What :func:`discover` found: classes and one row per image.

    ``samples`` columns: ``sample_id`` (str), ``path`` (absolute str), ``split`` (train/val/test), ``label`` (int
    index into ``classes``). ``missing`` lists ``(sample_id, reason)`` for listed files that do not exist.
    """

    root: Path
    layout: str
    classes: list[str]
    samples: pd.DataFrame
    missing: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = self.samples["split"].value_counts().to_dict()
        parts = ", ".join(f"{counts[s]} {s}" for s in SPLITS if s in counts)
        return f"{self.layout} layout at {self.root}: {len(self.classes)} classes, {parts}"


# --------------------------------------------------------------------------------------------------- discover


def discover(
    root: str | Path,
    *,
    manifest: str | Path | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> DatasetIndex:
    """Find the images under ``root`` (layout auto-detected, or the CSV ``manifest``) and their labels/splits."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"data root does not exist: {root}")
    if not root.is_dir():
        raise DataError(f"data root is not a folder: {root}")
    root = root.resolve()
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}")

    if manifest is not None:
        index = _from_manifest(root, Path(manifest).expanduser(), test_fraction, seed)
    else:
        indoor_files = _indoor67_split_files(root)
        if (root / "Images").is_dir() and indoor_files:
            index = _from_indoor67(root, *indoor_files)
        elif (root / "train").is_dir():
            index = _from_split_folders(root)
        else:
            index = _from_flat(root, test_fraction, seed)
    _check_classes(index)
    return index


def _indoor67_split_files(root: Path) -> tuple[Path, Path] | None:
    for folder in (root, root.parent):
        train, test = folder / "TrainImages.txt", folder / "TestImages.txt"
        if train.is_file() and test.is_file():
            return train, test
    return None


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _class_dirs(folder: Path) -> list[Path]:
    """Class folders: not hidden, not a symbolic link out of ``folder``, and with a UTF-8 name."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
                  and unsafe_reason(folder, p.name) is None)


def _skipped_folders(folder: Path) -> list[str]:
    """Notes for the folders :func:`_class_dirs` leaves out because they lead outside or have undecodable names."""
    return [f"skipped folder {_printable(str(p))}: {unsafe_reason(folder, p.name)}" for p in sorted(folder.iterdir())
            if p.is_dir() and not p.name.startswith((".", "_")) and unsafe_reason(folder, p.name) is not None]


def _printable(text: str) -> str:
    """A file name that may hold undecodable bytes, made safe to store and print."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if _is_image(p))


def _relative_id(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _from_indoor67(root: Path, train_file: Path, test_file: Path) -> DatasetIndex:
    images = root / "Images"
    rows: list[tuple[str, str, str, str]] = []
    missing: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for split, list_file in (("train", train_file), ("test", test_file)):
        text = list_file.read_text(encoding="utf-8", errors="replace")
        for line_no, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            parts = line.replace("\\", "/").split("/")
            if len(parts) != 2 or not all(parts) or ".." in parts:
                raise DataError(
                    f"{list_file.name} line {line_no}: expected '<class>/<file>', got {raw.strip()!r}"
                )
            class_name = parts[0]
            sample_id = f"Images/{line}"
            where = f"{list_file.name} line {line_no}"
            if sample_id in seen:
                raise DataError(f"duplicate path {line!r}: {seen[sample_id]} and {where}")
            seen[sample_id] = where
            path = images / class_name / parts[1]
            if not path.is_file():
                missing.append((sample_id, f"listed in {where} but not on disk"))
                continue
            rows.append((sample_id, str(path), split, class_name))
    class_names = sorted(p.name for p in _class_dirs(images))
    notes = []
    unlisted = sum(1 for _ in images.rglob("*") if _is_image(_)) - len(rows)
    if unlisted > 0:
        notes.append(f"{unlisted} images under Images/ are in neither split file and were left out")
    return _make_index(root, "indoor67", rows, missing, notes, class_names)


def _from_split_folders(root: Path) -> DatasetIndex:
    if not (root / "test").is_dir():
        raise DataError(f"found {root / 'train'} but no {root / 'test'}: the split-folders layout needs both")
    rows = []
    class_names: set[str] = set()
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            continue
        loose = [p.name for p in split_dir.iterdir() if _is_image(p)]
        if loose:
            raise DataError(f"{split_dir} holds images directly ({loose[0]}, ...); put them in <class>/ folders")
        for class_dir in _class_dirs(split_dir):
            if split == "train":
                class_names.add(class_dir.name)
            for path in _images_in(class_dir):
                rows.append((_relative_id(root, path), str(path), split, class_dir.name))
    train_classes = {p.name for p in _class_dirs(root / "train")}
    for class_name in sorted(train_classes):
        if not _images_in(root / "train" / class_name):
            raise DataError(f"class {class_name!r} is empty: {root / 'train' / class_name} has no images")
    notes = [note for split in SPLITS if (root / split).is_dir() for note in _skipped_folders(root / split)]
    return _make_index(root, "split-folders", rows, [], notes, sorted(class_names))


def _from_flat(root: Path, test_fraction: float, seed: int) -> DatasetIndex:
    class_dirs = _class_dirs(root)
    loose = [p.name for p in root.iterdir() if _is_image(p)]
    if not class_dirs:
        if loose:
            raise DataError(
                f"unknown layout at {root}: images lie directly in the root ({loose[0]}, ...). Expected "
                "<class>/ folders, train/ and test/ folders, Images/ + TrainImages.txt (MIT Indoor 67), "
                "or --manifest labels.csv"
            )
        raise DataError(f"no classes found in {root}: expected one sub-folder of images per class")
    if loose:
        raise DataError(
            f"unknown layout at {root}: both loose images ({loose[0]}, ...) and class folders. Move the loose "
            "images into class folders or use --manifest"
        )
    rows = []
    for class_dir in class_dirs:
        images = _images_in(class_dir)
        if not images:
            raise DataError(f"class {class_dir.name!r} is empty: {class_dir} has no images")
        ids = [_relative_id(root, p) for p in images]
        test_ids = _stratified_test_ids(ids, test_fraction, seed)
        rows.extend(
            (sample_id, str(path), "test" if sample_id in test_ids else "train", class_dir.name)
            for sample_id, path in zip(ids, images)
        )
    return _make_index(root, "flat", rows, [], _skipped_folders(root), [d.name for d in class_dirs])


def _stratified_test_ids(ids: list[str], test_fraction: float, seed: int) -> set[str]:
    """Seeded split of one class: the same ids get the same split on every rebuild, whatever the order."""
    if len(ids) < 2:
        return set()
    ranked = sorted(ids, key=lambda s: hashlib.sha1(f"{seed}:{s}".encode("utf-8", "surrogateescape")).hexdigest())
    n_test = min(len(ids) - 1, max(1, round(test_fraction * len(ids))))
    return set(ranked[:n_test])


def _from_manifest(root: Path, manifest: Path, test_fraction: float, seed: int) -> DatasetIndex:
    if not manifest.is_file():
        raise DataError(f"manifest not found: {manifest}")
    text = read_csv_text(manifest)
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DataError(f"{manifest.name} is empty: expected a header 'path,label[,split]'") from None
    except csv.Error as exc:
        raise DataError(f"{manifest.name} line 1: {exc}") from None
    for required in ("path", "label"):
        if required not in header:
            raise DataError(f"{manifest.name} line 1: missing column {required!r} (header must be path,label[,split])")
    col = {name: header.index(name) for name in header}
    has_split = "split" in col
    rows, missing = [], []
    seen: dict[str, int] = {}
    root_resolved = root.resolve()
    for line_no, record in _records(reader, manifest.name):
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) < len(header):
            raise DataError(f"{manifest.name} line {line_no}: expected {len(header)} fields, got {len(record)}")
        raw_path = unneutralise(record[col["path"]]).strip()  # a manifest `indoor apply` wrote: formula-guarded
        label = unneutralise(record[col["label"]]).strip()
        if not raw_path:
            raise DataError(f"{manifest.name} line {line_no}: empty path")
        if not label:
            raise DataError(f"{manifest.name} line {line_no}: empty label for {raw_path!r}")
        candidate = Path(raw_path)
        resolved = inside(root_resolved, candidate)
        if candidate.is_absolute() or resolved is None:
            raise DataError(f"{manifest.name} line {line_no}: path {raw_path!r} escapes the data root {root}")
        sample_id = resolved.relative_to(root_resolved).as_posix()
        if sample_id in seen:
            raise DataError(f"{manifest.name} line {line_no}: duplicate path {raw_path!r} (first on line {seen[sample_id]})")
        seen[sample_id] = line_no
        split = unneutralise(record[col["split"]]).strip().lower() if has_split else ""
        if has_split and split not in SPLITS:
            raise DataError(f"{manifest.name} line {line_no}: split {split!r} is not one of train, val, test")
        if not resolved.is_file():
            missing.append((sample_id, f"listed in {manifest.name} line {line_no} but not on disk"))
            continue
        rows.append((sample_id, str(resolved), split, label))
    if not rows:
        raise DataError(f"{manifest.name} lists no existing images under {root}")
    if not has_split:
        by_class: dict[str, list[str]] = {}
        for sample_id, _, _, label in rows:
            by_class.setdefault(label, []).append(sample_id)
        test_ids = set().union(*(_stratified_test_ids(ids, test_fraction, seed) for ids in by_class.values()))
        rows = [(s, p, "test" if s in test_ids else "train", label) for s, p, _, label in rows]
    classes = sorted({label for *_, label in rows})
    return _make_index(root, "manifest", rows, missing, [], classes)


MAX_CELL_CHARS = 4096  # a path or a label longer than this is a broken file, not data


def read_csv_text(path: Path) -> str:
    """A CSV file's text, strictly UTF-8 (a BOM is fine): a Latin-1 or binary file is refused with the line of its
    first bad byte instead of silently turning ``café`` into ``caf�``; NUL bytes are refused too."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path.name} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as "
                        "CSV UTF-8 and try again") from None
    if "\x00" in text:
        raise DataError(f"{path.name} line {text[: text.index(chr(0))].count(chr(10)) + 1}: contains a NUL byte "
                        "(a binary file?)")
    return text


def _records(reader, name: str):
    """(line number, cells) of a csv reader, with a message naming the line for a malformed or oversized cell."""
    line_no = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{name} line {reader.line_num}: {exc}") from None
        line_no += 1
        long = next((cell for cell in record if len(cell) > MAX_CELL_CHARS), None)
        if long is not None:
            raise DataError(f"{name} line {reader.line_num}: a cell of {len(long):,} characters (at most "
                            f"{MAX_CELL_CHARS:,}); is this the right file?")
        yield reader.line_num, record


def _make_index(root, layout, rows, missing, notes, class_names) -> DatasetIndex:
    safe = []
    for row in rows:  # one containment check for every layout: nothing outside ROOT is read
        reason = unsafe_reason(root, row[1])
        if reason is None:
            safe.append(row)
        else:
            missing.append((_printable(row[0]), f"skipped: {reason}"))
    rows = safe
    if not class_names:
        raise DataError(f"no classes found in {root}")
    frame = pd.DataFrame(rows, columns=["sample_id", "path", "split", "class_name"])
    unknown = sorted(set(frame["class_name"]) - set(class_names))
    if unknown:
        test_only = [c for c in unknown if set(frame.loc[frame["class_name"] == c, "split"]) <= {"test", "val"}]
        if test_only:
            raise DataError(
                f"class {test_only[0]!r} appears only in the test/val split ({len(test_only)} such classes): "
                "a classifier cannot learn it"
            )
        class_names = sorted(set(class_names) | set(unknown))
    classes = list(class_names)
    lookup = {name: i for i, name in enumerate(classes)}
    frame["label"] = frame["class_name"].map(lookup).astype("int64")
    frame = frame.drop(columns="class_name").sort_values("sample_id", kind="stable").reset_index(drop=True)
    return DatasetIndex(root=Path(root), layout=layout, classes=classes, samples=frame, missing=missing, notes=notes)


def _check_classes(index: DatasetIndex) -> None:
    samples = index.samples
    if samples.empty:
        raise DataError(f"no images found under {index.root}")
    train_counts = samples.loc[samples["split"] == "train", "label"].value_counts()
    for label, class_name in enumerate(index.classes):
        in_any = int((samples["label"] == label).sum())
        if in_any == 0:
            raise DataError(f"class {class_name!r} is empty: no images listed for it")
        if int(train_counts.get(label, 0)) == 0:
            raise DataError(f"class {class_name!r} appears only in the test/val split: a classifier cannot learn it")
    if (samples["split"] == "test").sum() == 0:
        index.notes.append("no test split: metrics are out-of-fold on train only")
