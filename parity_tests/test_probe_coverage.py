"""Every public keras.layers class has a probe row in benchmarks/probe_ops.py, or a reason why not.

Builds every probe model (no export): a Keras release that adds a layer, or a probe that stops
holding the layer it names, fails here instead of silently leaving docs/op_support.md incomplete.
"""

from __future__ import annotations

import functools

from benchmarks.probe_coverage import (
    EXCLUDED,
    probe_contents,
    probed_classes,
    public_layer_classes,
    unprobed_layers,
)
from benchmarks.probe_ops import PROBES


@functools.cache
def _contents() -> dict[str, dict[str, bool]]:
    return probe_contents(PROBES)


def _covered(nested: bool = True) -> dict[str, list[str]]:
    return probed_classes(_contents(), nested)


def test_every_public_layer_class_is_probed_or_excluded_with_a_reason():
    missing = unprobed_layers(_contents())
    assert not missing, f"keras.layers classes with neither a probe row nor an EXCLUDED reason: {missing}"


def test_exclusions_name_real_unprobed_classes():
    public = public_layer_classes()
    assert not [name for name in EXCLUDED if name not in public], "EXCLUDED names a class keras.layers no longer has"
    assert not [name for name in EXCLUDED if name in _covered(nested=False)], "a class is both probed and excluded"
    assert all(len(why.split()) >= 5 for why in EXCLUDED.values()), "each exclusion needs a reason"


def test_important_configurations_have_their_own_rows():
    """Masks, return_state, groups and each of 1D/2D/3D change what gets converted: each has a row."""
    wanted = ["Embedding(mask_zero) + LSTM", "Masking + LSTM", "LSTM (return_state)", "GRU (return_state)",
              "SimpleRNN (return_state)", "Conv1D (groups=2)", "Conv2D (groups=2)", "Conv3D (groups=2)",
              "MultiHeadAttention (causal mask)", "MultiHeadAttention (return_attention_scores)"]
    assert not [row for row in wanted if row not in PROBES]
    for kind in ("Cropping", "ZeroPadding", "UpSampling", "Conv", "MaxPooling", "GlobalAveragePooling"):
        assert all(f"{kind}{dims}D" in _covered() for dims in (1, 2, 3)), kind


def test_probe_names_can_be_passed_to_only():
    """probe_ops.py --only takes comma-separated names."""
    assert not [name for name in PROBES if "," in name]
