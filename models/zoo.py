"""The zoo tier: image architectures people ship, built offline.

keras.applications models start from weights=None (pretrained weights cannot be downloaded here)
and are trained briefly on the digits, upscaled and coloured (models/images.py), then get their
BatchNormalization statistics from those images: an untrained network's outputs are near-uniform
(median top-1 margin 0.006 on MobileNetV3Small, EfficientNetB0 and ResNet50), so any rounding flips
its answers and a quantized artifact's top-1 agreement measures noise, not the quantizer (issue 13).
Trained, they classify the digits (accuracy 0.70-0.96) with the confident outputs of a shipped model.
ConvNeXtTiny stays untrained: it is in the zoo for its ops (grouped convolutions, LayerNormalization,
exact gelu), checked at float32 only, and training it costs minutes for nothing it checks.
The ViT-style encoder is trained on the same digits. Inputs are RGB pixels in
[0, 255], as the applications' own preprocessing layers expect (ResNet50, which has none, gets
its caffe preprocessing applied to the samples instead).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from models.images import digit_images, set_batchnorm_statistics
from models.registry import reference_model

CALIBRATION_IMAGES = 64
# ResNet50's own preprocessing (caffe): BGR order, ImageNet channel means subtracted, no scaling.
CAFFE_MEANS_BGR = np.array([103.939, 116.779, 123.68], dtype="float32")


def _image_samples(size: int, name: str = "image", caffe: bool = False):
    def samples(batch: int, seed: int) -> dict:
        images, _ = digit_images(batch, size, seed)
        return {name: images[..., ::-1] - CAFFE_MEANS_BGR if caffe else images}

    return samples


def _calibrate(size: int, caffe: bool = False):
    def prepare(model: keras.Model, seed: int) -> None:
        images, _ = digit_images(CALIBRATION_IMAGES, size, seed, split="train")
        set_batchnorm_statistics(model, images[..., ::-1] - CAFFE_MEANS_BGR if caffe else images)

    return prepare


def _no_training(seed: int):
    return {}, {}


TRAINING_IMAGES = 1437  # the digits' whole train split


def _image_training(size: int, caffe: bool = False):
    def data(seed: int):
        images, labels = digit_images(TRAINING_IMAGES, size, seed, split="train")
        return {"image": images[..., ::-1] - CAFFE_MEANS_BGR if caffe else images}, labels

    return data


def _application(builder, name: str, size: int, **kwargs) -> keras.Model:
    """A keras.applications model with a named input, weights=None and 10 classes."""
    inputs = keras.Input((size, size, 3), name="image")
    model = builder(weights=None, input_tensor=inputs, classes=10, **kwargs)
    return keras.Model(inputs, model.output, name=name)


ZOO_IMAGE = dict(api="functional", tier="zoo", classifier_outputs=("predictions",))
# 150 steps of 32 images (about 3 epochs; 2-7 min on 2 cores, once: the trained model is cached by source hash).
# The learning rates are the largest that trained each model without diverging, measured.
ZOO_TRAINING = dict(losses={"predictions": keras.losses.SparseCategoricalCrossentropy()}, train_steps=150,
                    batch_size=32)


@reference_model(name="mobilenet_v3_small", summary="keras.applications MobileNetV3Small, 96x96, hard-swish, "
                 "softmax head (weights=None, trained on the digits)",
                 sample_inputs_fn=_image_samples(96), prepare=_calibrate(96), training_data=_image_training(96),
                 learning_rate=2e-3, **ZOO_TRAINING, **ZOO_IMAGE)
def build_mobilenet_v3_small():
    return _application(keras.applications.MobileNetV3Small, "mobilenet_v3_small", 96)


@reference_model(name="efficientnet_b0", summary="keras.applications EfficientNetB0, 64x64, swish, "
                 "squeeze-excite (weights=None, trained on the digits)",
                 sample_inputs_fn=_image_samples(64), prepare=_calibrate(64), training_data=_image_training(64),
                 learning_rate=2e-3, **ZOO_TRAINING, **ZOO_IMAGE)
def build_efficientnet_b0():
    return _application(keras.applications.EfficientNetB0, "efficientnet_b0", 64)


@reference_model(name="resnet50", summary="keras.applications ResNet50, 64x64, 25.6M parameters "
                 "(weights=None, trained on the digits; caffe-preprocessed inputs)",
                 sample_inputs_fn=_image_samples(64, caffe=True), prepare=_calibrate(64, caffe=True),
                 training_data=_image_training(64, caffe=True), learning_rate=1e-3, **ZOO_TRAINING, **ZOO_IMAGE)
def build_resnet50():
    return _application(keras.applications.ResNet50, "resnet50", 64)


@reference_model(name="convnext_tiny", summary="keras.applications ConvNeXtTiny, 64x64, depthwise 7x7 "
                 "(Conv2D groups), LayerNormalization, exact gelu (weights=None)",
                 sample_inputs_fn=_image_samples(64), training_data=_no_training, losses={}, train_steps=0, **ZOO_IMAGE)
def build_convnext_tiny():
    return _application(keras.applications.ConvNeXtTiny, "convnext_tiny", 64)


# --- a ViT-style encoder, trained on the digits --------------------------------------------------


@keras.saving.register_keras_serializable(package="toolkit_zoo")
class PositionEmbedding(layers.Layer):
    """Adds a learned vector per token position (a user-style custom layer with get_config)."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape):
        self.positions = self.add_weight(shape=(self.length, input_shape[-1]), initializer="random_normal",
                                         name="positions")

    def call(self, tokens):
        return tokens + self.positions

    def get_config(self):
        return {**super().get_config(), "length": self.length}


