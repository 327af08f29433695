"""The cases of the parity matrix: reference model x target x quantization x runtime variant.

Expected failures come from the model registry and become strict xfails of the parity cases, so a
fixed converter bug shows up as an XPASS failure and the registry entry goes. Exports are never
expected to fail: every reference model exports to every target and quantization.
"""

import pytest

from models import REFERENCE_MODELS, reference_names
from toolkit.registry import exporters
from toolkit.runtimes.variants import RuntimeVariant, runtime_variants


def artifact_cases():
    """(model, target, quantization) for every export the toolkit offers."""
    return [
        (name, target, quantization)
        for name in reference_names("small")
        for target, entry in exporters().items()
        for quantization in entry.quantizations
    ]


def _marks(name, target, quantization, variant: RuntimeVariant):
    marks = []
    reason = REFERENCE_MODELS[name].expected_failures.get((target, quantization))
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    if variant.runtime_class.is_browser:
        marks.append(pytest.mark.browser)
    return marks


def export_params():
    return [pytest.param(name, target, quantization, id=f"{name}-{target}-{quantization}")
            for name, target, quantization in artifact_cases()]


def parity_params():
    return [
        pytest.param(name, target, quantization, variant,
                     id=f"{name}-{target}-{quantization}-{variant.label}",
                     marks=_marks(name, target, quantization, variant))
        for name, target, quantization in artifact_cases()
        for variant in runtime_variants()
        if variant.target == target
    ]
