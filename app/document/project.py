"""``.relayout`` project files: a zip holding a version, the photo, labels, edits and references.

Layout of the zip (format version 1)::

    project.json                 format, version, size, revision, metadata, references, pastes
    photo.png                    RGB photo
    labels_original.png          8-bit label indices
    labels_edited.png            8-bit label indices
    user_mask.png                8-bit, 0 / 255
    regions.npy                  optional int32 region ids (numpy format, no pickles)
    result.png                   optional last result (its revision is in project.json)
    references/<id>/photo.png    each reference photo ...
    references/<id>/labels.png   ... and its labels
    pastes/<n>.png               mask of each paste (its placement is in project.json)

Saving is atomic (the whole zip is written to a temporary file and renamed). Loading validates
everything and builds a *new* document; a failed load raises :class:`ProjectFileError` naming
the problem and touches nothing. Undo history is not saved.

Loading trusts nothing in the file: only regular files are opened (not a FIFO that never ends,
not ``/dev/zero``); every size a zip entry or an array header declares is checked before it is
read; only the compressions we write (stored, deflate) and no encryption are accepted; JSON is
read with a size and depth cap and without NaN (:mod:`inference.jsonfile`).
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.document.core import ResultRecord
from app.document.document import EditDocument
from app.document.events import BBox
from app.document.references import Reference, ReferencePaste, readonly_copy
from inference.errors import BadInputError, ProjectFileError
from inference.imageio import MAX_PIXELS, MIN_SIDE, atomic_write_bytes
from inference.jsonfile import parse_json

FORMAT_NAME = "relayout-project"
FORMAT_VERSION = 1
PROJECT_SUFFIX = ".relayout"
MANIFEST = "project.json"
_MAX_MEMBER_BYTES = 2 * 1024**3  # refuse zip bombs before inflating anything
_MAX_TOTAL_BYTES = 8 * 1024**3   # all members together, as declared
_MAX_MANIFEST_BYTES = 1 << 20    # project.json; ours are a few KB
_MAX_INT = 2**31 - 1             # ids, revisions, pixel coordinates
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what save_project writes
_PNG_LEVEL = 3  # a 12 MP photo: fast enough to save, still ~lossless-small


# ---------------------------------------------------------------------- saving
def _png(array: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array), mode).save(buf, format="PNG",
                                                             compress_level=_PNG_LEVEL)
    return buf.getvalue()


def _mask_png(mask: np.ndarray) -> bytes:
    return _png(mask.astype(np.uint8) * 255, "L")


def project_bytes(doc: EditDocument) -> bytes:
    """The project file's bytes for ``doc`` (what :func:`save_project` writes)."""
    if doc.stroke_active:
        doc.end_stroke()
    h, w = doc.shape
    members: dict[str, bytes] = {
        "photo.png": _png(doc.photo, "RGB"),
        "labels_original.png": _png(doc.original_labels, "L"),
        "labels_edited.png": _png(doc.labels, "L"),
        "user_mask.png": _mask_png(doc.user_mask),
    }
    if doc.regions is not None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(doc.regions, dtype=np.int32), allow_pickle=False)
        members["regions.npy"] = buf.getvalue()
    result = None
    if doc.last_result is not None:
        members["result.png"] = _png(doc.last_result.image, "RGB")
        result = {"member": "result.png", "revision": doc.last_result.revision}
    references = []
    for ref in doc.references:
        base = f"references/{ref.id}"
        members[f"{base}/photo.png"] = _png(ref.photo, "RGB")
        members[f"{base}/labels.png"] = _png(ref.labels, "L")
        references.append({"id": ref.id, "name": ref.name, "photo": f"{base}/photo.png",
                           "labels": f"{base}/labels.png"})
    pastes = []
    for n, paste in enumerate(doc.pastes):
        members[f"pastes/{n}.png"] = _mask_png(paste.mask)
        b = paste.source_bbox
        pastes.append({"reference_id": paste.reference_id, "source_bbox": [b.x0, b.y0, b.x1, b.y1],
                       "target": list(paste.target), "mask": f"pastes/{n}.png"})
    manifest = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "width": w, "height": h,
        "revision": doc.revision, "regions": "regions.npy" if doc.regions is not None else None,
        "result": result, "references": references, "pastes": pastes,
        "next_reference_id": doc.next_reference_id,
        "metadata": doc.metadata,
    }
    try:
        manifest_bytes = json.dumps(manifest, indent=2, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"project metadata is not JSON-serialisable: {exc}") from None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(MANIFEST, manifest_bytes, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in members.items():
            # PNGs are compressed already; deflating them again only costs time.
            kind = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=kind)
    return buf.getvalue()


