"""Regenerate the README's screenshots (docs/screenshots/*.jpg) from real caches, in headless Chromium.

    python bench/screenshots.py --cache runs/demo --cache67 runs/demo67 [--out docs/screenshots]

Run by hand (not a test). Starts a real ``streamlit run`` server on --cache (every page but two), then one on
--cache67 (the 67-class confusion matrix and the embedding map with a hovered point), and drives Debian Chromium
(/usr/bin/chromium, via Playwright; never ``playwright install``) at 1440 px wide. Each page is opened in a fresh
tab by its URL, waited for (script run over, images loaded, charts drawn), photographed (full page, up to
--max-height px; the embedding map: one screen with the hover card) and written as JPEG (quality --quality).

Nothing is decided: no decision button is pressed, so the caches' decision stores are left as they are (checked:
a warning is printed if a store file changed anyway). The Explain shot runs the cache's model on the CPU (allow a
few minutes on a small, loaded machine). Exits 1 naming the page when a page shows an exception or never gets
ready. Prints one line per file written with its pixel size.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import (  # noqa: E402
    MAP_POINTS_JS, VIEWPORT, Server, chromium, exceptions, have_chromium, hover_a_map_point, wait_idle,
)

TIMEOUT_S = 240.0  # per page load / wait: generous, the machine may be busy with other work
EXPLAIN_TIMEOUT_S = 600.0  # loading the model, 49 occlusion passes and a Grad-CAM on a small, loaded CPU
SETTLE_MS = 800  # after resizing the viewport or the last image load: let charts and fonts settle

# JS: is every image in the main area loaded, every chart drawn, every data frame's canvas there, no spinner
# left? Returns a short reason when not (for the error message), "" when ready.
MEDIA_JS = """(minImages) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return 'no main area';
  if (main.querySelector('[data-testid="stSpinner"]')) return 'a spinner is shown';
  // what is shown (not in a collapsed expander, a hidden hover card, ...)
  const shown = el => (el.checkVisibility ? el.checkVisibility() : !!el.offsetParent);
  const images = Array.from(main.querySelectorAll('img[src]')).filter(shown);
  if (images.length < minImages) return `${images.length} of at least ${minImages} images`;
  const pending = images.filter(img => !(img.complete && img.naturalWidth > 0));
  if (pending.length) return `${pending.length} of ${images.length} images not loaded: ${pending[0].src}`;
  const plots = Array.from(main.querySelectorAll('.js-plotly-plot')).filter(shown);
  const undrawn = plots.filter(p => !p._fullLayout || !p.querySelector('.main-svg'));
  if (undrawn.length) return `${undrawn.length} of ${plots.length} plotly charts not drawn`;
  // the canvas heatmaps and bar lists (components/heatmap, components/bars) mark themselves drawn
  const charts = Array.from(main.querySelectorAll('[data-testid="indoor-heatmap"], [data-testid="indoor-bars"]'));
  const waiting = charts.filter(c => !c.hasAttribute('data-drawn'));
  if (waiting.length) return `${waiting.length} of ${charts.length} heatmaps / bar lists not drawn`;
  const frames = Array.from(main.querySelectorAll('[data-testid="stDataFrame"]')).filter(shown);
  // (a data frame draws its canvas only once it is on screen)
  const onScreen = el => el.getBoundingClientRect().top < window.innerHeight;
  if (frames.some(f => onScreen(f) && !f.querySelector('canvas'))) return 'a data frame is not drawn';
  if (document.fonts && document.fonts.status !== 'loaded') return 'fonts loading';
  return '';
}"""

CONTENT_HEIGHT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const block = document.querySelector('[data-testid="stMainBlockContainer"]');
  return Math.ceil(Math.max(main ? main.scrollHeight : 0, block ? block.getBoundingClientRect().height : 0));
}"""

# JS: where to cut a page taller than the cap (page coordinates, the window grown to the cap): just below the
# lowest element or bordered container that ends above the cap, where the line crosses no element or container
# (so no card, chart or image is cut in half). 0 when there is no such place.
CUT_JS = """(cap) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return 0;
  const element = '[data-testid="stElementContainer"]', block = '[data-testid="stVerticalBlock"]';
  const blocks = Array.from(main.querySelectorAll(`${element}, ${block}`))
    .filter(el => el.matches(element) || parseFloat(getComputedStyle(el).borderTopWidth) > 0)
    .map(el => el.getBoundingClientRect()).filter(r => r.height > 0);
  const bottoms = blocks.map(r => r.bottom).filter(b => b + 24 <= cap).sort((a, b) => b - a);
  for (const bottom of bottoms) {
    const line = Math.ceil(bottom + 24);
    if (!blocks.some(r => r.top < line && r.bottom > line)) return line;
  }
  return 0;
}"""

