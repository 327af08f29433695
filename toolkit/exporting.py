"""Plan and run exports: DIR/<model>/<target>[-<quantization>]/ with a manifest, written atomically."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import ExportError, OutputLocationError, ToolkitError, UsageError
from toolkit.files import atomic_directory, sweep_stale_temporaries
from toolkit.golden import write_golden
from toolkit.manifest import (
    build_manifest,
    exporter_code_fingerprint,
    manifest_problems,
    read_manifest,
    write_manifest,
)
from toolkit.registry import load_exporters


@dataclass
class ExportResult:
    model: str
    target: str
    quantization: str
    path: Path
    seconds: float = 0.0
    reused: bool = False  # an up-to-date artifact from the same source was already there
    error: str | None = None
    size_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def artifact_label(target: str, quantization: str) -> str:
    """How an artifact is named everywhere: its folder, tables and reports ("tflite-int8", "onnx")."""
    return target if quantization == "none" else f"{target}-{quantization}"


def artifact_dir(out_dir: Path, model: str, target: str, quantization: str) -> Path:
    return Path(out_dir) / model / artifact_label(target, quantization)


def resolve_targets(target_arg: str | list[str]) -> list[str]:
    known = load_exporters()
    names = target_arg.split(",") if isinstance(target_arg, str) else list(target_arg)
    if "all" in names:
        return list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown target {', '.join(unknown)}; choose from {', '.join(known)} or all")
    return names


def plan_exports(targets: list[str], quantize: str | None) -> list[tuple[str, str]]:
    """(target, quantization) pairs; `quantize` None = each target's default, "all" = every mode."""
    known = load_exporters()
    every_mode = sorted({q for entry in known.values() for q in entry.quantizations})
    if quantize not in (None, "all") and quantize not in every_mode:
        raise UsageError(f"unknown quantization '{quantize}'; choose from {', '.join(every_mode)} or all")
    pairs = []
    for target in targets:
        modes = known[target].quantizations
        if quantize is None:
            pairs.append((target, modes[0]))
        elif quantize == "all":
            pairs.extend((target, mode) for mode in modes)
        elif quantize in modes:
            pairs.append((target, quantize))
    if not pairs:
        raise UsageError(
            f"--quantize {quantize} applies to none of {', '.join(targets)}; "
            + "; ".join(f"{t}: {', '.join(known[t].quantizations)}" for t in targets)
        )
    return pairs


def check_writable(out_dir: Path) -> None:
    """Fail before any work when `out_dir` cannot be created or written (a real write test: root ignores modes)."""
    out_dir = Path(out_dir)
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    hint = "pass --out to a folder you can write"
    if not probe.is_dir():
        raise OutputLocationError(f"cannot write to {out_dir}: {probe} is not a folder; {hint}")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as error:
        raise OutputLocationError(f"cannot write to {out_dir}: {error.strerror or error}; {hint}") from error


def is_up_to_date(folder: Path, loaded, options: dict) -> bool:
    """Same source model, options and exporter code: the artifact can be reused as it is."""
    manifest = read_manifest(folder)
    return bool(
        manifest
        and manifest["source_model"]["sha256"] == loaded.source_sha256
        and manifest.get("options") == options
        and manifest.get("exporter_code") == exporter_code_fingerprint()
        and not manifest_problems(folder, manifest)
    )


def export_model(loaded, pairs, out_dir: Path, *, force=False, refresh=False, options=None, on_start=None) -> list[ExportResult]:
    """Export `loaded` for every (target, quantization); failures are recorded, not raised.

    Up-to-date artifacts (same source hash and options) are reused. Others are
    overwritten only with `force` (user-facing `export`) or `refresh` (commands
    that manage their own artifacts: parity, bench, demo, run).
    """
    options = options or {}
    check_writable(out_dir)
    folders = {pair: artifact_dir(out_dir, loaded.name, *pair) for pair in pairs}
    blocked = [
        str(folder) for folder in folders.values()
        if folder.exists() and not (force or refresh) and not is_up_to_date(folder, loaded, options)
    ]
    if blocked:
        raise OutputLocationError(f"{', '.join(blocked)} already holds an artifact of a different source model or options; pass --force to overwrite")
    sweep_stale_temporaries(Path(out_dir) / loaded.name)
    results = []
    for (target, quantization), folder in folders.items():
        if on_start:
            on_start(target, quantization)
        results.append(_export_one(loaded, target, quantization, folder, force, options))
    return results


def _export_one(loaded, target, quantization, folder, force, options) -> ExportResult:
    result = ExportResult(loaded.name, target, quantization, folder)
    if not force and is_up_to_date(folder, loaded, options):
        result.reused = True
        result.size_bytes = _size(folder)
        return result
    entry = load_exporters()[target]
    started = time.perf_counter()
    try:
        with atomic_directory(folder) as staging:
            from exporters.rewrites import prepare_for_target

            convertible, rewrites = prepare_for_target(loaded, target)
            details = entry.export(convertible, staging, quantization, options)
            details.rewrites = rewrites + details.rewrites
            write_golden(staging, loaded)
            manifest = build_manifest(
                staging, loaded=loaded, target=target, quantization=quantization,
                converter=entry.converter, details=details, options=options,
            )
            write_manifest(staging, manifest)
    except ToolkitError as error:
        result.error = str(error)
    except Exception as error:  # a converter's own failure: keep going with the other targets
        result.error = f"{target} export failed: {type(error).__name__}: {' '.join(str(error).split())[:500]}"
    result.seconds = time.perf_counter() - started
    if result.ok:
        result.size_bytes = _size(folder)
    return result


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.name != "manifest.json")


def raise_for_failures(results: list[ExportResult]) -> None:
    failed = [r for r in results if not r.ok]
    if failed:
        raise ExportError("; ".join(f"{r.target}/{r.quantization}: {r.error}" for r in failed))
