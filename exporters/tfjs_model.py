"""A converted TF.js graph model (model.json and its weight shards) opened for exact graph rewrites.

TF.js reads a Const node's value from the weights manifest, by the node's name, never from the
node itself; so the rewrites read constants from the shards, and every constant they add is a
new weight, appended to the last shard.
Added constants are float32/int32/bool and never quantized: fp16 and uint8 artifacts keep them exact.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# model.json dtype -> numpy dtype of the stored bytes (little-endian); TF.js has no int64 (the converter writes int32).
STORED = {"float32": "<f4", "int32": "<i4", "bool": "|b1", "float16": "<f2", "uint8": "|u1", "uint16": "<u2"}
DT_NAMES = {"float32": "DT_FLOAT", "int32": "DT_INT32", "bool": "DT_BOOL"}


def type_attr(dt: str) -> dict:
    return {"type": dt}


def int_attr(value: int) -> dict:
    return {"i": str(int(value))}


def ints_attr(values: Sequence[int]) -> dict:
    return {"list": {"i": [str(int(v)) for v in values]}}


def text_attr(value: str) -> dict:
    return {"s": base64.b64encode(value.encode()).decode()}


def attr_text(node: dict, key: str, default: str = "") -> str:
    value = node.get("attr", {}).get(key, {}).get("s")
    return base64.b64decode(value).decode() if value else default


def attr_int(node: dict, key: str, default: int = 0) -> int:
    return int(node.get("attr", {}).get(key, {}).get("i", default))


def attr_ints(node: dict, key: str) -> list[int]:
    return [int(v) for v in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


def node_name(tensor: str) -> str:
    """"scope/op:1" and "^scope/op" (a control input) -> "scope/op"."""
    return tensor.lstrip("^").split(":")[0]


class TfjsGraph:
    """The nodes of model.json, the values of its constants, and the nodes and constants rewrites add."""

    def __init__(self, model_json: Path):
        self.path = model_json
        self.data = json.loads(model_json.read_text())
        self.nodes: list[dict] = self.data["modelTopology"]["node"]
        self._added_weights: list[tuple[dict, np.ndarray]] = []
        self._constants: dict[tuple, str] = {}

    # --- reading ---

    def node(self, tensor: str) -> dict | None:
        name = node_name(tensor)
        return next((n for n in self.nodes if n["name"] == name), None)

    def const_value(self, tensor: str) -> np.ndarray | None:
        """The value of a Const node (dequantized), or None when `tensor` is not a Const."""
        node = self.node(tensor)
        if node is None or node["op"] != "Const":
            return None
        for spec, value in self._added_weights:
            if spec["name"] == node["name"]:
                return value
        for group in self.data.get("weightsManifest", []):
            data = b"".join((self.path.parent / p).read_bytes() for p in group["paths"])
            offset = 0
            for spec in group["weights"]:
                size = _stored_size(spec, data, offset)
                if spec["name"] == node["name"]:
                    return _decode(spec, data[offset:offset + size])
                offset += size
        return None

    # --- editing ---

    def add(self, name: str, op: str, inputs: list[str], **attrs: dict) -> str:
        """Append a node; returns its name (what later nodes take as input)."""
        if self.node(name) is not None:
            raise ValueError(f"graph node {name} exists already")
        self.nodes.append({"name": name, "op": op, "input": list(inputs), "attr": attrs})
        return name

    def remove(self, node: dict) -> None:
        """Drop `node`; its replacement is added under the same name, so consumers are untouched."""
        self.nodes.remove(node)

    def const(self, values: object, dtype: str) -> str:
        """A Const node holding `values` (float32, int32 or bool); equal constants share one node."""
        array = np.asarray(values, dtype=STORED[dtype])
        key = (dtype, array.shape, array.tobytes())
        if key not in self._constants:
            name = f"tfjs_rewrites/const_{len(self._constants)}"
            shape = {"dim": [{"size": str(d)} for d in array.shape]} if array.shape else {}
            self.add(name, "Const", [], value={"tensor": {"dtype": DT_NAMES[dtype], "tensorShape": shape}},
                     dtype=type_attr(DT_NAMES[dtype]))
            self._added_weights.append(({"name": name, "shape": list(array.shape), "dtype": dtype}, array))
            self._constants[key] = name
        return self._constants[key]

    def save(self) -> None:
        """Write model.json, with the constants added appended to the last weight shard."""
        if self._added_weights:
            blob = b"".join(value.tobytes() for _, value in self._added_weights)
            self._append_weights(blob, [spec for spec, _ in self._added_weights])
            self._added_weights = []
        self.path.write_text(json.dumps(self.data))

    def _append_weights(self, blob: bytes, specs: list[dict]) -> None:
        """Add bytes and their specs after every existing weight (the order TF.js decodes them in).

        TF.js's loader (io.CompositeArrayBuffer) finds a byte's shard by dividing by the first shard's size
        when all shards but the last have that size, so a last shard larger than the others reads as zeros.
        The bytes go at the end of the last shard while it stays within that size; otherwise the last shard
        is filled up to it with an unused weight and the bytes follow in shards of that size.
        """
        folder = self.path.parent
        manifest = self.data.setdefault("weightsManifest", [])
        if not manifest:
            manifest.append({"paths": [], "weights": []})
        group = manifest[-1]
        if not group["paths"]:  # a model without weights (pooling only): the converter writes no shard
            group["paths"].append("group1-shard1of1.bin")
            (folder / "group1-shard1of1.bin").write_bytes(b"")
        sizes = [(folder / p).stat().st_size for g in manifest for p in g["paths"]]
        last = folder / group["paths"][-1]
        if len(sizes) == 1 or len(set(sizes[:-1])) > 1 or sizes[-1] + len(blob) <= sizes[0]:
            last.write_bytes(last.read_bytes() + blob)
        else:
            size = sizes[0]
            if sizes[-1] < size:
                last.write_bytes(last.read_bytes() + bytes(size - sizes[-1]))
                group["weights"].append({"name": "tfjs_rewrites/padding", "shape": [size - sizes[-1]], "dtype": "bool"})
            for index in range(0, len(blob), size):
                group["paths"].append(f"group{len(manifest)}-rewrites-{index // size + 1}.bin")
                (folder / group["paths"][-1]).write_bytes(blob[index:index + size])
        group["weights"].extend(specs)


def _stored_size(spec: dict, data: bytes, offset: int) -> int:
    count = int(np.prod(spec["shape"], dtype=np.int64))
    if spec["dtype"] == "string":  # each string: a little-endian uint32 length, then its bytes
        start = offset
        for _ in range(count):
            offset += 4 + int.from_bytes(data[offset:offset + 4], "little")
        return offset - start
    stored = spec.get("quantization", {}).get("dtype", spec["dtype"])
    return count * np.dtype(STORED[stored]).itemsize


def _decode(spec: dict, raw: bytes) -> np.ndarray:
    quantization = spec.get("quantization")
    values = np.frombuffer(raw, dtype=STORED[quantization["dtype"] if quantization else spec["dtype"]])
    if quantization and quantization["dtype"] != "float16":  # affine uint8/uint16: min + q * scale
        values = quantization["min"] + values.astype(np.float32) * quantization["scale"]
    return values.astype(STORED[spec["dtype"]]).reshape(spec["shape"])


# --- building blocks of rewrites (each returns the name of the node it added) ---


def shape_slice(graph: TfjsGraph, name: str, tensor: str, begin: int, end: int | None) -> str:
    """Shape(tensor)[begin:end] as an int32 vector, computed when the graph runs (any dimension may be unknown).

    `name` names the Shape node; slices of the same shape share it.
    """
    if graph.node(name) is None:
        graph.add(name, "Shape", [tensor], out_type=type_attr("DT_INT32"))
    return graph.add(f"{name}_{begin}_{end}", "StridedSlice",
                     [name, graph.const([begin], "int32"), graph.const([end or 0], "int32"), graph.const([1], "int32")],
                     T=type_attr("DT_INT32"), Index=type_attr("DT_INT32"), begin_mask=int_attr(0),
                     end_mask=int_attr(1 if end is None else 0), ellipsis_mask=int_attr(0), new_axis_mask=int_attr(0),
                     shrink_axis_mask=int_attr(0))


def concat_vectors(graph: TfjsGraph, name: str, parts: list[str]) -> str:
    return graph.add(name, "ConcatV2", [*parts, graph.const(0, "int32")], N=int_attr(len(parts)),
                     T=type_attr("DT_INT32"), Tidx=type_attr("DT_INT32"))


def reshape(graph: TfjsGraph, name: str, tensor: str, shape: str, dt: str) -> str:
    return graph.add(name, "Reshape", [tensor, shape], T=type_attr(dt), Tshape=type_attr("DT_INT32"))


def transpose(graph: TfjsGraph, name: str, tensor: str, perm: list[int], dt: str) -> str:
    """Transpose, or `tensor` itself when `perm` keeps the order."""
    if perm == sorted(perm):
        return tensor
    return graph.add(name, "Transpose", [tensor, graph.const(perm, "int32")], T=type_attr(dt), Tperm=type_attr("DT_INT32"))
