"""Hostile and broken input to ``main.py edit`` and ``main.py parse`` (issue 13).

Every case builds its files in a fresh folder, runs the command in-process and checks the
contract: exit status 2, one ``error:`` line, no traceback, and every file in the folder exactly
as it was (the outputs the command was refused for are not there either).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from inference.imageio import load_image, save_image, save_label_map, save_mask
from inference.labels import colorize
from tests.hostile import assert_refused, read_only_folder, run_cli, snapshot
from training.synth import generate_scene

H, W = 48, 64


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    """The bytes of a small valid edit case: photo, labels, edited labels, mask."""
    d = tmp_path_factory.mktemp("originals")
    img, lab = generate_scene(5, (H, W))
    edited = lab.copy()
    edited[5:25, 20:50] = lab[0, 0]
    mask = np.zeros((H, W), bool)
    mask[30:40, 5:15] = True
    save_image(d / "P.png", img)
    save_label_map(d / "L.png", lab)
    save_label_map(d / "L2.png", edited)
    save_mask(d / "M.png", mask)
    # 9. label maps that used to pass: int32 TIFFs with negative values, lossy files
    for name, value in (("neg.tif", -106), ("m1.tif", -1)):
        wide = lab.astype(np.int32)
        wide[3, 7] = value
        Image.fromarray(wide, "I").save(d / name)
    Image.fromarray(edited, "L").save(d / "L2.jpg", quality=95)
    Image.fromarray(edited, "L").save(d / "L2.webp", quality=90)
    Image.fromarray(colorize(edited)).save(d / "L2-lossless.webp", lossless=True)  # RGB only
    # 11. a photo stored 64×48 with EXIF orientation 6 (loads as 48×64), labels left unrotated
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(img).save(d / "rot.jpg", exif=exif.tobytes())
    return {p.name: p.read_bytes() for p in d.iterdir()}


@pytest.fixture
def case(tmp_path, originals) -> Path:
    for name, data in originals.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.png").mkdir()
    os.mkfifo(tmp_path / "pipe.png")
    os.link(tmp_path / "P.png", tmp_path / "hardlink.png")
    (tmp_path / "symlink.png").symlink_to(tmp_path / "L2.png")
    return tmp_path


def edit_argv(d: Path, *extra: str) -> list[str]:
    base = ["edit", "--warp", "hrs-ms", "--image", d / "P.png", "--labels", d / "L.png",
            "--edited-labels", d / "L2.png", "--working-size", "64", "--iterations", "2"]
    flags = [str(x) for x in extra if str(x).startswith("--")]
    if "--out" not in flags:
        base += ["--out", d / "o.png"]
    return base + [x.replace("{d}", str(d)) if isinstance(x, str) else x for x in extra]


# (case id, extra arguments of E, words the one-line error must hold)
EDIT_CASES = [
    # 1. unwritable outputs: refused before any work
    ("out-under-a-file", ["--out", "{d}/P.png/x.png"], ["P.png is a file, not a folder"]),
    ("out-is-a-folder", ["--out", "{d}/folder.png"], ["is a folder"]),
    ("out-folder-no-suffix", ["--out", "{d}"], ["unknown file type"]),
    ("out-in-proc", ["--out", "/proc/x.png"], ["cannot write in folder /proc"]),
    ("out-in-sys", ["--out", "/sys/x.png"], ["cannot write in folder /sys"]),
    ("out-folder-missing", ["--out", "{d}/nope/x.png"], ["folder", "nope does not exist"]),
    ("out-is-a-fifo", ["--out", "{d}/pipe.png"], ["not a regular file"]),
    ("save-warped-in-proc", ["--save-warped", "/proc/w.png"], ["--save-warped", "/proc"]),
    # 2. unbounded numbers: argparse ranges
    ("seed-overflow", ["--seed", "1180591620717411303424"], ["--seed", "outside 0..2147483647"]),
    ("seed-negative", ["--seed", "-1"], ["--seed", "outside"]),
    ("seed-5000-digits", ["--seed", "9" * 5000], ["--seed", "expected an integer"]),
    ("iterations-huge", ["--iterations", "100000000"], ["--iterations", "outside 1..50"]),
    ("particles-zero", ["--particles", "0"], ["--particles", "outside 1..8"]),
    ("working-size-small", ["--working-size", "8"], ["--working-size", "outside 32..4096"]),
    ("working-size-huge", ["--working-size", "100000"], ["--working-size", "outside"]),
    ("quality-zero", ["--quality", "0"], ["--quality", "outside 1..100"]),
    ("quality-text", ["--quality", "high"], ["--quality", "expected an integer"]),
    # 5. outputs that would destroy inputs (real path and inode)
    ("out-is-edited-labels", ["--out", "{d}/L2.png"], ["same file as --edited-labels"]),
    ("out-is-image", ["--out", "{d}/P.png"], ["same file as --image"]),
    ("out-is-labels", ["--out", "{d}/L.png"], ["same file as --labels"]),
    ("out-is-mask", ["--mask", "{d}/M.png", "--out", "{d}/M.png"], ["same file as --mask"]),
    ("out-hard-link-to-image", ["--out", "{d}/hardlink.png"], ["same file as --image"]),
    ("out-symlink-to-labels", ["--out", "{d}/symlink.png"], ["same file as --edited-labels"]),
    ("out-image-via-dots", ["--out", "{d}/folder.png/../P.png"], ["same file as --image"]),
    ("warped-is-out", ["--save-warped", "{d}/o.png"], ["--save-warped", "same file"]),
    ("warped-is-image", ["--save-warped", "{d}/P.png"], ["--save-warped", "--image"]),
    # 6. checked before the first write
    ("warped-gif-after-out", ["--save-warped", "{d}/o.gif"], ["--save-warped", "'.gif'"]),
    ("out-gif", ["--out", "{d}/o.gif"], ["--out", "unknown file type '.gif'"]),
    # 9. label maps: the file and the true value; no lossy formats
    ("label-int32-negative", ["--edited-labels", "{d}/neg.tif"],
     ["neg.tif", "value -106 at (x=7, y=3)", "outside 0..150"]),
    ("label-minus-one", ["--labels", "{d}/m1.tif"], ["m1.tif", "value -1 at (x=7, y=3)"]),
    ("label-jpeg", ["--edited-labels", "{d}/L2.jpg"], ["L2.jpg", "lossy JPEG", "PNG"]),
    ("label-lossy-webp", ["--edited-labels", "{d}/L2.webp"], ["L2.webp", "lossy WEBP"]),
    # 11. regions are not classes; EXIF orientation named in the size error
    ("parser-regions-no-labels", None, ["regions", "not ADE20K classes", "--labels"]),
    ("exif-rotated-photo", ["--image", "{d}/rot.jpg"],
     ["is 64×48 but the photo is 48×64", "EXIF orientation (6: rotated 90°)",
      "rotate the label map"]),
]


@pytest.mark.parametrize(("extra", "needles"), [c[1:] for c in EDIT_CASES],
                         ids=[c[0] for c in EDIT_CASES])
def test_edit_refuses_before_any_work(case, capfd, monkeypatch, extra, needles):
    from inference.pipeline.editor import LayoutEditor

    def no_work(*_args, **_kwargs):
        raise AssertionError("the edit ran before the refusal")

    monkeypatch.setattr(LayoutEditor, "edit", no_work)
    before = snapshot(case)
    if extra is None:  # no --labels: the photo would need parsing
        argv = ["edit", "--image", case / "P.png", "--edited-labels", case / "L2.png",
                "--parser", "regions", "--out", case / "o.png"]
    else:
        argv = edit_argv(case, *extra)
    assert_refused(run_cli(main.main, argv, capfd), *needles)
    assert snapshot(case) == before


def test_read_only_folder_is_refused_before_the_edit(case, capfd, monkeypatch):
    """A read-only mount refuses file creation with EROFS (root included)."""
    ro = read_only_folder(monkeypatch, case / "ro")
    before = snapshot(case)
    out = run_cli(main.main, edit_argv(case, "--out", ro / "x.png"), capfd)
    assert_refused(out, "cannot write in folder", "Read-only file system")
    assert snapshot(case) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a mode-0555 folder")
def test_folder_without_write_permission_is_refused(case, capfd):
    locked = case / "locked"
    locked.mkdir(mode=0o555)
    out = run_cli(main.main, edit_argv(case, "--out", locked / "x.png"), capfd)
    assert_refused(out, "cannot write in folder", "Permission denied")


def test_disk_full_keeps_the_old_file_and_no_temp(case, capfd, monkeypatch):
    """A write that fails after the checks: one line with the path and the OS reason."""
    (case / "o.png").write_bytes(b"old result")
    before = snapshot(case)

    def full(_fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = run_cli(main.main, edit_argv(case), capfd)
    assert_refused(out, f"cannot write {case / 'o.png'}", "No space left on device")
    assert snapshot(case) == before


def test_lossy_output_gets_one_note_and_png_none(case, capfd):
    jpg = run_cli(main.main, edit_argv(case, "--out", case / "v.jpg"), capfd)
    assert jpg.code == 0, jpg.err
    notes = [line for line in jpg.err.splitlines() if line.strip()]
    assert len(notes) == 1 and notes[0].startswith("note: ") and "JPEG is lossy" in notes[0]
    png = run_cli(main.main, edit_argv(case, "--out", case / "v.png"), capfd)
    assert png.code == 0 and png.err.strip() == ""
    webp = run_cli(main.main, edit_argv(case, "--out", case / "v.webp", "--quality", "100",
                                        "--edited-labels", case / "L2-lossless.webp"), capfd)
    assert webp.code == 0 and webp.err.strip() == ""  # a lossless WebP label map is accepted
    # The pixel contract: lossless outputs are bit-identical outside the edit.
    photo = load_image(case / "P.png")
    for name in ("v.png", "v.webp"):
        changed = (load_image(case / name) != photo).any(axis=2)
        assert changed.any() and not changed[40:, :].any(), name


# ---------------------------------------------------------------------------- parse
def _onnx_parser(path: Path, nan: bool = False) -> Path:
    """A tiny 150-class ONNX parser (4×4 pooling, 1×1 conv); ``nan`` makes every logit NaN."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.zeros((150, 3, 1, 1), np.float32)
    b = np.full(150, -50.0, np.float32)
    for c in range(3):
        w[c, c], b[c] = 5.0, 0.0
    if nan:
        b[:] = np.nan
    graph = helper.make_graph(
        [helper.make_node("AveragePool", ["pixel_values"], ["p"], kernel_shape=[4, 4],
                          strides=[4, 4]),
         helper.make_node("Conv", ["p", "W", "B"], ["logits"])], "parser",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 150, "oh", "ow"])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


