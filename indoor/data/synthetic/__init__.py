"""The demo data set: procedurally drawn indoor scenes with planted truth (label errors, two-class scenes,
shortcuts, near-duplicates). Entry points in :mod:`.render` (``render_scene``, ``render_demo``); class tables in
:mod:`.classes`; the drawing canvas and colour helpers in :mod:`.canvas`; the hand-drawn classes in
:mod:`.shops` (bar, deli, bakery, bookstore/videostore) and :mod:`.rooms` (library, bedroom, gameroom,
hospitalroom, kitchen, office, livingroom); the other Indoor-67 classes in :mod:`.generic` (templates from
the class name) and :mod:`.primitives` (their object primitives); the room shell in :mod:`.backdrop`; blur,
lighting and sensor noise in :mod:`.postprocess`."""

from indoor.data.synthetic.classes import DEMO_CLASSES, INDOOR67_CLASSES, demo_class_names
from indoor.data.synthetic.render import TRUTH_COLUMNS, DemoSummary, render_demo, render_scene

__all__ = [
    "DEMO_CLASSES", "INDOOR67_CLASSES", "TRUTH_COLUMNS", "DemoSummary", "demo_class_names", "render_demo",
    "render_scene",
]
