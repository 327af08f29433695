"""Tensors crossing to and from runtimes in other processes (Node, Chromium, emulated ARM): base64 of
little-endian bytes.

This module imports only numpy and toolkit.errors, so the emulated ARM worker (a bare Python with
numpy) uses it too: one wire format on both sides.

A runtime that computes garbage may also describe it badly (TF.js once answered a shape of
[1, NaN]); that is the runtime's failure, reported as an InferenceError, never a Python crash.
"""

from __future__ import annotations

import base64

import numpy as np

from toolkit.errors import InferenceError


def decode_tensor(tensor: dict, field: str, where: str) -> np.ndarray:
    """{dtype, shape, <field>: base64} -> numpy; `where` names the runtime and output for errors."""
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise InferenceError(f"{where}: the runtime returned an output of shape {shape}, not a list of sizes")
    dtype = np.dtype(bool) if tensor["dtype"] == "bool" else np.dtype(tensor["dtype"]).newbyteorder("<")
    values = np.frombuffer(base64.b64decode(tensor[field]), dtype=dtype)
    if values.size != int(np.prod(shape)):
        raise InferenceError(f"{where}: the runtime returned {values.size} values for an output of shape {shape}")
    return values.astype(dtype.newbyteorder("=")).reshape(shape)


def encode_array(array: np.ndarray, field: str = "data") -> dict:
    """numpy (numeric or bool) -> {dtype, shape, <field>: base64 of little-endian bytes}; `decode_tensor`'s inverse."""
    array = np.asarray(array)
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return {"dtype": array.dtype.name, "shape": list(array.shape), field: base64.b64encode(data.tobytes()).decode("ascii")}
