"""Per-output error statistics and the parity verdict (the bounds are in toolkit/parity/tolerances.py).

Outputs are matched by name, then shape, then values (as Hugging Face optimum's
validation does); every problem is collected, not just the first. A
ParityResult is truthy when it passes, like Polygraphy's comparisons. Float32 artifacts
are judged here, element by element; quantized ones by toolkit/parity/judgement.py, whose
verdict `apply_judgements` writes into the result.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from toolkit.metrics import cosine, sqnr_db, top1_agreement, top5_containment
from toolkit.parity.tolerances import Tolerance


@dataclass
class OutputStats:
    name: str
    passed: bool
    max_abs_err: float
    max_rel_err: float
    mean_abs_err: float
    p99_abs_err: float
    cosine: float
    non_finite: bool  # NaN or Inf in the runtime's output
    tolerance: Tolerance | None  # None: a quantized artifact, judged by meaning instead
    sqnr_db: float | None = None
    task: str | None = None  # classification, regression or embedding (float outputs)
    top1_agreement: float | None = None  # classification outputs
    top5_containment: float | None = None  # share of samples whose Keras top-1 is in the artifact's top 5


@dataclass
class ParityResult:
    outputs: list[OutputStats] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # name/shape problems, NaN, failed bounds

    @property
    def passed(self) -> bool:
        return not self.errors and all(o.passed for o in self.outputs)

    def __bool__(self) -> bool:
        return self.passed

    def per_output(self) -> dict[str, dict]:
        """Output name -> its statistics and verdict: every output compared, by name."""
        return {o.name: {"passed": o.passed, "task": o.task, "max_abs_err": o.max_abs_err, "mean_abs_err": o.mean_abs_err,
                         "cosine": o.cosine, "sqnr_db": o.sqnr_db, "top1_agreement": o.top1_agreement,
                         "top5_containment": o.top5_containment} for o in self.outputs}

    def worst(self, attribute: str) -> float:
        values = [getattr(o, attribute) for o in self.outputs if getattr(o, attribute) is not None]
        if not values:
            return float("nan")
        return min(values) if attribute in HIGHER_IS_BETTER else max(values)


HIGHER_IS_BETTER = ("cosine", "sqnr_db", "top1_agreement", "top5_containment")


def output_stats(name: str, reference: np.ndarray, got: np.ndarray, tolerance: Tolerance | None,
                 task: str | None = None) -> OutputStats:
    """Every statistic of one output; `passed` applies `tolerance` (None: no elementwise rule, NaN/Inf only)."""
    # NaN/Inf outputs are reported through `non_finite`; numpy's warnings about them add nothing.
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice", "Mean of empty slice"
        return _output_stats(name, reference, got, tolerance, task)


def _output_stats(name, reference, got, tolerance, task) -> OutputStats:
    reference = np.asarray(reference, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    non_finite = not np.all(np.isfinite(got))
    diff = np.abs(got - reference)
    rel = diff / np.maximum(np.abs(reference), 1e-12)
    within = diff <= tolerance.atol + tolerance.rtol * np.abs(reference) if tolerance else True
    classification = task == "classification" and reference.ndim >= 1 and reference.size > 0
    return OutputStats(
        name=name,
        passed=bool(np.all(within)) and not non_finite,
        max_abs_err=float(np.nanmax(diff)) if diff.size else 0.0,
        max_rel_err=float(np.nanmax(rel)) if rel.size else 0.0,
        mean_abs_err=float(np.nanmean(diff)) if diff.size else 0.0,
        p99_abs_err=float(np.nanpercentile(diff, 99)) if diff.size else 0.0,
        cosine=cosine(np.nan_to_num(got), reference),
        non_finite=non_finite,
        tolerance=tolerance,
        sqnr_db=sqnr_db(reference, np.nan_to_num(got)) if diff.size else None,
        task=task,
        top1_agreement=top1_agreement(reference, got) if classification else None,
        top5_containment=top5_containment(reference, np.nan_to_num(got)) if classification else None,
    )


def compare_outputs(reference: dict, got: dict, tolerances: dict | None, tasks: dict[str, str] | None = None) -> ParityResult:
    """Compare by name, then count, then shape, then value. `tolerances`: output name -> Tolerance
    (None, or None for an output: no elementwise rule; quantized artifacts are judged by `apply_judgements`); `tasks`: output -> task.

    An artifact that returns fewer or other outputs than Keras fails, whatever its values.
    """
    result = ParityResult()
    if len(got) != len(reference):
        result.errors.append(f"the runtime returned {len(got)} output(s), Keras has {len(reference)}")
    for name in reference.keys() - got.keys():
        result.errors.append(f"output '{name}' is missing (runtime returned {sorted(got)})")
    for name in got.keys() - reference.keys():
        result.errors.append(f"unexpected output '{name}' (expected {sorted(reference)})")
    for name in [n for n in reference if n in got]:
        ref, out = np.asarray(reference[name]), np.asarray(got[name])
        if ref.shape != out.shape:
            result.errors.append(f"output '{name}' has shape {out.shape}, expected {ref.shape}")
            continue
        if ref.dtype.kind in "OUS":  # a string output (e.g. StringLookup(invert=True)): exact match only
            if not np.array_equal(ref.astype(str), out.astype(str)):
                result.errors.append(f"string output '{name}' differs from Keras's")
            continue
        stats = output_stats(name, ref, out, (tolerances or {}).get(name), (tasks or {}).get(name))
        result.outputs.append(stats)
        if stats.non_finite:
            result.errors.append(f"output '{name}' contains NaN or Inf")
        elif not stats.passed:
            t = stats.tolerance
            result.errors.append(
                f"output '{name}' max abs error {stats.max_abs_err:.3g} exceeds atol {t.atol:g} + rtol {t.rtol:g}*|ref|"
            )
    return result
