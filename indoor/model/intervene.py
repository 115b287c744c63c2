"""Image edits for shortcut tests and their remedy: move ONE image property (brightness, contrast, colour,
sharpness, size, aspect ratio) to a target value, and the random augmentations that break a shortcut.

The properties are those of :func:`indoor.cache.properties.image_properties`, measured the same way (on a copy
whose shorter side is ``ANALYSIS_SIDE``), so an edit aimed at "the darkest 10 %" lands there by the build's own
measure. Each move changes one thing:

- brightness: the image scaled towards black or white in linear light-like steps (``x * f`` to darken,
  ``1 - (1 - x) * f`` to brighten): what low light or over-exposure do; hue is kept, and the edges and colour
  scale with the light (a dark image is also a low-contrast one, by the build's absolute measures);
- contrast: luma deviations from the image's mean scaled (mean brightness, chroma and hue kept);
- saturation, colourfulness: each pixel blended with its own grey (luma kept);
- hue, dominant hue: every pixel's hue turned by one angle (chroma rotated in the YIQ plane: luma kept);
- sharpness: Gaussian blur to lower it, unsharp masking to raise it;
- size: resampled to the target pixel count; aspect: centre crop to the target width / height.

Pure PIL and numpy (no torch): the feature pass's DataLoader workers apply :func:`augment` and the tests call
everything directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageFilter

from indoor.analysis.interventions import AUGMENTATIONS
from indoor.cache.properties import ANALYSIS_SIDE, _dominant_hue, image_properties, shrink

MOVES: dict[str, str] = {
    "brightness": "light scaled (darker: towards black; brighter: towards white)",
    "contrast": "contrast scaled around the mean brightness",
    "colourfulness": "colours blended with their own grey",
    "saturation": "colours blended with their own grey",
    "hue": "hue rotated",
    "dominant_hue": "hue rotated",
    "sharpness": "blurred or sharpened",
    "size": "resampled",
    "aspect": "centre-cropped",
}


class InterventionError(ValueError):
    """An unknown property or augmentation; the message lists the known ones."""


# ============================================================================================ measuring


def measure(image: Image.Image, prop: str) -> float:
    """The build's value of ``prop`` for ``image`` (its ``info["original_size"]`` counts as its size when set)."""
    width, height = image.info.get("original_size", image.size)
    if prop == "size":
        return float(width * height)
    if prop == "aspect":
        return float(width / height) if height else 1.0
    return float(image_properties(image, width=width, height=height)[prop])


def _analysis_array(image: Image.Image) -> np.ndarray:
    return np.asarray(shrink(image.convert("RGB"), ANALYSIS_SIDE), dtype=np.float32) / 255.0


def _luma(rgb: np.ndarray) -> np.ndarray:
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _fast(prop: str, rgb: np.ndarray) -> float:
    """``prop`` of a float RGB array in 0..1, with image_properties' formulas (no resize, no 8-bit rounding)."""
    if prop == "brightness":
        return float(_luma(rgb).mean())
    if prop == "contrast":
        return float(_luma(rgb).std())
    if prop == "saturation":
        return float((rgb.max(axis=2) - rgb.min(axis=2)).mean())
    if prop == "colourfulness":
        rg = rgb[..., 0] - rgb[..., 1]
        yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
        return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    raise InterventionError(f"no fast measure for {prop!r}")


# ============================================================================================ point edits


def _light(rgb: np.ndarray, level: float) -> np.ndarray:
    """level < 0: x * e^level (darker, towards black); level > 0: 1 - (1 - x) * e^-level (brighter)."""
    if level <= 0:
        return rgb * np.float32(np.exp(level))
    return 1.0 - (1.0 - rgb) * np.float32(np.exp(-level))


def _contrast(rgb: np.ndarray, k: float) -> np.ndarray:
    """Luma deviations from the mean luma scaled by k; the same grey offset on R, G and B keeps each pixel's
    chroma (saturation) and hue."""
    luma = _luma(rgb)
    return rgb + ((np.float32(k) - 1.0) * (luma - luma.mean()))[..., None]


def _saturate(rgb: np.ndarray, s: float) -> np.ndarray:
    grey = _luma(rgb)[..., None]
    return grey + (rgb - grey) * np.float32(s)


_POINT_EDITS: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], float, float]] = {
    # property -> (edit(rgb, parameter), lowest, highest parameter); the measure grows with the parameter
    "brightness": (_light, -6.0, 6.0),
    "contrast": (_contrast, 0.0, 12.0),
    "saturation": (_saturate, 0.0, 12.0),
    "colourfulness": (_saturate, 0.0, 12.0),
}


