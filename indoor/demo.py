"""Procedural demo data set: synthetic indoor-scene photos with planted, known problems.

Nothing is downloaded: every image is drawn with Pillow's ImageDraw (polygons, rectangles, ellipses) plus a
little numpy for lighting, blur and sensor noise, deterministically from a seed. Classes are defined by the
objects in the room (a pool table makes a game room), so a frozen ImageNet CNN + a linear probe learns them;
the planted problems (flipped labels, multi-class scenes, brightness/colour shortcuts, look-alike classes,
near-duplicates across splits) are written to a separate ``truth.csv`` so that an error-analysis tool can be
checked against them.

Layout written by :func:`render_demo`::

    out_dir/images/{train,test}/<given_label>/<given_label>_<NNNN>.jpg
    out_dir/truth.csv

``sample_id`` (the key used by the rest of ``indoor``) is the path relative to ``out_dir/images`` with forward
slashes, e.g. ``train/bar/bar_0007.jpg``.

Drawing model: a room (back wall, ceiling, side walls, floor, seen from a camera whose vanishing point moves)
plus one *group* of class-defining objects drawn in a local frame. The local frame has its origin at the group
centre, one unit = ``0.3 * size * scale`` pixels, x in about [-1.5, 1.5], y in [-1.1, 1] with the floor
contact line at y = 1. Moving/scaling the frame (``anchor``, ``scale``) moves/scales *every* defining object and
nothing else.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "DEMO_CLASSES",
    "INDOOR67_CLASSES",
    "TRUTH_COLUMNS",
    "DemoSummary",
    "demo_class_names",
    "render_demo",
    "render_scene",
]

DEMO_CLASSES: list[str] = [
    "bar", "deli", "bakery", "bookstore", "videostore", "bedroom",
    "gameroom", "hospitalroom", "kitchen", "office", "library", "livingroom",
]

INDOOR67_CLASSES: list[str] = [
    "airport_inside", "artstudio", "auditorium", "bakery", "bar", "bathroom", "bedroom", "bookstore",
    "bowling", "buffet", "casino", "children_room", "church_inside", "classroom", "cloister", "closet",
    "clothingstore", "computerroom", "concert_hall", "corridor", "deli", "dentaloffice", "dining_room",
    "elevator", "fastfood_restaurant", "florist", "gameroom", "garage", "greenhouse", "grocerystore", "gym",
    "hairsalon", "hospitalroom", "inside_bus", "inside_subway", "jewelleryshop", "kindergarden", "kitchen",
    "laboratorywet", "laundromat", "library", "livingroom", "lobby", "locker_room", "mall", "meeting_room",
    "movietheater", "museum", "nursery", "office", "operating_room", "pantry", "poolinside", "prisoncell",
    "restaurant", "restaurant_kitchen", "shoeshop", "stairscase", "studiomusic", "subway", "toystore",
    "trainstation", "tv_studio", "videostore", "waitingroom", "warehouse", "winecellar",
]

TRUTH_COLUMNS = [
    "sample_id", "split", "true_class", "given_label", "flipped", "second_class", "dark", "teal",
    "green_bedspread", "scale", "near_duplicate_of",
]


def demo_class_names(n_classes: int) -> list[str]:
    """The first ``n_classes`` demo classes: the 12 hand-designed ones first (in :data:`DEMO_CLASSES` order),
    then the other MIT Indoor-67 names in their list order (drawn from a generic parametric template).

    ``n_classes`` must be in [10, 67]; anything else raises ValueError.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise ValueError(f"n_classes must be an integer in [10, 67], got {n_classes!r}")
    n = int(n_classes)
    if not 10 <= n <= len(INDOOR67_CLASSES):
        raise ValueError(f"n_classes must be in [10, {len(INDOOR67_CLASSES)}], got {n}")
    rest = [c for c in INDOOR67_CLASSES if c not in DEMO_CLASSES]
    return (DEMO_CLASSES + rest)[:n]


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

_SHADOW = (0, 0, 0, 70)


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


# ----------------------------------------------------------------------------------------------------------
# hand-designed classes (each draws its defining objects in the local frame)


class _Opts:
    __slots__ = ("teal", "green_bedspread", "template")

    def __init__(self, teal=False, green_bedspread=False, template=None):
        self.teal, self.green_bedspread, self.template = teal, green_bedspread, template


def _d_bar(g: _G, rng, o):
    wood = _jit(rng, (96, 56, 32), 12)
    dark = _shade(wood, 0.62)
    g.rect(-1.42, -1.1, 1.42, -0.08, _jit(rng, (48, 34, 30), 6))
    g.rect(-1.3, -1.02, 1.3, -0.2, _jit(rng, (78, 68, 62), 8))  # mirror
    nsh = _ri(rng, 2, 4)
    for i in range(nsh):
        y = -0.72 + 0.3 * i
        g.strip(rng, -1.26, 1.26, y, _BOTTLES, 0.06, 0.09, 0.11, 0.17, gap=(0.02, 0.07), neck=0.08, shade=0.7)
        g.box(-1.32, y, 1.32, y + 0.035, 0.03, _shade(wood, 1.1))
    g.ell(-0.9, -1.16, -0.7, -1.06, (255, 210, 140))  # little warm spots
    g.ell(0.7, -1.16, 0.9, -1.06, (255, 210, 140))
    # counter
    g.shadow(-1.6, 1.6, 1.0, 0.09)
    g.box(-1.45, 0.12, 1.45, 0.98, 0.16, dark, top=_shade(wood, 1.35))
    for x in np.linspace(-1.2, 1.2, 7):
        g.line([(x, 0.22), (x, 0.86)], _shade(dark, 0.7), 0.015)
    g.box(-1.52, 0.05, 1.52, 0.13, 0.18, _shade(wood, 1.15), top=_shade(wood, 1.45))
    g.line([(-1.45, 0.85), (1.45, 0.85)], (185, 150, 70), 0.022)
    # stools
    n = _ri(rng, 3, 7)
    xs = np.linspace(-1.15, 1.15, n) + rng.uniform(-0.07, 0.07, n)
    seat = _jit(rng, _pick(rng, [(150, 32, 30), (34, 30, 30), (120, 72, 36), (70, 40, 90)]), 14)
    metal = _jit(rng, (70, 70, 74), 10)
    for x in xs:
        g.shadow(x - 0.15, x + 0.15, 1.03, 0.035)
        g.line([(x - 0.08, 0.54), (x - 0.12, 1.03)], metal, 0.02)
        g.line([(x + 0.08, 0.54), (x + 0.12, 1.03)], metal, 0.02)
        g.line([(x, 0.54), (x, 1.0)], _shade(metal, 0.8), 0.02)
        g.line([(x - 0.105, 0.83), (x + 0.105, 0.83)], metal, 0.015)
        g.ell(x - 0.14, 0.48, x + 0.14, 0.58, _shade(seat, 0.65))
        g.ell(x - 0.14, 0.45, x + 0.14, 0.54, seat)


def _display_case(g: _G, rng, y0, y1, food):
    """Counter with a glass display case on top (deli/bakery); ``food(g, rng, x, y, w)`` draws one item."""
    body = _jit(rng, _pick(rng, [(205, 205, 200), (150, 100, 62), (120, 122, 128), (235, 230, 220)]), 10)
    g.shadow(-1.6, 1.6, 1.0, 0.09)
    g.box(-1.45, y1, 1.45, 0.98, 0.16, body)
    g.line([(-1.45, y1 + 0.06), (1.45, y1 + 0.06)], _shade(body, 0.8), 0.015)
    inner = _jit(rng, (215, 225, 228), 8)
    g.box(-1.42, y0, 1.42, y1, 0.14, inner, top=(225, 238, 242), grad=False)
    shelf_y = (y0 + y1) / 2 + 0.02
    g.line([(-1.42, shelf_y), (1.42, shelf_y)], (170, 175, 178), 0.018)
    for yb in (shelf_y - 0.01, y1 - 0.03):
        x = -1.35
        while x < 1.25:
            w = _u(rng, 0.14, 0.24)
            food(g, rng, x, yb, w)
            x += w + _u(rng, 0.02, 0.06)
    for x in np.linspace(-1.2, 1.2, 4):
        g.poly([(x, y1), (x + 0.12, y1), (x + 0.3, y0), (x + 0.18, y0)], (255, 255, 255, 55), alpha=True)
    g.rect(-1.45, y0 - 0.02, 1.45, y0 + 0.01, (165, 170, 175))
    g.line([(-1.43, y0), (-1.43, y1)], (165, 170, 175), 0.02)
    g.line([(1.43, y0), (1.43, y1)], (165, 170, 175), 0.02)


def _food_deli(g: _G, rng, x, yb, w):
    k = _ri(rng, 4)
    if k == 0:  # salami slices
        c = _jit(rng, (150, 42, 48), 15)
        for i in range(3):
            g.ell(x + i * w / 3.5, yb - 0.09, x + i * w / 3.5 + w / 2.2, yb, c, outline=_shade(c, 0.7))
    elif k == 1:  # ham
        c = _jit(rng, (222, 140, 140), 12)
        g.ell(x, yb - 0.1, x + w, yb + 0.005, c, outline=_shade(c, 0.75))
        g.ell(x + w * 0.3, yb - 0.07, x + w * 0.6, yb - 0.03, _shade(c, 1.12))
    elif k == 2:  # cheese wedge
        c = _jit(rng, (240, 205, 85), 12)
        g.poly([(x, yb), (x + w, yb), (x + w, yb - 0.11)], c)
        g.poly([(x + w, yb), (x + w * 1.05, yb - 0.02), (x + w * 1.05, yb - 0.12), (x + w, yb - 0.11)],
               _shade(c, 0.8))
    else:  # sausages in a tray
        c = _jit(rng, (120, 58, 40), 12)
        g.rect(x, yb - 0.03, x + w, yb, (200, 200, 200))
        for i in range(4):
            g.ell(x + i * w / 4.2, yb - 0.07, x + (i + 1) * w / 4.2, yb - 0.02, c)


def _food_bakery(g: _G, rng, x, yb, w):
    k = _ri(rng, 4)
    if k == 0:  # loaf
        c = _jit(rng, (196, 135, 62), 16)
        g.ell(x, yb - 0.1, x + w, yb + 0.005, c, outline=_shade(c, 0.7))
        for i in range(1, 4):
            g.line([(x + w * i / 4 - 0.02, yb - 0.07), (x + w * i / 4 + 0.02, yb - 0.03)], _shade(c, 1.25), 0.012)
    elif k == 1:  # cake
        c = _jit(rng, _pick(rng, [(240, 170, 190), (245, 240, 228), (96, 54, 32), (250, 215, 150)]), 10)
        g.rect(x, yb - 0.1, x + w, yb, _shade(c, 0.88))
        g.line([(x, yb - 0.05), (x + w, yb - 0.05)], _shade(c, 0.7), 0.012)
        g.ell(x, yb - 0.13, x + w, yb - 0.07, c)
        g.ell(x + w * 0.4, yb - 0.15, x + w * 0.6, yb - 0.1, (200, 30, 40))
    elif k == 2:  # croissants
        c = _jit(rng, (212, 150, 66), 14)
        for i in range(2):
            xx = x + i * w / 2
            g.ell(xx, yb - 0.06, xx + w / 2, yb, c, outline=_shade(c, 0.7))
            g.line([(xx + w / 6, yb - 0.055), (xx + w / 6, yb - 0.005)], _shade(c, 0.7), 0.008)
            g.line([(xx + w / 3, yb - 0.055), (xx + w / 3, yb - 0.005)], _shade(c, 0.7), 0.008)
    else:  # doughnuts
        c = _jit(rng, _pick(rng, [(230, 140, 170), (120, 70, 40), (235, 200, 120)]), 10)
        for i in range(2):
            xx = x + i * w / 2
            g.ell(xx, yb - 0.07, xx + w / 2.1, yb, c)
            g.ell(xx + w / 7, yb - 0.05, xx + w / 3, yb - 0.025, (215, 225, 228))


