"""The library API: the only functions the CLI calls. Heavy imports happen inside them."""

from __future__ import annotations

from pathlib import Path

from toolkit.tf_env import import_tf

DEFAULT_OUT = Path("artifacts")


def list_models() -> list[dict]:
    """One row per reference model: name, API, summary, input and output specs, parameter count."""
    import_tf()
    from models import REFERENCE_MODELS
    from toolkit.loading import resolve_model

    rows = []
    for name, entry in REFERENCE_MODELS.items():
        loaded = resolve_model(name)
        rows.append({
            "name": name,
            "api": entry.api,
            "summary": entry.summary,
            "inputs": [s.to_json() for s in loaded.signature.inputs],
            "outputs": [s.to_json() for s in loaded.signature.outputs],
            "parameters": int(loaded.model.count_params()),
        })
    return rows


def load(model: str, custom_objects=None, unsafe: bool = False):
    """Resolve a reference name or .keras path into a LoadedModel."""
    import_tf()
    from toolkit.loading import resolve_model

    return resolve_model(model, custom_objects, unsafe)


def export(model: str, target="saved_model", quantize=None, out_dir: Path = DEFAULT_OUT, *,
           custom_objects=None, unsafe=False, force=False, refresh=False, options=None, on_start=None):
    """Export `model` to each target (and quantization); returns one ExportResult per artifact."""
    from toolkit.exporting import export_model, plan_exports, resolve_targets

    pairs = plan_exports(resolve_targets(target), quantize)  # validate before loading anything
    loaded = load(model, custom_objects, unsafe)
    return export_model(loaded, pairs, Path(out_dir), force=force, refresh=refresh, options=options, on_start=on_start)


def check_parity(model: str, target="all", quantize="all", runtime=None, out_dir: Path = DEFAULT_OUT, *,
                 inputs=None, custom_objects=None, unsafe=False, options=None, on_start=None):
    """Export what is missing, then run every applicable runtime; returns ParityRow objects."""
    from toolkit.exporting import export_model, plan_exports, resolve_targets
    from toolkit.inputs import load_inputs_file
    from toolkit.parity import check_parity as run_parity
    from toolkit.parity import runtime_variants

    pairs = plan_exports(resolve_targets(target), quantize)
    variants = runtime_variants(runtime)
    loaded = load(model, custom_objects, unsafe)
    feeds = load_inputs_file(Path(inputs), loaded.signature) if inputs else None
    exports = export_model(loaded, pairs, Path(out_dir), refresh=True, options=options, on_start=on_start)
    return run_parity(loaded, exports, variants, inputs=feeds)


def benchmark(model: str, target="all", quantize="all", runtime=None, setting="cpu", batch="1,8",
              out_dir: Path = DEFAULT_OUT, *, runs=None, time_budget_s=None, warmup=None,
              custom_objects=None, unsafe=False, on_progress=None):
    """Export what is missing, then time Keras baselines and every artifact in every runtime variant
    of the settings (comma-separated models too); returns toolkit.bench.BenchResults (see toolkit/bench.py)."""
    from toolkit.bench_run import BenchRequest, run_benchmarks

    request = BenchRequest.parse(model, target, quantize, runtime, setting, batch, runs, time_budget_s, warmup)
    return run_benchmarks(request, Path(out_dir), export=_export_for_bench, load=load,
                          custom_objects=custom_objects, unsafe=unsafe, on_progress=on_progress)


def _export_for_bench(model, target, quantize, out_dir, **kwargs):
    return export(model, target, quantize, out_dir, refresh=True, **kwargs)  # bench manages its artifacts
