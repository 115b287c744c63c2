"""The HTML of the pages' own URLs (``/Confusion``, ``/Gallery``, …), served by app.py's ``st.App``.

Opened at a page's URL, Streamlit's frontend can't tell a page name from a path prefix the app is served under, so
it first pings ``/Confusion/_stcore/health`` (a 404), waits 100 ms, then pings ``/_stcore/health``: about 0.2 s
more on every page opened by a link, a bookmark or a reload. :func:`page_routes` answers the pages' URLs with
Streamlit's own ``index.html`` plus one line that gives the frontend the server's address
(``window.__streamlit.BACKEND_BASE_URL``: the URL without its last segment, the page's name), so its first ping is
the one that answers. Every other URL (``/``, assets, ``/_stcore/…``) is Streamlit's as before.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import streamlit as st
from streamlit import file_util
from streamlit.source_util import page_icon_and_name

# Runs before Streamlit's module script (a classic inline script runs first; modules are deferred). An address
# set by an embedding host is kept.
BASE_URL_SCRIPT = (
    "<script>window.__streamlit=Object.assign({BACKEND_BASE_URL:location.origin+"
    "location.pathname.replace(/\\/+$/,'').replace(/\\/[^\\/]*$/,'')},window.__streamlit||{});</script>"
)


def page_url_path(script: Path) -> str:
    """The URL path Streamlit gives a page file of ``pages/`` (no leading slash): Streamlit's own rule, e.g.
    "3_Embedding_map.py" -> "Embedding_map" (a leading emoji is the page's icon, not part of its URL)."""
    return page_icon_and_name(script)[1]


def with_base_url(index_html: str) -> str:
    """Streamlit's index.html with :data:`BASE_URL_SCRIPT` first in its head (unchanged if it has no head)."""
    head = re.search(r"<head[^>]*>", index_html, flags=re.IGNORECASE)
    if head is None:
        return index_html
    return index_html[: head.end()] + BASE_URL_SCRIPT + index_html[head.end():]


@lru_cache(maxsize=1)
def _index_html() -> str | None:
    try:
        return with_base_url((Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8"))
    except OSError:
        return None


def page_routes(pages_dir: Path) -> list:
    """Starlette routes for the URL of every page in ``pages_dir`` (under ``server.baseUrlPath``), answering GET
    and HEAD with the page's HTML; a server without Streamlit's static files falls back to Streamlit's answer."""
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    if _index_html() is None:
        return []
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""

    async def page_html(_request) -> HTMLResponse:
        return HTMLResponse(_index_html(), headers={"Cache-Control": "no-cache"})

    names = sorted({page_url_path(script) for script in Path(pages_dir).glob("*.py")} - {""})
    return [Route(f"{prefix}/{name}", page_html, methods=["GET", "HEAD"]) for name in names]
