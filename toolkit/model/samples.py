"""Sample inputs for a loaded model: the reference model's own samples, or seeded ones from its specs."""

from __future__ import annotations

import numpy as np

from toolkit.model.loading import LoadedModel
from toolkit.model.spec import random_inputs


def sample_feeds(loaded: LoadedModel, batch: int, seed: int) -> dict[str, np.ndarray]:
    if loaded.reference is not None:
        return loaded.reference.sample_inputs(loaded.signature.inputs, batch, seed)
    return random_inputs(loaded.signature.inputs, batch, seed)
