from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from inference.errors import ImageError, LabelMapError, OutputError
from inference.imageio import (
    MAX_PIXELS,
    atomic_write_bytes,
    load_image,
    load_label_map,
    load_mask,
    save_image,
    save_label_map,
    save_mask,
)
from inference.labels import colorize, palette


def _photo(h=20, w=30):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _smooth_photo(h=32, w=48):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], -1).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp", ".jpg"])
def test_photo_round_trip_every_format(tmp_path, suffix):
    rgb = _photo() if suffix in (".png", ".bmp", ".tif") else _smooth_photo()
    path = tmp_path / f"p{suffix}"
    save_image(path, rgb, quality=100)
    back = load_image(path)
    assert back.shape == rgb.shape and back.dtype == np.uint8
    if suffix in (".png", ".bmp", ".tif"):
        np.testing.assert_array_equal(back, rgb)
    else:  # lossy at quality 100: close, not equal
        assert np.abs(back.astype(int) - rgb.astype(int)).mean() < 3


def test_exif_orientation_applied(tmp_path):
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :20] = 255  # left half white
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    path = tmp_path / "o.jpg"
    img.save(path, exif=exif, quality=95)
    out = load_image(path)
    assert out.shape == (40, 20, 3)
    assert out[:10].mean() > 200 and out[-10:].mean() < 50  # white half now on top


def test_grayscale_16bit_and_alpha(tmp_path):
    g16 = (np.arange(20 * 20, dtype=np.uint16).reshape(20, 20) * 160)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    out = load_image(tmp_path / "g16.png")
    assert out.shape == (20, 20, 3)
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == round(g16[-1, -1] / 257)
    assert (out[..., 0] == out[..., 2]).all()

    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 0  # fully transparent -> white
    rgba[:10, :, 3] = 255  # opaque top half keeps its colour
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert tuple(out[0, 0]) == (200, 0, 0) and tuple(out[-1, -1]) == (255, 255, 255)


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.jpg")
    (tmp_path / "text.png").write_text("hello, not an image")
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(tmp_path / "text.png")
    buf = io.BytesIO()
    Image.fromarray(_photo(200, 200)).save(buf, format="JPEG")
    (tmp_path / "trunc.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(tmp_path / "trunc.jpg")
    Image.fromarray(_photo(8, 40)).save(tmp_path / "tiny.png")
    with pytest.raises(ImageError, match="at least 16"):
        load_image(tmp_path / "tiny.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_over_limit_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS**0.5) + 10
    # A PNG header claiming a huge size is enough: we must refuse before decoding pixels.
    Image.new("1", (side, side)).save(tmp_path / "huge.png")
    with pytest.raises(ImageError, match="limit is 100 MP"):
        load_image(tmp_path / "huge.png")


def test_label_map_index_and_colour(tmp_path):
    labels = np.random.default_rng(1).integers(0, 151, (20, 24), dtype=np.uint8)
    labels[labels == 49] = 3
    save_label_map(tmp_path / "l.png", labels)
    np.testing.assert_array_equal(load_label_map(tmp_path / "l.png", shape=(20, 24)), labels)
    save_label_map(tmp_path / "c.png", labels, color=True)
    np.testing.assert_array_equal(load_label_map(tmp_path / "c.png"), labels)
    # a palette-mode PNG whose palette is the ADE20K palette decodes the same
    pimg = Image.fromarray(labels, "L").convert("P")
    pimg.putpalette(palette().reshape(-1).tolist())
    pimg.save(tmp_path / "p.png")
    np.testing.assert_array_equal(load_label_map(tmp_path / "p.png"), labels)
    with pytest.raises(LabelMapError, match="is 24×20 but the photo is 30×20"):
        load_label_map(tmp_path / "l.png", shape=(20, 30))


def test_label_map_errors(tmp_path):
    Image.fromarray(np.full((20, 20), 200, np.uint8), "L").save(tmp_path / "big.png")
    with pytest.raises(LabelMapError, match="value 200 at"):
        load_label_map(tmp_path / "big.png")
    rgb = colorize(np.ones((20, 20), np.uint8))
    rgb[5, 7] = (9, 9, 9)
    Image.fromarray(rgb).save(tmp_path / "badc.png")
    with pytest.raises(LabelMapError, match=r"x=7, y=5"):
        load_label_map(tmp_path / "badc.png")
    with pytest.raises(LabelMapError, match="PNG"):
        save_label_map(tmp_path / "l.jpg", np.zeros((20, 20), np.uint8))
    (tmp_path / "junk.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(LabelMapError, match="label map"):
        load_label_map(tmp_path / "junk.png")


def test_mask_round_trip(tmp_path):
    mask = np.zeros((20, 20), bool)
    mask[3:9, 4:12] = True
    save_mask(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", shape=(20, 20)), mask)
    with pytest.raises(ImageError, match="mask"):
        load_mask(tmp_path / "m.png", shape=(21, 20))


def test_atomic_save_leaves_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    save_image(path, _photo())
    before = path.read_bytes()

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    # A failed write is the user's to fix (free space, pick another folder): one line naming
    # the path and the OS reason, through the error hierarchy.
    with pytest.raises(OutputError, match=r"cannot write .*out\.png: disk full"):
        save_image(path, _photo(30, 30))
    with pytest.raises(OutputError, match=r"cannot write .*out\.png: disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp files left behind


def test_unknown_save_format(tmp_path):
    with pytest.raises(ImageError, match=r"unknown file type '\.xyz'"):
        save_image(tmp_path / "a.xyz", _photo())


def test_webp_at_quality_100_is_lossless_and_the_note_names_lossy_formats(tmp_path):
    from inference.imageio import lossy_format_note

    photo = _photo(40, 48)
    save_image(tmp_path / "a.webp", photo, quality=100)
    np.testing.assert_array_equal(load_image(tmp_path / "a.webp"), photo)
    save_image(tmp_path / "b.webp", photo, quality=90)
    assert (load_image(tmp_path / "b.webp") != photo).any()
    for name, quality in (("x.jpg", 95), ("x.JPEG", 100), ("x.webp", 99)):
        assert "lossy" in lossy_format_note(tmp_path / name, quality)
    for name in ("x.png", "x.tif", "x.tiff", "x.bmp", "x.webp"):
        assert lossy_format_note(tmp_path / name, 100) is None


@pytest.mark.parametrize(("value", "shown"), [(-106, "-106"), (-1, "-1"), (151, "151"),
                                              (70000, "70000")])
def test_wide_integer_label_maps_report_the_true_value(tmp_path, value, shown):
    wide = np.full((16, 20), 3, np.int32)
    wide[4, 9] = value
    Image.fromarray(wide, "I").save(tmp_path / "l.tif")
    with pytest.raises(LabelMapError, match=rf"l\.tif: value {shown} at \(x=9, y=4\) is outside"):
        load_label_map(tmp_path / "l.tif")
    wide[4, 9] = 150
    Image.fromarray(wide, "I").save(tmp_path / "ok.tif")
    assert load_label_map(tmp_path / "ok.tif")[4, 9] == 150
