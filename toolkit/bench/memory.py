"""Peak resident memory (RSS) of the process that runs a benchmark row.

Linux keeps each process's peak RSS as VmHWM in /proc/PID/status and resets it to the current RSS
when "5" is written to /proc/PID/clear_refs, so a peak can be measured over one row without a
sampling thread (which would compete with the timed loop for the GIL). Elsewhere, or where the
reset is refused, the row says what was measured instead (lifetime peak or current RSS via psutil).
"""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.runtimes.base import Runtime


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakRss:
    """Peak RSS of one process (plus its children when `children`) from construction to `read()`."""

    def __init__(self, pid: int | None = None, label: str = "this Python process", children: bool = False, since: str = "load"):
        self.pid = pid or os.getpid()
        self.label = label
        self.children = children
        self.since = since
        self.reset = all(_reset_peak(p) for p in self._pids())

    @classmethod
    def for_runtime(cls, runtime: Runtime, in_process: PeakRss) -> PeakRss | Unmeasured:
        """The meter for an activated runtime: the process it says runs its inferences (with its children)."""
        pid, label = runtime.inference_process()
        if pid is None:
            return Unmeasured(f"not measured: the process of {label} could not be found")
        if pid == os.getpid():
            return in_process
        return cls(pid, label, children=True, since="the model was loaded (load-time peak excluded)")

    def _pids(self) -> list[int]:
        pids = [self.pid]
        if self.children:
            try:
                import psutil

                pids += [child.pid for child in psutil.Process(self.pid).children(recursive=True)]
            except Exception:  # psutil missing or the process gone: measure what is left
                pass
        return pids

    def read(self) -> tuple[float | None, str]:
        """(MB, description of what was measured)."""
        pids = self._pids()
        peaks = [_peak_kb(p) for p in pids]
        scope = f"{self.label} (pid {self.pid}{' + children' if len(pids) > 1 else ''})"
        if all(p is not None for p in peaks):
            window = f"since {self.since}" if self.reset else "over the process lifetime (peak reset refused)"
            return sum(peaks) / 1024, f"{scope}: peak RSS (VmHWM) {window}"
        return self._current_rss(pids, scope)

    @staticmethod
    def _current_rss(pids, scope) -> tuple[float | None, str]:
        try:
            import psutil

            total = sum(psutil.Process(p).memory_info().rss for p in pids)
        except Exception as error:  # no psutil or the process exited: say so rather than guess
            return None, f"{scope}: not measured ({type(error).__name__})"
        return total / 2**20, f"{scope}: RSS after the runs (psutil; no peak counter on this system)"


class Unmeasured:
    """Stands in for PeakRss when the process doing the runs cannot be found."""

    def __init__(self, reason: str):
        self.reason = reason

    def read(self) -> tuple[None, str]:
        return None, self.reason
