"""Every Keras output reaches every artifact under a unique, stable name, and parity compares them all.

Regression: an LSTM with return_state=True (3 outputs) and attention with its scores (2 outputs)
name every output after their layer; the artifacts kept one output and parity said PASS.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import api
from toolkit.export.manifest import read_manifest
from toolkit.model.calling import unique_names
from toolkit.parity.compare import compare_outputs
from toolkit.parity.tolerances import DEFAULT_FLOAT32

RUNTIMES = ["tf_savedmodel", "litert", "onnxruntime", "tfjs-node"]


def lstm_with_state():
    import keras

    inputs = keras.Input((6, 4), name="seq")
    sequence, hidden, cell = keras.layers.LSTM(5, return_sequences=True, return_state=True, name="lstm")(inputs)
    return keras.Model(inputs, [sequence, hidden, cell], name="lstm_state")


def attention_with_scores():
    import keras

    query = keras.Input((5, 8), name="query")
    attended, scores = keras.layers.MultiHeadAttention(2, 4, name="mha")(query, query, return_attention_scores=True)
    return keras.Model(query, [attended, scores], name="attention_scores")


CASES = {
    "lstm_state": (lstm_with_state, {"lstm": (6, 5), "lstm_1": (5,), "lstm_2": (5,)}),
    "attention_scores": (attention_with_scores, {"mha": (5, 8), "mha_1": (2, 5, 5)}),
}


@pytest.fixture(scope="module")
def parity_of(tmp_path_factory):
    """case -> (LoadedModel, export results, parity rows), each computed once."""
    import keras

    folder = tmp_path_factory.mktemp("multi-output")
    done = {}

    def run(case):
        if case not in done:
            keras.utils.set_random_seed(5)
            path = folder / f"{case}.keras"
            CASES[case][0]().save(path)
            loaded = api.load(path)
            exports = api.export(loaded, ["all"], None, folder / "artifacts")
            rows = api.check_parity(loaded, ["all"], ["none"], RUNTIMES, folder / "artifacts")
            done[case] = (loaded, exports, rows)
        return done[case]

    return run


def test_repeated_names_become_unique_and_keep_their_order():
    assert unique_names(["lstm", "lstm", "lstm"]) == ["lstm", "lstm_1", "lstm_2"]
    assert unique_names(["a", "a_1", "a"]) == ["a", "a_1", "a_2"]  # never a name another output has
    assert unique_names(["x", "y"]) == ["x", "y"]


@pytest.mark.parametrize("case", CASES)
def test_every_output_is_in_every_manifest(case, parity_of):
    loaded, exports, _ = parity_of(case)
    expected = CASES[case][1]
    assert {s.name: tuple(s.shape[1:]) for s in loaded.signature.outputs} == expected
    for export in exports:
        assert export.ok, export.error
        outputs = read_manifest(export.path)["signature"]["outputs"]
        assert {o["name"]: tuple(o["shape"][1:]) for o in outputs} == expected, export.label


@pytest.mark.parametrize("case", CASES)
def test_parity_compares_every_output_in_every_runtime(case, parity_of):
    _, _, rows = parity_of(case)
    assert {r.runtime for r in rows} == {"tf_savedmodel", "litert", "onnxruntime", "tfjs-node-cpu", "tfjs-node-wasm"}
    for row in rows:
        assert row.passed, (row.runtime, row.batch, row.error)
        assert set(row.per_output) == set(CASES[case][1]), (row.runtime, row.per_output)


def test_an_artifact_with_fewer_outputs_fails_whatever_its_values():
    reference = {"lstm": np.ones((1, 5)), "lstm_1": np.ones((1, 5))}
    result = compare_outputs(reference, {"lstm": np.ones((1, 5))}, {n: DEFAULT_FLOAT32 for n in reference})
    assert not result.passed
    assert "returned 1 output(s), Keras has 2" in "; ".join(result.errors)
    assert "output 'lstm_1' is missing" in "; ".join(result.errors)
