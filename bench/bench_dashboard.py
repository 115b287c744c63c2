"""Dashboard speed on a large cache: `streamlit run` to a clickable confusion matrix, page script times, browser
first render, websocket bytes, server memory, and whether torch / umap get imported.

    python bench/bench_dashboard.py                       # runs/demo67 if it exists, else runs/demo
    python bench/bench_dashboard.py --cache runs/demo67 --reruns 5 --visits 2
    python bench/bench_dashboard.py --cache runs/demo67 --skip-scripts --rounds 4   # (a) against the floor, alternating

Needs Debian Chromium at /usr/bin/chromium and the playwright python package (no `playwright install`). Before
measuring, the bench writes the package's bytecode caches (:func:`write_bytecode`), as every start after the first
has them.

What is measured (one `streamlit run app.py` server on a free port, one headless Chromium, both started here):

(a) start -> clickable matrix: from just before the `streamlit run` process is spawned (the browser is already
    open, as a user's would be) until /Confusion in the browser is *clickable*: the canvas heatmap is drawn with
    one clickable cell per non-empty cell of the test split, and the app is idle (script run over, no stale or
    skeleton element, no "Running" status widget) -- so a click on a cell is handled at once. Measured twice:
    with the browser's HTTP cache empty (a first visit ever) and, with --restarts, after restarting the server on
    the same port (the browser has the app's static files cached, as a returning user's has). Also: the click
    itself, from mouse click to the pair's gallery shown and idle.
    The floor for comparison: the same measurement for a one-line Streamlit page (BASELINE_APP). With --rounds N,
    both are measured again in N alternating rounds (floor, ours, floor, ...; each round an empty cache and
    --restarts restarts), so that a machine whose speed drifts weighs on both alike; the goal is ours <= floor +
    1.0 s for the medians of both the empty-cache and the restart times.
(b) script warm: each page in a fresh subprocess via streamlit's AppTest; after one cold run, the median
    wall time of `at.run()` over --reruns reruns (the page's script, no browser).
(c) browser first render: for each page, a new navigation to its URL (new session; the browser's HTTP cache is
    warm, the server too) until the content is shown and the app idle (as in (a)); the embedding map also until
    the map is drawn (its points on screen: data-points on the map's root), and the map's own timings
    (data-load-ms: its WebGL library ready; data-draw-ms: decode + first draw). First visit and median of --visits.
    Goal for the map: points drawn <= 1.0 s after the page's first render. Also how long the tab's main thread
    was busy until the page was idle (Chromium's TaskDuration over DevTools; with --rounds, per start of (a) too,
    for the floor and ours): CPU, so less noisy than the wall times for comparing two versions of a page.
(d) websocket bytes: payload bytes the browser received over Streamlit's websocket during (c), per page (goal for
    the embedding map: <= 1 MB; its thumbnails come over HTTP on hover, its 225 KB WebGL library once from
    /app/static/).
(e) peak RSS (VmHWM) of the server process after everything above.
(f) torch / umap imported? per page, in the (b) subprocess (sys.modules after the page ran), and in the real
    server after every page was opened (its /proc/<pid>/maps: libtorch / llvmlite shared objects).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import CELL_JS, PAGES, IDLE_JS, chromium, free_port, running_server, wait_idle  # noqa: E402

GOALS = {"clickable_s": 3.5, "over_floor_s": 1.0, "script_warm_s": 1.0, "first_render_s": 3.0,
         "ws_map_bytes": 1_000_000, "map_after_render_s": 1.0}

PHASES_JS = {  # what the browser shows, in order, from the moment it asks for the page
    "frontend": "() => !!document.querySelector('[data-testid=\"stApp\"]')",  # Streamlit's frontend booted
    "title": "() => !!document.querySelector('[data-testid=\"stMain\"] h1')",  # the page's first element drawn
    "matrix": "() => !!document.querySelector('[data-testid=\"indoor-heatmap\"][data-drawn]')",  # ours only
}


CLICKABLE_JS = """(n) => {  // n: the number of non-empty cells of the test split's matrix
  const root = document.querySelector('[data-testid="indoor-heatmap"][data-drawn]');
  return !!root && !!root._indoor && !!root._indoor.layout && root._indoor.data.clickable.length === n
      && (%s)();
}""" % IDLE_JS

IMAGES_LOADED_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img'))
  .every(img => img.complete && img.naturalWidth > 0)"""

# the server finished this session's first script run (the page's content has been sent)
SCRIPT_DONE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""

