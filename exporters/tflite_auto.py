"""`auto` TFLite: the smallest quantized model that keeps the float model's answers, chosen by measurement.

Candidates are tried smallest first (int8 ~0.25-0.3x the float32 size, int8-selective about the
same, dynamic ~0.25-0.3x, fp16 ~0.5x) and judged on calibration samples (exporters/tflite_measure.py: the last quarter never calibrated on);
the smallest that meets the budget is written. When none does, the float32 model is written: it is
the only one known to keep the answers, and the manifest says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exporters.details import ExportDetails
from exporters.tflite_measure import (
    Budget,
    Measurement,
    Samples,
    TFLiteSteps,
    budget_from,
    calibration_and_judging,
    measure,
    run_tflite,
)
from exporters.tflite_selective import search_selective
from toolkit.errors import ToolkitError
from toolkit.model.loading import LoadedModel

CANDIDATES = ("int8", "int8-selective", "dynamic", "fp16")  # smallest expected size first


@dataclass
class Candidate:
    quantization: str
    flatbuffer: bytes | None
    measurement: Measurement | None
    error: str | None = None

    def to_json(self, float_size: int) -> dict:
        if self.flatbuffer is None:
            return {"quantization": self.quantization, "error": self.error}
        return {"quantization": self.quantization, "size_bytes": len(self.flatbuffer),
                "size_ratio": round(len(self.flatbuffer) / float_size, 4), **self.measurement.to_json()}


def export_auto(loaded: LoadedModel, staging: Path, options: dict, steps: TFLiteSteps) -> ExportDetails:
    """The exporter of `tflite-auto`: measure the candidates, write the smallest that meets the budget."""
    budget = budget_from(options, loaded)
    samples = calibration_and_judging(loaded, options)
    float_model = steps.converted(loaded, staging, "none", options)
    reference = run_tflite(float_model, samples.judging)
    tried: list[Candidate] = []
    for quantization in CANDIDATES:
        candidate = _candidate(quantization, loaded, staging, options, steps, float_model, samples, reference, budget)
        tried.append(candidate)
        if candidate.measurement is not None and candidate.measurement.passed:
            break
    chosen = _smallest_passing(tried)
    flatbuffer = chosen.flatbuffer if chosen else float_model
    (staging / "model.tflite").write_bytes(flatbuffer)
    steps.check(staging / "model.tflite", loaded)
    why = (f"the smallest candidate whose {chosen.measurement.metric} on the judged samples meets the budget" if chosen
           else "no quantized candidate meets the budget on the judged samples, so the float32 model is written")
    report = {
        "chosen": chosen.quantization if chosen else "none",
        "why": why,
        "budget": {"min_top1": budget.min_top1, "min_sqnr_db": budget.min_sqnr_db},
        "judged_on": samples.source,
        "float_size_bytes": len(float_model),
        "candidates": [c.to_json(len(float_model)) for c in tried],
    }
    note = f"auto chose {report['chosen']}: {why}; {len(flatbuffer) / len(float_model):.3f}x the float32 size"
    return ExportDetails(main_file="model.tflite", notes=[note], quantization_report=report)


def _candidate(quantization: str, loaded: LoadedModel, staging: Path, options: dict, steps: TFLiteSteps,
               float_model: bytes, samples: Samples, reference: dict, budget: Budget) -> Candidate:
    """One candidate made and measured; a candidate that cannot be made is recorded with its reason."""
    try:
        if quantization == "int8-selective":
            flatbuffer = search_selective(float_model, samples.calibration, samples.judging, budget).flatbuffer
        else:
            flatbuffer = steps.converted(loaded, staging, quantization, options)
    except ToolkitError as error:  # one candidate failing (unsupported op, quantizer limit) is recorded
        return Candidate(quantization, None, None, error=" ".join(str(error).split())[:300])
    return Candidate(quantization, flatbuffer, measure(reference, run_tflite(flatbuffer, samples.judging), budget))


def _smallest_passing(tried: list[Candidate]) -> Candidate | None:
    passing = [c for c in tried if c.measurement is not None and c.measurement.passed]
    return min(passing, key=lambda c: len(c.flatbuffer)) if passing else None
