"""Shared page code: cache selection and loading, sidebar, deep links, galleries, image detail, decision forms.

Every page calls :func:`setup_page` first, so it works when opened directly by URL. Pages stay thin: layout and
widgets here or in the page, analysis in ``indoor/``. Nothing here imports torch or umap.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from indoor import explore
from indoor.cache import Cache, CacheError, find_caches, load_cache
from indoor.decisions import ACTIONS, TAGS, Decision, DecisionError, DecisionStore
from indoor.metrics import confusion_matrix

ROOT = Path(__file__).resolve().parent
RUNS = ROOT / "runs"
DEFAULT_CACHE = RUNS / "demo"
ENV_CACHE = "INDOOR_CACHE"

OVERVIEW_PAGE = "app.py"
CONFUSION_PAGE = "pages/1_Confusion.py"
GALLERY_PAGE = "pages/2_Gallery.py"
MAP_PAGE = "pages/3_Embedding_map.py"
RELABEL_PAGE = "pages/4_Relabel.py"

SPLIT_LABELS = {"test": "test", "train": "train (out-of-fold)", "val": "val", "all": "all splits"}
ACTION_LABELS = {
    "keep": "Keep",
    "relabel": "Relabel",
    "multi_label": "Multi-label",
    "remove": "Remove",
    "unsure": "Unsure",
}
ANY = "any"

BUILD_DEMO_CMD = "python -m indoor demo --out runs/demo"
BUILD_REAL_CMD = "python -m indoor build --data PATH/indoorCVPR_09 --out runs/indoor67"
RUN_CMD = "streamlit run app.py -- --cache runs/indoor67"

_PAGE_ICONS = {
    "overview": ":material/dashboard:",
    "confusion": ":material/grid_on:",
    "gallery": ":material/photo_library:",
    "embedding map": ":material/scatter_plot:",
    "relabel": ":material/edit_note:",
}

_CACHE_CHOICE = "indoor.cache_choice"  # the sidebar's choice (a path string), kept across pages
_ANNOTATOR = "indoor.annotator"  # the reviewer's name, kept across pages
_URL_WRITTEN = "indoor.url_written"  # what this session last wrote into the URL, per page and parameter
_NOTICE = "indoor.notice"  # a message to show once after a callback (saved, undone, failed)
_LOG = logging.getLogger("indoor.ui")


# ================================================================================================ text helpers


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~$|:])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.MULTILINE)


def md(text: Any) -> str:
    """``text`` escaped for Streamlit markdown (labels, captions): no emphasis, links, HTML, LaTeX, emoji codes or
    list/heading syntax from data."""
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    def guard(match: re.Match) -> str:
        token = match.group(2)
        return match.group(1) + (token[:-1] + "\\" + token[-1] if token[0].isdigit() else "\\" + token)

    return _MD_LINE_START.sub(guard, escaped)


def esc(text: Any) -> str:
    """``text`` escaped for HTML (plotly hover and axis labels, HTML written into the page)."""
    return html.escape(str(text), quote=True)


def split_label(split: str) -> str:
    return SPLIT_LABELS.get(split, split)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}%}"


# ================================================================================================ cache choice


@dataclass(frozen=True)
class CacheChoice:
    path: Path | None
    source: str  # "sidebar", "command line", "INDOOR_CACHE", "default", "found", "none"


def _cli_cache() -> str | None:
    """``streamlit run app.py -- --cache PATH`` puts ``--cache PATH`` into the script's sys.argv."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--cache")
    try:
        args, _ = parser.parse_known_args(sys.argv[1:])
    except SystemExit:  # e.g. "--cache" without a value
        return None
    return args.cache


def resolve_cache() -> CacheChoice:
    """Which cache to show: sidebar choice > ``-- --cache PATH`` > ``INDOOR_CACHE`` > ``runs/demo`` > any cache
    under ``runs/`` > none."""
    chosen = st.session_state.get(_CACHE_CHOICE)
    if chosen:
        return CacheChoice(Path(chosen), "sidebar")
    return default_cache()


def default_cache() -> CacheChoice:
    """The cache a new session starts on: :func:`resolve_cache` without the sidebar choice (needs no session)."""
    cli = _cli_cache()
    if cli:
        return CacheChoice(Path(cli).expanduser().resolve(), "command line")
    env = os.environ.get(ENV_CACHE)
    if env:
        return CacheChoice(Path(env).expanduser().resolve(), ENV_CACHE)
    if DEFAULT_CACHE.exists():
        return CacheChoice(DEFAULT_CACHE, "default")
    found = find_caches(RUNS)
    if found:
        return CacheChoice(found[0], "found")
    return CacheChoice(None, "none")


