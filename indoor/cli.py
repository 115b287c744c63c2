"""Command line: ``python -m indoor {demo,build,info} ...`` (``--help`` on each explains every option)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from indoor.cli_model import add_checkpoint_options, add_import_command

DEFAULT_DEMO_OUT = Path("runs/demo")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _class_count(text: str) -> int:
    """The demo's class count: 10 hand-drawn classes at least, the 67 of MIT Indoor 67 at most."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 10 <= value <= 67:
        raise argparse.ArgumentTypeError(f"the demo has 10 to 67 classes, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _add_build_options(parser: argparse.ArgumentParser, *, image_size: int) -> None:
    group = parser.add_argument_group("model and training")
    group.add_argument("--backbone", default="efficientnet_lite0",
                       help="backbone: efficientnet_lite0 (offline ImageNet weights, default), any timm model name, "
                            "or tv:<torchvision name>; anything but the default downloads weights (needs internet)")
    group.add_argument("--image-size", type=_positive_int, default=image_size,
                       help=f"model input size in pixels: shorter side resized, centre crop (default {image_size})")
    group.add_argument("--folds", type=_positive_int, default=5,
                       help="k for the k-fold out-of-fold probabilities of the train split (default 5)")
    group.add_argument("--seed", type=int, default=0, help="random seed for splits, folds, head and UMAP (default 0)")
    group.add_argument("--head-c", type=float, default=None,
                       help="inverse L2 regularisation strength of the logistic-regression head (default 0.05)")
    group.add_argument("--batch-size", type=_positive_int, default=32, help="images per forward pass (default 32)")
    group.add_argument("--workers", type=int, default=2, help="image-decoding worker processes (default 2; 0 = in-process)")
    group.add_argument("--thumb-size", type=_positive_int, default=128, help="thumbnail size in pixels (default 128)")
    group.add_argument("--finetune-epochs", type=int, default=0,
                       help="fine-tune the backbone end to end for N epochs first (CUDA if present; slow on CPU; default 0)")
    group.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    group.add_argument("--region-crops", type=int, default=6000, metavar="N",
                       help="multi-class region evidence: score at most N crops (5 per image the model is unsure "
                            "of; default 6000, 0 = none: candidates from the probabilities alone). Besides them, up "
                            "to 5,000 crops of images whose label the model rejects (do both classes show?) and "
                            "3,000 of ordinary training images (they teach the region head what a crop of each "
                            "class looks like)")
    group.add_argument("--quiet", action="store_true", help="no progress bars")
    group.add_argument("--force", action="store_true",
                       help="build into --out even when it is a non-empty folder that is not a cache (what is in "
                            "the way is moved aside into moved-aside-<time>/, never deleted)")
    from indoor.cli_shortcuts import add_remedy_options

    add_remedy_options(parser)  # --augment, --augment-views, --shortcut-tests


def _options(args: argparse.Namespace):
    from indoor.cache.build import BuildOptions
    from indoor.model.probe import DEFAULT_HEAD_C

    from dataclasses import replace

    from indoor.cli_model import checkpoint_options

    options = BuildOptions(
        backbone=args.backbone, image_size=args.image_size, folds=args.folds, seed=args.seed,
        batch_size=args.batch_size, workers=max(0, args.workers), head_c=args.head_c or DEFAULT_HEAD_C,
        thumb_size=args.thumb_size, finetune_epochs=max(0, args.finetune_epochs), device=args.device,
        progress=not args.quiet, region_crops=max(0, args.region_crops),
    )
    from indoor.cli_shortcuts import remedy_options

    return replace(options, **checkpoint_options(args), **remedy_options(args))  # build --weights ... (indoor/cli_model.py)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m indoor",
        description="Build and inspect inference caches for the indoor error-analysis dashboard.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="render the offline demo data set and build its cache",
        description="Render procedurally drawn indoor scenes (with planted label errors, multi-class scenes, "
                    "brightness/colour shortcuts and near-duplicates; truth in <data>/truth.csv) and build a cache.",
    )
    demo.add_argument("--out", type=Path, default=DEFAULT_DEMO_OUT, help="cache folder to write (default runs/demo)")
    demo.add_argument("--data", type=Path, default=None,
                      help="where to render the images and truth.csv (default: <out>-data beside the cache)")
    demo.add_argument("--classes", type=_class_count, default=12, help="number of classes, 10..67 (default 12)")
    demo.add_argument("--per-class", type=_positive_int, default=130, help="images per class (default 130)")
    demo.add_argument("--render-size", type=_positive_int, default=256, help="rendered image size in pixels (default 256)")
    demo.add_argument("--test-fraction", type=_fraction, default=0.2, help="share of each class in test (default 0.2)")
    _add_build_options(demo, image_size=160)

    build = commands.add_parser(
        "build", help="build a cache from MIT Indoor 67, a folder of images or a CSV manifest",
        description="Embed every image with a frozen backbone, compute out-of-sample probabilities (k-fold for "
                    "train, full-train head for val/test), UMAP, image properties and thumbnails, and write the "
                    "cache atomically. Layouts: ROOT/Images + TrainImages.txt/TestImages.txt (MIT Indoor 67), "
                    "ROOT/train|val|test/<class>/..., ROOT/<class>/... (seeded stratified split), or --manifest.",
    )
    build.add_argument("--data", type=Path, required=True, help="data root folder")
    build.add_argument("--out", type=Path, required=True, help="cache folder to write (replaced atomically)")
    build.add_argument("--manifest", type=Path, default=None,
                       help="CSV with columns path,label[,split] (paths relative to --data)")
    build.add_argument("--test-fraction", type=_fraction, default=0.2,
                       help="test share per class when the layout has no split (default 0.2)")
    _add_build_options(build, image_size=224)
    add_checkpoint_options(build)
    add_import_command(commands)

    apply = commands.add_parser(
        "apply", help="apply reviewed decisions (and merges) to a cache's data set: a cleaned CSV manifest",
        description="Apply the decisions CSV downloaded from the dashboard (relabel, remove, multi-label; keep and "
                    "unsure change nothing) and optional class merges to the images of a cache, and write a "
                    "manifest (path,label,split,extra_labels) for `python -m indoor build --manifest`. Unknown "
                    "sample ids or classes, and images that annotators decided differently, are refused with a "
                    "list of every problem; nothing is written then.",
    )
    apply.add_argument("--cache", type=Path, required=True, help="cache folder the decisions were made on")
    apply.add_argument("--decisions", type=Path, default=None,
                       help="decisions CSV (the dashboard's download); default: the cache's decisions store")
    apply.add_argument("--merges", type=Path, default=None,
                       help="merges CSV (class_a,class_b,into); default: merges in the decisions store when "
                            "--decisions is not given")
    apply.add_argument("--annotator", default=None, help="use only this annotator's decisions (resolves conflicts)")
    apply.add_argument("--out", type=Path, required=True, help="manifest CSV to write")

    analyze = commands.add_parser(
        "analyze", help="recompute a cache's analysis tables (label issues, merges, shortcuts, duplicates)",
        description="Recompute the analysis tables of an existing cache from its stored probabilities, "
                    "embeddings and image properties, without re-embedding any image.")
    analyze.add_argument("cache", type=Path, help="cache folder, e.g. runs/demo")
    analyze.add_argument("--shortcut-tests", type=int, default=3, metavar="N",
                         help="keep every stored shortcut test (the images, model and bins are unchanged) and test "
                              "those of the N best-ranked findings that have none (needs the images; default 3)")

    info = commands.add_parser("info", help="validate a cache and print a summary",
                               description="Validate a cache folder and print a summary (or its metadata as JSON).")
    info.add_argument("cache", type=Path, help="cache folder, e.g. runs/demo")
    info.add_argument("--json", action="store_true", help="print the run metadata as JSON")

    decisions = commands.add_parser(
        "decisions", help="check or back up a cache's decisions store",
        description="check: SQLite's integrity check of <cache>/decisions.sqlite (exit 2 when damaged). backup: a "
                    "consistent copy (VACUUM INTO), safe while the dashboard is saving.")
    decisions.add_argument("action", choices=("check", "backup"))
    decisions.add_argument("cache", type=Path, help="cache folder, e.g. runs/demo")
    decisions.add_argument("--out", type=Path, default=None,
                           help="backup file (default: <cache>/decisions-backup-<time>.sqlite)")

    backbones = commands.add_parser(
        "backbones", help="list the backbones --backbone accepts",
        description="List the offline default backbone and, with a pattern, the timm and torchvision models that "
                    "match it (those download their pretrained weights, so they need internet).")
    backbones.add_argument("pattern", nargs="?", default=None, help='a glob such as "resnet*"')
    return parser


