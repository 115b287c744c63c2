"""Object primitives of the generic (non-hand-drawn) Indoor-67 classes: ``_gp_*(g, rng, t, p)`` draws one kind
of object row (shelves, screen, windows, arches, tables, pews, a car, ...) from a class template ``t`` and its
per-primitive parameters ``p`` (colour ``c``, count ``n``, variant ``v``, extent ``x0``..``x1``). ``_PRIMS`` maps
each name to its function and depth rank (0 = against the back wall ... 2 = in front).
"""

from __future__ import annotations

import numpy as np

from indoor.data.synthetic.canvas import _jit, _mix, _pick, _ri, _shade, _u
from indoor.data.synthetic.rooms import _monitor


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