def save_project(doc: EditDocument, path: str | os.PathLike, *, mark_saved: bool = True) -> None:
    """Atomically write ``doc`` to ``path``; marks the document saved unless told not to."""
    data = project_bytes(doc)
    atomic_write_bytes(path, data)
    if mark_saved:
        doc.mark_saved()


# ---------------------------------------------------------------------- loading
class _Reader:
    """Reads and validates members of one open project zip; errors name the file and member."""

    def __init__(self, zf: zipfile.ZipFile, path: Path) -> None:
        self.zf, self.path = zf, path

    def fail(self, problem: str) -> ProjectFileError:
        return ProjectFileError(f"project file {self.path}: {problem}")

    def read(self, name: Any) -> bytes:
        if not isinstance(name, str):
            raise self.fail(f"member name must be a string, got {name!r}")
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise self.fail(f"missing member {name!r}") from None
        if info.file_size > _MAX_MEMBER_BYTES:
            raise self.fail(f"member {name!r} claims {info.file_size} bytes; the limit is "
                            f"{_MAX_MEMBER_BYTES}")
        if info.flag_bits & 0x1:
            raise self.fail(f"member {name!r} is encrypted; project files never are")
        if info.compress_type not in _COMPRESSIONS:
            raise self.fail(f"member {name!r} uses zip compression method {info.compress_type}; "
                            f"project files use stored (0) or deflate (8)")
        try:
            return self.zf.read(info)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError,
                NotImplementedError, RuntimeError) as exc:
            raise self.fail(f"member {name!r} is corrupt: {exc}") from None

    def image(self, name: Any, mode: str, size: tuple[int, int] | None) -> np.ndarray:
        """Decode a PNG member as ``mode`` (``RGB`` or ``L``); ``size`` is ``(W, H)`` it must be."""
        data = self.read(name)
        try:
            img = Image.open(io.BytesIO(data))
            if img.format != "PNG":
                raise self.fail(f"member {name!r} is {img.format}, expected PNG")
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise self.fail(f"member {name!r} is {w}×{h}, over the {MAX_PIXELS} pixel limit")
            img.load()
        except ProjectFileError:
            raise
        except Exception as exc:  # Pillow raises many exception types for bad data
            raise self.fail(f"member {name!r} is not a readable PNG: {exc}") from None
        if img.mode != mode:
            raise self.fail(f"member {name!r} has image mode {img.mode}, expected {mode}")
        if size is not None and img.size != size:
            raise self.fail(f"member {name!r} is {w}×{h} but the photo is {size[0]}×{size[1]}")
        return np.asarray(img).copy()

    def labels(self, name: Any, size: tuple[int, int]) -> np.ndarray:
        labels = self.image(name, "L", size)
        if labels.size and int(labels.max()) > 150:
            y, x = (int(v[0]) for v in np.nonzero(labels > 150))
            raise self.fail(f"member {name!r} has label {int(labels[y, x])} at (x={x}, y={y}), "
                            f"outside 0..150")
        return labels

    def mask(self, name: Any, size: tuple[int, int]) -> np.ndarray:
        return self.image(name, "L", size) > 0

    def regions(self, name: Any, size: tuple[int, int]) -> np.ndarray:
        data = self.read(name)
        try:
            # The header first: its declared shape must be the photo's before any array is made
            # (a header claiming 37 GB used to be allocated).
            fp = io.BytesIO(data)
            version = np.lib.format.read_magic(fp)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, fortran, dtype = read_header(fp)
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
            raise self.fail(f"member {name!r} is not a numpy array file: {exc}") from None
        if dtype != np.int32 or shape != (size[1], size[0]) or fortran:
            raise self.fail(f"member {name!r} is {dtype} {shape}, expected int32 "
                            f"{(size[1], size[0])}")
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except ProjectFileError:
            raise
        except (ValueError, OSError, EOFError) as exc:
            raise self.fail(f"member {name!r} is not a numpy array file: {exc}") from None
        if arr.dtype != np.int32 or arr.shape != (size[1], size[0]):
            raise self.fail(f"member {name!r} is {arr.dtype} {arr.shape}, expected int32 "
                            f"{(size[1], size[0])}")
        return arr


