"""Hugging Face Hub access for models and checkpoints: cache, offline mode, clear errors.

Everything honours ``HF_HUB_OFFLINE`` and ``HF_HUB_CACHE``/``HF_HOME`` as read *at call time*
(huggingface-hub reads them once at import), so tests and the GUI can switch them on the fly.
Failures never surface as tracebacks: a missing model raises :class:`ModelUnavailableError`
saying which model, where it would be cached, and how to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

from inference.errors import ModelUnavailableError

_TRUE = {"1", "on", "yes", "true"}


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` asks for no network access."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def cache_dir() -> Path:
    """The hub cache folder huggingface-hub would use now."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface")
    return Path(home).expanduser() / "hub"


def _unavailable(
    what: str, repo: str, revision: str | None, exc: Exception
) -> ModelUnavailableError:
    mode = ("offline mode is on (HF_HUB_OFFLINE=1)" if offline()
            else "the Hugging Face Hub could not be reached")
    rev = f" --revision {revision}" if revision else ""
    return ModelUnavailableError(
        f"{what} hf:{repo}{'@' + revision if revision else ''} is not in the local cache "
        f"({cache_dir()}) and {mode}; on a connected machine run `huggingface-cli download "
        f"{repo}{rev}` and copy that cache here, or pass a local path "
        f"[{type(exc).__name__}]"
    )


def hub_snapshot(repo: str, revision: str | None, patterns: list[str], what: str) -> Path:
    """Local folder of a repo snapshot (only files matching ``patterns``)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        path = snapshot_download(repo, revision=revision, cache_dir=cache_dir(),
                                 local_files_only=offline(), allow_patterns=patterns)
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise ModelUnavailableError(f"{what} hf:{repo} does not exist on the Hub: {exc}") from None
    except Exception as exc:
        raise _unavailable(what, repo, revision, exc) from None
    return Path(path)


def hub_file(repo: str, filename: str, revision: str | None, what: str) -> Path:
    """Local path of one file of a hub repo, downloading it unless offline."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        path = hf_hub_download(repo, filename, revision=revision, cache_dir=cache_dir(),
                               local_files_only=offline())
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
        raise ModelUnavailableError(
            f"{what} hf:{repo}/{filename} does not exist on the Hub: {exc}") from None
    except Exception as exc:
        raise _unavailable(what, repo, revision, exc) from None
    return Path(path)
