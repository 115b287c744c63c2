"""The command line's "your own model" parts: ``build``'s options for a local checkpoint (``--weights``,
``--head``, ``--class-map``, preprocessing) and the ``import`` command (predictions from any framework)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _floats3(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three numbers R,G,B such as 0.5,0.5,0.5, got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers R,G,B, got {len(values)}")
    return values  # type: ignore[return-value]


def add_checkpoint_options(build: argparse.ArgumentParser) -> None:
    """``build --weights FILE`` and what goes with it."""
    group = build.add_argument_group(
        "your own model", "Build from your own weights for --backbone's architecture (timm name or tv:<name>), "
                          "offline: nothing is downloaded. With --weights, --image-size defaults to the "
                          "architecture's pretrained input size.")
    group.add_argument("--weights", default=None, metavar="FILE",
                       help="a state dict (.pt/.pth/.bin, read with torch.load(weights_only=True), or .safetensors); "
                            "a 'state_dict'/'model' wrapper and 'module.' prefixes are fine; the class names may "
                            "ride along as 'classes' (a list in output order) or 'class_to_idx'")
    group.add_argument("--head", choices=("probe", "model"), default="probe",
                       help="probe (default): a linear probe on the checkpoint's penultimate features for every "
                            "split; model: the checkpoint's own classifier for val/test (train stays out-of-fold "
                            "from the probe)")
    group.add_argument("--class-map", default=None, metavar="FILE|sorted",
                       help="the classifier's output order: one class name per line, a JSON list or a JSON "
                            "class_to_idx object; 'sorted': alphabetical (torchvision ImageFolder). Default: the "
                            "names stored in the checkpoint")
    group.add_argument("--weights-independent", action="store_true",
                       help="the checkpoint never saw this data set's train labels (e.g. trained elsewhere): treat "
                            "the probe's out-of-fold train probabilities as out-of-sample")
    group.add_argument("--mean", type=_floats3, default=None, metavar="R,G,B",
                       help="normalisation mean (default: the architecture's pretrained config)")
    group.add_argument("--std", type=_floats3, default=None, metavar="R,G,B", help="normalisation std (likewise)")
    group.add_argument("--interpolation", choices=("bilinear", "bicubic", "nearest", "lanczos"), default=None,
                       help="resize filter (default: the pretrained config's with --weights, else bilinear)")
    group.add_argument("--crop-pct", type=float, default=None,
                       help="centre crop fraction: resize the shorter side to size/crop-pct, crop size (default: "
                            "the pretrained config's with --weights, else 1)")
    build.set_defaults(image_size=None)  # with --weights: the architecture's input size; else 224


def checkpoint_options(args: argparse.Namespace) -> dict[str, Any]:
    """BuildOptions fields from ``add_checkpoint_options``' arguments ({} for a command without them)."""
    if not hasattr(args, "weights"):
        return {}
    return {"weights": args.weights, "head": args.head, "class_map": args.class_map,
            "weights_independent": args.weights_independent, "mean": args.mean, "std": args.std,
            "interpolation": args.interpolation, "crop_pct": args.crop_pct,
            "image_size": args.image_size if args.image_size is not None else (None if args.weights else 224)}


def add_import_command(commands) -> None:
    command = commands.add_parser(
        "import", help="make a cache from predictions of any framework (CSV or parquet)",
        description="Check a predictions file (rows path,label,split plus one probability column per class or a "
                    "'probs' list column; paths relative to --data) and build a cache from it: thumbnails, image "
                    "properties, UMAP (from --embeddings, else from the default backbone) and every analysis. "
                    "Train probabilities count as in-sample unless --out-of-sample: the analyses that need "
                    "out-of-sample probabilities then use val/test only, and say so.")
    command.add_argument("--data", type=Path, required=True, help="data root: the predictions' paths are inside it")
    command.add_argument("--predictions", type=Path, required=True, help="predictions .csv or .parquet")
    command.add_argument("--out", type=Path, required=True, help="cache folder to write (replaced atomically)")
    command.add_argument("--embeddings", default=None, metavar="FILE.npy|COLUMN",
                         help="embeddings: a .npy array with one row per predictions row (in its order), or a list "
                              "column of the predictions file (default: embed the images with --backbone)")
    command.add_argument("--out-of-sample", action="store_true",
                         help="the train split's probabilities are out-of-sample (cross-validated / out-of-fold)")
    command.add_argument("--logits", action="store_true", help="the values are raw scores (logits): soft-max them")
    command.add_argument("--classes", default=None, metavar="A,B,C|FILE",
                         help="the order of a list column's entries: comma-separated names or a file with one per "
                              "line (default: the labels sorted, scikit-learn's classes_ order)")
    group = command.add_argument_group("images")
    group.add_argument("--backbone", default="efficientnet_lite0",
                       help="backbone that embeds the images when --embeddings is not given (default: the offline "
                            "efficientnet_lite0)")
    group.add_argument("--image-size", type=int, default=224,
                       help="backbone input size (default 224); the images are decoded as a build at this size "
                            "decodes them, so Compare with such a build matches their pixels")
    group.add_argument("--thumb-size", type=int, default=128, help="thumbnail size in pixels (default 128)")
    group.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default 32)")
    group.add_argument("--workers", type=int, default=2, help="image-decoding worker processes (default 2)")
    group.add_argument("--seed", type=int, default=0, help="random seed for UMAP (default 0)")
    group.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    group.add_argument("--quiet", action="store_true", help="no progress bars")
    group.add_argument("--force", action="store_true",
                       help="write into --out even when it is a non-empty folder that is not a cache (what is in "
                            "the way is moved aside, never deleted)")


def run_import(args: argparse.Namespace):
    """``python -m indoor import``: the cache it wrote (DataError / CacheError / BuildError say what is wrong)."""
    from indoor.cache import check_target
    from indoor.cache.importer import ImportOptions, import_predictions
    from indoor.data.layouts import DataError

    check_target(args.out, force=args.force)
    classes = None
    if args.classes:
        source = Path(args.classes).expanduser()
        if source.is_file():
            classes = [line.strip() for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            classes = [name.strip() for name in args.classes.split(",") if name.strip()]
        if len(set(classes)) != len(classes) or not classes:
            raise DataError(f"--classes must name each class once, got {args.classes!r}")
    options = ImportOptions(
        embeddings=args.embeddings, logits=args.logits, out_of_sample=args.out_of_sample, classes=classes,
        backbone=args.backbone, image_size=max(32, args.image_size), batch_size=max(1, args.batch_size),
        workers=max(0, args.workers), thumb_size=max(16, args.thumb_size), seed=args.seed, device=args.device,
        progress=not args.quiet)
    return import_predictions(args.data, args.predictions, args.out, options, force=args.force)
