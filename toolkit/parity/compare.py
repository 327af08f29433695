"""Per-output error statistics and the parity verdict (the bounds are in toolkit/parity/tolerances.py).

Outputs are matched by name, then shape, then values (as Hugging Face optimum's
validation does); every problem is collected, not just the first. A
ParityResult is truthy when it passes, like Polygraphy's comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from toolkit.parity.tolerances import MIN_TOP1_AGREEMENT, Tolerance


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
    tolerance: Tolerance
    top1_agreement: float | None = None
    note: str = ""


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
        return {o.name: {"passed": o.passed, "max_abs_err": o.max_abs_err, "mean_abs_err": o.mean_abs_err,
                         "cosine": o.cosine, "top1_agreement": o.top1_agreement} for o in self.outputs}

    def worst(self, attribute: str) -> float:
        values = [getattr(o, attribute) for o in self.outputs if getattr(o, attribute) is not None]
        if not values:
            return float("nan")
        return min(values) if attribute in ("cosine", "top1_agreement") else max(values)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity; 0 when one side is all zeros (undefined) and NaN on overflow (huge outputs)."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.dot(a, b) / norms)


def top1_agreement(reference: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean(reference.argmax(axis=-1) == got.argmax(axis=-1)))


def output_stats(name: str, reference: np.ndarray, got: np.ndarray, tolerance: Tolerance,
                 classifier: bool = False) -> OutputStats:
    # NaN/Inf outputs are reported through `non_finite`; numpy's warnings about them add nothing.
    with np.errstate(invalid="ignore", over="ignore"):
        return _output_stats(name, reference, got, tolerance, classifier)


def _output_stats(name, reference, got, tolerance, classifier) -> OutputStats:
    reference = np.asarray(reference, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    non_finite = not np.all(np.isfinite(got))
    diff = np.abs(got - reference)
    rel = diff / np.maximum(np.abs(reference), 1e-12)
    within = diff <= tolerance.atol + tolerance.rtol * np.abs(reference)
    return OutputStats(
        name=name,
        passed=bool(np.all(within)) and not non_finite,
        max_abs_err=float(np.nanmax(diff)) if diff.size else 0.0,
        max_rel_err=float(np.nanmax(rel)) if rel.size else 0.0,
        mean_abs_err=float(np.nanmean(diff)) if diff.size else 0.0,
        p99_abs_err=float(np.nanpercentile(diff, 99)) if diff.size else 0.0,
        cosine=_cosine(np.nan_to_num(got), reference),
        non_finite=non_finite,
        tolerance=tolerance,
        top1_agreement=top1_agreement(reference, got) if classifier else None,
    )


def compare_outputs(reference: dict, got: dict, tolerances: dict, classifiers: Sequence[str] = ()) -> ParityResult:
    """Compare by name, then count, then shape, then value. `tolerances`: output name -> Tolerance.

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
        stats = output_stats(name, ref, out, tolerances[name], classifier=name in classifiers)
        result.outputs.append(stats)
        if stats.non_finite:
            result.errors.append(f"output '{name}' contains NaN or Inf")
        elif not stats.passed:
            t = stats.tolerance
            result.errors.append(
                f"output '{name}' max abs error {stats.max_abs_err:.3g} exceeds atol {t.atol:g} + rtol {t.rtol:g}*|ref|"
            )
    return result


def judge_top1(result: ParityResult, agreement: dict[str, float], minimum: float = MIN_TOP1_AGREEMENT) -> None:
    """Quantized classifiers: record top-1 agreement on a sample set and fail below `minimum`."""
    for stats in result.outputs:
        if stats.name in agreement:
            stats.top1_agreement = agreement[stats.name]
            if agreement[stats.name] < minimum:
                stats.passed = False
                result.errors.append(f"output '{stats.name}' top-1 agreement {agreement[stats.name]:.2f} < {minimum}")