# JS: the explanation (Explain page) is shown with its n images loaded, or an exception / error box is shown
EXPLAINED_JS = """(n) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return false;
  if (main.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"]')) return true;
  if (!/Grad-CAM on the last convolution/.test(main.innerText)) return false;
  const images = Array.from(main.querySelectorAll('[data-testid="stImage"] img'));
  return images.length >= n && images.every(img => img.complete && img.naturalWidth > 0);
}"""


# the README's screenshots (docs/screenshots/), by the cache they are taken on
DEMO_FILES = {"overview.jpg", "confusion.jpg", "gallery_detail.jpg", "relabel.jpg", "label_issues.jpg",
              "class_merges.jpg", "shortcuts.jpg", "duplicates.jpg", "explain.jpg", "review.jpg", "compare.jpg",
              "label_issues_multi.jpg", "label_issues_multi_halves.jpg", "shortcuts_issues.jpg",
              "class_merges_confused.jpg"}
DEMO67_FILES = {"confusion67.jpg", "embedding_map_15600_hover.jpg"}
LARGE_FILES = {"confusion365.jpg"}  # with --cache365 (bench/make_large_cache.py 1000000 --classes 365)


class ShotError(RuntimeError):
    """A page could not be photographed (exception shown, never ready, ...); the message names the page."""


# ================================================================================================ helpers


def cache_arg(text: str) -> str:
    """The cache folder as the server and the Compare page should see it: relative to the repository when inside."""
    path = Path(text).expanduser()
    path = (Path.cwd() / path).resolve() if not path.is_absolute() else path.resolve()
    if not (path / "meta.json").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a cache (no meta.json)")
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def store_fingerprint(cache: str) -> dict[str, str]:
    """sha256 of the cache's decision-store files (to check that nothing was written into them)."""
    folder = ROOT / cache if not Path(cache).is_absolute() else Path(cache)
    out = {}
    for path in sorted(folder.glob("decisions.sqlite*")):
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def check_exceptions(page, name: str) -> None:
    found = exceptions(page)
    if found:
        raise ShotError(f"{name}: the page shows an exception:\n" + "\n---\n".join(found))


