"""The probe rows of benchmarks/probe_ops.py for preprocessing layers that run inside a model: image
preprocessing and augmentation (augmentation is the identity at inference, which is what the
exported model computes), lookups and encodings of ids and strings, and audio spectrograms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.probe_models import IMAGE, SEQ, WORDS, chain, image, k, model, sequence, tokens, two_inputs

SENTENCES = ["the cat sat on the mat", "a dog sat", "the bird flew over a dog", "The Cat, the DOG!"]


def _normalization_adapted():
    import keras

    layer = keras.layers.Normalization()
    layer.adapt(np.random.default_rng(1).normal(2.0, 3.0, (32, *SEQ)).astype("float32"))
    return model(layer)


def _text_vectorization(**kwargs: object) -> Callable:
    """TextVectorization on one sentence per sample, adapted on SENTENCES unless given a vocabulary."""

    def build():
        import keras

        layer = keras.layers.TextVectorization(**kwargs)
        if "vocabulary" not in kwargs:
            layer.adapt(SENTENCES)
        return model(layer, (1,), "string", name="text")

    return build


def _hashed_crossing():
    import keras

    return two_inputs(lambda a, b: keras.layers.HashedCrossing(num_bins=16)((a, b)), (1,), (1,), "int32")()


def _pipeline():
    import keras

    return model(keras.layers.Pipeline([keras.layers.Rescaling(1 / 255.0), keras.layers.CenterCrop(8, 8)]), IMAGE)


def _category_encoding(mode: str) -> Callable:
    """CategoryEncoding of int32 ids; a Dense head makes the multi-hot/count vector matter to the output."""

    def call(ids):
        import keras

        encoded = keras.layers.CategoryEncoding(50, output_mode=mode)(ids)
        return keras.layers.Dense(4)(encoded) if mode != "one_hot" else encoded

    return tokens(call, length=1 if mode == "one_hot" else 10)


def _augmentation(name: str, *args: object, **kwargs: object) -> tuple[str, Callable]:
    return f"{name} (inference)", image(k(name, *args, **kwargs))


AUGMENTATION: dict[str, Callable] = dict([
    _augmentation("AugMix"),
    _augmentation("CutMix"),
    _augmentation("MixUp"),
    _augmentation("RandAugment"),
    _augmentation("RandomBrightness", 0.2),
    _augmentation("RandomColorDegeneration", 0.5),
    _augmentation("RandomColorJitter", brightness_factor=0.2, contrast_factor=0.2),
    _augmentation("RandomContrast", 0.2),
    _augmentation("RandomCrop", 8, 8),
    _augmentation("RandomElasticTransform"),
    _augmentation("RandomErasing"),
    _augmentation("RandomFlip"),
    _augmentation("RandomGaussianBlur", factor=0.5),
    _augmentation("RandomGrayscale"),
    _augmentation("RandomHue", 0.5),
    _augmentation("RandomInvert"),
    _augmentation("RandomPerspective"),
    _augmentation("RandomPosterization", factor=(1, 4)),
    _augmentation("RandomRotation", 0.2),
    _augmentation("RandomSaturation", 0.5),
    _augmentation("RandomSharpness", 0.5),
    # A scalar factor saves as (-f, f), which RandomShear then refuses to load (Keras 3.15): a range loads.
    _augmentation("RandomShear", x_factor=(0.0, 0.2), y_factor=(0.0, 0.1)),
    _augmentation("RandomTranslation", 0.2, 0.2),
    _augmentation("RandomZoom", 0.2),
    _augmentation("Solarization", addition_factor=0.2),
    _augmentation("MaxNumBoundingBoxes", 3),
])

IMAGE_PREPROCESSING: dict[str, Callable] = {
    "Rescaling": image(k("Rescaling", 1 / 127.5, offset=-1.0)),
    "Normalization (mean/variance)": sequence(k("Normalization", mean=[0.5, -1.0, 2.0, 0.0, 1.0, -0.5],
                                                 variance=[1.0, 4.0, 0.25, 2.0, 9.0, 0.5])),
    "Normalization (adapted)": _normalization_adapted,
    "Resizing (bilinear)": image(k("Resizing", 16, 10)),
    "Resizing (nearest)": image(k("Resizing", 7, 9, interpolation="nearest")),
    "Resizing (bilinear + crop_to_aspect_ratio)": image(k("Resizing", 8, 12, crop_to_aspect_ratio=True)),
    "Resizing (bicubic)": image(k("Resizing", 16, 10, interpolation="bicubic")),
    "CenterCrop": image(k("CenterCrop", 8, 6)),
    "Pipeline(Rescaling + CenterCrop)": _pipeline,
    "AutoContrast": image(k("AutoContrast")),
    "ContrastLimitedAdaptiveHistogramEqualization": image(k("ContrastLimitedAdaptiveHistogramEqualization", tile_grid_size=(2, 2))),
    **AUGMENTATION,
}

LOOKUPS: dict[str, Callable] = {
    "CategoryEncoding (one_hot) on int32": _category_encoding("one_hot"),
    "CategoryEncoding (multi_hot) on int32": _category_encoding("multi_hot"),
    "CategoryEncoding (count) on int32": _category_encoding("count"),
    "IntegerLookup on int32": tokens(chain(k("IntegerLookup", vocabulary=[3, 7, 11, 19], output_mode="int"))),
    "Hashing on int32": tokens(chain(k("Hashing", num_bins=8))),
    "Hashing on strings": tokens(chain(k("Hashing", num_bins=8)), length=4, dtype="string"),
    "HashedCrossing": _hashed_crossing,
    "Discretization": sequence(k("Discretization", bin_boundaries=[-1.0, 0.0, 1.0])),
    "StringLookup on strings": tokens(chain(k("StringLookup", vocabulary=list(WORDS[:6]))), length=4, dtype="string"),
    "StringLookup (multi_hot) on strings": tokens(chain(k("StringLookup", vocabulary=list(WORDS[:6]), output_mode="multi_hot")),
                                                  length=4, dtype="string"),
    "TextVectorization (int: lower/strip/split)": _text_vectorization(max_tokens=20, output_sequence_length=6),
    "TextVectorization (multi_hot without standardize/split)": _text_vectorization(
        standardize=None, split=None, output_mode="multi_hot", vocabulary=list(WORDS)),
}

AUDIO: dict[str, Callable] = {
    "MelSpectrogram": lambda: model(k("MelSpectrogram", fft_length=64, sequence_stride=32, sequence_length=64,
                                      num_mel_bins=8, sampling_rate=8000)(), (256,)),
    "STFTSpectrogram": lambda: model(k("STFTSpectrogram", mode="log", frame_length=32, frame_step=16,
                                       fft_length=32)(), (256, 1)),
}

PREPROCESSING: dict[str, Callable] = {**IMAGE_PREPROCESSING, **LOOKUPS, **AUDIO}