def _solve(value_at: Callable[[float], float], target: float, lo: float, hi: float, iters: int = 22) -> float:
    """The parameter in [lo, hi] whose (increasing) value is closest to ``target`` (bisection)."""
    if value_at(lo) >= target:
        return lo
    if value_at(hi) <= target:
        return hi
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if value_at(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _apply_point(image: Image.Image, edit, parameter: float) -> Image.Image:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    out = np.clip(edit(rgb, parameter), 0.0, 1.0)
    return Image.fromarray((out * 255.0 + 0.5).astype(np.uint8), "RGB")


# ============================================================================================ other edits


_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=np.float32)
_RGB = np.linalg.inv(_YIQ).astype(np.float32)


def rotate_hue(image: Image.Image, degrees: float) -> Image.Image:
    """Every pixel's hue turned by about ``degrees`` (the build's HSV hue): its chroma rotated in the YIQ plane,
    so luma (brightness, contrast, edges) and the amount of colour stay, up to clipping."""
    if abs(degrees) < 1e-6:
        return image.convert("RGB")
    yiq = (np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0) @ _YIQ.T
    angle = np.radians(-degrees)  # a positive YIQ rotation lowers the HSV hue
    cos, sin = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    i, q = yiq[..., 1].copy(), yiq[..., 2].copy()
    yiq[..., 1], yiq[..., 2] = cos * i - sin * q, sin * i + cos * q
    return Image.fromarray((np.clip(yiq @ _RGB.T, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")


def _blurred(image: Image.Image, amount: float) -> Image.Image:
    """amount < 0: Gaussian blur of radius -amount px; amount > 0: unsharp mask of that strength (x100 %)."""
    if amount < 0:
        return image.filter(ImageFilter.GaussianBlur(radius=-amount))
    if amount > 0:
        return image.filter(ImageFilter.UnsharpMask(radius=2, percent=int(round(amount * 100)), threshold=0))
    return image


def _sharpness(image: Image.Image) -> float:
    luma = _luma(_analysis_array(image))
    lap = -4 * luma[1:-1, 1:-1] + luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
    return float(lap.var() * 1000.0) if lap.size else 0.0


def _hue(small: Image.Image, prop: str) -> float:
    """The build's hue or dominant hue of an image already at the analysis size (image_properties' formulas)."""
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32)
    angle = hsv[..., 0] / 255.0 * 2 * np.pi
    weight = (hsv[..., 1] / 255.0) * (hsv[..., 2] / 255.0) + 1e-6
    hue = float(np.degrees(np.arctan2((np.sin(angle) * weight).sum(), (np.cos(angle) * weight).sum())) % 360)
    return hue if prop == "hue" else _dominant_hue(hsv, fallback=hue)


def _hue_angle(small: Image.Image, prop: str, target: float) -> float:
    """The rotation (degrees) that brings ``prop`` of ``small`` closest to ``target``: a few corrections (YIQ and
    HSV hue differ), then, for a step-valued dominant hue still off by more than 10°, a search around the circle."""
    def miss(angle: float) -> float:
        return _circular_delta(target, _hue(rotate_hue(small, angle), prop))

    turned, residual = 0.0, miss(0.0)
    best = (abs(residual), 0.0)
    for _ in range(4):
        if best[0] < 1.0:
            break
        turned += residual
        residual = miss(turned)
        best = min(best, (abs(residual), turned))
    if best[0] > 10.0:  # 30° steps, then the two 15° neighbours of the best
        best = min([best] + [(abs(miss(float(angle))), float(angle)) for angle in range(0, 360, 30)])
        best = min([best] + [(abs(miss(best[1] + step)), best[1] + step) for step in (-15.0, 15.0)])
    return best[1] % 360.0


def _circular_delta(target: float, current: float) -> float:
    return (target - current + 180.0) % 360.0 - 180.0


def _resized(image: Image.Image, original: tuple[int, int], pixels: float) -> tuple[Image.Image, tuple[int, int]]:
    """The image as if its original had ``pixels`` pixels (aspect kept): downsampled when that is smaller than
    what the working copy holds (detail lost), unchanged otherwise (upsampling adds none)."""
    width, height = original
    scale = float(np.sqrt(max(pixels, 1.0) / max(width * height, 1)))
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new[0] < image.width and new[1] < image.height:
        image = image.resize(new, Image.BILINEAR, reducing_gap=3.0)
    return image, new


def _cropped(image: Image.Image, original: tuple[int, int], aspect: float) -> tuple[Image.Image, tuple[int, int]]:
    """Centre crop to width / height = ``aspect`` (of the working copy, and the same share of the original)."""
    width, height = image.size
    if aspect <= 0:
        return image, original
    if width / height > aspect:  # too wide: crop the sides
        new_w, new_h = max(1, round(height * aspect)), height
    else:
        new_w, new_h = width, max(1, round(width / aspect))
    left, top = (width - new_w) // 2, (height - new_h) // 2
    crop = image.crop((left, top, left + new_w, top + new_h))
    return crop, (max(1, round(original[0] * new_w / width)), max(1, round(original[1] * new_h / height)))


# ============================================================================================ the move


def move_property(image: Image.Image, prop: str, target: float) -> Image.Image:
    """``image`` edited so that ``prop`` (a key of :data:`MOVES`) measures about ``target``, everything else
    as little changed as the edit allows (see the module's docstring). ``image.info["original_size"]``, when set
    (:func:`indoor.data.images.load_rgb` sets it), is the size the size and aspect properties start from; the
    result carries its own. A target the edit cannot reach (brighter than white) gets as close as it can."""
    if prop not in MOVES:
        raise InterventionError(f"unknown property {prop!r}; known: {', '.join(MOVES)}")
    original = tuple(image.info.get("original_size", image.size))
    image = image.convert("RGB")
    size = original
    if prop in _POINT_EDITS:
        edit, lo, hi = _POINT_EDITS[prop]
        small = _analysis_array(image)
        parameter = _solve(lambda p: _fast(prop, np.clip(edit(small, p), 0.0, 1.0)), float(target), lo, hi)
        out = _apply_point(image, edit, parameter)
    elif prop in ("hue", "dominant_hue"):
        out = rotate_hue(image, _hue_angle(shrink(image, ANALYSIS_SIDE), prop, float(target)))
    elif prop == "sharpness":
        current = _sharpness(image)
        if target < current:
            amount = -_solve(lambda r: -_sharpness(_blurred(image, -r)), -float(target), 0.0, 16.0, iters=12)
        else:
            amount = _solve(lambda a: _sharpness(_blurred(image, a)), float(target), 0.0, 60.0, iters=12)
        out = _blurred(image, amount)
    elif prop == "size":
        out, size = _resized(image, original, float(target))
    else:  # aspect
        out, size = _cropped(image, original, float(target))
    out.info["original_size"] = size
    return out


# ============================================================================================ augmentation


def check_augmentations(kinds: Sequence[str]) -> tuple[str, ...]:
    """The augmentation names, validated (``scale`` is ``crop``); raises InterventionError naming the known ones."""
    names = tuple(dict.fromkeys("crop" if k.strip() == "scale" else k.strip() for k in kinds if k.strip()))
    unknown = [k for k in names if k not in AUGMENTATIONS]
    if unknown:
        raise InterventionError(f"unknown augmentation {unknown[0]!r}; known: {', '.join(AUGMENTATIONS)}")
    return names


def augment(image: Image.Image, kinds: Sequence[str], rng: np.random.Generator) -> Image.Image:
    """One random view of ``image`` with every augmentation in ``kinds`` (names of :data:`AUGMENTATIONS`),
    each at a random strength drawn from ``rng``."""
    out = image.convert("RGB")
    for kind in kinds:
        if kind == "crop":
            out = _random_crop(out, rng)
        elif kind == "brightness":
            out = _apply_point(out, _light, float(rng.uniform(np.log(0.2), np.log(1.4))))
        elif kind == "contrast":
            out = _apply_point(out, _contrast, float(rng.uniform(0.4, 1.6)))
        elif kind == "saturation":
            out = _apply_point(out, _saturate, float(rng.uniform(0.0, 1.6)))
        elif kind == "hue":
            out = rotate_hue(out, float(rng.uniform(0.0, 360.0)))
        elif kind == "grayscale":
            if rng.random() < 1 / 3:
                out = out.convert("L").convert("RGB")
        elif kind == "blur":
            amount = float(rng.uniform(-3.0, 1.5))
            out = _blurred(out, amount) if abs(amount) > 0.2 else out
        else:
            raise InterventionError(f"unknown augmentation {kind!r}; known: {', '.join(AUGMENTATIONS)}")
    return out


def _random_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    width, height = image.size
    for _ in range(10):
        area = width * height * rng.uniform(0.35, 1.0)
        ratio = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
        w, h = int(round(np.sqrt(area * ratio))), int(round(np.sqrt(area / ratio)))
        if 0 < w <= width and 0 < h <= height:
            left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            return image.crop((left, top, left + w, top + h)).resize((width, height), Image.BILINEAR)
    return image


def tint(image: Image.Image, degrees: float, strength: float) -> Image.Image:
    """A colour cast of hue ``degrees``: every pixel shifted by the same luma-free colour vector whose chroma
    (max - min of R, G, B) is ``strength`` (0..1), so a grey wall takes that hue and brightness stays."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return Image.fromarray((np.clip(rgb + _cast(degrees, strength), 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def _cast(degrees: float, strength: float) -> np.ndarray:
    pure = np.asarray(Image.new("HSV", (1, 1), (int(round(degrees / 360 * 256)) % 256, 255, 255)).convert("RGB"),
                      dtype=np.float32).reshape(3) / 255.0
    vector = pure - _luma(pure[None, None])[0, 0]
    span = float(vector.max() - vector.min()) or 1.0
    return (vector / span * strength).astype(np.float32)
