"""Name -> exporter and name -> runtime: tables only, filled by decorators when plugins are imported.

This module imports no plugin. `toolkit.plugins.load_plugins()` (which `toolkit.api` calls)
imports every module of `exporters/` and `toolkit/runtimes/`, whose decorators fill the tables.
Adding a target touches three places: an exporter module, a runtime module and a tolerance
entry in toolkit/parity/tolerances.py; parity_tests/test_coverage.py catches the one you forgot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExporterEntry:
    target: str
    quantizations: tuple[str, ...]  # first one is the default
    export: Callable  # (loaded, staging_dir, quantization, options) -> ExportDetails
    converter: str  # the package whose version goes into the manifest
    # Option name -> its default; options decide the artifact, so they are recorded in its manifest.
    options: Mapping[str, object] = field(default_factory=dict)
    # Option name -> the quantizations it affects (absent: every quantization of the target).
    option_scope: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Quantizations that need representative inputs: the `calibration` option, or a reference model's samples.
    needs_samples: tuple[str, ...] = ()
    # Quantizations made only when asked for by name: `--quantize all` leaves them out (searches that take minutes).
    on_request_only: tuple[str, ...] = ()

    def options_for(self, quantization: str) -> tuple[str, ...]:
        """Names of the options that change this target's artifact at `quantization`."""
        return tuple(n for n in self.options if quantization in self.option_scope.get(n, (quantization,)))


EXPORTERS: dict[str, ExporterEntry] = {}


def exporter(target: str, quantizations: tuple[str, ...] = ("none",), converter: str = "tensorflow",
             options: Mapping[str, object] | None = None,
             option_scope: Mapping[str, tuple[str, ...]] | None = None, needs_samples: tuple[str, ...] = (),
             on_request_only: tuple[str, ...] = ()) -> Callable:
    """Decorator registering an export function for `target`."""

    def register(function: Callable) -> Callable:
        EXPORTERS[target] = ExporterEntry(target, tuple(quantizations), function, converter,
                                          dict(options or {}), dict(option_scope or {}), tuple(needs_samples),
                                          tuple(on_request_only))
        return function

    return register


@dataclass(frozen=True)
class RuntimeEntry:
    name: str
    target: str  # the artifact format it runs
    factory: type  # the Runtime subclass: factory(artifact_dir, **options) -> Runtime


RUNTIMES: dict[str, RuntimeEntry] = {}


def runtime(name: str, target: str) -> Callable:
    """Class decorator registering a Runtime subclass under `name` for artifacts of `target`."""

    def register(cls: type) -> type:
        RUNTIMES[name] = RuntimeEntry(name, target, cls)
        cls.name = name
        cls.target = target
        return cls

    return register


# Target -> a check that a just-written artifact runs: (artifact folder) -> note for the manifest; it raises
# InferenceError when the runtime cannot execute it, RuntimeUnavailableError when it cannot start here.
VERIFIERS: dict[str, Callable[[Path], str]] = {}


def verifier(target: str) -> Callable:
    """Decorator registering how a runtime module checks, at export time, that an artifact of `target` runs."""

    def register(function: Callable[[Path], str]) -> Callable[[Path], str]:
        VERIFIERS[target] = function
        return function

    return register


def verifiers() -> dict[str, Callable[[Path], str]]:
    return VERIFIERS


def exporters() -> dict[str, ExporterEntry]:
    """The exporter table; empty means the plugins were never loaded, which is a programming error."""
    if not EXPORTERS:
        raise RuntimeError("no exporter is registered: call toolkit.plugins.load_plugins() first (toolkit.api does)")
    return EXPORTERS


def runtimes() -> dict[str, RuntimeEntry]:
    if not RUNTIMES:
        raise RuntimeError("no runtime is registered: call toolkit.plugins.load_plugins() first (toolkit.api does)")
    return RUNTIMES


def every_quantization(meant_by_all: bool = False) -> list[str]:
    """Every quantization mode some target offers, sorted; `meant_by_all`: without those made only on request."""
    return sorted({q for entry in exporters().values() for q in entry.quantizations
                   if not (meant_by_all and q in entry.on_request_only)})