def _field(manifest: dict, key: str, kind: type | tuple[type, ...], reader: _Reader) -> Any:
    if key not in manifest:
        raise reader.fail(f"{MANIFEST} has no {key!r} field")
    value = manifest[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise reader.fail(f"{MANIFEST} field {key!r} has the wrong type: {value!r}")
    if kind is int and not 0 <= value <= _MAX_INT:
        raise reader.fail(f"{MANIFEST} field {key!r} is {value}, outside 0..{_MAX_INT}")
    return value


def _int_list(value: Any, length: int, what: str, reader: _Reader) -> list[int]:
    if not (isinstance(value, list) and len(value) == length
            and all(isinstance(v, int) and not isinstance(v, bool) and abs(v) <= _MAX_INT
                    for v in value)):
        raise reader.fail(f"{what} must be a list of {length} integers within ±{_MAX_INT}, "
                          f"got {value!r}")
    return value


def _load_manifest(reader: _Reader) -> dict:
    manifest = parse_json(reader.read(MANIFEST), f"project file {reader.path}: {MANIFEST}",
                          ProjectFileError, _MAX_MANIFEST_BYTES)
    if not isinstance(manifest, dict):
        raise reader.fail(f"{MANIFEST} must hold a JSON object")
    if manifest.get("format") != FORMAT_NAME:
        raise reader.fail(f"not a Relayout project (format {manifest.get('format')!r}, "
                          f"expected {FORMAT_NAME!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise reader.fail(f"invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise reader.fail(f"format version {version} is newer than this Relayout reads "
                          f"(version {FORMAT_VERSION}); update Relayout to open it")
    return manifest


def _load_references(manifest: dict, reader: _Reader) -> tuple[Reference, ...]:
    refs: list[Reference] = []
    for i, entry in enumerate(_field(manifest, "references", list, reader)):
        if not isinstance(entry, dict):
            raise reader.fail(f"reference #{i} must be an object, got {entry!r}")
        ref_id = _field(entry, "id", int, reader)
        if any(r.id == ref_id for r in refs):
            raise reader.fail(f"reference id {ref_id} appears twice")
        photo = reader.image(entry.get("photo"), "RGB", None)
        labels = reader.labels(entry.get("labels"), (photo.shape[1], photo.shape[0]))
        try:
            refs.append(Reference.create(ref_id, photo, labels, _field(entry, "name", str, reader)))
        except BadInputError as exc:
            raise reader.fail(f"reference {ref_id}: {exc}") from None
    return tuple(refs)


def _load_pastes(manifest: dict, refs: tuple[Reference, ...], photo_shape: tuple[int, int],
                 reader: _Reader) -> tuple[ReferencePaste, ...]:
    pastes = []
    by_id = {r.id: r for r in refs}
    for i, entry in enumerate(_field(manifest, "pastes", list, reader)):
        if not isinstance(entry, dict):
            raise reader.fail(f"paste #{i} must be an object, got {entry!r}")
        ref_id = _field(entry, "reference_id", int, reader)
        if ref_id not in by_id:
            raise reader.fail(f"paste #{i} uses reference {ref_id}, which the project lacks")
        box = BBox(*_int_list(entry.get("source_bbox"), 4, f"paste #{i} source_bbox", reader))
        if box.is_empty or box.clip(by_id[ref_id].shape) != box:
            raise reader.fail(f"paste #{i} source box {box} is not inside reference {ref_id}")
        target = _int_list(entry.get("target"), 2, f"paste #{i} target", reader)
        mask = reader.mask(entry.get("mask"), None)
        if mask.shape != (box.height, box.width):
            raise reader.fail(f"paste #{i} mask is {mask.shape[1]}×{mask.shape[0]} but its "
                              f"source box is {box.width}×{box.height}")
        paste = ReferencePaste(ref_id, box, readonly_copy(mask), (target[0], target[1]))
        if paste.target_bbox.clip(photo_shape).is_empty:  # what make_paste refuses too
            raise reader.fail(f"paste #{i} target (x={target[0]}, y={target[1]}) puts its "
                              f"{box.width}×{box.height} region entirely outside the photo")
        pastes.append(paste)
    return tuple(pastes)


def _build(reader: _Reader) -> EditDocument:
    manifest = _load_manifest(reader)
    w, h = _field(manifest, "width", int, reader), _field(manifest, "height", int, reader)
    photo = reader.image("photo.png", "RGB", None)
    if min(photo.shape[:2]) < MIN_SIDE:  # what load_image refuses for a photo
        raise reader.fail(f"photo.png is {photo.shape[1]}×{photo.shape[0]}; each side must be "
                          f"at least {MIN_SIDE} px")
    if photo.shape[:2] != (h, w):
        raise reader.fail(f"photo.png is {photo.shape[1]}×{photo.shape[0]} but {MANIFEST} says "
                          f"{w}×{h}")
    size = (w, h)
    original = reader.labels("labels_original.png", size)
    edited = reader.labels("labels_edited.png", size)
    user_mask = reader.mask("user_mask.png", size)
    regions_member = manifest.get("regions")
    regions = None if regions_member is None else reader.regions(regions_member, size)
    refs = _load_references(manifest, reader)
    pastes = _load_pastes(manifest, refs, (h, w), reader)
    revision = _field(manifest, "revision", int, reader)
    if revision < 0:
        raise reader.fail(f"revision must be >= 0, got {revision}")
    result = None
    result_entry = manifest.get("result")
    if result_entry is not None:
        if not isinstance(result_entry, dict):
            raise reader.fail(f"result must be an object or null, got {result_entry!r}")
        result_rev = _field(result_entry, "revision", int, reader)
        if not 0 <= result_rev <= revision:
            raise reader.fail(f"result revision {result_rev} is outside 0..{revision}")
        image = reader.image(result_entry.get("member"), "RGB", size)
        result = ResultRecord(readonly_copy(image), result_rev)
    metadata = manifest.get("metadata", {})
    if not isinstance(metadata, dict):
        raise reader.fail(f"metadata must be an object, got {metadata!r}")
    next_id = manifest.get("next_reference_id", 1)
    if not isinstance(next_id, int) or isinstance(next_id, bool):
        raise reader.fail(f"next_reference_id must be an integer, got {next_id!r}")
    doc = EditDocument(photo, original, edited_labels=edited, user_mask=user_mask,
                       regions=regions)
    doc._restore_state(references=refs, pastes=pastes, result=result, revision=revision,
                       next_reference_id=next_id, metadata=metadata)
    return doc


def load_project(path: str | os.PathLike) -> EditDocument:
    """Read and validate a project file into a new :class:`EditDocument`.

    Raises :class:`ProjectFileError` naming the file and the problem; on failure nothing else
    (in particular no open document) is touched.
    """
    path = Path(path)
    try:
        st = os.stat(path)  # follows a symbolic link: what it points at must be a plain file
    except FileNotFoundError:
        raise ProjectFileError(f"project file not found: {path}") from None
    except OSError as exc:
        raise ProjectFileError(f"cannot read project file {path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ProjectFileError(f"project path is a folder, not a file: {path}")
    if not stat.S_ISREG(st.st_mode):
        raise ProjectFileError(f"project path {path} is not a regular file (a device, pipe or "
                               f"socket); open a .relayout file")
    try:
        with zipfile.ZipFile(path) as zf:
            declared = sum(i.file_size for i in zf.infolist())
            if declared > _MAX_TOTAL_BYTES:
                raise ProjectFileError(f"project file {path} declares {declared} bytes of "
                                       f"content; the limit is {_MAX_TOTAL_BYTES}")
            return _build(_Reader(zf, path))
    except ProjectFileError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, NotImplementedError,
            RuntimeError) as exc:  # what zipfile raises for broken or unsupported archives
        raise ProjectFileError(
            f"project file {path} is not a valid .relayout file (corrupt or truncated zip): "
            f"{exc}") from None
    except BadInputError as exc:
        raise ProjectFileError(f"project file {path}: {exc}") from None
