"""Run artifacts in their runtimes and compare with Keras: one ParityRow per artifact x runtime x batch."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toolkit.export.run import ExportResult
from toolkit.model.calling import predict
from toolkit.model.loading import LoadedModel
from toolkit.model.samples import describe_samples, sample_feeds
from toolkit.model.tasks import output_tasks
from toolkit.parity.compare import ParityResult, compare_outputs
from toolkit.parity.judgement import (
    OutputJudgement,
    VerdictSettings,
    apply_judgements,
    in_chunks,
    joined,
    judge,
    judgement_feeds,
)
from toolkit.parity.tolerances import DEFAULT_FLOAT32, Tolerance, budget_for, tolerance_for
from toolkit.rows import ResultRow
from toolkit.runtimes.base import Runtime
from toolkit.runtimes.variants import RuntimeVariant

BATCHES = (1, 4)
# Deadline of one inference in a runtime in another process (Node, Chromium): at least a minute, and
# this many times what Keras took for the same batch. TF.js's pure-JavaScript cpu backend is hundreds
# of times slower than TensorFlow on convolutions (ResNet50 at batch 4 needs more than a minute); the
# deadline exists to catch runtimes that hang, not slow ones.
MIN_TIMEOUT_S = 60.0
SLOWDOWN_ALLOWANCE = 1000.0


def inference_timeout(keras_seconds: float) -> float:
    return max(MIN_TIMEOUT_S, SLOWDOWN_ALLOWANCE * keras_seconds)


@dataclass(kw_only=True)
class ParityRow(ResultRow):
    passed: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    mean_abs_err: float | None = None
    p99_abs_err: float | None = None
    cosine: float | None = None
    sqnr_db: float | None = None
    top1_agreement: float | None = None
    top5_containment: float | None = None
    expected_failure: str | None = None  # registry reason: a documented, expected failure
    # Output name -> {passed, task, max_abs_err, mean_abs_err, cosine, sqnr_db, top1_agreement, top5_containment}.
    per_output: dict[str, dict] = field(default_factory=dict)
    inputs: str | None = None  # what the comparison was fed: "--inputs file (3 samples)", "x: uniform in [0, 255] ..."
    # Quantized artifacts: the sample set their verdict (and top-1, top-5, SQNR, cosine) comes from.
    judged_on: str | None = None


class ReferenceOutputs(dict):
    """(batch, seed) -> (feeds, Keras outputs), computed once per model; `seconds` keeps how long Keras took."""

    def __init__(self, loaded: LoadedModel, inputs: dict[str, np.ndarray] | None = None,
                 settings: VerdictSettings | None = None, calibration: Path | None = None):
        super().__init__()
        self.loaded = loaded
        self.inputs = inputs
        self.settings = settings or VerdictSettings()
        self.calibration = calibration
        self.tasks = output_tasks(loaded, self.settings.tasks)
        self.seconds: dict[tuple[int, int], float] = {}
        self.judgement_seconds = 0.0  # Keras's time for one chunk of the judgement set
        self._judgement_set: tuple[list[dict], list[dict], str] | None = None

    def judgement_set(self) -> tuple[list[dict], list[dict], str]:
        """(feeds in chunks, Keras outputs per chunk, description): the quantized verdicts' sample set, made once."""
        if self._judgement_set is None:
            feeds, described = judgement_feeds(self.loaded, self.inputs, self.calibration)
            chunks = in_chunks(feeds)
            started = time.perf_counter()
            outputs = [predict(self.loaded.model, self.loaded.signature, chunk) for chunk in chunks]
            self.judgement_seconds = (time.perf_counter() - started) / len(chunks)
            self._judgement_set = (chunks, outputs, described)
        return self._judgement_set

    def __missing__(self, key: tuple[int, int]) -> tuple[dict, dict]:
        batch, seed = key
        feeds = self.inputs if self.inputs is not None else sample_feeds(self.loaded, batch, seed)
        started = time.perf_counter()
        self[key] = (feeds, predict(self.loaded.model, self.loaded.signature, feeds))
        self.seconds[key] = time.perf_counter() - started
        return self[key]

    def timeout(self, key: tuple[int, int]) -> float:
        """The deadline of one runtime call on the feeds of `key`, scaled by what Keras took on them."""
        self[key]  # noqa: B018  (computes the reference, and its time, if missing)
        return inference_timeout(self.seconds.get(key, 0.0))


def check_artifact(loaded: LoadedModel, export: ExportResult, variant: RuntimeVariant, references: ReferenceOutputs,
                   batches: Sequence[int] = BATCHES) -> list[ParityRow]:
    """Parity rows of one exported artifact in one runtime variant; failures become rows, never raise."""
    reason = _expected_failure(loaded, export)

    def row(batch: int, **values: object) -> ParityRow:
        return ParityRow(model=loaded.name, target=export.target, quantization=export.quantization,
                         runtime=variant.label, batch=batch, expected_failure=reason, **values)

    if export.skipped:
        return [row(b, passed=False, error=f"not exported: {export.skipped}", error_kind="skipped") for b in batches]
    if not export.ok:
        return [row(b, passed=False, error=f"export failed: {export.error}", error_kind="export") for b in batches]
    try:
        runtime = variant.create(export.path).activate()
    except Exception as error:  # any runtime start failure is a row, so the rest of the matrix still runs
        return [_failed(row(b, passed=False), error) for b in batches]
    try:
        try:
            judgements = _judge_artifact(loaded, export, runtime, references)
        except Exception as error:  # the runtime failed on the judgement samples: every row says why
            return [_failed(row(b, passed=False), error) for b in batches]
        return [_compare_batch(loaded, export, runtime, references, batch, judgements, row) for batch in batches]
    finally:
        runtime.close()


