"""Hand-drawn shop classes: bar (back bar with bottles, counter, stools), deli and bakery (a glass display case
of food, hanging sausages / bread shelves), and bookstore + videostore, which share one drawer, one palette and
one layout on purpose (the planted look-alike pair). Each ``_d_*`` drawer draws its class's defining objects in
the local frame of a :class:`~indoor.data.synthetic.canvas._G`.
"""

from __future__ import annotations

import numpy as np

from indoor.data.synthetic.canvas import _BOTTLES, _G, _JARS, _STORE_ITEMS, _jit, _pick, _ri, _shade, _u


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
