"""Exact op rewrites applied before conversion, when a target's converter or runtime lacks an op.

`prepare_for_target` returns the model to convert (the original, or an
equivalent rebuilt one) and a description of every rewrite, which the manifest
records; parity later proves each rewrite exact.
"""

from __future__ import annotations


def prepare_for_target(loaded, target: str):
    """(LoadedModel to convert, [rewrite descriptions]) for `target`."""
    return loaded, []
