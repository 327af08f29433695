"""tfjs-browser and ort-web: TF.js and ONNX Runtime Web running inside headless Chromium.

Every instance uses the process's one Chromium (toolkit/runtimes/chromium.py). Instances of the
same kind (engine, TF.js backend, threads, CPU throttling) share one runner page; each loads its
model there under its own id, so a new instance costs a model load (tens of ms), not a page load
(about 1.5 s). Tensors cross as base64 bytes, so values arrive bit-exact. Every call into the page
has a deadline (`timeout_s`, default 60 s): a page that hangs is stopped and reported, and the
model is loaded again in a new Chromium on the next call. String inputs cross as JSON lists of str.
"""

from __future__ import annotations

import base64

import numpy as np

from toolkit.errors import RuntimeUnavailableError, UsageError
from toolkit.model.spec import STRING_ARRAY_KINDS, as_string_array
from toolkit.registry import runtime
from toolkit.runtimes import chromium
from toolkit.runtimes.base import Runtime
from toolkit.runtimes.wire import decode_tensor


def encode_feeds(feeds: dict[str, np.ndarray]) -> dict[str, dict]:
    """name -> {dtype, shape, b64} with little-endian bytes, as web_demo/js/tensors.js reads them; string inputs
    -> {dtype: "string", shape, strings: [...] row-major} (the bytes of an object array are pointers)."""
    encoded = {}
    for name, array in feeds.items():
        if array.dtype.kind in STRING_ARRAY_KINDS:
            encoded[name] = {"dtype": "string", "shape": list(array.shape), "strings": as_string_array(array).ravel().tolist()}
            continue
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        encoded[name] = {"dtype": str(array.dtype.name), "shape": list(array.shape), "b64": base64.b64encode(array.tobytes()).decode()}
    return encoded


class BrowserRuntime(Runtime):
    """Shared behaviour; subclasses name the in-page engine and the options they accept."""

    engine = ""  # window.runner engine: "tfjs" or "ort"
    known_options = frozenset({"cpu_throttling"})
    thread_policy = "runtime"  # the browser schedules its own threads
    is_browser = True
    times_itself = True

    def load_impl(self) -> None:
        self._check_options()
        url = chromium.artifact_url(self.artifact, self.manifest["main_file"])
        rate = self.options.get("cpu_throttling")
        self._page = chromium.runner_page((self.engine, self.requested_backend(), self.threads, float(rate) if rate else None))
        self._generation = chromium.generation()
        info = chromium.evaluate(self._page, "(spec) => window.runner.load(spec)", self.load_spec(url), self.timeout_s,
                                 f"{self.name}: loading {self.main_file}")
        self._id, self.backend, self.versions = info["id"], info["backend"], info["versions"]
        self._check_backend()

    def _call(self, script: str, arguments: list, what: str) -> object:
        """window.runner.<script>(id, *arguments) in the runner page; the model is loaded again first if
        Chromium was restarted since (a timeout elsewhere stops it)."""
        if self._generation != chromium.generation() or self._page.is_closed():
            self.load_impl()
        return chromium.evaluate(self._page, f"(args) => window.runner.{script}(...args)", [self._id, *arguments],
                                 self.timeout_s, f"{self.name}: {what} {self.main_file}")

    def requested_backend(self) -> str:
        return "wasm"

    def load_spec(self, url: str) -> dict:
        return {"engine": self.engine, "url": url, "threads": self.threads, "backend": self.requested_backend()}

    def _check_options(self) -> None:
        unknown = set(self.options) - self.known_options
        if unknown:
            raise UsageError(f"{self.name}: unknown option {', '.join(sorted(unknown))}; known: {', '.join(sorted(self.known_options))}")
        rate = self.options.get("cpu_throttling")
        if rate is not None and not float(rate) >= 1.0:
            raise UsageError(f"{self.name}: cpu_throttling must be >= 1 (1 = none, 4 = a mid-tier phone), got {rate}")

    def _check_backend(self) -> None:
        """Subclasses refuse a silent fallback that would mislabel results."""

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self._call("infer", [encode_feeds(feeds)], "running")
        wanted = {spec.name: spec.dtype for spec in self.signature.outputs}
        # TF.js has no int64/float64: cast back to the signature's dtype so comparisons see Keras's types.
        return {name: decode_tensor(t, "b64", f"{self.name}, output '{name}'").astype(wanted.get(name, t["dtype"]), copy=False)
                for name, t in outputs.items()}

    def measure_runs(self, feeds: dict[str, np.ndarray], warmup: int, runs: int) -> list[float]:
        """Per-run latency in ms, measured inside the page (tensor creation + run + read-back)."""
        return [float(ms) for ms in self._call("timeRuns", [encode_feeds(feeds), int(warmup), int(runs)], "timing")]

    def inference_process(self) -> tuple[int | None, str]:
        # Every Chromium process (browser, renderers, utilities) is counted: the page's work spans them.
        return chromium.browser_root_pid(), f"Chromium for {self.name}, sum of per-process peaks"

    def close_impl(self) -> None:
        if self._generation == chromium.generation() and not self._page.is_closed():
            chromium.evaluate(self._page, "(id) => window.runner.unload(id)", self._id, self.timeout_s, f"{self.name}: unloading")
        self._page = None


@runtime("tfjs-browser", target="tfjs")
class TfjsBrowserRuntime(BrowserRuntime):
    """TF.js graph model in Chromium; option `backend`: wasm (default), webgl or cpu."""

    engine = "tfjs"
    known_options = BrowserRuntime.known_options | {"backend"}
    backends = ("wasm", "webgl", "cpu")

    def _check_options(self) -> None:
        super()._check_options()
        if self.requested_backend() not in self.backends:
            raise UsageError(f"{self.name}: unknown backend {self.requested_backend()}; choose from {', '.join(self.backends)}")

    def requested_backend(self) -> str:
        return self.options.get("backend", "wasm")

    def _check_backend(self) -> None:
        requested = self.requested_backend()
        if self.backend != requested:
            self.close_impl()
            raise RuntimeUnavailableError(
                f"{self.name}: TF.js backend {requested} is unavailable in this Chromium (it fell back to {self.backend}); use backend=wasm"
            )


@runtime("ort-web", target="onnx")
class OrtWebRuntime(BrowserRuntime):
    """onnxruntime-web with its WebAssembly execution provider in Chromium."""

    engine = "ort"
