"""Hugging Face Hub access for models and checkpoints: cache, offline mode, clear errors.

Everything honours ``HF_HUB_OFFLINE`` and ``HF_HUB_CACHE``/``HF_HOME`` as read *at call time*
(huggingface-hub reads them once at import), so tests and the GUI can switch them on the fly.
Failures never surface as tracebacks: a missing model raises :class:`ModelUnavailableError`
saying which model, where it would be cached, and how to get it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from inference.errors import ModelUnavailableError

_TRUE = {"1", "on", "yes", "true"}


def hub_cache_dir() -> Path:
    """The huggingface-hub cache folder, following its environment variables as of now."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.path.expandvars(os.environ["HF_HUB_CACHE"])).expanduser()
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.path.expandvars(os.environ["HUGGINGFACE_HUB_CACHE"])).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or the older ``TRANSFORMERS_OFFLINE``) is set."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _TRUE


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub endpoint answers a TCP connection within ``timeout`` seconds.

    huggingface-hub retries a failed request five times with back-off (about 25 s) before it
    falls back to the cache, which is how long a user without network would wait on every run.
    Behind a proxy a direct connection says nothing, so we then assume reachable.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def _unavailable(
    what: str, repo: str, revision: str | None, exc: Exception
) -> ModelUnavailableError:
    mode = ("offline mode is on (HF_HUB_OFFLINE=1)" if hub_offline()
            else "the Hugging Face Hub could not be reached")
    rev = f" --revision {revision}" if revision else ""
    return ModelUnavailableError(
        f"{what} hf:{repo}{'@' + revision if revision else ''} is not in the local cache "
        f"({hub_cache_dir()}) and {mode}; on a connected machine run `hf download "
        f"{repo}{rev}` and copy that cache here, or pass a local path "
        f"[{type(exc).__name__}]"
    )


def hub_snapshot(repo: str, revision: str | None, patterns: list[str], what: str) -> Path:
    """Local folder of a repo snapshot (only files matching ``patterns``)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    offline = hub_offline()
    local_only = offline or not hub_reachable()
    try:
        path = snapshot_download(repo, revision=revision, cache_dir=hub_cache_dir(),
                                 local_files_only=local_only, allow_patterns=patterns)
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise ModelUnavailableError(f"{what} hf:{repo} does not exist on the Hub: {exc}") from None
    except Exception as exc:  # any download failure becomes one clear message
        raise _unavailable(what, repo, revision, exc) from None
    return Path(path)
