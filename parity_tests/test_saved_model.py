"""The SavedModel target: one serving_default signature, the model's own names, dynamic batch."""

import numpy as np
import pytest

from parity_tests.conftest import MODEL_NAMES
from toolkit.export.manifest import manifest_problems, read_manifest
from toolkit.model.calling import predict
from toolkit.parity.tolerances import DEFAULT_FLOAT32


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_saved_model_reproduces_keras(name, loaded_models, exports):
    import tensorflow as tf

    loaded = loaded_models[name]
    result = exports[(name, "saved_model", "none")]
    assert result.ok, result.error
    manifest = read_manifest(result.path)
    assert manifest_problems(result.path, manifest) == []
    serving = tf.saved_model.load(str(result.path)).signatures["serving_default"]
    assert set(serving.structured_input_signature[1]) == set(loaded.signature.input_names)
    assert set(serving.structured_outputs) == set(loaded.signature.output_names)
    for spec in serving.structured_input_signature[1].values():
        assert spec.shape[0] is None, "batch dimension must be dynamic"
    for batch in (1, 4):
        feeds = loaded.reference.sample_inputs(loaded.signature.inputs, batch, seed=batch)
        want = predict(loaded.model, loaded.signature, feeds)
        got = {k: v.numpy() for k, v in serving(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
        for output in want:
            np.testing.assert_allclose(got[output], want[output], atol=DEFAULT_FLOAT32.atol, rtol=DEFAULT_FLOAT32.rtol)