def _clickable_cells(test, n_classes: int) -> int:
    """Non-empty cells of the test split's matrix as the Confusion page first shows it: every class, or over
    confusion_focus.FULL_MATRIX_MAX classes the DEFAULT_K most confused."""
    import numpy as np

    from indoor.analysis import confusion_focus

    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (test["label"].to_numpy(), test["pred"].to_numpy()), 1)
    if n_classes > confusion_focus.FULL_MATRIX_MAX:
        shown = confusion_focus.most_confused(matrix, confusion_focus.DEFAULT_K)
        matrix = matrix[np.ix_(shown, shown)]
    return int((matrix > 0).sum())


# ======================================================================================================= child


def child(page: str, cache: str, reruns: int) -> None:
    """One page in AppTest (fresh process): cold run, warm reruns, imported modules. Prints one JSON line."""
    os.environ["INDOOR_CACHE"] = cache
    os.environ.setdefault("INDOOR_STATIC_DIR", str(ROOT / "static"))  # where the server publishes thumbnails
    os.chdir(ROOT)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    start = time.perf_counter()
    at.run()
    overview_cold = time.perf_counter() - start
    after_app = {"torch": "torch" in sys.modules, "umap": "umap" in sys.modules}
    cold = overview_cold
    if page != "app.py":
        start = time.perf_counter()
        at.switch_page(page).run()
        cold = time.perf_counter() - start
    errors = [str(e.value)[:300] for e in at.exception]
    warm = []
    for _ in range(reruns):
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
        errors += [str(e.value)[:300] for e in at.exception]
    print(json.dumps({
        "page": page, "cold_s": cold, "warm_s": warm, "errors": sorted(set(errors)),
        "torch": "torch" in sys.modules, "umap": "umap" in sys.modules, "after_app": after_app,
    }))


def script_times(cache: Path, reruns: int) -> dict[str, dict]:
    results = {}
    for path, file in PAGES.items():
        name = path or "Overview"
        print(f"  (b,f) AppTest {name} …", flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--child", file, "--cache", str(cache), "--reruns", str(reruns)],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
            env={**os.environ, "TQDM_DISABLE": "1"},
        )
        line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), None)
        if proc.returncode != 0 or line is None:
            results[name] = {"errors": [f"exit {proc.returncode}: {proc.stderr[-400:]}"]}
            continue
        results[name] = json.loads(line)
    return results


# ===================================================================================================== browser


def _until_clickable(tab, server, n_cells: int, *, phases: dict[str, float] | None = None) -> None:
    """Open /Confusion in ``tab`` and wait until its matrix is clickable (``n_cells`` cells) and the app idle;
    with ``phases``, also note when each of :data:`PHASES_JS` is first seen (seconds from ``streamlit run``)."""
    tab.goto(f"{server.url}/Confusion", wait_until="commit")
    if phases is not None:
        _note_phases(tab, server, phases, PHASES_JS)
    tab.wait_for_function(CLICKABLE_JS, arg=n_cells, timeout=600_000, polling=50)


def _note_phases(tab, server, phases: dict[str, float], checks: dict[str, str]) -> None:
    for name, js in checks.items():
        tab.wait_for_function(js, timeout=600_000, polling=20)
        phases[name] = time.perf_counter() - server.started_at


