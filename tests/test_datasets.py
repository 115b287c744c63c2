"""Data set discovery and image loading, including every bad input the foundation issue lists."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indoor.data.layouts import DataError, discover
from indoor.data.images import ImageLoadError, load_rgb


def _jpeg(path: Path, color=(120, 80, 40), size=(40, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format="JPEG")
    return path


def _flat(root: Path, classes=("bar", "deli"), per_class=5) -> Path:
    for class_name in classes:
        for i in range(per_class):
            _jpeg(root / class_name / f"{class_name}_{i}.jpg", color=(20 * i, 100, 50))
    return root


# ------------------------------------------------------------------------------------------------ layouts


def test_indoor67_layout_with_split_files(tmp_path):
    root = tmp_path / "indoorCVPR_09"
    for class_name in ("kitchen", "bar"):
        for i in range(3):
            _jpeg(root / "Images" / class_name / f"int{i}.jpg")
    (root / "TrainImages.txt").write_text("kitchen/int0.jpg\nkitchen/int1.jpg\nbar/int0.jpg\nbar/int1.jpg\n")
    (root / "TestImages.txt").write_text("kitchen/int2.jpg\r\nbar/int2.jpg\r\n\n")
    index = discover(root)
    assert index.layout == "indoor67"
    assert index.classes == ["bar", "kitchen"]
    assert sorted(index.samples["sample_id"])[0] == "Images/bar/int0.jpg"
    assert index.samples.groupby("split").size().to_dict() == {"test": 2, "train": 4}


def test_indoor67_split_files_beside_the_images_folder(tmp_path):
    root = tmp_path / "indoorCVPR_09"
    for i in range(2):
        _jpeg(root / "Images" / "bar" / f"b{i}.jpg")
    (tmp_path / "TrainImages.txt").write_text("bar/b0.jpg\n")
    (tmp_path / "TestImages.txt").write_text("bar/b1.jpg\n")
    assert discover(root).layout == "indoor67"


def test_indoor67_unparseable_line_names_file_and_line(tmp_path):
    root = tmp_path / "i67"
    _jpeg(root / "Images" / "bar" / "b0.jpg")
    (root / "TrainImages.txt").write_text("bar/b0.jpg\nthis line has no slash\n")
    (root / "TestImages.txt").write_text("")
    with pytest.raises(DataError, match=r"TrainImages.txt line 2"):
        discover(root)


def test_indoor67_listed_but_missing_file_is_skipped_not_fatal(tmp_path):
    root = tmp_path / "i67"
    for i in range(2):
        _jpeg(root / "Images" / "bar" / f"b{i}.jpg")
    (root / "TrainImages.txt").write_text("bar/b0.jpg\nbar/gone.jpg\n")
    (root / "TestImages.txt").write_text("bar/b1.jpg\n")
    index = discover(root)
    assert [m[0] for m in index.missing] == ["Images/bar/gone.jpg"]
    assert len(index.samples) == 2


def test_indoor67_duplicate_line(tmp_path):
    root = tmp_path / "i67"
    _jpeg(root / "Images" / "bar" / "b0.jpg")
    (root / "TrainImages.txt").write_text("bar/b0.jpg\n")
    (root / "TestImages.txt").write_text("bar/b0.jpg\n")
    with pytest.raises(DataError, match=r"duplicate path 'bar/b0.jpg'.*TrainImages.txt line 1.*TestImages.txt line 1"):
        discover(root)


def test_split_folders_layout_with_val(tmp_path):
    for split, n in (("train", 4), ("val", 1), ("test", 2)):
        for class_name in ("bar", "deli"):
            for i in range(n):
                _jpeg(tmp_path / split / class_name / f"{i}.jpg")
    (tmp_path / "train" / "bar" / "notes.txt").write_text("not an image, ignored")
    index = discover(tmp_path)
    assert index.layout == "split-folders"
    assert index.samples.groupby("split").size().to_dict() == {"test": 4, "train": 8, "val": 2}
    assert "train/bar/0.jpg" in set(index.samples["sample_id"])


def test_split_folders_class_only_in_test(tmp_path):
    _jpeg(tmp_path / "train" / "bar" / "0.jpg")
    _jpeg(tmp_path / "test" / "bar" / "1.jpg")
    _jpeg(tmp_path / "test" / "sauna" / "2.jpg")
    with pytest.raises(DataError, match=r"class 'sauna' appears only in the test"):
        discover(tmp_path)


def test_split_folders_needs_test(tmp_path):
    _jpeg(tmp_path / "train" / "bar" / "0.jpg")
    with pytest.raises(DataError, match=r"no .*test"):
        discover(tmp_path)


def test_flat_layout_stratified_seeded_split_is_stable(tmp_path):
    root = _flat(tmp_path / "flat", per_class=10)
    first = discover(root, test_fraction=0.3, seed=1).samples
    again = discover(root, test_fraction=0.3, seed=1).samples
    other = discover(root, test_fraction=0.3, seed=2).samples
    assert first.equals(again)
    assert (first.groupby("label")["split"].apply(lambda s: (s == "test").sum()) == 3).all()
    assert not first["split"].equals(other["split"])
    # adding an image to one class does not move any existing image between splits
    _jpeg(root / "bar" / "zz_new.jpg")
    grown = discover(root, test_fraction=0.3, seed=1).samples.set_index("sample_id")["split"]
    assert (grown.loc[first["sample_id"]].to_numpy() == first["split"].to_numpy()).mean() > 0.8


def test_missing_root(tmp_path):
    with pytest.raises(DataError, match=r"data root does not exist: .*nowhere"):
        discover(tmp_path / "nowhere")


def test_no_classes(tmp_path):
    with pytest.raises(DataError, match=r"no classes found"):
        discover(tmp_path)


def test_empty_class(tmp_path):
    _flat(tmp_path)
    (tmp_path / "sauna").mkdir()
    with pytest.raises(DataError, match=r"class 'sauna' is empty"):
        discover(tmp_path)


def test_unknown_layout_loose_images(tmp_path):
    _jpeg(tmp_path / "a.jpg")
    with pytest.raises(DataError, match=r"unknown layout"):
        discover(tmp_path)


# ------------------------------------------------------------------------------------------------ manifest


def test_manifest_with_and_without_split(tmp_path):
    _flat(tmp_path / "imgs", per_class=4)
    rows = ["path,label,split"] + [f"imgs/bar/bar_{i}.jpg,bar,{'test' if i == 0 else 'train'}" for i in range(4)]
    rows += [f"imgs/deli/deli_{i}.jpg,deli,train" for i in range(4)]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    index = discover(tmp_path, manifest=tmp_path / "labels.csv")
    assert index.layout == "manifest" and index.classes == ["bar", "deli"]
    assert (index.samples["split"] == "test").sum() == 1
    (tmp_path / "nosplit.csv").write_text("path,label\n" + "\n".join(r.rsplit(",", 1)[0] for r in rows[1:]))
    index = discover(tmp_path, manifest=tmp_path / "nosplit.csv", test_fraction=0.25)
    assert (index.samples["split"] == "test").sum() == 2


@pytest.mark.parametrize(
    "body, message",
    [
        ("path,label\n../outside.jpg,bar\n", r"line 2: path '../outside.jpg' escapes the data root"),
        ("path,label\n/etc/passwd,bar\n", r"line 2: path '/etc/passwd' escapes the data root"),
        ("path,label\nimgs/bar/bar_0.jpg,bar\nimgs/bar/bar_0.jpg,bar\n", r"line 3: duplicate path"),
        ("path,label,split\nimgs/bar/bar_0.jpg,bar,holdout\n", r"line 2: split 'holdout'"),
        ("file,label\nimgs/bar/bar_0.jpg,bar\n", r"line 1: missing column 'path'"),
        ("path,label\nimgs/bar/bar_0.jpg,\n", r"line 2: empty label"),
        ("", r"is empty"),
    ],
)
def test_manifest_errors_name_the_line(tmp_path, body, message):
    _flat(tmp_path / "imgs", per_class=2)
    (tmp_path / "m.csv").write_text(body)
    with pytest.raises(DataError, match=message):
        discover(tmp_path, manifest=tmp_path / "m.csv")


@pytest.mark.parametrize(
    "data, message",
    [
        ("path,label\nimgs/bar/bar_0.jpg,bar\nimgs/bar/bar_1.jpg,caf\u00e9\n".encode("latin-1"),
         r"m.csv line 3: not UTF-8 text \(byte 0xe9\); save the file as CSV UTF-8"),
        (b"path,label\nimgs/bar/bar_0.jpg,b\x00ar\n", r"m.csv line 2: contains a NUL byte"),
        (b"path,label\nimgs/bar/bar_0.jpg," + b"x" * 140_000 + b"\n", r"m.csv line 2: field larger than field limit"),
        (b"path,label\nimgs/bar/bar_0.jpg," + b"x" * 5_000 + b"\n", r"m.csv line 2: a cell of 5,000 characters"),
    ],
)
def test_odd_manifest_files_get_one_message(tmp_path, data, message):
    _flat(tmp_path / "imgs", per_class=2)
    (tmp_path / "m.csv").write_bytes(data)
    with pytest.raises(DataError, match=message):
        discover(tmp_path, manifest=tmp_path / "m.csv")


def test_a_utf8_manifest_with_a_bom_keeps_its_class_names(tmp_path):
    _flat(tmp_path / "imgs", per_class=2)
    (tmp_path / "m.csv").write_bytes("path,label\nimgs/bar/bar_0.jpg,caf\u00e9\nimgs/bar/bar_1.jpg,caf\u00e9\n"
                                     .encode("utf-8-sig"))
    assert discover(tmp_path, manifest=tmp_path / "m.csv").classes == ["caf\u00e9"]


def test_manifest_class_only_in_test(tmp_path):
    _flat(tmp_path / "imgs", per_class=2)
    body = "path,label,split\nimgs/bar/bar_0.jpg,bar,train\nimgs/bar/bar_1.jpg,bar,test\nimgs/deli/deli_0.jpg,deli,test\n"
    (tmp_path / "m.csv").write_text(body)
    with pytest.raises(DataError, match=r"class 'deli' appears only in the test"):
        discover(tmp_path, manifest=tmp_path / "m.csv")


# ------------------------------------------------------------------------------------------------ images


def test_load_rgb_handles_modes_and_lying_extensions(tmp_path):
    cases = {
        "gray.jpg": Image.new("L", (20, 10), 128),
        "palette.png": Image.new("P", (20, 10), 3),
        "rgba.png": Image.new("RGBA", (20, 10), (255, 0, 0, 0)),
        "la.png": Image.new("LA", (20, 10), (10, 255)),
        "cmyk.jpg": Image.new("CMYK", (20, 10), (0, 255, 255, 0)),
        "bilevel.png": Image.new("1", (20, 10), 1),
    }
    for name, image in cases.items():
        image.save(tmp_path / name)
    sixteen = Image.fromarray(np.full((10, 20), 65535, dtype=np.uint16))
    sixteen.save(tmp_path / "sixteen.png")
    Image.new("RGB", (20, 10), (0, 0, 255)).save(tmp_path / "actually_gif.jpg", format="GIF")
    Image.new("RGB", (20, 10), (0, 255, 0)).save(tmp_path / "actually_png.jpg", format="PNG")
    for path in sorted(tmp_path.iterdir()):
        image = load_rgb(path)
        assert image.mode == "RGB" and image.size == (20, 10), path.name
    assert load_rgb(tmp_path / "rgba.png").getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    assert load_rgb(tmp_path / "sixteen.png").getpixel((0, 0)) == (255, 255, 255)  # 16-bit white stays white
    red, green, blue = load_rgb(tmp_path / "cmyk.jpg").getpixel((5, 5))
    assert red > 200 and green < 60 and blue < 60  # CMYK (0,255,255,0) is red
    assert load_rgb(tmp_path / "actually_png.jpg").getpixel((1, 1)) == (0, 255, 0)


def test_load_rgb_applies_exif_orientation_and_reports_original_size(tmp_path):
    image = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90
    image.save(tmp_path / "rot.jpg", exif=exif)
    loaded = load_rgb(tmp_path / "rot.jpg")
    assert loaded.size == (20, 40)
    assert loaded.info["original_size"] == (20, 40)


@pytest.mark.parametrize(
    "name, make, reason",
    [
        ("empty.jpg", lambda p: p.write_bytes(b""), "empty file"),
        ("text.jpg", lambda p: p.write_text("hello, I am not a picture"), "not a recognised image"),
        ("missing.jpg", lambda p: None, "cannot read file"),
    ],
)
def test_load_rgb_bad_files(tmp_path, name, make, reason):
    path = tmp_path / name
    make(path)
    with pytest.raises(ImageLoadError, match=reason):
        load_rgb(path)


def test_load_rgb_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="truncated|cannot decode"):
        load_rgb(tmp_path / "cut.jpg")


def test_load_rgb_refuses_decompression_bomb(tmp_path):
    # a tiny PNG file that declares 20000 x 20000 pixels
    Image.new("1", (20000, 20000)).save(tmp_path / "bomb.png", optimize=True)
    assert (tmp_path / "bomb.png").stat().st_size < 1_000_000
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_rgb(tmp_path / "bomb.png")
