"""The cases of the parity matrix: reference model x target x quantization x runtime variant.

Expected failures come from the model registry and become strict xfails, so a
fixed converter bug shows up as an XPASS failure and the registry entry goes.
"""

import pytest

from models import REFERENCE_MODELS
from toolkit.parity import runtime_variants
from toolkit.registry import load_exporters

BROWSER_RUNTIMES = {"tfjs-browser", "ort-web"}


def artifact_cases():
    """(model, target, quantization) for every export the toolkit offers."""
    return [
        (name, target, quantization)
        for name in REFERENCE_MODELS
        for target, entry in load_exporters().items()
        for quantization in entry.quantizations
    ]


def _marks(name, target, quantization, runtime=None):
    marks = []
    reason = REFERENCE_MODELS[name].expected_failures.get((target, quantization))
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    if runtime in BROWSER_RUNTIMES:
        marks.append(pytest.mark.browser)
    return marks


def export_params():
    return [
        pytest.param(name, target, quantization, id=f"{name}-{target}-{quantization}",
                     marks=_marks(name, target, quantization))
        for name, target, quantization in artifact_cases()
    ]


def parity_params():
    return [
        pytest.param(name, target, quantization, variant,
                     id=f"{name}-{target}-{quantization}-{variant.label}",
                     marks=_marks(name, target, quantization, variant.runtime))
        for name, target, quantization in artifact_cases()
        for variant in runtime_variants()
        if variant.target == target
    ]