def _stamp(path: Path) -> int:
    try:
        return (path / "meta.json").stat().st_mtime_ns
    except OSError:
        return -1


@st.cache_resource(show_spinner="Loading the inference cache…", max_entries=4)
def _load_cache(path: str, stamp: int) -> Cache:
    """One shared, read-only Cache per (path, meta.json mtime): a rebuilt cache is picked up on the next run."""
    return load_cache(path)


def cache_key(cache: Cache) -> str:
    """A string naming one build of one cache: keys every derived-data cache below."""
    return f"{cache.path}|{cache.meta.get('created_at')}|{len(cache.samples)}"


def display_path(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def warm_up() -> None:
    """Fill the server's shared caches before the first session needs them: the default cache, its confusion
    matrices and the similarity class order (stored by the build; computed for older caches). Called once, in a
    background thread, by the start-up hook in app.py. Errors are left to the pages, which report them."""
    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "missing ScriptRunContext": expected outside a session
    try:
        # Streamlit checks once per process, on the first element a page writes, whether it runs in a REPL: an
        # inspect.stack() that reads the source of every frame, 0.3 s deep in a page's script thread, next to
        # nothing here. (Private; skipped if it ever changes.)
        from streamlit import delta_generator

        with contextlib.suppress(Exception):
            delta_generator._maybe_print_use_warning()
        choice = default_cache()
        if choice.path is None:
            return
        cache = _load_cache(str(choice.path), _stamp(choice.path))
        columns(cache)
        for split in [*sorted(set(cache.samples["split"].unique())), explore.SPLIT_ALL]:
            confusion(cache, split)
        class_order(cache, "similarity")
    except Exception as exc:  # noqa: BLE001 - a broken cache is the pages' to explain
        _LOG.info("warm-up stopped: %s", exc)
    finally:
        quiet.setLevel(level)


# ================================================================================================ page setup


def setup_page(title: str, icon: str = ":material/search_insights:") -> Cache:
    """First call of every page: page config, cache resolution and loading, the common sidebar.

    Stops the page (after saying why and what to run) when there is no cache or it is broken.
    """
    st.set_page_config(page_title=f"{title} · indoor", page_icon=icon, layout="wide")
    _style()
    choice = resolve_cache()
    with st.sidebar:
        _navigation()
    if choice.path is None:
        _no_cache_screen()
        st.stop()
    try:
        cache = _load_cache(str(choice.path), _stamp(choice.path))
    except CacheError as exc:
        with st.sidebar:
            _cache_selector(choice)
        st.title(title)
        st.error(f"This cache can't be opened: {exc}")
        st.markdown("Rebuild it, or choose another cache in the sidebar:")
        st.code(f"{BUILD_DEMO_CMD}\n# or, for a real data set:\n{BUILD_REAL_CMD}", language="bash", wrap_lines=True)
        st.stop()
    with st.sidebar:
        _cache_selector(choice)
        _run_summary(cache)
        _annotator_input()
    _show_notice()
    return cache


def _style() -> None:
    st.html(
        """<style>
        .block-container {padding-top: 2.2rem; padding-bottom: 3rem;}
        [data-testid="stImageCaption"] {font-size: 0.74rem; line-height: 1.25; white-space: pre-line;}
        [data-testid="stMetricValue"] {font-size: 1.6rem;}
        [data-testid="stSidebarNav"] {display: none;}
        </style>"""
    )


def _page_label(file_name: str) -> str:
    stem = Path(file_name).stem
    return re.sub(r"^\d+_", "", stem).replace("_", " ")


def _page_sort_key(path: Path) -> tuple[float, str]:
    """Streamlit's order: by the number in front of the file name (``10_`` after ``9_``), then by name."""
    match = re.match(r"^(\d+)", path.name)
    return (int(match.group(1)) if match else float("inf"), path.name.lower())


def _navigation() -> None:
    """Sidebar links to every page (the app's own navigation list is hidden in .streamlit/config.toml)."""
    st.markdown("#### indoor")
    st.page_link(OVERVIEW_PAGE, label="Overview", icon=_PAGE_ICONS["overview"])
    for page in sorted((ROOT / "pages").glob("*.py"), key=_page_sort_key):
        label = _page_label(page.name)
        st.page_link(f"pages/{page.name}", label=label, icon=_PAGE_ICONS.get(label.lower(), ":material/article:"))
    st.divider()


def _cache_selector(choice: CacheChoice) -> None:
    options = [str(p) for p in find_caches(RUNS)]
    current = str(choice.path)
    if current not in options:
        options.insert(0, current)

    def changed() -> None:
        st.session_state[_CACHE_CHOICE] = st.session_state["indoor.cache_select"]

    st.session_state["indoor.cache_select"] = current
    st.selectbox(
        "Cache",
        options,
        key="indoor.cache_select",
        format_func=display_path,
        on_change=changed,
        help="Inference caches found under runs/ (plus the one given by --cache or INDOOR_CACHE).",
    )


def _run_summary(cache: Cache) -> None:
    meta = cache.meta
    metrics = meta.get("metrics", {})
    lines = [f"{len(cache.samples):,} images · {len(cache.classes)} classes"]
    for split in ("test", "val", "train"):
        top1 = metrics.get(split, {}).get("top1")
        if top1 is not None:
            lines.append(f"{split_label(split)}: top-1 {percent(top1)}")
    backbone = meta.get("backbone", {})
    lines.append(f"{backbone.get('name', '?')}, {meta.get('image_size', '?')} px")
    st.caption("  \n".join(md(line) for line in lines))


def _annotator_input() -> None:
    """The reviewer's name, remembered for the session and used by every decision."""
    st.session_state["indoor.annotator_sidebar"] = annotator()

    def changed() -> None:
        st.session_state[_ANNOTATOR] = st.session_state["indoor.annotator_sidebar"].strip() or "anonymous"

    st.text_input("Reviewer", key="indoor.annotator_sidebar", on_change=changed,
                  help="Your name: saved with every decision you make.")


def annotator() -> str:
    return st.session_state.get(_ANNOTATOR) or "anonymous"


def notify(kind: str, text: str) -> None:
    st.session_state[_NOTICE] = (kind, text)


def _show_notice() -> None:
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        kind, text = notice
        if kind == "error":
            st.error(text)
        else:
            st.toast(text, icon=":material/check_circle:" if kind == "success" else None)


# ================================================================================================ no cache yet


_build_lock = threading.Lock()
_TQDM = re.compile(r"(?P<desc>[^|\r\n]*?):?\s*(?P<pct>\d{1,3})%\|")
_STAGES = (("render", 0.0, 0.30), ("embed", 0.30, 0.80), ("out-of-fold", 0.80, 0.90))


def _no_cache_screen() -> None:
    st.title("indoor · error analysis for scene classifiers")
    st.info(f"No inference cache yet: nothing at `{display_path(DEFAULT_CACHE)}` and no other cache under `runs/`.")
    left, right = st.columns(2, gap="large")
    with left, st.container(border=True):
        st.subheader("Try it on the demo")
        st.markdown(
            "Renders ~1,560 synthetic indoor scenes in 12 classes (with planted label errors), embeds them with "
            "the bundled EfficientNet-Lite0 and builds the cache. A few minutes on a laptop CPU."
        )
        if st.button("Build the demo here", type="primary", icon=":material/play_arrow:"):
            _build_demo()
        st.caption("or in a terminal:")
        st.code(BUILD_DEMO_CMD, language="bash", wrap_lines=True)
    with right, st.container(border=True):
        st.subheader("Your own data")
        st.markdown("MIT Indoor 67 (or any folder of class sub-folders, or a CSV manifest):")
        st.code(f"{BUILD_REAL_CMD}\n{RUN_CMD}", language="bash", wrap_lines=True)
        st.caption("`python -m indoor build --help` lists every option.")


def _build_demo() -> None:
    """Run the demo build as a subprocess (pages never train in-process), with a progress bar fed from its output."""
    if not _build_lock.acquire(blocking=False):
        st.warning("A build is already running in this server; reload the page when it is done.")
        return
    try:
        bar = st.progress(0.0, text="Starting…")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "indoor", "demo", "--out", str(DEFAULT_CACHE)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        )
        tail: list[str] = []
        assert process.stdout is not None
        buffer = b""
        while True:
            chunk = process.stdout.read1(4096) if hasattr(process.stdout, "read1") else process.stdout.read(4096)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            for raw in lines:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                tail = (tail + [line])[-15:]
                fraction, text = _progress_of(line)
                if fraction is not None:
                    bar.progress(min(max(fraction, 0.0), 1.0), text=text)
        code = process.wait()
        if code == 0 and DEFAULT_CACHE.exists():
            bar.progress(1.0, text="Done")
            st.success("The demo cache is ready.")
            time.sleep(0.5)
            st.rerun()
        else:
            st.error(f"The demo build failed (exit code {code}). Its last output:")
            st.code("\n".join(tail) or "(no output)")
    finally:
        _build_lock.release()


