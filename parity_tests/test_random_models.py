"""Random small Keras models: export to every float32 target and match Keras in every runtime.

Each example is a recipe from parity_tests/random_models.py, saved as a user's .keras
file would be, exported with `api.export` and checked with `check_parity`. Every row
must pass at the default float32 tolerance, unless its export failed with one of the
documented unsupported-case messages below (see docs/random_models.md).
Profiles: "ci" by default, `--hypothesis-profile=long` for 200 fresh examples.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import event, example, given, note, settings

from parity_tests.hypothesis_profiles import active_profile
from parity_tests.random_models import ModelRecipe, Node, gelu_feeds_relu, layer, model_input, model_recipes
from toolkit import api
from toolkit.parity.run import BATCHES, check_parity  # one parity row per batch for each artifact x runtime
from toolkit.runtimes.variants import runtime_variants

TARGETS = ["saved_model", "tflite", "onnx", "tfjs"]
RUNTIMES = ["tf_savedmodel", "litert", "onnxruntime", "tfjs-node"]


@dataclass(frozen=True)
class UnsupportedCase:
    """A converter limitation documented in docs/random_models.md, with its export-time message."""

    finding: str  # the heading in docs/random_models.md
    target: str
    message: str  # regular expression the export error must match
    applies: Callable[[ModelRecipe], bool]  # only models with this structure may fail this way


# None at present: F5 (exact gelu feeding a ReLU on TFLite), the only one so far, has an exact rewrite now.
DOCUMENTED_UNSUPPORTED: tuple[UnsupportedCase, ...] = ()


# Every run (ci included) also checks these: convolutions, recurrent layers, masking, layers with
# several outputs, attention, 3D volumes, and the structures behind each finding in docs/random_models.md.
IMAGE_CLASSIFIER = ModelRecipe("sequential", (
    model_input("image", (8, 8, 3)),
    layer("conv", "Conv2D", filters=8, kernel_size=3, strides=1, padding="same", activation="swish"),
    layer("norm", "BatchNormalization", epsilon=1e-3),
    layer("pool", "MaxPooling2D", pool_size=2, padding="valid"),
    layer("single_filter", "Conv2D", filters=1, kernel_size=3, strides=1, padding="valid"),  # F3
    layer("flat", "Flatten"),
    layer("hidden", "Dense", units=12, activation="gelu"),  # F4
    layer("drop", "Dropout", rate=0.25),
    layer("probs", "Dense", units=4, activation="softmax"),
), ("probs",), seed=11)
TOKENS_AND_FEATURES = ModelRecipe("functional", (
    model_input("tokens", (6,), "int32"),
    layer("embed", "Embedding", "tokens", input_dim=12, output_dim=8, mask_zero=True),
    layer("lstm", "LSTM", "embed", units=8, return_sequences=True),  # F1
    layer("gru", "GRU", "lstm", units=6, return_sequences=False),
    model_input("features", (5,)),
    layer("project", "Dense", "features", units=6, activation="tanh"),
    layer("joined", "Concatenate", "gru", "project"),
    layer("norm", "LayerNormalization", "joined", epsilon=1e-3),
    layer("score", "Dense", "norm", units=3),
    layer("gate", "Dense", "joined", units=3, activation="sigmoid"),  # F2: two outputs of shape (3,)
), ("score", "gate"), seed=12)
RESIDUAL_SEQUENCE = ModelRecipe("functional", (
    model_input("signal", (8, 4)),
    layer("causal", "Conv1D", "signal", filters=4, kernel_size=3, strides=1, padding="causal", activation="gelu"),
    layer("rectified", "Activation", "causal", activation="relu"),  # F5: rewritten on TFLite
    layer("residual", "Add", "signal", "rectified"),
    layer("pool", "AveragePooling1D", "residual", pool_size=2, padding="valid"),
    layer("summary", "GlobalMaxPooling1D", "pool"),
    layer("value", "Dense", "summary", units=2, use_bias=False),
), ("value",), seed=13)
STATES_ATTENTION_VOLUME = ModelRecipe("functional", (
    model_input("signal", (6, 4)),
    layer("masked", "Masking", "signal", mask_value=0.0),
    layer("lstm", "LSTM", "masked", units=5, return_sequences=True, return_state=True),  # issue 11: 3 outputs
    layer("lstm_h", "Output", "lstm"),
    layer("lstm_c", "Output", "lstm"),
    Node("attention", "MultiHeadAttention", (("key_dim", 4), ("num_heads", 2)), ("lstm", "lstm"),
         call_args=(("return_attention_scores", True), ("use_causal_mask", True))),  # 2 outputs, a causal mask
    layer("scores", "Output", "attention"),
    layer("pooled", "GlobalAveragePooling1D", "attention"),
    model_input("volume", (4, 6, 6, 2)),
    layer("conv3d", "Conv3D", "volume", filters=3, kernel_size=2, strides=1, padding="same", activation="relu"),
    layer("pool3d", "MaxPooling3D", "conv3d", pool_size=2, padding="valid"),  # rewritten on TFLite
    layer("volume_summary", "GlobalAveragePooling3D", "pool3d"),
), ("pooled", "lstm_h", "lstm_c", "scores", "volume_summary"), seed=14)


# Valid Keras that random models produce often: a mask dropped by a layer without masking support,
# softmax over an axis of size 1. Keras warns about both; the tests check them like anything else.
expected_keras_warnings = pytest.mark.filterwarnings(
    "ignore:.*does not support masking:UserWarning", "ignore:You are using a softmax over axis:UserWarning"
)


def documented_reason(recipe: ModelRecipe, export) -> str | None:
    for case in DOCUMENTED_UNSUPPORTED:
        if export.target == case.target and re.search(case.message, export.error) and case.applies(recipe):
            return case.finding
    return None


def unexplained_failures(recipe: ModelRecipe, exports, rows, variants) -> list[str]:
    """Every problem in the results that no documented unsupported case explains."""
    problems = []
    for export in exports:
        if not export.ok and documented_reason(recipe, export) is None:
            problems.append(f"{export.target} export failed: {export.error}")
        if not export.ok:
            continue
        labels = {v.label for v in variants if v.target == export.target}
        seen = {(r.runtime, r.batch) for r in rows if r.target == export.target}
        missing = {(label, batch) for label in labels for batch in BATCHES} - seen
        problems.extend(f"{export.target}: no parity row for {label} at batch {batch}" for label, batch in sorted(missing))
    ok_targets = {e.target for e in exports if e.ok}
    problems.extend(
        f"{r.target} in {r.runtime} at batch {r.batch}: {r.error or 'failed'} (max abs error {r.max_abs_err})"
        for r in rows if r.target in ok_targets and not r.passed
    )
    return problems


@expected_keras_warnings
@active_profile()
@given(recipe=model_recipes())
@example(recipe=IMAGE_CLASSIFIER)
@example(recipe=TOKENS_AND_FEATURES)
@example(recipe=RESIDUAL_SEQUENCE)
@example(recipe=STATES_ATTENTION_VOLUME)
def test_random_model_exports_and_matches_keras(recipe):
    import keras

    keras.backend.clear_session()  # examples would otherwise pile up in Keras's global state
    note(recipe.source())
    event(f"api: {recipe.api}")
    for op in sorted(set(recipe.ops)):
        event(f"layer: {op}")
    if gelu_feeds_relu(recipe):
        event("structure: exact gelu feeds a ReLU (F5, rewritten on tflite)")
    variants = runtime_variants(RUNTIMES)
    with tempfile.TemporaryDirectory(prefix="random-model-") as folder:
        path = recipe.save(Path(folder))
        loaded = api.load(str(path))
        exports = api.export(loaded, TARGETS, None, Path(folder) / "artifacts")
        rows = check_parity(loaded, exports, variants)
    for export in exports:
        if not export.ok:
            event(f"documented unsupported: {documented_reason(recipe, export)}")
    problems = unexplained_failures(recipe, exports, rows, variants)
    assert not problems, "\n".join(problems) + "\n\nReproduce with:\n" + recipe.source()


@expected_keras_warnings
@settings(active_profile(), max_examples=min(50, 2 * active_profile().max_examples))  # no export
@given(recipe=model_recipes())
def test_recipes_build_with_the_shapes_they_were_drawn_with(recipe):
    """The grammar's own check, no export: every recipe builds, shapes match, weights are reproducible."""
    import keras
    import numpy as np

    keras.backend.clear_session()
    model = recipe.build()
    further: dict[str, list] = {}  # a multi-output layer's further outputs, in order
    for node in recipe.nodes:
        if node.op == "Output":
            further.setdefault(node.inputs[0], []).append(node)
    for node in recipe.nodes:
        if node.op in ("Input", "Output"):
            continue
        outputs = model.get_layer(node.name).output
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        assert tuple(outputs[0].shape[1:]) == node.shape, node
        for tensor, extra in zip(outputs[1:], further.get(node.name, []), strict=True):
            assert tuple(tensor.shape[1:]) == extra.shape, extra
    again = recipe.build().get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again, strict=True))