def _d_deli(g: _G, rng, o):
    # menu board + hanging sausages and hams on a rail + a shelf of jars
    g.rect(-0.5, -1.08, 0.5, -0.6, _jit(rng, (38, 44, 40), 6), outline=(120, 90, 60))
    for i in range(4):
        yy = -1.0 + 0.1 * i
        g.line([(-0.42, yy), (-0.42 + _u(rng, 0.35, 0.8), yy)], (225, 225, 215), 0.012)
    g.line([(-1.4, -1.02), (1.4, -1.02)], (140, 140, 140), 0.018)
    for side in (-1, 1):
        for x in np.linspace(0.62, 1.32, _ri(rng, 4, 7)):
            L = _u(rng, 0.18, 0.38)
            c = _jit(rng, _pick(rng, [(130, 45, 40), (160, 80, 50), (95, 40, 35), (190, 120, 80)]), 12)
            xx = side * x
            g.line([(xx, -1.02), (xx, -0.97)], (200, 190, 170), 0.008)
            g.ell(xx - 0.04, -0.98, xx + 0.04, -0.98 + L, c, outline=_shade(c, 0.7))
    g.strip(rng, -1.3, 1.3, -0.4, _JARS, 0.07, 0.11, 0.1, 0.16, gap=(0.01, 0.04), neck=0.02, shade=0.5)
    g.box(-1.35, -0.4, 1.35, -0.36, 0.03, _jit(rng, (150, 110, 70), 10))
    _display_case(g, rng, -0.12, 0.36, _food_deli)
    if rng.random() < 0.15:  # occasionally a single stool
        x = _u(rng, -1.0, 1.0)
        g.line([(x, 0.6), (x, 1.02)], (80, 80, 85), 0.02)
        g.ell(x - 0.13, 0.55, x + 0.13, 0.63, (40, 40, 40))


def _d_bakery(g: _G, rng, o):
    wood = _jit(rng, (160, 110, 64), 12)
    g.box(-1.4, -1.08, 1.4, -0.3, 0.05, _shade(wood, 0.7), grad=False)
    for y in (-0.72, -0.34):
        for x in np.arange(-1.32, 1.25, 0.22):  # bread on the shelves
            c = _jit(rng, (190, 128, 58), 18)
            if rng.random() < 0.35:  # baguettes leaning
                for dx in (0.0, 0.05, 0.1):
                    g.line([(x + dx, y - 0.02), (x + dx + 0.06, y - 0.3)], c, 0.045)
            else:
                g.ell(x, y - 0.13, x + 0.19, y, c, outline=_shade(c, 0.7))
                g.line([(x + 0.06, y - 0.1), (x + 0.1, y - 0.05)], _shade(c, 1.3), 0.012)
        g.box(-1.4, y, 1.4, y + 0.04, 0.04, wood)
    _display_case(g, rng, -0.12, 0.36, _food_bakery)


def _d_racks(g: _G, rng, o):
    """bookstore AND videostore: one code path, one palette, one layout: indistinguishable by design."""
    frame = _jit(rng, _pick(rng, [(205, 205, 210), (165, 122, 80), (92, 92, 98), (230, 225, 210)]), 10)
    back = _shade(frame, 0.55)
    # a wall rack across the back
    g.box(-1.48, -1.08, 1.48, 0.08, 0.04, frame, grad=False)
    g.rect(-1.42, -1.02, 1.42, 0.04, back)
    for y in (-0.74, -0.46, -0.18, 0.04):
        g.strip(rng, -1.4, 1.4, y, _STORE_ITEMS, 0.03, 0.06, 0.19, 0.24, gap=(0.0, 0.006), shade=0.4)
        g.rect(-1.42, y, 1.42, y + 0.025, frame)
    # free-standing racks in front, an aisle between them
    gap = _u(rng, 0.12, 0.35)
    for xa, xb in ((-1.5, -gap), (gap, 1.5)):
        g.shadow(xa - 0.05, xb + 0.05, 1.0, 0.07)
        g.box(xa, 0.16, xb, 0.98, 0.12, frame, grad=False)
        g.rect(xa + 0.05, 0.2, xb - 0.05, 0.92, back)
        for y in (0.44, 0.68, 0.92):
            g.strip(rng, xa + 0.05, xb - 0.05, y, _STORE_ITEMS, 0.03, 0.06, 0.17, 0.22, gap=(0.0, 0.006),
                    shade=0.4)
            g.rect(xa + 0.05, y, xb - 0.05, y + 0.025, frame)
        g.rect(xa, 0.92, xb, 0.98, _shade(frame, 0.8))


