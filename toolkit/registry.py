"""Name -> exporter and name -> runtime tables, filled by decorators at import time.

Adding a target touches three places: an exporter module (registered here), a
runtime module (registered here) and a tolerance entry in toolkit/compare.py;
parity_tests/test_coverage.py catches the one you forgot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ExporterEntry:
    target: str
    quantizations: tuple[str, ...]  # first one is the default
    export: Callable  # (loaded, staging_dir, quantization, options) -> ExportDetails
    converter: str  # the package whose version goes into the manifest


EXPORTERS: dict[str, ExporterEntry] = {}


def exporter(target: str, quantizations=("none",), converter: str = "tensorflow"):
    def register(function):
        EXPORTERS[target] = ExporterEntry(target, tuple(quantizations), function, converter)
        return function

    return register


def load_exporters() -> dict[str, ExporterEntry]:
    import exporters  # noqa: F401  (registration side effect)

    return EXPORTERS


@dataclass(frozen=True)
class RuntimeEntry:
    name: str
    target: str  # the artifact format it runs
    factory: Callable  # (artifact_dir, **options) -> Runtime


RUNTIMES: dict[str, RuntimeEntry] = {}


def runtime(name: str, target: str):
    def register(cls):
        RUNTIMES[name] = RuntimeEntry(name, target, cls)
        cls.name = name
        return cls

    return register


def load_runtimes() -> dict[str, RuntimeEntry]:
    import toolkit.runtimes  # noqa: F401  (registration side effect)

    return RUNTIMES