PARSE_CASES = [
    ("out-is-image", ["--parser", "regions", "--out", "{d}/P.png"], ["same file as --image"]),
    ("out-hard-link", ["--parser", "regions", "--out", "{d}/hardlink.png"], ["--image"]),
    ("out-jpg", ["--parser", "regions", "--out", "{d}/x.jpg"], ["'.jpg'", ".png"]),
    ("out-in-proc", ["--parser", "regions", "--out", "/proc/x.png"], ["/proc"]),
    ("out-is-folder", ["--parser", "regions", "--out", "{d}/folder.png"], ["is a folder"]),
    ("regions-zero", ["--parser", "regions", "--regions", "0"], ["--regions", "outside 1..150"]),
    ("input-size-huge", ["--input-size", "100000"], ["--input-size", "outside 32..2048"]),
    ("label-offset", ["--label-offset", "5"], ["--label-offset", "outside 0..1"]),
    ("std-zero", ["--std", "0,0,0"], ["--std", "outside [0.001, 10]"]),
    ("std-inf", ["--std", "inf,1,1"], ["--std", "finite"]),
    ("mean-nan", ["--mean", "nan,nan,nan"], ["--mean", "finite"]),
    ("mean-two", ["--mean", "0.5,0.5"], ["--mean", "three numbers"]),
    ("model-outputs-nan", ["--parser", "{d}/nan.onnx"], ["nan.onnx", "non-finite"]),
    ("model-is-out", ["--parser", "{d}/tiny.onnx", "--out", "{d}/tiny.onnx"], ["'.onnx'"]),
]


