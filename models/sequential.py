"""Sequential API reference models: the seed's 784 -> 64 -> 10 MLP."""

import keras
from keras import layers

from models.registry import reference_model, teacher_classification


@reference_model(
    name="sequential_mlp",
    api="sequential",
    summary="seed Sequential MLP: 784 -> Dense 64 relu -> Dense 10 softmax",
    training_data=lambda seed: teacher_classification(seed, 512, 784, 10, name="pixels"),
    losses={"probabilities": "sparse_categorical_crossentropy"},
    classifier_outputs=("probabilities",),
    learning_rate=3e-3,
)
def build_sequential_mlp():
    return keras.Sequential(
        [
            keras.Input((784,), name="pixels"),
            layers.Dense(64, activation="relu", name="hidden"),
            layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="sequential_mlp",
    )
