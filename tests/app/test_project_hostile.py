"""Hostile ``.relayout`` files: every one refused with ``ProjectFileError`` (issue 13, fault 4).

Each case builds a broken project in a temp folder; the loader must raise the project error
naming the problem -- no other exception type, no hang, no huge read or allocation -- and the
GUI must show each refusal in an error dialog and keep the open document.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from app.document import load_project, project_bytes
from inference.errors import ProjectFileError
from tests.app.test_project_file import rich_doc


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


def _patch_headers(data: bytes, member: str, *, method: int | None = None,
                   flag: int | None = None) -> bytes:
    """Rewrite ``member``'s compression method / flag bits in its local and central headers."""
    out = bytearray(data)
    name = member.encode()
    for sig, flag_at, method_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 8, 26, 30),
                                                          (b"PK\x01\x02", 8, 10, 28, 46)):
        pos = out.find(sig)
        while pos >= 0:
            n = struct.unpack_from("<H", out, pos + name_len_at)[0]
            if bytes(out[pos + name_at:pos + name_at + n]) == name:
                if method is not None:
                    struct.pack_into("<H", out, pos + method_at, method)
                if flag is not None:
                    struct.pack_into("<H", out, pos + flag_at, flag)
            pos = out.find(sig, pos + 4)
    return bytes(out)


def _with_manifest(change) -> bytes:
    members = _members(project_bytes(rich_doc()))
    manifest = json.loads(members["project.json"])
    members["project.json"] = change(manifest).encode()
    return _zip(members)


def _manifest_field(key, value):
    def change(manifest):
        manifest[key] = value
        return json.dumps(manifest)
    return change


def _paste_target(target):
    def change(manifest):
        manifest["pastes"][0]["target"] = target
        return json.dumps(manifest)
    return change


def _huge_regions() -> bytes:
    members = _members(project_bytes(rich_doc()))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i4", "fortran_order": False, "shape": (100_000, 92_000)})
    members["regions.npy"] = header.getvalue() + b"\0" * 64  # claims 36.8 GB, holds 64 bytes
    return _zip(members)


def _tiny_photo() -> bytes:
    from app.document import EditDocument

    doc = EditDocument(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8))
    return project_bytes(doc)


def _valid() -> bytes:
    return project_bytes(rich_doc())


# (case id, how to make the file at PATH, words the error must hold)
CASES = [
    ("unsupported-compression",
     lambda p: p.write_bytes(_patch_headers(_valid(), "photo.png", method=98)),
     ["'photo.png'", "compression method 98"]),
    ("encrypted-member",
     lambda p: p.write_bytes(_patch_headers(_valid(), "project.json", flag=0x1)),
     ["'project.json'", "encrypted"]),
    ("5000-digit-integer",
     lambda p: p.write_bytes(_with_manifest(
         lambda m: json.dumps(m).replace('"revision": ', '"revision": ' + "9" * 5000 + ", "
                                         '"x": ', 1))),
     ["project.json", "digits"]),
    ("deep-json",
     lambda p: p.write_bytes(_with_manifest(
         lambda m: json.dumps({**m, "metadata": {}})[:-1] + ', "deep": '
         + "[" * 10_000 + "]" * 10_000 + "}")),
     ["nested too deeply"]),
    ("nan-in-metadata",
     lambda p: p.write_bytes(_with_manifest(
         lambda m: json.dumps({**m, "metadata": {"gamma": float("nan")}}))),
     ["NaN"]),
    ("regions-header-claims-37GB", lambda p: p.write_bytes(_huge_regions()),
     ["'regions.npy'", "(100000, 92000)", "expected int32 (18, 24)"]),
    ("symlink-to-dev-zero", lambda p: p.symlink_to("/dev/zero"), ["not a regular file"]),
    ("fifo", lambda p: os.mkfifo(p), ["not a regular file"]),
    ("paste-target-outside", lambda p: p.write_bytes(_with_manifest(_paste_target([500, 2]))),
     ["paste #0 target (x=500, y=2)", "outside the photo"]),
    ("paste-target-1e30", lambda p: p.write_bytes(_with_manifest(_paste_target([10**30, 0]))),
     ["paste #0 target", "integers within"]),
    ("photo-under-16px", lambda p: p.write_bytes(_tiny_photo()), ["8×8", "at least 16 px"]),
    ("revision-huge", lambda p: p.write_bytes(_with_manifest(_manifest_field("revision", 2**40))),
     ["'revision'", "outside 0.."]),
    ("manifest-over-1MB",
     lambda p: p.write_bytes(_with_manifest(lambda m: json.dumps(m) + " " * (2 << 20))),
     ["project.json", "limit"]),
]


@pytest.mark.parametrize(("make", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_project_is_refused_with_project_error(tmp_path, make, needles):
    path = tmp_path / "hostile.relayout"
    make(path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_valid_project_still_loads(tmp_path):
    path = tmp_path / "ok.relayout"
    path.write_bytes(_valid())
    assert load_project(path).shape == (18, 24)
    link = tmp_path / "link.relayout"
    link.symlink_to(path)  # a link to a regular file is fine
    assert load_project(link).shape == (18, 24)


def test_gui_shows_a_dialog_for_every_refused_project(qtbot, tmp_path):
    from app.prompts import ScriptedPrompts
    from tests.app.test_gui_files import TREE, make_window

    prompts = ScriptedPrompts()
    window = make_window(qtbot, tmp_path, prompts)
    try:
        photo = np.random.default_rng(1).integers(0, 256, (32, 40, 3), dtype=np.uint8)
        from app.document import EditDocument

        window.session.set_document(EditDocument(photo, np.full((32, 40), 3, np.uint8)))
        doc = window.session.document
        doc.paint_stroke([(5, 5)], size=3, class_id=TREE)
        labels = np.array(doc.labels)
        prompts.save_choice = "discard"
        for i, (name, make, _needles) in enumerate(CASES):
            path = tmp_path / f"{i}-{name}.relayout"
            make(path)
            assert not window.files.open_project(str(path)), name
            assert len(prompts.errors) == i + 1, name
            assert path.name in prompts.errors[-1], name
            assert window.session.document is doc
        np.testing.assert_array_equal(doc.labels, labels)
    finally:
        window.worker.shutdown()
