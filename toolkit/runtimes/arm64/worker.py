"""The litert-arm64 worker: LiteRT's aarch64 build, inside the emulated Python (see ../litert_arm64.py).

It speaks the Node runtime's protocol, one JSON line each way on stdin/stdout (toolkit/runtimes/line_worker.py):
  {"cmd": "describe"}                                         -> {"machine", "python", "numpy", "litert", "cpu"}
  {"cmd": "load", "id", "model_path", "threads", "xnnpack"}   -> {"inputs": [...], "outputs": [...]}
  {"cmd": "infer", "id", "inputs": {name: tensor}}            -> {"outputs": {name: tensor}}
  {"cmd": "close", "id"}                                      -> {}
Tensors use toolkit/runtimes/wire.py (this file runs with the repository on sys.path and imports nothing
else of the toolkit: the emulated Python has only numpy and ai-edge-litert). Errors answer {"error", "kind"}.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from toolkit.runtimes.wire import decode_tensor, encode_array

MODELS: dict[str, tuple] = {}  # id -> (interpreter, signature runner)


class Refusal(Exception):
    """A request this worker answers with an error of `kind` (inputs, load, execute) and carries on."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def describe(_request: dict) -> dict:
    """What runs here: the emulated machine, the packages, and the CPU that LiteRT's detection reads."""
    cpu = Path("/proc/cpuinfo").read_text()  # qemu serves the sysroot's copy (see setup.sh)
    part = next((line.split(":")[1].strip() for line in cpu.splitlines() if line.startswith("CPU part")), "?")
    return {"machine": platform.machine(), "python": platform.python_version(), "numpy": np.__version__,
            "litert": importlib.metadata.version("ai-edge-litert"), "cpu_part": part}


def load(request: dict) -> dict:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # The same resolver choice as the x86 runtime (toolkit/runtimes/litert.py): AUTO applies XNNPACK.
    resolver = OpResolverType.AUTO if request.get("xnnpack", True) else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        interpreter = Interpreter(model_path=request["model_path"], num_threads=request.get("threads") or 1,
                                  experimental_op_resolver_type=resolver)
        interpreter.allocate_tensors()
        runner = interpreter.get_signature_runner("serving_default")
    except (ValueError, RuntimeError) as error:
        raise Refusal("load", f"LiteRT (aarch64) cannot load {request['model_path']}: {error}") from error
    MODELS[request["id"]] = (interpreter, runner)
    return {"inputs": sorted(runner.get_input_details()), "outputs": sorted(runner.get_output_details())}


def infer(request: dict) -> dict:
    if request["id"] not in MODELS:
        raise Refusal("load", f"no model loaded under id {request['id']!r}")
    runner = MODELS[request["id"]][1]
    expected = set(runner.get_input_details())
    feeds = {name: _decode(name, tensor) for name, tensor in request["inputs"].items()}
    if set(feeds) != expected:
        raise Refusal("inputs", f"got inputs {sorted(feeds)}, the model takes {sorted(expected)}")
    try:
        outputs = runner(**feeds)
    except (ValueError, RuntimeError) as error:
        raise Refusal("execute", f"LiteRT (aarch64) failed to run: {error}") from error
    return {"outputs": {name: _encode(value) for name, value in outputs.items()}}


def close(request: dict) -> dict:
    MODELS.pop(request["id"], None)
    return {}


def _decode(name: str, tensor: dict) -> np.ndarray:
    if tensor.get("dtype") == "string":  # LiteRT takes strings as bytes
        return np.array([s.encode() for s in tensor["strings"]], dtype=object).reshape(tensor["shape"])
    return decode_tensor(tensor, "data", f"input '{name}'")


def _encode(value: np.ndarray) -> dict:
    if value.dtype.kind in "OSU":
        strings = [s.decode() if isinstance(s, bytes) else str(s) for s in value.ravel().tolist()]
        return {"dtype": "string", "shape": list(value.shape), "strings": strings}
    return encode_array(value)


COMMANDS = {"describe": describe, "load": load, "infer": infer, "close": close}


def answer(line: str) -> dict:
    """One request line -> its response (errors included); never raises for a bad request."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as error:  # the host then sees no matching seq and restarts this worker
        return {"seq": None, "error": f"a request that is not JSON: {error}", "kind": "protocol"}
    seq = request.get("seq")
    command = COMMANDS.get(request.get("cmd"))
    if command is None:
        return {"seq": seq, "error": f"unknown command '{request.get('cmd')}'", "kind": "protocol"}
    try:
        return {"seq": seq, **command(request)}
    except Refusal as refusal:
        return {"seq": seq, "error": str(refusal), "kind": refusal.kind}
    except Exception as error:  # anything else about this request is reported; the worker keeps serving
        return {"seq": seq, "error": f"{type(error).__name__}: {error}", "kind": "execute"}


def main() -> None:
    # Responses go to a private copy of stdout; fd 1 then points at stderr, so whatever LiteRT's native code
    # prints cannot corrupt the protocol.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for line in sys.stdin:
        if line.strip():
            protocol.write(json.dumps(answer(line)) + "\n")
            protocol.flush()


if __name__ == "__main__":
    main()