def _summary_line(cache) -> str:
    from indoor.cache import out_of_sample

    metrics = cache.meta["metrics"]
    parts = []
    for split in ("train", "val", "test"):
        if split in metrics and metrics[split]["top1"] is not None:
            label = split if split != "train" else (
                "train (out-of-fold)" if out_of_sample(cache.meta)["train"] else "train (in-sample)")
            parts.append(f"{label} top-1 {metrics[split]['top1']:.1%}")
    skipped = len(cache.meta["skipped"])
    return (f"{cache.path}: {len(cache.samples)} images, {len(cache.classes)} classes; " + ", ".join(parts)
            + (f"; {skipped} file(s) skipped" if skipped else ""))


def _cmd_demo(args: argparse.Namespace) -> int:
    from indoor.cache.build import build_cache
    from indoor.data.layouts import discover
    from indoor.data.synthetic import render_demo

    from indoor.cache import check_target

    check_target(args.out, force=args.force)  # before minutes of rendering
    started = time.perf_counter()
    data_dir = args.data or args.out.parent / f"{args.out.name}-data"
    summary = render_demo(data_dir, n_classes=args.classes, per_class=args.per_class, seed=args.seed,
                          size=args.render_size, test_fraction=args.test_fraction, workers=max(1, args.workers),
                          progress=not args.quiet)
    print(f"rendered {summary.n_images} images of {len(summary.classes)} classes into {summary.images_dir} "
          f"(truth: {summary.truth_path})")
    index = discover(summary.images_dir, seed=args.seed)
    cache = build_cache(index, args.out, _options(args), force=args.force)
    print(f"built {_summary_line(cache)} in {time.perf_counter() - started:.0f} s")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from indoor.cache.build import build_cache
    from indoor.data.layouts import DataError, discover

    from indoor.cache import check_target

    check_target(args.out, force=args.force)  # before any work
    started = time.perf_counter()
    index = discover(args.data, manifest=args.manifest, test_fraction=args.test_fraction, seed=args.seed)
    if len(index.classes) < 2:  # the build would find out after embedding every image
        raise DataError(f"a classifier needs at least two classes; {index.root} has only {index.classes[0]!r}: add "
                        "a folder of images per class")
    print(index.summary())
    for note in index.notes:
        print(f"note: {note}")
    cache = build_cache(index, args.out, _options(args), force=args.force)
    print(f"built {_summary_line(cache)} in {time.perf_counter() - started:.0f} s")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from indoor.cli_model import run_import

    started = time.perf_counter()
    cache = run_import(args)
    print(f"imported {_summary_line(cache)} in {time.perf_counter() - started:.0f} s")
    return 0


