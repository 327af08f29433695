"""Run artifacts in their runtimes and compare with Keras: one ParityRow per artifact x runtime x batch."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from toolkit.compare import compare_outputs, judge_top1, tolerance_for, top1_agreement
from toolkit.errors import UsageError
from toolkit.golden import sample_feeds
from toolkit.keras_model import predict
from toolkit.registry import load_runtimes

BATCHES = (1, 4)
AGREEMENT_SAMPLES = 64  # sample set for quantized classifiers' top-1 agreement


@dataclass(frozen=True)
class RuntimeVariant:
    """A runtime with fixed options, as it appears in the matrix (e.g. tfjs-node with the wasm backend)."""

    label: str
    runtime: str
    target: str
    options: tuple = ()  # sorted (key, value) pairs

    def create(self, artifact, **extra):
        return load_runtimes()[self.runtime].factory(artifact, **dict(self.options), **extra)


ALL_VARIANTS = (
    RuntimeVariant("tf_savedmodel", "tf_savedmodel", "saved_model"),
    RuntimeVariant("litert", "litert", "tflite"),
    RuntimeVariant("onnxruntime", "onnxruntime", "onnx"),
    RuntimeVariant("tfjs-node-cpu", "tfjs-node", "tfjs", (("backend", "cpu"),)),
    RuntimeVariant("tfjs-node-wasm", "tfjs-node", "tfjs", (("backend", "wasm"),)),
    RuntimeVariant("tfjs-browser", "tfjs-browser", "tfjs"),
    RuntimeVariant("ort-web", "ort-web", "onnx"),
)


def runtime_variants(selection=None) -> list[RuntimeVariant]:
    """Registered variants; `selection` (labels or runtime names, list or comma string) filters them."""
    registered = load_runtimes()
    available = [v for v in ALL_VARIANTS if v.runtime in registered]
    return filter_by_runtime(available, selection, known=available)


def filter_by_runtime(variants, selection, known=ALL_VARIANTS) -> list:
    """`variants` whose label or runtime is in `selection` (all when empty); names outside `known` are a UsageError."""
    if not selection or selection == "all":
        return list(variants)
    wanted = selection.split(",") if isinstance(selection, str) else list(selection)
    names = {v.label for v in known} | {v.runtime for v in known}
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise UsageError(f"unknown runtime {', '.join(unknown)}; choose from {', '.join(sorted(names))} or all")
    return [v for v in variants if v.label in wanted or v.runtime in wanted]


@dataclass
class ParityRow:
    model: str
    target: str
    quantization: str
    runtime: str
    batch: int
    passed: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    mean_abs_err: float | None = None
    p99_abs_err: float | None = None
    cosine: float | None = None
    top1_agreement: float | None = None
    error: str | None = None
    expected_failure: str | None = None  # registry reason: a documented, expected failure

    def to_json(self) -> dict:
        return asdict(self)


class ReferenceOutputs(dict):
    """(batch, seed) -> (feeds, Keras outputs), computed once per model."""

    def __init__(self, loaded, inputs=None):
        super().__init__()
        self.loaded = loaded
        self.inputs = inputs

    def __missing__(self, key):
        batch, seed = key
        feeds = self.inputs if self.inputs is not None else sample_feeds(self.loaded, batch, seed)
        self[key] = (feeds, predict(self.loaded.model, self.loaded.signature, feeds))
        return self[key]


def check_artifact(loaded, export, variant, references, batches=BATCHES) -> list[ParityRow]:
    """Parity rows of one exported artifact in one runtime variant; failures become rows, never raise."""
    reason = _expected_failure(loaded, export)
    rows = []

    def row(batch, **values):
        return ParityRow(loaded.name, export.target, export.quantization, variant.label, batch, expected_failure=reason, **values)

    if not export.ok:
        return [row(b, passed=False, error=f"export failed: {export.error}") for b in batches]
    try:
        runtime = variant.create(export.path).activate()
    except Exception as error:  # any runtime start failure is a row, so the rest of the matrix still runs
        return [row(b, passed=False, error=_one_line(error)) for b in batches]
    try:
        agreement = _agreement(loaded, export, runtime, references)
        for batch in batches:
            rows.append(_compare_batch(loaded, export, runtime, references, batch, agreement, row))
    finally:
        runtime.close()
    return rows


def _compare_batch(loaded, export, runtime, references, batch, agreement, row) -> ParityRow:
    feeds, reference = references[(batch, batch)]
    try:
        got = runtime.infer(feeds)
    except Exception as error:  # a crashed or hung runtime is reported in its row
        return row(len(next(iter(feeds.values()))), passed=False, error=_one_line(error))
    result = compare_outputs(reference, got, _tolerances(loaded, export), _classifiers(loaded))
    if agreement:
        judge_top1(result, agreement)
    return row(
        len(next(iter(feeds.values()))), passed=result.passed,
        max_abs_err=result.worst("max_abs_err"), max_rel_err=result.worst("max_rel_err"),
        mean_abs_err=result.worst("mean_abs_err"), p99_abs_err=result.worst("p99_abs_err"),
        cosine=result.worst("cosine"), top1_agreement=_none_if_nan(result.worst("top1_agreement")),
        error="; ".join(result.errors) or None,
    )


def _agreement(loaded, export, runtime, references) -> dict:
    """Quantized classifiers: top-1 agreement with Keras over AGREEMENT_SAMPLES samples."""
    classifiers = _classifiers(loaded)
    if export.quantization == "none" or not classifiers or references.inputs is not None:
        return {}
    feeds, reference = references[(AGREEMENT_SAMPLES, 99)]
    got = runtime.infer(feeds)
    return {name: top1_agreement(reference[name], got[name]) for name in classifiers if name in got}


def _tolerances(loaded, export) -> dict:
    reference = loaded.reference
    overrides = reference.tolerances if reference else {}
    quantized = reference.quantized_tolerances if reference else {}
    return {name: tolerance_for(export.quantization, name, overrides, quantized) for name in loaded.signature.output_names}


def _classifiers(loaded) -> tuple:
    return loaded.reference.classifier_outputs if loaded.reference else ()


def _expected_failure(loaded, export) -> str | None:
    if loaded.reference is None:
        return None
    return loaded.reference.expected_failures.get((export.target, export.quantization))


def _none_if_nan(value):
    return None if value != value else value


def _one_line(error: Exception) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:400]}"


def check_parity(loaded, exports, variants, inputs=None, batches=BATCHES) -> list[ParityRow]:
    """Every export x every applicable runtime variant x batch, against one set of Keras references."""
    references = ReferenceOutputs(loaded, inputs)
    if inputs is not None:
        batches = (len(next(iter(inputs.values()))),)
        # The user's batch is both the feed and the only reference: key it under every batch.
        references[(batches[0], batches[0])] = (inputs, predict(loaded.model, loaded.signature, inputs))
    rows = []
    for export in exports:
        for variant in variants:
            if variant.target == export.target:
                rows.extend(check_artifact(loaded, export, variant, references, batches))
    return rows
