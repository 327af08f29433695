"""String inputs (keras.Input(dtype="string") + StringLookup / TextVectorization): sample strings, feeds,
golden.json, and per target either parity with Keras or one line naming the layer and the workaround.

Measured support (TF 2.19, ai-edge-litert 2.3, tf2onnx 1.17 + onnxruntime, tensorflowjs/TF.js 4.22):
StringLookup converts everywhere (TFLite HASHTABLE_FIND, ONNX CategoryMapper, TF.js LookupTableFindV2);
TextVectorization's string ops (StringLower, StaticRegexReplace, StringSplitV2) only run in SavedModel.
"""

import json

import numpy as np
import pytest

from toolkit.cli import main
from toolkit.errors import EXIT_EXPORT_FAILED, EXIT_OK
from toolkit.model.spec import FALLBACK_WORDS, TensorSpec, as_string_array, check_feeds, random_inputs

VOCABULARY = ["the", "cat", "dog", "sat", "on", "mat", "a", "bird"]
HINT = "do the vocabulary lookup in the input pipeline and feed integer ids"


# --- specs, feeds and golden.json: no model needed ----------------------------------------------
def test_sample_strings_come_from_the_spec_and_are_seeded():
    spec = TensorSpec("tokens", (None, 4), "string", samples=("x", "y"))
    feeds = random_inputs([spec], batch=3, seed=5)
    assert feeds["tokens"].shape == (3, 4) and feeds["tokens"].dtype == object
    assert set(feeds["tokens"].ravel()) <= {"x", "y"}
    assert np.array_equal(feeds["tokens"], random_inputs([spec], batch=3, seed=5)["tokens"])
    fallback = random_inputs([TensorSpec("s", (None,), "string")], batch=2, seed=0)["s"]
    assert fallback.shape == (2,) and set(fallback) <= set(FALLBACK_WORDS)


def test_check_feeds_accepts_str_unicode_and_bytes_arrays_only_for_string_inputs():
    specs = [TensorSpec("s", (None, 2), "string"), TensorSpec("x", (None, 3), "float32")]
    x = np.zeros((1, 3), "float32")
    for strings in (np.array([["a", "b"]], dtype=object), np.array([["a", "b"]]), np.array([[b"a", b"b"]])):
        assert check_feeds(specs, {"s": strings, "x": x}) == []
    for bad in (np.zeros((1, 2), "float32"), np.array([[1, 2]], dtype=object)):
        assert check_feeds(specs, {"s": bad, "x": x}) == [f"input 's' has dtype {bad.dtype}, expected string (a numpy array of str)"]
    assert as_string_array(np.array([[b"caf\xc3\xa9"]])).tolist() == [["café"]]


def test_spec_json_keeps_samples_and_numeric_specs_are_unchanged():
    spec = TensorSpec("s", (None, 1), "string", samples=("a", "b"))
    assert TensorSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    assert TensorSpec("x", (None, 3), "float32").to_json() == {"name": "x", "shape": [None, 3], "dtype": "float32"}


def test_wire_encodings_of_strings():
    """tfjs-node and the browser runtimes send strings as a JSON list, row-major (bytes decoded as UTF-8)."""
    from toolkit.runtimes.browser import encode_feeds
    from toolkit.runtimes.tfjs_node import encode_tensor

    words = np.array([["a", "b"], [b"c", "d"]], dtype=object)
    expected = {"dtype": "string", "shape": [2, 2], "strings": ["a", "b", "c", "d"]}
    assert encode_tensor(words) == expected
    assert encode_feeds({"s": words}) == {"s": expected}


# --- models -----------------------------------------------------------------------------------
def string_lookup_model():
    """(batch, 4) words -> StringLookup -> Embedding -> mean -> Dense."""
    import keras

    tokens = keras.Input((4,), dtype="string", name="tokens")
    ids = keras.layers.StringLookup(vocabulary=VOCABULARY, name="lookup")(tokens)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(keras.layers.Embedding(len(VOCABULARY) + 1, 8, name="emb")(ids))
    return keras.Model(tokens, keras.layers.Dense(3, activation="softmax", name="probs")(x), name="str_lookup")


def text_vectorization_model():
    """(batch, 1) sentences -> TextVectorization(int, length 6, adapted) -> Embedding -> Dense."""
    import keras

    text = keras.Input((1,), dtype="string", name="text")
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_mode="int", output_sequence_length=6, name="vectorize")
    vectorize.adapt(["the cat sat on the mat", "a dog sat", "the bird flew over a dog"])
    x = keras.layers.Flatten(name="flat")(keras.layers.Embedding(20, 8, name="emb")(vectorize(text)))
    return keras.Model(text, keras.layers.Dense(2, name="logits")(x), name="text_vec")


