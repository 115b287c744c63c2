"""Session-wide fixtures: one small demo data set and its cache, built once with the real backbone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")

SMALL_DEMO = {"n_classes": 10, "per_class": 18, "size": 96}
SMALL_BUILD = {"image_size": 96, "folds": 3, "thumb_size": 64, "workers": 2, "progress": False}


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """A rendered 10-class demo data set (images/ + truth.csv)."""
    from indoor.data.synthetic import render_demo

    out = tmp_path_factory.mktemp("demo") / "demo-data"
    render_demo(out, seed=0, workers=2, progress=False, **SMALL_DEMO)
    return out


@pytest.fixture(scope="session")
def demo_cache_path(demo_data, tmp_path_factory) -> Path:
    """The demo's cache, built with the real EfficientNet-Lite0 weights at a small size."""
    from indoor.cache.build import BuildOptions, build_cache
    from indoor.data.layouts import discover

    out = tmp_path_factory.mktemp("runs") / "demo"
    build_cache(discover(demo_data / "images"), out, BuildOptions(**SMALL_BUILD), log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def demo_cache(demo_cache_path):
    from indoor.cache import load_cache

    return load_cache(demo_cache_path)


@pytest.fixture(scope="module")
def shared_copy(demo_cache_path, tmp_path_factory) -> Path:
    """A copy of the demo cache per test module, for tests that only read (pages may create an empty store)."""
    import shutil

    target = tmp_path_factory.mktemp("shared") / "demo"
    shutil.copytree(demo_cache_path, target)
    return target


@pytest.fixture
def own_copy(demo_cache_path, tmp_path) -> Path:
    """A private copy of the demo cache for a test that writes decisions, cards or merges."""
    import shutil

    target = tmp_path / "demo"
    shutil.copytree(demo_cache_path, target)
    return target


# ------------------------------------------------------------------------------------------------- markers

BROWSER_MODULES = {"test_browser", "test_browser_shortcuts"}  # drive a real server in Chromium


def pytest_collection_modifyitems(config, items):
    """Every test gets one kind marker: ``browser`` (Chromium against a real server), ``app`` (Streamlit AppTests
    of the pages, in a module that uses AppTest) or ``unit`` (the library). ``python -m pytest -m "not browser"``
    is the quick loop."""
    kinds: dict[str, str] = {}
    for item in items:
        path = Path(str(item.fspath))
        if path not in kinds:
            if path.stem in BROWSER_MODULES:
                kinds[path] = "browser"
            else:
                kinds[path] = "app" if "AppTest" in path.read_text(encoding="utf-8") else "unit"
        item.add_marker(getattr(pytest.mark, kinds[path]))
