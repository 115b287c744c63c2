"""The room around the defining objects: per-class room palette (wall, floor, ceiling colours, floor type,
tint, light level and light source; the teal-wall shortcut), the room shell (back wall, ceiling, side walls,
floor with planks or tiles around a moving vanishing point) and the non-defining decoration (a window or a
ceiling lamp as the light source, maybe a picture).
"""

from __future__ import annotations

from PIL import ImageDraw

from indoor.data.synthetic.canvas import _jit, _mix, _pick, _shade, _u
from indoor.data.synthetic.generic import _template


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
