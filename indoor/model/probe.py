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


def _fit_sklearn(embeddings: np.ndarray, labels: np.ndarray, c: float, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(embeddings)
    model = LogisticRegression(C=c, max_iter=300, tol=1e-3, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is harmless for a probe
        model.fit(scaler.transform(embeddings), labels)
    return scaler, model


def _full_probs(model, scaler, embeddings: np.ndarray, n_classes: int) -> np.ndarray:
    partial = model.predict_proba(scaler.transform(embeddings))
    probs = np.zeros((len(embeddings), n_classes), dtype=np.float64)
    probs[:, model.classes_] = partial
    return probs


def fit_linear_head(
    embeddings: np.ndarray, labels: np.ndarray, *, n_classes: int, c: float = DEFAULT_HEAD_C, seed: int = 0,
    augmented: np.ndarray | None = None,
) -> LinearHead:
    """Multinomial logistic regression on standardised embeddings, returned as a torch module. ``augmented``
    (N, K, D): embeddings of K augmented views of each row, trained on beside the originals (NaN views skipped)."""
    scaler, model = _fit_sklearn(*with_views(embeddings, labels, augmented), c, seed)
    return _as_head(scaler, model, n_classes, embeddings.shape[1])


def with_views(embeddings: np.ndarray, labels: np.ndarray, augmented: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The rows and, after them, every readable augmented view (N, K, D) of each row with the row's label."""
    if augmented is None or augmented.size == 0:
        return embeddings, labels
    views = augmented.reshape(-1, augmented.shape[-1])
    view_labels = np.repeat(np.asarray(labels), augmented.shape[1])
    ok = np.isfinite(views).all(axis=1)
    return np.concatenate([embeddings, views[ok]]), np.concatenate([labels, view_labels[ok]])


def _as_head(scaler, model, n_classes: int, dim: int) -> LinearHead:
    """A fitted (StandardScaler, LogisticRegression) pair as a :class:`LinearHead` over ``n_classes`` outputs."""
    head = LinearHead(dim, n_classes)
    weight = np.zeros((n_classes, dim), dtype=np.float32)
    bias = np.full(n_classes, -1e4, dtype=np.float32)  # classes absent from training are never predicted
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2 and coef.shape[0] == 1:  # sklearn's binary form: one row for class 1
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
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
) -> tuple[np.ndarray, np.ndarray]:
    """k-fold out-of-fold probabilities for every row (each row predicted by a head that never saw it).

    Returns ``(probs (N, n_classes), fold (N,))``. Stratified folds, seeded. ``heads``: a list that receives
    each fold's head as a :class:`LinearHead` (index = fold), e.g. to score new views of a train image with the
    head that never saw it. ``augmented`` (N, K, D): views of each row, fit on with their row (a row's views
    are in its fold, never in the held-out rows' fit), see :func:`with_views`.
    """
    from sklearn.model_selection import StratifiedKFold
    from tqdm.auto import tqdm

    n = len(labels)
    if folds < 2:
        raise ValueError("folds must be at least 2 for out-of-fold probabilities")
    folds = min(folds, n)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probs = np.zeros((n, n_classes), dtype=np.float64)
    fold_of = np.full(n, -1, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has only k members"
        splits = list(splitter.split(np.zeros(n), labels))
    for fold, (fit_rows, held_rows) in enumerate(tqdm(splits, desc="out-of-fold head", disable=not progress)):
        views = augmented[fit_rows] if augmented is not None else None
        scaler, model = _fit_sklearn(*with_views(embeddings[fit_rows], labels[fit_rows], views), c, seed)
        probs[held_rows] = _full_probs(model, scaler, embeddings[held_rows], n_classes)
        fold_of[held_rows] = fold
        if heads is not None:
            heads.append(_as_head(scaler, model, n_classes, embeddings.shape[1]))
    return probs, fold_of
