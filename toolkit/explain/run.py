"""Explain one artifact: run it and Keras on the same samples, compare layer by layer, name where it diverges."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from toolkit.explain.keras_side import KerasLayer, KerasLayers, describe_layers, layer_outputs
from toolkit.explain.measure import (
    OUTLIER_RATIO,
    LayerResult,
    add_growth,
    channel_outliers,
    channel_peaks,
    first_divergent,
    largest_growth,
    mark_misattributed,
    measure_layer,
)
from toolkit.explain.names import tensor_owners
from toolkit.explain.probes import ArtifactTensor, Probe, open_probe
from toolkit.export.run import ExportResult
from toolkit.model.calling import predict
from toolkit.model.loading import LoadedModel
from toolkit.model.tasks import output_tasks
from toolkit.parity.judgement import VerdictSettings, in_chunks
from toolkit.parity.tolerances import QuantizedBudget, Tolerance, budget_for, tolerance_for
from toolkit.runtimes.variants import RuntimeVariant

# Both sides' activations of every compared layer are held for the whole sample set; past this many bytes
# fewer samples are used (zoo models at 128 samples would need gigabytes), and the report says how many.
MEMORY_BUDGET_BYTES = 512 * 2**20


@dataclass
class Explanation:
    model: str
    target: str
    quantization: str
    runtime: str
    artifact: Path
    samples: str  # what the layers were compared on
    rule: str  # what "divergent" means for this artifact
    min_sqnr_db: float | None = None  # quantized artifacts: the layers' SQNR budget
    layers: list[LayerResult] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    first_divergent: str | None = None
    largest_growth: str | None = None
    summary: str = ""

    def to_json(self) -> dict:
        return {"model": self.model, "target": self.target, "quantization": self.quantization, "runtime": self.runtime,
                "artifact": str(self.artifact), "samples": self.samples, "rule": self.rule,
                "min_sqnr_db": self.min_sqnr_db, "first_divergent": self.first_divergent, "largest_growth": self.largest_growth, "summary": self.summary,
                "unreachable": self.unreachable, "layers": [layer.to_json() for layer in self.layers]}


@dataclass
class _Choice:
    """What a layer is compared with: a model output (by name) or an artifact tensor, maybe in NCHW layout."""

    tensor: ArtifactTensor | None = None
    output: str | None = None
    nchw: bool = False

    @property
    def label(self) -> str:
        return f"output '{self.output}'" if self.output else self.tensor.name


def explain_artifact(loaded: LoadedModel, export: ExportResult, variant: RuntimeVariant, feeds: dict[str, np.ndarray],
                     described: str, settings: VerdictSettings | None = None) -> Explanation:
    """Compare every reachable Keras layer's output with the artifact's tensor for it, on `feeds`."""
    settings = settings or VerdictSettings()
    layers = describe_layers(loaded)
    uncovered = _add_uncovered_outputs(loaded, layers)
    tasks = output_tasks(loaded, settings.tasks)
    quantized = export.quantization != "none"
    reference = loaded.reference
    budget = budget_for(export.quantization, reference.quantized_budgets if reference else None,
                        settings.min_top1, settings.min_sqnr_db) if quantized else None
    probe = open_probe(export.path, variant)
    try:
        owners = tensor_owners([t.name for t in probe.tensors], layers.names, loaded.model.name)
        pairs, peaks, used = _collect(loaded, layers, probe, owners, in_chunks(feeds), uncovered)
    finally:
        probe.close()
    results = _layer_results(layers, pairs, peaks, owners, tasks, budget, reference.tolerances if reference else {})
    by_name = {layer.name: layer for layer in layers.layers}
    mark_misattributed(results, by_name)
    add_growth(results, by_name)
    rule = (f"{export.quantization}: model outputs as parity judges them, other layers SQNR >= {budget.min_sqnr_db:g} dB"
            if quantized else "float32: every element within parity's atol + rtol*|ref| (hidden layers: atol x their "
            "largest |value|)")
    samples = _samples_text(used, len(next(iter(feeds.values()))), described)
    explanation = Explanation(loaded.name, export.target, export.quantization, variant.label, export.path, samples,
                              rule, budget.min_sqnr_db if budget else None, results, dict(layers.unreachable))
    divergent, grown = first_divergent(results), largest_growth(results)
    explanation.first_divergent = divergent.layer if divergent else None
    explanation.largest_growth = grown.layer if grown else None
    explanation.summary = _summary(divergent, grown, results, layers, quantized)
    return explanation


def _layer_results(layers: KerasLayers, pairs: dict, peaks: dict, owners: dict, tasks: dict[str, str],
                   budget: QuantizedBudget | None, overrides: dict) -> list[LayerResult]:
    """One measured row per layer, in Keras's order; a layer without a tensor says why."""
    results = []
    for layer in layers.layers:
        result = LayerResult(layer.name, layer.class_name, note=layer.note)
        result.channel_ratio, result.outlier_channels = channel_outliers(peaks.get(layer.name))
        if layer.name in pairs:
            choice, ref, got = pairs[layer.name]
            result.tensor, result.shape = choice.label, tuple(ref.shape[1:])
            if choice.tensor is not None and choice.tensor.scale is not None:
                result.scale, result.value_range = choice.tensor.scale, choice.tensor.value_range
            tolerance = None if budget else _float_tolerance(tolerance_for(choice.output or layer.name, overrides), ref, choice)
            measure_layer(result, ref, got, tolerance, budget, tasks.get(choice.output) if choice.output else None)
        else:
            result.note = _missing_note(layer.name, owners)
        results.append(result)
    return results


