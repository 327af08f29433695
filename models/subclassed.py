"""Subclassing API reference models: the seed's MyModel and a data-dependent branching model."""

import keras
import numpy as np
from keras import layers, ops

from models.registry import reference_model, teacher_classification, teacher_regression
from toolkit.model.spec import TensorSpec


@keras.saving.register_keras_serializable(package="toolkit_models")
class MyModel(keras.Model):
    """The seed's subclassed model: Dense 64 relu -> Dense 10 softmax in call()."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense1 = layers.Dense(64, activation="relu")
        self.dense2 = layers.Dense(10, activation="softmax")

    def build(self, input_shape):
        self.dense1.build(input_shape)
        self.dense2.build((None, 64))

    def call(self, inputs):
        return self.dense2(self.dense1(inputs))


@reference_model(
    name="subclassed_mlp",
    api="subclassed",
    summary="seed subclassed MyModel: Dense 64 relu -> Dense 10 softmax in call()",
    input_specs=(TensorSpec("inputs", (None, 784), "float32"),),
    training_data=lambda seed: teacher_classification(seed, 512, 784, 10),
    losses={"output_0": "sparse_categorical_crossentropy"},
    classifier_outputs=("output_0",),
    learning_rate=3e-3,
)
def build_subclassed_mlp():
    model = MyModel(name="subclassed_mlp")
    model.build((None, 784))
    return model


@keras.saving.register_keras_serializable(package="toolkit_models")
class BranchingModel(keras.Model):
    """The seed's dynamic graph: a condition on the data chooses path 1 or path 2.

    `ops.cond` (not a Python `if`) keeps both paths in the traced graph, so every
    exported format carries real conditional control flow (If / StatelessIf).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.path1_layer1 = layers.Dense(32, activation="relu")
        self.path1_layer2 = layers.Dense(8)
        self.path2_layer1 = layers.Dense(16, activation="tanh")
        self.path2_layer2 = layers.Dense(8)

    def build(self, input_shape):
        # Build both paths up front: an eager first call would only build one.
        self.path1_layer1.build(input_shape)
        self.path1_layer2.build((None, 32))
        self.path2_layer1.build(input_shape)
        self.path2_layer2.build((None, 16))

    def call(self, inputs):
        return ops.cond(
            ops.mean(inputs) > 0.0,
            lambda: self.path1_layer2(self.path1_layer1(inputs)),
            lambda: self.path2_layer2(self.path2_layer1(inputs)),
        )


def branching_sample_inputs(batch: int, seed: int) -> dict:
    """Even seeds take path 1 (positive mean), odd seeds path 2, so parity covers both."""
    rng = np.random.default_rng(seed)
    shift = 0.5 if seed % 2 == 0 else -0.5
    return {"inputs": (rng.standard_normal((batch, 16)) + shift).astype("float32")}


@reference_model(
    name="dynamic_branch",
    api="subclassed",
    summary="subclassed, data-dependent branch: mean(x) > 0 chooses path 1 or path 2 (ops.cond)",
    input_specs=(TensorSpec("inputs", (None, 16), "float32"),),
    training_data=lambda seed: teacher_regression(seed, 512, 16, 8),
    losses={"output_0": "mean_squared_error"},
    sample_inputs_fn=branching_sample_inputs,
)
def build_dynamic_branch():
    model = BranchingModel(name="dynamic_branch")
    model.build((None, 16))
    return model
