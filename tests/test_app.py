"""AppTests of the dashboard's Overview, Confusion, Gallery and Relabel pages on the session's demo cache."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from indoor.analysis import explore
from indoor.cache import load_cache
from indoor.decisions import DecisionStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
CONFUSION, GALLERY, RELABEL = "pages/1_Confusion.py", "pages/2_Gallery.py", "pages/4_Relabel.py"




def open_app(monkeypatch, cache_path: Path, page: str | None = None, **query: str) -> AppTest:
    """The app on ``cache_path`` (via INDOOR_CACHE), optionally switched to ``page`` with a query string."""
    monkeypatch.setenv("INDOOR_CACHE", str(cache_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.query_params = dict(query)
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def caption_texts(at: AppTest) -> list[str]:
    """Captions of the gallery grid's thumbnails ("12. given → predicted 93%\ntop-3") as they read (captions are
    Markdown: md()'s backslashes and word joiners undone)."""
    texts = [re.sub(r"\\(.)", r"\1", text.replace("\u2060", "")) for element in at.get("image")
             for text in element.captions]
    return [text for text in texts if re.match(r"\d+\. ", text)]


def heatmap_data(at: AppTest, index: int = 0) -> dict:
    """The payload of the page's ``index``-th canvas heatmap (components/heatmap)."""
    heatmaps = [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.component_name == "indoor_heatmap"]
    return heatmaps[index]


def bars_data(at: AppTest, index: int = 0) -> dict:
    """The payload of the page's ``index``-th bar list (components/bars)."""
    return [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.component_name == "indoor_bars"][index]


