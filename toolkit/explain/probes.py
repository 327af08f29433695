"""The real artifact's intermediate tensors, read in its own runtime, by tensor name.

- LiteRT: `experimental_preserve_all_tensors` keeps every tensor after `invoke()`; without delegates,
  because XNNPACK fuses a subgraph into one node whose inner tensors are never written (its kernels
  compute the same values as the builtin ones: the final outputs are compared here too).
- ONNX Runtime: a copy of the graph with every float tensor computed from the inputs added as an output.
- TF.js in Node: `model.execute(feeds, nodeNames)` asks the graph for any node by name.

Quantized tensors come back dequantized, with their scale and range.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.errors import UsageError
from toolkit.export.manifest import read_manifest
from toolkit.runtimes.variants import RuntimeVariant
from toolkit.tf_env import native_output_silenced

Feeds = dict[str, np.ndarray]
# The runtimes whose intermediate tensors can be read, per target (the browser runtimes cannot: ort-web and
# tfjs-browser run the same artifacts as onnxruntime and tfjs-node).
EXPLAINABLE = {"tflite": ("litert",), "onnx": ("onnxruntime",), "tfjs": ("tfjs-node-cpu", "tfjs-node-wasm")}


@dataclass(frozen=True)
class ArtifactTensor:
    key: str  # how the probe fetches it (a TFLite tensor index, an ONNX or TF.js tensor name)
    name: str  # the name the converter gave it, which carries the Keras scopes
    scale: float | None = None  # quantized: one step of the integer grid
    value_range: tuple[float, float] | None = None  # quantized: the values the grid can hold


class Probe:
    """Activation tensors in execution order; `run` returns (the model's outputs by name, tensors by key)."""

    tensors: list[ArtifactTensor]

    def run(self, feeds: Feeds, keys: Sequence[str]) -> tuple[Feeds, Feeds]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the runtime."""


def _grid_range(scale: float, zero_point: int, dtype: np.dtype) -> tuple[float, float]:
    info = np.iinfo(dtype)
    return float((info.min - zero_point) * scale), float((info.max - zero_point) * scale)


class TFLiteProbe(Probe):
    def __init__(self, model_file: Path):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        with warnings.catch_warnings(), native_output_silenced():
            warnings.simplefilter("ignore")
            self._interpreter = Interpreter(
                model_path=str(model_file), num_threads=os.cpu_count() or 1, experimental_preserve_all_tensors=True,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        signature = self._interpreter._get_full_signature_list()["serving_default"]
        self._inputs, self._outputs = signature["inputs"], signature["outputs"]
        details = {d["index"]: d for d in self._interpreter.get_tensor_details()}
        self.tensors = []
        for op in self._interpreter._get_ops_details():
            for index in op["outputs"]:
                detail = details.get(int(index))
                if detail is not None and self._is_activation(detail):
                    self.tensors.append(self._tensor(detail))
        self._details = details

    @staticmethod
    def _is_activation(detail: dict) -> bool:
        dtype = np.dtype(detail["dtype"])
        quantized = len(detail["quantization_parameters"]["scales"]) == 1
        return np.issubdtype(dtype, np.floating) or (np.issubdtype(dtype, np.integer) and quantized)

    @staticmethod
    def _tensor(detail: dict) -> ArtifactTensor:
        scale, zero_point = detail["quantization"]
        if not scale:
            return ArtifactTensor(str(detail["index"]), detail["name"])
        return ArtifactTensor(str(detail["index"]), detail["name"], float(scale),
                              _grid_range(scale, zero_point, np.dtype(detail["dtype"])))

    def run(self, feeds: Feeds, keys: Sequence[str]) -> tuple[Feeds, Feeds]:
        interpreter = self._interpreter
        for name, index in self._inputs.items():
            interpreter.resize_tensor_input(index, feeds[name].shape, strict=False)
        with native_output_silenced():
            interpreter.allocate_tensors()
        for name, index in self._inputs.items():  # the signature runner casts; set_tensor wants the exact dtype
            interpreter.set_tensor(index, np.asarray(feeds[name], dtype=self._details[index]["dtype"]))
        interpreter.invoke()
        outputs = {name: interpreter.get_tensor(index).copy() for name, index in self._outputs.items()}
        return outputs, {key: self._dequantized(int(key)) for key in keys}

    def _dequantized(self, index: int) -> np.ndarray:
        value = self._interpreter.get_tensor(index)
        scale, zero_point = self._details[index]["quantization"]
        if scale:
            return ((value.astype(np.float32) - zero_point) * scale).astype(np.float32)
        return value.astype(np.float32)

    def close(self) -> None:
        self._interpreter = None


FLOAT_TYPES = {1: np.float32, 10: np.float16, 11: np.float64}  # onnx.TensorProto FLOAT, FLOAT16, DOUBLE


class OnnxProbe(Probe):
    def __init__(self, model_file: Path):
        import onnx
        import onnxruntime as ort

        model = onnx.shape_inference.infer_shapes(onnx.load(str(model_file)))
        graph = model.graph
        types = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.output, *graph.input]}
        reached = {i.name for i in graph.input}
        ordered = []
        for node in graph.node:  # ONNX nodes are stored in execution (topological) order
            if any(name in reached for name in node.input):
                reached.update(node.output)
                ordered += [name for name in node.output if types.get(name) in FLOAT_TYPES]
        scales = self._activation_scales(graph)
        self.tensors = [ArtifactTensor(name, name, *scales.get(name, (None, None))) for name in ordered]
        self._output_names = [o.name for o in graph.output]
        known = set(self._output_names)
        graph.output.extend(onnx.helper.make_tensor_value_info(name, types[name], None)
                            for name in ordered if name not in known)
        self._session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    @staticmethod
    def _activation_scales(graph: object) -> dict[str, tuple[float, tuple[float, float]]]:
        """DequantizeLinear outputs of quantized activations -> (scale, range), from their scalar initializers."""
        from onnx import numpy_helper

        constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        quantized = {n.output[0] for n in graph.node if n.op_type == "QuantizeLinear"}
        found = {}
        for node in graph.node:
            if node.op_type == "DequantizeLinear" and node.input[0] in quantized and len(node.input) == 3:
                scale, zero_point = constants.get(node.input[1]), constants.get(node.input[2])
                if scale is not None and zero_point is not None and scale.size == 1:
                    found[node.output[0]] = (float(scale), _grid_range(float(scale), int(zero_point), zero_point.dtype))
        return found

    def run(self, feeds: Feeds, keys: Sequence[str]) -> tuple[Feeds, Feeds]:
        names = list(dict.fromkeys([*self._output_names, *keys]))
        values = dict(zip(names, self._session.run(names, feeds)))
        return ({name: values[name] for name in self._output_names},
                {key: np.asarray(values[key], dtype=np.float32) for key in keys})

    def close(self) -> None:
        self._session = None


class TfjsProbe(Probe):
    def __init__(self, folder: Path, main_file: Path, variant: RuntimeVariant):
        import json

        topology = json.loads(main_file.read_text())["modelTopology"]
        self.tensors = [ArtifactTensor(name, name) for name in _tfjs_float_nodes(topology.get("node", []))]
        self._runtime = variant.create(folder).activate()

    def run(self, feeds: Feeds, keys: Sequence[str]) -> tuple[Feeds, Feeds]:
        outputs, nodes = self._runtime.infer_nodes(feeds, list(keys))
        return outputs, {key: np.asarray(value, dtype=np.float32) for key, value in nodes.items()}

    def close(self) -> None:
        self._runtime.close()


def _tfjs_float_nodes(nodes: list[dict]) -> list[str]:
    """Names of float-valued nodes computed from the inputs, in a topological order of the graph."""
    by_name = {node["name"]: node for node in nodes}
    inputs = {name: [i.lstrip("^").split(":")[0] for i in node.get("input", [])] for name, node in by_name.items()}
    order: list[str] = []
    state: dict[str, bool] = {}  # name -> depends on a Placeholder (set once visited)

    def visit(name: str) -> bool:
        stack = [(name, False)]
        while stack:  # iterative depth-first search: deep graphs would overflow Python's recursion
            current, expanded = stack.pop()
            if current in state or current not in by_name:
                continue
            if not expanded:
                stack.append((current, True))
                stack += [(i, False) for i in inputs[current] if i not in state]
                continue
            node = by_name[current]
            state[current] = node["op"] == "Placeholder" or any(state.get(i, False) for i in inputs[current])
            if state[current] and node["op"] != "Placeholder" and _float_node(node):
                order.append(current)
        return state.get(name, False)

    for name in by_name:
        visit(name)
    return order


def _float_node(node: dict) -> bool:
    attrs = node.get("attr", {})
    dtype = (attrs.get("T") or attrs.get("dtype") or {}).get("type")
    return dtype in ("DT_FLOAT", "DT_HALF")


def open_probe(folder: Path, variant: RuntimeVariant) -> Probe:
    """The probe of the artifact in `folder` for `variant` (litert, onnxruntime, tfjs-node-cpu/wasm)."""
    manifest = read_manifest(folder)
    if manifest is None:
        raise UsageError(f"{folder} has no manifest.json; export it with `toolkit export`")
    main_file = Path(folder) / manifest["main_file"]
    if variant.target == "tflite":
        return TFLiteProbe(main_file)
    if variant.target == "onnx":
        return OnnxProbe(main_file)
    if variant.target == "tfjs":
        return TfjsProbe(Path(folder), main_file, variant)
    raise UsageError(f"explain reads intermediate tensors of {', '.join(EXPLAINABLE)} artifacts, not {variant.target}")
