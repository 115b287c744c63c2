"""Why did the model say "bar"? Occlusion maps, Grad-CAM and nearest training images for one image.

The attribution methods come from captum (``Occlusion``, ``LayerGradCam``); this module only wires them to the
cache's model (backbone, fine-tuned when ``model.pt`` exists, plus the linear head) and maps the results back to
the image's own pixels.

The model sees what the cache build fed it: the shorter side resized to ``image_size`` and a centre crop. Maps
are returned at the ORIGINAL image size; pixels outside the centre crop never reached the model and hold 0
(:func:`seen_box` gives the crop in original pixels).

Faithfulness: a train image's probabilities in the cache are out-of-fold, made by a head that never saw it;
:func:`fold_head` refits that head from the cached embeddings so the maps explain the same prediction.

Streamlit-free; importing this module imports torch, so pages import it only when the user asks for an
explanation.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

from indoor.model.backbones import create_backbone, fast_inference, preprocess_image
from indoor.model.checkpoint import CheckpointError, recorded_weights
from indoor.model.probe import DEFAULT_HEAD_C, LinearHead, fit_linear_head

BASELINES = ("grey", "black", "mean", "blur")


class ExplainError(ValueError):
    """The model could not be loaded from the cache, or the request is invalid; the message says why."""


# ================================================================================================ the model


class _ImageClassifier(nn.Module):
    """Images (B, 3, S, S), normalised -> class logits (B, C): the backbone's embedder, then the linear head."""

    def __init__(self, embedder: nn.Module, head: nn.Module):
        super().__init__()
        self.embedder = embedder
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedder(images))


