"""Reference-model registry: name -> how to build, train, feed and judge one Keras model.

Each module of this package registers its models with `@reference_model(...)` at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from toolkit.model.spec import TensorSpec, random_inputs
from toolkit.parity.tolerances import QuantizedBudget, Tolerance


@dataclass(frozen=True)
class ReferenceModel:
    name: str
    api: str  # "sequential" | "functional" | "subclassed"
    summary: str
    build: Callable  # () -> keras.Model, built and ready to call
    training_data: Callable  # (seed) -> (inputs by name, targets by output name)
    losses: dict  # output name -> keras loss identifier
    input_specs: tuple[TensorSpec, ...] | None = None  # needed only for subclassed models
    train_steps: int = 60
    learning_rate: float = 1e-2
    batch_size: int = 32
    classifier_outputs: tuple[str, ...] = ()  # classification outputs (others are detected: toolkit/parity/judgement.py)
    # Per output name ("" = every output): looser float32 bound, with its reason.
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    # Quantization mode -> budget replacing that mode's default for this model, with its reason.
    quantized_budgets: dict[str, QuantizedBudget] = field(default_factory=dict)
    # (target, quantization) -> reason: parity verdicts of that artifact that fail as documented (strict xfails
    # in the test matrix, XFAIL in reports); the export itself must still succeed.
    expected_failures: dict[tuple[str, str], str] = field(default_factory=dict)
    # Custom sample inputs (batch, seed) -> feeds; default: seeded N(0, 1) from the specs.
    sample_inputs_fn: Callable | None = None
    # "small" (the quick reference set) or "zoo" (architectures people ship: minutes, not seconds, per model).
    tier: str = "small"
    # Instead of (or after) training: (model, seed) -> None, e.g. BatchNormalization statistics set from
    # realistic images for a keras.applications model with weights=None.
    prepare: Callable | None = None

    def sample_inputs(self, specs, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
        if self.sample_inputs_fn is not None:
            return self.sample_inputs_fn(batch, seed)
        return random_inputs(specs, batch, seed)


REFERENCE_MODELS: dict[str, ReferenceModel] = {}
TIERS = ("small", "zoo")


def reference_names(tier: str | None = None) -> list[str]:
    """Reference model names of one tier (all when None), in registration order."""
    return [name for name, entry in REFERENCE_MODELS.items() if tier is None or entry.tier == tier]


def reference_model(**fields):
    """Decorator for a builder function: registers a ReferenceModel named after `fields['name']`."""

    def register(build):
        entry = ReferenceModel(build=build, **fields)
        if entry.name in REFERENCE_MODELS:
            raise ValueError(f"reference model '{entry.name}' is registered twice")
        REFERENCE_MODELS[entry.name] = entry
        return build

    return register


def teacher_classification(seed: int, n: int, features: int, classes: int, name: str = "inputs"):
    """Inputs and labels from a fixed random linear teacher: learnable, deterministic, no download."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    teacher = rng.standard_normal((features, classes)).astype("float32")
    return {name: x}, np.argmax(x @ teacher, axis=1).astype("int32")


def teacher_regression(seed: int, n: int, features: int, outputs: int = 1, name: str = "inputs"):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    teacher = rng.standard_normal((features, outputs)).astype("float32") / np.sqrt(features)
    return {name: x}, np.maximum(x @ teacher, 0.0).astype("float32")
