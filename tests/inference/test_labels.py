from __future__ import annotations

import numpy as np
import pytest

from inference.errors import LabelMapError
from inference.labels import (
    NUM_CLASSES,
    class_id,
    class_table,
    colorize,
    decolorize,
    palette,
    search_classes,
    validate_label_values,
)


def test_table_has_all_classes_in_order():
    table = class_table()
    assert len(table) == NUM_CLASSES + 1
    assert [c.id for c in table] == list(range(NUM_CLASSES + 1))
    assert table[0].name == "other"
    assert table[3].name == "sky" and table[3].color == (6, 230, 230)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("window", 9), ("windowpane", 9), ("Sky", 3), ("tree", 5), ("table", 16),
     ("pool table", 57), ("coffee table", 65), ("car", 21), ("automobile", 21),
     ("lake", 129), ("palm", 73), ("  Swimming   Pool ", 110), ("ground", 14)],
)
def test_lookup_by_name_and_alias(name, expected):
    assert class_id(name) == expected


def test_unknown_name_is_named_in_error():
    with pytest.raises(LabelMapError, match="'unicorn'"):
        class_id("unicorn")


def test_search_ranks_exact_then_prefix():
    hits = search_classes("tab")
    assert hits[0].id == 16
    assert {57, 65} <= {h.id for h in hits}
    assert search_classes("sky")[0].id == 3
    assert len(search_classes("")) == NUM_CLASSES


def test_colorize_decolorize_round_trip():
    labels = np.tile(np.arange(NUM_CLASSES + 1, dtype=np.uint8), (3, 1))
    back = decolorize(colorize(labels))
    # road and skyscraper share a palette colour in the benchmark palette; everything else is exact
    assert (palette()[7] == palette()[49]).all()
    expected = labels.copy()
    expected[expected == 49] = 7
    np.testing.assert_array_equal(back, expected)


def test_decolorize_names_offending_pixel():
    rgb = colorize(np.full((4, 5), 3, dtype=np.uint8))
    rgb[2, 4] = (1, 2, 3)
    with pytest.raises(LabelMapError, match=r"x=4, y=2.*\(1, 2, 3\)"):
        decolorize(rgb)


@pytest.mark.parametrize(
    ("labels", "match"),
    [(np.zeros((2, 2, 1), np.uint8), "2-D"), (np.zeros((2, 2), np.int32), "uint8"),
     (np.array([[0, 151]], np.uint8), "151 at \\(x=1, y=0\\)")],
)
def test_validate_label_values(labels, match):
    with pytest.raises(LabelMapError, match=match):
        validate_label_values(labels)
