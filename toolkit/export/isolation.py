"""Large models are exported one artifact per child process (toolkit/worker.py).

Measured on a model with 202 MB of float32 weights (benchmarks/export_memory.py, 2 cores):
`toolkit export --target all` in one process peaked at 12.0 GB RSS, 150 s. Converters keep what
they allocated (tf2onnx alone grows by about one copy of the weights per optimizer pass with
protobuf's C backend), and the next converter starts on top of it. In a child each converter
starts from a fresh interpreter and returns everything when it exits; the ONNX child also uses
the pure-Python protobuf backend (same bytes, no growth) and freezes the SavedModel without
grappler. The cost is one TensorFlow import and model load per artifact (about 5 s), so only
models whose .keras file is at least ISOLATE_FROM_BYTES go this way, unless
$TOOLKIT_EXPORT_ISOLATION says `process` (always) or `inline` (never).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from toolkit import errors
from toolkit.errors import ExportError, ToolkitError
from toolkit.model.loading import LoadedModel
from toolkit.model.spec import ModelSignature

ISOLATE_FROM_BYTES = 64 * 2**20
CHILD_GRACE_S = 20  # after Ctrl+C, how long a child may take to remove its staging folder
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Settings only a process of its own can have. tf2onnx's optimizer loop (a deepcopy of the graph and an
# update of every node proto, 24 passes) grows by about one copy of the weights per pass with protobuf's
# default C backend and by nothing with the pure-Python one (200 MB model: +9 GB in 60-90 s against
# +0 MB in 0.1 s); freezing without grappler saves another 4 GB, but only together with that backend.
CHILD_ENV = {"onnx": {"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python", "TOOLKIT_ONNX_FREEZE": "large"}}


def wanted_for(path: Path | None) -> bool:
    """Whether artifacts of the model in `path` are made in child processes."""
    mode = os.environ.get("TOOLKIT_EXPORT_ISOLATION", "auto")
    if mode == "inline" or path is None or not Path(path).is_file():
        return False
    return mode == "process" or Path(path).stat().st_size >= ISOLATE_FROM_BYTES


def describe_in_child(spec: str, custom_objects: Path | None, unsafe: bool,
                      input_range: tuple[float, float] | None) -> LoadedModel:
    """A LoadedModel without the Keras model (model=None): its name, file, hash and signature, read in a
    child so this process never holds the weights (nor imports TensorFlow)."""
    job = {"action": "describe", "model": spec, "custom_objects": custom_objects and str(Path(custom_objects).resolve()),
           "unsafe": unsafe, "input_range": input_range}
    payload, code = _run_child(job, Path(tempfile.gettempdir()), "describe")
    if payload is None:
        raise ExportError(f"loading {spec} {describe_exit(code)} before it could describe the model")
    described = unwrap(payload)["described"]
    return LoadedModel(described["name"], Path(described["path"]), None,
                       ModelSignature.from_json(described["signature"]), described["sha256"], None,
                       Path(custom_objects).resolve() if custom_objects else None, unsafe, input_range)


def export_in_child(loaded: LoadedModel, target: str, quantization: str, folder: Path, options: dict) -> dict:
    """ExportResult fields of one artifact made in a child (the caller holds the artifact's lock)."""
    job = {"action": "export", "model": loaded.spec, "unsafe": loaded.unsafe, "input_range": loaded.input_range,
           "custom_objects": str(loaded.custom_objects) if loaded.custom_objects else None,
           "target": target, "quantization": quantization, "folder": str(Path(folder).resolve()), "options": options}
    started = time.perf_counter()
    payload, code = _run_child(job, Path(folder).parent, target)
    if payload is None:
        return {"error": f"{target} export failed: the exporter process {describe_exit(code)} without a result",
                "seconds": time.perf_counter() - started}
    return {**unwrap(payload)["result"], "path": Path(folder)}


def child_pythonpath() -> str:
    """PYTHONPATH for a child process of ours: the project first, so it imports this checkout's toolkit."""
    return os.pathsep.join([str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def error_payload(error: BaseException, as_type: str | None = None, message: str | None = None) -> dict:
    """{"error": ...} as a child reports `error` (call it in the except block: the traceback is the one being
    handled); `unwrap` raises it again as the ToolkitError class named `as_type` (default: the error's own)."""
    return {"error": {"type": as_type or type(error).__name__, "message": str(error) if message is None else message,
                      "traceback": traceback.format_exc()}}


def unwrap(payload: dict) -> dict:
    """The child's answer, or the error it met raised here as the same ToolkitError class."""
    if "error" not in payload:
        return payload
    error = payload["error"]
    error_class = getattr(errors, error["type"], None)
    if not (isinstance(error_class, type) and issubclass(error_class, ToolkitError)):
        error_class = ExportError
    raise error_class(error["message"]) from ChildTraceback(error.get("traceback", ""))


def _run_child(job: dict, scratch_parent: Path, label: str) -> tuple[dict | None, int]:
    scratch_parent.mkdir(parents=True, exist_ok=True)
    # Named like a staging folder of the artifact: if this process is SIGKILLed, the next export of it sweeps it.
    prefix = f".tmp-{Path(job['folder']).name}.job." if "folder" in job else "toolkit-describe-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=scratch_parent) as scratch:
        job_file, result_file = Path(scratch) / "job.json", Path(scratch) / "result.json"
        job_file.write_text(json.dumps(job))
        env = {**os.environ, "TMPDIR": scratch, **CHILD_ENV.get(label, {})}
        env["PYTHONPATH"] = child_pythonpath()
        process = subprocess.Popen([sys.executable, "-m", "toolkit.worker", str(job_file), str(result_file)],
                                   stdin=subprocess.PIPE, env=env)  # never written: its EOF tells the child we died
        try:
            code = process.wait()
        except BaseException:  # Ctrl+C or anything else: never orphan the child
            stop_child(process)
            raise
        finally:
            process.stdin.close()
        if code in (130, -signal.SIGINT):
            raise KeyboardInterrupt
        return (json.loads(result_file.read_text()) if result_file.exists() else None), code


def stop_child(process: subprocess.Popen) -> None:
    """Let the child clean up: a terminal's Ctrl+C reached it already, `kill -INT <parent>` did not."""
    try:
        process.wait(timeout=1)
        return
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=CHILD_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def describe_exit(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (the kernel's out-of-memory killer sends it when memory runs out)" if -code == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {code}"


class ChildTraceback(Exception):
    """The child's traceback as text, chained under the re-raised error for --debug."""

    def __str__(self) -> str:
        return "\n" + self.args[0] if self.args and self.args[0] else ""