def ready(page, name: str, *, min_images: int = 0, timeout: float = TIMEOUT_S) -> None:
    """Wait until the run is over and images/charts are drawn; raise ShotError naming the page otherwise."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        wait_idle(page, timeout)
    except PlaywrightTimeout:
        check_exceptions(page, name)
        raise ShotError(f"{name}: the page never finished running in {timeout:.0f} s") from None
    check_exceptions(page, name)
    deadline = time.monotonic() + timeout
    reason = page.evaluate(MEDIA_JS, min_images)
    while reason and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        reason = page.evaluate(MEDIA_JS, min_images)
    if reason:
        raise ShotError(f"{name}: not ready after {timeout:.0f} s: {reason}")
    page.wait_for_timeout(SETTLE_MS)
    wait_idle(page, timeout)
    check_exceptions(page, name)


def to_jpeg(png: bytes, target: Path, quality: int) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.jpg")
    rgb.save(tmp, format="JPEG", quality=quality, optimize=True, progressive=True)
    os.replace(tmp, target)
    return rgb.size


class Shooter:
    """Opens pages on one server in fresh tabs of one browser and writes their screenshots."""

    def __init__(self, browser, server: Server, out: Path, *, quality: int, max_height: int,
                 only: set[str] | None = None) -> None:
        self.browser, self.server, self.out = browser, server, out
        self.quality, self.max_height, self.only = quality, max_height, only
        self.written: list[tuple[Path, int, int]] = []

    @contextlib.contextmanager
    def tab(self, name: str, path: str, query: dict[str, str] | None = None) -> Iterator[object]:
        page = self.browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        url = f"{self.server.url}/{path}" + (f"?{urlencode(query)}" if query else "")
        try:
            page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_S * 1000)
            yield page
        except ShotError:
            raise
        except Exception as exc:  # a Playwright timeout or error: name the page
            with contextlib.suppress(Exception):
                check_exceptions(page, name)
            raise ShotError(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        finally:
            if errors:
                print(f"warning: {name}: JavaScript errors: {errors}", file=sys.stderr)
            with contextlib.suppress(Exception):
                page.close()

    def wanted(self, file: str) -> bool:
        return self.only is None or file in self.only

    def shoot(self, page, name: str, file: str, *, full_page: bool = True, min_images: int = 0) -> None:
        height = VIEWPORT["height"]
        if full_page:
            height = int(page.evaluate(CONTENT_HEIGHT_JS))
            height = min(max(VIEWPORT["height"], height + 40), self.max_height)
            if height != VIEWPORT["height"]:
                page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
                ready(page, name, min_images=min_images)  # images / charts that come into view with the taller window
        check_exceptions(page, name)
        clip = None
        if full_page and height >= self.max_height:  # cut where no element is cut in half
            cut = int(page.evaluate(CUT_JS, self.max_height))
            if cut >= VIEWPORT["height"]:
                clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": cut}
        png = page.screenshot(full_page=False, animations="disabled", caret="hide", clip=clip)
        if full_page:
            page.set_viewport_size(VIEWPORT)
        width, height = to_jpeg(png, self.out / file, self.quality)
        self.written.append((self.out / file, width, height))
        print(f"{self.out / file}  {width}x{height}", flush=True)

    def page(self, name: str, path: str, file: str, query: dict[str, str] | None = None, *,
             min_images: int = 0, before: Callable[[object], None] | None = None) -> None:
        """Open, wait, (optionally do something), photograph the full page."""
        if not self.wanted(file):
            return
        with self.tab(name, path, query) as page:
            ready(page, name, min_images=min_images)
            if before is not None:
                before(page)
            self.shoot(page, name, file, min_images=min_images)


@contextlib.contextmanager
def server_on(cache: str, log_dir: Path) -> Iterator[Server]:
    server = Server(cache, log=log_dir / f"streamlit-{Path(cache).name}.log")
    try:
        server.start()
        server.wait_healthy(timeout=TIMEOUT_S)
        yield server
        if server.process is not None and server.process.poll() is not None:
            raise ShotError(f"the server on {cache} died:\n{server.log_text()}")
    finally:
        server.stop()


# ================================================================================================ the shots


def demo_shots(shooter: Shooter, cache_path: str) -> None:
    """Every page on the 12-class cache but the embedding map and the 67-class matrix."""
    from indoor.cache import CacheError, is_cache, load_cache

    cache = load_cache(ROOT / cache_path if not Path(cache_path).is_absolute() else cache_path)
    samples, classes = cache.samples, cache.classes

    shooter.page("Overview", "", "overview.jpg")
    shooter.page("Confusion", "Confusion", "confusion.jpg")

    # Gallery: the most frequent confused pair of the test split, its most confidently wrong image opened
    test = samples[samples["split"] == "test"]
    wrong = test[test["label"] != test["pred"]]
    if wrong.empty:
        raise ShotError("Gallery: no misclassified test image in this cache")
    (true_i, pred_i), count = next(iter(wrong.groupby(["label", "pred"]).size()
                                        .sort_values(ascending=False, kind="stable").items()))
    pair = wrong[(wrong["label"] == true_i) & (wrong["pred"] == pred_i)]
    first = pair.sort_values("confidence", ascending=False, kind="stable").iloc[0]
    query = {"true": classes[int(true_i)], "pred": classes[int(pred_i)], "split": "test",
             "image": str(first["sample_id"])}
    # the grid (up to 48) + the opened image + its typical strips
    shooter.page("Gallery", "Gallery", "gallery_detail.jpg", query, min_images=min(int(count), 48) + 1)

    shooter.page("Relabel", "Relabel", "relabel.jpg", min_images=1)
    shooter.page("Label issues", "Label_issues", "label_issues.jpg")
    shooter.page("Class merges", "Class_merges", "class_merges.jpg")
    from indoor.cache.tables import cache_tables

    shooter.page("Label issues: multi-class", "Label_issues", "label_issues_multi.jpg", {"tab": "multi"}, min_images=1)
    import numpy as np

    candidates = cache_tables(cache)["multiclass"]
    labels, splits = cache.samples["label"].to_numpy(), cache.samples["split"].astype(str).to_numpy()
    halves = []  # (position among its class and split's candidates, row) of the candidates from the halves
    for row in candidates.loc[candidates["region_a"].str.endswith(" half"), "row"] if "region_a" in candidates else []:
        same = candidates[(labels[candidates["row"]] == labels[row]) & (splits[candidates["row"]] == splits[row])]
        halves.append((int(np.flatnonzero(same["row"].to_numpy() == row)[0]), int(row)))
    if halves:
        steps, row = min(halves)

        def open_candidate(page) -> None:  # "Next" up to the candidate from the halves
            for _ in range(steps):
                page.get_by_role("button", name="Next").click()
                ready(page, "Label issues: multi-class from halves", min_images=1)

        shooter.page("Label issues: multi-class from halves", "Label_issues", "label_issues_multi_halves.jpg",
                     {"tab": "multi", "class": cache.classes[int(labels[row])], "split": str(splits[row])},
                     min_images=1, before=open_candidate)
    shooter.page("Shortcuts: image issues", "Shortcuts", "shortcuts_issues.jpg", {"tab": "issues"})
    confused = cache_tables(cache)["merges"]
    confused = confused[confused["verdict"] == "often confused"] if "verdict" in confused else confused.iloc[:0]
    if len(confused):
        shooter.page("Class merges: often confused", "Class_merges", "class_merges_confused.jpg",
                     {"a": str(confused["class_a"].iloc[0]), "b": str(confused["class_b"].iloc[0])})
    shooter.page("Shortcuts", "Shortcuts", "shortcuts.jpg")
    shooter.page("Duplicates", "Duplicates", "duplicates.jpg")

    # Explain: the most confidently wrong test image below 90% (a saturated ~100% prediction barely moves under
    # occlusion, so its map says little), its explanation computed (the model runs on the CPU)
    by_confidence = wrong.sort_values("confidence", ascending=False, kind="stable")
    unsaturated = by_confidence[by_confidence["confidence"] <= 0.9]
    explained = (unsaturated if len(unsaturated) else by_confidence).iloc[0]
    n_images = 3 + min(8, int((samples["split"] == "train").sum()))  # image, occlusion, Grad-CAM + neighbours

    def explain(page) -> None:
        main = page.locator('[data-testid="stMain"]')
        button = main.get_by_role("button", name="Explain this prediction")
        if button.count():
            button.first.click()  # once
            page.wait_for_function(EXPLAINED_JS, arg=n_images, timeout=EXPLAIN_TIMEOUT_S * 1000, polling=500)
        ready(page, "Explain", min_images=n_images)
        if main.locator('[data-testid="stAlertContentError"]').count():
            raise ShotError("Explain: the page shows an error:\n" + main.inner_text()[:2000])

    shooter.page("Explain", "Explain", "explain.jpg", {"sample": str(explained["sample_id"])}, before=explain)

    shooter.page("Review", "Review", "review.jpg", {"source": "issues"}, min_images=1)  # a suspect: kind, neighbours

    # Compare: against the cleaned rebuild, else the augmented one (the Shortcuts remedy's --out), when there is one
    # (and it loads), else the run against itself
    other = cache_path
    for suffix in ("-cleaned", "-augmented"):
        sibling = Path(cache_path).parent / f"{Path(cache_path).name}{suffix}"
        if not is_cache(sibling if sibling.is_absolute() else ROOT / sibling):
            continue
        try:
            load_cache(sibling if sibling.is_absolute() else ROOT / sibling, check_thumbs=False)
            other = str(sibling)
            break
        except CacheError as exc:
            print(f"warning: Compare: {sibling} can't be opened ({exc})", file=sys.stderr)
    if other == cache_path:
        print(f"warning: Compare: comparing {cache_path} with itself (no -cleaned or -augmented rebuild)",
              file=sys.stderr)

    def two_charts(page) -> None:
        page.wait_for_function("""() => {
          const main = document.querySelector('[data-testid="stMain"]');
          if (!main) return false;
          const drawn = main.querySelectorAll('[data-testid="indoor-heatmap"][data-drawn], '
                                              + '[data-testid="indoor-bars"][data-drawn]').length;
          return drawn >= 2 || !!main.querySelector('[data-testid="stAlertContentError"], [data-testid="stException"]');
        }""", timeout=TIMEOUT_S * 1000)
        ready(page, "Compare")
        main = page.locator('[data-testid="stMain"]')
        run_tests = main.get_by_role("button", name="Run A's")
        if other != cache_path and run_tests.count():  # A's shortcut tests on B's model: seconds per test
            run_tests.first.click()
            page.wait_for_function("() => document.body.innerText.includes('ΔP B (')", timeout=EXPLAIN_TIMEOUT_S * 1000,
                                   polling=1000)
            ready(page, "Compare")
        if main.locator('[data-testid="stAlertContentError"]').count():
            raise ShotError("Compare: the page shows an error:\n" + main.inner_text()[:2000])

    shooter.page("Compare", "Compare", "compare.jpg", {"a": cache_path, "b": other}, before=two_charts)


def demo67_shots(shooter: Shooter, cache_path: str) -> None:
    """The 67-class confusion matrix and the embedding map (15,611 images) with a hovered point's thumbnail."""
    shooter.page("Confusion (67 classes)", "Confusion", "confusion67.jpg")

    name = "Embedding map"
    if not shooter.wanted("embedding_map_15600_hover.jpg"):
        return
    with shooter.tab(name, "Embedding_map") as page:
        page.wait_for_selector('[data-testid="indoor-map"][data-points]', timeout=TIMEOUT_S * 1000)
        ready(page, name)
        page.wait_for_function("""() => {
          const root = document.querySelector('[data-testid="indoor-map"][data-points]');
          return !!root && !!root._indoor && !!root._indoor.plot;
        }""", timeout=TIMEOUT_S * 1000)  # data-points: the points are on screen
        page.wait_for_timeout(300)
        points = page.evaluate(MAP_POINTS_JS)
        if not points:
            raise ShotError(f"{name}: no point of the map is on screen")
        if hover_a_map_point(page, points) is None:
            raise ShotError(f"{name}: no thumbnail appeared when hovering any of {len(points)} points")
        page.wait_for_timeout(500)
        check_exceptions(page, name)
        shooter.shoot(page, name, "embedding_map_15600_hover.jpg", full_page=False)


