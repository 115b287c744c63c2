"""Deep links: query parameters bound to widgets (a view is a shareable URL) and links between pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from indoor.app.text import md
from indoor.cache import Cache


OVERVIEW_PAGE = "app.py"
CONFUSION_PAGE = "pages/1_Confusion.py"
GALLERY_PAGE = "pages/2_Gallery.py"
MAP_PAGE = "pages/3_Embedding_map.py"
RELABEL_PAGE = "pages/4_Relabel.py"
ANY = "any"
URL_WRITTEN = "indoor.url_written"  # what this session last wrote into the URL, per page and parameter


@dataclass(frozen=True)
class UrlParam:
    """One query parameter bound to a session-state key (the key of the widget showing it)."""

    key: str
    default: Any
    parse: Callable[[str], Any] = str  # raw URL text -> value; raise ValueError (or return None) if invalid
    format: Callable[[Any], str] = str  # value -> URL text


def url_sync_in(page: str, params: Mapping[str, UrlParam]) -> set[str]:
    """Before the widgets: take values from the URL when it was set from outside (deep link, link, back button).

    A widget's own changes win otherwise; :func:`url_sync_out` then writes them into the URL. Returns the names
    of the parameters whose value came from outside in this run.
    """
    written = st.session_state.setdefault(URL_WRITTEN, {})
    taken: set[str] = set()
    for name, param in params.items():
        raw = st.query_params.get(name)
        external = raw != written.get(f"{page}:{name}")
        if param.key in st.session_state and not external:
            continue
        if external:
            taken.add(name)
        value = param.default
        if raw is not None:
            try:
                parsed = param.parse(raw)
            except (ValueError, TypeError, KeyError):
                parsed = None
            if parsed is not None:
                value = parsed
        st.session_state[param.key] = value
    return taken


def url_sync_out(page: str, params: Mapping[str, UrlParam]) -> None:
    """After the widgets: the URL shows every non-default value, so a copied URL reproduces the view."""
    from streamlit.errors import StreamlitAPIException

    written = st.session_state.setdefault(URL_WRITTEN, {})
    current = st.query_params.to_dict()
    for name, param in params.items():
        value = st.session_state.get(param.key, param.default)
        text = None if value is None or value == param.default else param.format(value)
        written[f"{page}:{name}"] = text
        try:
            if text is None and name in current:
                del st.query_params[name]
            elif text is not None and current.get(name) != text:
                st.query_params[name] = text
        except StreamlitAPIException:  # bound to a widget of another page that is still registered: leave it
            pass


def class_param(cache: Cache, key: str, *, allow_any: bool = True) -> UrlParam:
    """A class name in the URL (``any`` allowed when ``allow_any``)."""
    names = set(cache.classes)

    def parse(raw: str) -> str | None:
        if allow_any and raw == ANY:
            return ANY
        return raw if raw in names else None

    return UrlParam(key, ANY if allow_any else cache.classes[0], parse)


def choice_param(key: str, default: str, choices: Sequence[str]) -> UrlParam:
    allowed = set(choices)
    return UrlParam(key, default, lambda raw: raw if raw in allowed else None)


def bool_param(key: str, default: bool = False) -> UrlParam:
    def parse(raw: str) -> bool | None:
        lowered = raw.lower()
        return True if lowered in ("1", "true", "yes") else False if lowered in ("0", "false", "no") else None

    return UrlParam(key, default, parse, lambda v: "true" if v else "false")


def int_param(key: str, default: int = 1, *, minimum: int = 1) -> UrlParam:
    def parse(raw: str) -> int | None:
        value = int(raw)
        return value if value >= minimum else None

    return UrlParam(key, default, parse)


def sample_param(cache: Cache, key: str) -> UrlParam:
    """A sample_id in the URL (unknown ids are ignored)."""
    row_of = cache.row_of
    return UrlParam(key, None, lambda raw: raw if raw in row_of else None)


def gallery_query(true: str | None = None, pred: str | None = None, split: str | None = None, *,
                  correct: bool | None = None, sort: str | None = None) -> dict[str, str]:
    """Query parameters of the Gallery page (None / ``any`` / defaults left out)."""
    query: dict[str, str] = {}
    if true and true != ANY:
        query["true"] = true
    if pred and pred != ANY:
        query["pred"] = pred
    if split and split != "all":
        query["split"] = split
    if correct:
        query["correct"] = "true"
    if sort and sort != "confidence":
        query["sort"] = sort
    return query


def class_pair_link(true: str | None, pred: str | None, split: str | None = None, *, label: str | None = None,
                    correct: bool | None = None, icon: str | None = None, key: str | None = None) -> None:
    """A link to the Gallery of one (given label, prediction) pair; either may be None (any).

    ``key`` is accepted for symmetry with widgets and ignored (page links need none)."""
    if label is None:
        label = f"{md(true or 'any')} → {md(pred or 'any')}"
    st.page_link(GALLERY_PAGE, label=label, icon=icon,
                 query_params=gallery_query(true, pred, split, correct=correct))


def open_gallery(true: str | None = None, pred: str | None = None, split: str | None = None, *,
                 correct: bool | None = None) -> None:
    """Switch to the Gallery filtered to a pair (e.g. after a click on a confusion-matrix cell)."""
    st.switch_page(GALLERY_PAGE, query_params=gallery_query(true, pred, split, correct=correct))


def relabel_link(sample_id: str, *, label: str = "Open the full relabel form", key: str | None = None) -> None:
    """A link to the Relabel page's form for one image (``key`` is ignored, as for :func:`class_pair_link`)."""
    st.page_link(RELABEL_PAGE, label=label, icon=":material/edit_note:", query_params={"sample": sample_id})
