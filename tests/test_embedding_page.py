"""AppTests of the Embedding map page (and its component's payload) on the session's demo cache."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from indoor.app.components.scatter_hover import COLOUR_STEPS, LIBRARY_JS, XY_STEPS, decode_column, map_payload
from indoor.cache import load_cache

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
MAP = "pages/3_Embedding_map.py"
COLOUR_OPTIONS = (
    "true label", "predicted label", "correct / wrong", "confidence", "brightness", "contrast", "colourfulness",
    "hue", "saturation", "sharpness", "width", "height",
)


@pytest.fixture(scope="module")
def cache_copy(demo_cache_path, tmp_path_factory) -> Path:
    """A copy of the demo cache (the page's image detail may create a decisions store beside it)."""
    target = tmp_path_factory.mktemp("map") / "demo"
    shutil.copytree(demo_cache_path, target)
    return target


@pytest.fixture
def static_dir(tmp_path, monkeypatch) -> Path:
    static = tmp_path / "static"
    monkeypatch.setenv("INDOOR_STATIC_DIR", str(static))
    return static


def open_map(monkeypatch, cache_path: Path, **query) -> AppTest:
    monkeypatch.setenv("INDOOR_CACHE", str(cache_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.query_params = dict(query)
    at.switch_page(MAP).run()
    assert not at.exception, at.exception
    return at


def sent_payload(at: AppTest) -> tuple[str, dict[str, bytes]]:
    """What the map component sends: its JSON text and its Arrow blobs (the per-point table), by reference id."""
    components = at.get("bidi_component")
    assert len(components) == 1
    mixed = components[0].proto.mixed
    assert mixed.json, "the map's data travels as JSON + Arrow (mixed)"
    return mixed.json, {ref: blob.data for ref, blob in mixed.arrow_blobs.items()}


def raw_payload(at: AppTest) -> str:
    return sent_payload(at)[0]


def payload(at: AppTest) -> dict:
    """The payload as the browser gets it, with the Arrow reference replaced by the table (a DataFrame)."""
    text, blobs = sent_payload(at)
    data = json.loads(text)
    reference = data["points"]["__streamlit_arrow_ref__"]
    data["points"] = pa.ipc.open_stream(blobs[reference]).read_all().to_pandas()
    return data


def column(data: dict, name: str) -> list[int]:
    """A per-point column of the payload (the Arrow table's integers) as a list."""
    return decode_column(data, name).tolist()


def shown_rows(data: dict) -> list[int]:
    return list(range(data["n"])) if data["every_row"] else column(data, "rows")


def test_renders_every_image_with_thumbnails_served_from_the_cache(monkeypatch, cache_copy, static_dir):
    cache = load_cache(cache_copy)
    at = open_map(monkeypatch, cache_copy)
    assert [t.value for t in at.title] == ["Embedding map"]
    data = payload(at)
    n = len(cache.samples)
    assert data["n"] == n
    assert all(len(column(data, name)) == n for name in ("x", "y", "label", "pred", "conf", "split"))
    assert data["every_row"] and "rows" not in data["points"]  # every row, in order: not sent
    assert data["classes"] == cache.classes
    assert column(data, "label") == cache.samples["label"].tolist()
    assert column(data, "pred") == cache.samples["pred"].tolist()
    x = np.array(column(data, "x"))
    assert x.min() == 0 and x.max() == XY_STEPS  # the whole map spans the coordinate range
    umap_x = cache.samples["umap_x"].to_numpy()
    expected = np.rint((umap_x - umap_x.min()) / (umap_x.max() - umap_x.min()) * XY_STEPS)
    assert np.abs(x - expected).max() <= 1  # (float rounding)
    splits = {"train": 0, "val": 1, "test": 2}
    assert column(data, "split") == [splits[s] for s in cache.samples["split"]]
    assert any(f"{n:,} of {n:,} images" in c.value for c in at.caption)

    # thumbnails come from the cache's own folder (Streamlit's component file route): nothing published
    assert re.fullmatch(r"/component/indoor\.app\.static\.thumbs_[0-9a-f]{12}/", data["thumb_prefix"])
    assert not (static_dir / "thumbs").exists()
    library = static_dir / data["library_url"].removeprefix("/app/static/")
    assert data["library_url"].startswith("/app/static/vendor/regl-scatterplot-")
    assert library.read_bytes() == LIBRARY_JS.read_bytes()  # the vendored WebGL library, served by the app


def test_the_first_visit_publishes_no_thumbnail_and_retires_old_publications(monkeypatch, cache_copy, static_dir):
    """Thumbnails are not copied or linked into static/ (at a million rows that took 426 s); a static/thumbs/
    folder left by an earlier version (marked by its .published.json) is removed."""
    old = static_dir / "thumbs" / "0123456789ab"
    old.mkdir(parents=True)
    (old / "000000.jpg").write_bytes(b"x")
    (old / ".published.json").write_text("{}")
    open_map(monkeypatch, cache_copy)
    assert not (static_dir / "thumbs").exists()
    assert [p.name for p in static_dir.iterdir() if not p.name.startswith(".thumbs-retired-")] == ["vendor"]


def test_payload_holds_urls_not_images(monkeypatch, cache_copy, static_dir):
    at = open_map(monkeypatch, cache_copy)
    raw = raw_payload(at)
    assert "data:image" not in raw and ".jpg" not in raw
    assert raw.count("/component/indoor.app.static.thumbs_") == 1  # the prefix once; URLs are built in the browser
    table_bytes = sum(len(blob) for blob in sent_payload(at)[1].values())
    assert len(raw) < 5_000 and table_bytes < 12 * payload(at)["n"] + 5_000  # 10 bytes per point, binary
    script = (ROOT / "indoor" / "app" / "components" / "scatter_hover" / "index.js").read_text()
    code = "\n".join(line.split("//")[0] for line in script.splitlines())
    assert "textContent" in code and not re.search(r"innerHTML|outerHTML|insertAdjacentHTML", code)


@pytest.mark.parametrize(
    "query, keep",
    [
        ({"split": "test"}, lambda s, classes: s["split"] == "test"),
        ({"errors": "true"}, lambda s, classes: s["label"] != s["pred"]),
        ({"classes": ["@first", "@second"]}, lambda s, classes: s["label"].isin([0, 1])),
    ],
    ids=["split", "errors", "classes"],
)
def test_filters_change_the_points_sent(monkeypatch, cache_copy, static_dir, query, keep):
    cache = load_cache(cache_copy)
    samples = cache.samples
    if "classes" in query:
        query = {"classes": cache.classes[:2]}
    expected = np.flatnonzero(keep(samples, cache.classes).to_numpy())
    assert 0 < len(expected) < len(samples), "the demo cache should make this filter meaningful"

    at = open_map(monkeypatch, cache_copy, **query)  # a deep link: filters come from the URL
    data = payload(at)
    assert shown_rows(data) == expected.tolist()
    assert column(data, "label") == samples["label"].to_numpy()[expected].tolist()
    umap_y = samples["umap_y"].to_numpy()  # positions stay put: scaled by the whole map's bounds
    whole = np.rint((umap_y - umap_y.min()) / (umap_y.max() - umap_y.min()) * XY_STEPS)
    assert np.abs(np.array(column(data, "y")) - whole[expected]).max() <= 1  # (float rounding)
    assert any(f"{len(expected):,} of {len(samples):,} images" in c.value for c in at.caption)


def test_filter_widgets_change_the_points(monkeypatch, cache_copy, static_dir):
    cache = load_cache(cache_copy)
    samples = cache.samples
    at = open_map(monkeypatch, cache_copy)
    assert payload(at)["n"] == len(samples)

    at.selectbox(key="split").set_value("train").run()
    train = samples["split"] == "train"
    assert payload(at)["n"] == int(train.sum())
    at.toggle(key="errors").set_value(True).run()
    wrong_train = train & (samples["label"] != samples["pred"])
    assert shown_rows(payload(at)) == np.flatnonzero(wrong_train.to_numpy()).tolist()
    chosen = cache.classes[0]
    at.multiselect(key="classes").set_value([chosen]).run()
    expected = wrong_train & (samples["label"] == 0)
    assert payload(at)["n"] == int(expected.sum())
    if not expected.any():
        assert any("No image matches" in i.value for i in at.info)
    assert not at.exception  # (the browser writes bound widgets into the URL; the browser test checks that)


def test_colour_by_options(monkeypatch, cache_copy, static_dir):
    cache = load_cache(cache_copy)
    at = open_map(monkeypatch, cache_copy, colour="hue")  # deep link
    assert at.selectbox(key="colour").value == "hue"
    assert at.selectbox(key="colour").options == list(COLOUR_OPTIONS)
    categorical = {"true label": "label", "predicted label": "pred", "correct / wrong": "correct"}
    for option in COLOUR_OPTIONS:
        at.selectbox(key="colour").set_value(option).run()
        assert not at.exception, (option, at.exception)
        colour = payload(at)["colour"]
        if option in categorical:
            assert colour == {"mode": categorical[option]}
            continue
        values = cache.samples[option].to_numpy(dtype=float)
        assert colour["mode"] == "value" and colour["name"] == option
        stops = colour["scale"]  # explicit stops, interpolated in the browser
        assert stops[0][0] == 0 and stops[-1][0] == 1
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for _, c in stops), stops
        if option == "hue":  # a cyclic scale: 0° and 360° look the same
            assert stops[0][1] == stops[-1][1]
        coded = column(payload(at), "values")
        assert len(coded) == len(values) and all(0 <= v <= COLOUR_STEPS for v in coded)
        assert colour["min"] == pytest.approx(values.min(), abs=1e-3)
        if values.max() > values.min():  # the scale spans the values: lowest at 0, highest at the top
            assert colour["max"] == pytest.approx(values.max(), abs=1e-3)
            assert coded[int(values.argmax())] == COLOUR_STEPS and coded[int(values.argmin())] == 0


def test_a_selection_shows_its_gallery_and_goes_to_relabel(monkeypatch, cache_copy, static_dir):
    cache = load_cache(cache_copy)
    at = open_map(monkeypatch, cache_copy)
    assert not [s for s in at.subheader if s.value.startswith("Selection")]
    key = payload(at)["view"]
    chosen = [1, 4, 7, 9, 12]
    at.session_state[key] = {"selected": chosen, "clicked": None}  # what a lasso in the browser sends
    at.run()
    assert not at.exception, at.exception
    assert "Selection: 5 images" in [s.value for s in at.subheader]
    numbered = re.compile(r"\d+\\?\. ")  # "1. " or, Markdown-escaped, "1\\. "
    captions = [text for element in at.get("image") for text in element.captions if numbered.match(text)]
    names = [cache.classes[cache.samples["label"].iat[row]] for row in chosen]
    assert len(captions) == len(chosen), "a gallery of the 5 selected images"
    assert all(name in text for name, text in zip(names, captions))
    assert payload(at)["selected"] == chosen  # redrawn maps keep the selection highlighted

    at.button(key="map_to_review").click().run()
    assert not at.exception, at.exception
    assert at.session_state["selection_rows"] == chosen


def test_the_latest_interaction_comes_first(monkeypatch, cache_copy, static_dir):
    at = open_map(monkeypatch, cache_copy)
    key = payload(at)["view"]
    at.session_state[key] = {"selected": [], "clicked": 2}
    at.run()
    at.session_state[key] = {"selected": [5, 6], "clicked": 2}  # a lasso after the click
    at.run()
    headings = [s.value for s in at.subheader]
    assert headings.index("Selection: 2 images") < headings.index("Clicked image")
    at.session_state[key] = {"selected": [5, 6], "clicked": 8}  # then a click
    at.run()
    headings = [s.value for s in at.subheader]
    assert headings.index("Clicked image") < headings.index("Selection: 2 images")


def test_a_selection_outside_the_filters_is_not_shown(monkeypatch, cache_copy, static_dir):
    cache = load_cache(cache_copy)
    samples = cache.samples
    at = open_map(monkeypatch, cache_copy, split="test")
    test_row = int(np.flatnonzero((samples["split"] == "test").to_numpy())[0])
    train_row = int(np.flatnonzero((samples["split"] == "train").to_numpy())[0])
    at.session_state[payload(at)["view"]] = {"selected": [train_row, test_row], "clicked": None}
    at.run()
    assert "Selection: 1 image" in [s.value for s in at.subheader]


def test_a_click_shows_the_image_detail(monkeypatch, cache_copy, static_dir):
    cache = load_cache(cache_copy)
    at = open_map(monkeypatch, cache_copy)
    row = 3
    at.session_state[payload(at)["view"]] = {"selected": [], "clicked": row}
    at.run()
    assert not at.exception, at.exception
    assert "Clicked image" in [s.value for s in at.subheader]
    sample_id = cache.samples["sample_id"].iat[row]
    assert any(sample_id.replace("/", "") in m.value.replace("\\", "").replace("/", "") for m in at.markdown)


def test_map_payload_is_compact_and_checks_its_colour_mode():
    n = 15_611  # MIT Indoor 67's size
    rng = np.random.default_rng(0)
    classes = [f"class <{i}> & co" for i in range(67)]
    x, y, values = rng.random(n), rng.random(n), rng.random(n)
    data = map_payload(
        x=x, y=y, rows=np.arange(n), label=rng.integers(0, 67, n),
        pred=rng.integers(0, 67, n), confidence=rng.random(n), split=["train"] * n, classes=classes,
        thumb_prefix="/app/static/thumbs/abc/", library_url="/app/static/vendor/regl-scatterplot-x.min.js",
        colour="value", values=values, value_name="brightness", n_total=n,
    )
    assert decode_column(data, "rows") is None and data["classes"] == classes  # names: as data, text in the browser
    assert len(data["palette"]) == 67 and len(set(data["palette"])) == 67
    size = len(json.dumps({key: value for key, value in data.items() if key != "points"}))
    assert size < 5_000, size  # metadata only; the points are binary
    table_bytes = len(pa.ipc.serialize_pandas(data["points"], preserve_index=False))
    assert table_bytes < 12 * n + 2_000, table_bytes  # 12 bytes a point (x, y, label, pred, conf, split, colour)
    # binary, not rounded: positions keep 1/65535 of the map's width, colour values 1/999 of their range
    assert np.abs(decode_column(data, "x") / XY_STEPS - x).max() <= 0.5 / XY_STEPS + 1e-12  # bounds (0, 1)
    assert np.abs(decode_column(data, "values") / COLOUR_STEPS - (values - values.min()) / np.ptp(values)).max() \
        <= 0.5 / COLOUR_STEPS + 1e-12
    subset = map_payload(
        x=[0.5], y=[2.0], rows=[7], label=[0], pred=[1], confidence=[0.5], split=["test"], classes=classes,
        thumb_prefix="p/", library_url="u", n_total=n,
    )
    assert decode_column(subset, "rows").tolist() == [7] and decode_column(subset, "y").tolist() == [XY_STEPS]
    assert decode_column(subset, "split").tolist() == [2] and decode_column(subset, "conf").tolist() == [50]
    with pytest.raises(ValueError, match="colour mode"):
        map_payload(x=[0], y=[0], rows=[0], label=[0], pred=[0], confidence=[1], split=["test"], classes=["a"],
                    thumb_prefix="p/", library_url="u", colour="rainbow")


def test_the_vendored_library_is_the_one_documented():
    """vendor/regl-scatterplot.min.js is the file VENDOR.md says how to rebuild (its sha256 is recorded there)."""
    import hashlib

    content = LIBRARY_JS.read_bytes()
    notes = (LIBRARY_JS.parent / "VENDOR.md").read_text(encoding="utf-8")
    assert hashlib.sha256(content).hexdigest() in notes
    assert content.startswith(b"/*! regl-scatterplot 1.16.0") and b"var reglScatterplot=" in content[:400]


def test_an_unwritable_static_folder_is_a_clear_message(monkeypatch, cache_copy, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the static folder should be")
    monkeypatch.setenv("INDOOR_STATIC_DIR", str(blocker))
    at = open_map(monkeypatch, cache_copy)
    assert any("needs to write into" in e.value for e in at.error)
    assert not at.get("bidi_component")
