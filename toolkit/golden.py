"""golden.json beside each artifact: sample inputs and the Keras outputs for them.

Any runtime, the browser page included, can check itself against it without
Python: it is the same data `toolkit parity` compares with.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from toolkit.spec import random_inputs

GOLDEN_NAME = "golden.json"
GOLDEN_BATCH = 4
GOLDEN_SEED = 7


def sample_feeds(loaded, batch: int, seed: int) -> dict[str, np.ndarray]:
    """The reference model's own samples, or seeded inputs from the specs for a user's model."""
    if loaded.reference is not None:
        return loaded.reference.sample_inputs(loaded.signature.inputs, batch, seed)
    return random_inputs(loaded.signature.inputs, batch, seed)


def _encode(arrays: dict[str, np.ndarray]) -> dict:
    return {
        name: {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.ravel().tolist()}
        for name, a in arrays.items()
    }


def decode(tensors: dict) -> dict[str, np.ndarray]:
    return {
        name: np.asarray(t["data"], dtype=t["dtype"]).reshape(t["shape"]) for name, t in tensors.items()
    }


def write_golden(folder: Path, loaded) -> None:
    from toolkit.keras_model import predict

    feeds = sample_feeds(loaded, GOLDEN_BATCH, GOLDEN_SEED)
    outputs = predict(loaded.model, loaded.signature, feeds)
    data = {"model": loaded.name, "batch": GOLDEN_BATCH, "inputs": _encode(feeds), "outputs": _encode(outputs)}
    (Path(folder) / GOLDEN_NAME).write_text(json.dumps(data))


def read_golden(folder: Path) -> tuple[dict, dict]:
    data = json.loads((Path(folder) / GOLDEN_NAME).read_text())
    return decode(data["inputs"]), decode(data["outputs"])
