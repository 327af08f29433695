"""TF.js in Node.js (backends cpu and wasm) through one long-lived `node tfjs_server.js` process.

Starting Node and importing TF.js costs about a second, so every TfjsNodeRuntime in
this Python process shares one server (started lazily), each loading its model under
its own id. Requests are one JSON line each way; see node/tfjs_server.js.
"""

from __future__ import annotations

import atexit
import base64
import itertools
import json
import os
import queue
import shutil
import subprocess
import threading
from collections import deque
from pathlib import Path

import numpy as np

from toolkit.errors import (
    InferenceError,
    InferenceTimeoutError,
    InputsError,
    RuntimeUnavailableError,
    ToolkitError,
    UsageError,
)
from toolkit.export.golden import read_golden
from toolkit.model.spec import STRING_ARRAY_KINDS, as_string_array
from toolkit.registry import runtime, verifier
from toolkit.runtimes.base import Runtime, expect_outputs
from toolkit.runtimes.wire import decode_tensor

NODE_DIR = Path(__file__).parent / "node"
SERVER_SCRIPT = NODE_DIR / "tfjs_server.js"
DEFAULT_TIMEOUT_S = 60.0
BACKENDS = ("cpu", "wasm")
TFJS_VERSION = "4.22"  # toolkit/runtimes/node/package.json pins @tensorflow/tfjs
SETUP_HINT = "run `make setup` (or `npm ci` in toolkit/runtimes/node)"
# TF.js tensors are float32, int32 or bool; other integer inputs travel as int32.
WIRE_DTYPES = {"float32": "float32", "int32": "int32", "bool": "bool"}

# The `kind` of a server error -> the typed error raised here. A model TF.js cannot load or run
# (an op it lacks) is the runtime's refusal, not an export failure.
ERROR_TYPES = {"inputs": InputsError, "load": InferenceError, "execute": InferenceError}


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
    data = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    return {
        "dtype": dtype,
        "shape": list(array.shape),
        "data": base64.b64encode(data.tobytes()).decode("ascii"),
    }


