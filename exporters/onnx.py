"""ONNX through tf2onnx from the SavedModel signature; checked with onnx.checker and ONNX Runtime.

Keras's own `model.export(format="onnx")` can write graphs that ONNX Runtime
refuses to load while logging only a line; here an artifact counts only once it
passes the checker and opens in an InferenceSession.
"""

from __future__ import annotations

import logging
from pathlib import Path

from exporters.details import ExportDetails
from exporters.via_saved_model import temporary_saved_model
from toolkit.errors import ExportError, UnsupportedOpError
from toolkit.registry import exporter
from toolkit.tf_env import native_output_silenced

DEFAULT_OPSET = 17


def _convert(saved_model: Path, output: Path, opset: int):
    from tf2onnx import convert, tf_loader

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
        str(saved_model), None, None, None, ["serving_default"], None, False,
        return_initialized_tables=True, return_tensors_to_rename=True,
    )
    convert._convert_common(
        graph_def, name="model", opset=opset, input_names=inputs, output_names=outputs,
        initialized_tables=tables, tensors_to_rename=renames, output_path=str(output),
    )


@exporter("onnx", quantizations=("none",), converter="tf2onnx")
def export_onnx(loaded, staging: Path, quantization: str, options: dict) -> ExportDetails:
    opset = int(options.get("opset", DEFAULT_OPSET))
    target = staging / "model.onnx"
    with temporary_saved_model(loaded) as saved_model:
        try:
            with native_output_silenced(fds=(1, 2)):
                _convert(saved_model, target, opset)
        except Exception as error:  # tf2onnx raises bare ValueError/RuntimeError for unsupported ops
            text = " ".join(str(error).split())
            if "unsupported" in text.lower() or "not supported" in text.lower():
                raise UnsupportedOpError(f"onnx (opset {opset}): {text[:400]}") from error
            raise ExportError(f"ONNX conversion failed: {text[:400]}") from error
    check_onnx(target, loaded)
    return ExportDetails(main_file="model.onnx", notes=[f"opset {opset}"])


def check_onnx(path: Path, loaded) -> None:
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
