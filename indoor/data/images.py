"""Image loading: any file a camera or an editor writes, opened as 8-bit RGB, or a specific ImageLoadError."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

MAX_IMAGE_PIXELS = 64_000_000  # larger images are refused as possible decompression bombs

ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageLoadError(ValueError):
    """One image cannot be loaded; ``reason`` is a short, user-facing explanation."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def load_rgb(path: str | Path, *, draft_size: int | None = None) -> Image.Image:
    """Open any image as 8-bit RGB, whatever its extension claims.

    Handles grayscale, palette, RGBA/LA (composited on white), 16/32-bit integer and float, and CMYK; applies the
    EXIF orientation. ``draft_size`` lets JPEG decoding shrink by a power of two towards (at least) that size,
    which is much faster for large photos. Raises :class:`ImageLoadError` for missing, empty, truncated,
    corrupt, animated-only-garbage or oversized (decompression bomb) files.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageLoadError(path, f"cannot read file ({exc.strerror or exc})") from None
    if size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageLoadError(
                        path, f"{width}x{height} pixels exceeds the {MAX_IMAGE_PIXELS:,}-pixel limit (decompression bomb?)"
                    )
                if draft_size and image.format == "JPEG":
                    image.draft("RGB", (draft_size, draft_size))
                image.load()
                decoded_size = image.size
                image = ImageOps.exif_transpose(image)
                if image.size != decoded_size:  # rotated by 90 degrees
                    width, height = height, width
                rgb = _to_rgb(image)
                rgb.info["original_size"] = (width, height)
                return rgb
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(path, f"refused as a possible decompression bomb ({exc})") from None
    except Image.UnidentifiedImageError:
        raise ImageLoadError(path, "not a recognised image format (corrupt or not an image)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        message = str(exc) or exc.__class__.__name__
        if "truncated" in message.lower():
            raise ImageLoadError(path, "truncated image file") from None
        raise ImageLoadError(path, f"cannot decode image ({message})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        if mode.startswith("I;16"):
            array = array / 257.0
        elif high > low:
            array = (array - low) * (255.0 / (high - low))
        gray = np.clip(array, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")
