"""`toolkit explain`: the Keras layer where an artifact starts to diverge."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.api.common import DEFAULT_OUT, InputRange, ModelRef, OnStart, _nothing_skipped_only, _ready, load
from toolkit.errors import UsageError

if TYPE_CHECKING:
    from toolkit.explain.run import Explanation
    from toolkit.parity.judgement import VerdictSettings
    from toolkit.runtimes.variants import RuntimeVariant


def explain(model: ModelRef, target: str, quantization: str = "none", runtime: str | None = None,
            out_dir: Path = DEFAULT_OUT, *, inputs: Path | None = None, custom_objects: Path | None = None,
            unsafe: bool = False, force: bool = False, input_range: InputRange | None = None,
            options: dict | None = None, verdict: VerdictSettings | None = None,
            on_start: OnStart | None = None) -> Explanation:
    """The Keras layer where the artifact of `target`/`quantization` starts to diverge in `runtime`.

    The artifact is exported if missing (as `export` would); the samples are parity's for quantized
    verdicts: `inputs`, else the `calibration` option's set, else the model's generated samples.
    """
    _ready()
    from toolkit.errors import ExportError
    from toolkit.explain.run import explain_artifact
    from toolkit.export.run import export_model
    from toolkit.model.inputs import load_inputs_file
    from toolkit.model.tasks import output_tasks
    from toolkit.parity.judgement import judgement_feeds

    variant = explain_variant(target, quantization, runtime)
    loaded = load(model, custom_objects, unsafe, input_range)
    feeds = load_inputs_file(Path(inputs), loaded.signature) if inputs else None
    output_tasks(loaded, verdict.tasks if verdict else None)  # a wrong --task fails before any export
    calibration = (options or {}).get("calibration")
    samples, described = judgement_feeds(loaded, feeds, Path(calibration) if calibration else None)  # checked first
    (result,) = _nothing_skipped_only(export_model(loaded, [(target, quantization)], Path(out_dir), force=force,
                                                   options=_options_for(target, quantization, options),
                                                   on_start=on_start))
    if result.error:
        raise ExportError(f"{result.label}: {result.error}")
    return explain_artifact(loaded, result, variant, samples, described, verdict)


def explain_variant(target: str, quantization: str, runtime: str | None) -> RuntimeVariant:
    """The runtime variant `explain` reads intermediate tensors with; UsageError for anything else."""
    from toolkit.explain.probes import EXPLAINABLE
    from toolkit.export.layout import plan_exports
    from toolkit.runtimes.variants import runtime_variants

    single = "," not in target + quantization and "all" not in (target, quantization)
    if not single or len(plan_exports([target], [quantization])) != 1 or target not in EXPLAINABLE:
        raise UsageError(f"explain takes one target ({', '.join(EXPLAINABLE)}) and one quantization; got "
                         f"--target {target} --quantize {quantization}")
    able = EXPLAINABLE[target]
    variants = [v for v in runtime_variants([runtime] if runtime else None) if v.target == target]
    chosen = [v for v in variants if v.label in able]
    if not chosen:
        raise UsageError(f"explain reads {target}'s intermediate tensors in {', '.join(able)}, not in "
                         f"{runtime or 'none registered'}; pass --runtime {able[0]}")
    return chosen[0]


def _options_for(target: str, quantization: str, options: dict | None) -> dict:
    """The export options, less a --calibration this artifact does not use (it still gives the samples)."""
    from toolkit.registry import exporters

    options = dict(options or {})
    if "calibration" in options and "calibration" not in exporters()[target].options_for(quantization):
        del options["calibration"]
    return options

