"""Training: embeddings from a frozen backbone, a linear head with out-of-fold probabilities, optional fine-tuning.

The probabilities this module returns for the *train* split are out-of-fold (k-fold cross-validation: each image
is predicted by a head that never saw it); for val/test they come from a head fit on the whole train split. Both
are out-of-sample, which is what confident learning (cleanlab) needs.
"""

from __future__ import annotations

import math
import random
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .backbones import Backbone, fast_inference, preprocess_image
from .datasets import ImageLoadError, load_rgb
from .imagestats import ANALYSIS_SIDE, PROPERTY_COLUMNS, image_properties, make_thumbnail, pixel_hash, shrink

DEFAULT_HEAD_C = 0.05


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


# -------------------------------------------------------------------------------------------- feature pass


class _DecodeDataset(Dataset):
    """Decodes one image: model input tensor, image properties and thumbnail; failures become a reason."""

    def __init__(self, paths: Sequence[str], image_size: int, mean, std, thumb_size: int, extras: bool):
        self.paths = list(paths)
        self.image_size = image_size
        self.mean, self.std = mean, std
        self.thumb_size = thumb_size
        self.extras = extras

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            image = load_rgb(self.paths[index], draft_size=max(self.image_size, self.thumb_size, 128))
        except ImageLoadError as exc:
            return index, None, None, b"", "", exc.reason
        except Exception as exc:  # anything else a strange file throws must not kill the build
            return index, None, None, b"", "", f"cannot decode image ({exc.__class__.__name__}: {exc})"
        if not self.extras:
            return index, preprocess_image(image, self.image_size, self.mean, self.std), None, b"", "", ""
        width, height = image.info.get("original_size", image.size)
        digest = pixel_hash(image)  # of every decoded pixel
        # model input, properties and thumbnail all start from one reduced copy: one big resize per image, not three
        base = shrink(image, max(self.image_size, self.thumb_size, ANALYSIS_SIDE))
        tensor = preprocess_image(base, self.image_size, self.mean, self.std)
        props = image_properties(base, width=width, height=height)
        vector = np.array([props[c] for c in PROPERTY_COLUMNS], dtype=np.float32)
        return index, tensor, vector, make_thumbnail(base, size=self.thumb_size), digest, ""


def _collate(batch):
    """Runs in the worker: one stacked input tensor per batch (one shared-memory transfer, not one per image).

    -> (rows, inputs or None, properties, thumbnails, hashes, {row: reason} for the images that failed)."""
    ok = [item for item in batch if item[1] is not None]
    return (
        [item[0] for item in ok],
        torch.stack([item[1] for item in ok]) if ok else None,
        [item[2] for item in ok],
        [item[3] for item in ok],
        [item[4] for item in ok],
        {item[0]: item[5] for item in batch if item[5]},
    )


@dataclass
class Features:
    """Result of the feature pass; rows of failed images hold NaN and appear in ``errors`` (row -> reason)."""

    embeddings: np.ndarray
    properties: np.ndarray
    thumbnails: list[bytes]
    hashes: list[str]
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0  # the whole pass, setup included
    setup_seconds: float = 0.0  # of which: building the optimised forward (once per pass, ~3 s on a CPU)


def extract_features(
    paths: Sequence[str],
    backbone: Backbone,
    *,
    batch_size: int = 32,
    workers: int = 2,
    thumb_size: int = 128,
    device: str = "cpu",
    extras: bool = True,
    progress: bool = True,
    desc: str = "embedding",
    optimise: bool = True,
) -> Features:
    """Embed every image with the frozen backbone; decoding runs in ``workers`` DataLoader processes.

    On the CPU the forward pass runs an optimised TorchScript copy of the embedder (``optimise=False``: the eager
    module), which gives the same embeddings to float tolerance."""
    import time

    from tqdm.auto import tqdm

    dataset = _DecodeDataset(paths, backbone.image_size, backbone.mean, backbone.std, thumb_size, extras)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=_collate,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )
    n = len(dataset)
    embeddings = np.full((n, backbone.embedding_dim), np.nan, dtype=np.float32)
    properties = np.full((n, len(PROPERTY_COLUMNS)), np.nan, dtype=np.float32)
    thumbnails: list[bytes] = [b""] * n
    hashes: list[str] = [""] * n
    errors: dict[int, str] = {}
    backbone.embedder.to(device).eval()
    forward = None  # built from the first batch: the optimised copy on the CPU (see fast_inference)
    setup_seconds = 0.0
    start = time.perf_counter()
    with torch.inference_mode(), tqdm(total=n, desc=desc, unit="img", disable=not progress) as bar:
        for rows, inputs, batch_properties, batch_thumbnails, batch_hashes, failed in loader:
            errors.update(failed)
            if rows:
                inputs = inputs.to(device)
                if forward is None:
                    setup_started = time.perf_counter()
                    forward = fast_inference(backbone.embedder, inputs) if optimise else backbone.embedder
                    setup_seconds = time.perf_counter() - setup_started
                embeddings[rows] = forward(inputs).float().cpu().numpy()
                if extras:
                    properties[rows] = np.stack(batch_properties)
                    for row, thumbnail, digest in zip(rows, batch_thumbnails, batch_hashes):
                        thumbnails[row] = thumbnail
                        hashes[row] = digest
            bar.update(len(rows) + len(failed))
    return Features(embeddings, properties, thumbnails, hashes, errors, time.perf_counter() - start, setup_seconds)


# ---------------------------------------------------------------------------------------------- linear head


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


# ------------------------------------------------------------------------------------------------ fine-tune


class _TrainDataset(Dataset):
    def __init__(self, paths: Sequence[str], labels: Sequence[int], image_size: int, mean, std):
        self.paths, self.labels = list(paths), list(labels)
        self.image_size, self.mean, self.std = image_size, mean, std

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        from torchvision.transforms import RandomHorizontalFlip, RandomResizedCrop

        image = load_rgb(self.paths[index], draft_size=self.image_size * 2)
        image = RandomResizedCrop(self.image_size, scale=(0.5, 1.0))(image)
        image = RandomHorizontalFlip()(image)
        return preprocess_image(image, self.image_size, self.mean, self.std), self.labels[index]


def finetune(
    backbone: Backbone,
    paths: Sequence[str],
    labels: Sequence[int],
    *,
    n_classes: int,
    epochs: int,
    batch_size: int = 32,
    lr: float = 3e-4,
    workers: int = 2,
    device: str = "cpu",
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    """Fine-tune the backbone end to end (with a temporary linear head) on readable train images, in place.

    Returns the mean training loss per epoch. Slow on a CPU, but it runs.
    """
    from tqdm.auto import tqdm

    seed_everything(seed)
    dataset = _TrainDataset(paths, labels, backbone.image_size, backbone.mean, backbone.std)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers, generator=generator, drop_last=len(dataset) > batch_size)
    model = nn.Sequential(backbone.embedder, nn.Linear(backbone.embedding_dim, n_classes)).to(device)
    for parameter in backbone.embedder.parameters():
        parameter.requires_grad_(True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = max(1, epochs * len(loader))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    history = []
    model.train()
    for epoch in range(epochs):
        total, count = 0.0, 0
        for images, targets in tqdm(loader, desc=f"fine-tune {epoch + 1}/{epochs}", disable=not progress):
            images, targets = images.to(device), targets.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(images), targets)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(targets)
            count += len(targets)
        history.append(total / max(count, 1))
    model.eval()
    for parameter in backbone.embedder.parameters():
        parameter.requires_grad_(False)
    return history
