"""Quantized artifacts judged by what each output means, on a sample set rather than 4 golden rows.

A classification output (several classes on the last axis: logits or probabilities) passes when
the artifact picks Keras's class often enough (top-1 agreement); any other output (regression,
embedding) when its signal-to-quantization-noise ratio is high enough. Budgets are in
toolkit/parity/tolerances.py. The sample set is the user's `--inputs`, else the calibration set,
else JUDGEMENT_SAMPLES generated inputs in the model's declared range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toolkit.metrics import cosine, sqnr_db, top1_agreement, top5_containment
from toolkit.model.loading import LoadedModel
from toolkit.model.samples import describe_samples, sample_feeds
from toolkit.parity.compare import ParityResult
from toolkit.parity.tolerances import QuantizedBudget

# 128 samples resolve agreement in steps of 0.8%: a 0.99 budget tolerates 1 changed answer, 0.97 three.
JUDGEMENT_SAMPLES = 128
JUDGEMENT_SEED = 99
CHUNK = 32  # samples per runtime call: bounded memory, and each call stays under its deadline


@dataclass(frozen=True)
class VerdictSettings:
    """What the user declared: tasks ("" = every output) and budgets overriding the defaults."""

    tasks: dict[str, str] = field(default_factory=dict)
    min_top1: float | None = None
    min_sqnr_db: float | None = None


@dataclass
class OutputJudgement:
    name: str
    task: str
    passed: bool
    top1_agreement: float | None
    top5_containment: float | None
    sqnr_db: float
    cosine: float
    failure: str | None = None


def judgement_feeds(loaded: LoadedModel, inputs: dict[str, np.ndarray] | None,
                    calibration: Path | None) -> tuple[dict[str, np.ndarray], str]:
    """The sample set quantized artifacts are judged on, and how it is described in reports."""
    if inputs is not None:
        return inputs, f"--inputs file ({_count(inputs)} samples)"
    if calibration is not None:
        from toolkit.model.inputs import load_inputs_file

        feeds = load_inputs_file(Path(calibration), loaded.signature, "--calibration")
        return feeds, f"--calibration set ({_count(feeds)} samples)"
    feeds = sample_feeds(loaded, JUDGEMENT_SAMPLES, JUDGEMENT_SEED)
    return feeds, f"{_count(feeds)} samples: {describe_samples(loaded)}"


def _count(feeds: dict[str, np.ndarray]) -> int:
    return len(next(iter(feeds.values())))


def in_chunks(feeds: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    count = _count(feeds)
    return [{name: value[start:start + CHUNK] for name, value in feeds.items()} for start in range(0, count, CHUNK)]


def joined(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def judge(reference: dict[str, np.ndarray], got: dict[str, np.ndarray], tasks: dict[str, str],
          budget: QuantizedBudget) -> dict[str, OutputJudgement]:
    """Output name -> its judgement under `budget` (outputs the runtime did not return are left out)."""
    judgements = {}
    for name, task in tasks.items():
        if name not in got or np.shape(got[name]) != np.shape(reference[name]):
            continue
        ref, out = np.asarray(reference[name], dtype=np.float64), np.asarray(got[name], dtype=np.float64)
        finite = bool(np.all(np.isfinite(out)))
        out = np.nan_to_num(out)
        judgements[name] = _judgement(name, task, ref, out, budget, finite)
    return judgements


def _judgement(name: str, task: str, ref: np.ndarray, out: np.ndarray, budget: QuantizedBudget,
               finite: bool) -> OutputJudgement:
    classification = task == "classification"
    top1 = top1_agreement(ref, out) if classification else None
    top5 = top5_containment(ref, out) if classification else None
    sqnr = sqnr_db(ref, out)
    if not finite:
        failure = f"output '{name}' contains NaN or Inf"
    elif classification and top1 < budget.min_top1:
        failure = f"output '{name}' top-1 agreement {top1:.3f} < {budget.min_top1:g} ({task})"
    elif not classification and sqnr < budget.min_sqnr_db:
        failure = f"output '{name}' SQNR {sqnr:.1f} dB < {budget.min_sqnr_db:g} dB ({task})"
    else:
        failure = None
    return OutputJudgement(name, task, failure is None, top1, top5, sqnr, cosine(ref, out), failure)


def apply_judgements(result: ParityResult, judgements: dict[str, OutputJudgement]) -> None:
    """A quantized artifact's verdict per output: its judgement on the sample set, not the batch's elements."""
    for stats in result.outputs:
        judged = judgements.get(stats.name)
        if judged is None:
            continue
        stats.task, stats.top1_agreement, stats.top5_containment = judged.task, judged.top1_agreement, judged.top5_containment
        stats.sqnr_db, stats.cosine = judged.sqnr_db, judged.cosine
        if not judged.passed:
            stats.passed = False
            if judged.failure not in result.errors:
                result.errors.append(judged.failure)
