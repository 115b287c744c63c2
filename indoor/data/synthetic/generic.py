"""The generic Indoor-67 classes (every class without a hand-drawn drawer): a fixed template per class name,
derived from an MD5 hash of the name (room palette, item palette, 2-4 object primitives and their arrangement),
with a few semantic hints (``_HINTS``) so that a class looks a little like its name; ``_d_generic`` draws a
template's primitives in order of depth.
"""

from __future__ import annotations

import hashlib

import numpy as np

from indoor.data.synthetic.canvas import _G, _hsv, _mix, _pick
from indoor.data.synthetic.primitives import _PRIMS

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
