"""Helpers for driving the dashboard in a real browser: a `streamlit run` server and Debian Chromium via Playwright.

Used by tests/test_browser.py and bench/bench_dashboard.py. Nothing here imports streamlit or the app: the server
is a subprocess, the browser another one, and both are always stopped by :meth:`Server.stop` / the context
managers (also on failure).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}

# url path (Streamlit derives it from the file name: "pages/3_Embedding_map.py" -> "Embedding_map") -> file
PAGES = {
    "": "app.py",
    "Confusion": "pages/1_Confusion.py",
    "Gallery": "pages/2_Gallery.py",
    "Embedding_map": "pages/3_Embedding_map.py",
    "Relabel": "pages/4_Relabel.py",
    "Label_issues": "pages/5_Label_issues.py",
    "Class_merges": "pages/6_Class_merges.py",
    "Shortcuts": "pages/7_Shortcuts.py",
    "Duplicates": "pages/8_Duplicates.py",
    "Explain": "pages/9_Explain.py",
    "Review": "pages/10_Review.py",
    "Compare": "pages/11_Compare.py",
}

# What "the page finished running" looks like in Streamlit 1.67's DOM: the app root carries
# data-test-script-state ("running" while the script runs, "notRunning" after), and the status widget
# (top right "Running…") is absent. Stale elements of the previous run are marked data-stale="true".
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (app.getAttribute('data-test-script-state') === 'running') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  return app.getAttribute('data-test-script-state') === 'notRunning'
    && !!document.querySelector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]');
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def have_chromium() -> bool:
    return Path(CHROMIUM).is_file()


class Server:
    """``streamlit run app.py`` on a free port, on a given cache (INDOOR_CACHE), as its own process group."""

    def __init__(self, cache: Path | str, *, port: int | None = None, env: dict[str, str] | None = None,
                 log: Path | None = None, app_dir: Path = ROOT) -> None:
        self.cache = Path(cache)
        self.app_dir = Path(app_dir)  # the folder whose app.py is served (another one only for baselines)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = env or {}
        self._log_path = log
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None  # time.perf_counter() just before the process was spawned

    def start(self) -> Server:
        env = {**os.environ, "INDOOR_CACHE": str(self.cache), "PYTHONUNBUFFERED": "1", **self._env}
        env.pop("INDOOR_STATIC_DIR", None)  # the page must publish into static/ beside app.py: that is what's served
        if self._log_path is None:
            handle = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
            self._log_path = Path(handle.name)
            handle.close()
        self._log = open(self._log_path, "wb")
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=self.app_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    def wait_healthy(self, timeout: float = 90.0) -> float:
        """Poll /_stcore/health until it answers "ok"; returns seconds since start."""
        assert self.process is not None and self.started_at is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return time.perf_counter() - self.started_at
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"streamlit did not become healthy in {timeout:.0f} s:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-4000:] if self._log_path else ""
        except OSError:
            return ""

    def peak_rss_kib(self) -> int | None:
        """Peak resident memory (VmHWM) of the server process, in KiB."""
        if self.process is None:
            return None
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()
        self.process = None


@contextlib.contextmanager
def running_server(cache: Path | str, **kwargs) -> Iterator[Server]:
    server = Server(cache, **kwargs)
    try:
        server.start()
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A Playwright Chromium (Debian's /usr/bin/chromium) with a fresh profile; closed afterwards."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as playwright:
        # a persistent context is the way to give Chromium its own --user-data-dir
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, viewport=VIEWPORT,
            accept_downloads=True,
        )
        try:
            yield context
        finally:
            with contextlib.suppress(Exception):
                context.close()
            shutil.rmtree(profile, ignore_errors=True)


def wait_idle(page, timeout: float = 60.0) -> None:
    """Wait until the app's script run is over and the page shows content (see IDLE_JS)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    page.wait_for_function(IDLE_JS, timeout=timeout * 1000, polling=50)


