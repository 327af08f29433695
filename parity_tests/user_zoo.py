"""Four small models as users write them, saved as .keras files in one folder: the scale-out tests' and
benchmarks/scaling.py's zoo. None was designed for the toolkit: two named inputs, a GRU over sequences, a
registered custom layer (needs --custom-objects), and a Conv1D regressor.

    python -m parity_tests.user_zoo DIR     writes DIR/*.keras and DIR/user_layers.py
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

NAMES = ("two_inputs", "gru_tagger", "gated_user", "conv1d_regressor")
LAYERS_FILE = "user_layers.py"
USER_LAYERS = textwrap.dedent('''
    import keras
    from keras import ops


    @keras.saving.register_keras_serializable(package="user_zoo")
    class GatedResidual(keras.layers.Layer):
        """x + tanh(x W) * sigmoid(x V): a gated residual block, written the way users write layers."""

        def __init__(self, hidden=16, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden

        def build(self, input_shape):
            width = input_shape[-1]
            self.w = self.add_weight(shape=(width, width), initializer="glorot_uniform", name="w")
            self.v = self.add_weight(shape=(width, width), initializer="glorot_uniform", name="v")

        def call(self, x):
            return x + ops.tanh(ops.matmul(x, self.w)) * ops.sigmoid(ops.matmul(x, self.v))

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}
''')


def _two_inputs(keras):
    image = keras.Input((8, 8, 1), name="image")
    meta = keras.Input((4,), name="meta")
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(image)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Concatenate(name="join")([x, keras.layers.Dense(8, activation="relu", name="meta_dense")(meta)])
    return keras.Model([image, meta], keras.layers.Dense(5, activation="softmax", name="label")(x), name="two_inputs")


def _gru_tagger(keras):
    sequence = keras.Input((12, 6), name="sequence")
    x = keras.layers.GRU(16, name="gru")(sequence)
    return keras.Model(sequence, keras.layers.Dense(3, activation="softmax", name="tag")(x), name="gru_tagger")


def _gated_user(keras, gated):
    features = keras.Input((10,), name="features")
    x = keras.layers.Dense(16, activation="relu", name="embed")(features)
    x = gated(16, name="gated")(x)
    return keras.Model(features, keras.layers.Dense(4, activation="softmax", name="label")(x), name="gated_user")


def _conv1d_regressor(keras):
    signal = keras.Input((32, 3), name="signal")
    x = keras.layers.Conv1D(8, 5, activation="relu", name="conv")(signal)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(signal, keras.layers.Dense(2, name="estimate")(x), name="conv1d_regressor")


def write_user_zoo(folder: Path) -> Path:
    """Write the four .keras files and the custom-objects file into `folder`; returns the custom-objects file."""
    import keras

    from toolkit.model.loading import import_custom_objects

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    layers_file = folder / LAYERS_FILE
    layers_file.write_text(USER_LAYERS)
    import_custom_objects(layers_file)
    gated = sys.modules[f"toolkit_user_objects_{layers_file.stem}"].GatedResidual
    keras.utils.set_random_seed(11)
    builders = {"two_inputs": _two_inputs, "gru_tagger": _gru_tagger, "conv1d_regressor": _conv1d_regressor,
                "gated_user": lambda k: _gated_user(k, gated)}
    for name in NAMES:
        builders[name](keras).save(folder / f"{name}.keras")
    return layers_file


if __name__ == "__main__":
    print(write_user_zoo(Path(sys.argv[1])))
