"""ONNX fp16, dynamic and int8 on the digits model: smaller files, the ops each mode claims, float32 at the
edges, and top-1 agreement with Keras on the held-out digits, in ONNX Runtime and (one batch) ONNX Runtime Web.

The exports come from the session's shared cache (conftest.py), like every other exporter test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exporters.onnx_quantization import INT8_OP_TYPES, to_float16
from parity_tests.test_browser import needs_browser
from toolkit.export.golden import read_golden
from toolkit.export.manifest import read_manifest
from toolkit.registry import exporters, runtimes

MODES = ("fp16", "dynamic", "int8")
# Measured on digits (ONNX Runtime 1.32, 360 held-out samples): 1.0 for fp16, dynamic and int8. A broken
# quantization (wrong scales, a dropped bias) falls far below this.
MIN_TOP1_AGREEMENT = 0.98


@pytest.fixture(scope="session")
def digits_onnx(exports) -> dict[str, Path]:
    """quantization -> model.onnx of the digits model, float32 included."""
    files = {}
    for quantization in ("none", *MODES):
        result = exports[("digits", "onnx", quantization)]
        assert result.ok, result.error
        files[quantization] = result.path / "model.onnx"
    return files


@pytest.fixture(scope="session")
def held_out(loaded_models) -> tuple[np.ndarray, np.ndarray]:
    """The digits' 20% test split and Keras's probabilities for it."""
    from models.digits import digits_split

    _, _, x_test, _ = digits_split()
    return x_test, np.asarray(loaded_models["digits"].model(x_test, training=False))


def _session(path: Path):
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _weight_bytes(path: Path) -> int:
    """Bytes of the initializers: what quantization shrinks (tensor names dominate so small a file)."""
    import onnx

    return sum(len(t.raw_data) or onnx.numpy_helper.to_array(t).nbytes for t in onnx.load(str(path)).graph.initializer)


def _graph(path: Path):
    import onnx

    return onnx.load(str(path)).graph


def test_quantized_files_are_smaller(digits_onnx):
    float32_weights, float32_file = _weight_bytes(digits_onnx["none"]), digits_onnx["none"].stat().st_size
    ratios = {q: _weight_bytes(digits_onnx[q]) / float32_weights for q in MODES}
    # Measured weight bytes: fp16 0.50x; dynamic 0.29x (int8 weights, float32 biases, per-column scales);
    # int8 0.32x (int8 weights, int32 biases, scales and zero points of the activations).
    assert 0.45 <= ratios["fp16"] <= 0.55, ratios
    assert ratios["dynamic"] < 0.35 and ratios["int8"] < 0.4, ratios
    files = {q: digits_onnx[q].stat().st_size / float32_file for q in MODES}
    # Whole files (measured 0.67x, 0.67x, 0.95x): the Q/DQ tensors repeat tf2onnx's long names.
    assert files["fp16"] < 0.75 and files["dynamic"] < 0.75 and files["int8"] < 1.0, files


def test_fp16_graph_holds_float16_weights_and_float32_edges(digits_onnx):
    import onnx

    graph = _graph(digits_onnx["fp16"])
    weights = [t for t in graph.initializer if len(t.dims) == 2]
    assert weights and all(t.data_type == onnx.TensorProto.FLOAT16 for t in weights)
    casts = [n for n in graph.node if n.op_type == "Cast"]
    assert {a.i for n in casts for a in n.attribute if a.name == "to"} == {onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT}
    edges = [*graph.input, *graph.output]
    assert all(v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in edges)


def test_dynamic_graph_quantizes_activations_at_run_time_with_per_channel_weights(digits_onnx):
    import onnx

    graph = _graph(digits_onnx["dynamic"])
    ops = [n.op_type for n in graph.node]
    assert ops.count("MatMulInteger") == 2 and "DynamicQuantizeLinear" in ops and "MatMul" not in ops
    int8_weights = {tuple(t.dims) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8}
    assert {(64, 32), (32, 10)} <= int8_weights
    scales = {tuple(t.dims) for t in graph.initializer if t.name.endswith("_scale")}
    assert {(32,), (10,)} <= scales, "per-channel: one weight scale per output column"


def test_int8_graph_is_qdq_with_per_channel_weights(digits_onnx):
    import onnx

    graph = _graph(digits_onnx["int8"])
    ops = [n.op_type for n in graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    produced_by = {o: n.op_type for n in graph.node for o in n.output}
    compute = [n for n in graph.node if n.op_type in INT8_OP_TYPES]
    assert len(compute) == 2 and all(any(produced_by.get(i) == "DequantizeLinear" for i in n.input) for n in compute)
    initializers = {t.name: t for t in graph.initializer}
    per_channel = [n for n in graph.node if n.op_type == "DequantizeLinear"
                   and initializers.get(n.input[0]) is not None and initializers[n.input[0]].data_type == onnx.TensorProto.INT8
                   and len(initializers[n.input[1]].dims) == 1 and initializers[n.input[1]].dims[0] > 1]
    assert len(per_channel) == 2, "both Dense kernels dequantized with one scale per output channel"
    assert all(v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in [*graph.input, *graph.output])


@pytest.mark.parametrize("quantization", MODES)
def test_runs_in_onnxruntime_with_float32_and_agrees_with_keras(digits_onnx, held_out, quantization):
    pixels, keras_probabilities = held_out
    session = _session(digits_onnx[quantization])
    assert [(i.name, i.type) for i in session.get_inputs()] == [("pixels", "tensor(float)")]
    (probabilities,) = session.run(["probabilities"], {"pixels": pixels})
    assert probabilities.dtype == np.float32 and probabilities.shape == keras_probabilities.shape
    agreement = float(np.mean(probabilities.argmax(1) == keras_probabilities.argmax(1)))
    assert agreement >= MIN_TOP1_AGREEMENT, f"{quantization}: top-1 agreement {agreement:.3f}"


def test_manifest_notes_say_what_was_done(exports):
    notes = {q: " ".join(read_manifest(exports[("digits", "onnx", q)].path)["notes"]) for q in MODES}
    assert "float32 inputs and outputs" in notes["fp16"] and "ops kept in float32" in notes["fp16"]
    assert "activations quantized at run time" in notes["dynamic"] and "2 MatMulInteger" in notes["dynamic"]
    assert "QDQ int8" in notes["int8"] and "MinMax calibration on 32 samples" in notes["int8"] and "2 Gemm" in notes["int8"]


def test_calibration_concerns_int8_only():
    """As for tflite: `--quantize all` on a user model without --calibration skips int8 only."""
    entry = exporters()["onnx"]
    assert entry.needs_samples == ("int8",)
    assert "calibration" in entry.options_for("int8")
    assert all("calibration" not in entry.options_for(q) for q in ("none", "fp16", "dynamic"))


def test_fp16_keeps_casts_into_float32_loadable(tmp_path):
    """Regression: onnxconverter-common retyped a Cast(int -> float)'s output as float16 and left `to=FLOAT`;
    ONNX Runtime refused the file (tf2onnx writes that Cast for token ids compared with Less)."""
    import onnx
    from onnx import TensorProto, helper

    weights = helper.make_tensor("w", TensorProto.FLOAT, (4, 2), np.linspace(-1, 1, 8, dtype=np.float32))
    nodes = [helper.make_node("Cast", ["ids"], ["ids_float"], to=TensorProto.FLOAT, name="cast_ids"),
             helper.make_node("Mul", ["x", "ids_float"], ["scaled"], name="mul"),
             helper.make_node("MatMul", ["scaled", "w"], ["y"], name="matmul")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (None, 4)),
                                           helper.make_tensor_value_info("ids", TensorProto.INT32, (None, 4))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, (None, 2))], [weights])
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    feeds = {"x": np.full((1, 4), 0.5, np.float32), "ids": np.array([[1, 2, 3, 4]], np.int32)}
    (expected,) = _session(path).run(None, feeds)
    notes = to_float16(path)
    assert "Cast to float32" in notes[0]
    (got,) = _session(path).run(None, feeds)
    np.testing.assert_allclose(got, expected, atol=1e-2)


@pytest.mark.browser
@needs_browser
def test_ort_web_runs_every_mode_like_onnxruntime(exports):
    """One golden batch per mode in ONNX Runtime Web (wasm): MatMulInteger, DynamicQuantizeLinear and the QDQ
    fusions run there too, with ONNX Runtime's numbers."""
    for quantization in MODES:
        export = exports[("digits", "onnx", quantization)]
        feeds, expected = read_golden(export.path)
        (native,) = _session(export.path / "model.onnx").run(["probabilities"], feeds)
        with runtimes()["ort-web"].factory(export.path) as runtime:
            assert runtime.backend == "wasm"
            got = runtime.infer(feeds)["probabilities"]
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, native, atol=1e-5, err_msg=quantization)
        assert (got.argmax(1) == expected["probabilities"].argmax(1)).all(), quantization
