"""A user's own weights file: read it safely, fit its keys to an architecture, and map its classifier's outputs to
the data set's classes.

Nothing here knows timm or torchvision (:mod:`indoor.model.backbones` builds the architecture and calls in):

* :func:`read_checkpoint` loads ``.pt``/``.pth``/``.bin`` files with ``torch.load(weights_only=True)`` (tensors and
  plain containers only: never a pickled object) and ``.safetensors`` files; a state dict may sit under a
  ``state_dict`` / ``model_state_dict`` / ``model`` / ``net`` / ``state_dict_ema`` key, and the class names under
  ``classes`` / ``class_names`` (a list in output order), ``class_to_idx`` (torchvision's ImageFolder) or
  ``idx_to_class``;
* :func:`fit_state` strips ``module.`` (DataParallel), ``_orig_mod.`` (torch.compile) and ``model.`` (Lightning)
  prefixes when that makes the keys fit, and refuses with the missing, unexpected or misshapen keys named;
* :func:`class_order` maps the classifier's outputs to the data set's classes (``--class-map`` file, the
  checkpoint's names, or ``sorted``) and refuses when they disagree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

STATE_KEYS = ("state_dict", "model_state_dict", "model", "net", "state_dict_ema", "model_ema")
PREFIXES = ("module.", "_orig_mod.", "model.")
SORTED = "sorted"  # --class-map sorted: the outputs are the class names in alphabetical order (ImageFolder's)
_SHOW = 6  # keys named in a message


class CheckpointError(RuntimeError):
    """A weights file cannot be used as it is; the message says what and how to fix it."""


@dataclass
class Checkpoint:
    """A read weights file: ``state`` (name -> tensor), the ``classes`` it names (None: it names none)."""

    path: Path
    state: dict[str, torch.Tensor]
    classes: list[str] | None
    sha256: str

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "classes": self.classes}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Load a weights file without running any code from it (see the module docstring for what is accepted)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file

            loaded: Any = load_file(str(path), device="cpu")
        except Exception as exc:
            raise CheckpointError(f"{path.name} is not a readable safetensors file: {exc}") from None
    else:
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            if "Unsupported global" in str(exc):
                raise CheckpointError(
                    f"{path.name} holds Python objects besides tensors (a whole pickled model, or training "
                    "arguments), which indoor never unpickles. Save the weights alone: "
                    "torch.save(model.state_dict(), 'weights.pt') (with the class names, if you like: "
                    "torch.save({'state_dict': model.state_dict(), 'classes': [...]}, 'weights.pt'))") from None
            detail = str(exc).split("WeightsUnpickler error:")[-1].split("Check the documentation")[0].strip()
            raise CheckpointError(f"{path.name} is not a PyTorch weights file ({exc.__class__.__name__}"
                                  f"{': ' + detail[:160] if detail else ''})") from None
    state, container = _unwrap(loaded, path.name)
    return Checkpoint(path=path.resolve(), state=state, classes=_class_names(container, path.name),
                      sha256=file_sha256(path))


def _is_state(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


def _unwrap(loaded: Any, name: str) -> tuple[dict[str, torch.Tensor], dict]:
    """(the state dict, the dict that held it) of whatever ``torch.load`` returned."""
    if _is_state(loaded):
        return dict(loaded), {}
    if isinstance(loaded, dict):
        for key in STATE_KEYS:
            if _is_state(loaded.get(key)):
                return dict(loaded[key]), loaded
        tensors = {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
        if tensors and all(isinstance(k, str) for k in tensors) and len(tensors) >= len(loaded) - 4:
            return tensors, loaded  # a state dict with a few metadata entries beside the tensors
        keys = ", ".join(map(repr, list(loaded)[:8]))
        raise CheckpointError(f"{name} holds a dict without a state dict (keys {keys}); expected the tensors "
                              f"themselves or one of {', '.join(STATE_KEYS)}")
    raise CheckpointError(f"{name} holds a {type(loaded).__name__}, not a state dict")


def _class_names(container: dict, name: str) -> list[str] | None:
    """The class names a checkpoint carries, in output order (None when it carries none)."""
    for key in ("classes", "class_names"):
        value = container.get(key)
        if value is not None:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise CheckpointError(f"{name}: {key!r} must be a list of class names in output order")
            return list(value)
    if isinstance(container.get("class_to_idx"), dict):
        return _names_from_indices({str(k): v for k, v in container["class_to_idx"].items()}, f"{name}: class_to_idx")
    if isinstance(container.get("idx_to_class"), dict):
        inverted = {str(v): k for k, v in container["idx_to_class"].items()}
        return _names_from_indices(inverted, f"{name}: idx_to_class")
    return None


def _names_from_indices(mapping: dict[str, Any], where: str) -> list[str]:
    try:
        indices = {name: int(index) for name, index in mapping.items()}
    except (TypeError, ValueError):
        raise CheckpointError(f"{where} must map class names to integer outputs") from None
    if sorted(indices.values()) != list(range(len(indices))):
        raise CheckpointError(f"{where} must number the outputs 0..{len(indices) - 1} once each")
    return sorted(indices, key=indices.get)


def strip_prefixes(keys, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` without the wrapper prefixes (``module.``, ``_orig_mod.``, ``model.``, nested too) that make its
    keys fit ``keys`` (the architecture's) best; unchanged when no prefix helps."""
    keys = set(keys)
    candidates, frontier = [state], [state]
    for _ in range(len(PREFIXES)):  # nested wrappers, e.g. module._orig_mod.
        frontier = [{k[len(p):]: v for k, v in candidate.items()} for candidate in frontier for p in PREFIXES
                    if candidate and all(k.startswith(p) for k in candidate)]
        candidates += frontier
    return max(candidates, key=lambda candidate: len(keys & candidate.keys()))  # ties: the fewest prefixes cut


