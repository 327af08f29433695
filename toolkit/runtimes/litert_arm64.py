"""litert-arm64: LiteRT's aarch64 build (XNNPACK and ruy NEON kernels) run under qemu-user emulation.

Phones run LiteRT's ARM code paths, which round differently from the x86 ones (above all int8 and fp16),
so this runtime checks the numbers a phone computes. `make setup` builds the emulated Python once
(toolkit/runtimes/arm64/setup.sh: Debian's arm64 CPython 3.11 + the aarch64 wheels of ai-edge-litert and
numpy in .arm64/sysroot); one long-lived worker process (arm64/worker.py) speaks the Node runtime's
JSON-lines protocol. qemu emulates a Cortex-A76 (ARMv8.2: NEON, fp16 arithmetic, dot product).

It reports no latency: an emulated instruction costs what the translation costs, not what a phone's core
does, so its wall time (or even its instruction count, since x86 and ARM kernels differ) ranks nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from toolkit.errors import RuntimeUnavailableError, UsageError
from toolkit.registry import runtime
from toolkit.runtimes.base import Runtime
from toolkit.runtimes.line_worker import LineWorker, ModelInWorker, shared_process
from toolkit.runtimes.wire import decode_tensor, encode_array

REPOSITORY = Path(__file__).resolve().parents[2]
WORKER_SCRIPT = Path(__file__).parent / "arm64" / "worker.py"
QEMU_CPU = "cortex-a76"  # the CPU setup.sh's /proc/cpuinfo describes
SETUP_HINT = "run `make setup` as root (it installs qemu-user-static and builds .arm64/sysroot)"
DEFAULT_TIMEOUT_S = 60.0
# Emulation runs LiteRT's kernels 10-50x slower than x86 runs its own; parity's deadlines are set from
# Keras's time on x86, so this runtime stretches them rather than report a slow model as hung.
EMULATION_SLOWDOWN = 20
STARTUP_S = 120.0  # qemu starting Python and importing numpy and LiteRT: about 6 s on an idle core
NO_LATENCY = (
    "litert-arm64 reports no latency: its aarch64 kernels run under qemu-user emulation, whose wall time measures "
    "the translation, not an ARM core; its rows check numerics only (use litert for x86 timings)"
)


def arm64_dir() -> Path:
    """Where `make setup` builds the emulated Python: $TOOLKIT_ARM64_DIR, else .arm64/ in the repository."""
    return Path(os.environ.get("TOOLKIT_ARM64_DIR") or REPOSITORY / ".arm64")


def check_arm64_setup() -> tuple[str, Path]:
    """(qemu-aarch64 executable, sysroot), or RuntimeUnavailableError in one line saying why and how to fix."""
    folder = arm64_dir()
    reason = folder / "UNAVAILABLE"
    if reason.is_file():  # setup.sh could not build it here and said why
        raise RuntimeUnavailableError(f"litert-arm64: {reason.read_text().strip()}")
    python = folder / "sysroot" / "usr" / "bin" / "python3.11"
    if not (folder / ".installed").is_file() or not python.is_file():
        raise RuntimeUnavailableError(f"litert-arm64: the emulated aarch64 Python is not built ({folder} is missing); {SETUP_HINT}")
    qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    if qemu is None:
        raise RuntimeUnavailableError(f"litert-arm64: qemu-aarch64-static is not on PATH; {SETUP_HINT}")
    return qemu, folder / "sysroot"


class Arm64Worker(LineWorker):
    """The emulated Python running arm64/worker.py: started on first use, restarted after a crash or timeout."""

    name = "litert-arm64"
    what = "the emulated LiteRT worker"
    start_hint = SETUP_HINT

    def launch(self) -> tuple[list[str], Path, dict[str, str]]:
        qemu, sysroot = check_arm64_setup()
        # -L: the guest's absolute paths resolve in the sysroot first (its loader, libraries, /proc/cpuinfo).
        argv = [qemu, "-cpu", QEMU_CPU, "-L", str(sysroot), str(sysroot / "usr" / "bin" / "python3.11"), str(WORKER_SCRIPT)]
        # The worker imports toolkit.runtimes.wire (numpy only) from this repository; nothing else of the host's.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPOSITORY), "PYTHONNOUSERSITE": "1",
               "LANG": "C.UTF-8"}
        return argv, REPOSITORY, env


def shared_worker() -> Arm64Worker:
    """The one emulated worker of this Python process (starting it costs seconds)."""
    return shared_process(Arm64Worker, lambda: Arm64Worker(DEFAULT_TIMEOUT_S * EMULATION_SLOWDOWN, startup_s=STARTUP_S))


@runtime("litert-arm64", target="tflite")
class LiteRTArm64Runtime(ModelInWorker, Runtime):
    """Options as the x86 `litert` runtime: threads (None = all cores), xnnpack (default True)."""

    OPTIONS = ("xnnpack",)
    times_itself = True  # so the bench asks `measure_runs`, which declines: see NO_LATENCY
    process_description = "emulated aarch64 LiteRT worker (qemu-user)"

    def load_impl(self) -> None:
        unknown = sorted(set(self.options) - set(self.OPTIONS))
        if unknown:
            raise UsageError(f"litert-arm64: unknown option(s) {', '.join(unknown)}; known: {', '.join(self.OPTIONS)}")
        self.attach(shared_worker())

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = {name: _encode(value) for name, value in feeds.items()}
        reply = self._request("infer", inputs=inputs)
        return {name: _decode(name, tensor) for name, tensor in reply["outputs"].items()}

    def measure_runs(self, feeds: dict[str, np.ndarray], warmup: int, runs: int) -> list[float]:
        raise RuntimeUnavailableError(NO_LATENCY)

    def describe(self) -> dict:
        """The emulated machine and package versions, as the worker reports them."""
        self.activate()
        reply = self._request("describe")
        return {key: value for key, value in reply.items() if key != "seq"}

    def load_fields(self) -> dict:
        return {"model_path": str(self.main_file), "threads": self.threads or os.cpu_count() or 1,
                "xnnpack": bool(self.options.get("xnnpack", True))}

    def call_timeout(self) -> float | None:
        return self.timeout_s * EMULATION_SLOWDOWN if self.timeout_s else None


def _encode(value: np.ndarray) -> dict:
    if value.dtype.kind in "OSU":  # string inputs cross as a JSON list (bytes of an object array are pointers)
        return {"dtype": "string", "shape": list(value.shape), "strings": [str(s) for s in value.ravel().tolist()]}
    return encode_array(value)


def _decode(name: str, tensor: dict) -> np.ndarray:
    if tensor.get("dtype") == "string":
        return np.array(tensor["strings"], dtype=object).reshape(tensor["shape"])
    return decode_tensor(tensor, "data", f"litert-arm64, output '{name}'")