def _cmd_apply(args: argparse.Namespace) -> int:
    from indoor.cache import load_cache
    from indoor.data.layouts import read_csv_text
    from indoor.decisions import DecisionStore, decisions_from_frame, import_csv, import_merges_csv
    from indoor.decisions.apply import apply_decisions, write_manifest

    cache = load_cache(args.cache, check_thumbs=False)
    known_ids = set(cache.samples["sample_id"])
    merges = None
    if args.decisions is not None:
        if not args.decisions.is_file():
            raise FileNotFoundError(f"decisions CSV not found: {args.decisions}")
        decisions = import_csv(read_csv_text(args.decisions), classes=cache.classes, known_ids=known_ids)
    else:
        store = DecisionStore(cache.decisions_path, classes=cache.classes, known_ids=known_ids)
        decisions = decisions_from_frame(store.current())
        merges = store.merges()
    if args.merges is not None:
        if not args.merges.is_file():
            raise FileNotFoundError(f"merges CSV not found: {args.merges}")
        merges = import_merges_csv(read_csv_text(args.merges), classes=cache.classes)
    manifest, report = apply_decisions(cache.samples, cache.classes, decisions, merges=merges, annotator=args.annotator)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_manifest(manifest, args.out)  # every cell formula-guarded; the manifest reader undoes the guard
    print(f"applied {len(decisions)} decision(s): {report.summary()}")
    print(f"wrote {len(manifest)} rows to {args.out}; retrain with:")
    print(f"  python -m indoor build --data {cache.meta['data_root']} --manifest {args.out} --out {args.cache}-cleaned")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    import numpy as np

    from indoor.analysis.tables import build_tables
    from indoor.cache import in_sample_remedy, load_cache, out_of_sample, write_tables

    started = time.perf_counter()
    cache = load_cache(args.cache)
    thumbnails = [cache.thumb_path(row).read_bytes() for row in range(len(cache.samples))]
    tables = build_tables(cache.samples, np.asarray(cache.probs), np.asarray(cache.embeddings), cache.classes,
                          seed=int(cache.meta["seed"]), probs_out_of_sample=out_of_sample(cache.meta),
                          thumbnails=thumbnails, in_sample_remedy=in_sample_remedy(cache.meta),
                          regions=cache.table("regions") if cache.has_table("regions") else None)
    from indoor.cache.shortcut_tests import refresh_tests

    tables["shortcut_tests"] = refresh_tests(cache, tables, top=max(0, args.shortcut_tests), log=print)
    write_tables(cache.path, tables)
    print(f"wrote {len(tables)} analysis tables to {cache.path / 'analysis'} in {time.perf_counter() - started:.1f} s")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from indoor.cache import SOURCE_KINDS, cache_source, load_cache, probs_sources

    cache = load_cache(args.cache)
    if args.json:
        print(json.dumps(cache.meta, indent=2))
        return 0
    meta = cache.meta
    print(_summary_line(cache))
    print(f"  data: {meta['data_root']} ({meta['layout']} layout)")
    size = f", {meta['image_size']} px" if meta["image_size"] else ""
    print(f"  source: {SOURCE_KINDS[cache_source(meta)['kind']]}; backbone: {meta['backbone']['name']} "
          f"[{meta['backbone']['weights']}]{size}, seed {meta['seed']}")
    for split, made_by in probs_sources(meta).items():
        if (meta["metrics"].get(split) or {}).get("n"):
            print(f"  {split} probabilities: {made_by}")
    for split, values in meta["metrics"].items():
        if split != "all" and values["top1"] is not None:
            print(f"  {split:5s}: n={values['n']:6d}  top-1 {values['top1']:.1%}  top-5 {values['top5']:.1%}")
    for item in meta["skipped"][:20]:
        print(f"  skipped {item['sample_id']}: {item['reason']}")
    if len(meta["skipped"]) > 20:
        print(f"  ... and {len(meta['skipped']) - 20} more skipped (see --json)")
    return 0


