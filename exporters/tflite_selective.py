"""`int8-selective` TFLite: full-integer int8, except the ops measured to hurt most, which compute in float.

Plain post-training int8 loses real architectures' answers (issue 13: top-1 agreement 0.06-0.57 on
MobileNetV3Small, EfficientNetB0, ResNet50). Here ai-edge-quantizer (Google's LiteRT quantization
recipes) quantizes the float .tflite with a per-op recipe:

1. calibrate once and quantize every op to int8 weights and int8 activations (inputs and outputs
   stay float32, as with `int8`);
2. measure each op's own damage: the SNR of its output tensor against the float model's, minus the
   worst SNR of its inputs (the quantizer's per-tensor validation on calibration samples), so error
   that an op merely inherits from upstream does not count against it;
3. compute the worst k ops in float (the classifier head first), k = 1, 2, 4, ... then a bisection
   down to the smallest k that meets the budget on the judged samples (exporters/tflite_measure.py);
4. if even float arithmetic everywhere misses it (near-uniform classifiers, e.g. untrained networks,
   whose answers int8 weights alone flip), measure the same SNR loss in that model, whose only error is
   now its int8 weights, and keep the worst k weights float32 the same way, within MAX_SIZE_RATIO.

An op computed in float keeps int8 weights where it has weights (weight-only quantization:
dequantized when loaded, float32 arithmetic), so the file stays about as small as full int8 however
many ops step 3 keeps in float; an op without weights simply stays float32.
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from exporters.details import ExportDetails
from exporters.tflite_measure import (
    Budget,
    Feed,
    Measurement,
    TFLiteSteps,
    budget_from,
    calibration_and_judging,
    measure,
    run_tflite,
)
from toolkit.errors import ExportError
from toolkit.metrics import snr_loss_db
from toolkit.model.loading import LoadedModel
from toolkit.tf_env import native_output_silenced

SENSITIVITY_SAMPLES = 8  # calibration samples the per-op SNR is averaged over (each runs both models)
SIGNATURE = "serving_default"
WEIGHTED_OPS = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_3D", "TRANSPOSE_CONV", "BATCH_MATMUL",
                "EMBEDDING_LOOKUP"}
MAX_SIZE_RATIO = 0.5  # float32 weights stop where the file would outgrow fp16's: fp16 is then the better choice
MAX_HEAD_OPS = 8  # a model without weights near its outputs does not put its whole graph in the head


@dataclass(frozen=True)
class OpSensitivity:
    scope: str  # ai-edge-quantizer's name of the op: its output tensor names, each followed by ";"
    op_type: str
    snr_drop_db: float  # how much SNR this op loses over its worst input
    in_head: bool = False  # between a model output and the last op with weights before it, that one included


@dataclass
class SelectiveResult:
    flatbuffer: bytes
    float_size: int
    float_ops: list[OpSensitivity]  # computed in float32 (int8 weights, unless also in float_weights)
    float_weights: list[OpSensitivity]  # float32 weights too
    measurement: Measurement
    op_count: int
    tried: list[dict] = field(default_factory=list)  # {"stage", "k", "size_ratio", measurement} per candidate

    @property
    def size_ratio(self) -> float:
        return len(self.flatbuffer) / self.float_size

    def report(self, budget: Budget, judged_on: str) -> dict:
        return {
            "method": "ai-edge-quantizer static int8; the ops with the worst measured SNR loss computed in float, "
                      "then, if needed, the weights with the worst measured SNR loss kept float32",
            "budget": {"min_top1": budget.min_top1, "min_sqnr_db": budget.min_sqnr_db, "max_size_ratio": MAX_SIZE_RATIO},
            "judged_on": judged_on,
            "measurement": self.measurement.to_json(),
            "size_ratio": round(self.size_ratio, 4),
            "ops": self.op_count,
            "float_ops": [_op_json(o) for o in self.float_ops],
            "float_weight_ops": [_op_json(o) for o in self.float_weights],
            "tried": self.tried,
        }


def _op_json(op: OpSensitivity) -> dict:
    return {"op": op.scope.rstrip(";"), "type": op.op_type, "snr_drop_db": round(op.snr_drop_db, 2), "in_head": op.in_head}


def export_int8_selective(loaded: LoadedModel, staging: Path, options: dict, steps: TFLiteSteps) -> ExportDetails:
    """The exporter of `tflite-int8-selective`: search, write, and record what was kept in float."""
    budget = budget_from(options, loaded)
    samples = calibration_and_judging(loaded, options)
    float_model = steps.converted(loaded, staging, "none", options)
    result = search_selective(float_model, samples.calibration, samples.judging, budget)
    (staging / "model.tflite").write_bytes(result.flatbuffer)
    steps.check(staging / "model.tflite", loaded)
    return ExportDetails(main_file="model.tflite", notes=selective_notes(result),
                         quantization_report=result.report(budget, samples.source))


def selective_notes(result: SelectiveResult) -> list[str]:
    m = result.measurement
    verdict = "meets" if m.passed else "MISSES (the closest found is written)"
    weights = f"; {len(result.float_weights)} of them keep float32 weights" if result.float_weights else ""
    return [f"{len(result.float_ops)} of {result.op_count} ops compute in float32 with int8 weights{weights}, the "
            f"others in int8 (weights and activations), chosen by measured SNR loss; {m.metric} {m.value:.4g} on "
            f"the judged samples {verdict} the budget; {result.size_ratio:.3f}x the float32 size"]


def search_selective(float_model: bytes, calibration: list[Feed], judging: list[Feed], budget: Budget) -> SelectiveResult:
    """Fewest float ops (worst first) meeting `budget` on `judging`; if even all-float arithmetic misses it,
    fewest float32 weights (worst first) on top, within MAX_SIZE_RATIO."""
    quantizer = _Quantizer(float_model, calibration)
    sensitivity_samples = calibration[:SENSITIVITY_SAMPLES]
    reference = run_tflite(float_model, judging)
    tried: dict[tuple[str, int], tuple[bytes, Measurement, list, list]] = {}

    def attempt(stage: str, k: int, float_ops: list, float_weights: list) -> bool | None:
        if (stage, k) not in tried:
            flatbuffer = quantizer.quantize(float_ops, float_weights)
            # Only float32 weights grow the file; a tiny model's int8 file may exceed the cap by overhead alone.
            if float_weights and len(flatbuffer) > MAX_SIZE_RATIO * len(float_model):
                measurement = Measurement("size_ratio", len(flatbuffer) / len(float_model), False)  # never measured
            else:
                measurement = measure(reference, run_tflite(flatbuffer, judging), budget)
            tried[(stage, k)] = (flatbuffer, measurement, float_ops, float_weights)
        measurement = tried[(stage, k)][1]
        return None if measurement.metric == "size_ratio" else measurement.passed

    ranked = quantizer.ranked_ops(sensitivity_samples, float_ops=[])
    chosen = _fewest_passing(lambda k: attempt("activations", k, ranked[:k], []), len(ranked))
    if chosen is not None:
        key = ("activations", chosen)
    else:  # int8 activations anywhere miss the budget: float arithmetic, then the int8 weights that hurt most
        measured = quantizer.ranked_ops(sensitivity_samples, float_ops=ranked)
        weights = sorted((op for op in measured if op.op_type in WEIGHTED_OPS), key=lambda op: -op.snr_drop_db)
        chosen = _fewest_passing(lambda k: attempt("weights", k, ranked, weights[:k]), len(weights))
        key = ("weights", chosen) if chosen is not None else _closest(tried)
    flatbuffer, measurement, float_ops, float_weights = tried[key]
    history = [{"stage": stage, "k": k, "size_ratio": round(len(b) / len(float_model), 4), **m.to_json()}
               for (stage, k), (b, m, _, _) in tried.items()]
    return SelectiveResult(flatbuffer, len(float_model), float_ops, float_weights, measurement, len(ranked), history)


def _fewest_passing(attempt, count: int) -> int | None:
    """Smallest k in 0..count for which attempt(k) passes: k = 0, 1, 2, 4, ... then bisection; None if none.
    attempt(k) is None when the candidate outgrows the size cap: larger ones would too."""
    failing, k = -1, 0
    while not (passed := attempt(k)):
        failing = k
        if k >= count or passed is None:
            return None
        k = min(count, max(1, 2 * k))
    while k - failing > 1:  # attempt(failing) failed, attempt(k) passed
        middle = (failing + k) // 2
        failing, k = (failing, middle) if attempt(middle) else (middle, k)
    return k


def _closest(tried: dict) -> tuple[str, int]:
    """Nothing met the budget: the measured candidate closest to it, the first tried on a tie."""
    measured = [key for key, (_, m, _, _) in tried.items() if m.metric != "size_ratio"]
    return max(measured, key=lambda key: tried[key][1].value)


class _Quantizer:
    """ai-edge-quantizer over one float model: calibrated once, then quantized with any set of float ops."""

    def __init__(self, float_model: bytes, calibration: list[Feed]):
        from ai_edge_quantizer import quantizer

        self.float_model = float_model
        self._branch_ops = _branch_scopes(float_model)
        self._quantizer = quantizer.Quantizer(bytearray(float_model))
        self._set_recipe([], [])
        try:
            with _quiet():
                self._calibration = self._quantizer.calibrate({SIGNATURE: calibration}, num_threads=2)
        except (ValueError, RuntimeError, KeyError) as error:
            raise ExportError(f"ai-edge-quantizer cannot calibrate this model: {_short(error)}") from error

    def _set_recipe(self, float_ops: list[OpSensitivity], float_weights: list[OpSensitivity]) -> None:
        from ai_edge_quantizer import qtyping
        from ai_edge_quantizer.algorithm_manager import AlgorithmName

        every = qtyping.TFLOperationName.ALL_SUPPORTED
        self._quantizer.load_quantization_recipe([])
        self._quantizer.add_static_config(".*", every, activation_num_bits=8, weight_num_bits=8)
        for edge in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT):
            # Float32 model inputs and outputs, as `int8` has: callers need no scales.
            self._quantizer.update_quantization_recipe(".*", edge, algorithm_key=AlgorithmName.NO_QUANTIZE)
        for scope in self._branch_ops:
            # Control-flow branches (If, While bodies) are not calibrated by the quantizer: they stay float.
            self._quantizer.update_quantization_recipe(f"^{re.escape(scope)}$", every, algorithm_key=AlgorithmName.NO_QUANTIZE)
        for op in float_ops:
            name = re.escape(op.scope)
            # Two entries, because the latest entry an op supports wins: no quantization for every op,
            # then int8 weight-only, which ops without weights refuse (they stay on the first).
            self._quantizer.update_quantization_recipe(f"^{name}$", every, algorithm_key=AlgorithmName.NO_QUANTIZE)
            self._quantizer.add_weight_only_config(f"^{name}", every, num_bits=8)
        for op in float_weights:  # no quantization at all; a regex of its own, so this entry comes last
            self._quantizer.update_quantization_recipe(f"^(?:{re.escape(op.scope)})$", every,
                                                       algorithm_key=AlgorithmName.NO_QUANTIZE)

    def quantize(self, float_ops: list[OpSensitivity], float_weights: list[OpSensitivity] = ()) -> bytes:
        self._set_recipe(list(float_ops), list(float_weights))
        try:
            with _quiet():
                result = self._quantizer.quantize(self._calibration, enable_progress_bar=False, enable_progress_report=False)
        except (ValueError, RuntimeError, KeyError, NotImplementedError) as error:
            raise ExportError(f"ai-edge-quantizer cannot quantize this model: {_short(error)}") from error
        return bytes(result.quantized_model)

    def ranked_ops(self, samples: list[Feed], float_ops: list[OpSensitivity]) -> list[OpSensitivity]:
        """Every op the validation sees, the one that loses most SNR first, in the model with `float_ops` float."""
        from ai_edge_quantizer.utils import validation_utils

        self.quantize(float_ops)
        with _quiet():
            comparison = self._quantizer.validate({SIGNATURE: samples}, num_threads=2,
                                                  error_metrics=[validation_utils.ValidationErrorMetric.SNR])
        snr = {name: _db(values["snr"]) for name, values in comparison.get_all_tensor_results().items()}
        ops = [op for op in _op_losses(self.float_model, snr) if op is not None]
        # The head goes first: the answer is read from its int8 values, and a softmax in steps of 1/256 ties
        # classes whose float probabilities differ by less (an untrained MobileNetV3Small's median top-1
        # margin was 0.006), as int8 logits do on a coarser scale; no SNR figure shows that.
        return sorted(ops, key=lambda op: (not op.in_head, -op.snr_drop_db))


def _op_losses(float_model: bytes, snr_db: dict[str, float]) -> list[OpSensitivity | None]:
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as flatbuffers

    model = flatbuffers.read_model(bytearray(float_model))
    graph = model.subgraphs[0]  # the signature's main graph; ops of control-flow branches stay float anyway
    names = [flatbuffers.get_tensor_name(t) for t in graph.tensors]
    head = _head(model, graph)
    losses = []
    for op in graph.operators:
        outputs = [names[i] for i in op.outputs if i >= 0 and names[i] in snr_db]
        if not outputs:
            losses.append(None)
            continue
        inputs = [snr_db[names[i]] for i in op.inputs if i >= 0 and names[i] in snr_db]
        drop = snr_loss_db(min(snr_db[n] for n in outputs), inputs)  # `toolkit explain`'s growth per layer too
        code = model.operatorCodes[op.opcodeIndex]
        losses.append(OpSensitivity(flatbuffers.get_op_scope(op, graph.tensors), _op_type(code), drop, id(op) in head))
    return losses


def _branch_scopes(float_model: bytes) -> list[str]:
    """Scopes of the ops outside the main graph (control-flow branches)."""
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as flatbuffers

    model = flatbuffers.read_model(bytearray(float_model))
    return [flatbuffers.get_op_scope(op, graph.tensors) for graph in model.subgraphs[1:] for op in graph.operators]


def _head(model, graph) -> set[int]:
    """ids of the ops from each model output back to (and including) the nearest op with weights."""
    producer = {t: op for op in graph.operators for t in op.outputs}
    frontier = [producer[t] for t in graph.outputs if t in producer]
    head: set[int] = set()
    while frontier and len(head) < MAX_HEAD_OPS:
        op = frontier.pop()
        if id(op) in head:
            continue
        head.add(id(op))
        if _op_type(model.operatorCodes[op.opcodeIndex]) not in WEIGHTED_OPS:
            frontier += [producer[t] for t in op.inputs if t in producer]
    return head


def _op_type(code) -> str:
    """The builtin op's schema name ("CONV_2D"), also for ops the quantizer has no name for (SHAPE)."""
    from ai_edge_litert import schema_py_generated as schema

    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    return next((k for k, v in vars(schema.BuiltinOperator).items() if v == builtin), str(builtin))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Its progress bars, LiteRT's delegate lines and the warning that keeping every tensor is for debugging."""
    with warnings.catch_warnings(), native_output_silenced(fds=(1, 2)):
        warnings.simplefilter("ignore")
        yield


def _db(ratio: float) -> float:
    return 10.0 * math.log10(max(float(ratio), 1e-12))


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:300]
