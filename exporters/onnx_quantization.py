"""ONNX quantization: the float32 model.onnx in, its fp16, dynamic or int8 version written in its place.

- fp16: onnxconverter-common's float16 conversion; inputs and outputs stay float32 (Casts at the edges).
- dynamic: ONNX Runtime's quantize_dynamic: int8 weights, activations quantized at run time.
- int8: ONNX Runtime's quantize_static in QDQ format: per-channel int8 weights, int8 activations calibrated
  (MinMax) on exporters/calibration.py's representative inputs, the same ones TFLite's int8 uses.
Each returns the notes the manifest records: what was done and what stayed float32. All three run in
ONNX Runtime and in ONNX Runtime Web's wasm backend (MatMulInteger, ConvInteger and the QLinear kernels
ONNX Runtime fuses QDQ groups into are in its wasm build).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from exporters.calibration import representative_batches
from toolkit.errors import ExportError, UnsupportedOpError
from toolkit.model.loading import LoadedModel
from toolkit.tf_env import native_output_silenced

QUANTIZATIONS = ("fp16", "dynamic", "int8")
# Ops kept float32 besides onnxconverter-common's DEFAULT_OP_BLOCK_LIST (ML-domain ops, Resize, Range, CumSum,
# TopK, Min, Max...): comparisons, because tf2onnx casts integer ids and positions to float to compare them and
# float16 holds integers exactly only up to 2048.
EXTRA_FP16_BLOCK_LIST = ("Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual")
# onnxconverter-common clamps float32 constants to +-10000 (its max_finite_val, below float16's 65504, so a
# clamped attention mask added to a logit stays finite).
FP16_CLAMP = 1e4
# int8 quantizes the ops that carry weights, with int8 activations at their inputs and outputs (ONNX Runtime
# fuses each group into QLinearConv, QGemm, ...). Everything else stays float32 between the Q/DQ pairs:
# quantizing Add/Mul/Softmax too put an attention mask's -2.4e38 into an int8 range (text_decoder: top-1
# agreement 0.02 against 0.91 this way), and gave no better agreement on the CNNs measured.
INT8_OP_TYPES = ("Conv", "ConvTranspose", "MatMul", "Gemm")
# What dynamic quantization writes for the ops it quantizes (a quantized Gather reads a DequantizeLinear instead).
DYNAMIC_OP_TYPES = ("MatMulInteger", "ConvInteger", "DynamicQuantizeLSTM", "QAttention")
# For the error when a model has none of them: what each mode quantizes, and what to use instead.
QUANTIZABLE = {"dynamic": "MatMul, Conv, Gather, LSTM, Attention", "int8": "Conv, ConvTranspose, MatMul, Gemm"}
ALTERNATIVE = {"dynamic": "fp16", "int8": "dynamic or fp16"}
# QuantizeLinear/DequantizeLinear take a per-channel `axis` from opset 13 on.
PER_CHANNEL_MIN_OPSET = 13


def quantize_onnx(path: Path, quantization: str, loaded: LoadedModel, options: dict) -> list[str]:
    """Rewrite the float32 ONNX file at `path` as `quantization`; returns notes for the manifest."""
    if quantization == "fp16":
        return to_float16(path)
    if quantization == "dynamic":
        return quantize_weights_dynamic(path)
    if quantization == "int8":
        return quantize_static_qdq(path, representative_batches(loaded, options))
    raise ExportError(f"onnx: unknown quantization {quantization!r}; choose from none, {', '.join(QUANTIZATIONS)}")


def to_float16(path: Path) -> list[str]:
    """float16 weights and activations; inputs, outputs and the ops of the block list stay float32."""
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(path))
    block_list = sorted({*float16.DEFAULT_OP_BLOCK_LIST, *EXTRA_FP16_BLOCK_LIST})
    kept = sorted({node.op_type for node in _all_nodes(model.graph) if node.op_type in block_list})
    # The converter retypes a Cast's output as float16 but leaves its `to=FLOAT`, a graph ONNX Runtime refuses
    # (measured: tf2onnx's Cast of token ids before a Less). Blocked by name, they stay float32 and get a Cast
    # to float16 after them; blocked by op type, the converter loops forever on the Casts it inserts itself.
    float_casts = [node.name for node in _all_nodes(model.graph)
                   if node.op_type == "Cast" and node.name and _cast_target(node) == onnx.TensorProto.FLOAT]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # keep_io_types: callers keep feeding and reading float32, exactly as for the float32 artifact.
        converted = float16.convert_float_to_float16(model, keep_io_types=True, op_block_list=block_list,
                                                     node_block_list=float_casts, max_finite_val=FP16_CLAMP)
    onnx.save(converted, str(path))
    kept += ["Cast to float32"] if float_casts else []
    notes = [f"fp16 weights and activations, float32 inputs and outputs (Casts at the edges); ops kept in float32: "
             f"{', '.join(kept) or 'none'} ({_version('onnxconverter-common')})"]
    clamped = sum(1 for warning in caught if _clamped_large(str(warning.message)))
    if clamped:
        notes.append(f"{clamped} constant tensors held values beyond +-{FP16_CLAMP:g}, clamped to it (e.g. masks' -inf stand-ins)")
    return notes


def quantize_weights_dynamic(path: Path) -> list[str]:
    """int8 weights, activations quantized per batch at run time; everything else float32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quantizer_quiet(), tempfile.TemporaryDirectory(dir=path.parent, prefix=".quantize-") as scratch:
        target = Path(scratch) / "dynamic.onnx"
        # per_channel: one scale per output column of a MatMul (mean error 3-14% lower on the reference models
        # measured). ConvInteger takes one zero point per tensor, so Conv weights stay per-tensor either way.
        # EnableSubgraph: the bodies of If/Loop nodes (a data-dependent branch) are quantized too.
        quantize_dynamic(str(path), str(target), per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"EnableSubgraph": True})
        target.replace(path)
    counts = _require_quantized("dynamic", _op_counts(path, _dynamic_quantized))
    return [f"dynamic int8: int8 weights (per-channel for MatMul, per-tensor for Conv), activations quantized at run "
            f"time, other ops float32 ({_counted(counts)}; onnxruntime.quantization {_version('onnxruntime')})"]


