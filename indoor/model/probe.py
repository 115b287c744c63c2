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
    embeddings: np.ndarray, labels: np.ndarray, *, n_classes: int, c: float = DEFAULT_HEAD_C, seed: int = 0
) -> LinearHead:
    """Multinomial logistic regression on standardised embeddings, returned as a torch module."""
    scaler, model = _fit_sklearn(embeddings, labels, c, seed)
    head = LinearHead(embeddings.shape[1], n_classes)
    weight = np.zeros((n_classes, embeddings.shape[1]), dtype=np.float32)
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
) -> tuple[np.ndarray, np.ndarray]:
    """k-fold out-of-fold probabilities for every row (each row predicted by a head that never saw it).

    Returns ``(probs (N, n_classes), fold (N,))``. Stratified folds, seeded.
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
        scaler, model = _fit_sklearn(embeddings[fit_rows], labels[fit_rows], c, seed)
        probs[held_rows] = _full_probs(model, scaler, embeddings[held_rows], n_classes)
        fold_of[held_rows] = fold
    return probs, fold_of
