"""The drawing canvas shared by every class drawer: small colour helpers (``_clip8``, ``_u``, ``_ri``, ``_jit``,
``_shade``, ``_mix``, ``_hsv``, ``_pick``), the object colour palettes (bottles, store items, old books, jars,
pool balls), the local drawing frame ``_G`` of an object group and the per-group options ``_Opts``. Drawing
model: a room (back wall, ceiling, side walls, floor, seen from a camera whose vanishing point moves) plus one
*group* of class-defining objects drawn in a local frame. The local frame has its origin at the group centre,
one unit = ``0.3 * size * scale`` pixels, x in about [-1.5, 1.5], y in [-1.1, 1] with the floor contact line at
y = 1. Moving/scaling the frame (``anchor``, ``scale``) moves/scales *every* defining object and nothing else.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image

# ----------------------------------------------------------------------------------------------------------
# colour helpers


def _clip8(v: float) -> int:
    return 0 if v < 0 else 255 if v > 255 else int(v)


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    """Uniform scalar in [a, b) (cheaper than Generator.uniform for one value)."""
    return a + (b - a) * rng.random()


def _ri(rng: np.random.Generator, a: int, b: int | None = None) -> int:
    """Integer in [a, b) (or [0, a)), cheaper than Generator.integers for one value."""
    if b is None:
        a, b = 0, a
    return a + int(rng.random() * (b - a))


def _jit(rng: np.random.Generator, c, a: int = 12) -> tuple[int, int, int]:
    """Colour c with a small random per-channel jitter."""
    r = rng.random(3) * (2 * a + 1) - a
    return (_clip8(c[0] + r[0]), _clip8(c[1] + r[1]), _clip8(c[2] + r[2]))


def _shade(c, f: float) -> tuple[int, int, int]:
    return (_clip8(c[0] * f), _clip8(c[1] * f), _clip8(c[2] * f))


def _mix(c1, c2, t: float) -> tuple[int, int, int]:
    return (_clip8(c1[0] + (c2[0] - c1[0]) * t), _clip8(c1[1] + (c2[1] - c1[1]) * t),
            _clip8(c1[2] + (c2[2] - c1[2]) * t))


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (int(r * 255), int(g * 255), int(b * 255))


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.random() * len(seq))]


_BOTTLES = np.array([(38, 92, 44), (22, 62, 34), (125, 72, 22), (165, 105, 32), (190, 182, 160), (96, 28, 32),
                     (58, 82, 118), (205, 192, 118), (34, 30, 30), (150, 60, 30)], np.int16)
# bookstore and videostore share this palette (and every other drawing parameter): they must look alike
_STORE_ITEMS = np.array([(200, 40, 40), (230, 120, 30), (235, 200, 50), (60, 150, 70), (40, 110, 190),
                         (90, 60, 160), (220, 220, 215), (30, 30, 35), (200, 80, 150), (60, 170, 180),
                         (150, 90, 50), (120, 125, 135)], np.int16)
_BOOKS_OLD = np.array([(112, 38, 34), (62, 72, 46), (40, 50, 82), (122, 92, 52), (92, 60, 40), (150, 128, 88),
                       (72, 30, 30), (32, 42, 36), (140, 108, 70), (170, 150, 110)], np.int16)
_JARS = np.array([(190, 120, 60), (150, 40, 40), (215, 190, 110), (100, 120, 50), (230, 225, 210),
                  (170, 90, 50)], np.int16)
_BALLS = [(230, 200, 40), (30, 60, 170), (200, 40, 40), (110, 40, 130), (240, 120, 30), (40, 120, 60),
          (120, 30, 30), (20, 20, 20)]


# ----------------------------------------------------------------------------------------------------------
# the local drawing frame of an object group


class _G:
    """Draws in a group's local frame: pixel = centre + local * u (x mirrored when ``mirror``). Opaque shapes go
    through ``d`` (fast), translucent ones (shadows, glass, glows) through ``da`` (alpha blending)."""

    __slots__ = ("img", "d", "da", "cx", "cy", "u", "ux", "vx", "vy")

    def __init__(self, img, d, da, cx: float, cy: float, u: float, vp: tuple[float, float],
                 mirror: bool = False):
        self.img, self.d, self.da = img, d, da
        self.cx, self.cy, self.u = cx, cy, u
        self.ux = -u if mirror else u
        self.vx = min(max((vp[0] - cx) / self.ux, -4.0), 4.0)
        self.vy = min(max((vp[1] - cy) / u, -4.0), 4.0)

    def w(self, w: float) -> int:
        return max(1, int(round(w * self.u)))

    def rect(self, x0, y0, x1, y1, fill, outline=None, alpha: bool = False):
        ux, u, cx, cy = self.ux, self.u, self.cx, self.cy
        a, b, c, e = cx + x0 * ux, cy + y0 * u, cx + x1 * ux, cy + y1 * u
        if c < a:
            a, c = c, a
        if e < b:
            b, e = e, b
        (self.da if alpha else self.d).rectangle((a, b, c, e), fill=fill, outline=outline)

    def poly(self, pts, fill, outline=None, alpha: bool = False):
        ux, u, cx, cy = self.ux, self.u, self.cx, self.cy
        (self.da if alpha else self.d).polygon([(cx + x * ux, cy + y * u) for x, y in pts], fill=fill,
                                               outline=outline)

    def ell(self, x0, y0, x1, y1, fill, outline=None, alpha: bool = False):
        ux, u, cx, cy = self.ux, self.u, self.cx, self.cy
        a, b, c, e = cx + x0 * ux, cy + y0 * u, cx + x1 * ux, cy + y1 * u
        if c < a:
            a, c = c, a
        if e < b:
            b, e = e, b
        (self.da if alpha else self.d).ellipse((a, b, c, e), fill=fill, outline=outline)

    def line(self, pts, fill, w: float = 0.02, alpha: bool = False):
        ux, u, cx, cy = self.ux, self.u, self.cx, self.cy
        (self.da if alpha else self.d).line([(cx + x * ux, cy + y * u) for x, y in pts], fill=fill,
                                            width=self.w(w))

    def shadow(self, x0, x1, y, h: float = 0.06, a: int = 70):
        self.ell(x0, y - h, x1, y + h, (0, 0, 0, a), alpha=True)

    def box(self, x0, y0, x1, y1, k, col, top=None, side=None, outline=None, grad: bool = True):
        """A box seen from the camera: front face (x0,y0)-(x1,y1), depth k (fraction of the way to the
        vanishing point); draws the visible top/bottom and side faces, then the front face with a darker
        lower part."""
        vx, vy = self.vx, self.vy
        if top is None:
            top = _shade(col, 1.2)
        if side is None:
            side = _shade(col, 0.72)

        def bk(x, y):
            return (x + (vx - x) * k, y + (vy - y) * k)

        if y0 > vy:
            self.poly([(x0, y0), (x1, y0), bk(x1, y0), bk(x0, y0)], top)
        elif y1 < vy:
            self.poly([(x0, y1), (x1, y1), bk(x1, y1), bk(x0, y1)], _shade(col, 0.6))
        if x1 < vx:
            self.poly([(x1, y0), bk(x1, y0), bk(x1, y1), (x1, y1)], side)
        elif x0 > vx:
            self.poly([(x0, y0), bk(x0, y0), bk(x0, y1), (x0, y1)], side)
        self.rect(x0, y0, x1, y1, col, outline)
        if grad and (y1 - y0) * self.u > 4:
            self.rect(x0, y0 + (y1 - y0) * 0.55, x1, y1, (0, 0, 0, 38), alpha=True)

    def strip(self, rng, x0, x1, ybase, palette, wmin, wmax, hmin, hmax, gap=(0.0, 0.0), neck: float = 0.0,
              shade: float = 0.45, jitter: int = 14):
        """A row of upright items (books, cases, bottles, jars) standing on y=ybase between x0 and x1, drawn
        in one paste: per-item colour from ``palette``, per-item width/height, optional bottle neck, a
        cylindrical/edge shading across each item."""
        u = self.u
        p0 = int(round(self.cx + x0 * self.ux))
        p1 = int(round(self.cx + x1 * self.ux))
        if p1 < p0:
            p0, p1 = p1, p0
        pb = int(round(self.cy + ybase * u))
        width = p1 - p0
        if width < 2:
            return
        n = int(width / max(1.0, wmin * u)) + 2
        r = rng.random((4, n))
        ws = np.maximum(1, (wmin + (wmax - wmin) * r[0]) * u + 0.5).astype(np.int64)
        gs = ((gap[0] + (gap[1] - gap[0]) * r[1]) * u + 0.5).astype(np.int64)
        hs = np.maximum(1, (hmin + (hmax - hmin) * r[2]) * u + 0.5).astype(np.int64)
        cols = palette[(r[3] * len(palette)).astype(np.int64)] + (rng.random((n, 3)) * (2 * jitter + 1) - jitter).astype(np.int64)
        per = ws + gs
        idx = np.repeat(np.arange(n), per)[:width]
        starts = np.cumsum(per) - per
        pos = np.arange(len(idx)) - starts[idx]
        iw = ws[idx]
        inside = pos < iw
        hgt = hs[idx] * inside
        t = pos / iw
        if neck > 0:
            hgt += (inside & (np.abs(t - 0.5) < 0.2)) * int(round(neck * u))
        sh = int(hgt.max())
        if sh < 1:
            return
        f = 1.0 + shade * (0.35 - np.abs(t - 0.35) * 1.6)
        f[pos == 0] = 0.55  # dark edge between items
        colcol = np.clip(cols[idx] * f[:, None], 0, 255).astype(np.uint8)
        wd = len(idx)
        mask = (np.arange(sh)[:, None] >= (sh - hgt)[None, :]).astype(np.uint8) * 255
        self.img.paste(Image.frombytes("RGB", (wd, 1), colcol.tobytes()).resize((wd, sh), Image.NEAREST),
                       (p0, pb - sh), Image.frombytes("L", (wd, sh), mask.tobytes()))


class _Opts:
    __slots__ = ("teal", "green_bedspread", "template", "ward")

    def __init__(self, teal=False, green_bedspread=False, template=None, ward=False):
        self.teal, self.green_bedspread, self.template, self.ward = teal, green_bedspread, template, ward
