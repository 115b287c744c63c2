"""The linear probe: a logistic-regression head on the backbone's embeddings, with out-of-fold probabilities.

The probabilities this module returns for the *train* split are out-of-fold (k-fold cross-validation: each image
is predicted by a head that never saw it); for val/test they come from a head fit on the whole train split. Both
are out-of-sample, which is what confident learning (cleanlab) needs.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

DEFAULT_HEAD_C = 0.05


class LinearHead(nn.Module):
    """Standardise the embedding, then a linear layer: logits = W @ ((x - mean) / scale) + b."""

    def __init__(self, embedding_dim: int, n_classes: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(embedding_dim))
        self.register_buffer("scale", torch.ones(embedding_dim))
        self.linear = nn.Linear(embedding_dim, n_classes)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.linear((embeddings - self.mean) / self.scale)


def _fit_sklearn(embeddings: np.ndarray, labels: np.ndarray, c: float, seed: int, *,
                 erase_from: tuple[np.ndarray, np.ndarray] | None = None, directions: int = 0):
    """(scaler, model, erase): a StandardScaler and a logistic regression fit on the standardised embeddings.
    ``erase_from`` = (originals (N, D), their augmented views (N, K, D)): the ``directions`` principal directions
    of the views' shifts in the standardised space (:func:`indoor.model.augmented.shift_directions`) are projected
    out before the fit; ``erase`` is that (D, k) basis (None without ``erase_from``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from indoor.model.augmented import shift_directions

    scaler = StandardScaler().fit(embeddings)
    standardised = scaler.transform(embeddings)
    erase = None
    if erase_from is not None and directions > 0:
        originals, views = erase_from
        mean, scale = scaler.mean_, scaler.scale_
        erase = shift_directions((np.asarray(originals, dtype=np.float64) - mean) / scale,
                                 (np.asarray(views, dtype=np.float64) - mean) / scale, directions)
        standardised = _project_out(standardised, erase)
    model = LogisticRegression(C=c, max_iter=300, tol=1e-3, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is harmless for a probe
        model.fit(standardised, labels)
    return scaler, model, erase


def _project_out(standardised: np.ndarray, erase: np.ndarray | None) -> np.ndarray:
    """Rows with the directions ``erase`` (D, k; orthonormal columns) projected out."""
    if erase is None or erase.shape[1] == 0:
        return standardised
    return standardised - (standardised @ erase) @ erase.T


def _full_probs(model, scaler, embeddings: np.ndarray, n_classes: int, erase: np.ndarray | None = None) -> np.ndarray:
    partial = model.predict_proba(_project_out(scaler.transform(embeddings), erase))
    probs = np.zeros((len(embeddings), n_classes), dtype=np.float64)
    probs[:, model.classes_] = partial
    return probs


def fit_linear_head(
    embeddings: np.ndarray, labels: np.ndarray, *, n_classes: int, c: float = DEFAULT_HEAD_C, seed: int = 0,
    augmented: np.ndarray | None = None, augment_mode: str = "views", erase_directions: int = 0,
) -> LinearHead:
    """Multinomial logistic regression on standardised embeddings, returned as a torch module.

    ``augmented`` (N, K, D): embeddings of K augmented views of each row (NaN views skipped), used as
    ``augment_mode`` says: "views" trains on them beside the originals; "erase" projects the ``erase_directions``
    directions along which they move the embeddings (in the standardised space) out of every embedding, for the
    fit and in the returned head (moving an embedding along them changes no logit); "both" does both."""
    scaler, model, erase = _fit_with_augmentation(embeddings, labels, c, seed, augmented, augment_mode,
                                                  erase_directions)
    return _as_head(scaler, model, n_classes, embeddings.shape[1], erase)


def _fit_with_augmentation(embeddings, labels, c, seed, augmented, mode, directions):
    from indoor.analysis.interventions import HEAD_AUGMENT_MODES

    if mode not in HEAD_AUGMENT_MODES:
        raise ValueError(f"augment_mode must be one of {', '.join(HEAD_AUGMENT_MODES)}, got {mode!r}")
    if augmented is None or augmented.size == 0:
        return _fit_sklearn(embeddings, labels, c, seed)
    x, y = with_views(embeddings, labels, augmented) if mode in ("views", "both") else (embeddings, labels)
    erase_from = (embeddings, augmented) if mode in ("erase", "both") else None
    return _fit_sklearn(x, y, c, seed, erase_from=erase_from, directions=directions)


def with_views(embeddings: np.ndarray, labels: np.ndarray, augmented: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The rows and, after them, every readable augmented view (N, K, D) of each row with the row's label."""
    if augmented is None or augmented.size == 0:
        return embeddings, labels
    views = augmented.reshape(-1, augmented.shape[-1])
    view_labels = np.repeat(np.asarray(labels), augmented.shape[1])
    ok = np.isfinite(views).all(axis=1)
    return np.concatenate([embeddings, views[ok]]), np.concatenate([labels, view_labels[ok]])


def _as_head(scaler, model, n_classes: int, dim: int, erase: np.ndarray | None = None) -> LinearHead:
    """A fitted (StandardScaler, LogisticRegression) pair as a :class:`LinearHead` over ``n_classes`` outputs. With
    ``erase`` (D, k, in the standardised space) the projection is folded into the linear layer: W (I - U U^T)."""
    head = LinearHead(dim, n_classes)
    weight = np.zeros((n_classes, dim), dtype=np.float32)
    bias = np.full(n_classes, -1e4, dtype=np.float32)  # classes absent from training are never predicted
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2 and coef.shape[0] == 1:  # sklearn's binary form: one row for class 1
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    if erase is not None and erase.shape[1]:
        coef = coef - (coef @ erase) @ erase.T
    weight[model.classes_] = coef
    bias[model.classes_] = intercept
    with torch.no_grad():
        head.mean.copy_(torch.from_numpy(scaler.mean_.astype(np.float32)))
        head.scale.copy_(torch.from_numpy(scaler.scale_.astype(np.float32)))
        head.linear.weight.copy_(torch.from_numpy(weight))
        head.linear.bias.copy_(torch.from_numpy(bias))
    return head


def head_from_linear(linear: nn.Linear, order: np.ndarray) -> LinearHead:
    """A model's own linear classifier as a :class:`LinearHead` (no standardisation) whose output ``c`` is the
    classifier's output ``order[c]``: a checkpoint's head with its outputs in the data set's class order."""
    order = np.asarray(order, dtype=np.int64)
    head = LinearHead(int(linear.in_features), len(order))
    with torch.no_grad():
        head.linear.weight.copy_(linear.weight.detach().float().cpu()[torch.from_numpy(order)])
        bias = linear.bias.detach().float().cpu() if linear.bias is not None else torch.zeros(linear.out_features)
        head.linear.bias.copy_(bias[torch.from_numpy(order)])
    return head.eval()


def head_probs(head: nn.Module, embeddings: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        logits = head(torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32)))
        return logits.softmax(dim=1).double().numpy()


def usable_folds(labels: np.ndarray, folds: int, *, error: type[Exception] = ValueError) -> int:
    """The number of stratified folds ``labels`` allow, at most ``folds``: no more than the largest class has rows
    (a smaller class is then missing from some folds' held-out rows, which is fine). Raises ``error`` when
    ``folds`` < 2 or fewer than two classes have two rows or more: stratified folds spread such a class over two
    folds or more, so it is in every fold's fit, and every fit then has two classes at least (a class of one row
    is missing from the fit that holds it out); ``error``: the exception class raised (e.g. the build's)."""
    if folds < 2:
        raise error("folds must be at least 2 for out-of-fold probabilities")
    counts = np.bincount(np.asarray(labels, dtype=np.int64)) if len(labels) else np.zeros(1, dtype=np.int64)
    if int((counts >= 2).sum()) < 2:
        raise error("out-of-fold probabilities need two classes or more with at least two training images each; "
                    f"{int((counts >= 2).sum())} class(es) have that many: add images")
    return min(int(folds), int(counts.max()))


def out_of_fold_probs(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_classes: int,
    folds: int = 5,
    c: float = DEFAULT_HEAD_C,
    seed: int = 0,
    progress: bool = True,
    heads: list | None = None,
    augmented: np.ndarray | None = None,
    augment_mode: str = "views",
    erase_directions: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """k-fold out-of-fold probabilities for every row (each row predicted by a head that never saw it).

    Returns ``(probs (N, n_classes), fold (N,))``. Stratified folds, seeded. ``heads``: a list that receives
    each fold's head as a :class:`LinearHead` (index = fold), e.g. to score new views of a train image with the
    head that never saw it. ``augmented`` (N, K, D): views of each row, fit on with their row (a row's views
    are in its fold, never in the held-out rows' fit), used as ``augment_mode`` says (see
    :func:`fit_linear_head`; the erased directions come from the fit rows' views only).
    """
    from sklearn.model_selection import StratifiedKFold
    from tqdm.auto import tqdm

    n = len(labels)
    folds = usable_folds(labels, folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probs = np.zeros((n, n_classes), dtype=np.float64)
    fold_of = np.full(n, -1, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has only k members"
        splits = list(splitter.split(np.zeros(n), labels))
    for fold, (fit_rows, held_rows) in enumerate(tqdm(splits, desc="out-of-fold head", disable=not progress)):
        views = augmented[fit_rows] if augmented is not None else None
        scaler, model, erase = _fit_with_augmentation(embeddings[fit_rows], labels[fit_rows], c, seed, views,
                                                      augment_mode, erase_directions)
        probs[held_rows] = _full_probs(model, scaler, embeddings[held_rows], n_classes, erase)
        fold_of[held_rows] = fold
        if heads is not None:
            heads.append(_as_head(scaler, model, n_classes, embeddings.shape[1], erase))
    return probs, fold_of
