"""The command line's shortcut-test and remedy options (``--augment``, ``--augment-views``, ``--augment-mode``,
``--erase-directions``, ``--shortcut-tests``)
for ``python -m indoor build`` and ``demo``: kept here so that :mod:`indoor.cli` stays one screenful per command."""

from __future__ import annotations

import argparse


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def augment_list(text: str) -> tuple[str, ...]:
    """``--augment``'s comma-separated names, validated (an unknown one is a usage error naming the known ones)."""
    from indoor.model.intervene import InterventionError, check_augmentations

    try:
        return check_augmentations(text.split(","))
    except InterventionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_remedy_options(parser: argparse.ArgumentParser) -> None:
    from indoor.analysis.interventions import AUGMENT_MODES, AUGMENTATIONS, ERASE_DIRECTIONS

    group = parser.add_argument_group("shortcut tests and remedy")
    group.add_argument("--augment", type=augment_list, default=(), metavar="KINDS",
                       help="break a shortcut with augmented views of every training image: a comma-separated list "
                            f"of {', '.join(AUGMENTATIONS)} (scale = crop); with --finetune-epochs the same "
                            "augmentations apply to fine-tuning")
    group.add_argument("--augment-views", type=_positive_int, default=2, metavar="K",
                       help="augmented views per training image with --augment (default 2)")
    group.add_argument("--augment-mode", choices=AUGMENT_MODES, default="auto",
                       help="erase: project the directions along which the views move the embeddings out of them "
                            "before the head (it can no longer read the property); views: train the head on the views "
                            "beside the originals; both; auto (default): erase or views, whichever keeps the higher "
                            "out-of-fold top-1 on the original training images")
    group.add_argument("--erase-directions", type=_positive_int, default=ERASE_DIRECTIONS, metavar="K",
                       help=f"directions projected out with --augment-mode erase or both (default {ERASE_DIRECTIONS})")
    group.add_argument("--shortcut-tests", type=int, default=3, metavar="N",
                       help="intervention-test the N best-ranked shortcut findings at build time (default 3; 0: "
                            "none; the dashboard tests any finding on demand)")


def remedy_options(args: argparse.Namespace) -> dict:
    """The BuildOptions fields of these options."""
    return {"augment": tuple(args.augment), "augment_views": args.augment_views,
            "augment_mode": args.augment_mode, "erase_directions": args.erase_directions,
            "shortcut_tests": max(0, args.shortcut_tests)}
