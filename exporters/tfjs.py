"""TF.js graph model via the converter's tf_saved_model -> tfjs_graph_model route.

The converter's Keras layers-model route does not accept Keras 3 models, so the
SavedModel route is the only one; its weight quantization maps to --quantize.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from exporters.details import ExportDetails
from exporters.tfjs_graph import fix_graph_for_tfjs
from exporters.unsupported_ops import TABLE_OPS, ops_in_saved_model, refuse_string_ops, unsupported_op_error
from exporters.via_saved_model import temporary_saved_model
from toolkit.errors import ExportError
from toolkit.model.loading import LoadedModel
from toolkit.registry import exporter
from toolkit.tf_env import native_output_silenced

# --quantize value -> tensorflowjs quantization_dtype_map (applied to every weight: "*")
QUANTIZATION_DTYPES = {"none": None, "fp16": "float16", "uint8": "uint8"}


@exporter("tfjs", quantizations=("none", "fp16", "uint8"), converter="tensorflowjs")
def export_tfjs(loaded: LoadedModel, staging: Path, quantization: str, options: dict) -> ExportDetails:
    with native_output_silenced(fds=(1, 2)):  # tensorflow_decision_forests prints a banner on import
        from tensorflowjs.converters import tf_saved_model_conversion_v2 as conversion

    dtype = QUANTIZATION_DTYPES[quantization]
    dtype_map = {dtype: "*"} if dtype else None
    with temporary_saved_model(loaded, staging) as saved_model:
        refuse_string_ops("tfjs", "tfjs", saved_model, loaded, "TF.js has no kernel for {it}")
        try:
            with native_output_silenced(fds=(1, 2)):
                conversion.convert_tf_saved_model(
                    str(saved_model), str(staging), signature_def="serving_default",
                    saved_model_tags="serve", quantization_dtype_map=dtype_map,
                )
        except Exception as error:  # the converter raises ValueError for unsupported ops, others for I/O
            raise _conversion_error(str(error), saved_model, loaded) from error
        rewrites = fix_graph_for_tfjs(staging / "model.json", loaded.signature.output_names)
        try:
            check_tfjs(staging / "model.json", loaded)
        except ExportError as error:
            tables = {op: names for op, names in ops_in_saved_model(saved_model, TABLE_OPS).items() if names}
            if tables:  # the converter turns a TF2 lookup table's resource into an extra graph input
                raise unsupported_op_error(
                    "tfjs", tables, loaded.model, "the TF.js graph model turns the lookup table into an extra input"
                ) from error
            raise
    return ExportDetails(main_file="model.json", rewrites=rewrites)


def _conversion_error(text: str, saved_model: Path, loaded) -> ExportError:
    """UnsupportedOpError naming the ops and their Keras layers when tfjs's op list lacks them."""
    match = re.search(r"Unsupported Ops in the model (before|after) optimization\s+(.*)", text, re.S)
    if not match:
        return ExportError(f"TF.js conversion failed: {' '.join(text.split())[:400]}")
    ops = sorted({op.strip() for op in match.group(2).split(",") if op.strip()})
    # After grappler's fusions an op may have no node of that type in the SavedModel itself.
    return unsupported_op_error("tfjs", ops_in_saved_model(saved_model, ops), loaded.model, "TF.js has no kernel for {it}")


def tensor_key(name: str) -> str:
    """TF.js keys graph inputs by tensor name ("pixels:0"); the signature name is the part before ':'."""
    return name.split(":")[0]


def check_tfjs(path: Path, loaded: LoadedModel) -> None:
    """The graph model keeps the signature's names; running it is the tfjs-node runtime's job."""
    signature = json.loads(path.read_text()).get("signature", {})
    inputs = signature.get("inputs", {})
    if any(spec.is_string for spec in loaded.signature.inputs):
        # A lookup table's resource appears as an extra signature input with a resourceId; TF.js feeds it
        # from the model's initializer graph, not the caller (measured for StringLookup's string->int64
        # table; integer-keyed tables keep failing here, as before: not measured).
        inputs = {key: info for key, info in inputs.items() if info.get("resourceId") is None}
    names_in, names_out = set(map(tensor_key, inputs)), set(map(tensor_key, signature.get("outputs", {})))
    if names_in != set(loaded.signature.input_names) or names_out != set(loaded.signature.output_names):
        raise ExportError(f"TF.js signature {sorted(names_in)} -> {sorted(names_out)} lost the model's names")
