"""A digit classifier trained on real data: scikit-learn's bundled 8x8 `load_digits` (no download).

Pixels are the data set's 0..16 ink counts divided by 16; the browser demo reduces
a drawn canvas the same way (8x8 blocks, ink fraction * 16, / 16).
"""

from functools import lru_cache

import keras
import numpy as np
from keras import layers

from models.registry import reference_model


@lru_cache(maxsize=1)
def digits_split():
    """Fixed 80/20 train/test split: (x_train, y_train, x_test, y_test)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    y = data.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


def _training_data(seed):
    x_train, y_train, _, _ = digits_split()
    return {"pixels": x_train}, y_train


def digits_sample_inputs(batch: int, seed: int) -> dict:
    """Real held-out digits, so parity and top-1 agreement are judged on the data users send."""
    _, _, x_test, _ = digits_split()
    rows = np.random.default_rng(seed).choice(len(x_test), size=batch, replace=batch > len(x_test))
    return {"pixels": x_test[rows]}


def test_accuracy(model) -> float:
    _, _, x_test, y_test = digits_split()
    probabilities = np.asarray(model(x_test, training=False))
    return float((probabilities.argmax(axis=1) == y_test).mean())


@reference_model(
    name="digits",
    api="functional",
    summary="digit classifier on scikit-learn load_digits (8x8): 64 -> Dense 32 relu -> Dense 10 softmax",
    training_data=_training_data,
    losses={"probabilities": "sparse_categorical_crossentropy"},
    classifier_outputs=("probabilities",),
    train_steps=400,
    learning_rate=1e-2,
    batch_size=64,
    sample_inputs_fn=digits_sample_inputs,
)
def build_digits():
    inputs = keras.Input((64,), name="pixels")
    x = layers.Dense(32, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits")
