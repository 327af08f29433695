"""Build, train and cache reference models as .keras files, keyed by their source code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import models as reference_package
from models.registry import REFERENCE_MODELS
from toolkit.files import artifact_lock, atomic_file, cache_dir, sha256_text

TRAINING_SEED = 1234


# Files every reference model depends on besides its own module (data and training code).
SHARED_SOURCES = ("registry.py", "training.py", "store.py", "digits.py", "images.py")


def _source_fingerprint(name: str) -> str:
    """Hash of the model's own module, the shared model code and the Keras version: retrain when one changes
    (editing one zoo model does not retrain the others)."""
    import keras

    folder = Path(reference_package.__file__).parent
    own = Path(sys.modules[REFERENCE_MODELS[name].build.__module__].__file__)
    sources = [p.read_text() for p in [own, *(folder / f for f in SHARED_SOURCES)] if p.exists()]
    return sha256_text(name, keras.__version__, *sources)[:16]


def build_and_train(name: str):
    """A freshly built and trained reference model and its per-step loss history."""
    import keras

    from models.training import train_with_gradient_tape

    entry = REFERENCE_MODELS[name]
    keras.utils.set_random_seed(TRAINING_SEED)
    model = entry.build()
    history = train_with_gradient_tape(model, entry, seed=TRAINING_SEED) if entry.train_steps else []
    if entry.prepare is not None:
        entry.prepare(model, TRAINING_SEED)
    return model, history


def cached_model_path(name: str) -> Path:
    """Where the trained reference model's .keras file is (or will be) cached."""
    return cache_dir() / "reference_models" / f"{name}-{_source_fingerprint(name)}.keras"


def is_trained(name: str) -> bool:
    return cached_model_path(name).exists()


def trained_model_path(name: str) -> Path:
    """Path of the trained reference model's .keras file, training it on first use.

    Training runs under a lock: two processes that need the model at once train it once, so every
    artifact made from it names the same source file (its hash is the artifacts' provenance).
    """
    path = cached_model_path(name)
    if path.exists():
        return path
    with artifact_lock(path):
        if path.exists():  # another process trained it while this one waited
            return path
        model, history = build_and_train(name)
        with atomic_file(path.with_suffix(".history.json")) as staging:
            staging.write_text(json.dumps({"loss": history}))
        with atomic_file(path) as staging:
            model.save(staging)
    return path


def training_history(name: str) -> list[float]:
    path = trained_model_path(name)
    return json.loads(path.with_suffix(".history.json").read_text())["loss"]
