"""``.relayout`` project files: round trip, and every kind of bad file refused clearly."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.document import EditDocument, load_project, project_bytes, save_project
from inference.errors import BadInputError, ProjectFileError


def rich_doc() -> EditDocument:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (18, 24, 3), dtype=np.uint8)
    labels = np.full((18, 24), 3, np.uint8)
    labels[9:] = 10
    labels[6:10, 4:9] = 21
    doc = EditDocument(photo, labels)
    doc.set_regions(np.arange(18 * 24, dtype=np.int32).reshape(18, 24) // 7)
    doc.paint_stroke([(2, 2), (12, 3)], size=3, class_id=5)
    doc.paint_stroke([(20, 15)], size=4, tool="mask_add")
    ref_labels = np.full((10, 8), 3, np.uint8)
    ref_labels[2:7, 3:5] = 5
    ref_id = doc.add_reference(rng.integers(0, 256, (10, 8, 3), dtype=np.uint8), ref_labels,
                               name="forest.jpg")
    doc.add_reference(np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16), np.uint8), name="b")
    doc.paste_reference(ref_id, doc.select_reference_region(ref_id, 3, 3), 18, 2)
    doc.set_result(rng.integers(0, 256, (18, 24, 3), dtype=np.uint8), doc.revision - 1)
    doc.metadata["source"] = "street.jpg"
    return doc


def assert_docs_equal(a: EditDocument, b: EditDocument) -> None:
    for name in ("photo", "original_labels", "labels", "user_mask", "regions"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.revision == b.revision and a.metadata == b.metadata
    assert a.next_reference_id == b.next_reference_id
    assert [(r.id, r.name) for r in a.references] == [(r.id, r.name) for r in b.references]
    for ra, rb in zip(a.references, b.references, strict=True):
        np.testing.assert_array_equal(ra.photo, rb.photo)
        np.testing.assert_array_equal(ra.labels, rb.labels)
    assert a.pastes == b.pastes
    assert a.last_result.revision == b.last_result.revision
    np.testing.assert_array_equal(a.last_result.image, b.last_result.image)


def test_round_trip_keeps_every_field(tmp_path: Path):
    doc = rich_doc()
    path = tmp_path / "edit.relayout"
    assert doc.is_modified
    save_project(doc, path)
    assert not doc.is_modified
    loaded = load_project(path)
    assert_docs_equal(doc, loaded)
    assert not loaded.is_modified and not loaded.can_undo
    assert not loaded.result_is_current  # the result was made one revision earlier
    assert loaded.paste_sources()[0].name == "forest.jpg"
    # The loaded document keeps editing normally, and new reference ids do not collide.
    assert loaded.add_reference(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)) == 3
    assert loaded.fill(0, 17, 4)


def test_round_trip_minimal_document(tmp_path: Path):
    doc = EditDocument(np.full((16, 16, 3), 9, np.uint8))
    save_project(doc, tmp_path / "p.relayout")
    loaded = load_project(tmp_path / "p.relayout")
    assert loaded.regions is None and loaded.last_result is None and loaded.references == ()
    np.testing.assert_array_equal(loaded.photo, doc.photo)


def members_of(doc: EditDocument) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(project_bytes(doc))) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def with_manifest(members: dict[str, bytes], **changes) -> dict[str, bytes]:
    manifest = json.loads(members["project.json"])
    manifest.update(changes)
    return {**members, "project.json": json.dumps(manifest).encode()}


def png(array: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


def test_truncated_and_corrupt_zip(tmp_path: Path):
    data = project_bytes(rich_doc())
    truncated = tmp_path / "truncated.relayout"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProjectFileError, match="corrupt or truncated zip"):
        load_project(truncated)
    garbage = tmp_path / "garbage.relayout"
    garbage.write_bytes(b"this is not a zip at all")
    with pytest.raises(ProjectFileError, match=r"garbage\.relayout is not a valid \.relayout"):
        load_project(garbage)
    # Flip bytes inside a stored member: the CRC check catches it.
    start = data.find(b"IDAT")
    damaged = tmp_path / "damaged.relayout"
    damaged.write_bytes(data[:start] + bytes(b ^ 0xFF for b in data[start:start + 40])
                        + data[start + 40:])
    with pytest.raises(ProjectFileError, match="corrupt"):
        load_project(damaged)
    with pytest.raises(ProjectFileError, match="not found"):
        load_project(tmp_path / "missing.relayout")


def test_wrong_version_and_format(tmp_path: Path):
    members = members_of(rich_doc())
    with pytest.raises(ProjectFileError, match=r"format version 2 is newer .*\(version 1\)"):
        load_project(write_zip(tmp_path / "v2.relayout", with_manifest(members, version=2)))
    with pytest.raises(ProjectFileError, match="invalid format version '1'"):
        load_project(write_zip(tmp_path / "vs.relayout", with_manifest(members, version="1")))
    with pytest.raises(ProjectFileError, match="not a Relayout project"):
        load_project(write_zip(tmp_path / "f.relayout", with_manifest(members, format="psd")))
    bad_json = {**members, "project.json": b"{not json"}
    with pytest.raises(ProjectFileError, match="not valid JSON"):
        load_project(write_zip(tmp_path / "j.relayout", bad_json))


@pytest.mark.parametrize("member", ["project.json", "labels_edited.png", "user_mask.png",
                                    "references/1/labels.png", "pastes/0.png", "result.png"])
def test_missing_member_is_named(tmp_path: Path, member: str):
    members = members_of(rich_doc())
    del members[member]
    with pytest.raises(ProjectFileError, match=f"missing member '{member}'"):
        load_project(write_zip(tmp_path / "m.relayout", members))


def test_mismatched_sizes_and_bad_values(tmp_path: Path):
    members = members_of(rich_doc())
    small = {**members, "labels_original.png": png(np.zeros((5, 7), np.uint8), "L")}
    with pytest.raises(ProjectFileError,
                       match=r"'labels_original.png' is 7×5 but the photo is 24×18"):
        load_project(write_zip(tmp_path / "s.relayout", small))
    with pytest.raises(ProjectFileError, match=r"photo.png is 24×18 but project.json says 30×18"):
        load_project(write_zip(tmp_path / "w.relayout", with_manifest(members, width=30)))
    bad = np.zeros((18, 24), np.uint8)
    bad[4, 6] = 200
    with pytest.raises(ProjectFileError, match=r"label 200 at \(x=6, y=4\)"):
        load_project(write_zip(tmp_path / "v.relayout",
                               {**members, "labels_edited.png": png(bad, "L")}))
    rgb_mask = {**members, "user_mask.png": png(np.zeros((18, 24, 3), np.uint8), "RGB")}
    with pytest.raises(ProjectFileError, match="mode RGB, expected L"):
        load_project(write_zip(tmp_path / "r.relayout", rgb_mask))
    manifest = json.loads(members["project.json"])
    manifest["pastes"][0]["reference_id"] = 42
    with pytest.raises(ProjectFileError, match="uses reference 42, which the project lacks"):
        load_project(write_zip(tmp_path / "p.relayout",
                               {**members, "project.json": json.dumps(manifest).encode()}))
    not_png = {**members, "photo.png": b"\x89PNG but not really"}
    with pytest.raises(ProjectFileError, match="'photo.png' is not a readable PNG"):
        load_project(write_zip(tmp_path / "n.relayout", not_png))


def test_failed_load_leaves_open_document_untouched(tmp_path: Path):
    doc = rich_doc()
    state = [doc.photo.copy(), doc.labels.copy(), doc.user_mask.copy()]
    revision, steps, refs = doc.revision, doc.history.undo_steps, doc.references
    # Fails late (after the photo and labels decoded): a bad paste entry.
    members = members_of(doc)
    manifest = json.loads(members["project.json"])
    manifest["pastes"][0]["source_bbox"] = [0, 0, 99, 99]
    bad = write_zip(tmp_path / "bad.relayout",
                    {**members, "project.json": json.dumps(manifest).encode()})
    with pytest.raises(ProjectFileError, match="not inside reference 1"):
        load_project(bad)
    np.testing.assert_array_equal(doc.photo, state[0])
    np.testing.assert_array_equal(doc.labels, state[1])
    np.testing.assert_array_equal(doc.user_mask, state[2])
    assert (doc.revision, doc.history.undo_steps, doc.references) == (revision, steps, refs)
    assert doc.can_undo and doc.undo()


def test_failed_save_keeps_the_previous_file(tmp_path: Path):
    path = tmp_path / "keep.relayout"
    doc = rich_doc()
    save_project(doc, path)
    original = path.read_bytes()
    doc.paint_stroke([(1, 1)], size=1, class_id=7)
    doc.metadata["bad"] = object()
    with pytest.raises(BadInputError, match="not JSON-serialisable"):
        save_project(doc, path)
    assert path.read_bytes() == original
    assert doc.is_modified  # not marked saved
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
