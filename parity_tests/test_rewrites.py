"""Exact op rewrites (exporters/rewrites.py) and the one-line errors where no rewrite exists.

Each case is a small Functional model with random non-trivial weights, saved to .keras,
exported once per session (cached by content hash under $TOOLKIT_CACHE_DIR) and checked
with check_parity at the float32 tolerances: a rewrite must change the graph, never the
numbers. Which layers need which rewrite was found by benchmarks/probe_ops.py.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from benchmarks.probe_ops import parity_variants, randomize_weights
from toolkit.export.manifest import read_manifest
from toolkit.files import cache_dir, sha256_file

SEQ = (8, 6)
VOCAB, TOKENS = 30, 10


# --- models that need a rewrite -------------------------------------------------------------
def recurrent():
    import keras

    inputs = keras.Input(SEQ, name="x")
    x = keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True), name="bi_lstm")(inputs)
    x = keras.layers.GRU(4, return_sequences=True, name="gru")(x)
    last = keras.layers.SimpleRNN(3, name="rnn")(x)
    return keras.Model(inputs, [last, keras.layers.GRU(2, name="gru_last")(x)], name="recurrent")


def masked_lstm():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    vectors = keras.layers.Embedding(VOCAB, 6, mask_zero=True)(inputs)
    return keras.Model(inputs, keras.layers.LSTM(4, name="lstm")(vectors), name="masked_lstm")


def _dense_then(activation_layer, op):
    import keras

    def build():
        inputs = keras.Input((12,), name="x")
        x = keras.layers.Dense(12, activation=activation_layer, name="dense")(inputs * 2.0)
        x = keras.layers.Activation(activation_layer, name="act")(x * 2.0)
        return keras.Model(inputs, op(x), name=f"{activation_layer}_model")

    return build


def _ops():
    from keras import ops

    return ops


gelu = _dense_then("gelu", lambda x: _ops().gelu(x, approximate=False))
softsign = _dense_then("softsign", lambda x: _ops().softsign(x))
celu = _dense_then("celu", lambda x: _ops().celu(x, alpha=0.5))


def category_encoding():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    multi = keras.layers.CategoryEncoding(VOCAB, output_mode="multi_hot", name="multi")(inputs)
    count = keras.layers.CategoryEncoding(VOCAB, output_mode="count", name="count")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(multi + count), name="category_encoding")


def discretization():
    import keras

    inputs = keras.Input((12,), name="x")
    bins = keras.layers.Discretization(bin_boundaries=[-1.0, -0.25, 0.0, 0.5, 1.5], name="bins")(inputs)
    return keras.Model(inputs, bins, name="discretization")


# case -> (builder, {target: substrings every rewrite description of that target must show})
REWRITTEN = {
    "recurrent": (recurrent, {
        t: ["LSTM 'forward_lstm'", "LSTM 'backward_lstm'", "GRU 'gru'", "SimpleRNN 'rnn'", "unrolled over its 8"]
        for t in ("tflite", "tfjs")
    }),
    "masked_lstm": (masked_lstm, {t: ["LSTM 'lstm': recurrent loop unrolled"] for t in ("tflite", "tfjs")}),
    "gelu": (gelu, {t: ["Dense 'dense'", "Activation 'act'", "keras.ops.gelu", "erf"] for t in ("onnx", "tfjs")}),
    "softsign": (softsign, {t: ["Dense 'dense'", "Activation 'act'", "keras.ops.softsign"] for t in ("tflite", "tfjs")}),
    "celu": (celu, {"onnx": ["Dense 'dense'", "Activation 'act'", "keras.ops.celu", "exp("]}),
    "category_encoding": (category_encoding, {"tflite": ["CategoryEncoding 'multi'", "CategoryEncoding 'count'"]}),
    "discretization": (discretization, {t: ["Discretization 'bins'", "Bucketize"] for t in ("onnx", "tfjs")}),
}


# --- models that no rewrite reaches ---------------------------------------------------------
@functools.cache
def _register_unreachable_layers():
    """Classes whose ops live in Python `call` code, where no config rewrite reaches."""
    import keras

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class SoftsignGate(keras.layers.Layer):
        def call(self, x):
            return keras.ops.softsign(x) * x

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class SubclassedRecurrent(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.lstm = keras.layers.LSTM(4, name="inner_lstm")

        def call(self, x):
            return self.lstm(x)

    return SoftsignGate, SubclassedRecurrent


def softsign_in_custom_layer():
    import keras

    gate, _ = _register_unreachable_layers()
    inputs = keras.Input((12,), name="x")
    return keras.Model(inputs, gate(name="gate")(keras.layers.Dense(12)(inputs)), name="custom_softsign")


def subclassed_lstm():
    import numpy as np

    _, subclassed = _register_unreachable_layers()
    model = subclassed(name="subclassed_lstm")
    model(np.zeros((1, *SEQ), "float32"))
    return model


def hashing():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    return keras.Model(inputs, keras.layers.Hashing(num_bins=8, name="hasher")(inputs), name="hashing")


def integer_lookup():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    lookup = keras.layers.IntegerLookup(vocabulary=[3, 7, 11, 19], name="ids")
    return keras.Model(inputs, lookup(inputs), name="integer_lookup")


# case -> (builder, {target: substrings the one-line error must contain: op, layer, target})
UNSUPPORTED = {
    "softsign_in_custom_layer": (softsign_in_custom_layer, {
        "tflite": ["tflite:", "op Softsign", "'gate' (SoftsignGate)"],
        "tfjs": ["tfjs:", "op Softsign", "'gate' (SoftsignGate)"],
    }),
    "subclassed_lstm": (subclassed_lstm, {
        "tflite": ["tflite:", "op TensorListReserve", "'inner_lstm' (LSTM)", "unroll=True"],
    }),
    "hashing": (hashing, {
        "tflite": ["tflite:", "AsString, StringToHashBucketFast", "'hasher' (Hashing)"],
        "onnx": ["onnx (opset 17):", "op StringToHashBucketFast", "'hasher' (Hashing)"],
        "tfjs": ["tfjs:", "op AsString", "'hasher' (Hashing)"],
    }),
    "integer_lookup": (integer_lookup, {
        t: [f"{t}", "LookupTableFindV2", "'ids' (IntegerLookup)", "input pipeline"] for t in ("tflite", "onnx", "tfjs")
    }),
}


# --- fixtures: each case built, saved and exported once per session -------------------------
class _CaseExports(dict):
    """case -> (LoadedModel, {target: ExportResult}); models and artifacts cached by content hash."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, case):
        from toolkit import api
        from toolkit.export.run import export_model

        builder, expected = {**REWRITTEN, **UNSUPPORTED}[case]
        path = self.root / "models" / f"{case}.keras"
        if not path.exists():
            import keras

            keras.utils.set_random_seed(11)
            model = builder()
            randomize_weights(model)
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
        else:
            builder()  # registers the custom classes a cached file needs
        loaded = api.load(str(path))
        results = export_model(loaded, [(t, "none") for t in expected], self.root / "artifacts")
        self[case] = (loaded, {r.target: r for r in results})
        return self[case]


