"""Realistic images without a download: scikit-learn's bundled digits, upscaled and coloured.

The zoo's image models take RGB pixels in [0, 255]; noise of that range is nothing like a photo, so
BatchNormalization statistics, calibration and parity samples come from these instead: smooth
light strokes on a dark background, a random colour pair per image, a soft vertical gradient.
"""

from __future__ import annotations

import numpy as np

from models.digits import digits_split


def digit_images(count: int, size: int, seed: int, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(images (count, size, size, 3) float32 in [0, 255], labels (count,)) drawn from one split."""
    from scipy.ndimage import zoom

    x_train, y_train, x_test, y_test = digits_split()
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x), size=count, replace=count > len(x))
    ink = zoom(x[rows].reshape(count, 8, 8), (1, size / 8, size / 8), order=1).clip(0.0, 1.0)
    # Light strokes on a dark ground, hues varying per image: a colour pair people can read.
    foreground = rng.uniform(150, 255, (count, 1, 1, 3))
    background = rng.uniform(0, 100, (count, 1, 1, 3))
    gradient = np.linspace(-20, 20, size).reshape(1, size, 1, 1)
    images = background + (foreground - background) * ink[..., None] + gradient
    return images.clip(0, 255).astype("float32"), y[rows]


def set_batchnorm_statistics(model: object, images: np.ndarray) -> None:
    """Moving mean and variance of every BatchNormalization layer from one pass over `images`.

    keras.applications models with weights=None start with mean 0 and variance 1 everywhere, so their
    activations explode or vanish layer after layer and every output is degenerate. One training-mode
    pass with momentum 0 sets each layer's statistics to those of realistic inputs, as a trained
    network would have them; no weight changes.
    """
    import keras

    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(images, training=True)
    for layer, momentum in zip(norms, momenta):
        layer.momentum = momentum