def quantize_static_qdq(path: Path, batches: list[dict[str, np.ndarray]]) -> list[str]:
    """QDQ int8: per-channel weights, activations on ranges calibrated (MinMax) over `batches`."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    opset = next(o.version for o in onnx.load(str(path), load_external_data=False).opset_import if o.domain in ("", "ai.onnx"))
    if opset < PER_CHANNEL_MIN_OPSET:
        raise ExportError(f"onnx (int8): per-channel QDQ needs --opset {PER_CHANNEL_MIN_OPSET} or later, got {opset}")
    with _quantizer_quiet(), tempfile.TemporaryDirectory(dir=path.parent, prefix=".quantize-") as scratch:
        prepared, target = Path(scratch) / "prepared.onnx", Path(scratch) / "int8.onnx"
        source = _quantize_bodies_dynamic(path, Path(scratch) / "bodies.onnx")
        # Pre-processing folds constants and fuses MatMul+Add into Gemm, so a bias is quantized with its weights
        # (int32 at their scale) rather than as an int8 activation. sympy is no dependency here: ONNX's own
        # shape inference suffices for graphs tf2onnx already shaped.
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(target), FeedReader(batches), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(INT8_OP_TYPES), per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        target.replace(path)
    counts = _require_quantized("int8", _op_counts(path, _int8_quantized))
    bodies = "; If/Loop bodies dynamic int8: the static quantizer does not enter them" if source != path else ""
    return [f"QDQ int8: per-channel int8 weights and int8 activations for {', '.join(INT8_OP_TYPES)}, MinMax "
            f"calibration on {len(batches)} samples; other ops float32 between QuantizeLinear/DequantizeLinear; float32 "
            f"inputs and outputs ({_counted(counts)}{bodies}; onnxruntime.quantization {_version('onnxruntime')})"]


def _quantize_bodies_dynamic(path: Path, target: Path) -> Path:
    """The file with the MatMul/Conv inside If/Loop bodies dynamically quantized (written to `target`), or
    `path` when there are none: ONNX Runtime's static quantizer leaves those bodies float32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(path), load_external_data=False).graph
    everywhere = sum(1 for node in _all_nodes(graph) if node.op_type in ("MatMul", "Conv"))
    if everywhere == sum(1 for node in graph.node if node.op_type in ("MatMul", "Conv")):
        return path
    quantize_dynamic(str(path), str(target), per_channel=True, weight_type=QuantType.QInt8,
                     nodes_to_exclude=[node.name for node in graph.node], extra_options={"EnableSubgraph": True})
    return target