def _float_tolerance(tolerance: Tolerance, ref: np.ndarray, choice: _Choice) -> Tolerance:
    """Parity's bound for a model output; for a hidden layer, atol in units of the tensor's largest |value| when
    above 1. Parity's atol is made for outputs of order 1 (probabilities, logits), while hidden activations reach
    hundreds, where float32 rounding through dozens of layers alone exceeds it (MobileNetV3's adds in TF.js:
    2.7e-4 at 106 dB SQNR)."""
    if choice.output is not None:
        return tolerance
    scale = float(np.max(np.abs(ref))) if ref.size else 1.0
    return replace(tolerance, atol=tolerance.atol * max(1.0, scale), reason="atol scaled by the layer's largest |value|")


def _add_uncovered_outputs(loaded: LoadedModel, layers: KerasLayers) -> list[str]:
    """Model outputs no reachable layer computes (a subclassed model's inline code, control flow) get a row of
    their own, so the final answer is always compared."""
    uncovered = [name for name in loaded.signature.output_names if name not in layers.outputs.values()]
    for name in uncovered:
        layers.layers.append(KerasLayer(name, "model output", tuple(layers.names[-1:])))
        layers.outputs[name] = name
    return uncovered


def _collect(loaded: LoadedModel, layers: KerasLayers, probe: Probe, owners: dict, chunks: list[dict],
             uncovered: list[str]) -> tuple[dict, dict, int]:
    """(layer -> (choice, Keras values, artifact values)), (layer -> channel peaks), samples used."""
    candidates: dict[str, list[ArtifactTensor]] = {}
    for tensor in probe.tensors:
        if tensor.name in owners:
            candidates.setdefault(owners[tensor.name][0], []).append(tensor)
    order = {tensor.key: index for index, tensor in enumerate(probe.tensors)}  # execution order
    choices: dict[str, _Choice] | None = None
    refs: dict[str, list] = {}
    gots: dict[str, list] = {}
    peaks: dict[str, np.ndarray] = {}
    used, allowed = [], len(chunks)
    for chunk in chunks:
        keras_values = layer_outputs(loaded, layers, chunk)
        if uncovered:
            predicted = predict(loaded.model, loaded.signature, chunk)
            keras_values.update({name: predicted[name] for name in uncovered})
        wanted = [t.key for ts in candidates.values() for t in ts] if choices is None else \
            [c.tensor.key for c in choices.values() if c.tensor is not None]
        outputs, values = probe.run(chunk, list(dict.fromkeys(wanted)))
        if choices is None:
            choices = _choose(keras_values, candidates, outputs, values, layers, order)
            chunk_bytes = 2 * sum(keras_values[name].nbytes for name in choices)  # Keras's and the artifact's
            allowed = max(1, min(len(chunks), MEMORY_BUDGET_BYTES // max(chunk_bytes, 1)))
        for name, value in keras_values.items():
            found = channel_peaks(value)
            if found is not None:
                peaks[name] = found if name not in peaks else np.maximum(peaks[name], found)
        for name, choice in choices.items():
            if name in keras_values:  # else a sublayer these samples did not call (a branch in call())
                got = outputs[choice.output] if choice.output else values[choice.tensor.key]
                got = np.moveaxis(got, 1, -1) if choice.nchw else got
                refs.setdefault(name, []).append(keras_values[name])
                gots.setdefault(name, []).append(np.asarray(got).reshape(keras_values[name].shape))
        used.append(len(next(iter(chunk.values()))))
        if len(used) >= allowed:
            break
    pairs = {name: (choice, np.concatenate(refs[name]), np.concatenate(gots[name]))
             for name, choice in choices.items() if len(refs.get(name, [])) == len(used)}
    return pairs, peaks, sum(used)


def _choose(keras_values: dict, candidates: dict, outputs: dict, values: dict, layers: KerasLayers,
            order: dict[str, int]) -> dict[str, _Choice]:
    """Per layer: the model output it computes, else its last artifact tensor whose shape fits Keras's output.

    A layer may also take a tensor named after a layer it reads whose shape does not fit that layer: TF.js's
    grappler moves elementwise ops past the next layer (Relu after MaxPool, which commute), so the tensor named
    after the activation is the pooling layer's output."""
    misfits = {name: [t for t in candidates.get(name, []) if name in keras_values
                      and _fitting(t, keras_values[name], np.asarray(values[t.key])) is None] for name in candidates}
    inbound = {layer.name: layer.inbound for layer in layers.layers}
    choices = {}
    for name, ref in keras_values.items():
        if not np.issubdtype(ref.dtype, np.floating):
            continue
        if name in layers.outputs and np.shape(outputs.get(layers.outputs[name])) == ref.shape:
            choices[name] = _Choice(output=layers.outputs[name])
            continue
        offered = candidates.get(name, []) + [t for source in inbound.get(name, ()) for t in misfits.get(source, [])]
        for tensor in sorted(offered, key=lambda t: order[t.key], reverse=True):
            choice = _fitting(tensor, ref, np.asarray(values[tensor.key]))
            if choice is not None:
                choices[name] = choice
                break
    return choices


def _fitting(tensor: ArtifactTensor, ref: np.ndarray, got: np.ndarray) -> _Choice | None:
    """How `got` is compared with `ref`: as it is, or moved from channels-first (tf2onnx computes convolutions
    in NCHW); when both fit (H = W = C) the layout closer to Keras's values."""
    as_is = got.shape == ref.shape or (got.size == ref.size and got.squeeze().shape == ref.squeeze().shape)
    nchw = ref.ndim == 4 and got.shape == (ref.shape[0], ref.shape[3], *ref.shape[1:3])
    if as_is and nchw:
        nchw = np.abs(np.moveaxis(got, 1, -1) - ref).mean() < np.abs(got.reshape(ref.shape) - ref).mean()
    if nchw:
        return _Choice(tensor, nchw=True)
    return _Choice(tensor) if as_is else None


def _samples_text(used: int, available: int, described: str) -> str:
    return described if used == available else f"the first {used} of {described} (memory bound: {MEMORY_BUDGET_BYTES >> 20} MiB)"


def _missing_note(layer: str, owners: dict) -> str:
    fused = sorted({owner for owner, mentioned in owners.values() if layer in mentioned and owner != layer})
    if fused:
        return f"fused into '{fused[-1]}' in the artifact: no tensor of its own"
    return "no tensor of its own in the artifact (folded into a neighbour, or renamed by the converter)"


def _summary(divergent: LayerResult | None, grown: LayerResult | None, results: list[LayerResult],
             layers: KerasLayers, quantized: bool) -> str:
    judged = sum(r.within_budget is not None for r in results)
    if divergent is None:
        text = f"no divergent layer: all {judged} compared layers are within the budget"
    else:
        text = f"first divergent layer: '{divergent.layer}' ({divergent.class_name}), {_figure(divergent)}"
        if quantized:
            text += _outlier_cause(divergent, results, layers)
    if grown is not None and grown.growth_db is not None and divergent is not None:
        text += f"; the error grows most at '{grown.layer}' ({grown.growth_db:.1f} dB of SQNR lost)"
    return text


def _figure(result: LayerResult) -> str:
    if result.top1_agreement is not None:
        return f"top-1 agreement {result.top1_agreement:.3f}, SQNR {result.sqnr_db:.1f} dB"
    if result.sqnr_db is not None and result.max_abs_err is not None:
        return f"SQNR {result.sqnr_db:.1f} dB, max abs error {result.max_abs_err:.3g}"
    return "not finite"


def _outlier_cause(divergent: LayerResult, results: list[LayerResult], layers: KerasLayers) -> str:
    """The classic int8 failure: the layer, or one it reads, has a range taken up by a few outlier channels."""
    by_name = {r.layer: r for r in results}
    inbound = next((layer.inbound for layer in layers.layers if layer.name == divergent.layer), ())
    for name in (divergent.layer, *inbound):
        suspect = by_name.get(name)
        if suspect is not None and suspect.outlier_channels:
            where = "its own output" if name == divergent.layer else f"its input '{name}'"
            scale = "" if suspect.scale is None else (f"; the artifact's grid: step {suspect.scale:.3g} over "
                                                      f"[{suspect.value_range[0]:.3g}, {suspect.value_range[1]:.3g}]")
            return (f"; {where} has an activation range dominated by outlier channel(s) {suspect.outlier_channels[:8]} "
                    f"(max |x| {suspect.channel_ratio:.0f}x the median channel's, flag at {OUTLIER_RATIO:g}x{scale})")
    return ""
