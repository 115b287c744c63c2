"""Page setup: every page calls :func:`setup_page` first, so it works when opened directly by URL: page config,
cache choice and loading, the sidebar (navigation, cache selector, run summary, reviewer), and the screen shown
when there is no cache yet (with a button that builds the demo in a subprocess; pages never train in-process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import streamlit as st

from indoor.app import loading, state
from indoor.app.state import display_path
from indoor.app.text import code, md, percent, split_label, train_label, use_train_label
from indoor.app.widgets.run_info import source_line
from indoor.app.urls import OVERVIEW_PAGE
from indoor.cache import Cache, CacheError


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


def setup_page(title: str) -> Cache:
    """First call of every page: page config, cache resolution and loading, the common sidebar.

    Stops the page (after saying why and what to run) when there is no cache or it is broken.
    """
    # the favicon is a local file: a Material icon here would make every browser fetch it from Google's fonts CDN
    st.set_page_config(page_title=f"{title} · indoor", page_icon=str(APP_ICON), layout="wide")
    _style()
    choice = state.resolve_cache()
    with st.sidebar:
        _navigation()
    if choice.path is None:
        _no_cache_screen()
        st.stop()
    try:
        cache = loading.load(choice.path)
    except CacheError as exc:
        with st.sidebar:
            _cache_selector(choice)
        st.title(title)
        st.error(f"This cache can't be opened: {md(exc)}")
        st.markdown("Rebuild it, or choose another cache in the sidebar:")
        st.code(f"{BUILD_DEMO_CMD}\n# or, for a real data set:\n{BUILD_REAL_CMD}", language="bash", wrap_lines=True)
        st.stop()
    use_train_label(train_label(cache.meta))  # "train (in-sample)" for imported in-sample predictions
    with st.sidebar:
        _cache_selector(choice)
        _run_summary(cache)
        _annotator_input()
    problem = loading.decisions_problem(cache)
    if problem:
        st.error(f"Decisions can't be saved or read, so this page shows none and saves none: {md(problem)}. "
                 f"Check and back it up with {code('python -m indoor decisions check ' + display_path(cache.path))} "
                 "(and `backup`), then move the damaged file away to start a fresh one.",
                 icon=":material/database_off:")
    show_notice()
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
    for page in sorted((state.ROOT / "pages").glob("*.py"), key=_page_sort_key):
        label = _page_label(page.name)
        st.page_link(f"pages/{page.name}", label=md(label), icon=_PAGE_ICONS.get(label.lower(), ":material/article:"))
    st.divider()


def _cache_selector(choice: state.CacheChoice) -> None:
    current = str(choice.path)
    options = [str(p) for p in state.offered_caches(choice.path)]

    def changed() -> None:
        state.choose_cache(st.session_state["indoor.cache_select"])

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
    lines.append(f"{backbone.get('name', '?')}" + (f", {meta['image_size']} px" if meta.get("image_size") else ""))
    lines.append(source_line(meta))
    st.caption("  \n".join(md(line) for line in lines))


def _annotator_input() -> None:
    """The reviewer's name, remembered for the session and used by every decision."""
    st.session_state["indoor.annotator_sidebar"] = state.annotator()

    def changed() -> None:
        state.set_annotator(st.session_state["indoor.annotator_sidebar"])

    st.text_input("Reviewer", key="indoor.annotator_sidebar", on_change=changed,
                  help="Your name: saved with every decision you make.")


def show_notice() -> None:
    notice = state.pop_notice()
    if notice:
        kind, text = notice
        if kind == "error":
            st.error(text)
        else:
            st.toast(text, icon=":material/check_circle:" if kind == "success" else None)


_build_lock = threading.Lock()
_TQDM = re.compile(r"(?P<desc>[^|\r\n]*?):?\s*(?P<pct>\d{1,3})%\|")
_STAGES = (("render", 0.0, 0.30), ("embed", 0.30, 0.80), ("out-of-fold", 0.80, 0.90))


def _no_cache_screen() -> None:
    st.title("indoor · error analysis for scene classifiers")
    st.info(f"No inference cache yet: nothing at {code(display_path(state.DEFAULT_CACHE))} and no other cache under "
            "`runs/`.")
    left, right = st.columns(2, gap="large")
    with left, st.container(border=True):
        st.subheader("Try it on the demo")
        st.markdown(
            "Renders ~1,560 synthetic indoor scenes in 12 classes (with planted label errors), embeds them with "
            "the bundled EfficientNet-Lite0 and builds the cache. A few minutes on a laptop CPU."
        )
        if serves_locally_only():
            if st.button("Build the demo here", type="primary", icon=":material/play_arrow:"):
                _build_demo()
            st.caption("or in a terminal:")
        else:  # a visitor on the network must not start minutes of CPU work on this machine
            st.caption("This server is reachable from the network, so it builds nothing itself. In a terminal:")
        st.code(BUILD_DEMO_CMD, language="bash", wrap_lines=True)
    with right, st.container(border=True):
        st.subheader("Your own data")
        st.markdown("MIT Indoor 67 (or any folder of class sub-folders, or a CSV manifest):")
        st.code(f"{BUILD_REAL_CMD}\n{RUN_CMD}", language="bash", wrap_lines=True)
        st.caption("`python -m indoor build --help` lists every option.")


LOOPBACK = ("127.0.0.1", "localhost", "::1")
APP_ICON = Path(__file__).with_name("icon.png")


def serves_locally_only() -> bool:
    """Whether the server listens on this machine only (``server.address`` in .streamlit/config.toml, the
    default here); not when it was started with ``--server.address 0.0.0.0`` or a network address."""
    return str(st.get_option("server.address") or "") in LOOPBACK


def _build_demo() -> None:
    """Run the demo build as a subprocess (pages never train in-process), with a progress bar fed from its output."""
    if not _build_lock.acquire(blocking=False):
        st.warning("A build is already running in this server; reload the page when it is done.")
        return
    try:
        bar = st.progress(0.0, text="Starting…")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "indoor", "demo", "--out", str(state.DEFAULT_CACHE)],
            cwd=state.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
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
                    bar.progress(min(max(fraction, 0.0), 1.0), text=md(text))
        exit_code = process.wait()
        if exit_code == 0 and state.DEFAULT_CACHE.exists():
            bar.progress(1.0, text="Done")
            st.success("The demo cache is ready.")
            time.sleep(0.5)
            st.rerun()
        else:
            st.error(f"The demo build failed (exit code {exit_code:d}). Its last output:")
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