def browser_run(cache: Path, n_cells: int, visits: int, restarts: int = 0) -> dict:
    out: dict = {"pages": {}}
    port = free_port()
    with chromium() as context:
        tab = context.new_page()
        tab.goto("about:blank")
        with running_server(cache, port=port) as server:
            started = server.started_at
            out["healthy_s"] = time.perf_counter() - started
            _until_clickable(tab, server, n_cells)
            out["clickable_s"] = time.perf_counter() - started
            out["exceptions_confusion"] = tab.locator('[data-testid="stException"]').count()

            cell = tab.evaluate(CELL_JS, False)
            if cell:
                start = time.perf_counter()
                tab.mouse.click(cell["x"], cell["y"])
                tab.wait_for_url("**/Gallery?**", timeout=300_000)
                tab.locator('[data-testid="stMain"] h1', has_text="Gallery").wait_for(timeout=300_000)
                wait_idle(tab, 300)
                tab.wait_for_function(IMAGES_LOADED_JS, timeout=300_000)
                out["click_to_gallery_s"] = time.perf_counter() - start
            tab.close()

            for path in PAGES:
                name = path or "Overview"
                print(f"  (c,d) browser {name} …", flush=True)
                renders, maps, ws_bytes, exceptions, done, cpu, map_ms, tab_cpu = [], [], [], [], [], [], [], []
                for _ in range(visits):
                    page = context.new_page()
                    devtools = context.new_cdp_session(page)
                    devtools.send("Performance.enable")  # the tab's main-thread time (TaskDuration)
                    frames = {"in": 0, "out": 0}

                    def on_ws(ws, frames=frames):
                        ws.on("framereceived", lambda payload: frames.__setitem__("in", frames["in"] + _size(payload)))
                        ws.on("framesent", lambda payload: frames.__setitem__("out", frames["out"] + _size(payload)))

                    page.on("websocket", on_ws)
                    cpu_before = _cpu_seconds(server.process.pid)
                    page.goto(f"{server.url}/{path}", wait_until="commit")
                    page.wait_for_function(SCRIPT_DONE_JS, timeout=600_000, polling=50)
                    done.append(page.evaluate("() => performance.now()") / 1000)
                    wait_idle(page, 600)
                    renders.append(page.evaluate("() => performance.now()") / 1000)
                    tab_cpu.append(_main_thread_seconds(devtools))
                    if path == "Embedding_map":
                        page.wait_for_selector('[data-testid="indoor-map"][data-points]', timeout=600_000)
                        maps.append(page.evaluate("() => performance.now()") / 1000)
                        root = page.locator('[data-testid="indoor-map"]')
                        map_ms.append([int(root.get_attribute(a) or -1) for a in ("data-load-ms", "data-draw-ms")])
                        wait_idle(page, 600)
                    page.wait_for_timeout(300)  # late frames (e.g. component state round trips)
                    ws_bytes.append(frames["in"])
                    cpu.append(_cpu_seconds(server.process.pid) - cpu_before)
                    exceptions += [text.strip()[:400] for text in
                                   page.locator('[data-testid="stException"]').all_inner_texts()]
                    page.close()
                out["pages"][name] = {"render_s": renders, "map_drawn_s": maps, "map_ms": map_ms, "ws_in": ws_bytes,
                                      "exceptions": exceptions, "script_done_s": done, "server_cpu_s": cpu,
                                      "browser_cpu_s": tab_cpu}

            out["peak_rss_kib"] = server.peak_rss_kib()
            out["server_imports"] = _mapped_imports(server.process.pid)
            out["server_log_tail"] = server.log_text()[-1500:]

        # the same, after restarting the server on the same port: the browser has the app's static files cached
        out["restart_clickable_s"], out["restart_healthy_s"] = [], []
        for _ in range(restarts):
            tab = context.new_page()
            tab.goto("about:blank")
            with running_server(cache, port=port) as server:
                out["restart_healthy_s"].append(time.perf_counter() - server.started_at)
                _until_clickable(tab, server, n_cells)
                out["restart_clickable_s"].append(time.perf_counter() - server.started_at)
            tab.close()
    return out


BASELINE_APP = 'import streamlit as st\n\nst.title("Hello")\nst.write("A one-line Streamlit page.")\n'


def baseline_run(restarts: int) -> list[float]:
    """The floor: `streamlit run` of a one-line Streamlit page -> that page shown and idle in the browser, the same
    way as (a): first with an empty browser cache, then after each of ``restarts`` restarts on the same port."""
    return startup_run(None, 0, restarts)



def startup_run(cache: Path | None, n_cells: int, restarts: int, phases: list[dict[str, float]] | None = None
                ) -> list[float]:
    """`streamlit run` -> usable in a fresh headless Chromium (empty HTTP cache), then after each of ``restarts``
    restarts on the same port (static files cached): for ``cache`` None the floor (:data:`BASELINE_APP` shown and
    idle), else our app on that cache (/Confusion clickable: ``n_cells`` clickable cells, idle). Seconds each.
    ``phases``: a list that gets, per start, the seconds from ``streamlit run`` to the server's health check and to
    each of :data:`PHASES_JS` (polled every 20 ms: "matrix" for ours only), then to usable, whether it was a
    restart, and the seconds the tab's main thread was busy until usable."""
    import tempfile

    times = []
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="baseline-app-") as folder, chromium() as context:
        if cache is None:
            (Path(folder) / "app.py").write_text(BASELINE_APP)
        for start in range(1 + restarts):
            tab = context.new_page()
            tab.goto("about:blank")
            devtools = context.new_cdp_session(tab) if phases is not None else None
            if devtools is not None:
                devtools.send("Performance.enable")
            served, app_dir = (Path(folder), Path(folder)) if cache is None else (cache, ROOT)
            with running_server(served, port=port, app_dir=app_dir) as server:
                marks = {"health": time.perf_counter() - server.started_at}
                noted = marks if phases is not None else None
                if cache is None:
                    tab.goto(server.url, wait_until="commit")
                    if noted is not None:
                        _note_phases(tab, server, noted, {k: v for k, v in PHASES_JS.items() if k != "matrix"})
                    tab.wait_for_function(IDLE_JS, timeout=120_000, polling=50)
                else:
                    _until_clickable(tab, server, n_cells, phases=noted)
                times.append(time.perf_counter() - server.started_at)
                if phases is not None:
                    phases.append({**marks, "usable": times[-1], "restart": start > 0,
                                   "browser_cpu": _main_thread_seconds(devtools)})
            tab.close()
    return times


