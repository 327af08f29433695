"""Exact fixes to a converted ONNX graph for what tf2onnx leaves in a form some runtime or checker rejects.

Each fix edits the onnx.ModelProto in place and returns one description per change, for the manifest's
`rewrites`; parity in onnxruntime and ort-web proves them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

    from toolkit.model.spec import ModelSignature


def fill_output_shapes(model: onnx.ModelProto, signature: ModelSignature) -> list[str]:
    """Graph outputs tf2onnx wrote without a shape (CategoryMapper's, a string lookup's) get the Keras signature's.

    onnx.checker rejects an output type without a shape ("Field 'shape' of 'type' is required").
    """
    shapes = {spec.name: spec.shape for spec in signature.outputs}
    rewrites = []
    for output in model.graph.output:
        tensor = output.type.tensor_type
        if tensor.HasField("shape") or output.name not in shapes:
            continue
        for index, size in enumerate(shapes[output.name]):
            dim = tensor.shape.dim.add()
            if size is None:
                dim.dim_param = f"{output.name}_dim{index}"
            else:
                dim.dim_value = int(size)
        rewrites.append(f"onnx: output '{output.name}' given its shape from the Keras signature (tf2onnx wrote none)")
    return rewrites


def resize_with_sizes(model: onnx.ModelProto) -> list[str]:
    """Resize(x, roi, scales) whose float scales undershoot the size TF asked for -> Resize(x, roi, sizes).

    tf2onnx turns TF's output size into scales = size/input in float32: 10/12 becomes 0.8333333, and
    ONNX's shape rule floor(12 * 0.8333333) gives 9. onnxruntime rounds and returns 10 rows; ONNX
    Runtime Web's shape inference refuses the graph ("Inferred=9 Declared=10"). Sizes computed as
    Shape(x) * keep + fixed (keep: 1 on unscaled axes) state the size itself; the coordinate mapping
    (size/input) is the same.
    """
    import onnx
    from onnx import numpy_helper

    inferred = onnx.shape_inference.infer_shapes(model)
    dims = {info.name: [d.dim_value if d.HasField("dim_value") else None for d in info.type.tensor_type.shape.dim]
            for info in [*inferred.graph.value_info, *inferred.graph.input]}
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    rewrites, nodes = [], list(model.graph.node)
    for node in list(nodes):
        if node.op_type != "Resize" or len(node.input) != 3 or node.input[2] not in constants:
            continue
        sizes = _intended_sizes(dims.get(node.input[0]), constants[node.input[2]])
        if sizes is None:
            continue
        keep, fixed = (np.array([s is None for s in sizes], np.int64), np.array([s or 0 for s in sizes], np.int64))
        name = node.name
        model.graph.initializer.extend([numpy_helper.from_array(keep, f"{name}/keep"),
                                        numpy_helper.from_array(fixed, f"{name}/fixed")])
        position = nodes.index(node)  # ONNX wants producers before consumers: the sizes go right before
        nodes[position:position] = [
            onnx.helper.make_node("Shape", [node.input[0]], [f"{name}/shape"], name=f"{name}/shape"),
            onnx.helper.make_node("Mul", [f"{name}/shape", f"{name}/keep"], [f"{name}/kept"], name=f"{name}/kept"),
            onnx.helper.make_node("Add", [f"{name}/kept", f"{name}/fixed"], [f"{name}/sizes"], name=f"{name}/sizes"),
        ]
        node.input[2] = ""
        node.input.append(f"{name}/sizes")
        shown = [s for s in sizes if s is not None]
        rewrites.append(f"onnx: Resize to {shown} given by sizes, not float scales (ONNX's floor(input*scale) "
                        f"undershoots them; ONNX Runtime Web refuses the graph) at {name}")
    if rewrites:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return rewrites


def _intended_sizes(shape: list | None, scales: np.ndarray) -> list | None:
    """Per axis: None where the scale is 1 (kept as it runs), else round(input*scale); None when every
    floor(input*scale) already equals it, or when a scaled axis has no static size."""
    if shape is None or len(shape) != len(scales):
        return None
    sizes, undershoot = [], False
    for size, scale in zip(shape, scales.astype(np.float64)):
        if scale == 1.0:
            sizes.append(None)
            continue
        if not size:
            return None
        wanted = round(size * scale)
        undershoot |= math.floor(size * float(np.float32(scale))) != wanted
        sizes.append(wanted)
    return sizes if undershoot else None
