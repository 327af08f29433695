"""golden.json beside each artifact: sample inputs and the Keras outputs for them.

Any runtime, the browser page included, can check itself against it without
Python: it is the same data `toolkit parity` compares with. The file is strict
JSON: NaN and infinities are written as the strings "NaN", "Infinity" and
"-Infinity" (JavaScript's Number() and numpy both read them back).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from toolkit.export.layout import GOLDEN_NAME
from toolkit.model.calling import predict
from toolkit.model.loading import LoadedModel
from toolkit.model.samples import sample_feeds

GOLDEN_BATCH = 4
GOLDEN_SEED = 7


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _encode(arrays: dict[str, np.ndarray]) -> dict:
    return {
        name: {"dtype": str(a.dtype), "shape": list(a.shape), "data": [_json_value(v) for v in a.ravel().tolist()]}
        for name, a in arrays.items()
    }


def decode(tensors: dict) -> dict[str, np.ndarray]:
    return {
        name: np.asarray([float(v) if isinstance(v, str) else v for v in t["data"]], dtype=t["dtype"]).reshape(t["shape"])
        for name, t in tensors.items()
    }


def write_golden(folder: Path, loaded: LoadedModel) -> None:
    feeds = sample_feeds(loaded, GOLDEN_BATCH, GOLDEN_SEED)
    outputs = predict(loaded.model, loaded.signature, feeds)
    data = {"model": loaded.name, "batch": GOLDEN_BATCH, "inputs": _encode(feeds), "outputs": _encode(outputs)}
    (Path(folder) / GOLDEN_NAME).write_text(json.dumps(data, allow_nan=False))


def read_golden(folder: Path) -> tuple[dict, dict]:
    data = json.loads((Path(folder) / GOLDEN_NAME).read_text())
    return decode(data["inputs"]), decode(data["outputs"])