def fit_state(expected: dict[str, torch.Size], state: dict[str, torch.Tensor], *, architecture: str
              ) -> dict[str, torch.Tensor]:
    """``state`` without the prefixes that keep it from fitting ``expected`` (the architecture's key -> shape, see
    :func:`strip_prefixes`); CheckpointError naming the missing, unexpected or misshapen keys when it still does
    not fit. Batch norm's ``num_batches_tracked`` counters may be absent."""
    best = strip_prefixes(expected.keys(), state)
    missing = [k for k in expected if k not in best and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in best if k not in expected]
    misshapen = [f"{k} {tuple(best[k].shape)} (expected {tuple(expected[k])})" for k in expected
                 if k in best and tuple(best[k].shape) != tuple(expected[k])]
    if missing or unexpected or misshapen:
        parts = []
        for title, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", misshapen)):
            if keys:
                parts.append(f"{title} ({len(keys)}): {', '.join(keys[:_SHOW])}" + (", ..." if len(keys) > _SHOW else ""))
        raise CheckpointError(f"the weights do not fit {architecture}: " + "; ".join(parts)
                              + ". Is --backbone the architecture the checkpoint was trained with?")
    return best


def read_class_map(path: str | Path) -> list[str]:
    """Class names in output order from a ``--class-map`` file: a JSON list, a JSON object name -> output index
    (``class_to_idx``), or a text file with one name per line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"class map not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"class map {path.name} is unreadable: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise CheckpointError(f"class map {path.name} is not JSON: {exc}") from None
        if isinstance(value, dict):
            return _names_from_indices({str(k): v for k, v in value.items()}, f"class map {path.name}")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise CheckpointError(f"class map {path.name} must be a JSON list of names or an object name -> index")
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise CheckpointError(f"class map {path.name} is empty: expected one class name per line, in output order")
    return names


def class_order(classes: Sequence[str], *, n_outputs: int, checkpoint_classes: Sequence[str] | None,
                class_map: str | Path | None) -> tuple[np.ndarray, str]:
    """(``order``, where it came from): ``order[c]`` is the classifier output of the data set's class ``c``.

    The outputs are named by ``class_map`` (a file, see :func:`read_class_map`, or ``"sorted"``: alphabetical,
    as torchvision's ImageFolder numbers them) or else by the checkpoint's own names; refused when neither names
    them, when both do and disagree, or when the names are not exactly the data set's classes."""
    named_by = None
    if class_map is not None:
        if str(class_map) == SORTED and not Path(class_map).exists():
            names, named_by = sorted(classes), "sorted (alphabetical)"
        else:
            names, named_by = read_class_map(class_map), f"class map {Path(class_map).name}"
        if checkpoint_classes is not None and list(checkpoint_classes) != list(names):
            diff = next(i for i, pair in enumerate(zip(list(checkpoint_classes) + [None] * len(names),
                                                       list(names) + [None] * len(checkpoint_classes)))
                        if pair[0] != pair[1])
            raise CheckpointError(
                f"the {named_by} and the checkpoint's own class names disagree (output {diff}: "
                f"{_at(names, diff)!r} vs {_at(checkpoint_classes, diff)!r}); fix one of them")
    elif checkpoint_classes is not None:
        names, named_by = list(checkpoint_classes), "the checkpoint's class names"
    else:
        raise CheckpointError(
            f"the checkpoint does not name its {n_outputs} outputs: pass --class-map FILE (one class name per "
            "line, in output order; or a JSON list or class_to_idx object), or --class-map sorted when it was "
            "trained with torchvision's ImageFolder on these class folders (alphabetical order)")
    if len(names) != n_outputs:
        raise CheckpointError(f"{named_by} names {len(names)} classes but the checkpoint's classifier has "
                              f"{n_outputs} outputs")
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise CheckpointError(f"{named_by} names class {duplicate!r} twice")
    if n_outputs != len(classes) or set(names) != set(classes):
        unknown = [n for n in names if n not in set(classes)]
        absent = [c for c in classes if c not in set(names)]
        detail = "; ".join(part for part in (
            f"not in the data set: {', '.join(map(repr, unknown[:_SHOW]))}" if unknown else "",
            f"not among the outputs: {', '.join(map(repr, absent[:_SHOW]))}" if absent else "") if part)
        raise CheckpointError(f"the checkpoint's classifier has {n_outputs} outputs ({named_by}) but the data set "
                              f"has {len(classes)} classes; they must be the same classes ({detail})")
    position = {name: i for i, name in enumerate(names)}
    return np.array([position[c] for c in classes], dtype=np.int64), named_by


def _at(values: Sequence[str] | None, index: int) -> str | None:
    return values[index] if values is not None and index < len(values) else None


def recorded_weights(meta: dict[str, Any]) -> dict[str, Any]:
    """``create_backbone`` keywords that rebuild a cache's model as its build made it (``meta``: the cache's
    metadata): the recorded preprocessing and, when it was built from a weights file, that file; CheckpointError
    when the file is gone or has changed since."""
    recorded = meta.get("preprocessing") if isinstance(meta.get("preprocessing"), dict) else {}
    keywords = {key: recorded[key] for key in ("mean", "std", "interpolation", "crop_pct") if key in recorded}
    described = meta.get("backbone") if isinstance(meta.get("backbone"), dict) else {}
    checkpoint = described.get("checkpoint")
    if isinstance(checkpoint, dict) and checkpoint.get("path"):
        path = Path(str(checkpoint["path"]))
        if not path.is_file():
            raise CheckpointError(f"the checkpoint the cache was built from, {path}, is no longer there")
        if checkpoint.get("sha256") and file_sha256(path) != checkpoint["sha256"]:
            raise CheckpointError(f"the checkpoint {path} has changed since the cache was built: rebuild the cache")
        keywords["weights"] = path
    return keywords
