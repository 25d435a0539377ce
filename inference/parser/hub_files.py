"""Fetching parser ONNX files from the Hugging Face Hub into its standard cache.

``hf:ORG/REPO/PATH/FILE.onnx[@REVISION]`` names one file of one repository. Files are resolved with
huggingface-hub's own ``hf_hub_download``, so the cache layout (``models--ORG--REPO/snapshots/
<commit>/…``, ``refs/<branch>``) and offline rules are the library's. Two things are read at call
time rather than at import (huggingface-hub reads its environment once, when first imported):
``HF_HUB_CACHE`` / ``HF_HOME`` for the cache folder and ``HF_HUB_OFFLINE`` for offline mode, so a
GUI setting or a test can change them for the running process.

Every failure becomes a :class:`ModelUnavailableError` whose one-line message says which model,
where it would be cached, and how to get it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from inference.errors import BadInputError, ModelUnavailableError
from inference.hub import hub_cache_dir, hub_offline, hub_reachable

HUB_PREFIX = "hf:"
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class HubFile:
    """One file of one Hub model repository at one revision (branch, tag or commit hash)."""

    repo_id: str
    filename: str
    revision: str = "main"

    @property
    def spec(self) -> str:
        return f"{HUB_PREFIX}{self.repo_id}/{self.filename}@{self.revision}"


def parse_hub_spec(spec: str) -> HubFile:
    """``hf:ORG/REPO/PATH/FILE.onnx[@REV]`` -> :class:`HubFile`; malformed -> BadInputError."""
    if not spec.startswith(HUB_PREFIX):
        raise BadInputError(f"not a Hub model reference (must start with 'hf:'): {spec!r}")
    body, _, revision = spec[len(HUB_PREFIX):].partition("@")
    parts = body.split("/")
    if len(parts) < 3 or not all(parts):
        raise BadInputError(
            f"Hub model reference {spec!r} must look like hf:ORG/REPO/FILE.onnx[@REVISION]"
        )
    org, repo = parts[0], parts[1]
    if not (_REPO_PART.match(org) and _REPO_PART.match(repo)):
        raise BadInputError(f"Hub model reference {spec!r} has an invalid repository name")
    filename = "/".join(parts[2:])
    if not filename.endswith(".onnx"):
        raise BadInputError(f"Hub model reference {spec!r} must name an .onnx file")
    if "@" in spec and not revision:
        raise BadInputError(f"Hub model reference {spec!r} has an empty revision after '@'")
    return HubFile(f"{org}/{repo}", filename, revision or "main")


def repo_cache_folder(repo_id: str, cache_dir: Path | None = None) -> Path:
    """Where huggingface-hub keeps ``repo_id``: ``<cache>/models--ORG--REPO``."""
    return (cache_dir or hub_cache_dir()) / ("models--" + repo_id.replace("/", "--"))


def _how_to_get(file: HubFile, label: str) -> str:
    return (
        f"to get it, go online once and rerun (the file is downloaded and cached), or run "
        f"'hf download {file.repo_id} {file.filename} --revision {file.revision}', or download "
        f"the .onnx yourself and pass --parser PATH.onnx; without a parser, use --parser regions "
        f"(model: {label})"
    )


def fetch_hub_file(file: HubFile, label: str | None = None, offline: bool | None = None) -> Path:
    """Local path of ``file``, downloading it into the cache unless offline.

    ``label`` names the model in messages (a registry name, else the spec). A pinned commit hash
    already in the cache is used without touching the network, online or not; when the Hub
    cannot be reached, the cache alone is used at once.
    """
    label = label or file.spec
    cache = hub_cache_dir()
    where = repo_cache_folder(file.repo_id, cache)
    offline = hub_offline() if offline is None else offline
    unreachable = not offline and not hub_reachable()
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:
        raise ModelUnavailableError(
            f"parser model {label} needs the huggingface-hub package, which is not installed "
            f"(pip install huggingface-hub); or pass --parser PATH.onnx"
        ) from None
    try:
        path = hf_hub_download(
            repo_id=file.repo_id,
            filename=file.filename,
            revision=file.revision,
            cache_dir=cache,
            local_files_only=offline or unreachable,
        )
    except LocalEntryNotFoundError:
        reason = ("offline mode is on (HF_HUB_OFFLINE=1)" if offline
                  else "the Hugging Face Hub could not be reached")
        raise ModelUnavailableError(
            f"parser model {label} ({file.spec}) is not in the local Hugging Face cache "
            f"({where}) and {reason}; {_how_to_get(file, label)}"
        ) from None
    except GatedRepoError:
        raise ModelUnavailableError(
            f"parser model {label}: repository {file.repo_id} is gated; accept its terms on "
            f"huggingface.co and log in with 'hf auth login'"
        ) from None
    except RepositoryNotFoundError:
        raise ModelUnavailableError(
            f"parser model {label}: repository {file.repo_id} does not exist on the Hub "
            f"(or is private)"
        ) from None
    except RevisionNotFoundError:
        raise ModelUnavailableError(
            f"parser model {label}: revision {file.revision!r} not found in {file.repo_id}"
        ) from None
    except EntryNotFoundError:
        raise ModelUnavailableError(
            f"parser model {label}: file {file.filename!r} not found in {file.repo_id} at "
            f"revision {file.revision!r}"
        ) from None
    except (OSError, ValueError) as exc:
        # Network, disk and HTTP errors (HfHubHTTPError is an OSError): say which and where.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailableError(
            f"parser model {label} ({file.spec}) could not be fetched into {where}: "
            f"{first_line}; {_how_to_get(file, label)}"
        ) from None
    return Path(path)