def _cmd_decisions(args: argparse.Namespace) -> int:
    from indoor.decisions import DecisionError, DecisionStore

    path = args.cache / "decisions.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"no decisions store at {path}")
    try:
        store = DecisionStore(path)
    except DecisionError as exc:
        print(f"damaged or not a decisions store: {exc}", file=sys.stderr)
        return 2
    if args.action == "check":
        problems = store.integrity_problems(quick=False)
        if problems:
            print(f"damaged: {path}", file=sys.stderr)
            for problem in problems[:20]:
                print(f"  {problem}", file=sys.stderr)
            print("back it up with `python -m indoor decisions backup`, then move the file away (the dashboard "
                  "starts a fresh store); the sqlite3 shell's .recover can salvage rows from the copy", file=sys.stderr)
            return 2
        print(f"ok: {path} ({store.count()} current decisions)")
        return 0
    target = args.out or args.cache / f"decisions-backup-{time.strftime('%Y%m%d-%H%M%S')}.sqlite"
    existed = target.exists()
    try:
        print(f"backed up {path} to {store.backup(target)}")
    except DecisionError as exc:
        if existed:
            raise
        import shutil

        target.unlink(missing_ok=True)  # what the failed VACUUM INTO began

        for suffix in ("", "-wal"):  # SQLite can't read it: keep the bytes as they are, the log included
            if Path(f"{path}{suffix}").is_file():
                shutil.copy2(f"{path}{suffix}", f"{target}{suffix}")
        print(f"{path} is damaged ({exc.__cause__ or exc}); copied it as it is to {target}", file=sys.stderr)
        return 2
    return 0


def _cmd_backbones(args: argparse.Namespace) -> int:
    from indoor.model.backbones import list_backbones

    entries = list_backbones(args.pattern)
    width = max(len(str(entry["name"])) for entry in entries)
    for entry in entries:
        where = "offline" if entry["offline"] else "needs internet"
        print(f"{entry['name']:<{width}}  {where:<14}  {entry['description']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from indoor.model.backbones import BackboneError
    from indoor.cache import CacheError
    from indoor.data.layouts import DataError
    from indoor.decisions import DecisionError
    from indoor.decisions.apply import ApplyError

    parser = make_parser()
    args = parser.parse_args(argv)
    handlers = {"demo": _cmd_demo, "build": _cmd_build, "apply": _cmd_apply, "analyze": _cmd_analyze, "info": _cmd_info,
                "backbones": _cmd_backbones, "decisions": _cmd_decisions, "import": _cmd_import}
    try:
        from indoor.cache.build import BuildError

        return handlers[args.command](args)
    except (DataError, CacheError, BackboneError, BuildError, DecisionError, ApplyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; any earlier cache at the output path is untouched", file=sys.stderr)
        return 130
