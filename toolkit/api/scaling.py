"""Several models at once (`--model a,b`, `--models DIR/`), serially or spread out (`--jobs N`, `--ray`).

With one job and no Ray, the models run one after the other in this process (one TensorFlow import):
exactly `export` / `check_parity` per model. Otherwise this process imports no TensorFlow: it plans the
units, toolkit/scale/ runs them in workers, and the rows come back in the serial order.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.api.checking import _require_runtime_for_each_target, check_parity
from toolkit.api.common import DEFAULT_OUT, InputRange, ModelRef, OnStart, _nothing_skipped_only, _ready
from toolkit.api.exporting import export
from toolkit.errors import RuntimeUnavailableError, UsageError
from toolkit.scale.run import Callbacks, Scale

if TYPE_CHECKING:
    from toolkit.export.run import ExportResult
    from toolkit.parity.judgement import VerdictSettings
    from toolkit.parity.run import ParityRow

SERIAL = Scale()
# `--jobs auto`: a worker per 2 cores (each runs TensorFlow's threads beside a Node server, Chromium or
# qemu) and per 4 GiB of memory (docs/scaling.md); 1 on a machine smaller than 4 cores.
CORES_PER_JOB = 2
MEMORY_PER_JOB = 4 * 2**30


def auto_jobs() -> int:
    cores = os.cpu_count() or 1
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, min(cores // CORES_PER_JOB if cores >= 4 else 1, memory // MEMORY_PER_JOB))


def models_in(folder: Path) -> list[str]:
    """Every .keras file directly in `folder`, by name; a UsageError when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"--models {folder} is not a folder; pass a folder of .keras files (or use --model)")
    found = sorted(str(path) for path in folder.glob("*.keras") if path.is_file())
    if not found:
        raise UsageError(f"--models {folder} holds no .keras file; save your models there with model.save('NAME.keras')")
    return found


def _absolute(path: Path | str | None) -> str | None:
    return str(Path(path).resolve()) if path is not None else None


def _spec(model: ModelRef) -> str:
    """A worker's --model: reference names as they are, files as absolute paths (workers may start elsewhere)."""
    text = model.spec if hasattr(model, "spec") else str(model)  # a LoadedModel: how it was named
    return _absolute(text) if text.endswith(".keras") or Path(text).exists() else text


def unit_request(out_dir: Path, *, force: bool = False, options: dict | None = None,
                 custom_objects: Path | None = None, unsafe: bool = False, input_range: InputRange | None = None,
                 runtimes: Sequence[str] | None = None, inputs: Path | None = None,
                 verdict: VerdictSettings | None = None) -> dict:
    """What every unit of a run shares, as JSON (toolkit/scale/perform.py reads it); the parity keys are
    unused by export units."""
    options = {name: _absolute(value) if name == "calibration" else value for name, value in (options or {}).items()}
    return {"out_dir": _absolute(out_dir), "force": force, "options": options, "unsafe": unsafe,
            "custom_objects": _absolute(custom_objects), "input_range": list(input_range) if input_range else None,
            "runtimes": list(runtimes) if runtimes else None, "inputs": _absolute(inputs),
            "verdict": dataclasses.asdict(verdict) if verdict else None}


def _perform() -> Callable[[dict], dict]:
    from toolkit.scale.worker import perform_unit

    return perform_unit


def export_models(models: Sequence[ModelRef], targets: Sequence[str] = ("saved_model",),
                  quantizations: Sequence[str] | None = None, out_dir: Path = DEFAULT_OUT, *, scale: Scale = SERIAL,
                  custom_objects: Path | None = None, unsafe: bool = False, input_range: InputRange | None = None,
                  force: bool = False, options: dict | None = None, on_start: OnStart | None = None) -> list[ExportResult]:
    """`export` of every model, in model order; with `scale.parallel`, units run in workers or on Ray."""
    if not scale.parallel:
        return [result for model in models for result in export(
            model, targets, quantizations, out_dir, custom_objects=custom_objects, unsafe=unsafe,
            input_range=input_range, force=force, options=options, on_start=on_start)]
    _ready()
    from toolkit.export.layout import plan_exports
    from toolkit.scale.run import run_units

    pairs = plan_exports(targets, quantizations)
    request = unit_request(out_dir, force=force, options=options, custom_objects=custom_objects, unsafe=unsafe,
                           input_range=input_range)
    callbacks = Callbacks(on_dispatch=lambda unit, pid: on_start and on_start(unit["target"], unit["quantization"]))
    exports, _ = run_units([_spec(m) for m in models], pairs, "export", request, scale, _perform(), lambda t: [],
                           callbacks)
    return _nothing_skipped_only(exports)


def check_parity_models(models: Sequence[ModelRef], targets: Sequence[str] = ("all",),
                        quantizations: Sequence[str] = ("all",), runtimes: Sequence[str] | None = None,
                        out_dir: Path = DEFAULT_OUT, *, scale: Scale = SERIAL, inputs: Path | None = None,
                        custom_objects: Path | None = None, unsafe: bool = False, force: bool = False,
                        input_range: InputRange | None = None, options: dict | None = None,
                        on_start: OnStart | None = None, on_row: Callable[[ParityRow], None] | None = None,
                        verdict: VerdictSettings | None = None,
                        on_total: Callable[[int], None] | None = None) -> list[ParityRow]:
    """`check_parity` of every model: the same rows in the same order, however the work is spread."""
    if not scale.parallel:
        return [row for model in models for row in check_parity(
            model, targets, quantizations, runtimes, out_dir, inputs=inputs, custom_objects=custom_objects,
            unsafe=unsafe, force=force, input_range=input_range, options=options, on_start=on_start, on_row=on_row,
            verdict=verdict, on_total=on_total)]
    _ready()
    from toolkit.export.layout import plan_exports
    from toolkit.runtimes.variants import runtime_variants
    from toolkit.scale.run import run_units

    pairs = plan_exports(targets, quantizations)
    variants = runtime_variants(runtimes)
    _require_runtime_for_each_target(pairs, variants, runtimes)
    request = unit_request(out_dir, force=force, options=options, custom_objects=custom_objects, unsafe=unsafe,
                           input_range=input_range, runtimes=runtimes, inputs=inputs, verdict=verdict)
    callbacks = Callbacks(on_dispatch=lambda unit, pid: on_start and on_start(unit["target"], unit["quantization"]),
                          on_total=on_total, on_row=on_row)
    exports, rows = run_units([_spec(m) for m in models], pairs, "parity", request, scale, _perform(),
                              lambda target: [v.label for v in variants if v.target == target], callbacks)
    _nothing_skipped_only(exports)
    if rows and all(row.unavailable for row in rows):
        raise RuntimeUnavailableError(f"nothing was compared: {rows[0].error}")
    return rows