def _dynamic_quantized(node, producers: dict[str, str]) -> bool:
    """An integer op dynamic quantization wrote, or a Gather reading its table through a DequantizeLinear."""
    return node.op_type in DYNAMIC_OP_TYPES or bool(node.input) and producers.get(node.input[0]) == "DequantizeLinear"


def _int8_quantized(node, producers: dict[str, str]) -> bool:
    """A compute op fed by a DequantizeLinear (QDQ), or one that dynamic quantization wrote (If/Loop bodies)."""
    if node.op_type in DYNAMIC_OP_TYPES:
        return True
    return node.op_type in INT8_OP_TYPES and any(producers.get(name) == "DequantizeLinear" for name in node.input)


class FeedReader:
    """onnxruntime.quantization.CalibrationDataReader over prepared feeds (name -> one-sample array)."""

    def __init__(self, batches: list[dict[str, np.ndarray]]):
        self._batches = batches
        self._next: Iterator[dict[str, np.ndarray]] = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._next, None)

    def rewind(self) -> None:
        self._next = iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)


@contextlib.contextmanager
def _quantizer_quiet() -> Iterator[None]:
    """ONNX Runtime's quantizer logs advice ("consider pre-processing") through the root logger, and its
    sessions warn on fd 2 about initializers the calibration graph leaves unused."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with native_output_silenced(fds=(2,)):
            yield
    finally:
        root.setLevel(level)


def _all_nodes(graph) -> Iterator:
    """Nodes of `graph` and of the bodies of its If/Loop/Scan nodes."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs] if attribute.type in (5, 10) else []:  # GRAPH, GRAPHS
                yield from _all_nodes(subgraph)


def _op_counts(path: Path, counted) -> dict[str, int]:
    """op type -> how many nodes `counted(node, producer op type by tensor name)` accepts."""
    import onnx

    nodes = list(_all_nodes(onnx.load(str(path)).graph))
    producers = {output: node.op_type for node in nodes for output in node.output}
    counts: dict[str, int] = {}
    for node in nodes:
        if counted(node, producers):
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def _require_quantized(quantization: str, counts: dict[str, int]) -> dict[str, int]:
    """`counts`, or an error when nothing was quantized: a float32 file labelled quantized would pass parity."""
    if not counts:
        raise UnsupportedOpError(
            f"onnx ({quantization}): the model has no op ONNX Runtime's quantizer quantizes in this mode "
            f"({QUANTIZABLE[quantization]}), so the file would be float32; use --quantize {ALTERNATIVE[quantization]}"
        )
    return counts


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(counts.items()))


def _cast_target(node) -> int:
    return next((attribute.i for attribute in node.attribute if attribute.name == "to"), 0)


def _clamped_large(message: str) -> bool:
    """True for onnxconverter-common's "the float32 number X will be truncated to Y" with |Y| the clamp."""
    words = message.split()
    return message.startswith("the float32 number") and abs(float(words[-1])) >= FP16_CLAMP


def _version(distribution: str) -> str:
    from importlib import metadata

    return f"{distribution} {metadata.version(distribution)}"
