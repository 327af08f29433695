"""Work units and their results as JSON: what crosses to a worker process or a Ray task and back.

A unit is a plain dict (JSON-able, so a local worker reads it from a pipe and Ray pickles nothing of
ours): {"index", "kind": "check"|"export"|"parity", "model", "target", "quantization", "request"}.
A worker answers with an envelope: {"result": ...}; {"error": {"type", "message"}}, a ToolkitError (bad
input: the whole run stops with it, as a serial run would); or {"lost": reason}, the unit's work is lost
(its worker died, or a bug): its rows become error rows saying why and the run goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from toolkit.export.layout import artifact_dir
from toolkit.export.run import ExportResult
from toolkit.parity.run import ParityRow


def model_name(spec: str) -> str:
    """The name artifacts are filed under, without loading the model: a reference name, or the file's stem
    (toolkit/model/loading.py names them so)."""
    return Path(spec).stem if spec.endswith(".keras") else spec


def check_units(models: Sequence[str], request: dict) -> list[dict]:
    return [{"index": i, "kind": "check", "model": m, "target": None, "quantization": None, "request": request}
            for i, m in enumerate(models)]


def work_units(models: Sequence[str], pairs: Sequence[tuple[str, str]], kind: str, request: dict) -> list[dict]:
    """One unit per model x (target, quantization), in the order a serial run visits them."""
    specs = [(m, t, q) for m in models for t, q in pairs]
    return [{"index": i, "kind": kind, "model": m, "target": t, "quantization": q, "request": request}
            for i, (m, t, q) in enumerate(specs)]


def affinity(unit: dict) -> tuple[str, ...]:
    """What a worker that ran a unit keeps warm for the next: the target's runtimes (a Node server, Chromium,
    LiteRT under qemu start in seconds) and the loaded model."""
    return (f"target:{unit['target']}", f"model:{unit['model']}")


def export_to_json(result: ExportResult) -> dict:
    return {**asdict(result), "path": str(result.path)}


def export_from_json(data: dict) -> ExportResult:
    return ExportResult(**{**data, "path": Path(data["path"])})


def row_from_json(data: dict) -> ParityRow:
    return ParityRow(**data)


def lost_export(unit: dict, reason: str) -> ExportResult:
    """The export of a unit whose worker died: an error, never a silent gap."""
    out = Path(unit["request"]["out_dir"])
    return ExportResult(model_name(unit["model"]), unit["target"], unit["quantization"],
                        artifact_dir(out, model_name(unit["model"]), unit["target"], unit["quantization"]),
                        error=reason)


def lost_rows(unit: dict, runtimes: Sequence[str], batches: Sequence[int], reason: str) -> list[ParityRow]:
    """The rows a parity unit would have made (every runtime x batch), each saying its worker died."""
    return [ParityRow(model=model_name(unit["model"]), target=unit["target"], quantization=unit["quantization"],
                      runtime=runtime, batch=batch, passed=False, error=reason, error_kind="worker")
            for runtime in runtimes for batch in batches]