def _progress_of(line: str) -> tuple[float | None, str]:
    """Map one line of the build's output to an overall fraction and a short text."""
    match = _TQDM.search(line)
    if match:
        desc = match.group("desc").strip() or "working"
        pct = int(match.group("pct")) / 100
        for word, start, end in _STAGES:
            if word in desc.lower():
                if word == "out-of-fold" and pct >= 1:
                    return end, "Projecting with UMAP and writing the cache…"
                return start + (end - start) * pct, f"{desc}: {pct:.0%}"
        return None, desc
    lowered = line.lower()
    if "umap" in lowered or "project" in lowered:
        return 0.92, "Projecting with UMAP…"
    if lowered.startswith("rendered"):
        return 0.30, "Rendered the images; embedding…"
    if lowered.startswith("built"):
        return 1.0, "Writing the cache…"
    return None, ""


# ================================================================================================ deep links


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
    written = st.session_state.setdefault(_URL_WRITTEN, {})
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

    written = st.session_state.setdefault(_URL_WRITTEN, {})
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
        label = f"{true or 'any'} → {pred or 'any'}"
    st.page_link(GALLERY_PAGE, label=label, icon=icon,
                 query_params=gallery_query(true, pred, split, correct=correct))


def open_gallery(true: str | None = None, pred: str | None = None, split: str | None = None, *,
                 correct: bool | None = None) -> None:
    """Switch to the Gallery filtered to a pair (e.g. after a click on a confusion-matrix cell)."""
    st.switch_page(GALLERY_PAGE, query_params=gallery_query(true, pred, split, correct=correct))


