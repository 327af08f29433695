"""The seed's CustomDense layer (build / add_weight / call, get_config, registered) in two models."""

import keras
from keras import layers, ops

from models.registry import reference_model, teacher_regression


@keras.saving.register_keras_serializable(package="toolkit_models")
class CustomDense(layers.Layer):
    """Dense layer with ReLU, written by hand as in the seed's custom-layer section."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True, name="kernel"
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="bias")

    def call(self, inputs):
        return ops.relu(ops.matmul(inputs, self.w) + self.b)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _custom_dense_data(seed):
    return teacher_regression(seed, 512, 16, 10, name="features")


@reference_model(
    name="custom_dense_sequential",
    api="sequential",
    summary="seed CustomDense(32) -> CustomDense(10) in a Sequential model",
    training_data=_custom_dense_data,
    losses={"custom_out": "mean_squared_error"},
)
def build_custom_dense_sequential():
    return keras.Sequential(
        [keras.Input((16,), name="features"), CustomDense(32, name="custom_hidden"), CustomDense(10, name="custom_out")],
        name="custom_dense_sequential",
    )


@reference_model(
    name="custom_dense_functional",
    api="functional",
    summary="seed CustomDense layer in a Functional model, mixed with a built-in Dense head",
    training_data=_custom_dense_data,
    losses={"custom_out": "mean_squared_error"},
)
def build_custom_dense_functional():
    inputs = keras.Input((16,), name="features")
    x = CustomDense(32, name="custom_hidden")(inputs)
    x = layers.Dense(16, activation="relu", name="builtin_dense")(x)
    outputs = CustomDense(10, name="custom_out")(x)
    return keras.Model(inputs, outputs, name="custom_dense_functional")
