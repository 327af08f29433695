"""ONNX through tf2onnx from the SavedModel signature; checked with onnx.checker and ONNX Runtime.

Keras's own `model.export(format="onnx")` can write graphs that ONNX Runtime
refuses to load while logging only a line; here an artifact counts only once it
passes the checker and opens in an InferenceSession.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from exporters.details import ExportDetails
from exporters.onnx_graph import fill_output_shapes, resize_with_sizes
from exporters.onnx_quantization import QUANTIZATIONS, quantize_onnx
from exporters.unsupported_ops import TABLE_OPS, ops_in_saved_model, refuse_string_ops, unsupported_op_error
from exporters.via_saved_model import temporary_saved_model
from toolkit.errors import ExportError, UnsupportedOpError
from toolkit.model.loading import LoadedModel
from toolkit.registry import exporter
from toolkit.tf_env import native_output_silenced

DEFAULT_OPSET = 17


def _convert(saved_model: Path, output: Path, opset: int):
    from tf2onnx import convert, tf_loader

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    # In the export child of a large model (toolkit/export/isolation.py) the SavedModel is frozen without
    # grappler (large_model=True at this stage only): 0.4 GB instead of 4.5 GB for 200 MB of weights; it
    # helps only with protobuf's pure-Python backend, which that child uses. The conversion is unchanged.
    freeze_large = os.environ.get("TOOLKIT_ONNX_FREEZE") == "large"
    graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
        str(saved_model), None, None, None, ["serving_default"], None, freeze_large,
        return_initialized_tables=True, return_tensors_to_rename=True,
    )
    convert._convert_common(
        graph_def, name="model", opset=opset, input_names=inputs, output_names=outputs,
        initialized_tables=tables, tensors_to_rename=renames, output_path=str(output),
    )


@exporter("onnx", quantizations=("none", *QUANTIZATIONS), converter="tf2onnx",
          options={"opset": DEFAULT_OPSET, "calibration": None}, option_scope={"calibration": ("int8",)},
          needs_samples=("int8",))
def export_onnx(loaded: LoadedModel, staging: Path, quantization: str, options: dict) -> ExportDetails:
    """float32 through tf2onnx and the graph fixes; a quantized artifact is made from that file."""
    opset = int(options.get("opset", DEFAULT_OPSET))
    target = staging / "model.onnx"
    with temporary_saved_model(loaded, staging) as saved_model:
        refuse_string_ops("onnx", f"onnx (opset {opset})", saved_model, loaded, "tf2onnx has no conversion of {it} to ONNX")
        try:
            with native_output_silenced(fds=(1, 2)):
                _convert(saved_model, target, opset)
        except Exception as error:  # tf2onnx raises bare ValueError/RuntimeError for unsupported ops
            raise _conversion_error(" ".join(str(error).split()), saved_model, loaded, opset) from error
        # tf2onnx copies an op it cannot convert into the graph as it is and only logs it.
        unconverted = unconverted_nodes(target)
        if unconverted:
            raise unsupported_op_error(
                f"onnx (opset {opset})", unconverted, loaded.model, "tf2onnx has no conversion of {it} to ONNX"
            )
    rewrites = fix_graph_for_onnx(target, loaded)
    notes = [f"opset {opset}"]
    if quantization != "none":
        notes += quantize_onnx(target, quantization, loaded, options)
    check_onnx(target, loaded)
    return ExportDetails(main_file="model.onnx", rewrites=rewrites, notes=notes)


def fix_graph_for_onnx(path: Path, loaded: LoadedModel) -> list[str]:
    """Apply exporters/onnx_graph.py's fixes to the file in place; returns the rewrites made."""
    import onnx

    model = onnx.load(str(path))
    rewrites = fill_output_shapes(model, loaded.signature) + resize_with_sizes(model)
    if rewrites:
        onnx.save(model, str(path))
    return rewrites


def unconverted_nodes(path: Path) -> dict[str, list[str]]:
    """op type -> node names of nodes in the default ONNX domain that no ONNX opset defines."""
    import onnx

    found: dict[str, list[str]] = {}

    def visit(graph):
        for node in graph.node:
            if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type):
                found.setdefault(node.op_type, []).append(node.name)
            for attribute in node.attribute:  # Loop and If bodies
                for subgraph in [attribute.g, *attribute.graphs]:
                    visit(subgraph)

    visit(onnx.load(str(path), load_external_data=False).graph)
    return found


def _conversion_error(text: str, saved_model: Path, loaded, opset: int) -> ExportError:
    """An UnsupportedOpError naming the ops when tf2onnx's message points at some, else an ExportError."""
    table_ops = "lookup table" in text.lower()  # "Only lookup tables of type string<->int64 are supported"
    named = {
        op: names for op, names in ops_in_saved_model(saved_model, None).items()
        if f"'{op}'" in text or table_ops and op in TABLE_OPS
    }
    if named:
        detail = text[:200].replace("{", "{{").replace("}", "}}")
        return unsupported_op_error(f"onnx (opset {opset})", named, loaded.model, f"tf2onnx cannot convert {{it}} ({detail})")
    if "unsupported" in text.lower() or "not supported" in text.lower():
        return UnsupportedOpError(f"onnx (opset {opset}): {text[:400]}")
    return ExportError(f"ONNX conversion failed: {text[:400]}")


def check_onnx(path: Path, loaded: LoadedModel) -> None:
    import onnx
    import onnxruntime

    model = onnx.load(str(path))
    try:
        onnx.checker.check_model(model)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # checker and ORT raise their own exception types
        raise ExportError(f"ONNX artifact is invalid: {' '.join(str(error).split())[:400]}") from error
    names_in = {i.name for i in session.get_inputs()}
    names_out = {o.name for o in session.get_outputs()}
    if names_in != set(loaded.signature.input_names) or names_out != set(loaded.signature.output_names):
        raise ExportError(f"ONNX graph names {sorted(names_in)} -> {sorted(names_out)} lost the model's names")
    unknown = [d for d in model.graph.input[0].type.tensor_type.shape.dim[:1] if d.dim_value]
    if unknown:
        raise ExportError("ONNX graph has a fixed batch dimension; expected a dynamic one")