def _d_library(g: _G, rng, o):
    wood = _jit(rng, _pick(rng, [(88, 54, 32), (110, 70, 40), (70, 44, 30)]), 10)
    n = _ri(rng, 2, 4)
    edges = np.linspace(-1.48, 1.48, n + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        g.box(a + 0.02, -1.12, b - 0.02, 0.5, 0.05, wood, grad=False)
        g.rect(a + 0.07, -1.06, b - 0.07, 0.44, _shade(wood, 0.5))
        for y in np.linspace(-0.82, 0.44, 6):
            g.strip(rng, a + 0.07, b - 0.07, y, _BOOKS_OLD, 0.035, 0.06, 0.15, 0.21, gap=(0.0, 0.01),
                    shade=0.5, jitter=10)
            g.rect(a + 0.05, y, b - 0.05, y + 0.03, _shade(wood, 1.1))
    # reading table with lamps and chairs
    tw = _u(rng, 0.9, 1.25)
    top = _jit(rng, (120, 78, 44), 10)
    g.shadow(-tw - 0.1, tw + 0.1, 1.0, 0.07)
    for x in (-tw + 0.08, tw - 0.08):
        g.rect(x - 0.04, 0.62, x + 0.04, 0.99, _shade(top, 0.6))
    g.box(-tw, 0.55, tw, 0.63, 0.2, top, top=_shade(top, 1.3))
    for x in (-tw * 0.5, tw * 0.5):  # banker's lamps
        g.line([(x, 0.53), (x, 0.42)], (190, 160, 70), 0.02)
        g.ell(x - 0.1, 0.5, x + 0.1, 0.56, (170, 140, 60))
        g.poly([(x - 0.13, 0.44), (x + 0.13, 0.44), (x + 0.09, 0.36), (x - 0.09, 0.36)], (30, 105, 60))
        g.poly([(x - 0.16, 0.44), (x + 0.16, 0.44), (x + 0.3, 0.56), (x - 0.3, 0.56)], (255, 235, 160, 50),
               alpha=True)
    ch = _jit(rng, (100, 40, 35), 12)
    for x in (-tw * 0.75, 0.0, tw * 0.75):
        g.box(x - 0.13, 0.66, x + 0.13, 0.74, 0.1, ch)
        g.line([(x - 0.11, 0.74), (x - 0.11, 1.0)], _shade(top, 0.55), 0.025)
        g.line([(x + 0.11, 0.74), (x + 0.11, 1.0)], _shade(top, 0.55), 0.025)


def _bedspread_colour(rng, green: bool):
    if green:
        return _jit(rng, (56, 138, 68), 14)
    h = _u(rng, 0.5, 1.17) % 1.0  # blue..purple..red..orange: never green
    return _hsv(h, _u(rng, 0.3, 0.75), _u(rng, 0.45, 0.9))


def _d_bedroom(g: _G, rng, o):
    hb = _jit(rng, _pick(rng, [(110, 72, 45), (70, 50, 40), (200, 190, 175), (90, 90, 110)]), 12)
    spread = _bedspread_colour(rng, o.green_bedspread)
    sheet = _jit(rng, (238, 236, 228), 8)
    g.shadow(-1.05, 1.05, 0.97, 0.08)
    g.box(-0.78, -0.5, 0.78, 0.25, 0.04, hb)
    g.ell(-0.78, -0.62, 0.78, -0.38, hb)
    # mattress top (perspective), front face, pillows
    g.poly([(-0.72, 0.12), (0.72, 0.12), (0.95, 0.7), (-0.95, 0.7)], sheet)
    g.ell(-0.62, -0.02, -0.08, 0.22, _shade(sheet, 1.05), outline=_shade(sheet, 0.8))
    g.ell(0.08, -0.02, 0.62, 0.22, _shade(sheet, 1.05), outline=_shade(sheet, 0.8))
    g.poly([(-0.8, 0.3), (0.8, 0.3), (0.97, 0.72), (-0.97, 0.72)], spread)
    g.poly([(-0.8, 0.3), (0.8, 0.3), (0.83, 0.37), (-0.83, 0.37)], _shade(spread, 1.2))
    g.rect(-0.97, 0.72, 0.97, 0.9, _shade(spread, 0.78))
    g.rect(-0.95, 0.9, 0.95, 0.97, _shade(hb, 0.7))
    # nightstand + lamp on the right (sometimes both sides)
    ns = _shade(hb, 1.05)
    for side in ((1,) if rng.random() < 0.6 else (1, -1)):
        x0, x1 = (1.0, 1.4) if side > 0 else (-1.4, -1.0)
        g.shadow(x0 - 0.05, x1 + 0.05, 0.98, 0.04)
        g.box(x0, 0.38, x1, 0.97, 0.08, ns)
        g.line([(x0 + 0.05, 0.6), (x1 - 0.05, 0.6)], _shade(ns, 0.6), 0.01)
        g.ell((x0 + x1) / 2 - 0.03, 0.56, (x0 + x1) / 2 + 0.03, 0.5, (200, 180, 120))
        xm = (x0 + x1) / 2
        g.rect(xm - 0.05, 0.25, xm + 0.05, 0.38, (190, 170, 120))
        shade_c = _jit(rng, (240, 225, 190), 10)
        g.poly([(xm - 0.15, 0.26), (xm + 0.15, 0.26), (xm + 0.09, 0.05), (xm - 0.09, 0.05)], shade_c)
        g.ell(xm - 0.35, -0.1, xm + 0.35, 0.5, (255, 230, 170, 45), alpha=True)


def _d_gameroom(g: _G, rng, o):
    felt = _jit(rng, (36, 128, 62), 10)
    rail = _jit(rng, (104, 58, 26), 12)
    g.shadow(-1.3, 1.3, 1.0, 0.1, 90)
    for x in (-1.0, -0.25, 0.25, 1.0):
        if abs(x) < 0.5 and rng.random() < 0.5:
            continue
        g.poly([(x - 0.07, 0.45), (x + 0.07, 0.45), (x + 0.05, 0.99), (x - 0.05, 0.99)], _shade(rail, 0.6))
    g.box(-1.18, 0.26, 1.18, 0.48, 0.0, _shade(rail, 0.85))  # apron
    g.poly([(-1.24, 0.28), (1.24, 0.28), (0.98, -0.16), (-0.98, -0.16)], _shade(rail, 1.15))
    g.poly([(-1.12, 0.23), (1.12, 0.23), (0.91, -0.11), (-0.91, -0.11)], felt)
    g.poly([(-1.12, 0.23), (1.12, 0.23), (1.09, 0.19), (-1.09, 0.19)], _shade(felt, 0.75))
    for (x, y) in ((-1.12, 0.23), (1.12, 0.23), (-0.92, -0.11), (0.92, -0.11), (0.0, 0.24), (0.0, -0.12)):
        g.ell(x - 0.045, y - 0.03, x + 0.045, y + 0.03, (15, 15, 15))
    nb = _ri(rng, 4, 12)
    ys = rng.uniform(-0.06, 0.17, nb)
    for i in range(nb):
        y = float(ys[i])
        half = 0.91 + (y + 0.11) / 0.34 * 0.21 - 0.08
        x = _u(rng, -half, half)
        c = (245, 245, 240) if i == 0 else _pick(rng, _BALLS)
        g.ell(x - 0.035, y - 0.03, x + 0.035, y + 0.03, c)
    if rng.random() < 0.7:
        x = _u(rng, -0.6, 0.6)
        g.line([(x - 0.7, 0.3), (x + 0.5, -0.02)], (215, 180, 120), 0.018)
    if rng.random() < 0.8:  # hanging lamp over the table
        lc = _jit(rng, _pick(rng, [(120, 30, 30), (40, 35, 30), (150, 110, 40)]), 10)
        for x in (-0.5, 0.5):
            g.line([(x, -1.1), (x, -0.72)], (40, 40, 40), 0.01)
        g.poly([(-0.75, -0.6), (0.75, -0.6), (0.62, -0.74), (-0.62, -0.74)], lc)
        g.poly([(-0.75, -0.6), (0.75, -0.6), (1.05, 0.05), (-1.05, 0.05)], (255, 240, 190, 40), alpha=True)


def _d_hospital(g: _G, rng, o):
    if o.teal:
        cur = _jit(rng, (64, 160, 152), 12)
    else:
        cur = _jit(rng, _pick(rng, [(225, 215, 190), (190, 195, 215), (230, 200, 200), (210, 210, 205)]), 10)
    # curtain on a ceiling rail at the left
    g.line([(-1.5, -1.1), (-0.6, -1.1)], (170, 170, 175), 0.02)
    xs = np.linspace(-1.5, -0.7, 7)
    for i in range(6):
        g.poly([(xs[i], -1.08), (xs[i + 1], -1.08), (xs[i + 1] + 0.02, 0.95), (xs[i] + 0.02, 0.95)],
               _shade(cur, 1.08 if i % 2 else 0.86))
    # wall monitor on an arm
    g.line([(1.1, -0.95), (0.95, -0.75)], (120, 120, 125), 0.03)
    g.box(0.5, -0.95, 1.0, -0.58, 0.03, (50, 52, 58), grad=False)
    g.rect(0.54, -0.91, 0.96, -0.62, (12, 22, 20))
    pts = [(0.56 + 0.04 * i, -0.76 - (0.09 if i % 3 == 1 else 0.0) + (0.04 if i % 3 == 2 else 0.0))
           for i in range(10)]
    g.line(pts, (60, 230, 120), 0.012)
    g.line([(0.56, -0.68), (0.94, -0.68)], (80, 190, 230), 0.01)
    # bed: metal frame, rails, white sheets, wheels
    metal = _jit(rng, (175, 180, 188), 8)
    sheet = _jit(rng, (240, 242, 240), 6)
    blanket = _jit(rng, _pick(rng, [(200, 215, 235), (235, 235, 230), (220, 200, 210)]), 8)
    g.shadow(-0.95, 0.95, 0.97, 0.07)
    g.rect(-0.82, -0.35, -0.74, 0.75, metal)  # head frame
    for y in (-0.3, -0.15, 0.0):
        g.line([(-0.9, y), (-0.66, y)], metal, 0.02)
    g.box(-0.8, 0.22, 0.85, 0.44, 0.1, sheet, top=_shade(sheet, 1.0))
    g.poly([(-0.8, 0.3), (0.85, 0.3), (0.85, 0.42), (-0.55, 0.42)], blanket)
    g.ell(-0.78, 0.08, -0.4, 0.26, (250, 250, 250), outline=(200, 200, 205))
    g.rect(-0.82, 0.44, 0.88, 0.52, _shade(metal, 0.8))
    g.line([(-0.5, 0.12), (0.6, 0.12)], metal, 0.025)  # side rail
    for x in (-0.45, -0.05, 0.35, 0.6):
        g.line([(x, 0.12), (x, 0.26)], metal, 0.018)
    for x in (-0.7, 0.75):
        g.line([(x, 0.52), (x, 0.9)], _shade(metal, 0.8), 0.03)
        g.ell(x - 0.05, 0.88, x + 0.05, 0.98, (40, 40, 40))
    # IV stand: pole, base, hook, bag, tube
    x = _u(rng, 1.05, 1.3)
    g.line([(x, -0.85), (x, 0.95)], (185, 188, 195), 0.02)
    for dx in (-0.14, 0.0, 0.14):
        g.line([(x, 0.93), (x + dx, 0.99)], (150, 150, 155), 0.02)
    g.line([(x - 0.1, -0.85), (x + 0.1, -0.85)], (185, 188, 195), 0.015)
    g.rect(x - 0.09, -0.82, x + 0.05, -0.52, (220, 236, 242, 210), alpha=True)
    g.rect(x - 0.08, -0.7, x + 0.04, -0.53, (235, 230, 170, 200), alpha=True)
    g.line([(x - 0.02, -0.52), (x - 0.05, -0.2), (0.6, 0.2)], (230, 235, 240), 0.008)


def _d_kitchen(g: _G, rng, o):
    cab = _jit(rng, _pick(rng, [(238, 236, 230), (150, 104, 64), (62, 72, 96), (176, 180, 168)]), 10)
    counter = _jit(rng, _pick(rng, [(60, 60, 62), (210, 205, 195), (150, 110, 70)]), 8)
    tile = _jit(rng, _pick(rng, [(230, 230, 225), (190, 210, 220), (220, 200, 170)]), 8)
    g.rect(-1.45, -0.5, 0.45, 0.3, tile)  # backsplash
    for y in np.arange(-0.42, 0.3, 0.09):
        g.line([(-1.45, y), (0.45, y)], _shade(tile, 0.82), 0.008)
    for x in np.arange(-1.4, 0.45, 0.16):
        g.line([(x, -0.5), (x, 0.3)], _shade(tile, 0.86), 0.006)
    # upper cabinets + hood
    for a in np.arange(-1.45, 0.4, 0.38):
        if -0.55 < a + 0.19 < -0.1:
            continue
        g.box(a, -1.05, a + 0.37, -0.52, 0.06, cab, grad=False)
        g.line([(a + 0.3, -0.66), (a + 0.3, -0.58)], (110, 110, 115), 0.015)
    g.poly([(-0.55, -0.75), (-0.15, -0.75), (-0.05, -0.5), (-0.65, -0.5)], (165, 168, 172))
    g.rect(-0.43, -1.05, -0.27, -0.75, (150, 152, 156))
    # lower cabinets, countertop, stove with oven, sink
    g.shadow(-1.55, 0.5, 1.0, 0.07)
    g.box(-1.45, 0.36, 0.45, 0.98, 0.1, cab)
    for a in np.arange(-1.45, 0.4, 0.38):
        g.line([(a, 0.36), (a, 0.96)], _shade(cab, 0.75), 0.01)
        g.line([(a + 0.29, 0.45), (a + 0.29, 0.55)], (110, 110, 115), 0.015)
    g.box(-0.62, 0.36, -0.08, 0.98, 0.1, (38, 38, 40))
    g.rect(-0.56, 0.52, -0.14, 0.85, (20, 20, 22), outline=(120, 120, 125))
    g.rect(-0.52, 0.56, -0.18, 0.7, (70, 50, 35))
    for x in np.linspace(-0.55, -0.15, 4):
        g.ell(x - 0.02, 0.41, x + 0.02, 0.45, (160, 160, 160))
    g.box(-1.5, 0.28, 0.5, 0.36, 0.14, counter, top=_shade(counter, 1.25))
    for x in (-0.47, -0.23):
        g.ell(x - 0.09, 0.26, x + 0.09, 0.31, (25, 25, 25), outline=(90, 90, 90))
    g.ell(-1.15, 0.27, -0.85, 0.32, (180, 185, 190), outline=(120, 120, 125))
    g.line([(-1.0, 0.28), (-1.0, 0.14), (-0.92, 0.14)], (170, 172, 176), 0.02)
    # fridge
    fr = _jit(rng, _pick(rng, [(205, 208, 212), (240, 240, 238), (60, 62, 66)]), 6)
    g.shadow(0.6, 1.35, 1.0, 0.05)
    g.box(0.62, -1.08, 1.3, 0.98, 0.08, fr)
    g.line([(0.62, -0.3), (1.3, -0.3)], _shade(fr, 0.7), 0.012)
    g.line([(0.7, -0.6), (0.7, -0.4)], (120, 122, 126), 0.025)
    g.line([(0.7, -0.2), (0.7, 0.15)], (120, 122, 126), 0.025)


def _monitor(g: _G, rng, x, y, w):
    """A computer monitor standing on y, centred on x, screen width w."""
    g.rect(x - 0.03, y - 0.12, x + 0.03, y, (50, 50, 55))
    g.rect(x - 0.1, y - 0.02, x + 0.1, y, (60, 60, 65))
    g.rect(x - w / 2, y - 0.12 - w * 0.62, x + w / 2, y - 0.12, (28, 28, 32))
    sc = _jit(rng, _pick(rng, [(170, 200, 235), (225, 230, 240), (60, 90, 150)]), 10)
    g.rect(x - w / 2 + 0.02, y - 0.1 - w * 0.62, x + w / 2 - 0.02, y - 0.14, sc)
    for i in range(3):
        yy = y - 0.1 - w * 0.62 + 0.05 + i * 0.05
        g.line([(x - w / 2 + 0.05, yy), (x - w / 2 + 0.05 + _u(rng, 0.05, w * 0.7), yy)],
               _shade(sc, 0.6), 0.01)


def _office_chair(g: _G, x, y, col):
    g.shadow(x - 0.2, x + 0.2, y, 0.04)
    for dx in (-0.18, -0.08, 0.08, 0.18):
        g.line([(x, y - 0.05), (x + dx, y)], (40, 40, 42), 0.018)
    g.line([(x, y - 0.05), (x, y - 0.22)], (70, 70, 75), 0.025)
    g.ell(x - 0.2, y - 0.29, x + 0.2, y - 0.2, _shade(col, 0.8))
    g.poly([(x - 0.16, y - 0.26), (x + 0.16, y - 0.26), (x + 0.14, y - 0.62), (x - 0.14, y - 0.62)], col)
    g.ell(x - 0.14, y - 0.68, x + 0.14, y - 0.56, col)


def _d_office(g: _G, rng, o):
    part = _jit(rng, _pick(rng, [(120, 130, 150), (150, 150, 145), (100, 115, 110)]), 10)
    desk = _jit(rng, _pick(rng, [(200, 190, 170), (140, 100, 65), (230, 230, 228), (90, 90, 95)]), 10)
    chair = _jit(rng, _pick(rng, [(35, 35, 40), (40, 55, 100), (110, 30, 30)]), 10)
    nd = _ri(rng, 1, 3)
    spans = [(-1.1, 1.1)] if nd == 1 else [(-1.45, -0.08), (0.08, 1.45)]
    g.box(-1.5, -0.5, 1.5, 0.2, 0.03, part, grad=False)
    g.line([(-1.5, -0.5), (1.5, -0.5)], _shade(part, 0.6), 0.02)
    if rng.random() < 0.5:  # whiteboard
        g.rect(-0.7, -1.05, 0.7, -0.6, (240, 242, 245), outline=(150, 150, 155))
        for i in range(3):
            g.line([(-0.6, -0.97 + 0.1 * i), (-0.6 + _u(rng, 0.3, 1.1), -0.97 + 0.1 * i)],
                   _pick(rng, [(40, 60, 160), (170, 40, 40), (30, 30, 30)]), 0.012)
    for a, b in spans:
        g.shadow(a, b, 0.98, 0.05)
        g.box(a + 0.05, 0.24, a + 0.35, 0.97, 0.08, _shade(desk, 0.9))  # drawer pedestal
        g.line([(a + 0.1, 0.45), (a + 0.3, 0.45)], _shade(desk, 0.6), 0.012)
        g.line([(b - 0.08, 0.26), (b - 0.08, 0.97)], _shade(desk, 0.6), 0.03)
        g.box(a, 0.18, b, 0.25, 0.18, desk, top=_shade(desk, 1.2))
        m = (a + b) / 2 + _u(rng, -0.15, 0.15)
        _monitor(g, rng, m, 0.16, _u(rng, 0.42, 0.6))
        if rng.random() < 0.5:
            _monitor(g, rng, m + 0.5 * (1 if m < 0 else -1), 0.16, 0.36)
        g.poly([(m - 0.2, 0.2), (m + 0.2, 0.2), (m + 0.22, 0.23), (m - 0.22, 0.23)], (50, 50, 55))
        _office_chair(g, m + _u(rng, -0.2, 0.2), 1.0, chair)
    if rng.random() < 0.5:  # plant
        x = 1.35 if nd == 1 else _u(rng, -0.1, 0.1)
        g.poly([(x - 0.08, 0.98), (x + 0.08, 0.98), (x + 0.1, 0.78), (x - 0.1, 0.78)], (170, 90, 60))
        for dx, dy in ((-0.1, -0.1), (0.08, -0.12), (0.0, -0.25)):
            g.ell(x + dx - 0.1, 0.78 + dy - 0.1, x + dx + 0.1, 0.78 + dy + 0.08, (50, 120, 50))


def _d_livingroom(g: _G, rng, o):
    sofa = _jit(rng, _pick(rng, [(120, 120, 128), (150, 110, 80), (70, 80, 110), (170, 160, 140),
                                 (120, 60, 50)]), 12)
    rug = _jit(rng, _pick(rng, [(160, 60, 50), (200, 180, 150), (70, 90, 130), (150, 140, 120)]), 12)
    g.poly([(-1.3, 0.55), (1.3, 0.55), (1.55, 1.0), (-1.55, 1.0)], rug)
    g.poly([(-1.2, 0.59), (1.2, 0.59), (1.4, 0.96), (-1.4, 0.96)], None, outline=_shade(rug, 1.35))
    g.poly([(-1.05, 0.65), (1.05, 0.65), (1.2, 0.9), (-1.2, 0.9)], None, outline=_shade(rug, 0.7))
    # sofa against the back (left part), facing the camera
    xa, xb = -1.45, _u(rng, 0.1, 0.45)
    g.shadow(xa, xb, 0.62, 0.05)
    g.box(xa + 0.12, -0.2, xb - 0.12, 0.25, 0.06, sofa)
    g.box(xa + 0.12, 0.22, xb - 0.12, 0.58, 0.12, _shade(sofa, 0.95), top=_shade(sofa, 1.18))
    ncu = _ri(rng, 2, 4)
    cw = (xb - xa - 0.3) / ncu
    for i in range(ncu):
        x0 = xa + 0.15 + i * cw
        g.line([(x0 + cw, 0.27), (x0 + cw, 0.56)], _shade(sofa, 0.75), 0.01)
    for x in (xa + 0.3, xb - 0.45):
        c = _jit(rng, _pick(rng, [(220, 180, 60), (200, 80, 70), (240, 235, 220), (60, 110, 140)]), 10)
        g.poly([(x, 0.25), (x + 0.15, 0.03), (x + 0.3, 0.25), (x + 0.15, 0.3)], c)
    g.box(xa, -0.05, xa + 0.15, 0.6, 0.08, _shade(sofa, 0.9))
    g.box(xb - 0.15, -0.05, xb, 0.6, 0.08, _shade(sofa, 0.9))
    # coffee table
    tb = _jit(rng, _pick(rng, [(110, 72, 44), (60, 45, 35), (200, 200, 200)]), 10)
    xc = (xa + xb) / 2 + _u(rng, -0.1, 0.1)
    g.shadow(xc - 0.55, xc + 0.55, 0.93, 0.05)
    for x in (xc - 0.45, xc + 0.45):
        g.line([(x, 0.76), (x, 0.93)], _shade(tb, 0.6), 0.03)
    g.box(xc - 0.5, 0.7, xc + 0.5, 0.77, 0.2, tb)
    g.ell(xc - 0.1, 0.66, xc + 0.05, 0.71, (230, 230, 225))
    # TV on a low cabinet at the right
    x0, x1 = xb + 0.1, 1.48
    g.shadow(x0, x1, 0.8, 0.04)
    g.box(x0, 0.42, x1, 0.8, 0.06, _shade(tb, 1.0))
    g.line([((x0 + x1) / 2, 0.46), ((x0 + x1) / 2, 0.76)], _shade(tb, 0.6), 0.01)
    tw = (x1 - x0) * 0.92
    xm = (x0 + x1) / 2
    g.rect(xm - tw / 2, 0.38 - tw * 0.58, xm + tw / 2, 0.38, (18, 18, 22))
    g.rect(xm - tw / 2 + 0.025, 0.4 - tw * 0.58, xm + tw / 2 - 0.025, 0.355, (40, 46, 60))
    g.poly([(xm - tw / 2 + 0.03, 0.4 - tw * 0.58), (xm - tw / 6, 0.4 - tw * 0.58), (xm - tw / 2 + 0.03, 0.2)],
           (255, 255, 255, 30), alpha=True)
    g.rect(xm - 0.1, 0.38, xm + 0.1, 0.42, (30, 30, 30))
    # floor lamp at the far left
    if rng.random() < 0.6:
        g.line([(-1.42, -0.55), (-1.42, 0.62)], (60, 60, 60), 0.015)
        g.poly([(-1.55, -0.55), (-1.29, -0.55), (-1.34, -0.78), (-1.5, -0.78)], (240, 225, 190))


# ----------------------------------------------------------------------------------------------------------
# generic classes: a parametric template derived from a hash of the class name


def _gp_shelves(g, rng, t, p):
    c = p["c"]
    a, b = p["x0"], p["x1"]
    g.box(a, -1.05, b, 0.2, 0.04, _shade(c, 0.9), grad=False)
    g.rect(a + 0.05, -1.0, b - 0.05, 0.16, _shade(c, 0.45))
    for y in np.linspace(-0.7, 0.16, 4):
        g.strip(rng, a + 0.05, b - 0.05, y, t["items"], 0.05 * p["v"] + 0.04, 0.1 * p["v"] + 0.06, 0.1, 0.2,
                gap=(0.0, 0.05), neck=0.03 if p["n"] % 2 else 0.0)
        g.rect(a + 0.03, y, b - 0.03, y + 0.03, c)


def _gp_screen(g, rng, t, p):
    c = p["c"]
    w = 0.5 + 0.5 * p["v"]
    g.rect(-w - 0.05, -1.08, w + 0.05, -0.3, _shade(c, 0.5))
    g.rect(-w, -1.03, w, -0.35, _mix(c, (240, 240, 240), 0.6) if p["n"] % 2 else (20, 24, 30))
    if p["n"] % 2 == 0:
        g.poly([(-w, -1.03), (-w + 0.4, -1.03), (-w, -0.6)], (255, 255, 255, 25), alpha=True)


def _gp_windows(g, rng, t, p):
    n = p["n"] + 1
    xs = np.linspace(-1.4, 1.4, n + 1)
    sky = _jit(rng, (175, 205, 235), 10)
    fr = p["c"]
    for a, b in zip(xs[:-1], xs[1:]):
        g.rect(a + 0.05, -1.08, b - 0.05, -0.1, fr)
        g.rect(a + 0.09, -1.04, b - 0.09, -0.14, sky)
        g.line([((a + b) / 2, -1.04), ((a + b) / 2, -0.14)], fr, 0.02)
        g.line([(a + 0.09, -0.6), (b - 0.09, -0.6)], fr, 0.02)


def _gp_arches(g, rng, t, p):
    n = p["n"] + 1
    xs = np.linspace(-1.45, 1.45, n + 1)
    c = p["c"]
    for a, b in zip(xs[:-1], xs[1:]):
        w = (b - a) * 0.36
        m = (a + b) / 2
        g.rect(m - w, -0.6, m + w, 0.95, _shade(c, 0.45))
        g.ell(m - w, -0.6 - w, m + w, -0.6 + w, _shade(c, 0.45))
        g.rect(a, -1.1, a + 0.1, 0.95, c)
    g.rect(xs[-1] - 0.05, -1.1, xs[-1] + 0.05, 0.95, c)


def _gp_tiles(g, rng, t, p):
    c = p["c"]
    g.rect(-1.5, -1.05, 1.5, 0.5, c)
    st = 0.1 + 0.06 * p["v"]
    for y in np.arange(-1.05, 0.5, st):
        g.line([(-1.5, y), (1.5, y)], _shade(c, 0.8), 0.008)
    for x in np.arange(-1.5, 1.5, st):
        g.line([(x, -1.05), (x, 0.5)], _shade(c, 0.8), 0.008)


def _gp_clothes(g, rng, t, p):
    for y in (-0.95, -0.15) if p["n"] > 2 else (-0.6,):
        g.line([(-1.35, y), (1.35, y)], (150, 150, 155), 0.02)
        x = -1.3
        while x < 1.2:
            w = _u(rng, 0.09, 0.16)
            c = _jit(rng, t["items"][_ri(rng, len(t["items"]))], 18)
            g.poly([(x + 0.02, y + 0.02), (x + w - 0.02, y + 0.02), (x + w, y + 0.55), (x, y + 0.55)], c,
                   outline=_shade(c, 0.7))
            x += w * _u(rng, 0.55, 0.8)


def _gp_lockers(g, rng, t, p):
    c = p["c"]
    n = 5 + p["n"]
    xs = np.linspace(-1.45, 1.45, n + 1)
    g.box(-1.45, -1.05, 1.45, 0.9, 0.05, c, grad=False)
    for a in xs:
        g.line([(a, -1.05), (a, 0.9)], _shade(c, 0.55), 0.015)
    for a, b in zip(xs[:-1], xs[1:]):
        for y in (-0.9, -0.85, -0.8):
            g.line([(a + 0.05, y), (b - 0.05, y)], _shade(c, 0.6), 0.01)
        g.rect(b - 0.07, -0.2, b - 0.04, -0.05, (200, 200, 205))
    g.rect(-1.45, 0.9, 1.45, 0.98, _shade(c, 0.5))


def _gp_doors(g, rng, t, p):
    c = p["c"]
    n = 1 + p["n"] % 3
    xs = np.linspace(-1.3, 1.3, n)
    for m in xs:
        w = 0.38
        g.rect(m - w - 0.06, -1.0, m + w + 0.06, 0.98, _shade(c, 0.6))
        g.rect(m - w, -0.94, m - 0.01, 0.98, c)
        g.rect(m + 0.01, -0.94, m + w, 0.98, c)
        g.poly([(m - w, -0.94), (m - w + 0.15, -0.94), (m - w, -0.5)], (255, 255, 255, 40), alpha=True)


def _gp_bars(g, rng, t, p):
    c = p["c"]
    g.line([(-1.5, -1.0), (1.5, -1.0)], c, 0.05)
    g.line([(-1.5, 0.0), (1.5, 0.0)], c, 0.03)
    for x in np.arange(-1.45, 1.5, 0.12 + 0.05 * p["v"]):
        g.line([(x, -1.0), (x, 1.0)], c, 0.03)


def _gp_stage(g, rng, t, p):
    c = p["c"]
    g.rect(-1.5, -1.1, -0.85, 0.55, c)
    g.rect(0.85, -1.1, 1.5, 0.55, c)
    for x in np.arange(-1.45, -0.85, 0.1):
        g.line([(x, -1.1), (x, 0.55)], _shade(c, 0.7), 0.02)
        g.line([(-x, -1.1), (-x, 0.55)], _shade(c, 0.7), 0.02)
    g.rect(-1.5, -1.1, 1.5, -0.9, _shade(c, 0.85))
    g.box(-1.5, 0.45, 1.5, 0.7, 0.1, (90, 62, 40))


def _gp_frames(g, rng, t, p):
    n = p["n"] + 1
    xs = np.linspace(-1.3, 1.3, n)
    for x in xs:
        w = _u(rng, 0.22, 0.36)
        h = _u(rng, 0.25, 0.45)
        g.rect(x - w, -0.75 - h, x + w, -0.75 + h, p["c"])
        g.rect(x - w + 0.04, -0.75 - h + 0.04, x + w - 0.04, -0.75 + h - 0.04,
               _jit(rng, t["items"][_ri(rng, len(t["items"]))], 30))
        g.poly([(x - w + 0.04, -0.75 + h - 0.04), (x, -0.75), (x + w - 0.04, -0.75 + h - 0.04)],
               _jit(rng, t["items"][_ri(rng, len(t["items"]))], 30))


def _gp_tables(g, rng, t, p):
    c = p["c"]
    n = p["n"]
    xs = np.linspace(-1.0, 1.0, n) if n > 1 else [0.0]
    w = 1.1 / n + 0.1
    round_ = p["v"] > 0.5
    cloth = tuple(int(v) for v in t["items"][0])
    for x in xs:
        g.shadow(x - w, x + w, 0.98, 0.05)
        g.line([(x - w * 0.8, 0.62), (x - w * 0.8, 0.98)], _shade(c, 0.6), 0.03)
        g.line([(x + w * 0.8, 0.62), (x + w * 0.8, 0.98)], _shade(c, 0.6), 0.03)
        if round_:
            g.ell(x - w, 0.5, x + w, 0.66, _shade(cloth, 0.8))
            g.ell(x - w, 0.47, x + w, 0.62, cloth)
        else:
            g.box(x - w, 0.55, x + w, 0.62, 0.16, c)
        g.ell(x - 0.08, 0.49, x + 0.08, 0.55, (235, 235, 235))


def _gp_chairs(g, rng, t, p):
    c = p["c"]
    n = p["n"] + 1
    for x in np.linspace(-1.2, 1.2, n) + rng.uniform(-0.05, 0.05, n):
        g.shadow(x - 0.16, x + 0.16, 0.99, 0.03)
        g.rect(x - 0.14, 0.35, x + 0.14, 0.62, _shade(c, 1.05))
        g.box(x - 0.16, 0.62, x + 0.16, 0.68, 0.12, c)
        for dx in (-0.14, 0.14):
            g.line([(x + dx, 0.68), (x + dx, 0.99)], _shade(c, 0.55), 0.02)


def _gp_beds(g, rng, t, p):
    c = p["c"]
    n = 1 + p["n"] % 2
    xs = [0.0] if n == 1 else [-0.75, 0.75]
    w = 0.8 if n == 1 else 0.55
    for x in xs:
        g.shadow(x - w, x + w, 0.97, 0.06)
        g.rect(x - w, -0.2, x + w, 0.6, _shade(c, 0.7))
        g.box(x - w, 0.35, x + w, 0.75, 0.15, (235, 235, 232), top=(245, 245, 240))
        g.rect(x - w, 0.45, x + w, 0.75, c)
        g.ell(x - w * 0.6, 0.18, x + w * 0.6, 0.4, (248, 248, 245))
        g.rect(x - w, 0.75, x + w, 0.97, _shade(c, 0.5))


def _gp_counters(g, rng, t, p):
    c = p["c"]
    a, b = p["x0"], p["x1"]
    g.shadow(a, b, 0.99, 0.06)
    g.box(a, 0.3, b, 0.98, 0.12, c)
    g.box(a - 0.04, 0.24, b + 0.04, 0.31, 0.14, _mix(c, (230, 230, 230), 0.5))
    for x in np.arange(a + 0.2, b - 0.1, 0.4):
        g.line([(x, 0.36), (x, 0.94)], _shade(c, 0.7), 0.012)


def _gp_plants(g, rng, t, p):
    n = p["n"] + 1
    for x in np.linspace(-1.2, 1.2, n) + rng.uniform(-0.1, 0.1, n):
        h = _u(rng, 0.3, 0.7)
        g.shadow(x - 0.15, x + 0.15, 0.98, 0.03)
        g.poly([(x - 0.1, 0.98), (x + 0.1, 0.98), (x + 0.13, 0.78), (x - 0.13, 0.78)], p["c"])
        for i in range(5):
            dx = _u(rng, -0.2, 0.2)
            dy = _u(rng, 0.0, h)
            r = _u(rng, 0.08, 0.14)
            g.ell(x + dx - r, 0.75 - dy - r, x + dx + r, 0.75 - dy + r,
                  _jit(rng, (50 + 20 * (i % 2), 120 + 15 * (i % 3), 50), 10))


def _gp_seat_rows(g, rng, t, p):
    c = p["c"]
    rows = 3 + p["n"] % 2
    for r in range(rows):  # far rows first, smaller and higher
        f = 0.55 + 0.45 * r / (rows - 1)
        y = -0.2 + 1.15 * r / (rows - 1)
        sw = 0.2 * f
        x = -1.5 + (r % 2) * sw * 0.5
        while x < 1.5:
            g.rect(x + 0.02, y - 0.25 * f, x + sw - 0.02, y, c)
            g.rect(x + 0.02, y - 0.25 * f, x + sw - 0.02, y - 0.2 * f, _shade(c, 1.25))
            g.rect(x, y - 0.05 * f, x + sw, y, _shade(c, 0.6))
            x += sw


def _gp_pillars(g, rng, t, p):
    c = p["c"]
    n = 2 + p["n"] % 3
    for x in np.linspace(-1.25, 1.25, n):
        g.rect(x - 0.1, -1.1, x + 0.1, 0.98, c)
        g.rect(x - 0.1, -1.1, x - 0.05, 0.98, _shade(c, 1.15))
        g.rect(x + 0.04, -1.1, x + 0.1, 0.98, _shade(c, 0.75))
        g.rect(x - 0.15, -1.1, x + 0.15, -1.0, _shade(c, 0.9))
        g.rect(x - 0.15, 0.9, x + 0.15, 0.98, _shade(c, 0.9))


def _gp_vitrines(g, rng, t, p):
    n = 1 + p["n"] % 3
    xs = np.linspace(-1.5, 1.5, n + 1)
    for a, b in zip(xs[:-1], xs[1:]):
        a, b = a + 0.05, b - 0.05
        g.shadow(a, b, 0.98, 0.05)
        g.box(a, 0.45, b, 0.98, 0.1, p["c"])
        g.box(a, 0.1, b, 0.45, 0.1, (215, 228, 232), grad=False)
        x = a + 0.05
        while x < b - 0.1:
            c = _jit(rng, t["items"][_ri(rng, len(t["items"]))], 20)
            g.ell(x, 0.3, x + 0.08, 0.4, c)
            x += _u(rng, 0.1, 0.2)
        g.poly([(a + 0.1, 0.45), (a + 0.2, 0.45), (a + 0.35, 0.1), (a + 0.25, 0.1)], (255, 255, 255, 60),
               alpha=True)


def _gp_machines(g, rng, t, p):
    c = p["c"]
    n = 3 + p["n"] % 3
    xs = np.linspace(-1.45, 1.45, n + 1)
    for a, b in zip(xs[:-1], xs[1:]):
        a, b = a + 0.02, b - 0.02
        m = (a + b) / 2
        r = (b - a) * 0.32
        g.box(a, 0.15, b, 0.98, 0.06, c)
        g.rect(a, 0.15, b, 0.28, _shade(c, 0.85))
        g.ell(m - r, 0.56 - r, m + r, 0.56 + r, (130, 135, 140))
        g.ell(m - r * 0.75, 0.56 - r * 0.75, m + r * 0.75, 0.56 + r * 0.75, (60, 70, 90))


def _gp_stairs(g, rng, t, p):
    c = p["c"]
    n = 6 + p["n"]
    for i in range(n):
        x0 = -1.3 + 2.4 * i / n
        y = 0.98 - 1.9 * (i + 1) / n
        g.box(x0, y, 1.45, y + 1.9 / n, 0.1, c, top=_shade(c, 1.3), grad=False)
    g.line([(-1.3, 0.5), (1.1, -1.0)], (120, 120, 125), 0.025)


def _gp_pool(g, rng, t, p):
    water = _jit(rng, (70, 165, 210), 10)
    g.poly([(-1.0, -0.2), (1.0, -0.2), (1.55, 0.98), (-1.55, 0.98)], (220, 225, 228))
    g.poly([(-0.9, -0.15), (0.9, -0.15), (1.4, 0.9), (-1.4, 0.9)], water)
    for i in range(1, 5):
        xb = -0.9 + 1.8 * i / 5
        xf = -1.4 + 2.8 * i / 5
        g.line([(xb, -0.15), (xf, 0.9)], _pick(rng, [(230, 60, 60), (240, 220, 60), (250, 250, 250)]), 0.015)
    g.poly([(-0.9, -0.15), (-0.2, -0.15), (-0.8, 0.3)], (255, 255, 255, 40), alpha=True)


def _gp_barrels(g, rng, t, p):
    c = p["c"]
    for row, y in enumerate((0.35, 0.98)):
        for x in np.arange(-1.35 + 0.2 * row, 1.4, 0.42):
            g.ell(x - 0.2, y - 0.42, x + 0.2, y, c, outline=_shade(c, 0.5))
            g.ell(x - 0.14, y - 0.36, x + 0.14, y - 0.06, _shade(c, 0.85))
            g.ell(x - 0.03, y - 0.24, x + 0.03, y - 0.18, (40, 30, 25))


def _gp_lanes(g, rng, t, p):
    wood = _jit(rng, (205, 165, 110), 10)
    n = 2 + p["n"] % 2
    for i in range(n):
        xb0, xb1 = -0.6 + 1.2 * i / n, -0.6 + 1.2 * (i + 1) / n
        xf0, xf1 = -1.5 + 3.0 * i / n, -1.5 + 3.0 * (i + 1) / n
        g.poly([(xb0 + 0.03, -0.3), (xb1 - 0.03, -0.3), (xf1 - 0.08, 0.98), (xf0 + 0.08, 0.98)], wood)
        g.poly([(xb0, -0.3), (xb0 + 0.03, -0.3), (xf0 + 0.08, 0.98), (xf0, 0.98)], (50, 50, 55))
        m = (xb0 + xb1) / 2
        for k in range(4):
            g.ell(m - 0.1 + k * 0.05, -0.42, m - 0.07 + k * 0.05, -0.3, (245, 245, 245))
    g.rect(-1.5, -1.0, 1.5, -0.45, p["c"])


def _gp_boxes(g, rng, t, p):
    c = p["c"]
    for row, y in enumerate((0.98, 0.55, 0.12)):
        x = -1.45 + 0.1 * row
        while x < 1.3:
            w = _u(rng, 0.25, 0.4)
            h = min(w * _u(rng, 0.8, 1.2), 0.43)
            if rng.random() < 0.85:
                cc = _jit(rng, c, 18)
                g.box(x, y - h, x + w, y, 0.08, cc, grad=False)
                g.line([(x + w / 2, y - h), (x + w / 2, y)], (200, 190, 150), 0.01)
            x += w + 0.02


def _gp_pews(g, rng, t, p):
    c = p["c"]
    rows = 3 + p["n"] % 3
    for r in range(rows):
        y = -0.3 + 1.25 * r / (rows - 1)
        f = 0.6 + 0.4 * r / (rows - 1)
        for a, b in ((-1.5, -0.15), (0.15, 1.5)):
            g.rect(a, y - 0.22 * f, b, y - 0.15 * f, _shade(c, 1.2))
            g.rect(a, y - 0.15 * f, b, y, c)


def _gp_sinks(g, rng, t, p):
    c = p["c"]
    n = 1 + p["n"] % 3
    g.box(-1.45, 0.3, 1.45, 0.5, 0.12, c)
    for x in np.linspace(-1.0, 1.0, n):
        g.rect(x - 0.3, -0.75, x + 0.3, -0.05, (200, 215, 225), outline=(150, 150, 155))
        g.ell(x - 0.22, 0.24, x + 0.22, 0.36, (240, 240, 240), outline=(160, 160, 165))
        g.line([(x, 0.27), (x, 0.12), (x + 0.08, 0.12)], (180, 182, 186), 0.025)


def _gp_car(g, rng, t, p):
    c = p["c"]
    g.shadow(-1.3, 1.3, 0.96, 0.08, 100)
    g.poly([(-1.35, 0.8), (-1.35, 0.45), (-0.9, 0.35), (-0.55, 0.02), (0.5, 0.02), (0.9, 0.35), (1.35, 0.45),
            (1.35, 0.8)], c)
    g.poly([(-0.48, 0.08), (-0.05, 0.08), (-0.05, 0.33), (-0.78, 0.35)], (150, 180, 200))
    g.poly([(0.05, 0.08), (0.45, 0.08), (0.75, 0.33), (0.05, 0.33)], (150, 180, 200))
    for x in (-0.85, 0.85):
        g.ell(x - 0.22, 0.6, x + 0.22, 1.0, (25, 25, 25))
        g.ell(x - 0.1, 0.7, x + 0.1, 0.9, (160, 160, 165))
    g.rect(1.25, 0.5, 1.35, 0.58, (250, 240, 200))


def _gp_monitors(g, rng, t, p):
    n = 2 + p["n"] % 3
    g.box(-1.5, 0.4, 1.5, 0.47, 0.15, p["c"])
    g.rect(-1.45, 0.47, -1.35, 0.98, _shade(p["c"], 0.6))
    g.rect(1.35, 0.47, 1.45, 0.98, _shade(p["c"], 0.6))
    for x in np.linspace(-1.1, 1.1, n):
        _monitor(g, rng, x, 0.4, 0.4)


_PRIMS = {
    # name: (draw function, depth rank: 0 = against the back wall ... 2 = in front)
    "shelves": (_gp_shelves, 0), "screen": (_gp_screen, 0), "windows": (_gp_windows, 0),
    "arches": (_gp_arches, 0), "tiles": (_gp_tiles, 0), "clothes": (_gp_clothes, 1),
    "lockers": (_gp_lockers, 0), "doors": (_gp_doors, 0), "bars": (_gp_bars, 2), "stage": (_gp_stage, 0),
    "frames": (_gp_frames, 0), "tables": (_gp_tables, 2), "chairs": (_gp_chairs, 2), "beds": (_gp_beds, 1),
    "counters": (_gp_counters, 1), "plants": (_gp_plants, 2), "seat_rows": (_gp_seat_rows, 1),
    "pillars": (_gp_pillars, 1), "vitrines": (_gp_vitrines, 1), "machines": (_gp_machines, 1),
    "stairs": (_gp_stairs, 1), "pool": (_gp_pool, 1), "barrels": (_gp_barrels, 1), "lanes": (_gp_lanes, 1),
    "boxes": (_gp_boxes, 1), "pews": (_gp_pews, 1), "sinks": (_gp_sinks, 1), "car": (_gp_car, 2),
    "monitors": (_gp_monitors, 2),
}
# primitives that only make sense for a few names (or look like a hand-designed class) come from _HINTS only
_HINT_ONLY = {"car", "pool", "lanes", "stairs", "stage", "bars", "beds", "monitors"}
_RANDOM_PRIMS = sorted(set(_PRIMS) - _HINT_ONLY)

# a few semantic hints so generic classes look a little like their names (the rest comes from the hash)
_HINTS = {
    "airport_inside": ["windows", "seat_rows"], "artstudio": ["frames"], "auditorium": ["stage", "seat_rows"],
    "bathroom": ["tiles", "sinks"], "bowling": ["lanes"], "buffet": ["counters", "vitrines"],
    "casino": ["tables"], "children_room": ["beds"], "church_inside": ["arches", "pews"],
    "classroom": ["screen", "chairs"], "cloister": ["arches", "plants"], "closet": ["clothes"],
    "clothingstore": ["clothes"], "computerroom": ["monitors"], "concert_hall": ["stage", "pillars"],
    "corridor": ["doors"], "dentaloffice": ["sinks"], "dining_room": ["tables", "chairs"],
    "elevator": ["doors"], "fastfood_restaurant": ["screen", "counters"], "florist": ["plants"],
    "garage": ["car"], "greenhouse": ["windows", "plants"], "grocerystore": ["shelves"], "gym": ["bars"],
    "hairsalon": ["screen", "chairs"], "inside_bus": ["windows", "seat_rows"],
    "inside_subway": ["windows", "bars"], "jewelleryshop": ["vitrines"], "kindergarden": ["tables"],
    "laboratorywet": ["shelves", "sinks"], "laundromat": ["machines"], "lobby": ["pillars", "plants"],
    "locker_room": ["lockers"], "mall": ["windows", "plants"], "meeting_room": ["screen", "tables"],
    "movietheater": ["screen", "seat_rows"], "museum": ["frames", "vitrines"], "nursery": ["beds"],
    "operating_room": ["beds"], "pantry": ["shelves"], "poolinside": ["pool"], "prisoncell": ["bars", "beds"],
    "restaurant": ["tables"], "restaurant_kitchen": ["counters"], "shoeshop": ["shelves"],
    "stairscase": ["stairs"], "studiomusic": ["frames"], "subway": ["pillars"], "toystore": ["shelves"],
    "trainstation": ["arches"], "tv_studio": ["screen"], "waitingroom": ["seat_rows"],
    "warehouse": ["boxes"], "winecellar": ["barrels"],
}


def _name_seed(name: str) -> int:
    return int.from_bytes(hashlib.md5(name.encode("utf-8")).digest()[:8], "little")


_TEMPLATES: dict[str, dict] = {}


def _template(name: str) -> dict:
    """The fixed look of a generic class: palette + 2-4 object primitives with their arrangement."""
    t = _TEMPLATES.get(name)
    if t is not None:
        return t
    r = np.random.default_rng(_name_seed(name))
    hw, hf = float(r.random()), float(r.random())
    wall = _hsv(hw, float(r.uniform(0.08, 0.45)), float(r.uniform(0.5, 0.92)))
    floor = _hsv(hf, float(r.uniform(0.05, 0.45)), float(r.uniform(0.25, 0.7)))
    objs = [_hsv(float(r.random()), float(r.uniform(0.35, 0.9)), float(r.uniform(0.3, 0.9))) for _ in range(3)]
    items = np.array([_hsv(float(r.random()), float(r.uniform(0.3, 0.9)), float(r.uniform(0.35, 0.95)))
                      for _ in range(5)], np.int16)
    prims = list(_HINTS.get(name, []))
    target = max(len(prims), int(r.integers(2, 5)))
    while len(prims) < target:
        cand = _RANDOM_PRIMS[int(r.integers(len(_RANDOM_PRIMS)))]
        if cand not in prims and not (_PRIMS[cand][1] == 0 and any(_PRIMS[q][1] == 0 for q in prims)):
            prims.append(cand)
    specs = []
    for i, pn in enumerate(prims):
        a = float(r.uniform(-1.45, -0.3))
        specs.append((pn, {"c": objs[i % 3], "n": int(r.integers(1, 5)), "v": float(r.random()),
                           "x0": a, "x1": float(min(1.45, a + r.uniform(1.0, 2.6)))}))
    specs.sort(key=lambda s: _PRIMS[s[0]][1])
    t = {
        "room": {"wall": wall, "floor": floor, "ceiling": _mix(wall, (245, 245, 245), 0.55),
                 "floor_type": _pick(r, ["wood", "tile", "carpet", "stone"]),
                 "tint": _pick(r, [(1.06, 1.0, 0.9), (1.0, 1.0, 1.0), (0.94, 0.99, 1.06)]),
                 "level": float(r.uniform(0.85, 1.05)), "light": _pick(r, ["window", "lamp"])},
        "items": items, "prims": specs,
    }
    _TEMPLATES[name] = t
    return t


def _d_generic(g: _G, rng, o):
    t = o.template
    for pn, p in t["prims"]:
        _PRIMS[pn][0](g, rng, t, p)


# ----------------------------------------------------------------------------------------------------------
# rooms


def _room_palette(cls: str, rng, teal: bool) -> dict:
    """Per-image room colours of a class (small jitter around the class's choices)."""
    if cls == "bar":
        wall = _pick(rng, [(112, 48, 40), (92, 62, 44), (60, 44, 52)])
        p = dict(wall=wall, floor=(92, 62, 42), ceiling=(55, 40, 32), floor_type="wood",
                 tint=(1.1, 0.96, 0.8), level=_u(rng, 0.8, 0.95), light="lamp")
    elif cls == "deli":
        p = dict(wall=_pick(rng, [(232, 226, 210), (215, 225, 215), (235, 215, 190)]), floor=(180, 175, 168),
                 ceiling=(238, 238, 235), floor_type="tile", tint=(1.0, 1.0, 0.98),
                 level=_u(rng, 1.0, 1.12), light="lamp")
    elif cls == "bakery":
        p = dict(wall=_pick(rng, [(242, 214, 188), (240, 200, 205), (236, 226, 180)]), floor=(172, 102, 70),
                 ceiling=(245, 240, 230), floor_type="tile", tint=(1.05, 1.0, 0.92),
                 level=_u(rng, 1.0, 1.12), light="window")
    elif cls in ("bookstore", "videostore"):
        p = dict(wall=_pick(rng, [(212, 206, 196), (190, 196, 204), (225, 215, 190)]),
                 floor=_pick(rng, [(120, 122, 128), (150, 120, 90), (170, 165, 160)]), ceiling=(235, 235, 232),
                 floor_type=_pick(rng, ["carpet", "tile", "wood"]), tint=(1.0, 1.0, 1.0),
                 level=_u(rng, 0.92, 1.08), light="lamp")
    elif cls == "bedroom":
        p = dict(wall=_pick(rng, [(200, 190, 215), (214, 202, 180), (182, 200, 220), (225, 220, 210)]),
                 floor=(150, 104, 68), ceiling=(240, 238, 232), floor_type="wood", tint=(1.06, 1.0, 0.9),
                 level=_u(rng, 0.88, 1.05), light=_pick(rng, ["window", "lamp"]))
    elif cls == "gameroom":
        p = dict(wall=_pick(rng, [(122, 62, 46), (52, 62, 92), (96, 72, 52), (150, 140, 120)]),
                 floor=_pick(rng, [(110, 42, 40), (80, 60, 48), (60, 62, 80)]), ceiling=(90, 80, 70),
                 floor_type=_pick(rng, ["carpet", "wood"]), tint=(1.05, 1.0, 0.9),
                 level=_u(rng, 0.85, 1.0), light="lamp")
    elif cls == "hospitalroom":
        wall = (72, 164, 156) if teal else _pick(rng, [(226, 222, 210), (236, 226, 200), (220, 216, 228)])
        p = dict(wall=wall, floor=(188, 194, 194), ceiling=(240, 242, 242), floor_type="tile",
                 tint=(0.97, 1.0, 1.04), level=_u(rng, 0.95, 1.1), light="window")
    elif cls == "kitchen":
        p = dict(wall=_pick(rng, [(236, 234, 222), (240, 225, 170), (200, 220, 210)]), floor=(196, 196, 190),
                 ceiling=(245, 245, 240), floor_type="tile", tint=(1.0, 1.0, 0.98),
                 level=_u(rng, 0.95, 1.1), light="window")
    elif cls == "office":
        p = dict(wall=_pick(rng, [(200, 204, 210), (228, 228, 222), (180, 190, 200)]), floor=(90, 100, 116),
                 ceiling=(235, 236, 238), floor_type="carpet", tint=(0.96, 1.0, 1.05),
                 level=_u(rng, 0.95, 1.1), light="lamp")
    elif cls == "library":
        p = dict(wall=_pick(rng, [(182, 160, 122), (140, 110, 80), (200, 190, 160)]),
                 floor=_pick(rng, [(120, 46, 40), (110, 80, 55)]), ceiling=(200, 190, 170),
                 floor_type=_pick(rng, ["carpet", "wood"]), tint=(1.08, 1.0, 0.88),
                 level=_u(rng, 0.85, 1.0), light="lamp")
    elif cls == "livingroom":
        p = dict(wall=_pick(rng, [(216, 200, 176), (200, 200, 196), (226, 214, 196), (180, 170, 160)]),
                 floor=(160, 112, 72), ceiling=(240, 236, 228), floor_type="wood", tint=(1.06, 1.0, 0.9),
                 level=_u(rng, 0.9, 1.05), light=_pick(rng, ["window", "lamp"]))
    else:
        p = dict(_template(cls)["room"])
    p = dict(p)
    p["wall"] = _jit(rng, p["wall"], 8)
    p["floor"] = _jit(rng, p["floor"], 8)
    p["ceiling"] = _jit(rng, p["ceiling"], 6)
    if teal and cls != "hospitalroom":
        p["wall"] = _jit(rng, (72, 164, 156), 8)
    return p


def _draw_room(d: ImageDraw.ImageDraw, rng, S: int, pal: dict):
    """Back wall, ceiling, side walls and floor around a moving vanishing point; returns geometry."""
    vx = S * _u(rng, 0.38, 0.62)
    vy = S * _u(rng, 0.36, 0.5)
    f = _u(rng, 0.5, 0.8)
    bx0, bx1 = vx - vx * f, vx + (S - vx) * f
    by0, by1 = vy - vy * f, vy + (S - vy) * f
    wall, floor = pal["wall"], pal["floor"]
    d.rectangle((0, 0, S, S), fill=pal["ceiling"])
    d.polygon([(0, 0), (bx0, by0), (bx0, by1), (0, S)], fill=_shade(wall, 0.84))
    d.polygon([(S, 0), (bx1, by0), (bx1, by1), (S, S)], fill=_shade(wall, 0.78))
    d.polygon([(0, S), (bx0, by1), (bx1, by1), (S, S)], fill=floor)
    d.rectangle((bx0, by0, bx1, by1), fill=wall)
    ft = pal["floor_type"]
    lw = max(1, S // 160)
    if ft in ("wood", "tile", "stone"):
        n = 10 if ft == "wood" else 7
        lc = _shade(floor, 0.78 if ft == "wood" else 0.85)
        for i in range(1, n):
            xb = bx0 + (bx1 - bx0) * i / n
            xf = vx + (xb - vx) / f
            d.line([(xb, by1), (xf, S)], fill=lc, width=lw)
        if ft != "wood":
            y = by1
            step = (S - by1) * 0.12
            while y < S:
                d.line([(0, y), (S, y)], fill=lc, width=lw)
                step *= 1.35
                y += step
    # baseboard + ceiling edge
    d.line([(bx0, by1), (bx1, by1)], fill=_shade(wall, 0.6), width=max(1, S // 100))
    d.line([(0, S), (bx0, by1)], fill=_shade(wall, 0.55), width=lw)
    d.line([(S, S), (bx1, by1)], fill=_shade(wall, 0.55), width=lw)
    return (vx, vy), (bx0, by0, bx1, by1)


def _draw_decor(d, da, rng, S: int, pal: dict, back):
    """Non-defining, shared decoration: a window or a ceiling lamp (the light source), maybe a picture.
    Returns the light position in pixels."""
    bx0, by0, bx1, by1 = back
    bw, bh = bx1 - bx0, by1 - by0
    if pal["light"] == "window" or (pal["light"] == "both" and rng.random() < 0.5):
        wx = bx0 + bw * _u(rng, 0.05, 0.6)
        ww = bw * _u(rng, 0.2, 0.35)
        wy0, wy1 = by0 + bh * 0.12, by0 + bh * _u(rng, 0.5, 0.65)
        fr = (235, 235, 230)
        e = max(1.0, S / 128)
        d.rectangle((wx - e, wy0 - e, wx + ww + e, wy1 + e), fill=fr)
        sky = _jit(rng, (170, 205, 238), 12)
        d.rectangle((wx, wy0, wx + ww, wy1), fill=sky)
        d.rectangle((wx, (wy0 + wy1) / 2, wx + ww, wy1), fill=_mix(sky, (120, 160, 110), 0.35))
        d.line([(wx + ww / 2, wy0), (wx + ww / 2, wy1)], fill=fr, width=max(1, S // 120))
        d.line([(wx, (wy0 + wy1) / 2), (wx + ww, (wy0 + wy1) / 2)], fill=fr, width=max(1, S // 120))
        light = (wx + ww / 2, (wy0 + wy1) / 2)
    else:
        lx = S * _u(rng, 0.25, 0.75)
        ly = by0 * _u(rng, 0.4, 0.8)
        d.line([(lx, 0), (lx, ly)], fill=(60, 60, 60), width=max(1, S // 200))
        r = S * 0.045
        d.polygon([(lx - r, ly + r * 0.7), (lx + r, ly + r * 0.7), (lx + r * 0.4, ly), (lx - r * 0.4, ly)],
                  fill=_jit(rng, (230, 220, 190), 10))
        da.ellipse((lx - 3 * r, ly - r, lx + 3 * r, ly + 3 * r), fill=(255, 240, 200, 40))
        light = (lx, ly + r)
    if rng.random() < 0.5:  # picture on the back wall
        px = bx0 + bw * _u(rng, 0.55, 0.85)
        pw = bw * _u(rng, 0.1, 0.16)
        py = by0 + bh * _u(rng, 0.12, 0.25)
        e = pw * 0.1
        d.rectangle((px, py, px + pw, py + pw * 0.75), fill=(60, 45, 35))
        d.rectangle((px + e, py + e, px + pw - e, py + pw * 0.75 - e), fill=_jit(rng, (150, 150, 140), 60))
    return light


_DRAWERS = {
    "bar": _d_bar, "deli": _d_deli, "bakery": _d_bakery, "bookstore": _d_racks, "videostore": _d_racks,
    "bedroom": _d_bedroom, "gameroom": _d_gameroom, "hospitalroom": _d_hospital, "kitchen": _d_kitchen,
    "office": _d_office, "library": _d_library, "livingroom": _d_livingroom,
}


# ----------------------------------------------------------------------------------------------------------
# post-processing: lighting, blur, noise (numpy; banks precomputed per size)

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


# ----------------------------------------------------------------------------------------------------------
# public: one scene


def render_scene(class_name: str, rng: np.random.Generator, *, size: int = 256, dark: bool = False,
                 teal: bool | None = None, green_bedspread: bool = False, scale: float = 1.0,
                 second_class: str | None = None,
                 anchor: tuple[float, float] | None = None) -> Image.Image:
    """One RGB ``size`` x ``size`` scene of ``class_name`` (any :data:`INDOOR67_CLASSES` name).

    ``scale`` multiplies the size of the class-defining objects (0.4..1.6 sensible). ``dark``: global low light
    (x0.25-0.45, warm tint). ``teal``: teal walls (and curtain, in a hospital room); None = True for
    hospitalroom, False otherwise. ``green_bedspread`` colours a bedroom's bedspread green. ``second_class``
    also draws that class's defining objects (side by side: a multi-class scene). ``anchor`` = (x, y) in [0,1]
    is the centre of the defining object group; when given, the rest of the image is a plain room with no
    other objects (used by occlusion tests). The result depends only on the arguments and the rng state.
    """
    if class_name not in INDOOR67_CLASSES:
        raise ValueError(f"unknown class {class_name!r}")
    if second_class is not None and second_class not in INDOOR67_CLASSES:
        raise ValueError(f"unknown class {second_class!r}")
    S = int(size)
    if S < 16:
        raise ValueError("size must be >= 16")
    if teal is None:
        teal = class_name == "hospitalroom"
    teal = bool(teal)
    pal = _room_palette(class_name, rng, teal)
    img = Image.new("RGB", (S, S))
    d = ImageDraw.Draw(img)
    da = ImageDraw.Draw(img, "RGBA")
    vp, back = _draw_room(d, rng, S, pal)
    if anchor is None:
        light = _draw_decor(d, da, rng, S, pal, back)
    else:
        light = (vp[0], back[1] * 0.5)
    scale = float(scale)
    zoom = _u(rng, 0.92, 1.08)

    def group(cls, cx, cy, u):
        o = _Opts(teal=teal if cls == class_name else cls == "hospitalroom", green_bedspread=green_bedspread,
                  template=None if cls in _DRAWERS else _template(cls))
        g = _G(img, d, da, cx, cy, u, vp, mirror=rng.random() < 0.5)
        _DRAWERS.get(cls, _d_generic)(g, rng, o)

    by1 = back[3]
    if anchor is not None:
        u = 0.3 * S * scale
        group(class_name, anchor[0] * S, anchor[1] * S, u)
        if second_class is not None:
            group(second_class, (1.0 - anchor[0]) * S, anchor[1] * S, u)
    elif second_class is None:
        u = 0.3 * S * scale * zoom
        ground = _u(rng, by1 + 0.45 * (S - by1), S * 0.97)
        cx = S * (0.5 + _u(rng, -0.07, 0.07))
        group(class_name, cx, ground - u, u)
    else:
        u = 0.3 * S * scale * zoom * 0.7
        ground = _u(rng, by1 + 0.55 * (S - by1), S * 0.97)
        left = rng.random() < 0.5
        xs = (0.29, 0.73) if left else (0.73, 0.29)
        group(class_name, S * xs[0], ground - u, u)
        group(second_class, S * xs[1], ground - u, u)
    return _finish(img, rng, light, pal, bool(dark))


# ----------------------------------------------------------------------------------------------------------
# public: the whole data set


@dataclass
class DemoSummary:
    images_dir: Path
    truth_path: Path
    classes: list[str]
    n_images: int
    n_flipped: int
    n_multi: int
    n_near_duplicates: int
    seconds: float


# sensible multi-class pairings (a random available partner; any non-look-alike class when none is present)
_PARTNERS = {
    "bar": ["gameroom", "livingroom"], "deli": ["kitchen", "office"], "bakery": ["kitchen", "livingroom"],
    "bookstore": ["livingroom", "office"], "videostore": ["livingroom", "gameroom"],
    "bedroom": ["office", "livingroom"], "gameroom": ["bar", "livingroom"], "hospitalroom": ["office", "bedroom"],
    "kitchen": ["deli", "livingroom"], "office": ["library", "bedroom"], "library": ["livingroom", "office"],
    "livingroom": ["library", "gameroom"],
}
_LOOKALIKES = {"bookstore": {"videostore"}, "videostore": {"bookstore"}, "bar": {"deli", "bakery"},
               "deli": {"bar", "bakery"}, "bakery": {"bar", "deli"}}


def _perturb(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Near-duplicate: shift/crop by a few pixels, brightness +-5 %, JPEG re-encode."""
    S = img.size[0]
    m = rng.integers(1, max(2, S // 50) + 2, 4)
    crop = img.crop((int(m[0]), int(m[1]), S - int(m[2]), S - int(m[3]))).resize((S, S), Image.BILINEAR)
    f = 1.0 + float(rng.choice([-1.0, 1.0])) * _u(rng, 0.02, 0.05)
    a = np.asarray(crop, dtype=np.float32) * f
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=_ri(rng, 70, 86))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _render_task(task: tuple) -> None:
    """Worker: render one image (re-rendered from its source's seed and perturbed for a near-duplicate) and
    write it as JPEG q90."""
    (path, cls, second, dark, teal, green, scale, size, entropy, dup_entropy) = task
    rng = np.random.default_rng(np.random.SeedSequence(list(entropy)))
    img = render_scene(cls, rng, size=size, dark=dark, teal=teal, green_bedspread=green, scale=scale,
                       second_class=second)
    if dup_entropy is not None:
        img = _perturb(img, np.random.default_rng(np.random.SeedSequence(list(dup_entropy))))
    img.save(path, "JPEG", quality=90)


def _pool_context():
    """"fork" (fast, and needs no ``if __name__ == "__main__"`` guard in the caller's script) unless other Python
    threads are running (a web app, a thread pool): forking them can deadlock, so use "forkserver" then."""
    import threading

    methods = mp.get_all_start_methods()
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and type(t).__name__ != "TMonitor"]  # tqdm's idle monitor
    if not others and "fork" in methods:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def render_demo(out_dir: Path, *, n_classes: int = 12, per_class: int = 130, seed: int = 0, size: int = 256,
                test_fraction: float = 0.2, workers: int = 2, progress: bool = True) -> DemoSummary:
    """Render the demo data set into ``out_dir`` (see module docstring for the layout) and its ground truth
    ``out_dir/truth.csv`` (columns :data:`TRUTH_COLUMNS`). Deterministic for ``seed``: a rerun writes the same
    bytes, whatever ``workers`` is. Overwrites a previous rendering cleanly (renders into a temporary folder
    inside ``out_dir``, then swaps it in).

    Planted problems: ~5 % flipped labels in each split, ~3 % multi-class scenes, ~80 % of bar images dark
    (~3 % of the others), ~85 % of hospital rooms teal (~2 % of the others), ~20 % of bedrooms with a green
    bedspread, a wide range of object scales, and near-duplicates of train images in test (~1 % of test,
    at least 2; at least 3 when test has >= 200 images). Each planted category is kept clean: near-duplicates
    (and their sources) are never flipped or multi-class, multi-class images are never flipped.

    File numbers are assigned per folder in a seeded random order, so a name reveals nothing about the truth.
    ``workers`` > 1 renders in a process pool ("fork" when the caller has no other threads, else "forkserver",
    which re-imports the caller's main script: guard it with ``if __name__ == "__main__":``).
    """
    import pandas as pd
    from tqdm import tqdm

    t_start = time.perf_counter()
    classes = demo_class_names(n_classes)
    per_class = int(per_class)
    if per_class < 2:
        raise ValueError("per_class must be >= 2")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    n_test = int(round(test_fraction * per_class))
    n_test = min(max(n_test, 1), per_class - 1)
    n_train = per_class - n_test
    C = len(classes)
    N = C * per_class
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    plan = np.random.default_rng(np.random.SeedSequence([int(seed), 7919, C, per_class, n_test]))
    ci = np.repeat(np.arange(C), per_class)
    jj = np.tile(np.arange(per_class), C)
    is_test = jj >= n_train
    # per-image scene parameters
    scale = np.clip(np.exp(plan.normal(0.0, 0.3, N)), 0.45, 1.6).round(4)
    u = plan.random((4, N))
    name = np.array(classes, dtype=object)[ci]
    dark = np.where(name == "bar", u[0] < 0.8, u[0] < 0.03)
    teal = np.where(name == "hospitalroom", u[1] < 0.85, u[1] < 0.02)
    green = (name == "bedroom") & (u[2] < 0.2)
    src = np.full(N, -1)  # near-duplicate: index of the train image it copies
    second = np.full(N, -1)
    given = ci.copy()

    # near-duplicates (test -> train of the same class)
    test_idx = np.flatnonzero(is_test)
    n_dup = max(2, int(round(0.01 * len(test_idx))))
    if len(test_idx) >= 200:
        n_dup = max(3, n_dup)
    n_dup = min(n_dup, len(test_idx))
    used_src: set[int] = set()
    for k in plan.choice(test_idx, n_dup, replace=False):
        c = ci[k]
        cands = [c * per_class + j for j in range(n_train) if c * per_class + j not in used_src]
        s = int(cands[int(plan.integers(len(cands)))])
        used_src.add(s)
        src[k] = s
    reserved = (src >= 0)
    reserved[list(used_src)] = True

    # multi-class scenes
    def partner(c: int) -> int:
        nm = classes[c]
        avail = [p for p in _PARTNERS.get(nm, []) if p in classes]
        if avail:
            return classes.index(avail[int(plan.integers(len(avail)))])
        bad = _LOOKALIKES.get(nm, set()) | {nm}
        opts = [i for i, x in enumerate(classes) if x not in bad]
        return opts[int(plan.integers(len(opts)))]

    n_multi = int(round(0.03 * N))
    elig = np.flatnonzero(~reserved)
    for k in plan.choice(elig, min(n_multi, len(elig)), replace=False):
        second[k] = partner(int(ci[k]))
    reserved |= second >= 0

    # flipped labels, in each split
    for split_mask in (~is_test, is_test):
        elig = np.flatnonzero(split_mask & ~reserved)
        k_flip = min(len(elig), max(1, int(round(0.05 * int(split_mask.sum())))))
        for k in plan.choice(elig, k_flip, replace=False):
            other = int(plan.integers(C - 1))
            given[k] = other if other < ci[k] else other + 1
    flipped = given != ci

    # file names: numbered per (split, given-label) folder in a shuffled order (names leak nothing)
    order = plan.permutation(N)
    counters: dict[tuple[bool, int], int] = {}
    rel = [""] * N
    for k in order:
        key = (bool(is_test[k]), int(given[k]))
        n = counters.get(key, 0)
        counters[key] = n + 1
        lab = classes[given[k]]
        rel[k] = f"{'test' if is_test[k] else 'train'}/{lab}/{lab}_{n:04d}.jpg"

    # copy the source's scene parameters into near-duplicates
    for k in np.flatnonzero(src >= 0):
        s = src[k]
        scale[k], dark[k], teal[k], green[k] = scale[s], dark[s], teal[s], green[s]

    tmp = out_dir / f".images_tmp_{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    for split in ("train", "test"):
        for c in classes:
            (tmp / split / c).mkdir(parents=True, exist_ok=True)
    tasks = []
    for k in range(N):
        s = int(src[k]) if src[k] >= 0 else k
        entropy = (int(seed), int(ci[s]), int(jj[s]))
        dup_entropy = (int(seed), int(ci[k]), int(jj[k]), 1) if src[k] >= 0 else None
        tasks.append((str(tmp / rel[k]), classes[ci[k]], classes[second[k]] if second[k] >= 0 else None,
                      bool(dark[k]), bool(teal[k]), bool(green[k]), float(scale[k]), int(size), entropy,
                      dup_entropy))

    bar = tqdm(total=N, desc="rendering demo images", unit="img", disable=not progress)
    try:
        if workers is None or workers <= 1:
            for t in tasks:
                _render_task(t)
                bar.update(1)
        else:
            with _pool_context().Pool(int(workers)) as pool:
                for _ in pool.imap_unordered(_render_task, tasks, chunksize=16):
                    bar.update(1)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()

    images_dir = out_dir / "images"
    if images_dir.exists():
        shutil.rmtree(images_dir)
    tmp.rename(images_dir)

    truth = pd.DataFrame({
        "sample_id": rel,
        "split": np.where(is_test, "test", "train"),
        "true_class": np.array(classes, dtype=object)[ci],
        "given_label": np.array(classes, dtype=object)[given],
        "flipped": flipped.astype(int),
        "second_class": [classes[s] if s >= 0 else "" for s in second],
        "dark": dark.astype(int),
        "teal": teal.astype(int),
        "green_bedspread": green.astype(int),
        "scale": scale,
        "near_duplicate_of": [rel[s] if s >= 0 else "" for s in src],
    })[TRUTH_COLUMNS].sort_values("sample_id", kind="stable").reset_index(drop=True)
    truth_path = out_dir / "truth.csv"
    tmp_csv = out_dir / f".truth_tmp_{os.getpid()}.csv"
    truth.to_csv(tmp_csv, index=False)
    os.replace(tmp_csv, truth_path)
    seconds = time.perf_counter() - t_start
    return DemoSummary(images_dir=images_dir, truth_path=truth_path, classes=classes, n_images=N,
                       n_flipped=int(flipped.sum()), n_multi=int((second >= 0).sum()),
                       n_near_duplicates=int((src >= 0).sum()), seconds=round(seconds, 3))
