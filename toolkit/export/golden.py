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
from toolkit.model.spec import STRING_ARRAY_KINDS, STRING_DTYPE, as_string_array, is_string_dtype

GOLDEN_BATCH = 4
GOLDEN_SEED = 7


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _encode(arrays: dict[str, np.ndarray]) -> dict:
    return {name: _encode_one(a) for name, a in arrays.items()}


def _encode_one(a: np.ndarray) -> dict:
    if a.dtype.kind in STRING_ARRAY_KINDS:  # string inputs: dtype "string", data a JSON list of str
        return {"dtype": STRING_DTYPE, "shape": list(a.shape), "data": as_string_array(a).ravel().tolist()}
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": [_json_value(v) for v in a.ravel().tolist()]}


def decode(tensors: dict) -> dict[str, np.ndarray]:
    return {name: _decode_one(t) for name, t in tensors.items()}


def _decode_one(tensor: dict) -> np.ndarray:
    if is_string_dtype(tensor["dtype"]):
        return np.array(tensor["data"], dtype=object).reshape(tensor["shape"])
    values = [float(v) if isinstance(v, str) else v for v in tensor["data"]]  # "NaN", "Infinity", "-Infinity"
    return np.asarray(values, dtype=tensor["dtype"]).reshape(tensor["shape"])


def write_golden(folder: Path, loaded: LoadedModel) -> None:
    feeds = sample_feeds(loaded, GOLDEN_BATCH, GOLDEN_SEED)
    outputs = predict(loaded.model, loaded.signature, feeds)
    data = {"model": loaded.name, "batch": GOLDEN_BATCH, "inputs": _encode(feeds), "outputs": _encode(outputs)}
    (Path(folder) / GOLDEN_NAME).write_text(json.dumps(data, allow_nan=False))


def read_golden(folder: Path) -> tuple[dict, dict]:
    data = json.loads((Path(folder) / GOLDEN_NAME).read_text())
    return decode(data["inputs"]), decode(data["outputs"])