def large_shots(shooter: Shooter, cache_path: str) -> None:
    """The confusion explorer on a cache of hundreds of classes: it opens on the most confused ones."""
    shooter.page("Confusion (365 classes)", "Confusion", "confusion365.jpg")


# ================================================================================================ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, type=cache_arg, help="the 12-class demo cache (runs/demo)")
    parser.add_argument("--cache67", required=True, type=cache_arg, help="the 67-class cache (runs/demo67)")
    parser.add_argument("--cache365", default=None, type=cache_arg,
                        help="optional: a cache of hundreds of classes (bench/make_large_cache.py) for confusion365.jpg")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder of the JPEGs")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality")
    parser.add_argument("--max-height", type=int, default=4000, help="full-page shots are cut at this height (px)")
    parser.add_argument("--only", help="comma-separated file names: regenerate just these (e.g. compare.jpg)")
    args = parser.parse_args(argv)
    if not have_chromium():
        print("error: Debian Chromium is required at /usr/bin/chromium (apt-get install -y chromium; "
              "never `playwright install`)", file=sys.stderr)
        return 1
    only = {name.strip() for name in args.only.split(",") if name.strip()} if args.only else None
    if only is not None and only - DEMO_FILES - DEMO67_FILES - LARGE_FILES:
        parser.error(f"--only: unknown file(s) {sorted(only - DEMO_FILES - DEMO67_FILES - LARGE_FILES)}")
    out = Path(args.out)
    out = out if out.is_absolute() else Path.cwd() / out

    stores = {cache: store_fingerprint(cache) for cache in (args.cache, args.cache67, args.cache365) if cache}
    log_dir = Path(tempfile.mkdtemp(prefix="indoor-screenshots-"))
    start = time.perf_counter()
    written: list[tuple[Path, int, int]] = []
    try:
        with chromium() as browser:
            runs = [(args.cache, demo_shots, DEMO_FILES), (args.cache67, demo67_shots, DEMO67_FILES)]
            if args.cache365:
                runs.append((args.cache365, large_shots, LARGE_FILES))
            for cache, shots, files in runs:
                if only is not None and not only & files:
                    continue
                with server_on(cache, log_dir) as server:
                    shooter = Shooter(browser, server, out, quality=args.quality, max_height=args.max_height,
                                      only=only)
                    try:
                        shots(shooter, cache)
                    finally:
                        written += shooter.written
    except ShotError as exc:
        print(f"error: {exc}\n(server logs in {log_dir})", file=sys.stderr)
        return 1
    finally:
        for cache, before in stores.items():
            if store_fingerprint(cache) != before:
                print(f"warning: the decision store of {cache} changed during the run", file=sys.stderr)
    print(f"{len(written)} screenshots in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
