"""The regions scores behind the README's table: achievable segmentation accuracy, boundary
recall and precision, on hand-made cases whose answers are known."""

from __future__ import annotations

import numpy as np
from PIL import Image

from training.regions_eval import main, score


def test_scores_of_perfect_and_merged_regions():
    gt = np.zeros((20, 20), np.uint8)
    gt[:, :10] = 3
    gt[:, 10:] = 5
    gt[:2] = 0  # "other": not scored
    perfect = score("p", (gt > 4).astype(np.int32) + 1, gt, 2, 0.0)
    assert perfect.asa == 1.0 and perfect.recall == 1.0
    one = score("one", np.ones((20, 20), np.int32), gt, 2, 0.0)
    assert one.asa == 0.5 and one.recall == 0.0 and one.region_boundary == 0
    shifted = np.ones((20, 20), np.int32)
    shifted[:, 14:] = 2  # the border 4 px off: beyond a 2-px tolerance, within 4 px
    assert score("s", shifted, gt, 2, 0.0).recall == 0.0
    assert score("s", shifted, gt, 4, 0.0).recall == 1.0
    assert score("s", shifted, gt, 2, 0.0).asa == 0.8


def test_command_on_an_ade20k_folder(tmp_path, capsys):
    for sub in ("images/validation", "annotations/validation"):
        (tmp_path / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    photo = np.zeros((48, 64, 3), np.uint8)
    photo[:, :32] = (200, 40, 40)
    photo[:, 32:] = (40, 40, 200)
    photo = np.clip(photo + rng.integers(-5, 6, photo.shape), 0, 255).astype(np.uint8)
    labels = np.where(np.arange(64)[None, :] < 32, 3, 5).repeat(48, 0).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "images/validation/a.jpg", quality=95)
    Image.fromarray(labels, "L").save(tmp_path / "annotations/validation/a.png")
    out = tmp_path / "r.json"
    assert main(["--data", str(tmp_path), "--regions", "4", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| pooled |" in text and out.is_file()
    assert main(["--data", str(tmp_path), "--set", "nope=1"]) == 2