def relabel_link(sample_id: str, *, label: str = "Open the full relabel form", key: str | None = None) -> None:
    """A link to the Relabel page's form for one image (``key`` is ignored, as for :func:`class_pair_link`)."""
    st.page_link(RELABEL_PAGE, label=label, icon=":material/edit_note:", query_params={"sample": sample_id})


# ================================================================================================ derived data


@dataclass(frozen=True)
class Columns:
    """Plain numpy copies of the sample columns pages read row by row (pandas scalar access is slow)."""

    sample_id: np.ndarray
    label: np.ndarray
    pred: np.ndarray
    confidence: np.ndarray
    self_confidence: np.ndarray
    split: np.ndarray


@st.cache_resource(max_entries=8, show_spinner=False)
def _columns(key: str, _cache: Cache) -> Columns:
    s = _cache.samples
    arrays = {name: s[name].to_numpy(dtype=object if name in ("sample_id", "split") else None).copy()
              for name in ("sample_id", "label", "pred", "confidence", "self_confidence", "split")}
    for array in arrays.values():
        array.flags.writeable = False
    return Columns(**arrays)


def columns(cache: Cache) -> Columns:
    return _columns(cache_key(cache), cache)


@st.cache_resource(max_entries=32, show_spinner=False)
def _confusion(key: str, _cache: Cache, split: str) -> np.ndarray:
    samples = _cache.samples
    mask = explore.split_mask(samples["split"].to_numpy(), split)
    matrix = confusion_matrix(samples["label"].to_numpy()[mask], samples["pred"].to_numpy()[mask],
                              len(_cache.classes))
    matrix.flags.writeable = False
    return matrix


def confusion(cache: Cache, split: str) -> np.ndarray:
    """Confusion counts (rows = given label, columns = prediction) of one split (or ``all``); shared, read-only."""
    return _confusion(cache_key(cache), cache, split)


@st.cache_resource(max_entries=32, show_spinner=False)
def _order(key: str, _cache: Cache, by: str) -> np.ndarray:
    order = _stored_similarity_order(_cache) if by == "similarity" else None
    if order is None:
        order = explore.class_order(_confusion(key, _cache, "all"), _cache.classes, by=by)
    order.flags.writeable = False
    return order


def _stored_similarity_order(cache: Cache) -> np.ndarray | None:
    """The similarity order the build stored (analysis/class_order.parquet), if present and a permutation of the
    classes; None otherwise (then it is computed)."""
    if not cache.has_table("class_order"):
        return None
    try:
        order = cache.table("class_order")["similarity"].to_numpy(np.int64)
    except (CacheError, KeyError, ValueError):
        return None
    return order if np.array_equal(np.sort(order), np.arange(len(cache.classes))) else None


def class_order(cache: Cache, by: str) -> np.ndarray:
    """Class indices ordered by name, accuracy or similarity; computed on every image (all splits, out-of-sample
    probabilities) so the order stays put when the split changes."""
    return _order(cache_key(cache), cache, by)


