"""Where a cache's probabilities came from, as its metadata records it: ``source`` (what made the cache: an own
build, a user's checkpoint or imported predictions; kinds in :data:`indoor.cache.format.SOURCE_KINDS`),
``probs_source`` (per split, what made the probabilities), ``probs_out_of_sample`` (per split, may the label-issue
analyses trust them) and ``head``. One function per kind, so the three say it the same way."""

from __future__ import annotations

import platform
from typing import Any


def build_provenance(*, backbone: str, checkpoint: dict[str, Any] | None, own_head: bool, class_order: str | None,
                     folds: int, head_c: float, finetuned: bool, weights_independent: bool = False
                     ) -> dict[str, Any]:
    """The metadata of a cache built by :func:`indoor.cache.build.build_cache`.

    ``checkpoint``: the user's weights file (``Backbone.checkpoint``), None for indoor's own backbone;
    ``own_head``: val/test probabilities from the checkpoint's classifier (outputs mapped by ``class_order``)
    instead of the linear probe. Train probabilities always come from the out-of-fold probe; they count as
    out-of-sample unless the features were trained on these labels: fine-tuned here, or a checkpoint that was not
    declared ``weights_independent`` (a network fit on the train split has memorised its labels, wrong ones too,
    and an out-of-fold probe on its features inherits that)."""
    features = "the checkpoint's penultimate features" if checkpoint else "the backbone's embeddings"
    probe = f"logistic regression on standardised embeddings (C={head_c:g})"
    val_test = (f"the checkpoint's own classifier (outputs mapped to the classes by {class_order})" if own_head
                else f"linear probe fit on {features} of the train split")
    train_out_of_sample = not finetuned and (checkpoint is None or weights_independent)
    source: dict[str, Any] = {"kind": "checkpoint" if checkpoint else "build", "backbone": backbone}
    if checkpoint:
        source.update({"weights": checkpoint["path"], "sha256": checkpoint["sha256"],
                       "head": "checkpoint" if own_head else "probe", "class_order": class_order,
                       "weights_independent": bool(weights_independent)})
    return {
        "source": source,
        "probs_source": {"train": f"out-of-fold linear probe ({folds} folds) on {features}", "val": val_test,
                         "test": val_test},
        "probs_out_of_sample": {"train": train_out_of_sample, "val": True, "test": True},
        "head": {"type": ("the checkpoint's own classifier (val/test) and an out-of-fold probe (train): " + probe)
                 if own_head else probe, "C": head_c},
    }


def import_provenance(*, predictions: str, sha256: str, logits: bool, out_of_sample: bool, embeddings: str
                      ) -> dict[str, Any]:
    """The metadata of a cache made by :func:`indoor.cache.importer.import_predictions`: the predictions file,
    whether it held logits, where the embeddings came from, and whether its train probabilities are
    out-of-sample (``--out-of-sample``: cross-validated; else the model was fit on those labels). Val/test
    probabilities are taken to be out-of-sample: a model is not trained on its held-out splits."""
    train = "imported, out-of-sample (--out-of-sample)" if out_of_sample else "imported, in-sample (fit on these labels)"
    return {
        "source": {"kind": "import", "predictions": predictions, "sha256": sha256, "logits": bool(logits),
                   "embeddings": embeddings},
        "probs_source": {"train": train, "val": "imported", "test": "imported"},
        "probs_out_of_sample": {"train": bool(out_of_sample), "val": True, "test": True},
        "head": {"type": "none: predictions imported from another framework"},
    }


def package_versions() -> dict[str, str]:
    """The versions a cache records of indoor, Python and the libraries its numbers depend on."""
    import numpy as np
    import pandas as pd
    import sklearn
    import timm
    import torch

    from indoor import __version__

    versions = {"indoor": __version__, "python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
                "numpy": np.__version__, "pandas": pd.__version__, "scikit-learn": sklearn.__version__}
    try:
        from importlib.metadata import version

        versions["umap-learn"] = version("umap-learn")
    except Exception:  # pragma: no cover
        pass
    return versions