class TfjsServer:
    """The Node process: started on first use, killed on timeout or crash, restarted on the next request."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.timeout_s = timeout_s
        self.process: subprocess.Popen | None = None
        self.generation = 0  # bumped at every start, so runtimes know to load their model again
        self._lines: queue.Queue = queue.Queue()
        self._stderr: deque = deque(maxlen=20)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()  # one request in flight: the protocol is strictly request/response

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def request(self, command: str, timeout_s: float | None = None, **fields: object) -> dict:
        """Send one command and wait for its response; raises a ToolkitError on any failure."""
        with self._lock:
            if self.process is None:
                self._start()
            elif self.process.poll() is not None:
                self._fail(f"the tfjs-node server had exited ({self._exit_reason()})")
            response = self._exchange({"cmd": command, "seq": next(self._seq), **fields}, timeout_s or self.timeout_s)
        if "error" in response:
            error_type = ERROR_TYPES.get(response.get("kind"), RuntimeUnavailableError)
            raise error_type(f"tfjs-node: {response['error']}")
        return response

    def stop(self) -> None:
        with self._lock:
            self._kill()

    # --- process management -------------------------------------------------------
    def _start(self) -> None:
        check_node_setup()
        # Fresh sinks, so the reader threads of a killed process cannot mix old lines into new ones.
        self._lines, self._stderr = queue.Queue(), deque(maxlen=20)
        try:
            self.process = subprocess.Popen(
                [shutil.which("node"), str(SERVER_SCRIPT)],
                cwd=NODE_DIR,
                text=True,
                encoding="utf-8",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=1,
            )
        except OSError as error:
            raise RuntimeUnavailableError(
                f"tfjs-node: cannot start node ({error}); install Node.js 18+ and {SETUP_HINT}"
            ) from error
        self.generation += 1
        # Reader threads: stdout lines go to a queue (so reads can time out), stderr to a short tail for messages.
        threading.Thread(target=_pump, args=(self.process.stdout, self._lines.put, True), daemon=True).start()
        threading.Thread(
            target=_pump, args=(self.process.stderr, self._stderr.append, False), daemon=True
        ).start()

    def _exchange(self, message: dict, timeout_s: float) -> dict:
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:  # BrokenPipeError: it died since the poll above
            self._fail(f"the tfjs-node server exited ({self._exit_reason()})")
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            self._fail(f"the tfjs-node server did not answer '{message['cmd']}' within {timeout_s:g} s; it was killed",
                       InferenceTimeoutError)
        if line is None:
            self._fail(f"the tfjs-node server exited during '{message['cmd']}' ({self._exit_reason()})")
        try:
            response = json.loads(line)
        except json.JSONDecodeError:
            self._fail(f"the tfjs-node server wrote a line that is not JSON: {line[:200]!r}")
        if response.get("seq") != message["seq"]:
            self._fail(f"the tfjs-node server answered request {response.get('seq')} instead of {message['seq']}")
        return response

    def _fail(self, message: str, error_type: type[ToolkitError] = InferenceError) -> None:
        """Kill the process (the next request starts a new one) and raise one clear error."""
        tail = " | ".join(line.strip() for line in list(self._stderr)[-3:] if line.strip())
        self._kill()
        detail = f"; its stderr ended with: {tail[:400]}" if tail else ""
        raise error_type(f"tfjs-node: {message}{detail}; it restarts on the next request")

    def _exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # stdout closed but the process lingers
            return "stdout closed"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def _kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                try:
                    stream.close()
                except OSError:  # a broken pipe on a dead process: nothing left to flush
                    pass
            self.process = None


def _pump(stream, sink, mark_end: bool) -> None:
    """Copy lines from `stream` to `sink` until EOF; with `mark_end`, then send None (the process ended)."""
    try:
        for line in stream:
            sink(line)
    except (OSError, ValueError):  # the stream was closed under us by _kill
        pass
    if mark_end:
        sink(None)


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


_SERVER: TfjsServer | None = None
_SERVER_LOCK = threading.Lock()


def shared_server() -> TfjsServer:
    """The one Node process of this Python process; the timeout comes from $TOOLKIT_TFJS_TIMEOUT_S if set."""
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None:
            _SERVER = TfjsServer(float(os.environ.get("TOOLKIT_TFJS_TIMEOUT_S", DEFAULT_TIMEOUT_S)))
            atexit.register(_SERVER.stop)  # Node would also exit on stdin EOF; this makes it prompt
        return _SERVER


@runtime("tfjs-node", target="tfjs")
class TfjsNodeRuntime(Runtime):
    """Options: backend ("cpu" default, or "wasm"), timeout_s (per request; default 60 or $TOOLKIT_TFJS_TIMEOUT_S).

    `threads` may only be None or 1: the cpu backend is plain JavaScript and tfjs-backend-wasm
    disables its threaded build under Node.js.
    """

    OPTIONS = ("backend",)
    thread_policy = "single"
    times_itself = True
    _ids = itertools.count(1)

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
        self.server = shared_server()
        self.model_id = f"{self.artifact.parent.name}/{self.artifact.name}#{next(self._ids)}"
        self._loaded_in = None  # the server generation holding our model
        self._load()

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

    def inference_process(self) -> tuple[int | None, str]:
        return self.server.pid, "tfjs-node process"

    def close_impl(self) -> None:
        if self.server.running and self._loaded_in == self.server.generation:
            self.server.request("close", id=self.model_id)
        self._loaded_in = None

    # --- helpers --------------------------------------------------------------
    def _load(self) -> None:
        self.server.request(
            "load",
            timeout_s=self.timeout_s,
            id=self.model_id,
            model_dir=str(self.main_file.parent),
            backend=self.backend,
            threads=self.threads,
        )
        self._loaded_in = self.server.generation

    def _request(self, command: str, **fields) -> dict:
        """A request for our model, loading it again first if the server restarted since we loaded it."""
        if self._loaded_in != self.server.generation or not self.server.running:
            self._load()
        return self.server.request(command, timeout_s=self.timeout_s, id=self.model_id, **fields)

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
