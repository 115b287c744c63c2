"""Per-image properties (for shortcut analysis) and thumbnails. Pure functions of a PIL image."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

PROPERTY_COLUMNS = (
    "width",
    "height",
    "brightness",
    "contrast",
    "colourfulness",
    "hue",
    "dominant_hue",
    "saturation",
    "sharpness",
)
ANALYSIS_SIDE = 128  # properties are computed on a copy of this shorter side, so they do not depend on resolution


def image_properties(image: Image.Image, *, width: int | None = None, height: int | None = None) -> dict[str, float]:
    """Brightness and contrast (mean / std of luma, 0..1), colourfulness (Hasler-Suesstrunk, 0..~1),
    mean hue (circular, degrees 0..360, weighted by chroma), dominant hue (degrees: the hue of the largest
    coloured area), saturation (0..1: mean chroma, HSV saturation x value, so dark pixels count as grey) and sharpness
    (variance of the Laplacian of luma at a fixed scale). ``width``/``height`` default to the image's own
    (pass the original size when ``image`` is a reduced decode)."""
    rgb = shrink(image.convert("RGB"), ANALYSIS_SIDE)
    w, h = image.size
    pixels = np.asarray(rgb, dtype=np.float32) / 255.0
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    rg = red - green
    yb = 0.5 * (red + green) - blue
    colourfulness = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    hsv = np.asarray(rgb.convert("HSV"), dtype=np.float32)
    hue_rad = hsv[..., 0] / 255.0 * 2 * np.pi
    # chroma = HSV saturation x value = (max - min) / 255: a dark pixel's HSV saturation is noise (S = (max - min) /
    # max blows up as max -> 0), so dark images would read as vividly coloured; chroma counts them as grey.
    chroma = (hsv[..., 1] / 255.0) * (hsv[..., 2] / 255.0)
    weight = chroma + 1e-6
    hue = float(np.degrees(np.arctan2((np.sin(hue_rad) * weight).sum(), (np.cos(hue_rad) * weight).sum())) % 360)
    dominant_hue = _dominant_hue(hsv, fallback=hue)
    laplacian = (
        -4 * luma[1:-1, 1:-1] + luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
    )
    return {
        "width": float(width if width is not None else w),
        "height": float(height if height is not None else h),
        "brightness": float(luma.mean()),
        "contrast": float(luma.std()),
        "colourfulness": colourfulness,
        "hue": hue,
        "dominant_hue": dominant_hue,
        "saturation": float(chroma.mean()),
        "sharpness": float(laplacian.var() * 1000.0) if laplacian.size else 0.0,
    }


def shrink(image: Image.Image, shorter_side: int) -> Image.Image:
    """The image scaled down (bilinear, antialiased) so its shorter side is ``shorter_side``; never enlarged."""
    w, h = image.size
    scale = shorter_side / min(w, h)
    if scale >= 1:
        return image
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR, reducing_gap=3.0)


def _dominant_hue(hsv: np.ndarray, *, fallback: float, bins: int = 24) -> float:
    """Centre (degrees) of the most weighted hue bin among coloured pixels (weight = saturation x value),
    smoothed over neighbouring bins on the circle: the colour of the largest coloured area (a teal wall),
    which a mean hue over the whole picture dilutes."""
    saturation = hsv[..., 1] / 255.0
    value = hsv[..., 2] / 255.0
    weight = saturation * value
    coloured = saturation > 0.15
    if not coloured.any():
        return fallback
    hist = np.bincount((hsv[..., 0][coloured].astype(np.int64) * bins) // 256, weights=weight[coloured], minlength=bins)
    smoothed = hist + 0.5 * (np.roll(hist, 1) + np.roll(hist, -1))
    return float((np.argmax(smoothed) + 0.5) * 360.0 / bins)


def pixel_hash(image: Image.Image) -> str:
    """Hex digest of the decoded RGB pixels and size: identical images (whatever their file format) match."""
    import hashlib

    rgb = image.convert("RGB")
    digest = hashlib.blake2b(rgb.tobytes(), digest_size=16)
    digest.update(repr(rgb.size).encode())
    return digest.hexdigest()


def make_thumbnail(image: Image.Image, *, size: int = 128, quality: int = 82) -> bytes:
    """JPEG bytes of the image shrunk to fit ``size`` x ``size`` (aspect kept)."""
    thumb = image.convert("RGB")
    thumb.thumbnail((size, size), Image.BILINEAR, reducing_gap=2.0)
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=quality, optimize=False)
    return buffer.getvalue()
