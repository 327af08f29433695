"""Input/output specs of a Keras model, and seeded sample-input generation.

Everything downstream matches tensors by these names, never by position: each
format orders inputs and outputs its own way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor; shape[0] is the batch dimension and is None (dynamic)."""

    name: str
    shape: tuple  # e.g. (None, 784)
    dtype: str  # numpy dtype name, e.g. "float32"
    # For integer inputs feeding an Embedding: values must stay below this.
    max_value: int | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["shape"] = list(self.shape)
        if self.max_value is None:
            del data["max_value"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> TensorSpec:
        return cls(data["name"], tuple(data["shape"]), data["dtype"], data.get("max_value"))


@dataclass(frozen=True)
class ModelSignature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [spec.name for spec in self.outputs]

    def to_json(self) -> dict:
        return {
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
        }

    @classmethod
    def from_json(cls, data: dict) -> ModelSignature:
        return cls(
            tuple(TensorSpec.from_json(s) for s in data["inputs"]),
            tuple(TensorSpec.from_json(s) for s in data["outputs"]),
        )


# Length used for a dynamic non-batch dimension (e.g. a variable sequence length) in sample inputs.
SAMPLE_DYNAMIC_LENGTH = 8


def random_inputs(specs: Sequence[TensorSpec], batch: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded inputs for `specs` at `batch`: N(0, 1) floats, in-range integers."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in specs:
        shape = (batch, *(SAMPLE_DYNAMIC_LENGTH if d is None else d for d in spec.shape[1:]))
        if np.issubdtype(np.dtype(spec.dtype), np.integer):
            high = spec.max_value if spec.max_value else 10
            feeds[spec.name] = rng.integers(0, high, size=shape).astype(spec.dtype)
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
    return feeds


def check_feeds(specs: Sequence[TensorSpec], feeds: dict[str, np.ndarray]) -> list[str]:
    """Problems with `feeds` against `specs` (missing/extra names, shape, dtype); [] if none."""
    problems = []
    expected = {spec.name: spec for spec in specs}
    for name in expected.keys() - feeds.keys():
        problems.append(f"input '{name}' is missing")
    for name in feeds.keys() - expected.keys():
        problems.append(f"'{name}' is not an input of the model (inputs: {', '.join(expected)})")
    for name, spec in expected.items():
        if name not in feeds:
            continue
        array = feeds[name]
        if array.dtype != np.dtype(spec.dtype):
            problems.append(f"input '{name}' has dtype {array.dtype}, expected {spec.dtype}")
        want = spec.shape
        if len(array.shape) != len(want) or any(
            w is not None and w != g for w, g in zip(want, array.shape)
        ):
            shown = tuple("batch" if w is None else w for w in want)
            problems.append(f"input '{name}' has shape {array.shape}, expected {shown}")
    return problems
