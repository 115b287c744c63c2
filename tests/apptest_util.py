"""Opening a page of the app in Streamlit's AppTest, the way the page tests do (shared by the test modules)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def open_page(monkeypatch, cache_path: Path, page: str, *, timeout_s: float = 120, **query: str) -> AppTest:
    """``page`` (e.g. "pages/7_Shortcuts.py") on the cache at ``cache_path``, opened through app.py with ``query``
    as URL parameters; asserts that neither script raised."""
    monkeypatch.setenv("INDOOR_CACHE", str(cache_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=timeout_s)
    at.run()
    assert not at.exception, at.exception
    at.query_params = dict(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run_script(monkeypatch, script: str, *, timeout_s: float = 30) -> AppTest:
    """A Streamlit script (e.g. one that mounts a component) run once from the repository root; asserts that it
    did not raise."""
    monkeypatch.chdir(ROOT)
    at = AppTest.from_string(script, default_timeout=timeout_s).run()
    assert not at.exception, at.exception
    return at


def markdown_text(at: AppTest) -> str:
    """Every Markdown element's text, one per line."""
    return "\n".join(m.value for m in at.markdown)
