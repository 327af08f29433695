"""How well a quantized .tflite keeps the float model's answers, on samples kept apart from calibration.

Shared by the searching TFLite modes (`int8-selective`, `auto`). The judge is task-aware, with the
tasks parity uses (toolkit/model/tasks.py: declared with the `task` option, else the model's loss,
else the shape): classification outputs must keep the float model's top-1 class on at least
`min_top1` of the judging samples; a model without one must keep an SQNR of at least 20 dB on every
output instead (quantization noise 100 times below the signal's power).
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from exporters.calibration import representative_batches
from exporters.details import ExportDetails
from toolkit.errors import UsageError
from toolkit.metrics import sqnr_db, top1_agreement
from toolkit.model.loading import LoadedModel
from toolkit.model.tasks import output_tasks, parse_tasks
from toolkit.tf_env import native_output_silenced

Feed = dict[str, np.ndarray]
DEFAULT_MIN_TOP1 = 0.99
MIN_SQNR_DB = 20.0  # the budget of models without a classifier output
HELD_OUT_SAMPLES = 64  # reference models: this many of their own samples, apart from the 32 calibration ones
HELD_OUT_SEED = 5000  # calibration uses seeds 1000..1031 (exporters/calibration.py)


@dataclass(frozen=True)
class Samples:
    calibration: list[Feed]
    judging: list[Feed]  # the samples candidates are judged on
    source: str  # what the judging samples are, for the manifest


def calibration_and_judging(loaded: LoadedModel, options: dict) -> Samples:
    """Calibration feeds (the same as `int8` uses) and the samples to judge candidates on.

    A user's --calibration set is split: the last quarter is never calibrated on, and candidates are judged
    on every sample. Judged on the held-out quarter alone (32 of 128), agreement moves in steps of 3%, so
    a 0.99 budget meant 32 of 32: EfficientNetB0's search stopped there and kept 0.984 on 256 new images.
    Calibration fits activation ranges, not answers, so agreement on the calibrated samples is no easier
    to keep than on new ones; every sample counts for the resolution."""
    batches = representative_batches(loaded, options)
    if not options.get("calibration") and loaded.reference is not None:
        held = [loaded.reference.sample_inputs(loaded.signature.inputs, 1, seed=HELD_OUT_SEED + i)
                for i in range(HELD_OUT_SAMPLES)]
        return Samples(batches, held, f"{HELD_OUT_SAMPLES} reference samples apart from the {len(batches)} calibration samples")
    if len(batches) < 2:
        return Samples(batches, batches, "the only calibration sample")
    kept = max(1, len(batches) // 4)
    return Samples(batches[:-kept], batches, f"all {len(batches)} --calibration samples (the last {kept} never calibrated on)")


@dataclass(frozen=True)
class Budget:
    tasks: Mapping[str, str]  # output name -> classification | regression | embedding
    min_top1: float = DEFAULT_MIN_TOP1
    min_sqnr_db: float = MIN_SQNR_DB


def budget_from(options: dict, loaded: LoadedModel) -> Budget:
    """The budget of an export: the `min_top1` option (a share in (0, 1]) or the default, and the outputs'
    tasks (the `task` option, as parity's --task, else detected the way parity detects them)."""
    wanted = options.get("min_top1")
    min_top1 = DEFAULT_MIN_TOP1 if wanted is None else float(wanted)
    if not 0.0 < min_top1 <= 1.0:
        raise UsageError(f"min_top1 {wanted!r} is not a share of samples in (0, 1] (default {DEFAULT_MIN_TOP1})")
    return Budget(output_tasks(loaded, parse_tasks(options.get("task"))), min_top1=min_top1)


@dataclass(frozen=True)
class Measurement:
    metric: str  # "top1_agreement" (classifiers) or "min_sqnr_db" (every output)
    value: float
    passed: bool

    def to_json(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v) for k, v in asdict(self).items()}


def run_tflite(flatbuffer: bytes, feeds: Sequence[Feed]) -> dict[str, np.ndarray]:
    """Every output by name, the samples concatenated along the batch axis (LiteRT, one sample per call)."""
    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings(), native_output_silenced():
        warnings.simplefilter("ignore")  # the deprecation warning of every Interpreter
        runner = Interpreter(model_content=bytes(flatbuffer)).get_signature_runner("serving_default")
        results = [runner(**feed) for feed in feeds]
    return {name: np.concatenate([np.asarray(r[name]) for r in results]) for name in results[0]}


def measure(reference: dict[str, np.ndarray], got: dict[str, np.ndarray], budget: Budget) -> Measurement:
    """Worst top-1 agreement over classification outputs; without one, worst SQNR (dB) over every output."""
    classifiers = [name for name in reference if budget.tasks.get(name) == "classification"]
    if classifiers:
        agreement = min(top1_agreement(reference[n], got[n]) for n in classifiers)
        return Measurement("top1_agreement", agreement, agreement >= budget.min_top1)
    sqnr = min(sqnr_db(reference[n], got[n]) for n in reference)
    return Measurement("min_sqnr_db", sqnr, sqnr >= budget.min_sqnr_db)


@contextlib.contextmanager
def candidate_folder(staging: Path, quantization: str) -> Iterator[Path]:
    """A scratch folder beside the staging one, named after it, so a killed export's is swept with it."""
    with tempfile.TemporaryDirectory(prefix=f"{staging.name}.candidate-{quantization}.", dir=staging.parent) as folder:
        yield Path(folder)


@dataclass(frozen=True)
class TFLiteSteps:
    """exporters/tflite.py's export and check functions, handed to the searches it dispatches to."""

    convert: Callable[[LoadedModel, Path, str, dict], ExportDetails]  # export_tflite
    check: Callable[[Path, LoadedModel], None]  # check_tflite: the written file runs in LiteRT

    def converted(self, loaded: LoadedModel, staging: Path, quantization: str, options: dict) -> bytes:
        """The .tflite bytes the plain TFLite exporter makes at `quantization` (checked to run in LiteRT)."""
        with candidate_folder(staging, quantization) as folder:
            details = self.convert(loaded, folder, quantization, options)
            return (folder / details.main_file).read_bytes()
