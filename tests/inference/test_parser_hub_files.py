"""Hub parsers: a local folder laid out exactly like the huggingface-hub cache, offline mode,
and the messages for models that are not there. Nothing here touches the network."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from inference.errors import BadInputError, ModelUnavailableError
from inference.parser import PARSERS
from inference.parser.hub_files import HubFile, parse_hub_spec, repo_cache_folder
from inference.parser.loader import load_parser
from tests.inference.test_parser_models import build_colour_model, halves

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def put_in_hub_cache(cache: Path, repo_id: str, filename: str, source: Path, commit: str = COMMIT,
                     branch: str | None = "main") -> Path:
    """Store ``source`` the way huggingface-hub does: content-addressed blob, snapshot symlink,
    and ``refs/<branch>`` holding the commit hash."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    data = source.read_bytes()
    blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = repo / "snapshots" / commit / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    if branch:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / branch).write_text(commit)
    return link


@pytest.fixture()
def offline_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return build_colour_model(tmp_path_factory.mktemp("hubmodel") / "model.onnx")


def test_hf_spec_from_cache_by_branch_and_by_commit(offline_cache, model_file):
    link = put_in_hub_cache(offline_cache, "test-org/tiny-parser", "onnx/model.onnx", model_file)
    assert link.is_symlink()
    for spec in ("hf:test-org/tiny-parser/onnx/model.onnx",
                 f"hf:test-org/tiny-parser/onnx/model.onnx@{COMMIT}"):
        parser = load_parser(spec)
        assert parser.path.resolve() == link.resolve()
        labels = parser.parse(halves(64, 96), refine=False).labels
        assert labels[30, 5] == 1 and labels[30, 90] == 3


def test_registry_name_resolves_to_its_pinned_revision(offline_cache, model_file):
    entry = PARSERS["segformer-b0-ade"]
    put_in_hub_cache(offline_cache, entry.repo_id, entry.filename, model_file,
                     commit=entry.revision, branch=None)
    parser = load_parser("segformer-b0-ade")
    assert parser.name == "segformer-b0-ade"
    assert entry.revision in str(parser.path)
    assert parser.parse(halves(32, 32)).labels.shape == (32, 32)


def test_pinned_commit_in_cache_needs_no_network_even_online(tmp_path, monkeypatch, model_file):
    import huggingface_hub.file_download as fd

    from inference.parser import hub_files

    def no_network(*args, **kwargs):
        raise AssertionError("the Hub was asked for metadata of a pinned, cached file")

    cache = tmp_path / "c"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hub_files, "hub_reachable", lambda timeout=3.0: True)  # pretend online
    monkeypatch.setattr(fd, "_get_metadata_or_catch_error", no_network)
    put_in_hub_cache(cache, "test-org/pinned", "m.onnx", model_file, branch=None)
    parser = load_parser(f"hf:test-org/pinned/m.onnx@{COMMIT}")
    assert parser.path.name == "m.onnx"


def test_offline_missing_registry_model_message(offline_cache):
    with pytest.raises(ModelUnavailableError) as info:
        load_parser("segformer-b0-ade")
    msg = str(info.value)
    entry = PARSERS["segformer-b0-ade"]
    assert "\n" not in msg  # the CLI prints it as one line
    assert "segformer-b0-ade" in msg and entry.repo_id in msg and entry.revision in msg
    assert str(repo_cache_folder(entry.repo_id, offline_cache)) in msg  # where it would be
    assert "HF_HUB_OFFLINE=1" in msg  # why it is not fetched
    assert f"hf download {entry.repo_id} {entry.filename} --revision {entry.revision}" in msg
    assert "--parser PATH.onnx" in msg and "--parser regions" in msg


def test_offline_missing_file_of_cached_repo(offline_cache, model_file):
    put_in_hub_cache(offline_cache, "test-org/tiny-parser", "onnx/model.onnx", model_file)
    with pytest.raises(ModelUnavailableError, match="onnx/other.onnx.*not in the local"):
        load_parser("hf:test-org/tiny-parser/onnx/other.onnx")
    with pytest.raises(ModelUnavailableError, match="@v2"):
        load_parser("hf:test-org/tiny-parser/onnx/model.onnx@v2")


@pytest.mark.parametrize("spec", ["hf:", "hf:org/repo", "hf:org/repo/model.bin",
                                  "hf:org//model.onnx", "hf:org/repo/model.onnx@",
                                  "hf:bad org/repo/model.onnx"])
def test_malformed_hub_specs(spec):
    with pytest.raises(BadInputError):
        parse_hub_spec(spec)


def test_hub_spec_parts():
    f = parse_hub_spec("hf:Xenova/segformer-b0-finetuned-ade-512-512/onnx/model.onnx@abc")
    assert f == HubFile("Xenova/segformer-b0-finetuned-ade-512-512", "onnx/model.onnx", "abc")
    assert parse_hub_spec("hf:a/b/c.onnx").revision == "main"


def test_registry_entries_are_pinned_or_say_they_are_not():
    for name, entry in PARSERS.items():
        assert entry.name == name
        assert entry.filename.endswith(".onnx") and entry.licence and entry.size_mb > 0
        if entry.revision_verified:
            assert re.fullmatch(r"[0-9a-f]{40}", entry.revision), name
        else:
            assert entry.revision == "main", name
    assert PARSERS["segformer-b0-ade"].revision_verified


def test_result_is_full_resolution_uint8(offline_cache, model_file):
    put_in_hub_cache(offline_cache, "test-org/tiny-parser", "onnx/model.onnx", model_file)
    labels = load_parser("hf:test-org/tiny-parser/onnx/model.onnx").parse(halves(50, 70)).labels
    assert labels.shape == (50, 70) and labels.dtype == np.uint8


def test_unreachable_hub_fails_fast_with_the_cache_only(tmp_path, monkeypatch):
    from inference.parser import hub_files

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hub_files, "hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ModelUnavailableError, match="Hub could not be reached"):
        load_parser("hf:test-org/absent/model.onnx")