def alternating_rounds(cache: Path, n_cells: int, rounds: int, restarts: int) -> dict[str, list]:
    """(a) against the floor in ``rounds`` alternating rounds (floor, ours, floor, ours, ...), so that a machine
    whose speed drifts during the bench weighs on both alike. Per side, one list of startup times per round, and
    (under "<side> phases") every start's phases (:func:`startup_run`)."""
    out: dict[str, list] = {"floor": [], "ours": [], "floor phases": [], "ours phases": []}
    for index in range(rounds):
        print(f"  (a) alternating round {index + 1} of {rounds} …", flush=True)
        out["floor"].append(startup_run(None, 0, restarts, out["floor phases"]))
        out["ours"].append(startup_run(cache, n_cells, restarts, out["ours phases"]))
    return out


def _main_thread_seconds(devtools) -> float:
    """Seconds the tab's main thread has been busy (Chromium's TaskDuration: scripts, style, layout, paint) since
    ``Performance.enable`` on the tab's DevTools session: less noisy than wall times for comparing pages."""
    metrics = devtools.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _size(payload) -> int:
    return len(payload) if isinstance(payload, (bytes, bytearray)) else len(str(payload).encode("utf-8"))


def _mapped_imports(pid: int) -> dict[str, bool]:
    """Whether the process has torch's or numba's (umap's JIT) native libraries mapped."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return {}
    return {"torch": "libtorch" in maps or "/torch/_C" in maps, "umap/numba": "llvmlite" in maps}


def write_bytecode() -> str:
    """Python's bytecode caches for the package and app.py, as every start after an app's first has them: without
    them (e.g. with PYTHONDONTWRITEBYTECODE set, so that none is ever written) each start compiles the package's
    modules again, about 0.06 s of CPU that the floor, a one-line page, does not pay. Returns a line for the report."""
    import compileall

    written = compileall.compile_dir(ROOT / "indoor", quiet=1) and compileall.compile_file(ROOT / "app.py", quiet=1)
    return "bytecode caches written first (as after a first start)" if written else "bytecode caches: NOT written"


# ======================================================================================================= report


def report(cache: Path, n_classes: int, n_images: int, browser: dict | None, scripts: dict | None,
           wall: float, load_before: tuple[float, float, float], bytecode: str = "") -> None:
    def ok(value: float | None, goal: float) -> str:
        return "" if value is None else ("ok" if value <= goal else "OVER")

    load = os.getloadavg()
    print()
    print(f"Dashboard bench · cache {cache} · {n_classes} classes · {n_images:,} images")
    print(f"machine: {os.cpu_count()} CPUs · load average (1/5/15 min) before {load_before[0]:.1f} / "
          f"{load_before[1]:.1f} / {load_before[2]:.1f}, after {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} · "
          f"python {platform.python_version()} · bench wall {wall:.0f} s" + (f" · {bytecode}" if bytecode else ""))
    if browser:
        print()
        print(f"(a) streamlit run -> /_stcore/health ok: {browser['healthy_s']:.2f} s")
        from indoor.analysis import confusion_focus

        side = min(n_classes, confusion_focus.DEFAULT_K) if n_classes > confusion_focus.FULL_MATRIX_MAX else n_classes
        shown = f"{side}x{side}" + (f" most confused of {n_classes}" if side < n_classes else "")
        print(f"(a) streamlit run -> clickable confusion matrix ({shown}) in the browser: "
              f"{browser['clickable_s']:.2f} s   goal <= {GOALS['clickable_s']} s  "
              f"{ok(browser['clickable_s'], GOALS['clickable_s'])}")
        if browser.get("restart_clickable_s"):
            times = browser["restart_clickable_s"]
            print(f"    after a server restart on the same port (static files in the browser's cache), median of "
                  f"{len(times)}: {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)}; health "
                  f"median {statistics.median(browser['restart_healthy_s']):.2f} s)   "
                  f"{ok(statistics.median(times), GOALS['clickable_s'])}")
        if browser.get("baseline_s"):
            first, *again = browser["baseline_s"]
            print(f"    the floor: a one-line Streamlit page, streamlit run -> shown: {first:.2f} s first"
                  + (f", after a restart median {statistics.median(again):.2f} s" if again else ""))
        if browser.get("rounds"):
            rounds = browser["rounds"]
            medians = {side: (statistics.median(r[0] for r in rounds[side]),
                              statistics.median(t for r in rounds[side] for t in r[1:])
                              if any(len(r) > 1 for r in rounds[side]) else float("nan")) for side in ("floor", "ours")}
            (floor_empty, floor_restart), (ours_empty, ours_restart) = medians["floor"], medians["ours"]
            print(f"    {len(rounds['ours'])} alternating rounds (floor, ours, ...), medians: empty browser cache ours "
                  f"{ours_empty:.2f} s, floor {floor_empty:.2f} s: {ours_empty - floor_empty:+.2f} s; after a restart "
                  f"ours {ours_restart:.2f} s, floor {floor_restart:.2f} s: {ours_restart - floor_restart:+.2f} s   "
                  f"goal floor + {GOALS['over_floor_s']:.1f} s  "
                  f"{ok(max(ours_empty - floor_empty, ours_restart - floor_restart), GOALS['over_floor_s'])}")
            for side in ("floor", "ours"):
                starts = [p for p in rounds[f"{side} phases"] if p["restart"]]
                names = [name for name in ("health", *PHASES_JS, "usable")
                         if starts and all(name in p for p in starts)]
                print(f"      {side} after a restart, seconds from `streamlit run` (median of {len(starts)}): "
                      + ", ".join(f"{name} {statistics.median(p[name] for p in starts):.2f}" for name in names)
                      + (f"; the tab's main thread busy {statistics.median(p['browser_cpu'] for p in starts):.2f} s"
                         if starts and all("browser_cpu" in p for p in starts) else ""))
        if "click_to_gallery_s" in browser:
            print(f"    click on a cell -> that pair's gallery shown (images loaded, idle): "
                  f"{browser['click_to_gallery_s']:.2f} s")
    print()
    header = (f"{'page':<15} {'script cold':>11} {'script warm':>11} {'':>4} {'srv done':>8} {'srv cpu':>7} "
              f"{'brw cpu':>7} {'render 1st':>10} {'render med':>10} {'':>4} {'ws bytes':>10} {'torch':>5} "
              f"{'umap':>5}  notes")
    print(header)
    print("-" * len(header))
    for path in PAGES:
        name = path or "Overview"
        s = (scripts or {}).get(name, {})
        b = ((browser or {}).get("pages") or {}).get(name, {})
        warm = statistics.median(s["warm_s"]) if s.get("warm_s") else None
        renders = b.get("render_s") or []
        first = renders[0] if renders else None
        median = statistics.median(renders) if renders else None
        ws = b.get("ws_in") or []
        notes = []
        if b.get("map_drawn_s"):
            drawn = b["map_drawn_s"]
            after = [d - r for d, r in zip(drawn, renders)]
            late = statistics.median(after)
            notes.append(f"map drawn 1st {drawn[0]:.2f} s, med {statistics.median(drawn):.2f} s, after the render "
                         f"med {late:.2f} s {ok(late, GOALS['map_after_render_s'])}")
            if b.get("map_ms"):
                notes.append(f"library {statistics.median(m[0] for m in b['map_ms']):.0f} ms, decode + draw "
                             f"{statistics.median(m[1] for m in b['map_ms']):.0f} ms (med)")
        if s.get("errors"):
            notes.append("AppTest errors: " + " | ".join(s["errors"])[:160])
        if b.get("exceptions"):
            notes.append(f"{len(b['exceptions'])} exception(s) in the browser (below)")
        ws_text = f"{statistics.median(ws):>10,.0f}" if ws else f"{'':>10}"
        done = statistics.median(b["script_done_s"]) if b.get("script_done_s") else None
        cpu = statistics.median(b["server_cpu_s"]) if b.get("server_cpu_s") else None
        tab_cpu = statistics.median(b["browser_cpu_s"]) if b.get("browser_cpu_s") else None
        print(f"{name:<15} {_num(s.get('cold_s')):>11} {_num(warm):>11} {ok(warm, GOALS['script_warm_s']):>4} "
              f"{_num(done):>8} {_num(cpu):>7} {_num(tab_cpu):>7} {_num(first):>10} {_num(median):>10} "
              f"{ok(median, GOALS['first_render_s']):>4} {ws_text} "
              f"{_yes(s.get('torch')):>5} {_yes(s.get('umap')):>5}  {'; '.join(notes)}")
    print()
    for name, b in ((browser or {}).get("pages") or {}).items():
        for text in dict.fromkeys(b.get("exceptions") or []):
            print(f"exception on {name}: {' '.join(text.split())[:400]}")
    if browser:
        map_ws = (browser["pages"].get("Embedding_map") or {}).get("ws_in") or []
        if map_ws:
            worst = max(map_ws)
            print(f"(d) websocket bytes received by the embedding map page: {worst:,} (max of visits)   "
                  f"goal <= {GOALS['ws_map_bytes']:,}  {ok(worst, GOALS['ws_map_bytes'])}")
        rss = browser.get("peak_rss_kib")
        if rss:
            print(f"(e) server peak RSS (VmHWM) after all pages: {rss / 1024:,.0f} MiB")
        imports = browser.get("server_imports") or {}
        print(f"(f) server process after opening every page: torch loaded: {_yes(imports.get('torch'))}, "
              f"umap/numba loaded: {_yes(imports.get('umap/numba'))}")
    print("Times in seconds. script = AppTest wall time of one run of the page (cold: first run in a fresh process "
          "after the Overview; warm: median of reruns). render = navigation start -> content shown and app idle (a "
          "new session per visit; browser HTTP cache warm); srv done = navigation start -> the server's script run "
          "over (median); srv cpu = CPU seconds the server process used per visit (median); brw cpu = seconds the "
          "tab's main thread was busy until the page was idle (median). ws bytes = median "
          "payload bytes received over the websocket per visit. Goals: clickable <= 3.5 s, script warm <= 1 s, "
          "first render <= 3 s, embedding map websocket <= 1 MB, its points drawn <= 1 s after the render.")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _yes(value) -> str:
    return "" if value is None else ("YES" if value else "no")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None,
                        help="inference cache (default: runs/demo67 if built, else runs/demo)")
    parser.add_argument("--reruns", type=int, default=5, help="warm AppTest reruns per page (median)")
    parser.add_argument("--visits", type=int, default=2, help="browser visits per page")
    parser.add_argument("--restarts", type=int, default=3,
                        help="(a) again after this many server restarts on the same port (browser cache warm)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="(a) again, alternating with the floor in this many rounds (each: empty cache, then "
                             "--restarts restarts), medians of both and ours minus the floor")
    parser.add_argument("--skip-scripts", action="store_true", help="skip (b)/(f) AppTest timings")
    parser.add_argument("--skip-browser", action="store_true", help="skip the browser measurements")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        child(args.child, str(args.cache), args.reruns)
        return
    cache = args.cache
    if cache is None:
        cache = ROOT / "runs" / "demo67"
        if not (cache / "meta.json").is_file():
            cache = ROOT / "runs" / "demo"
    cache = cache.resolve()
    from indoor.cache import load_cache

    loaded = load_cache(cache)  # fails here, clearly, on a broken or outdated cache
    n_classes, n_images = len(loaded.classes), len(loaded.samples)
    test = loaded.samples[loaded.samples["split"] == "test"] if (loaded.samples["split"] == "test").any() else loaded.samples
    n_cells = _clickable_cells(test, n_classes)  # the confusion matrix's non-empty (clickable) cells, as shown
    del loaded

    bytecode = write_bytecode()
    load_before = os.getloadavg()
    began = time.perf_counter()
    baseline = None if args.skip_browser else baseline_run(args.restarts)
    browser = None if args.skip_browser else browser_run(cache, n_cells, args.visits, args.restarts)
    if browser is not None:
        browser["baseline_s"] = baseline
        if args.rounds > 0:
            browser["rounds"] = alternating_rounds(cache, n_cells, args.rounds, args.restarts)
    scripts = None if args.skip_scripts else script_times(cache, args.reruns)
    report(cache, n_classes, n_images, browser, scripts, time.perf_counter() - began, load_before, bytecode)
    if args.json:
        args.json.write_text(json.dumps({"cache": str(cache), "browser": browser, "scripts": scripts}, indent=1))


if __name__ == "__main__":
    main()