def _failed(row: ParityRow, error: BaseException) -> ParityRow:
    row.record_failure(error)
    return row


def _compare_batch(loaded: LoadedModel, export: ExportResult, runtime: Runtime, references: ReferenceOutputs,
                   batch: int, judgements: dict[str, OutputJudgement] | None, row: Callable[..., ParityRow]) -> ParityRow:
    feeds, reference = references[(batch, batch)]
    size = len(next(iter(feeds.values())))
    try:
        with deadline(runtime, references.timeout((batch, batch))):
            got = runtime.infer(feeds)
    except Exception as error:  # a crashed or hung runtime is reported in its row
        return _failed(row(size, passed=False), error)
    result = compare_outputs(reference, got, _tolerances(loaded, export, references.tasks), references.tasks)
    if judgements is not None:
        apply_judgements(result, judgements)
    return row(size, passed=result.passed, **_statistics(result), per_output=result.per_output(),
               judged_on=references.judgement_set()[2] if judgements is not None else None,
               error="; ".join(result.errors) or None, error_kind=None if result.passed else "mismatch")


@contextlib.contextmanager
def deadline(runtime: Runtime, seconds: float) -> Iterator[None]:
    """Give `runtime` this deadline for the calls inside, unless its user chose one (timeout_s)."""
    chosen = runtime.timeout_s
    runtime.timeout_s = chosen if chosen is not None else seconds
    try:
        yield
    finally:
        runtime.timeout_s = chosen


def _statistics(result: ParityResult) -> dict:
    names = ("max_abs_err", "max_rel_err", "mean_abs_err", "p99_abs_err", "cosine", "sqnr_db", "top1_agreement",
             "top5_containment")
    worst = {name: result.worst(name) for name in names}
    # NaN: no output has this statistic (no classifier output for top-1, say).
    return {name: None if value != value else value for name, value in worst.items()}


def _judge_artifact(loaded: LoadedModel, export: ExportResult, runtime: Runtime,
                    references: ReferenceOutputs) -> dict[str, OutputJudgement] | None:
    """Quantized artifacts: each float output judged on the sample set; None for float32 artifacts."""
    if export.quantization == "none":
        return None
    chunks, expected, _ = references.judgement_set()
    got = []
    for chunk in chunks:
        with deadline(runtime, inference_timeout(references.judgement_seconds)):
            got.append(runtime.infer(chunk))
    settings = references.settings
    budget = budget_for(export.quantization, loaded.reference.quantized_budgets if loaded.reference else None,
                        settings.min_top1, settings.min_sqnr_db)
    return judge(joined(expected), joined(got), references.tasks, budget)


def _tolerances(loaded: LoadedModel, export: ExportResult, tasks: dict[str, str]) -> dict[str, Tolerance | None]:
    """Float32: every output's elementwise bound. Quantized: integer outputs only (exact); float ones are judged."""
    overrides = loaded.reference.tolerances if loaded.reference else {}
    if export.quantization == "none":
        return {name: tolerance_for(name, overrides) for name in loaded.signature.output_names}
    return {name: DEFAULT_FLOAT32 for name in loaded.signature.output_names if name not in tasks}


def _expected_failure(loaded: LoadedModel, export: ExportResult) -> str | None:
    if loaded.reference is None:
        return None
    return loaded.reference.expected_failures.get((export.target, export.quantization))


def check_parity(loaded: LoadedModel, exports: Sequence[ExportResult], variants: Sequence[RuntimeVariant],
                 inputs: dict[str, np.ndarray] | None = None, batches: Sequence[int] = BATCHES,
                 on_row: Callable[[ParityRow], None] | None = None, settings: VerdictSettings | None = None,
                 calibration: Path | None = None, references: ReferenceOutputs | None = None) -> list[ParityRow]:
    """Every export x every applicable runtime variant x batch, against one set of Keras references.

    Float32 artifacts are compared element by element on each batch; quantized ones are judged on a
    sample set (toolkit/parity/judgement.py: `inputs`, else `calibration`, else generated samples).
    `references`: ones computed for an earlier call with the same model, inputs, settings and calibration
    (a scale-out worker keeps them from one unit of a model to the next).
    """
    references = references if references is not None else ReferenceOutputs(loaded, inputs, settings, calibration)
    if inputs is not None:
        batches = (len(next(iter(inputs.values()))),)
        if (batches[0], batches[0]) not in references:
            # The user's batch is both the feed and the only reference: key it under every batch.
            references[(batches[0], batches[0])] = (inputs, predict(loaded.model, loaded.signature, inputs))
    used = f"--inputs file ({batches[0]} samples)" if inputs is not None else describe_samples(loaded)
    rows = []
    for export in exports:
        for variant in variants:
            if variant.target == export.target:
                for row in check_artifact(loaded, export, variant, references, batches):
                    row.inputs = used
                    rows.append(row)
                    if on_row:
                        on_row(row)
    return rows
