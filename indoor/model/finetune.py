"""Fine-tuning: train the backbone end to end with a linear classifier on top (CUDA when present)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from indoor.data.images import load_rgb
from indoor.model.backbones import Backbone, preprocess_image
from indoor.model.features import seed_everything


class _TrainDataset(Dataset):
    def __init__(self, paths: Sequence[str], labels: Sequence[int], image_size: int, mean, std,
                 augment: Sequence[str] = ()):
        self.paths, self.labels = list(paths), list(labels)
        self.image_size, self.mean, self.std = image_size, mean, std
        self.augment = tuple(augment)  # --augment: the shortcut-breaking augmentations (indoor.model.intervene)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        from torchvision.transforms import RandomHorizontalFlip, RandomResizedCrop

        image = load_rgb(self.paths[index], draft_size=self.image_size * 2)
        if self.augment:
            from indoor.model.intervene import augment

            image = augment(image, self.augment, np.random.default_rng([torch.initial_seed() % 2**32, index]))
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
    augment: Sequence[str] = (),
) -> list[float]:
    """Fine-tune the backbone end to end (with a temporary linear head) on readable train images, in place.

    Returns the mean training loss per epoch. Slow on a CPU, but it runs. ``augment``: names of
    :data:`indoor.analysis.interventions.AUGMENTATIONS` applied to every training image (random strengths).
    """
    from tqdm.auto import tqdm

    seed_everything(seed)
    dataset = _TrainDataset(paths, labels, backbone.image_size, backbone.mean, backbone.std, augment)
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
