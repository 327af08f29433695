"""TFLite int16x8 (int16 activations, int8 weights) and per-channel int8 weights, read from the flatbuffers.

Measured on digits' 360 held-out samples (TF 2.19, LiteRT): int16x8 is 6.5 KB against 11.4 KB for float32
and agrees with Keras's top-1 class on 359 of them (int8: 360); every op has a 16x8 kernel there.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from exporters.tflite import float_ops
from toolkit.export.manifest import read_manifest

WEIGHTED_OPS = ("CONV_2D", "FULLY_CONNECTED")


def interpreter(path):
    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteRT's deprecation warning for tf.lite.Interpreter
        return Interpreter(model_path=str(path / "model.tflite"))


def weighted_ops(path) -> list[tuple[dict, dict, dict]]:
    """(op, its input tensor, its weight tensor) for every Conv2D and Dense op of the flatbuffer."""
    model = interpreter(path)
    tensors = {detail["index"]: detail for detail in model.get_tensor_details()}
    return [(op, tensors[op["inputs"][0]], tensors[op["inputs"][1]])
            for op in model._get_ops_details() if op["op_name"] in WEIGHTED_OPS]


@pytest.fixture(scope="module")
def digits_int16x8(exports):
    result = exports["digits", "tflite", "int16x8"]
    assert result.ok, result.error or result.skipped
    return result


def test_int16x8_has_int16_activations_and_int8_weights(digits_int16x8):
    ops = weighted_ops(digits_int16x8.path)
    assert len(ops) == 2  # digits: two Dense layers
    for op, activation, weights in ops:
        assert activation["dtype"] == np.int16, op
        assert weights["dtype"] == np.int8, op
    assert float_ops(digits_int16x8.path / "model.tflite") == []
    notes = read_manifest(digits_int16x8.path)["notes"]
    assert any("int16 activations" in note and "every op runs a 16x8 kernel" in note for note in notes), notes


def test_int16x8_runs_in_litert_and_agrees_with_keras(digits_int16x8, exports, loaded_models):
    from models.digits import digits_split

    _, _, x_test, _ = digits_split()
    keras_top1 = np.asarray(loaded_models["digits"].model(x_test, training=False)).argmax(axis=1)
    runner = interpreter(digits_int16x8.path).get_signature_runner("serving_default")
    got = np.concatenate([runner(pixels=x_test[i : i + 1])["probabilities"] for i in range(len(x_test))])
    assert got.dtype == np.float32  # float32 at the edges
    # Measured 0.997 (359/360); a broken artifact lands near chance (0.1).
    assert (got.argmax(axis=1) == keras_top1).mean() >= 0.97
    float_size = exports["digits", "tflite", "none"].size_bytes
    assert digits_int16x8.size_bytes < 0.7 * float_size  # measured 6.5 KB against 11.4 KB


@pytest.mark.parametrize("name", ["digits", "residual_cnn"])  # Dense only; Conv2D and Dense
def test_int8_weights_are_per_channel(name, exports):
    result = exports[name, "tflite", "int8"]
    assert result.ok, result.error or result.skipped
    ops = weighted_ops(result.path)
    assert {op["op_name"] for op, _, _ in ops} == ({"FULLY_CONNECTED"} if name == "digits" else set(WEIGHTED_OPS))
    for op, _, weights in ops:
        quantization = weights["quantization_parameters"]
        # Both kernels keep output channels first in TFLite: one scale per output channel.
        assert weights["dtype"] == np.int8 and quantization["quantized_dimension"] == 0, op
        assert len(quantization["scales"]) == weights["shape"][0] > 1, op
    assert any("per-channel weights" in note for note in read_manifest(result.path)["notes"])
