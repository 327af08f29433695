"""Run exports: DIR/<model>/<target>[-<quantization>]/ with a manifest, written atomically.

What happens to an artifact folder that already exists is decided by `artifact_state`
(the same rule for `export`, `parity`, `bench`, `demo` and `run`):

- it holds this model's artifact, made with the options asked for, by this exporter code: reused;
- same model and options, older exporter code: exported again with the options it was made with;
- anything else (another source model, other explicit options, files changed or added since the
  export, no manifest at all): refused, naming the difference, unless `force`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import (
    ExportError,
    InferenceError,
    OutputLocationError,
    RuntimeUnavailableError,
    ToolkitError,
    one_line,
)
from toolkit.export import isolation
from toolkit.export.golden import write_golden
from toolkit.export.layout import artifact_dir, artifact_size
from toolkit.export.manifest import (
    build_manifest,
    exporter_code_fingerprint,
    manifest_problems,
    read_manifest,
    write_manifest,
)
from toolkit.export.options import converter_options, recorded_options, requested_options, same_option
from toolkit.files import artifact_lock, atomic_directory, sweep_stale_temporaries
from toolkit.labels import artifact_label
from toolkit.model.loading import LoadedModel
from toolkit.registry import ExporterEntry, exporters, verifiers


@dataclass
class ExportResult:
    model: str
    target: str
    quantization: str
    path: Path
    seconds: float = 0.0
    reused: bool = False  # an up-to-date artifact from the same source was already there
    error: str | None = None
    size_bytes: int = 0  # what would be deployed (toolkit.export.layout.artifact_size)
    note: str = ""  # why it was exported again, for example
    skipped: str | None = None  # why it was not made (an int8 artifact of a user model without --calibration)

    @property
    def ok(self) -> bool:
        """The artifact is there, complete and current."""
        return self.error is None and self.skipped is None

    @property
    def label(self) -> str:
        return artifact_label(self.target, self.quantization)


@dataclass(frozen=True)
class ArtifactState:
    """What is in an artifact folder now, against what a request asks for."""

    action: str  # "export" (missing), "reuse", "refresh" (older exporter code), "conflict"
    options: dict  # the options to export with (refresh: those the artifact was made with)
    reason: str = ""


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


def artifact_state(folder: Path, loaded: LoadedModel, entry: ExporterEntry, quantization: str, given: dict) -> ArtifactState:
    """Reuse, refresh, export or conflict for one folder; `given` holds only the options the user passed."""
    wanted = recorded_options(entry, quantization, given)
    if not folder.exists():
        return ArtifactState("export", wanted)
    manifest = read_manifest(folder)
    if manifest is None:
        return ArtifactState("conflict", wanted, "is not an artifact of this toolkit (no readable manifest.json)")
    if manifest.get("source_model", {}).get("sha256") != loaded.source_sha256:
        return ArtifactState("conflict", wanted, f"was exported from another source model ({manifest['source_model'].get('path')})")
    problems = manifest_problems(folder, manifest)
    if problems:
        return ArtifactState("conflict", wanted, f"was changed since its export ({'; '.join(problems[:3])})")
    made_with = manifest.get("options") or {}
    different = {k: v for k, v in wanted.items() if k in given and not same_option(made_with.get(k), v)}
    if different:
        shown = ", ".join(f"{k} {made_with.get(k)!r} (asked: {v!r})" for k, v in different.items())
        return ArtifactState("conflict", wanted, f"was made with other options: {shown}")
    kept = {**wanted, **{k: v for k, v in made_with.items() if k not in given}}
    if manifest.get("exporter_code") != exporter_code_fingerprint():
        return ArtifactState("refresh", kept, "re-exported: the toolkit's exporter code changed since")
    return ArtifactState("reuse", kept)


def export_model(loaded: LoadedModel, pairs: Sequence[tuple[str, str]], out_dir: Path, *, force: bool = False,
                 replace_conflicts: bool = False, options: dict | None = None,
                 on_start: Callable[[str, str], None] | None = None) -> list[ExportResult]:
    """Export `loaded` for every (target, quantization); converter failures are recorded, not raised.

    Conflicting folders (see the module docstring) raise OutputLocationError before anything is
    written, unless `force` (re-export everything) or `replace_conflicts` (the test suite's cache).
    """
    given, folders = check_exports(loaded, pairs, out_dir, force=force or replace_conflicts, options=options)
    results = []
    for (target, quantization), folder in folders.items():
        if on_start:
            on_start(target, quantization)
        results.append(_produce(loaded, target, quantization, folder, given, force or replace_conflicts, force))
    return results


def check_exports(loaded: LoadedModel, pairs: Sequence[tuple[str, str]], out_dir: Path, *, force: bool = False,
                  options: dict | None = None) -> tuple[dict, dict[tuple[str, str], Path]]:
    """(the options asked for, each pair's folder), after checking that every artifact can be written: an
    unwritable `out_dir`, bad options or (without `force`) a conflicting folder raise before anything is."""
    given = requested_options(exporters(), pairs, options or {}, loaded.signature)
    check_writable(out_dir)
    folders = {pair: artifact_dir(out_dir, loaded.name, *pair) for pair in pairs}
    states = {pair: artifact_state(folder, loaded, exporters()[pair[0]], pair[1], given) for pair, folder in folders.items()}
    conflicts = {pair: state.reason for pair, state in states.items() if state.action == "conflict"}
    if conflicts and not force:
        raise OutputLocationError(f"{_conflict_text(Path(out_dir) / loaded.name, conflicts)}; pass --force to overwrite, "
                                  "or choose another --out")
    return given, folders


def _produce(loaded: LoadedModel, target: str, quantization: str, folder: Path, given: dict,
             overwrite: bool, force: bool) -> ExportResult:
    """One artifact, decided and written under its lock: a concurrent writer of the same folder waits, then
    finds it up to date; the temporaries of a killed writer are swept first."""
    entry = exporters()[target]
    with artifact_lock(folder):
        sweep_stale_temporaries(folder)
        state = artifact_state(folder, loaded, entry, quantization, given)  # again: another writer may have been here
        if state.action == "conflict" and not overwrite:
            return ExportResult(loaded.name, target, quantization, folder,
                                error=f"{folder} {state.reason}; pass --force to overwrite, or choose another --out")
        if state.action == "reuse" and not force:
            return ExportResult(loaded.name, target, quantization, folder, reused=True, size_bytes=artifact_size(folder))
        if _lacks_samples(loaded, entry, quantization, state.options):
            return ExportResult(loaded.name, target, quantization, folder, skipped=(
                f"{quantization} quantization needs representative inputs of {loaded.name}: pass --calibration FILE.npz "
                "(keys = input names)"))
        result = _export_one(loaded, target, quantization, folder, state.options)
        result.note = state.reason if state.action == "refresh" else ""
        return result


def _export_one(loaded: LoadedModel, target: str, quantization: str, folder: Path, options: dict) -> ExportResult:
    """In a child process for a large model (toolkit/export/isolation.py), else here."""
    if loaded.model is None or isolation.wanted_for(loaded.path):
        fields = isolation.export_in_child(loaded, target, quantization, folder, options)
        return ExportResult(**{"model": loaded.name, "target": target, "quantization": quantization, "path": folder,
                               **fields})
    return export_here(loaded, target, quantization, folder, options)


def _lacks_samples(loaded: LoadedModel, entry: ExporterEntry, quantization: str, options: dict) -> bool:
    """A quantization that calibrates on samples, for a model with none of its own and no --calibration."""
    return quantization in entry.needs_samples and loaded.reference is None and not options.get("calibration")


def _conflict_text(model_dir: Path, conflicts: dict[tuple[str, str], str]) -> str:
    """One clause per distinct reason: "DIR/{tflite, onnx} was exported from another source model (...)"."""
    by_reason: dict[str, list[str]] = {}
    for pair, reason in conflicts.items():
        by_reason.setdefault(reason, []).append(artifact_label(*pair))
    return "; ".join(f"{model_dir}/{labels[0] if len(labels) == 1 else '{' + ', '.join(labels) + '}'} {reason}"
                     for reason, labels in by_reason.items())


def export_here(loaded: LoadedModel, target: str, quantization: str, folder: Path, options: dict) -> ExportResult:
    """Convert, verify and publish one artifact in this process (the caller holds the artifact's lock)."""
    result = ExportResult(loaded.name, target, quantization, folder)
    entry = exporters()[target]
    started = time.perf_counter()
    try:
        with atomic_directory(folder) as staging:
            from exporters.rewrites import prepare_for_target

            convertible, rewrites = prepare_for_target(loaded, target)
            details = entry.export(convertible, staging, quantization, converter_options(options))
            details.rewrites = rewrites + details.rewrites
            write_golden(staging, loaded)
            manifest = build_manifest(
                staging, loaded=loaded, target=target, quantization=quantization,
                converter=entry.converter, details=details, options=options,
            )
            write_manifest(staging, manifest)
            manifest["notes"].append(_verify(target, staging))
            write_manifest(staging, manifest)
    except ToolkitError as error:
        result.error = str(error)
    except Exception as error:  # a converter's own failure: keep going with the other targets
        result.error = f"{target} export failed: {one_line(error, 500)}"
    result.seconds = time.perf_counter() - started
    if result.ok:
        result.size_bytes = artifact_size(folder)
    return result


def _verify(target: str, staging: Path) -> str:
    """Run the artifact once in its runtime before calling it exported; an artifact no runtime can execute is
    an export failure. Where the runtime cannot start here (no Node), the manifest says it was not run."""
    check = verifiers().get(target)
    if check is None:
        return "not run at export (no export-time check for this target; the exporter checked what it could)"
    try:
        return check(staging)
    except RuntimeUnavailableError as error:
        return f"not run at export: {error}"
    except InferenceError as error:
        raise ExportError(f"{target}: the converted artifact does not run: {error}") from error


def raise_for_failures(results: list[ExportResult]) -> None:
    failed = [r for r in results if not r.ok]
    if failed:
        raise ExportError("; ".join(f"{r.label}: {r.error or r.skipped}" for r in failed))
