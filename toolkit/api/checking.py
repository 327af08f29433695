"""`toolkit parity`: export what is missing, run every applicable runtime, compare with Keras."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.api.common import DEFAULT_OUT, InputRange, ModelRef, OnStart, _nothing_skipped_only, _ready, load
from toolkit.errors import RuntimeUnavailableError, UsageError

if TYPE_CHECKING:
    from toolkit.parity.judgement import VerdictSettings
    from toolkit.parity.run import ParityRow


def check_parity(model: ModelRef, targets: Sequence[str] = ("all",), quantizations: Sequence[str] = ("all",),
                 runtimes: Sequence[str] | None = None, out_dir: Path = DEFAULT_OUT, *, inputs: Path | None = None,
                 custom_objects: Path | None = None, unsafe: bool = False, force: bool = False,
                 input_range: InputRange | None = None, options: dict | None = None, on_start: OnStart | None = None,
                 on_row: Callable[[ParityRow], None] | None = None,
                 verdict: VerdictSettings | None = None, on_total: Callable[[int], None] | None = None) -> list[ParityRow]:
    """Export what is missing (existing artifacts are used as they are), then run every applicable runtime.

    `verdict`: declared output tasks and budgets for quantized artifacts (defaults: toolkit/parity/tolerances.py).
    `on_total(n)`: the number of rows `on_row` will see, once known (for a progress bar).
    """
    _ready()
    from toolkit.export.layout import plan_exports
    from toolkit.export.run import export_model
    from toolkit.model.inputs import load_inputs_file
    from toolkit.model.tasks import output_tasks
    from toolkit.parity.run import check_parity as run_parity
    from toolkit.runtimes.variants import runtime_variants

    pairs = plan_exports(targets, quantizations)
    variants = runtime_variants(runtimes)
    _require_runtime_for_each_target(pairs, variants, runtimes)
    loaded = load(model, custom_objects, unsafe, input_range)
    feeds = load_inputs_file(Path(inputs), loaded.signature) if inputs else None
    output_tasks(loaded, verdict.tasks if verdict else None)  # a wrong --task fails before any export
    if on_total:
        on_total(parity_row_count(pairs, variants, batches=1 if feeds is not None else None))
    exports = export_model(loaded, pairs, Path(out_dir), force=force, options=options, on_start=on_start)
    calibration = (options or {}).get("calibration")
    rows = run_parity(loaded, _nothing_skipped_only(exports), variants, inputs=feeds, on_row=on_row, settings=verdict,
                      calibration=Path(calibration) if calibration else None)
    if rows and all(row.unavailable for row in rows):
        raise RuntimeUnavailableError(f"nothing was compared: {rows[0].error}")
    return rows


def parity_row_count(pairs: Sequence[tuple[str, str]], variants: Sequence, batches: int | None = None) -> int:
    """Rows check_parity makes for one model: every artifact x variant of its target x batch (failures included)."""
    from toolkit.parity.run import BATCHES

    return sum(1 for target, _ in pairs for v in variants if v.target == target) * (batches or len(BATCHES))


def _require_runtime_for_each_target(pairs: Sequence[tuple[str, str]], variants: Sequence, asked: Sequence[str] | None) -> None:
    """Every requested target must have a runtime that runs it, or its artifacts would be made and never checked."""
    targets = list(dict.fromkeys(target for target, _ in pairs))
    unchecked = [t for t in targets if not any(v.target == t for v in variants)]
    if unchecked:
        from toolkit.runtimes.variants import runtime_variants

        shown = ", ".join(asked) if asked else "the registered runtimes"
        able = sorted({v.label for v in runtime_variants() if v.target in unchecked})
        raise UsageError(f"--runtime {shown} runs none of the {', '.join(unchecked)} artifacts, so nothing would be "
                         f"checked; add one that does: {', '.join(able) or 'none is registered'}")