def plotly_spec(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def plotly_array(value) -> np.ndarray:
    """A plotly JSON array: a plain list or a typed array {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if shape:
            array = array.reshape([int(n) for n in str(shape).split(",")] if isinstance(shape, str) else shape)
        return array
    return np.asarray(value, dtype=float)


def mismatched_pair(cache) -> tuple[str, str, int]:
    """The most frequent (given, predicted) error pair of the cache and its count, over all splits."""
    samples = cache.samples
    wrong = samples[samples["label"] != samples["pred"]]
    counts = wrong.groupby(["label", "pred"]).size().sort_values(ascending=False)
    (label, pred), n = counts.index[0], int(counts.iloc[0])
    return cache.classes[label], cache.classes[pred], n


# ------------------------------------------------------------------------------------------------ rendering


@pytest.mark.parametrize("page", [None, CONFUSION, GALLERY, RELABEL])
def test_every_page_renders_without_exception(monkeypatch, shared_copy, page):
    at = open_app(monkeypatch, shared_copy, page)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value in {None: "Overview", CONFUSION: "Confusion explorer", GALLERY: "Gallery",
                                 RELABEL: "Relabel"}[page]


def test_broken_cache_shows_the_validation_message_not_a_traceback(monkeypatch, tmp_path, demo_cache_path):
    broken = tmp_path / "broken"
    shutil.copytree(demo_cache_path, broken)
    meta = json.loads((broken / "meta.json").read_text())
    meta["schema_version"] = 0
    (broken / "meta.json").write_text(json.dumps(meta))
    monkeypatch.setenv("INDOOR_CACHE", str(broken))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "schema version" in at.error[0].value
    assert any("python -m indoor" in c.value for c in at.code)


# ------------------------------------------------------------------------------------------------- overview


def test_overview_shows_metrics_and_links_pairs(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    at = open_app(monkeypatch, shared_copy)
    labels = [m.label for m in at.metric]
    assert labels.count("Top-1") >= 2 and "Top-5" in labels
    test_top1 = cache.meta["metrics"]["test"]["top1"]
    assert f"{test_top1:.1%}" in [m.value for m in at.metric]
    links = [link for link in at.get("page_link") if link.proto.page == "Gallery"]
    assert links, "most confused pairs and classes link to the gallery"
    assert any("true=" in link.proto.query_string for link in links)


def test_overview_split_switch_changes_the_pairs_caption(monkeypatch, shared_copy):
    at = open_app(monkeypatch, shared_copy)
    before = [c.value for c in at.caption]
    at.segmented_control(key="overview.split").set_value("train").run()
    after = [c.value for c in at.caption]
    assert not at.exception
    assert before != after
    assert any("train (out-of-fold)" in text for text in after)


def test_overview_accuracy_per_class_lists_every_class_worst_first(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    at = open_app(monkeypatch, shared_copy)
    data = bars_data(at)
    test = cache.samples[cache.samples["split"] == "test"]
    correct = (test["label"] == test["pred"]).groupby(test["label"])
    accuracy = {cache.classes[int(i)]: float(a) for i, a in correct.mean().items()}
    wrong = {cache.classes[int(i)]: int(n) for i, n in (correct.size() - correct.sum()).items()}
    assert sorted(data["labels"]) == sorted(accuracy) and data["ids"] == data["labels"]  # a click reports the name
    assert data["values"] == pytest.approx([accuracy[name] for name in data["labels"]], abs=1e-6)
    assert data["values"] == sorted(data["values"])  # worst first
    assert data["text"] == [f"{accuracy[name]:.0%}" for name in data["labels"]]
    first = data["labels"][0]
    assert data["hover"][0].startswith(f"{first}: {accuracy[first]:.1%} correct\n{wrong[first]} of ")
    assert data["clickable"] and data["hint"] == "click: open its errors" and data["domain"] == [0.0, 1.0]
    worst, best = data["colours"][0], data["colours"][-1]
    assert worst != best and (best == "#16a34a") == (data["values"][-1] == 1.0)  # red -> amber -> green
    # another split, other numbers
    at.segmented_control(key="overview.split").set_value("train").run()
    train = cache.samples[cache.samples["split"] == "train"]
    assert sorted(bars_data(at)["values"]) == pytest.approx(
        sorted((train["label"] == train["pred"]).groupby(train["label"]).mean().tolist()), abs=1e-6)


def test_overview_bar_click_opens_that_class_in_the_gallery(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    name = cache.classes[3]
    at = open_app(monkeypatch, shared_copy)
    at.session_state["overview.classes"] = {"clicked": name}  # what a click on its row sends from the browser
    at.run()
    assert not at.exception
    assert at.title[0].value == "Gallery"
    assert at.selectbox(key="gallery.true").value == name
    assert at.query_params.get("true") == name and at.query_params.get("split") == "test"


@pytest.mark.parametrize("clicked", ["no such class", 3, None])
def test_overview_ignores_a_click_on_no_row(monkeypatch, shared_copy, clicked):
    at = open_app(monkeypatch, shared_copy)
    at.session_state["overview.classes"] = {"clicked": clicked}
    at.run()
    assert not at.exception and at.title[0].value == "Overview"


# ------------------------------------------------------------------------------------------------ confusion


def test_confusion_defaults_to_test_split_and_orders_change_the_axis(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    at = open_app(monkeypatch, shared_copy, CONFUSION)
    assert at.segmented_control(key="confusion.split").value == "test"
    n_test = int((cache.samples["split"] == "test").sum())
    assert any(f"{n_test:,} images" in c.value for c in at.caption)
    data = heatmap_data(at)
    test = cache.samples[cache.samples["split"] == "test"]
    n = len(cache.classes)
    ids = np.array(data["ids"])
    assert sorted(ids) == list(range(n)) and data["labels"] == [cache.classes[i] for i in ids]
    counts = np.array(data["values"][0]).reshape(n, n)  # display order
    expected = np.zeros((n, n), dtype=int)
    np.add.at(expected, (test["label"].to_numpy(), test["pred"].to_numpy()), 1)
    assert (counts == expected[np.ix_(ids, ids)]).all()
    # the clickable cells are exactly the non-empty ones
    cells = {(int(ids[i // n]), int(ids[i % n])) for i in data["clickable"]}
    assert cells == set(zip(test["label"], test["pred"]))
    assert data["zmax"] == explore.colour_limit(counts, "errors")  # the default scale spans the errors
    at.segmented_control(key="confusion.order").set_value("name").run()
    assert heatmap_data(at)["labels"] == sorted(cache.classes, key=str.lower)
    assert at.query_params.get("order") == "name"
    at.segmented_control(key="confusion.values").set_value("rows").run()
    data = heatmap_data(at)
    z = np.array(data["z"], dtype=float).reshape(n, n)
    assert np.allclose(z.sum(axis=1)[z.sum(axis=1) > 0], 1.0, atol=1e-3)  # row-normalised
    assert data["colour_format"] == "pct" and data["colour_title"] == "row %"


def test_confusion_cell_click_opens_that_pair_in_the_gallery(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    given, predicted, _ = mismatched_pair(cache)
    at = open_app(monkeypatch, shared_copy, CONFUSION)
    at.segmented_control(key="confusion.split").set_value("all").run()
    # what a click on the cell sends from the browser (a trigger value of the heatmap component)
    at.session_state["confusion.matrix"] = {"clicked": {"row": cache.classes.index(given),
                                                        "col": cache.classes.index(predicted)}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Gallery"
    assert at.selectbox(key="gallery.true").value == given
    assert at.selectbox(key="gallery.pred").value == predicted
    assert at.query_params.get("true") == given and at.query_params.get("pred") == predicted
    captions = caption_texts(at)
    assert captions and all(f"{given} → {predicted}" in text for text in captions)


@pytest.mark.parametrize("clicked", [{"row": 999, "col": 0}, {"row": "bar", "col": 0}, "bar", None])
def test_confusion_ignores_a_malformed_click(monkeypatch, shared_copy, clicked):
    at = open_app(monkeypatch, shared_copy, CONFUSION)
    at.session_state["confusion.matrix"] = {"clicked": clicked}
    at.run()
    assert not at.exception and at.title[0].value == "Confusion explorer"


def test_confusion_deep_link_restores_options(monkeypatch, shared_copy):
    at = open_app(monkeypatch, shared_copy, CONFUSION, split="train", values="rows", order="accuracy")
    assert at.segmented_control(key="confusion.split").value == "train"
    assert at.segmented_control(key="confusion.values").value == "rows"
    assert at.segmented_control(key="confusion.order").value == "accuracy"


def test_confusion_per_class_table_lists_every_class(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    at = open_app(monkeypatch, shared_copy, CONFUSION, split="all")
    (data,) = [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.component_name == "indoor_table"]
    assert set(data["cells"]["class"]) == set(cache.classes) and data["ids"] == data["cells"]["class"]
    assert [c["key"] for c in data["columns"]][:6] == ["class", "precision", "recall", "f1", "support", "errors"]
    f1 = [v for v in data["cells"]["f1"] if v is not None]
    assert f1 == sorted(f1) and all(0 <= v <= 100 for v in f1)  # worst F1 first, in percent
    assert data["clickable"]


def test_a_click_in_the_per_class_table_opens_the_class_errors(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    at = open_app(monkeypatch, shared_copy, CONFUSION, split="test")
    at.session_state["confusion.classes"] = {"clicked": cache.classes[1]}
    at.run()
    assert not at.exception, at.exception
    assert at.query_params.get("true") in (cache.classes[1], [cache.classes[1]])  # the Gallery of its errors


def confusion_matrix_of(cache, split: str = "test") -> np.ndarray:
    samples = cache.samples if split == "all" else cache.samples[cache.samples["split"] == split]
    matrix = np.zeros((len(cache.classes),) * 2, dtype=int)
    np.add.at(matrix, (samples["label"].to_numpy(), samples["pred"].to_numpy()), 1)
    return matrix


@pytest.fixture
def many_classes(monkeypatch):
    """The focus controls of a many-class matrix (Places365) on the 10-class demo: 'many' starts above 4 classes,
    focused views show 3 or 5."""
    from indoor.analysis import confusion_focus

    monkeypatch.setattr(confusion_focus, "FULL_MATRIX_MAX", 4)
    monkeypatch.setattr(confusion_focus, "TOP_K", (3, 5))
    monkeypatch.setattr(confusion_focus, "DEFAULT_K", 3)


def test_confusion_shows_the_whole_matrix_without_focus_controls_up_to_100_classes(monkeypatch, shared_copy):
    at = open_app(monkeypatch, shared_copy, CONFUSION)
    assert len(heatmap_data(at)["ids"]) == len(load_cache(shared_copy).classes)
    assert not [w for w in at.segmented_control if w.key == "confusion.view"]


def test_confusion_with_many_classes_opens_on_the_most_confused(monkeypatch, shared_copy, many_classes):
    from indoor.analysis import confusion_focus

    cache = load_cache(shared_copy)
    at = open_app(monkeypatch, shared_copy, CONFUSION)
    assert at.segmented_control(key="confusion.view").value == "top"
    matrix = confusion_matrix_of(cache)
    data = heatmap_data(at)
    top = confusion_focus.most_confused(matrix, 3)
    assert sorted(data["ids"]) == sorted(top.tolist()) and len(data["labels"]) == 3
    ids = np.array(data["ids"])
    counts = np.array(data["values"][0]).reshape(3, 3)
    assert (counts == matrix[np.ix_(ids, ids)]).all()  # the sub-matrix of those classes
    covered, errors = confusion_focus.errors_covered(matrix, top)
    assert any(f"Showing 3 of {len(cache.classes)} classes; {covered:,} of the {errors:,} errors" in c.value
               for c in at.caption)
    at.selectbox(key="confusion.k").set_value(5).run()
    assert sorted(heatmap_data(at)["ids"]) == sorted(confusion_focus.most_confused(matrix, 5).tolist())
    assert at.query_params.get("k") == "5"
    # a click on a cell of the sub-matrix still opens that pair (ids are class indices)
    at.session_state["confusion.matrix"] = {"clicked": {"row": int(ids[0]), "col": int(ids[1])}}
    at.run()
    assert at.title[0].value == "Gallery" and at.selectbox(key="gallery.true").value == cache.classes[ids[0]]


def test_confusion_zooms_to_a_class_and_its_neighbours(monkeypatch, shared_copy, many_classes):
    from indoor.analysis import confusion_focus

    cache = load_cache(shared_copy)
    matrix = confusion_matrix_of(cache, "all")
    centre = int(confusion_focus.most_confused(matrix, 1)[0])
    name = cache.classes[centre]
    at = open_app(monkeypatch, shared_copy, CONFUSION, split="all", view="class", k="5")
    # no class chosen: the most confused one and its neighbours
    assert sorted(heatmap_data(at)["ids"]) == sorted(confusion_focus.neighbours(matrix, centre, 5).tolist())
    other = next(c for c in range(len(cache.classes)) if c != centre and confusion_focus.error_mass(matrix)[c] > 0)
    at.selectbox(key="confusion.class").set_value(cache.classes[other]).run()
    assert not at.exception
    expected = confusion_focus.neighbours(matrix, other, 5)
    assert sorted(heatmap_data(at)["ids"]) == sorted(expected.tolist()) and other in heatmap_data(at)["ids"]
    assert at.query_params.get("class") == cache.classes[other] and at.query_params.get("view") == "class"
    assert name  # (the deep link below names a class directly)
    at = open_app(monkeypatch, shared_copy, CONFUSION, split="all", view="class", k="5", **{"class": name})
    assert at.selectbox(key="confusion.class").value == name


def test_confusion_name_search_shows_the_matching_classes(monkeypatch, shared_copy, many_classes):
    cache = load_cache(shared_copy)
    word = cache.classes[0].replace("_", " ").split()[0][:4].upper()
    at = open_app(monkeypatch, shared_copy, CONFUSION, view="search")
    at.text_input(key="confusion.q").set_value(word).run()
    ids = heatmap_data(at)["ids"]
    assert 0 in ids and all(word.lower() in cache.classes[i].lower().replace("_", " ") for i in ids)
    at.text_input(key="confusion.q").set_value("no such class zz").run()
    assert not at.exception and not [c for c in at.get("bidi_component") if c.proto.component_name == "indoor_heatmap"]
    assert any("No class name contains" in i.value for i in at.info)


# --------------------------------------------------------------------------------------------------- gallery


def test_gallery_deep_link_shows_only_that_pair(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    given, predicted, count = mismatched_pair(cache)
    at = open_app(monkeypatch, shared_copy, GALLERY, true=given, pred=predicted)
    assert at.selectbox(key="gallery.true").value == given
    captions = caption_texts(at)
    assert len(captions) == min(count, 48)
    assert all(f"{given} → {predicted}" in text for text in captions)
    assert f"**{count:,}** misclassified images" in at.markdown[0].value or any(
        f"**{count:,}**" in m.value for m in at.markdown)


def test_gallery_filters_change_what_is_shown_and_the_url(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    samples = cache.samples
    at = open_app(monkeypatch, shared_copy, GALLERY)
    n_wrong = int((samples["label"] != samples["pred"]).sum())
    assert len(caption_texts(at)) == min(n_wrong, 48)
    name = cache.classes[0]
    at.selectbox(key="gallery.true").set_value(name).run()
    assert at.query_params.get("true") == name
    captions = caption_texts(at)
    n_class_wrong = int(((samples["label"] == 0) & (samples["pred"] != 0)).sum())
    assert len(captions) == min(n_class_wrong, 48)
    assert all(text.split(". ", 1)[1].startswith(f"{name} → ") for text in captions)
    at.toggle(key="gallery.correct").set_value(True).run()
    assert len(caption_texts(at)) == min(int((samples["label"] == 0).sum()), 48)
    assert at.query_params.get("correct") == "true"


def test_gallery_paginates(monkeypatch, shared_copy):
    cache = load_cache(shared_copy)
    n = len(cache.samples)
    at = open_app(monkeypatch, shared_copy, GALLERY, correct="true")
    assert len(caption_texts(at)) == 48
    assert at.caption[0].value.startswith(f"Images 1–48 of {n:,}")
    at.query_params = {"correct": "true", "page": "2"}
    at.run()
    assert at.caption[0].value.startswith(f"Images 49–{min(96, n)} of {n:,}")
    assert caption_texts(at)[0].startswith("49. ")


def test_gallery_opens_an_image_detail_and_quick_decision_saves(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    given, predicted, _ = mismatched_pair(cache)
    at = open_app(monkeypatch, own_copy, GALLERY, true=given, pred=predicted)
    sample_id = explore.error_table(cache.samples, true=cache.classes.index(given),
                                    pred=cache.classes.index(predicted))["sample_id"].iloc[0]
    at.selectbox(key="gallery.image").set_value(sample_id).run()
    assert not at.exception
    assert at.query_params.get("image") == sample_id
    assert [m.value for m in at.metric][:2] == [given, predicted]
    assert any("Typical" in m.value for m in at.markdown)
    top5, probs = bars_data(at), np.asarray(cache.probs[cache.row_of[sample_id]], dtype=float)  # the top-5 bars
    assert top5["ids"][0] == cache.classes.index(predicted) and len(top5["ids"]) == 5
    assert top5["labels"] == [cache.classes[i] for i in top5["ids"]]
    assert top5["values"] == pytest.approx(sorted(probs, reverse=True)[:5], abs=1e-6)
    assert top5["values"] == pytest.approx(probs[top5["ids"]].tolist(), abs=1e-6)
    assert top5["text"] == [f"{probs[i]:.0%}" for i in top5["ids"]]
    given_i = cache.classes.index(given)
    assert top5["colours"] == ["#2563eb" if k == 0 else "#16a34a" if i == given_i else "#94a3b8"
                               for k, i in enumerate(top5["ids"])]  # blue: the prediction, green: the given label
    at.button(key="gallery.detail.quick.topred").click().run()
    assert not at.exception
    current = DecisionStore(cache.decisions_path).current()
    assert current[["sample_id", "action", "new_label"]].values.tolist() == [[sample_id, "relabel", predicted]]
    assert any("relabel" in c.value for c in at.caption)
    at.button(key="gallery.detail.quick.undo").click().run()
    assert DecisionStore(cache.decisions_path).current().empty


# --------------------------------------------------------------------------------------------------- relabel


class _DownloadSpy:
    """Records what pages hand to st.download_button (the real media storage still serves it)."""

    def __init__(self, monkeypatch):
        from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

        self.files: dict[str, bytes] = {}
        original = MemoryMediaFileStorage.load_and_get_id

        def spy(storage, path_or_data, mimetype, kind, filename=None):
            if filename:
                self.files[filename] = path_or_data if isinstance(path_or_data, bytes) else bytes(path_or_data)
            return original(storage, path_or_data, mimetype, kind, filename)

        monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)


def test_relabel_saves_lists_and_exports_a_decision(monkeypatch, own_copy):
    spy = _DownloadSpy(monkeypatch)
    cache = load_cache(own_copy)
    given, predicted, _ = mismatched_pair(cache)
    samples = cache.samples
    row = samples.index[(samples["label"] == cache.classes.index(given))
                        & (samples["pred"] == cache.classes.index(predicted))][0]
    sample_id = samples["sample_id"].iat[row]
    at = open_app(monkeypatch, own_copy, RELABEL, sample=sample_id)
    assert at.selectbox(key="relabel.sample").value == sample_id
    assert at.radio(key="relabel.form.action").value == "relabel"  # a misclassified image starts as relabel
    at.text_input(key="indoor.annotator_sidebar").set_value("alice").run()
    at.selectbox(key="relabel.form.new_label").set_value(predicted)
    at.multiselect(key="relabel.form.tags").set_value(["incorrect label", "low light"])
    at.text_area(key="relabel.form.note").set_value("=HYPERLINK(\"x\")")
    at.button(key="relabel.form.save").click().run()
    assert not at.exception, at.exception

    current = DecisionStore(cache.decisions_path).current()
    assert current[["sample_id", "annotator", "action", "new_label"]].values.tolist() == [
        [sample_id, "alice", "relabel", predicted]]
    listed = at.dataframe[-1].value
    assert listed["sample_id"].tolist() == [sample_id]
    assert "All decisions (1)" in [s.value for s in at.subheader]

    text = spy.files["decisions.csv"].decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["sample_id"] == sample_id and rows[0]["label"] == given and rows[0]["predicted"] == predicted
    assert rows[0]["action"] == "relabel" and rows[0]["new_label"] == predicted
    assert rows[0]["tags"] == "incorrect label;low light" and rows[0]["annotator"] == "alice"
    assert rows[0]["note"] == "'=HYPERLINK(\"x\")"  # neutralised against formula injection


def test_relabel_form_reopens_with_the_saved_decision_and_undo(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    sample_id = cache.samples["sample_id"].iat[0]
    at = open_app(monkeypatch, own_copy, RELABEL, sample=sample_id)
    at.radio(key="relabel.form.action").set_value("multi_label").run()
    other = next(c for c in cache.classes if c != cache.classes[int(cache.samples["label"].iat[0])])
    at.multiselect(key="relabel.form.extra").set_value([other])
    at.button(key="relabel.form.save").click().run()
    assert not at.exception
    at.switch_page(GALLERY).run()
    at.query_params = {"sample": sample_id}
    at.switch_page(RELABEL).run()
    assert at.radio(key="relabel.form.action").value == "multi_label"
    assert at.multiselect(key="relabel.form.extra").value == [other]
    at.button(key="relabel.form.undo").click().run()
    assert DecisionStore(cache.decisions_path).current().empty
    assert "All decisions (0)" in [s.value for s in at.subheader]


def test_relabel_import_reports_bad_rows_with_line_numbers_and_imports_good_ones(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    ids = cache.samples["sample_id"].tolist()
    at = open_app(monkeypatch, own_copy, RELABEL)
    bad = (f"sample_id,action,new_label\n{ids[0]},keep,\nno/such.jpg,keep,\n{ids[1]},relabel,not_a_class\n")
    at.file_uploader[0].upload("bad.csv", bad.encode(), "text/csv")
    at.run()
    assert not at.exception
    assert "Nothing imported" in at.error[0].value
    problems = at.code[-1].value
    assert "line 3" in problems and "no/such.jpg" in problems
    assert "line 4" in problems and "not_a_class" in problems
    assert DecisionStore(cache.decisions_path).current().empty

    at = open_app(monkeypatch, own_copy, RELABEL)
    good = f"sample_id,action,new_label,annotator\n{ids[0]},keep,,bob\n{ids[1]},relabel,{cache.classes[0]},bob\n"
    at.file_uploader[0].upload("good.csv", good.encode(), "text/csv")
    at.run()
    at.button(key="relabel.import").click().run()
    assert not at.exception
    current = DecisionStore(cache.decisions_path).current()
    assert sorted(current["sample_id"]) == sorted(ids[:2])
    assert "All decisions (2)" in [s.value for s in at.subheader]


def test_relabel_table_row_selection_opens_it_in_the_form(monkeypatch, own_copy):
    cache = load_cache(own_copy)
    ids = cache.samples["sample_id"].tolist()
    store = DecisionStore(cache.decisions_path, classes=cache.classes, known_ids=ids)
    from indoor.decisions import Decision

    store.save(Decision(sample_id=ids[5], action="remove", annotator="carol"))
    at = open_app(monkeypatch, own_copy, RELABEL, sample=ids[0])
    assert at.selectbox(key="relabel.sample").value == ids[0]
    at.session_state["relabel.table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.selectbox(key="relabel.sample").value == ids[5]
    assert at.query_params.get("sample") == ids[5]


# ------------------------------------------------------------------------------------------- cache choice


def test_without_any_cache_the_first_screen_offers_to_build_the_demo(monkeypatch, tmp_path):
    from indoor.app import state

    monkeypatch.delenv("INDOOR_CACHE", raising=False)
    monkeypatch.setattr(state, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(state, "DEFAULT_CACHE", tmp_path / "runs" / "demo")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "No inference cache yet" in at.info[0].value
    assert [b.label for b in at.button] == ["Build the demo here"]
    commands = "\n".join(c.value for c in at.code)
    assert "python -m indoor demo --out runs/demo" in commands
    assert "python -m indoor build --data PATH/indoorCVPR_09 --out runs/indoor67" in commands


def test_sidebar_lists_caches_under_runs_and_switches(monkeypatch, tmp_path, demo_cache_path):
    from indoor.app import state

    runs = tmp_path / "runs"
    shutil.copytree(demo_cache_path, runs / "demo")
    shutil.copytree(demo_cache_path, runs / "other")
    meta = json.loads((runs / "other" / "meta.json").read_text())
    meta["image_size"] = 123
    (runs / "other" / "meta.json").write_text(json.dumps(meta))
    monkeypatch.delenv("INDOOR_CACHE", raising=False)
    monkeypatch.setattr(state, "RUNS", runs)
    monkeypatch.setattr(state, "DEFAULT_CACHE", runs / "demo")
    at = AppTest.from_file(APP, default_timeout=60).run()
    selector = at.sidebar.selectbox(key="indoor.cache_select")
    assert selector.value == str(runs / "demo")
    assert len(selector.options) == 2
    assert not any("123 px" in c.value for c in at.sidebar.caption)
    selector.set_value(str(runs / "other")).run()
    assert not at.exception
    assert any("123 px" in c.value for c in at.sidebar.caption)
    at.switch_page(CONFUSION).run()  # the choice holds on every page
    assert at.sidebar.selectbox(key="indoor.cache_select").value == str(runs / "other")


def test_command_line_cache_wins_over_the_environment(monkeypatch, tmp_path):
    import sys


    from indoor.app import state


    monkeypatch.setenv("INDOOR_CACHE", str(tmp_path / "from-env"))
    monkeypatch.setattr(sys, "argv", ["app.py", "--cache", str(tmp_path / "from-cli")])
    assert state._cli_cache() == str(tmp_path / "from-cli")
    monkeypatch.setattr(sys, "argv", ["app.py"])
    assert state._cli_cache() is None


def test_build_progress_lines_map_to_an_overall_fraction():
    from indoor.app import page

    fraction, text = page._progress_of("rendering demo images:  50%|#####     | 780/1560 [00:05<00:05]")
    assert fraction == pytest.approx(0.15) and "50%" in text
    fraction, _ = page._progress_of("embedding: 100%|##########| 1560/1560 [00:20<00:00, 75img/s]")
    assert fraction == pytest.approx(0.80)
    assert page._progress_of("built runs/demo: 1560 images")[0] == 1.0
    assert page._progress_of("some other line")[0] is None


def test_markdown_escaping_keeps_data_literal():
    from indoor.app.text import esc, md

    assert md("a_b*c [x](y) <b> $x$ :smile:") == r"a\_b\*c \[x\](y) \<b\> \$x\$ \:smile\:"
    assert md("1. first") == r"1\. first" and md("# h") == r"\# h"
    assert esc('<img src=x onerror="1">') == "&lt;img src=x onerror=&quot;1&quot;&gt;"


def test_pages_import_neither_torch_nor_umap(shared_copy):
    """The dashboard must start fast: rendering every page in a fresh process loads no torch and no umap."""
    import subprocess
    import sys

    script = f"""
import os, sys
os.environ["INDOOR_CACHE"] = {str(shared_copy)!r}
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({APP!r}, default_timeout=60).run()
for page in {[CONFUSION, GALLERY, RELABEL]!r}:
    at.switch_page(page).run()
    assert not at.exception, (page, at.exception)
print(sorted(m for m in ("torch", "umap", "timm", "numba") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
