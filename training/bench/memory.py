"""Peak-memory measurement for one warp: CPU resident set, or CUDA allocator peak.

CPU: Linux keeps the process's peak resident set size in ``/proc/self/status`` (``VmHWM``) and
lets a process reset it to the current RSS by writing ``5`` to ``/proc/self/clear_refs``. The peak
*increase* of one warp is ``VmHWM`` after it minus ``VmRSS`` before it: every byte the warp
touched, whoever allocated it (torch, numpy, OpenCV). Where ``clear_refs`` cannot be written, a
sampling thread polls ``VmRSS`` every millisecond instead (it can miss short spikes; the
measurement says which method ran). CUDA: ``torch.cuda.max_memory_allocated`` above the memory
allocated before the warp.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        m = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """Context manager: ``with PeakMemory(device) as pm: ...``; then ``pm.peak_bytes``."""

    def __init__(self, device: torch.device) -> None:
        self.device = torch.device(device)
        self.peak_bytes: int | None = None
        self.method = ""
        self._base = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampled = 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            self.method = "cuda-allocator"
            return self
        rss = _status_kib("VmRSS")
        if rss is None:
            self.method = "unavailable"
            return self
        self._base = rss * 1024
        if _reset_hwm() and _status_kib("VmHWM") is not None:
            self.method = "vmhwm"
        else:
            self.method = "sampled-rss"
            self._sampled = self._base
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    @property
    def peak_total_bytes(self) -> int | None:
        """The peak itself, not its increase: resident set (CPU) or allocated (CUDA) at most."""
        return None if self.peak_bytes is None else self.peak_bytes + self._base

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            rss = _status_kib("VmRSS")
            if rss is not None:
                self._sampled = max(self._sampled, rss * 1024)

    def __exit__(self, *exc: object) -> None:
        if self.method == "cuda-allocator":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._base
        elif self.method == "vmhwm":
            self.peak_bytes = max(0, (_status_kib("VmHWM") or 0) * 1024 - self._base)
        elif self.method == "sampled-rss":
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            rss = _status_kib("VmRSS") or 0
            self.peak_bytes = max(0, max(self._sampled, rss * 1024) - self._base)