def click_until(page, locator, started_js: str, *, tries: int = 3, wait_s: float = 10.0) -> None:
    """Click ``locator`` until the JS predicate ``started_js`` holds (what the click starts: a script run, a
    change in the page), waiting ``wait_s`` after each click; fail after ``tries`` clicks that started nothing.
    For a button in a block that may still be moving (an expander opening) when Chromium delivers the click."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, tries + 1):
        locator.click()
        try:
            page.wait_for_function(started_js, timeout=wait_s * 1000, polling=50)
            return
        except PlaywrightTimeout:
            if attempt == tries:
                raise AssertionError(f"{tries} clicks on {locator} started nothing") from None


def exceptions(page) -> list[str]:
    return [text.strip()[:2000] for text in page.locator('[data-testid="stException"]').all_inner_texts()]


def assert_no_exception(page, where: str = "") -> None:
    found = exceptions(page)
    assert not found, f"exception shown{' on ' + where if where else ''}:\n" + "\n---\n".join(found)


def published_thumbs(cache_path: Path | str) -> Path:
    """Where earlier versions of the Embedding map page published ``cache_path``'s thumbnails (static/thumbs/<key>;
    the page now serves them from the cache folder and removes static/thumbs/): the tests' clean-up of old runs."""
    import json

    from indoor.app.static import THUMBS_FOLDER, cache_key

    created_at = str(json.loads((Path(cache_path) / "meta.json").read_text()).get("created_at", ""))
    return ROOT / "static" / THUMBS_FOLDER / cache_key(cache_path, created_at)


# JS: screen positions of points of the embedding map (the WebGL scatter of components/scatter_hover, from its own
# geometry: root._indoor.screenOf), the ones nearest the plot's centre first (so the hover card has room on every
# side), with each point's index i and cache row.
MAP_POINTS_JS = """() => {
  const root = document.querySelector('[data-testid="indoor-map"][data-points]');
  if (!root || !root._indoor || !root._indoor.plot) return [];
  const s = root._indoor, box = s.canvas.getBoundingClientRect(), n = s.data.n;
  const cx = box.left + box.width * 0.45, cy = box.top + box.height * 0.5;
  const out = [];
  const step = Math.max(1, Math.floor(n / 500));
  for (let i = 0; i < n; i += step) {
    const p = s.screenOf(i);
    if (p.x > box.left + 60 && p.x < box.right - 260 && p.y > box.top + 60 && p.y < box.bottom - 60
        && p.y < window.innerHeight - 60)
      out.push({x: p.x, y: p.y, i, row: s.rowOf(i), d: Math.hypot(p.x - cx, p.y - cy)});
  }
  out.sort((a, b) => a.d - b.d);
  return out.slice(0, 24);
}"""

TIP_LOADED_JS = """() => {
  const img = document.querySelector('[data-testid="indoor-map"] .indoor-map-tip:not([hidden]) img');
  return !!img && img.complete && img.naturalWidth > 0;
}"""


# JS: the confusion matrix (the canvas heatmap of components/heatmap, the first on the page) and the screen position
# of its most populated off-diagonal clickable cell among those on screen, from the component's own geometry
# (root._indoor.cellCenter). With scroll=true the matrix is first scrolled to the middle of the window (a 67 x 67
# matrix is taller than the window). given / pred are class indices, count the cell's images.
CELL_JS = """(scroll) => {
  const root = document.querySelector('[data-testid="indoor-heatmap"][data-drawn]');
  if (!root || !root._indoor || !root._indoor.layout) return null;
  if (scroll) root.scrollIntoView({block: 'center', inline: 'nearest'});
  const state = root._indoor, data = state.data, n = data.labels.length;
  let best = null;
  for (const i of data.clickable) {
    const r = Math.floor(i / n), c = i % n, count = data.values[0][i];
    if (r === c || !(count > 0)) continue;
    const p = state.cellCenter(data.ids[r], data.ids[c]);
    const onScreen = p.x > 10 && p.x < window.innerWidth - 10 && p.y > 80 && p.y < window.innerHeight - 10;
    if (onScreen && (!best || count > best.count)) best = {given: data.ids[r], pred: data.ids[c], count, x: p.x, y: p.y};
  }
  return best;
}"""


def hover_a_map_point(page, points: list[dict], *, timeout_ms: int = 8_000) -> dict | None:
    """Move the mouse onto the embedding map's ``points`` (from MAP_POINTS_JS) one after another until a hover
    card's thumbnail has loaded; the point that worked, or None. (A point may sit under another trace's point or
    the legend: hence a few tries.)"""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for point in points:
        page.mouse.move(point["x"] - 8, point["y"] - 8)
        page.mouse.move(point["x"], point["y"], steps=4)
        try:
            page.wait_for_function(TIP_LOADED_JS, timeout=timeout_ms)
            return point
        except PlaywrightTimeout:
            continue
    return None
