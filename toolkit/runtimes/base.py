"""The Runtime interface: load an artifact, describe it, infer by name, time itself, close.

Like Polygraphy's runners: the public `infer()` and `time_runs()` check the feed against
the artifact's signature once, here; subclasses implement `load_impl`, `infer_impl` and
(if they hold resources) `close_impl`, and may offer a cheaper `engine_call` for timing or,
when they run in another process, `measure_runs` (latencies measured there).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from toolkit.errors import InferenceError, InputsError
from toolkit.export.manifest import read_manifest
from toolkit.model.spec import ModelSignature, as_string_array, check_feeds
from toolkit.runtimes.timing import TimingPlan, chunked_runs, wall_clock_runs


def expect_outputs(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], where: str) -> None:
    """The outputs a runtime returned have the names and shapes Keras gave (values are parity's job)."""
    if set(got) != set(expected):
        raise InferenceError(f"{where} returned outputs {sorted(got)}, expected {sorted(expected)}")
    for name, value in expected.items():
        if np.shape(got[name]) != np.shape(value):
            raise InferenceError(f"{where} returned output '{name}' of shape {np.shape(got[name])}, expected {np.shape(value)}")


class Runtime:
    name = "runtime"  # set by @toolkit.registry.runtime
    target = ""  # the artifact format, set by @toolkit.registry.runtime

    # --- traits the benchmark and the test matrix read (class attributes, no instance needed) ---
    # "configurable": honours `threads`; "single": one JavaScript thread; "runtime": the runtime decides.
    thread_policy = "configurable"
    is_browser = False  # runs inside headless Chromium
    times_itself = False  # latencies come from `measure_runs`, inside the runtime's own process

    def __init__(self, artifact: Path, threads: int | None = None, timeout_s: float | None = None, **options: object):
        """`artifact` is an artifact folder holding manifest.json (the keras runtime takes a .keras file).

        `timeout_s` bounds each call into a runtime that runs in another process (Node, Chromium);
        None means the runtime's default. In-process engines cannot be interrupted and ignore it.
        """
        # Absolute: out-of-process runtimes (Node, Chromium) do not share this process's working directory.
        self.artifact = Path(artifact).resolve()
        self.threads = threads
        self.timeout_s = timeout_s
        self.options = options
        self.signature: ModelSignature | None = None
        self.active = False

    # --- public API -------------------------------------------------------
    def activate(self) -> Runtime:
        if not self.active:
            self.signature = self.read_signature()
            self.load_impl()
            self.active = True
        return self

    def check(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The feeds as every engine takes them; InputsError naming every missing, extra or mis-shaped input.

        String inputs reach every runtime in one form: object arrays of str (see spec.as_string_array).
        """
        problems = check_feeds(self.signature.inputs, feeds)
        if problems:
            raise InputsError(f"{self.name}: " + "; ".join(problems))
        strings = {spec.name for spec in self.signature.inputs if spec.is_string}
        return {name: as_string_array(value) if name in strings else value for name, value in feeds.items()}

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch; inputs and outputs are matched by name, never by position."""
        self.activate()
        outputs = self.infer_impl(self.check(feeds))
        return {name: np.asarray(value) for name, value in outputs.items()}

    def time_runs(self, feeds: dict[str, np.ndarray], plan: TimingPlan) -> list[float]:
        """Steady-state latencies (ms) of `feeds` following `plan`; see `timing_source`."""
        self.activate()
        feeds = self.check(feeds)
        if self.times_itself:
            return chunked_runs(self.measure_runs, feeds, plan)
        return wall_clock_runs(self.engine_call(), feeds, plan)

    @property
    def timing_source(self) -> str:
        """'runtime': measured inside the runtime's own process; 'wall': perf_counter in this one."""
        return "runtime" if self.times_itself else "wall"

    def inference_process(self) -> tuple[int | None, str]:
        """(pid, description) of the process that runs the inferences, for memory measurements."""
        return os.getpid(), "this Python process"

    def close(self) -> None:
        """Release the artifact. Never raises: a runtime that crashed mid-run cannot release cleanly, and that
        crash is already reported by the call that met it."""
        if self.active:
            self.active = False
            with contextlib.suppress(Exception):
                self.close_impl()

    def __enter__(self) -> Runtime:
        return self.activate()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- for subclasses -------------------------------------------------------
    def read_signature(self) -> ModelSignature:
        manifest = read_manifest(self.artifact)
        if manifest is None:
            raise InputsError(f"{self.artifact} has no manifest.json; export it with `toolkit export`")
        self.manifest = manifest
        return ModelSignature.from_json(manifest["signature"])

    @property
    def main_file(self) -> Path:
        return self.artifact / self.manifest["main_file"]

    def load_impl(self) -> None:
        raise NotImplementedError

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def engine_call(self) -> Callable[[dict], object]:
        """The call the wall-clock loop times: the engine without the toolkit's output conversion."""
        return self.infer_impl

    def measure_runs(self, feeds: dict[str, np.ndarray], warmup: int, runs: int) -> list[float]:
        """Latencies (ms) measured inside the runtime's own process; only where `times_itself`."""
        raise NotImplementedError(f"{self.name} is timed by the wall clock, not by itself")

    def close_impl(self) -> None:
        """Release resources; most runtimes only drop references."""