def transformer_block(x, heads: int, width: int, name: str, causal: bool = False):
    """Pre-norm block: LayerNormalization, MultiHeadAttention, residual; LayerNormalization, gelu MLP, residual."""
    attended = layers.MultiHeadAttention(heads, width // heads, name=f"{name}_attention")(
        *[layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(x)] * 2, use_causal_mask=causal)
    x = layers.Add(name=f"{name}_residual1")([x, attended])
    hidden = layers.Dense(2 * width, activation="gelu", name=f"{name}_mlp1")(
        layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(x))
    return layers.Add(name=f"{name}_residual2")([x, layers.Dense(width, name=f"{name}_mlp2")(hidden)])


VIT_SIZE, VIT_PATCH, VIT_WIDTH = 32, 8, 64




@reference_model(name="vit_encoder", api="functional", tier="zoo",
                 summary="ViT-style encoder: 8x8 patch Conv2D, position embedding (custom layer), 2 blocks of "
                 "MultiHeadAttention + exact-gelu MLP; trained on the digits at 32x32",
                 training_data=_image_training(VIT_SIZE), losses={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                 train_steps=600, learning_rate=1e-3, batch_size=64, classifier_outputs=("logits",),
                 sample_inputs_fn=_image_samples(VIT_SIZE))
def build_vit_encoder():
    inputs = keras.Input((VIT_SIZE, VIT_SIZE, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.Conv2D(VIT_WIDTH, VIT_PATCH, strides=VIT_PATCH, name="patches")(x)
    x = layers.Reshape(((VIT_SIZE // VIT_PATCH) ** 2, VIT_WIDTH), name="tokens")(x)
    x = PositionEmbedding((VIT_SIZE // VIT_PATCH) ** 2, name="positions")(x)
    for index in range(2):
        x = transformer_block(x, heads=4, width=VIT_WIDTH, name=f"block{index}")
    x = layers.GlobalAveragePooling1D(name="pool")(layers.LayerNormalization(epsilon=1e-6, name="norm")(x))
    return keras.Model(inputs, layers.Dense(10, name="logits")(x), name="vit_encoder")


# Trained zoo classifiers -> (image size, caffe preprocessing) of their "image" input.
TRAINED_CLASSIFIERS = {"mobilenet_v3_small": (96, False), "efficientnet_b0": (64, False), "resnet50": (64, True),
                       "vit_encoder": (VIT_SIZE, False)}


def digit_inputs(name: str, count: int, seed: int, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(images as the model `name` takes them, digit labels) from one split of the digits."""
    size, caffe = TRAINED_CLASSIFIERS[name]
    images, labels = digit_images(count, size, seed, split=split)
    return (images[..., ::-1] - CAFFE_MEANS_BGR if caffe else images), labels


def classifier_scores(outputs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, median top-1 minus top-2 probability) of a classifier's outputs (probabilities or logits):
    is it a classifier whose answers mean something, or near-uniform noise that any rounding flips?"""
    probabilities = outputs if np.allclose(outputs.sum(axis=-1), 1, atol=1e-3) else keras.ops.convert_to_numpy(
        keras.ops.softmax(outputs, axis=-1))
    top = np.sort(probabilities, axis=-1)
    return float(np.mean(outputs.argmax(axis=-1) == labels)), float(np.median(top[:, -1] - top[:, -2]))
