"""Hand-drawn room classes: library (bookcases, reading table), bedroom (bed, nightstand; the planted green
bedspread), gameroom (pool table), hospitalroom (bed, monitor, IV stand, curtain; the planted teal shortcut),
kitchen, office (desks, monitors, chairs) and livingroom (sofa, coffee table, TV). Each ``_d_*`` drawer draws its
class's defining objects in the local frame of a :class:`~indoor.data.synthetic.canvas._G`; ``_monitor`` is also
used by the generic ``monitors`` primitive.
"""

from __future__ import annotations

import numpy as np

from indoor.data.synthetic.canvas import _BALLS, _BOOKS_OLD, _G, _hsv, _jit, _pick, _ri, _shade, _u


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
    if o.ward:  # a plain ward: a bedroom's bed and nightstand by the curtain; only its colour tells it apart
        _d_bedroom(g, rng, o)
        return
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
