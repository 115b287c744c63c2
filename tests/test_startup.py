"""What makes the first page after `streamlit run` fast: app.py's st.App, whose start-up hook warms the server's
shared caches (loading.warm_up), and the class order stored at build time (no scipy import before the first page)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.web.server.app_discovery import discover_asgi_app

from indoor.app import loading
from indoor.analysis.tables import TABLES
from indoor.cache import tables as cache_tables_module
from indoor.cache import load_cache

from apptest_util import open_page

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_run_finds_the_app_with_its_start_up_hook():
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_importing_app_py_defines_the_app_and_runs_no_page_code(monkeypatch):
    spec = importlib.util.spec_from_file_location("app_imported_for_test", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # as uvicorn imports it: __name__ is not "__main__"
    assert isinstance(module.app, st.App)
    assert module.app._user_lifespan is module._warm_up_on_start  # (st.App keeps its hook there)
    # the page's heavy imports stay inside main(): importing app.py must not pull in pandas' or plotly's weight
    assert "cache" not in vars(module) and callable(module.main)


def test_warm_up_fills_the_caches_the_pages_use(monkeypatch, shared_copy):
    calls = []
    real_load = loading.load_cache

    def counting_load(path, *args, **kwargs):
        calls.append(str(path))
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(loading, "load_cache", counting_load)
    monkeypatch.setenv("INDOOR_CACHE", str(shared_copy))
    monkeypatch.setattr(sys, "argv", ["app.py"])
    loading._load_cache.clear()
    loading._order.clear()
    loading.warm_up()
    assert calls == [str(shared_copy.resolve())]
    cache = loading._load_cache(str(shared_copy.resolve()), loading._stamp(shared_copy.resolve()))  # what a page calls
    assert calls == [str(shared_copy.resolve())], "the page's call must be served from the warmed cache"
    assert list(cache.classes) == list(cache.meta["classes"])


def test_warm_up_leaves_a_broken_cache_to_the_pages(monkeypatch, tmp_path):
    monkeypatch.setenv("INDOOR_CACHE", str(tmp_path / "nowhere"))
    monkeypatch.setattr(sys, "argv", ["app.py"])
    loading.warm_up()  # no exception: the page shows the validation message when it opens


def _confusion_labels(monkeypatch, cache_path) -> list[str]:
    at = open_page(monkeypatch, cache_path, "pages/1_Confusion.py", timeout_s=60)
    heatmaps = [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.component_name == "indoor_heatmap"]
    return heatmaps[0]["labels"]


def test_confusion_explorer_uses_the_stored_similarity_order(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    reversed_order = cache.table("class_order")["similarity"].to_numpy()[::-1].copy()
    pd.DataFrame({"similarity": reversed_order}).to_parquet(own_copy / "analysis" / "class_order.parquet")
    assert _confusion_labels(monkeypatch, own_copy) == [cache.classes[i] for i in reversed_order]


def test_a_damaged_or_missing_stored_order_is_recomputed(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    computed = cache.table("class_order")["similarity"].tolist()
    pd.DataFrame({"similarity": [0] * len(cache.classes)}).to_parquet(own_copy / "analysis" / "class_order.parquet")
    assert _confusion_labels(monkeypatch, own_copy) == [cache.classes[i] for i in computed]
    (own_copy / "analysis" / "class_order.parquet").unlink()  # a cache built before the table existed
    monkeypatch.setattr(cache_tables_module, "build_tables", lambda *a, **k: pytest.fail("every table recomputed"))
    tables = cache_tables_module.cache_tables(load_cache(own_copy))
    assert set(tables) == set(TABLES) and tables["class_order"]["similarity"].tolist() == computed


def test_every_page_url_answers_with_the_servers_address(monkeypatch):
    """app.py's routes serve each page's URL (the one Streamlit derives from the file name) with Streamlit's own
    index.html plus the script that names the server's address, before Streamlit's module script."""
    import asyncio

    from streamlit.source_util import page_icon_and_name

    from indoor.app import page_urls

    spec = importlib.util.spec_from_file_location("app_routes_for_test", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    routes = {route.path: route for route in module.app._user_routes}
    page_files = sorted((ROOT / "pages").glob("*.py"))
    assert set(routes) == {f"/{page_icon_and_name(p)[1]}" for p in page_files} and len(routes) == len(page_files)
    response = asyncio.run(routes["/Confusion"].endpoint(None))
    html = response.body.decode()
    assert response.status_code == 200 and response.headers["cache-control"] == "no-cache"
    assert html.index(page_urls.BASE_URL_SCRIPT) < html.index('<script type="module"')
    assert html.replace(page_urls.BASE_URL_SCRIPT, "") == (
        Path(page_urls.file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")

    monkeypatch.setattr(st, "get_option", lambda name: "/tools/indoor/" if name == "server.baseUrlPath" else None)
    assert {route.path for route in page_urls.page_routes(ROOT / "pages")} == {f"/tools/indoor{p}" for p in routes}
    assert page_urls.with_base_url("<p>no head</p>") == "<p>no head</p>"
    assert page_urls.page_url_path(Path("12 - My  page.py")) == "My_page"
