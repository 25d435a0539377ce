"""Progressive generate: the edit so far is shown while the engine refines it, the result
replaces it, and a second generate on the same photo reuses the engine's source side."""

from __future__ import annotations

import numpy as np
import pytest

from app.canvas import ViewMode
from app.canvas.rendering import ViewLayer
from app.document import EditDocument
from app.settings import EditorSettings
from inference.labels import class_id
from inference.samples import load_sample
from tests.app.windows import editor_window


@pytest.fixture
def window(qtbot, tmp_path):
    yield from editor_window(
        qtbot, tmp_path,
        EditorSettings(warp="hrs-ms", working_size=128, parser="regions", device="cpu"))


def _kite_deleted() -> EditDocument:
    """The README's kite, painted over as sky (the photo at a quarter size: a fast test)."""
    photo, labels = load_sample("kite.jpg")
    photo, labels = np.ascontiguousarray(photo[::4, ::4]), np.ascontiguousarray(labels[::4, ::4])
    doc = EditDocument(photo, labels)
    edited = labels.copy()
    edited[labels == class_id("flag")] = class_id("sky")
    doc.replace_labels(edited, "edited")
    return doc


def test_the_preview_arrives_before_the_result_and_the_result_replaces_it(window, qtbot):
    doc = _kite_deleted()
    window.session.set_document(doc)
    order: list[tuple[str, object]] = []
    window.generation.previewReady.connect(lambda im, stage: order.append(("preview", stage)))
    window.generation.resultReady.connect(lambda res: order.append(("result", res)))
    with qtbot.waitSignal(window.generation.previewReady, timeout=60000) as first:
        window.acts.generate.trigger()
    image, stage = first.args
    # first the warp's coarse stage (hrs-ms), then the warp, then each coarse synthesis level
    assert stage == "coarse warp"
    assert image.shape == doc.photo.shape and image.dtype == np.uint8
    # shown where the result will be, marked as a preview, outside the mask the photo
    assert window.canvas.mode is ViewMode.RESULT
    assert window.canvas.base_layer() is ViewLayer.PREVIEW
    assert "PREVIEW" in window.canvas.overlays.badge_text(doc)
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000) as done:
        pass
    result = done.args[0]
    kinds = [k for k, _ in order]
    assert kinds[0] == "preview" and kinds[-1] == "result" and kinds.count("result") == 1
    stages = [s for k, s in order if k == "preview"]
    assert stages[:2] == ["coarse warp", "warp"]
    assert [s for s in stages[2:] if s.startswith("level")], "a coarse level follows the warp"
    np.testing.assert_array_equal(image[~result.mask], doc.photo[~result.mask])
    assert not window.canvas.renderer.has(ViewLayer.PREVIEW)
    assert window.canvas.base_layer() is ViewLayer.RESULT


def test_a_second_generate_reuses_the_source_side_and_gives_the_same_result(window, qtbot):
    doc = _kite_deleted()
    window.session.set_document(doc)
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000) as one:
        window.generation.generate()
    cache = window.generation.sources.held
    made = cache.misses
    assert made > 0 and len(cache) > 0
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000) as two:
        window.generation.generate()
    assert cache.misses == made and cache.hits >= made
    np.testing.assert_array_equal(two.args[0].image, one.args[0].image)
    # another photo: the cache goes with the old one
    window.session.set_document(EditDocument(doc.photo.copy(), doc.original_labels.copy()))
    assert window.generation.sources.held is None


def test_editing_during_a_generate_drops_the_preview(window, qtbot):
    doc = _kite_deleted()
    window.session.set_document(doc)
    with qtbot.waitSignal(window.generation.previewReady, timeout=60000):
        window.generation.generate()
    with qtbot.waitSignal(window.generation.previewCleared, timeout=5000):
        doc.replace_labels(doc.original_labels.copy(), "edited")   # a new revision
    assert not window.canvas.renderer.has(ViewLayer.PREVIEW)
    assert window.canvas.mode is ViewMode.EDIT        # back to the view the preview switched from
    window.generation.cancel()
    qtbot.waitUntil(lambda: not window.generation.busy, timeout=60000)


def test_cancelling_after_the_preview_clears_it_and_returns_to_the_layout(window, qtbot):
    doc = _kite_deleted()
    window.session.set_document(doc)
    assert window.canvas.mode is ViewMode.EDIT
    with qtbot.waitSignal(window.generation.previewReady, timeout=60000):
        window.acts.generate.trigger()
    assert window.canvas.mode is ViewMode.RESULT
    with qtbot.waitSignal(window.generation.previewCleared, timeout=60000):
        window.acts.cancel.trigger()
    qtbot.waitUntil(lambda: not window.generation.busy, timeout=60000)
    assert not window.canvas.renderer.has(ViewLayer.PREVIEW)
    assert window.canvas.mode is ViewMode.EDIT and doc.last_result is None