@st.cache_resource(max_entries=8, show_spinner=False)
def _typical(key: str, _cache: Cache, k: int) -> dict[int, np.ndarray]:
    samples = _cache.samples
    labels, preds = samples["label"].to_numpy(), samples["pred"].to_numpy()
    self_conf = samples["self_confidence"].to_numpy()
    return {c: explore.typical_examples(labels, preds, self_conf, c, k=k) for c in range(len(_cache.classes))}


def typical_rows(cache: Cache, class_index: int, *, k: int = 6, exclude: int | None = None) -> list[int]:
    """Rows of the most confidently, correctly classified images of a class (out-of-sample probabilities)."""
    rows = [int(r) for r in _typical(cache_key(cache), cache, k + 1)[int(class_index)] if r != exclude]
    return rows[:k]


@st.cache_resource(max_entries=8, show_spinner=False)
def _store(path: str, key: str, _cache: Cache) -> DecisionStore:
    return DecisionStore(path, classes=_cache.classes, known_ids=_cache.row_of.keys())


def decision_store(cache: Cache) -> DecisionStore | None:
    """The decisions store beside the cache (created on first use); None (after an error message) if unusable."""
    try:
        return _store(str(cache.decisions_path), cache_key(cache), cache)
    except DecisionError as exc:
        st.error(f"Decisions can't be saved or read: {exc}")
        return None


