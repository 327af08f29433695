"""Every reference model builds, learns, and survives a .keras round trip unchanged."""

import numpy as np
import pytest

from models import REFERENCE_MODELS
from parity_tests.conftest import MODEL_NAMES
from toolkit.model.calling import describe_model, predict


@pytest.fixture(scope="module")
def freshly_trained():
    """name -> (in-memory model after the GradientTape loop, its loss history)."""
    from models.store import build_and_train

    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = build_and_train(name)
        return cache[name]

    return get


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_training_loss_decreases(name, freshly_trained):
    _, history = freshly_trained(name)
    first, last = np.mean(history[:5]), np.mean(history[-5:])
    assert np.isfinite(history).all()
    assert last < 0.95 * first, f"{name}: loss {first:.4f} -> {last:.4f} did not decrease"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_round_trip_is_identical(name, freshly_trained, tmp_path):
    import keras

    model, _ = freshly_trained(name)
    entry = REFERENCE_MODELS[name]
    signature = describe_model(model, entry.input_specs)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)  # custom objects come from the registry's imports
    assert type(reloaded) is type(model)
    for batch in (1, 4):
        feeds = entry.sample_inputs(signature.inputs, batch, seed=batch)
        want = predict(model, signature, feeds)
        got = predict(reloaded, describe_model(reloaded, entry.input_specs), feeds)
        assert set(got) == set(want)
        for output in want:
            np.testing.assert_array_equal(got[output], want[output])


def test_digits_classifier_is_accurate(loaded_models):
    from models.digits import test_accuracy

    accuracy = test_accuracy(loaded_models["digits"].model)
    print(f"digits test accuracy: {accuracy:.4f}")
    assert accuracy >= 0.9


def test_dynamic_branch_takes_both_paths(loaded_models):
    """The sample inputs must exercise both sides of the condition, or parity proves only one."""
    model = loaded_models["dynamic_branch"].model
    positive = REFERENCE_MODELS["dynamic_branch"].sample_inputs(None, 4, seed=0)["inputs"]
    negative = REFERENCE_MODELS["dynamic_branch"].sample_inputs(None, 4, seed=1)["inputs"]
    assert positive.mean() > 0 > negative.mean()
    path1 = np.asarray(model.path1_layer2(model.path1_layer1(positive)))
    path2 = np.asarray(model.path2_layer2(model.path2_layer1(negative)))
    np.testing.assert_allclose(np.asarray(model(positive)), path1, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(negative)), path2, rtol=1e-6)