@pytest.mark.parametrize(("extra", "needles"), [c[1:] for c in PARSE_CASES],
                         ids=[c[0] for c in PARSE_CASES])
def test_parse_refuses(case, capfd, extra, needles):
    _onnx_parser(case / "tiny.onnx")
    _onnx_parser(case / "nan.onnx", nan=True)
    before = snapshot(case)
    extra = [x.replace("{d}", str(case)) for x in extra]
    argv = ["parse", "--image", case / "P.png"]
    if "--parser" not in extra:
        argv += ["--parser", case / "tiny.onnx"]
    if "--out" not in extra:
        argv += ["--out", case / "labels.png"]
    assert_refused(run_cli(main.main, argv + extra, capfd), *needles)
    assert snapshot(case) == before


def test_onnx_runtime_errors_are_one_line(case, capfd):
    """A model failing inside ONNX Runtime: our line only, none of ORT's log lines."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Reshape", ["pixel_values", "S"], ["logits"])], "broken",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 150, "oh", "ow"])],
        [numpy_helper.from_array(np.array([1, 150, 7, 7], np.int64), "S")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(case / "broken.onnx"))
    out = run_cli(main.main, ["parse", "--image", case / "P.png", "--out", case / "l.png",
                              "--parser", case / "broken.onnx", "--input-size", "64"], capfd)
    assert_refused(out, "broken.onnx failed")
    assert not (case / "l.png").exists()
