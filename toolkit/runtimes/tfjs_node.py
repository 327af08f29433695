"""TF.js in Node.js (backends cpu and wasm) through one long-lived `node tfjs_server.js` process.

Starting Node and importing TF.js costs about a second, so every TfjsNodeRuntime in
this Python process shares one server (started lazily), each loading its model under
its own id. Requests are one JSON line each way; see node/tfjs_server.js.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from toolkit.errors import InputsError, RuntimeUnavailableError, UsageError
from toolkit.export.golden import read_golden
from toolkit.model.spec import STRING_ARRAY_KINDS, as_string_array
from toolkit.registry import runtime, verifier
from toolkit.runtimes.base import Runtime, expect_outputs
from toolkit.runtimes.line_worker import LineWorker, ModelInWorker, shared_process
from toolkit.runtimes.wire import decode_tensor, encode_array

NODE_DIR = Path(__file__).parent / "node"
SERVER_SCRIPT = NODE_DIR / "tfjs_server.js"
DEFAULT_TIMEOUT_S = 60.0
BACKENDS = ("cpu", "wasm")
TFJS_VERSION = "4.22"  # toolkit/runtimes/node/package.json pins @tensorflow/tfjs
SETUP_HINT = "run `make setup` (or `npm ci` in toolkit/runtimes/node)"
# TF.js tensors are float32, int32 or bool; other integer inputs travel as int32.
WIRE_DTYPES = {"float32": "float32", "int32": "int32", "bool": "bool"}


def encode_tensor(array: np.ndarray) -> dict:
    """numpy -> {dtype, shape, data: base64 of little-endian bytes}; strings -> {dtype: "string", shape, strings: [...]}."""
    array = np.asarray(array)
    if array.dtype.kind in STRING_ARRAY_KINDS:  # TF.js string tensors: a JSON list of str, row-major
        return {"dtype": "string", "shape": list(array.shape), "strings": as_string_array(array).ravel().tolist()}
    dtype = WIRE_DTYPES.get(array.dtype.name)
    if dtype is None:
        if not np.issubdtype(array.dtype, np.integer):
            raise InputsError(
                f"tfjs-node: dtype {array.dtype} has no TF.js equivalent; pass float32, int32 or bool"
            )
        dtype = "int32"
    return encode_array(array.astype(dtype, copy=False))


class TfjsServer(LineWorker):
    """The Node process: started on first use, killed on timeout or crash, restarted on the next request."""

    name = "tfjs-node"
    what = "the tfjs-node server"
    start_hint = f"install Node.js 18+ and {SETUP_HINT}"

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S):
        super().__init__(timeout_s)

    def launch(self) -> tuple[list[str], Path, None]:
        check_node_setup()
        return [shutil.which("node"), str(SERVER_SCRIPT)], NODE_DIR, None


def check_node_setup() -> None:
    """Node on PATH and the npm packages installed, or an error saying how to get them."""
    if shutil.which("node") is None:
        raise RuntimeUnavailableError(
            f"tfjs-node: `node` is not on PATH; install Node.js 18+ and {SETUP_HINT}"
        )
    for package in ("@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"):
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            raise RuntimeUnavailableError(
                f"tfjs-node: {package} is not installed in {NODE_DIR}; {SETUP_HINT}"
            )


def shared_server() -> TfjsServer:
    """The one Node process of this Python process; the timeout comes from $TOOLKIT_TFJS_TIMEOUT_S if set."""
    # Stopped at exit: Node would also exit on stdin EOF; this makes it prompt.
    return shared_process(TfjsServer, lambda: TfjsServer(float(os.environ.get("TOOLKIT_TFJS_TIMEOUT_S", DEFAULT_TIMEOUT_S))))


@runtime("tfjs-node", target="tfjs")
class TfjsNodeRuntime(ModelInWorker, Runtime):
    """Options: backend ("cpu" default, or "wasm"), timeout_s (per request; default 60 or $TOOLKIT_TFJS_TIMEOUT_S).

    `threads` may only be None or 1: the cpu backend is plain JavaScript and tfjs-backend-wasm
    disables its threaded build under Node.js.
    """

    OPTIONS = ("backend",)
    thread_policy = "single"
    times_itself = True
    process_description = "tfjs-node process"

    def load_impl(self) -> None:
        unknown = sorted(set(self.options) - set(self.OPTIONS))
        if unknown:
            raise UsageError(
                f"tfjs-node: unknown option(s) {', '.join(unknown)}; known: {', '.join(self.OPTIONS)}"
            )
        self.backend = self.options.get("backend") or "cpu"
        if self.backend not in BACKENDS:
            raise UsageError(f"tfjs-node: unknown backend '{self.backend}'; choose {' or '.join(BACKENDS)}")
        if self.threads not in (None, 1):
            raise UsageError(
                f"tfjs-node: TF.js runs single-threaded in Node.js; pass threads=1 or none (got {self.threads})"
            )
        self.attach(shared_server())

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        reply = self._request("infer", inputs={name: encode_tensor(value) for name, value in feeds.items()})
        return self._restore_dtypes({name: decode_tensor(t, "data", f"tfjs-node ({self.backend}), output '{name}'")
                                     for name, t in reply["outputs"].items()})

    def infer_nodes(self, feeds: dict[str, np.ndarray], nodes: list[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(outputs by name, the graph nodes `nodes` by node name): intermediate tensors, for `toolkit explain`."""
        self.activate()
        inputs = {name: encode_tensor(value) for name, value in self.check(feeds).items()}
        reply = self._request("infer", inputs=inputs, nodes=nodes)
        where = f"tfjs-node ({self.backend})"
        outputs = self._restore_dtypes({name: decode_tensor(t, "data", f"{where}, output '{name}'")
                                        for name, t in reply["outputs"].items()})
        return outputs, {name: decode_tensor(t, "data", f"{where}, node '{name}'") for name, t in reply.get("nodes", {}).items()}

    def measure_runs(self, feeds: dict[str, np.ndarray], warmup: int, runs: int) -> list[float]:
        """Latency of each of `runs` inferences in ms, measured inside Node (no pipe or base64 cost)."""
        inputs = {name: encode_tensor(value) for name, value in feeds.items()}
        return self._request("time", inputs=inputs, warmup=warmup, runs=runs)["latencies_ms"]

    # --- helpers --------------------------------------------------------------
    def load_fields(self) -> dict:
        return {"model_dir": str(self.main_file.parent), "backend": self.backend, "threads": self.threads}

    def _restore_dtypes(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """TF.js has no int64: give integer outputs back the dtype the Keras signature declares."""
        declared = {spec.name: np.dtype(spec.dtype) for spec in self.signature.outputs}
        for name, value in outputs.items():
            want = declared.get(name)
            if want is not None and want != value.dtype and np.issubdtype(want, np.integer):
                outputs[name] = value.astype(want)
        return outputs


@verifier("tfjs")
def run_in_node(folder: Path) -> str:
    """At export: the graph model loads and runs on golden.json in both TF.js backends of Node."""
    feeds, expected = read_golden(folder)
    for backend in BACKENDS:
        with TfjsNodeRuntime(folder, backend=backend) as runtime:
            expect_outputs(runtime.infer(feeds), expected, f"tfjs-node ({backend})")
    return f"ran on golden.json in TF.js {TFJS_VERSION} in Node ({', '.join(BACKENDS)}) at export"
