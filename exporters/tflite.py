"""TFLite (LiteRT) through the SavedModel route, builtin ops only, with five quantization modes.

Neither TF 2.19 nor ai-edge-litert ships the Flex delegate, so Select TF ops are
never enabled: a model that needs them fails here, naming the ops, rather than
at run time on a device.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from exporters.calibration import calibration_source, representative_batches
from exporters.details import ExportDetails
from exporters.tflite_measure import TFLiteSteps
from exporters.unsupported_ops import ops_in_saved_model, refuse_string_ops, unsupported_op_error
from exporters.via_saved_model import temporary_saved_model
from toolkit.errors import ExportError, UnsupportedOpError
from toolkit.model.loading import LoadedModel
from toolkit.registry import exporter
from toolkit.tf_env import native_output_silenced

if TYPE_CHECKING:
    import keras

TFLITE_LACKS = "TFLite builtin ops lack {it} (the Flex delegate that runs TF ops is not available)"


# Quantizations calibrated on representative inputs -> the op sets they convert to. Conv2D and Dense
# weights are per-channel (one scale per output channel) by default in TF 2.19, checked by
# parity_tests/test_tflite_int16x8.py. int16x8: ops without a 16x8 kernel stay float32 (the converter's
# documented fallback, TFLITE_BUILTINS after the 16x8 set) rather than failing the export; notes name them.
CALIBRATED = {
    "int8": lambda tf: [tf.lite.OpsSet.TFLITE_BUILTINS_INT8],
    "int16x8": lambda tf: [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
                           tf.lite.OpsSet.TFLITE_BUILTINS],
}


def _configure(converter, loaded, quantization: str, options: dict) -> None:
    import tensorflow as tf

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "none":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantization in CALIBRATED:
        batches = representative_batches(loaded, options)
        # The signature runner feeds by name, so the dataset yields dicts keyed by input name.
        converter.representative_dataset = lambda: (dict(batch) for batch in batches)
        converter.target_spec.supported_ops = CALIBRATED[quantization](tf)
        # Inputs and outputs stay float32 (quantize/dequantize at the edges) so callers need no scales.


def unsupported_ops(error_text: str) -> list[str]:
    """TF op types the converter could not lower to TFLite builtins, from its error text."""
    return sorted(set(re.findall(r"'(?:tf|flex)\.(\w+)' op", error_text)))


def unsupported_ops_error(error_text: str, target: str, saved_model: Path, model: keras.Model) -> UnsupportedOpError | None:
    """One error naming the ops, the Keras layers they come from and the target; None for other failures."""
    ops = unsupported_ops(error_text)
    if not ops and "Select TF ops" not in error_text:
        return None
    if not ops:
        first = " ".join(error_text.split())[:300]
        return UnsupportedOpError(f"{target}: the model needs TF ops outside the TFLite builtin set ({first})")
    return unsupported_op_error(target, ops_in_saved_model(saved_model, ops), model, TFLITE_LACKS)


# Modes that search over measured candidates (exporters/tflite_selective.py, exporters/tflite_auto.py).
SEARCHED = ("int8-selective", "auto")


@exporter("tflite", quantizations=("none", "fp16", "dynamic", *CALIBRATED, *SEARCHED), converter="tensorflow",
          options={"calibration": None, "min_top1": 0.99, "task": None},
          option_scope={"calibration": (*CALIBRATED, *SEARCHED), "min_top1": SEARCHED, "task": SEARCHED},
          needs_samples=(*CALIBRATED, *SEARCHED), on_request_only=SEARCHED)
def export_tflite(loaded: LoadedModel, staging: Path, quantization: str, options: dict) -> ExportDetails:
    import tensorflow as tf

    if quantization in SEARCHED:
        from exporters.tflite_auto import export_auto
        from exporters.tflite_selective import export_int8_selective

        search = export_auto if quantization == "auto" else export_int8_selective
        # They convert candidates and check their choice with this module's functions, handed over (no import loop).
        return search(loaded, staging, options, TFLiteSteps(convert=export_tflite, check=check_tflite))

    with temporary_saved_model(loaded, staging) as saved_model:
        refuse_string_ops("tflite", _target_name(quantization), saved_model, loaded, TFLITE_LACKS)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=["serving_default"])
        _configure(converter, loaded, quantization, options)
        try:
            with native_output_silenced(fds=(1, 2)):
                flatbuffer = converter.convert()
        except Exception as error:  # ConverterError and friends: report the ops when that is the cause
            text = str(error)
            unsupported = unsupported_ops_error(text, _target_name(quantization), saved_model, loaded.model)
            if unsupported:
                raise unsupported from error
            raise ExportError(f"TFLite conversion failed: {' '.join(text.split())[:400]}") from error
    (staging / "model.tflite").write_bytes(flatbuffer)
    check_tflite(staging / "model.tflite", loaded)
    return ExportDetails(main_file="model.tflite", notes=_notes(quantization, staging / "model.tflite", loaded, options))


def _target_name(quantization: str) -> str:
    return "tflite" if quantization == "none" else f"tflite ({quantization})"


def _notes(quantization: str, path: Path, loaded: LoadedModel, options: dict) -> list[str]:
    if quantization not in CALIBRATED:
        return []
    edges = "float32 inputs and outputs (quantize/dequantize at the edges)"
    notes = [f"calibrated on {calibration_source(loaded, options)}"]
    if quantization == "int8":
        return [f"full-integer int8 kernels, per-channel weights; {edges}", *notes]
    in_float = float_ops(path)
    kept = (f"ops without a 16x8 kernel kept in float32: {', '.join(in_float)}" if in_float
            else "every op runs a 16x8 kernel")
    return [f"int16 activations, int8 per-channel weights; {edges}; {kept}", *notes]


def float_ops(path: Path) -> list[str]:
    """Op types in a quantized flatbuffer that still compute in float32 (the converter's fallback)."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings(), native_output_silenced():
        warnings.simplefilter("ignore")  # the deprecation warning every Interpreter prints (see check_tflite)
        interpreter = Interpreter(model_path=str(path))
    tensors = {detail["index"]: detail for detail in interpreter.get_tensor_details()}
    # _get_ops_details is the interpreter's only listing of ops with their tensors.
    return sorted({op["op_name"] for op in interpreter._get_ops_details()
                   if op["op_name"] != "DEQUANTIZE"
                   and any(tensors[i]["dtype"] == np.float32 for i in op["outputs"] if i in tensors)})


def check_tflite(path: Path, loaded: LoadedModel) -> None:
    """Load in the LiteRT interpreter and run one batch: a file that does not run is no artifact."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    from toolkit.model.spec import random_inputs

    with warnings.catch_warnings(), native_output_silenced():
        # LiteRT warns on every Interpreter that tf.lite.Interpreter is deprecated; this is the new one.
        # The silenced fd 2 also hides XNNPACK's "Created delegate" line printed at first run.
        warnings.simplefilter("ignore")
        interpreter = Interpreter(model_path=str(path))
        runner = interpreter.get_signature_runner("serving_default")
        names_in, names_out = set(runner.get_input_details()), set(runner.get_output_details())
        try:
            outputs = runner(**random_inputs(loaded.signature.inputs, 1, seed=0)) if names_in == set(loaded.signature.input_names) else {}
        except RuntimeError as error:
            raise _run_error(error, loaded) from error
    if names_in != set(loaded.signature.input_names) or names_out != set(loaded.signature.output_names):
        raise ExportError(f"TFLite signature {sorted(names_in)} -> {sorted(names_out)} lost the model's names")
    if not all(np.all(np.isfinite(v)) for v in outputs.values()):
        raise ExportError("TFLite artifact produces NaN or Inf on sample inputs")


def _run_error(error: RuntimeError, loaded: LoadedModel) -> ExportError:
    """The converted model fails in LiteRT at batch 1; with string inputs, say what is known about it."""
    text = " ".join(str(error).split())[:300]
    strings = [spec.name for spec in loaded.signature.inputs if spec.is_string]
    if not strings:
        return ExportError(f"TFLite artifact fails in LiteRT at batch 1: {text}")
    # Measured (LiteRT 2.3, StringLookup -> Embedding -> Flatten/Reshape/GlobalAveragePooling1D): on a
    # string input of shape (1,), a fresh interpreter's first run at batch 1 fails in a later RESHAPE or
    # the XNNPACK delegate (the lookup's output has no static shape); inputs of shape () or (N>1,) run.
    return UnsupportedOpError(
        f"tflite: the converted vocabulary lookup of string input {', '.join(repr(n) for n in strings)} fails in LiteRT "
        f"at batch 1 ({text[:160]}); do the vocabulary lookup in the input pipeline and feed integer ids"
    )