def mixed_model():
    """A (batch, 1) city name through StringLookup, concatenated with 3 floats."""
    import keras

    city = keras.Input((1,), dtype="string", name="city")
    numbers = keras.Input((3,), name="numbers")
    ids = keras.layers.StringLookup(vocabulary=["paris", "rome", "oslo"], name="city_lookup")(city)
    x = keras.layers.Flatten(name="flat")(keras.layers.Embedding(4, 4, name="city_emb")(ids))
    outputs = keras.layers.Dense(2, name="out")(keras.layers.Concatenate(name="cat")([x, numbers]))
    return keras.Model([city, numbers], outputs, name="mixed")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> path of the saved .keras file."""
    import keras

    folder = tmp_path_factory.mktemp("string_models")
    paths = {}
    for build in (string_lookup_model, text_vectorization_model, mixed_model):
        keras.utils.set_random_seed(3)
        model = build()
        paths[model.name] = folder / f"{model.name}.keras"
        model.save(paths[model.name])
    return paths


def test_signature_samples_words_of_the_vocabulary(saved):
    from toolkit import api

    (tokens,) = api.load(saved["str_lookup"]).signature.inputs
    assert tokens.dtype == "string" and set(VOCABULARY) <= set(tokens.samples)
    (text,) = api.load(saved["text_vec"]).signature.inputs
    assert any(" " in phrase for phrase in text.samples)  # TextVectorization splits: phrases, not words


def test_string_lookup_exports_everywhere_with_parity(saved, tmp_path, capsys):
    """Golden.json holds the strings; every runtime that takes strings matches Keras."""
    from toolkit import api
    from toolkit.export.golden import read_golden

    code = main(["export", "--model", str(saved["str_lookup"]), "--target", "all", "--out", str(tmp_path)])
    assert code == EXIT_OK, capsys.readouterr().err
    inputs, outputs = read_golden(tmp_path / "str_lookup" / "saved_model")
    assert inputs["tokens"].dtype == object and set(inputs["tokens"].ravel()) <= set(VOCABULARY) | {"zzzunseen"}
    runtimes = ["tf_savedmodel", "onnxruntime", "litert", "tfjs-node"]
    rows = api.check_parity(saved["str_lookup"], ["all"], ["none"], runtimes, tmp_path)
    assert {r.runtime for r in rows} == {"tf_savedmodel", "onnxruntime", "litert", "tfjs-node-cpu", "tfjs-node-wasm"}
    assert all(r.passed for r in rows), [(r.runtime, r.batch, r.error) for r in rows if not r.passed]


def test_text_vectorization_saved_model_only_others_say_why(saved, tmp_path, capsys):
    from toolkit import api

    code = main(["export", "--model", str(saved["text_vec"]), "--target", "all", "--out", str(tmp_path)])
    assert code == EXIT_EXPORT_FAILED
    results = {r.target: r for r in api.export(saved["text_vec"], ["all"], None, tmp_path)}
    assert results["saved_model"].ok
    for target in ("tflite", "onnx", "tfjs"):
        error = results[target].error
        assert "\n" not in error and "'vectorize' (TextVectorization)" in error and HINT in error, error
        assert "StringSplitV2" in error, error
    rows = api.check_parity(saved["text_vec"], ["saved_model"], ["none"], ["tf_savedmodel"], tmp_path)
    assert rows and all(r.passed for r in rows), [r.error for r in rows]


def test_mixed_inputs_parity_and_tflite_lookup_on_one_string(saved, tmp_path):
    """One string + one float input: SavedModel, ONNX and TF.js match Keras; TFLite's lookup of a (1,) string
    input fails at batch 1 in LiteRT 2.3 (measured), so the export says so instead of writing the file."""
    from toolkit import api

    rows = api.check_parity(saved["mixed"], ["saved_model", "onnx", "tfjs"], ["none"],
                            ["tf_savedmodel", "onnxruntime", "tfjs-node"], tmp_path)
    assert len(rows) == 8 and all(r.passed for r in rows), [(r.runtime, r.error) for r in rows if not r.passed]
    (tflite,) = api.export(saved["mixed"], ["tflite"], ["none"], tmp_path)
    assert not tflite.ok and "'city'" in tflite.error and HINT in tflite.error, tflite.error


def test_int8_calibration_with_strings_is_refused(saved, tmp_path):
    path = tmp_path / "calibration.npz"
    np.savez(path, tokens=np.random.default_rng(0).choice(VOCABULARY, size=(8, 4)))
    from toolkit import api

    (result,) = api.export(saved["str_lookup"], ["tflite"], ["int8"], tmp_path, options={"calibration": str(path)})
    assert not result.ok and "calibrator cannot feed string input 'tokens'" in result.error and HINT in result.error