def top_classes(cache: Cache, rows: Sequence[int], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(indices, probabilities) of the k most probable classes of ``rows``."""
    probs = np.asarray(cache.probs[np.sort(np.asarray(rows, dtype=int))])
    order = np.argsort(np.argsort(np.asarray(rows, dtype=int)))  # back to the order of ``rows``
    return explore.top_k(probs[order], k)


# ================================================================================================ galleries


def caption_of(cache: Cache, row: int, top_idx: np.ndarray, top_p: np.ndarray, number: int | None = None) -> str:
    """Plain-text caption: ``3. bar → deli`` (given → predicted), then ``93% · then bar 5% · kitchen 1%`` (the
    prediction's confidence and the rest of the top-3)."""
    classes = cache.classes
    col = columns(cache)
    label, pred = classes[col.label[row]], classes[col.pred[row]]
    head = f"{number}. " if number is not None else ""
    arrow = f"{label} → {pred}" if label != pred else f"{label} ✓"
    rest = " · ".join(f"{classes[int(i)]} {p:.0%}" for i, p in list(zip(top_idx, top_p))[1:])
    confidence = f"{float(col.confidence[row]):.0%}"
    return f"{head}{arrow}\n{confidence} · then {rest}" if rest else f"{head}{arrow}\n{confidence}"


def gallery(
    cache: Cache,
    rows: Sequence[int],
    *,
    key: str,
    page_size: int = 48,
    thumb_width: int = 160,
    url: bool = False,
    detail: bool = True,
) -> int | None:
    """A paginated thumbnail grid of ``rows`` (in the given order) with a picker that opens one image's detail.

    Each caption: given → predicted, confidence, then the 2nd and 3rd most probable classes. With ``url=True`` the page number and the opened image
    live in the query string (``page``, ``image``). Returns the row of the opened image, or None.
    """
    rows = np.asarray(rows, dtype=int)
    n = len(rows)
    page_key, image_key, sig_key = f"{key}.page", f"{key}.image", f"{key}.signature"
    params = {"page": int_param(page_key, 1), "image": UrlParam(image_key, None, _sample_parser(cache))}
    from_url = url_sync_in(key, params) if url else set()
    signature = hashlib.blake2b(rows.tobytes(), digest_size=8).hexdigest()
    previous = st.session_state.get(sig_key)
    if previous is not None and previous != signature and not from_url:  # the filter changed: first page
        st.session_state[page_key] = 1
        st.session_state[image_key] = None
    st.session_state[sig_key] = signature

    if n == 0:
        st.info("No images match these filters.", icon=":material/filter_alt_off:")
        if url:
            url_sync_out(key, params)
        return None

    pages = explore.page_count(n, page_size)
    page = min(max(int(st.session_state.get(page_key) or 1), 1), pages)
    if st.session_state.get(page_key) != page:
        st.session_state[page_key] = page
    window = rows[explore.page_slice(n, page, page_size)]
    offset = (page - 1) * page_size

    on_page = [str(columns(cache).sample_id[r]) for r in window]
    selected = st.session_state.get(image_key)
    row_of = cache.row_of
    if selected is not None and (selected not in row_of or not np.any(rows == row_of[selected])):
        selected = None
    options = list(on_page)
    if selected is not None and selected not in options:
        options.insert(0, selected)
    st.session_state[image_key] = selected
    number_of = {sid: offset + i + 1 for i, sid in enumerate(on_page)}
    top_idx, top_p = top_classes(cache, window, 3)

    col = columns(cache)

    def label_of(sid: str) -> str:
        r = row_of[sid]
        number = number_of.get(sid)
        head = f"#{number} · " if number else ""
        return (f"{head}{cache.classes[col.label[r]]} → {cache.classes[col.pred[r]]} "
                f"({float(col.confidence[r]):.0%}) · {sid}")

    st.selectbox("Open an image", options, key=image_key, index=None, format_func=label_of,
                 placeholder=f"Pick one of the {len(on_page)} images on this page to see it in detail…")
    opened = st.session_state.get(image_key)
    opened_row = row_of[opened] if opened is not None else None
    if detail and opened_row is not None:
        image_detail(cache, opened_row, key=f"{key}.detail")

    first, last = offset + 1, offset + len(window)
    st.caption(f"Images {first:,}–{last:,} of {n:,} · page {page} of {pages}")
    captions = [caption_of(cache, int(r), top_idx[i], top_p[i], offset + i + 1) for i, r in enumerate(window)]
    st.image([str(cache.thumb_path(int(r))) for r in window], width=thumb_width, caption=captions)
    if pages > 1:
        st.pagination(pages, key=page_key, max_visible_pages=9)
    if url:
        url_sync_out(key, params)
    return opened_row


def _sample_parser(cache: Cache) -> Callable[[str], str | None]:
    row_of = cache.row_of
    return lambda raw: raw if raw in row_of else None


# ================================================================================================ image detail


@st.cache_resource(max_entries=4, show_spinner="Running the analyses on this cache (a rebuild stores them)…")
def _analysis_tables(key: str, _cache: Cache) -> dict:
    from indoor import analysis

    return analysis.cache_tables(_cache)


def analysis_tables(cache: Cache) -> dict:
    """The cache's analysis tables (name -> DataFrame): read from the cache, or computed once when absent."""
    return _analysis_tables(cache_key(cache), cache)


def image_detail(cache: Cache, row: int, *, key: str) -> None:
    """One image: full size, given label, prediction, confidence, top-5 bar chart, typical correct examples of
    the given and the predicted class side by side, quick decisions and a link to the full relabel form."""
    s = cache.samples
    classes = cache.classes
    row = int(row)
    sample_id = str(s["sample_id"].iat[row])
    label_i, pred_i = int(s["label"].iat[row]), int(s["pred"].iat[row])
    label, pred = classes[label_i], classes[pred_i]
    with st.container(border=True):
        st.markdown(f"##### {md(sample_id)}")
        left, right = st.columns([5, 4], gap="medium")
        with left:
            st.image(str(cache.image_path(row)), width="stretch")
        with right:
            a, b, c = st.columns(3)
            a.metric("Given label", label)
            b.metric("Predicted", pred, delta="correct" if label_i == pred_i else "wrong",
                     delta_color="normal" if label_i == pred_i else "inverse", delta_arrow="off")
            c.metric("Confidence", f"{float(s['confidence'].iat[row]):.0%}",
                     help="Out-of-sample probability of the predicted class.")
            fold = int(s["fold"].iat[row])
            st.caption(md(f"{split_label(str(s['split'].iat[row]))} split"
                          + (f" · fold {fold}" if fold >= 0 else "")
                          + f" · probability of the given label {float(s['self_confidence'].iat[row]):.1%}"
                          + f" · loss {float(s['loss'].iat[row]):.2f}"))
            from components.bars import bars

            st.caption("Top-5 probabilities (green: the given label)")
            bars(top5_payload(cache, row), key=f"{key}.top5")
            quick_decisions(cache, sample_id, key=f"{key}.quick")
            relabel_link(sample_id)
        t_col, p_col = st.columns(2, gap="medium")
        with t_col:
            _typical_strip(cache, label_i, exclude=row, title=f"Typical {label} (given label)")
        with p_col:
            if pred_i != label_i:
                _typical_strip(cache, pred_i, exclude=row, title=f"Typical {pred} (predicted)")
        with st.expander(f"Why did it say {pred}? Occlusion map, Grad-CAM and nearest training images"):
            import ui_explain  # imported on first use: it brings the explanation code, not torch itself

            ui_explain.explain_panel(cache, row, key=f"{key}.explain")


def _typical_strip(cache: Cache, class_index: int, *, exclude: int, title: str) -> None:
    st.markdown(f"**{md(title)}**")
    rows = typical_rows(cache, class_index, k=5, exclude=exclude)
    if not rows:
        st.caption("No correctly classified image of this class.")
        return
    conf = cache.samples["self_confidence"].to_numpy()
    st.image([str(cache.thumb_path(r)) for r in rows], width=92, caption=[f"{conf[r]:.0%}" for r in rows])


def top5_payload(cache: Cache, row: int) -> dict[str, Any]:
    """The bar list (components/bars) of an image's five most probable classes, most probable first: the given
    label in green, the prediction in blue (when it is not the given label), the others grey."""
    from components.bars import bars_payload

    classes = cache.classes
    probs = np.asarray(cache.probs[int(row)], dtype=float)
    index, values = explore.top_k(probs, 5)
    index, values = index[0], values[0]
    label = int(cache.samples["label"].iat[int(row)])
    names = [classes[int(i)] for i in index]
    colours = ["#16a34a" if int(i) == label else "#2563eb" if j == 0 else "#94a3b8" for j, i in enumerate(index)]
    roles = [("\nthe given label and the prediction" if j == 0 else "\nthe given label") if int(i) == label
             else "\nthe prediction" if j == 0 else "" for j, i in enumerate(index)]
    return bars_payload(names, values, ids=[int(i) for i in index], colours=colours,
                        value_text=[f"{v:.0%}" for v in values],
                        hover=[f"{name}: {v:.1%}{role}" for name, v, role in zip(names, values, roles)])


# ================================================================================================ decisions


def _save(cache: Cache, decision: Decision) -> bool:
    store = decision_store(cache)
    if store is None:
        return False
    try:
        store.save(decision)
    except DecisionError as exc:
        notify("error", f"Not saved: {'; '.join(exc.problems) or exc}")
        return False
    notify("success", f"Saved: {decision.summary()} for {decision.sample_id}")
    return True


def undo_decision(cache: Cache, sample_id: str, who: str) -> None:
    store = decision_store(cache)
    if store is None:
        return
    try:
        now = store.undo(sample_id, annotator=who)
    except DecisionError as exc:
        notify("error", f"Undo failed: {exc}")
        return
    notify("info", f"Undone; now {now.summary() if now else 'no decision'} for {sample_id}")


def _quick(cache: Cache, sample_id: str, action: str, new_label: str = "", extra: Sequence[str] = (),
           tags: Sequence[str] = ()) -> None:
    _save(cache, Decision(sample_id=sample_id, action=action, new_label=new_label, extra_labels=tuple(extra),
                          tags=tuple(tags), annotator=annotator()))


def _quick_relabel_to(cache: Cache, sample_id: str, key: str) -> None:
    target = st.session_state.get(f"{key}.to")
    if target:
        _quick(cache, sample_id, "relabel", target, tags=("incorrect label",))
        st.session_state[f"{key}.to"] = None  # ready for the next image


def quick_decisions(cache: Cache, sample_id: str, *, key: str) -> None:
    """One-click decisions for one image, saved at once as the current reviewer; shows its current decisions."""
    row = cache.row_of[sample_id]
    classes = cache.classes
    label = classes[int(cache.samples["label"].iat[row])]
    pred = classes[int(cache.samples["pred"].iat[row])]
    wrong = label != pred
    st.markdown("**Quick decision**")
    c1, c2 = st.columns([1, 2])
    c1.button("Keep label", key=f"{key}.keep", on_click=_quick, args=(cache, sample_id, "keep"),
              icon=":material/check:", width="stretch", help=f"The given label {label} is right.")
    c2.button(f"Relabel to {md(pred)}", key=f"{key}.topred", disabled=not wrong, width="stretch",
              on_click=_quick, args=(cache, sample_id, "relabel", pred), kwargs={"tags": ("incorrect label",)},
              icon=":material/swap_horiz:", help="The prediction is right; the given label is wrong.")
    c3, c4, c5 = st.columns(3)
    c3.button("Multi-class", key=f"{key}.multi", disabled=not wrong, width="stretch",
              on_click=_quick, args=(cache, sample_id, "multi_label"),
              kwargs={"extra": (pred,), "tags": ("multi-class",)}, icon=":material/join:",
              help=f"Both {label} and {pred} are in the image.")
    c4.button("Ambiguous", key=f"{key}.unsure", on_click=_quick, args=(cache, sample_id, "unsure"),
              kwargs={"tags": ("ambiguous",)}, icon=":material/help:", width="stretch",
              help="Can't tell which class is right.")
    c5.button("Remove", key=f"{key}.remove", on_click=_quick, args=(cache, sample_id, "remove"),
              icon=":material/delete:", width="stretch", help="Not a valid image of any class.")
    others = [c for c in classes if c != label]
    st.selectbox("Relabel to …", others, key=f"{key}.to", index=None, placeholder="Relabel to another class …",
                 label_visibility="collapsed", on_change=_quick_relabel_to, args=(cache, sample_id, key))
    _current_decisions(cache, sample_id, key=key)


def _current_decisions(cache: Cache, sample_id: str, *, key: str) -> None:
    store = decision_store(cache)
    if store is None:
        return
    current = store.for_sample(sample_id)
    if current.empty:
        st.caption("No decision yet.")
        return
    lines = []
    for rec in current.to_dict("records"):
        summary = Decision.from_row(rec).summary()
        tags = f" [{rec['tags']}]" if rec["tags"] else ""
        lines.append(f"{rec['annotator']}: {summary}{tags} · {str(rec['decided_at'])[:16].replace('T', ' ')} UTC")
    st.caption("  \n".join(md(line) for line in lines))
    mine = annotator()
    if (current["annotator"] == mine).any():
        st.button(f"Undo my decision ({md(mine)})", key=f"{key}.undo", on_click=undo_decision,
                  args=(cache, sample_id, mine), icon=":material/undo:")


def decision_form(cache: Cache, sample_id: str, *, key: str) -> None:
    """The full relabel form for one image, saved at once to the decisions store beside the cache.

    Opens with the reviewer's current decision for this image (if any); shows every reviewer's current decision
    and an undo button.
    """
    store = decision_store(cache)
    if store is None:
        return
    classes = cache.classes
    row = cache.row_of[sample_id]
    label = classes[int(cache.samples["label"].iat[row])]
    pred = classes[int(cache.samples["pred"].iat[row])]
    who = annotator()
    k = {name: f"{key}.{name}" for name in ("action", "new_label", "extra", "tags", "note", "annotator")}

    mine = store.for_sample(sample_id)
    mine = mine[mine["annotator"] == who]
    current = Decision.from_row(mine.iloc[-1].to_dict()) if len(mine) else None
    loaded = (sample_id, who, current.event_id if current else 0)
    if st.session_state.get(f"{key}.loaded") != loaded or k["action"] not in st.session_state:
        # another image or reviewer (or the page was left and its widgets forgotten): fill the form afresh
        st.session_state[f"{key}.loaded"] = loaded
        st.session_state[k["action"]] = current.action if current else ("relabel" if label != pred else "keep")
        st.session_state[k["new_label"]] = (current.new_label if current and current.new_label
                                            else (pred if pred != label else None))
        st.session_state[k["extra"]] = list(current.extra_labels) if current else []
        st.session_state[k["tags"]] = list(current.tags) if current else []
        st.session_state[k["note"]] = current.note if current else ""
    st.session_state[k["annotator"]] = who

    action = st.radio("Action", ACTIONS, key=k["action"], horizontal=True, format_func=ACTION_LABELS.get)
    targets = [c for c in classes if c != label]
    if st.session_state.get(k["new_label"]) not in targets:
        st.session_state[k["new_label"]] = None
    new_label = st.selectbox("New label", targets, key=k["new_label"], disabled=action != "relabel",
                             placeholder="Choose the correct class", help=f"Given label: {label}")
    extra = st.multiselect("Extra labels", targets, key=k["extra"], disabled=action != "multi_label",
                           placeholder="Other classes also in the image",
                           help=f"For multi-label: classes present besides {label}.")
    tags = st.multiselect("Tags", list(TAGS), key=k["tags"], placeholder="Why? (optional)")
    note = st.text_area("Note", key=k["note"], height=80, placeholder="Optional")

    def name_changed() -> None:
        st.session_state[_ANNOTATOR] = st.session_state[k["annotator"]].strip() or "anonymous"

    st.text_input("Annotator", key=k["annotator"], on_change=name_changed)
    if st.button("Save decision", key=f"{key}.save", type="primary", icon=":material/save:"):
        decision = Decision(
            sample_id=sample_id, action=action, new_label=(new_label or "") if action == "relabel" else "",
            extra_labels=tuple(extra) if action == "multi_label" else (), tags=tuple(tags), note=note,
            annotator=annotator(),
        )
        if _save(cache, decision):
            st.rerun()
        _show_notice()
    current_all = store.for_sample(sample_id)
    if len(current_all):
        st.markdown("**Current decisions for this image**")
        st.dataframe(current_all[["annotator", "action", "new_label", "extra_labels", "tags", "note", "decided_at"]],
                     hide_index=True, width="stretch")
        if (current_all["annotator"] == who).any():
            st.button(f"Undo my decision ({md(who)})", key=f"{key}.undo", on_click=undo_decision,
                      args=(cache, sample_id, who), icon=":material/undo:")