@pytest.fixture(scope="session")
def case_exports():
    # Keyed by this file and the probe helpers: changing a model builds and exports it afresh.
    here = Path(__file__)
    key = sha256_file(here)[:8] + sha256_file(here.parents[1] / "benchmarks" / "probe_ops.py")[:8]
    return _CaseExports(cache_dir() / "test-rewrites" / key)


@pytest.fixture(scope="session")
def variants():
    return parity_variants()


def _params(cases):
    return [pytest.param(case, target, id=f"{case}-{target}") for case, (_, expected) in cases.items() for target in expected]


# --- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case, target", _params(REWRITTEN))
def test_rewrite_exports_with_parity(case, target, case_exports, variants):
    from toolkit.parity.run import check_parity

    loaded, results = case_exports[case]
    result = results[target]
    assert result.ok, result.error
    rewrites = read_manifest(result.path)["rewrites"]
    for expected in REWRITTEN[case][1][target]:
        assert any(expected in line for line in rewrites), f"no rewrite mentions {expected!r}: {rewrites}"
    mine = [v for v in variants if v.target == target]
    if not mine:
        pytest.skip(f"no runtime for {target} here (tfjs-node needs Node and its packages)")
    rows = check_parity(loaded, [result], mine)
    assert rows and all(row.passed for row in rows), [(r.runtime, r.batch, r.error) for r in rows if not r.passed]


@pytest.mark.parametrize("case, target", _params(UNSUPPORTED))
def test_unsupported_op_fails_naming_op_layer_and_target(case, target, case_exports):
    _, results = case_exports[case]
    result = results[target]
    assert not result.ok, f"{case} exported on {target}; move it to REWRITTEN or the probe table"
    for expected in UNSUPPORTED[case][1][target]:
        assert expected in result.error, f"{expected!r} missing from: {result.error}"
    assert "\n" not in result.error
    assert not result.path.exists(), "a failed export left an artifact behind"


def test_rewrite_leaves_the_users_model_alone(case_exports):
    from exporters.rewrites import prepare_for_target

    loaded, _ = case_exports["recurrent"]
    rewritten, descriptions = prepare_for_target(loaded, "tflite")
    assert descriptions and rewritten.model is not loaded.model
    assert not any(getattr(layer, "unroll", False) for layer in loaded.model._flatten_layers())
    assert (rewritten.name, rewritten.path, rewritten.signature, rewritten.source_sha256) == (
        loaded.name, loaded.path, loaded.signature, loaded.source_sha256,
    )
    assert prepare_for_target(loaded, "saved_model") == (loaded, [])


def test_variable_length_sequence_cannot_be_unrolled(tmp_path):
    """Unrolling needs a fixed length; without one the export says so instead of writing a loop."""
    import keras

    from toolkit.export.run import export_model
    from toolkit.model.loading import LoadedModel
    from toolkit.model.spec import ModelSignature, TensorSpec

    inputs = keras.Input((None, 3), name="x")
    model = keras.Model(inputs, keras.layers.GRU(2, name="gru")(inputs))
    signature = ModelSignature((TensorSpec("x", (None, None, 3), "float32"),), (TensorSpec("gru", (None, 2), "float32"),))
    loaded = LoadedModel("variable_gru", tmp_path / "variable_gru.keras", model, signature, "0" * 64)
    (result,) = export_model(loaded, [("tflite", "none")], tmp_path)
    assert not result.ok
    for expected in ("tflite:", "While/TensorListReserve", "'gru' (GRU)", "fixed sequence length"):
        assert expected in result.error
