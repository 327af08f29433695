"""Functional API reference models: MLP, multi-input, multi-output, shared layers, residual CNN."""

import keras
import numpy as np
from keras import layers

from models.registry import reference_model, teacher_classification


@reference_model(
    name="functional_mlp",
    api="functional",
    summary="seed Functional MLP: Input 784 -> Dense 64 relu -> Dense 10 softmax",
    training_data=lambda seed: teacher_classification(seed, 512, 784, 10, name="pixels"),
    losses={"probabilities": "sparse_categorical_crossentropy"},
    classifier_outputs=("probabilities",),
    learning_rate=3e-3,
)
def build_functional_mlp():
    inputs = keras.Input((784,), name="pixels")
    x = layers.Dense(64, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="functional_mlp")


def _two_input_regression_data(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((512, 64)).astype("float32")
    b = rng.standard_normal((512, 128)).astype("float32")
    y = (a[:, :8].sum(axis=1) - 0.5 * b[:, :16].sum(axis=1))[:, None] / 4.0
    return {"features_a": a, "features_b": b}, y.astype("float32")


@reference_model(
    name="multi_input_regression",
    api="functional",
    summary="seed multi-input regression: 64 and 128 features, two branches, concatenate, Dense 2 relu, Dense 1",
    training_data=_two_input_regression_data,
    losses={"prediction": "mean_squared_error"},
    expected_failures={
        # Measured: SQNR 10.3 dB (TFLite) and 9.5 dB (ONNX QDQ) on 128 samples, RMS error ~30% of the output. An
        # unbounded linear output summing 192 unnormalized inputs: 256 levels over the calibrated ranges are too coarse.
        ("tflite", "int8"): "full-integer int8 keeps only ~10 dB SQNR on this unbounded regression output "
                            "(budget 20 dB); use dynamic or fp16",
        ("onnx", "int8"): "int8 activations keep only ~10 dB SQNR on this unbounded regression output "
                          "(budget 20 dB); use dynamic or fp16",
        # int16 activations help a little (12.0 dB): the int8 weights of the 192-input layers dominate.
        ("tflite", "int16x8"): "int16x8 keeps only ~12 dB SQNR on this unbounded regression output "
                               "(budget 20 dB); use dynamic or fp16",
    },
)
def build_multi_input_regression():
    input_a = keras.Input((64,), name="features_a")
    input_b = keras.Input((128,), name="features_b")
    x = layers.Dense(8, activation="relu")(input_a)
    x = layers.Dense(4, activation="relu")(x)
    y = layers.Dense(16, activation="relu")(input_b)
    y = layers.Dense(4, activation="relu")(y)
    combined = layers.concatenate([x, y])
    z = layers.Dense(2, activation="relu")(combined)
    z = layers.Dense(1, activation="linear", name="prediction")(z)
    return keras.Model([input_a, input_b], z, name="multi_input_regression")


def _multitask_data(seed):
    inputs, labels = teacher_classification(seed, 512, 32, 5, name="features")
    score = np.tanh(inputs["features"][:, :4].sum(axis=1, keepdims=True)).astype("float32")
    return inputs, {"class_probs": labels, "score": score}


@reference_model(
    name="multitask",
    api="functional",
    summary="multi-output multitask: shared trunk, softmax class head and regression head",
    training_data=_multitask_data,
    losses={"class_probs": "sparse_categorical_crossentropy", "score": "mean_squared_error"},
    classifier_outputs=("class_probs",),
    expected_failures={
        # Measured: class_probs top-1 agreement passes; the regression head 'score' keeps 15.8 dB on 128 samples
        # (TFLite and ONNX QDQ alike).
        ("tflite", "int8"): "full-integer int8 keeps ~16 dB SQNR on the regression head 'score' (budget 20 dB); "
                            "the class head passes; use dynamic or fp16",
        ("onnx", "int8"): "int8 activations keep ~16 dB SQNR on the regression head 'score' (budget 20 dB); "
                          "the class head passes; use dynamic or fp16",
        ("tflite", "int16x8"): "int16x8 keeps ~17 dB SQNR on the regression head 'score' (budget 20 dB); "
                               "the class head passes; use dynamic or fp16",
    },
)
def build_multitask():
    inputs = keras.Input((32,), name="features")
    trunk = layers.Dense(64, activation="relu", name="trunk_1")(inputs)
    trunk = layers.Dense(32, activation="relu", name="trunk_2")(trunk)
    class_probs = layers.Dense(5, activation="softmax", name="class_probs")(trunk)
    score = layers.Dense(1, name="score")(trunk)
    return keras.Model(inputs, {"class_probs": class_probs, "score": score}, name="multitask")


def _siamese_data(seed):
    rng = np.random.default_rng(seed)
    left = rng.standard_normal((512, 20)).astype("float32")
    same = rng.random(512) < 0.5
    noise = rng.standard_normal((512, 20)).astype("float32")
    right = np.where(same[:, None], left + 0.1 * noise, noise).astype("float32")
    return {"left": left, "right": right}, same.astype("float32")[:, None]


@reference_model(
    name="siamese",
    api="functional",
    summary="Siamese: one shared tower applied to two inputs, (a - b)^2 -> sigmoid similarity",
    training_data=_siamese_data,
    losses={"similarity": "binary_crossentropy"},
)
def build_siamese():
    tower = keras.Sequential(
        [layers.Dense(32, activation="relu"), layers.Dense(16)], name="shared_tower"
    )
    left = keras.Input((20,), name="left")
    right = keras.Input((20,), name="right")
    distance = layers.Subtract()([tower(left), tower(right)])
    distance = layers.Multiply(name="squared_distance")([distance, distance])
    similarity = layers.Dense(1, activation="sigmoid", name="similarity")(distance)
    return keras.Model([left, right], similarity, name="siamese")


def _image_data(seed):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((256, 16, 16, 3)).astype("float32")
    # Label by which quadrant is brightest: needs spatial features, so the convolutions learn.
    quadrants = np.stack(
        [images[:, :8, :8].mean((1, 2, 3)), images[:, :8, 8:].mean((1, 2, 3)),
         images[:, 8:, :8].mean((1, 2, 3)), images[:, 8:, 8:].mean((1, 2, 3))], axis=1
    )
    return {"image": images}, np.argmax(quadrants, axis=1).astype("int32")


@reference_model(
    name="residual_cnn",
    api="functional",
    summary="residual CNN: Conv2D, BatchNormalization, Add skip connection, pooling on 16x16x3",
    training_data=_image_data,
    losses={"class_probs": "sparse_categorical_crossentropy"},
    classifier_outputs=("class_probs",),
    train_steps=40,
)
def build_residual_cnn():
    inputs = keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    skip = layers.Activation("relu")(x)
    x = layers.Conv2D(8, 3, padding="same", name="block_conv")(skip)
    x = layers.BatchNormalization(name="block_bn")(x)
    x = layers.Add(name="skip_add")([x, skip])
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(4, activation="softmax", name="class_probs")(x)
    return keras.Model(inputs, outputs, name="residual_cnn")