@dataclass
class Classifier:
    """The full image -> class model of a cache, in eval mode, on the CPU.

    ``model(images) -> logits``; ``preprocess(PIL) -> (3, S, S)`` tensor (resize shorter side + centre crop, like
    the cache build); ``gradcam_layer`` is the backbone's last convolution (timm EfficientNet: ``conv_head``).
    """

    model: nn.Module
    gradcam_layer: nn.Module
    classes: list[str]
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    fine_tuned: bool = False
    backbone_name: str = ""
    interpolation: str = "bilinear"
    crop_pct: float = 1.0  # the model sees the centre crop_pct of the shorter side (see preprocess_image)
    fold: int | None = None  # None: the head fit on the whole train split; k: the out-of-fold head of fold k
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # captum hooks: one map at a time
    # the optimised copy of the backbone for gradient-free passes, built on first use; shared with with_head copies
    _fast: dict = field(default_factory=dict, repr=False)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return preprocess_image(image, self.image_size, self.mean, self.std, interpolation=self.interpolation,
                                crop_pct=self.crop_pct)

    def with_head(self, head: nn.Module, *, fold: int | None = None) -> "Classifier":
        """The same backbone (shared, not copied) with another linear head, e.g. :func:`fold_head`'s."""
        model = _ImageClassifier(self.model.embedder, head.eval())
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        return replace(self, model=model, fold=fold)  # the lock is shared: so are the backbone's hooks

    def fast_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) of normalised images (B, 3, S, S) without gradients: the backbone runs as an optimised
        TorchScript copy (``indoor.backbones.fast_inference``, ~4x eager on a CPU; traced once, ~3 s), then the
        head. Same values as ``model`` to float tolerance."""
        embedder = self._fast.get("embedder")
        if embedder is None:
            embedder = self._fast["embedder"] = fast_inference(self.model.embedder, images)
        with torch.no_grad():
            return self.model.head(embedder(images))

    def probs(self, image: Image.Image) -> np.ndarray:
        """Class probabilities (C,) of one image, as the model sees it now (not the cache's out-of-sample ones)."""
        with torch.no_grad():
            return self.model(self.preprocess(image).unsqueeze(0)).softmax(dim=1)[0].double().numpy()


def load_classifier(cache: Any = None, *, backbone: str | None = None, image_size: int | None = None,
                    head_path: str | Path | None = None, model_path: str | Path | None = None,
                    classes: list[str] | None = None) -> Classifier:
    """The image -> class model of a cache (``indoor.cache.Cache``), or of explicit paths when ``cache`` is None.

    Uses the fine-tuned backbone (``model.pt``) when the cache has one, else the pretrained backbone; then the
    linear head (``head.pt``). Tensors are loaded with ``weights_only=True``. Raises ExplainError when the head
    is missing or does not fit the backbone and classes.
    """
    if cache is not None:
        described = cache.meta.get("backbone")
        backbone = described.get("name") if isinstance(described, dict) else described
        image_size = int(cache.meta["image_size"])
        head_path, model_path, classes = cache.head_path, cache.model_path, list(cache.classes)
        try:
            own_weights = recorded_weights(cache.meta)
        except CheckpointError as exc:
            raise ExplainError(str(exc)) from None
    else:
        own_weights = {}
    if not backbone or not image_size or head_path is None or not classes:
        raise ExplainError("load_classifier needs a cache, or backbone, image_size, head_path and classes")
    head_path = Path(head_path)
    if not head_path.is_file():
        raise ExplainError(f"the cache has no trained head ({head_path} is missing): rebuild the cache")
    net = create_backbone(str(backbone), image_size=int(image_size), **own_weights)
    fine_tuned = False
    if model_path is not None and Path(model_path).is_file():
        try:
            state = torch.load(model_path, map_location="cpu", weights_only=True)
            net.embedder.load_state_dict(state)
        except Exception as exc:
            raise ExplainError(f"the fine-tuned backbone {model_path} does not load into {backbone}: {exc}") from None
        fine_tuned = True
    head = LinearHead(net.embedding_dim, len(classes))
    try:
        head.load_state_dict(torch.load(head_path, map_location="cpu", weights_only=True))
    except Exception as exc:
        raise ExplainError(
            f"the head {head_path} does not fit {backbone} ({net.embedding_dim}-d) with {len(classes)} classes: {exc}"
        ) from None
    if net.gradcam_layer is None:
        raise ExplainError(f"backbone {backbone} has no convolution layer for Grad-CAM")
    model = _ImageClassifier(net.embedder, head).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return Classifier(model=model, gradcam_layer=net.gradcam_layer, classes=classes, image_size=int(image_size),
                      mean=tuple(net.mean), std=tuple(net.std), fine_tuned=fine_tuned, backbone_name=str(backbone),
                      interpolation=net.interpolation, crop_pct=float(net.crop_pct))



def fold_head(cache: Any, fold: int) -> LinearHead:
    """The linear head behind the out-of-fold probabilities of the train images in ``fold``.

    The cache keeps only the head fit on the whole train split, which has seen every train image's label (and so
    leans towards it: a mislabelled train image looks right to it). This refits the head of one cross-validation
    fold from the cache's embeddings of the OTHER train folds, with the build's C and seed: it reproduces that
    fold's out-of-fold probabilities. Seconds for thousands of images; cache the result.
    """
    samples = cache.samples
    folds = samples["fold"].to_numpy()
    train = samples["split"].to_numpy() == "train"
    if fold < 0 or not (train & (folds == fold)).any():
        raise ExplainError(f"the cache has no train fold {fold}")
    fit_rows = np.flatnonzero(train & (folds != fold) & (folds >= 0))
    if len(fit_rows) == 0:
        raise ExplainError(f"no train images outside fold {fold} to fit its head on")
    head_meta = cache.meta.get("head") if isinstance(cache.meta.get("head"), dict) else {}
    c = float(head_meta.get("C", DEFAULT_HEAD_C))
    embeddings = np.asarray(cache.embeddings[fit_rows], dtype=np.float32)
    labels = samples["label"].to_numpy()[fit_rows]
    return fit_linear_head(embeddings, labels, n_classes=len(cache.classes), c=c, seed=int(cache.meta.get("seed", 0)))


# ================================================================================================ geometry


def seen_box(image_size: tuple[int, int], size: int, crop_pct: float = 1.0) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in original pixels of the centre crop the model sees of a (width, height) image
    preprocessed to ``size`` (same arithmetic as ``indoor.backbones.preprocess_image``)."""
    width, height = image_size
    scale = max(size, math.floor(size / crop_pct)) / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    left, top = (new_w - size) // 2, (new_h - size) // 2
    sx, sy = width / new_w, height / new_h
    return left * sx, top * sy, (left + size) * sx, (top + size) * sy


def _to_original(square: np.ndarray, image_size: tuple[int, int], crop_pct: float = 1.0) -> np.ndarray:
    """A (S, S) map over the model's centre crop -> (H, W) over the original image; 0 outside the crop."""
    width, height = image_size
    size = square.shape[0]
    left, top, right, bottom = seen_box(image_size, size, crop_pct)
    x0, y0 = int(round(left)), int(round(top))
    x1, y1 = max(x0 + 1, int(round(right))), max(y0 + 1, int(round(bottom)))
    x1, y1 = min(x1, width), min(y1, height)
    resized = Image.fromarray(np.ascontiguousarray(square, dtype=np.float32), mode="F").resize(
        (x1 - x0, y1 - y0), Image.BILINEAR)
    out = np.zeros((height, width), dtype=np.float32)
    out[y0:y1, x0:x1] = np.asarray(resized, dtype=np.float32)
    return out


def occlusion_geometry(size: int, patches: int) -> tuple[int, int]:
    """(window, stride) in model pixels for a ``patches`` x ``patches`` grid of half-overlapping windows that
    covers a ``size`` px input exactly (e.g. 224 px, 7 -> window 56, stride 28: 49 positions)."""
    if patches < 1:
        raise ExplainError("patches must be at least 1")
    stride = max(1, size // (patches + 1))
    window = size - (patches - 1) * stride
    return window, stride


# ================================================================================================ maps


def _check(classifier: Classifier, image: Image.Image, target: int) -> None:
    if not isinstance(image, Image.Image):
        raise ExplainError(f"image must be a PIL image, got {type(image).__name__}")
    if not 0 <= int(target) < len(classifier.classes):
        raise ExplainError(f"target {target} is not a class index (0..{len(classifier.classes) - 1})")


def occlusion_map(classifier: Classifier, image: Image.Image, target: int, *, patches: int = 7,
                  baseline: str = "grey", perturbations_per_eval: int = 16) -> np.ndarray:
    """How much the probability of class ``target`` drops when a patch is covered, per pixel: (H, W) float32 at
    the image's original size.

    ``patches`` x ``patches`` half-overlapping windows (49 at the default) slide over the model's input; each
    pixel gets the mean drop of the windows covering it (captum ``Occlusion``). Positive = the region supports
    the class; negative = covering it raises the probability. ``baseline``: "grey" (the normalisation mean, a
    neutral grey), "black", "mean" (this image's mean colour) or "blur" (a blurred copy: detail removed, colours
    kept). ``perturbations_per_eval`` occluded copies go through the model per forward pass (speed only). 0 outside
    the centre crop the model sees.
    """
    from captum.attr import Occlusion

    _check(classifier, image, target)
    if baseline not in BASELINES:
        raise ExplainError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    image = image.convert("RGB")
    inputs = classifier.preprocess(image).unsqueeze(0)
    size = inputs.shape[-1]
    window, stride = occlusion_geometry(size, patches)
    value = _baseline(inputs, baseline, classifier, window)

    def forward(batch: torch.Tensor) -> torch.Tensor:
        return classifier.fast_logits(batch).softmax(dim=1)

    with classifier.lock, torch.no_grad():
        attribution = Occlusion(forward).attribute(
            inputs, sliding_window_shapes=(3, window, window), strides=(3, stride, stride), baselines=value,
            target=int(target), perturbations_per_eval=max(1, int(perturbations_per_eval)),
        )
    square = attribution[0].mean(dim=0).numpy()  # identical across channels: the window spans all three
    return _to_original(square, image.size, classifier.crop_pct)


def gradcam_map(classifier: Classifier, image: Image.Image, target: int) -> np.ndarray:
    """Grad-CAM of class ``target`` (its logit) on the backbone's last convolution: (H, W) float32 in [0, 1] at
    the image's original size (ReLU'd, divided by its maximum; all 0 when nothing supports the class).

    captum ``LayerGradCam`` + ``LayerAttribution.interpolate`` (bilinear) to the model's input size, then back
    to the original pixels; 0 outside the centre crop the model sees.
    """
    from captum.attr import LayerAttribution, LayerGradCam

    _check(classifier, image, target)
    image = image.convert("RGB")
    inputs = classifier.preprocess(image).unsqueeze(0).requires_grad_(True)
    size = inputs.shape[-1]
    cam = LayerGradCam(classifier.model, classifier.gradcam_layer)
    with classifier.lock:
        attribution = cam.attribute(inputs, target=int(target), relu_attributions=True)
    attribution = LayerAttribution.interpolate(attribution.detach(), (size, size), interpolate_mode="bilinear")
    square = attribution[0, 0].clamp(min=0).numpy()
    peak = float(square.max()) if square.size else 0.0
    square = square / peak if peak > 0 and np.isfinite(peak) else np.zeros_like(square)
    return np.clip(_to_original(square, image.size, classifier.crop_pct), 0.0, 1.0)


def _baseline(inputs: torch.Tensor, kind: str, classifier: Classifier, window: int) -> float | torch.Tensor:
    """What an occluded patch is filled with, in the model's normalised input space."""
    if kind == "grey":
        return 0.0  # the normalisation mean: a neutral grey
    if kind == "mean":
        return inputs.mean(dim=(2, 3), keepdim=True).expand_as(inputs).contiguous()  # this image's mean colour
    if kind == "black":
        mean = torch.tensor(classifier.mean).view(1, 3, 1, 1)
        std = torch.tensor(classifier.std).view(1, 3, 1, 1)
        return ((0.0 - mean) / std).expand_as(inputs).contiguous()
    from torchvision.transforms.functional import gaussian_blur

    sigma = max(1.0, window / 4)
    kernel = min(2 * int(round(3 * sigma)) + 1, 2 * (inputs.shape[-1] // 2) - 1)
    return gaussian_blur(inputs, [kernel, kernel], [sigma, sigma])  # detail removed, colours kept


# ================================================================================================ neighbours


def nearest_training_images(embeddings: np.ndarray, query_row: int, *, train_mask: np.ndarray,
                            k: int = 8) -> pd.DataFrame:
    """The ``k`` training rows most similar to ``query_row`` by cosine similarity of their embeddings:
    :func:`indoor.analysis.neighbours.nearest_training_rows` (the one implementation; see it for the inputs).
    Returns DataFrame(row, similarity), most similar first (fewer than ``k`` rows when fewer candidates exist)."""
    from indoor.analysis.neighbours import nearest_training_rows

    return nearest_training_rows(embeddings, query_row, train_mask=train_mask, k=k)


# ================================================================================================ overlays


def jet(values: np.ndarray) -> np.ndarray:
    """The classic "jet" colour map (dark blue -> cyan -> yellow -> dark red) of values in [0, 1] -> uint8 RGB."""
    x = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0], dtype=np.float32)  # r, g, b
    rgb = np.clip(1.5 - np.abs(4.0 * x - centres), 0.0, 1.0)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def overlay(image: Image.Image, heat: np.ndarray, *, alpha: float = 0.5, vmax: float | None = None,
            colormap: Callable[[np.ndarray], np.ndarray] = jet,
            box: tuple[float, float, float, float] | None = None) -> Image.Image:
    """``heat`` (H, W) drawn over ``image`` in a colour map: RGB image of the image's size.

    Values are scaled by ``vmax`` (default: the largest value; negatives count as 0); each pixel's colour is
    blended in with opacity ``alpha`` x the scaled value, so regions that do not matter stay visible. Pixels
    outside ``box`` (left, top, right, bottom: the part the model saw) are dimmed.
    """
    image = image.convert("RGB")
    heat = np.asarray(heat, dtype=np.float32)
    if heat.shape != (image.height, image.width):
        heat = np.asarray(Image.fromarray(np.ascontiguousarray(heat), mode="F").resize(image.size, Image.BILINEAR))
    heat = np.nan_to_num(heat, nan=0.0, posinf=0.0, neginf=0.0)
    top = float(vmax) if vmax is not None else float(heat.max(initial=0.0))
    scaled = np.clip(heat / top, 0.0, 1.0) if top > 0 else np.zeros_like(heat)
    base = np.asarray(image, dtype=np.float32)
    weight = (float(alpha) * np.sqrt(scaled))[..., None]
    out = base * (1.0 - weight) + colormap(scaled).astype(np.float32) * weight
    if box is not None:
        left, top_, right, bottom = (int(round(v)) for v in box)
        outside = np.ones(heat.shape, dtype=bool)
        outside[max(top_, 0):max(bottom, 0), max(left, 0):max(right, 0)] = False
        out[outside] = out[outside] * 0.45 + 255.0 * 0.55 * 0.35
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), mode="RGB")
