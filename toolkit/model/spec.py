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
    dtype: str  # numpy dtype name, e.g. "float32", or "string" (Keras's name; numpy arrays of str)
    # For integer inputs feeding an Embedding: values must stay below this.
    max_value: int | None = None
    # For string inputs (dtype "string"): the values sample inputs are drawn from, e.g. words of the
    # vocabulary of the StringLookup/TextVectorization layer the input feeds (see toolkit/model/calling.py).
    samples: tuple[str, ...] | None = None
    # For float inputs: sample values are drawn uniformly from [low, high] (else N(0, 1)), and where that
    # range came from (a preprocessing layer of the model, or --input-range).
    value_range: tuple[float, float] | None = None
    range_source: str | None = None

    @property
    def is_string(self) -> bool:
        return is_string_dtype(self.dtype)

    def to_json(self) -> dict:
        data = asdict(self)
        data["shape"] = list(self.shape)
        if self.samples is not None:
            data["samples"] = list(self.samples)
        if self.value_range is not None:
            data["value_range"] = list(self.value_range)
        for optional in ("max_value", "samples", "value_range", "range_source"):  # written only when set
            if data[optional] is None:
                del data[optional]
        return data

    @classmethod
    def from_json(cls, data: dict) -> TensorSpec:
        samples, value_range = data.get("samples"), data.get("value_range")
        return cls(data["name"], tuple(data["shape"]), data["dtype"], data.get("max_value"),
                   tuple(samples) if samples is not None else None,
                   tuple(value_range) if value_range is not None else None, data.get("range_source"))

    def describe_samples(self) -> str:
        """How sample values of this input are made, for reports."""
        if self.is_string:
            return "words from the vocabulary" if self.samples else "fixed sample words"
        if np.issubdtype(np.dtype(self.dtype), np.integer):
            return f"integers in [0, {self.max_value or 10})"
        if self.value_range is not None:
            low, high = self.value_range
            return f"uniform in [{low:g}, {high:g}]" + (f" ({self.range_source})" if self.range_source else "")
        return "N(0, 1)"


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

# String inputs: Keras/TF call the dtype "string" (tf.string). In numpy they are arrays of Python str
# (dtype object); unicode ("<U5") and bytes ("S5") arrays are accepted too (np.load gives those).
STRING_DTYPE = "string"
STRING_ARRAY_KINDS = "OUS"  # numpy dtype kinds that can hold a string input: object, unicode, bytes
# Sample values for a string input whose vocabulary the toolkit cannot find (e.g. a custom layer).
FALLBACK_WORDS = ("the", "cat", "sat", "on", "a", "mat", "dog", "bird")


def is_string_dtype(dtype: object) -> bool:
    """True for the spec dtype "string" (what str(keras_tensor.dtype) gives for keras.Input(dtype="string"))."""
    return str(dtype) == STRING_DTYPE


def as_string_array(array: np.ndarray) -> np.ndarray:
    """Any accepted string array -> dtype object holding Python str (bytes decoded as UTF-8).

    Every runtime is fed this form: ONNX Runtime reads a bytes ("S") array without complaint but
    matches none of its elements in the vocabulary (silently all out-of-vocabulary; measured).
    """
    array = np.asarray(array)
    text = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel().tolist()]
    return np.array(text, dtype=object).reshape(array.shape)


def numpy_dtype(spec_dtype: str) -> np.dtype:
    """The numpy dtype of arrays for a spec dtype: object for "string", else the same name."""
    return np.dtype(object) if is_string_dtype(spec_dtype) else np.dtype(spec_dtype)


def random_inputs(specs: Sequence[TensorSpec], batch: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded inputs for `specs` at `batch`: N(0, 1) floats (uniform in spec.value_range when the model
    expects a range), in-range integers, strings from spec.samples."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in specs:
        shape = (batch, *(SAMPLE_DYNAMIC_LENGTH if d is None else d for d in spec.shape[1:]))
        if is_string_dtype(spec.dtype):
            words = np.array(spec.samples or FALLBACK_WORDS, dtype=object)
            feeds[spec.name] = rng.choice(words, size=shape)
        elif np.issubdtype(np.dtype(spec.dtype), np.integer):
            high = spec.max_value if spec.max_value else 10
            feeds[spec.name] = rng.integers(0, high, size=shape).astype(spec.dtype)
        elif spec.value_range is not None:
            feeds[spec.name] = rng.uniform(*spec.value_range, size=shape).astype(spec.dtype)
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
        if is_string_dtype(spec.dtype):
            if not _holds_strings(array):
                problems.append(f"input '{name}' has dtype {array.dtype}, expected string (a numpy array of str)")
        elif array.dtype != np.dtype(spec.dtype):
            problems.append(f"input '{name}' has dtype {array.dtype}, expected {spec.dtype}")
        want = spec.shape
        if len(array.shape) != len(want) or any(
            w is not None and w != g for w, g in zip(want, array.shape)
        ):
            shown = tuple("batch" if w is None else w for w in want)
            problems.append(f"input '{name}' has shape {array.shape}, expected {shown}")
    return problems


def _holds_strings(array: np.ndarray) -> bool:
    """A unicode or bytes array, or an object array whose every element is str or bytes."""
    if array.dtype.kind not in STRING_ARRAY_KINDS:
        return False
    return array.dtype.kind != "O" or all(isinstance(v, (str, bytes)) for v in array.ravel().tolist())
