"""Post-processing of a drawn scene into a photo-like image (numpy): a slight blur, lighting (a light pool
around the source, vignette, level and tint, or global low light for the planted dark shortcut) and Gaussian
sensor noise; the light pool, vignette and noise fields are precomputed once per image size and process.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from indoor.data.synthetic.canvas import _ri, _u

_BANKS: dict[int, dict] = {}
_NOISE_SIGMAS = (2.5, 3.5, 4.5)


def _bank(S: int) -> dict:
    """Per-size precomputed fields (built once per process, from a fixed seed): a radial light pool to crop
    around the light source, a vignette, and sensor-noise fields to crop at a random offset. Stored as
    (rows, 3 * columns) so that every per-pixel operation runs on long contiguous rows."""
    b = _BANKS.get(S)
    if b is None:
        yy, xx = np.mgrid[-S:S, -S:S].astype(np.float32) / S
        radial = np.exp(-(xx * xx + yy * yy) / 0.45).astype(np.float32)
        y1, x1 = np.mgrid[0:S, 0:S].astype(np.float32) / S - 0.5
        vign = (1.0 - 0.35 * (x1 * x1 + y1 * y1)).astype(np.float32)
        base = np.random.default_rng(12345).standard_normal((2 * S, 6 * S)).astype(np.float32)
        b = {"radial": np.repeat(radial, 3, axis=1), "vign": np.repeat(vign, 3, axis=1),
             "noise": [base * np.float32(s) for s in _NOISE_SIGMAS]}
        _BANKS[S] = b
    return b


def _finish(img: Image.Image, rng, light_xy, pal: dict, dark: bool) -> Image.Image:
    """Slight blur, lighting (light pool around the source, vignette, level, tint; or global low light when
    ``dark``), Gaussian sensor noise."""
    S = img.size[0]
    b = _bank(S)
    # blur: separable integer kernel [1, k, 1] with k in {4, 6} (sigma ~0.58 / 0.5 px), in uint16
    k = 4 if rng.random() < 0.5 else 6
    a = np.asarray(img).astype(np.uint16)
    t = a * np.uint16(k)
    t[1:] += a[:-1]
    t[:-1] += a[1:]
    t[0] += a[0]
    t[-1] += a[-1]
    s = t * np.uint16(k)
    s[:, 1:] += t[:, :-1]
    s[:, :-1] += t[:, 1:]
    s[:, 0] += t[:, 0]
    s[:, -1] += t[:, -1]
    # lighting: pool of light around the source, vignette, tint and level (with the blur normalisation)
    lx = int(min(max(light_xy[0], 0), S - 1))
    ly = int(min(max(light_xy[1], 0), S - 1))
    amp = _u(rng, 0.15, 0.35)
    tint = np.asarray(pal["tint"], np.float32) * (0.96 + 0.08 * rng.random(3)).astype(np.float32)
    level = pal["level"] * _u(rng, 0.94, 1.06)
    if dark:
        level = _u(rng, 0.25, 0.45)
        tint = tint * np.array([1.12, 0.95, 0.72], np.float32)
    gain = (tint * (level / float((k + 2) ** 2))).astype(np.float32)
    out = b["radial"][S - ly:2 * S - ly, 3 * (S - lx):3 * (2 * S - lx)] * np.float32(amp)
    out += np.float32(1.0 - amp * 0.6)
    out *= b["vign"]
    out *= np.tile(gain, S)[None, :]
    out *= s.reshape(S, 3 * S)
    ox, oy = _ri(rng, S), _ri(rng, S)
    out += b["noise"][_ri(rng, len(_NOISE_SIGMAS))][oy:oy + S, 3 * ox:3 * (ox + S)]
    np.clip(out, 0, 255, out=out)
    return Image.frombytes("RGB", (S, S), out.astype(np.uint8).tobytes())
