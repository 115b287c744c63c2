"""The class tables: the 12 hand-designed demo classes (``DEMO_CLASSES``), the 67 MIT Indoor-67 names
(``INDOOR67_CLASSES``), which classes a demo of n classes uses (``demo_class_names``), the hand-drawn drawer of
each class (``_DRAWERS``; every other class is drawn by the generic template), and the tables used to plant
problems: sensible multi-class partners (``_PARTNERS``) and look-alike classes (``_LOOKALIKES``). Mostly data.
"""

from __future__ import annotations

import numpy as np

from indoor.data.synthetic.rooms import (
    _d_bedroom,
    _d_gameroom,
    _d_hospital,
    _d_kitchen,
    _d_library,
    _d_livingroom,
    _d_office,
)
from indoor.data.synthetic.shops import _d_bakery, _d_bar, _d_deli, _d_racks

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


_DRAWERS = {
    "bar": _d_bar, "deli": _d_deli, "bakery": _d_bakery, "bookstore": _d_racks, "videostore": _d_racks,
    "bedroom": _d_bedroom, "gameroom": _d_gameroom, "hospitalroom": _d_hospital, "kitchen": _d_kitchen,
    "office": _d_office, "library": _d_library, "livingroom": _d_livingroom,
}


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
