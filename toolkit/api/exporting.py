"""`toolkit export`: one model to one or more targets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.api.common import (
    DEFAULT_OUT,
    InputRange,
    ModelRef,
    OnStart,
    _described_or_loaded,
    _nothing_skipped_only,
    _ready,
)

if TYPE_CHECKING:
    from toolkit.export.run import ExportResult


def export(model: ModelRef, targets: Sequence[str] = ("saved_model",), quantizations: Sequence[str] | None = None,
           out_dir: Path = DEFAULT_OUT, *, custom_objects: Path | None = None, unsafe: bool = False,
           input_range: InputRange | None = None, force: bool = False, options: dict | None = None,
           on_start: OnStart | None = None) -> list[ExportResult]:
    """Export `model` to each target (and quantization); returns one ExportResult per artifact.

    `quantizations` None means each target's default; existing artifacts follow
    toolkit.export.run's rule (reused, refreshed, or refused without `force`).
    """
    _ready()
    from toolkit.export.layout import plan_exports
    from toolkit.export.run import export_model
    from toolkit.model.tasks import output_tasks, parse_tasks

    pairs = plan_exports(targets, quantizations)  # validate before loading anything
    loaded = _described_or_loaded(model, custom_objects, unsafe, input_range)
    output_tasks(loaded, parse_tasks((options or {}).get("task")))  # a wrong `task` fails before any export
    return _nothing_skipped_only(export_model(loaded, pairs, Path(out_dir), force=force, options=options, on_start=on_start))

