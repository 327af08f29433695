"""Build, train and cache reference models as .keras files, keyed by their source code."""

from __future__ import annotations

import json
from pathlib import Path

import models as reference_package
from models.registry import REFERENCE_MODELS
from toolkit.files import atomic_file, cache_dir, sha256_text

TRAINING_SEED = 1234


def _source_fingerprint(name: str) -> str:
    """Hash of every models/ source file and the Keras version: retrain when either changes."""
    import keras

    folder = Path(reference_package.__file__).parent
    sources = [p.read_text() for p in sorted(folder.glob("*.py"))]
    return sha256_text(name, keras.__version__, *sources)[:16]


def build_and_train(name: str):
    """A freshly built and trained reference model and its per-step loss history."""
    import keras

    from models.training import train_with_gradient_tape

    entry = REFERENCE_MODELS[name]
    keras.utils.set_random_seed(TRAINING_SEED)
    model = entry.build()
    history = train_with_gradient_tape(model, entry, seed=TRAINING_SEED)
    return model, history


def trained_model_path(name: str) -> Path:
    """Path of the trained reference model's .keras file, training it on first use."""
    folder = cache_dir() / "reference_models"
    path = folder / f"{name}-{_source_fingerprint(name)}.keras"
    if path.exists():
        return path
    model, history = build_and_train(name)
    with atomic_file(path) as staging:
        model.save(staging)
    with atomic_file(path.with_suffix(".history.json")) as staging:
        staging.write_text(json.dumps({"loss": history}))
    return path


def training_history(name: str) -> list[float]:
    path = trained_model_path(name)
    return json.loads(path.with_suffix(".history.json").read_text())["loss"]
