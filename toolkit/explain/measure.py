"""Per-layer error of an artifact against Keras, with parity's own statistics and budgets.

Each layer's artifact tensor is compared with Keras's output of that layer by toolkit/parity/compare.py's
`output_stats` (the statistics of every parity row). Float32 artifacts: a layer diverges when an element
breaks parity's bound |got - ref| <= atol + rtol*|ref|. Quantized artifacts: a model output is judged as
parity judges it (top-1 agreement for a classifier, else SQNR), any other layer by SQNR against the
budget's `min_sqnr_db` (20 dB for 8-bit modes: RMS error at most 10% of the signal).

Error growth is the SQNR a layer loses over the worst of its inputs (toolkit/metrics.snr_loss_db, which the
int8-selective search ranks ops by too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from toolkit.explain.keras_side import KerasLayer
from toolkit.metrics import snr_loss_db
from toolkit.parity.compare import output_stats
from toolkit.parity.judgement import judge
from toolkit.parity.tolerances import QuantizedBudget, Tolerance

# An activation range dominated by outlier channels: with one int8 grid per tensor (TFLite and ONNX QDQ
# activations are quantized per tensor) a channel whose largest |value| is 1/r of the tensor's keeps about
# 256/r of the 256 levels. Below 8 levels (3 bits) its own SQNR falls under about 6.02*3 + 1.76 = 20 dB, the
# 8-bit budget: so a tensor is flagged when its largest channel is 32x (256/8) its median channel.
OUTLIER_RATIO = 32.0
MIN_CHANNELS = 4  # fewer channels have no meaningful median
MISMATCH_GAIN_DB = 20.0  # error that shrinks 10x (RMS) in every next layer was never this layer's


@dataclass
class LayerResult:
    layer: str
    class_name: str
    tensor: str | None = None  # the artifact tensor compared (None: the layer has no tensor of its own there)
    shape: tuple | None = None
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    mean_abs_err: float | None = None
    sqnr_db: float | None = None
    cosine: float | None = None
    rel_err: float | None = None  # RMS error / RMS signal, 10^(-SQNR/20)
    top1_agreement: float | None = None  # model outputs judged as classification
    within_budget: bool | None = None
    growth_db: float | None = None  # SQNR lost over the worst input
    scale: float | None = None  # quantized artifacts: one step of the tensor's integer grid
    value_range: tuple[float, float] | None = None
    channel_ratio: float | None = None  # Keras activations: largest channel max|x| / median channel's
    outlier_channels: list[int] = field(default_factory=list)
    note: str = ""

    @property
    def compared(self) -> bool:
        return self.tensor is not None

    @property
    def judged(self) -> bool:
        """Compared, with a verdict (a tensor found not to be the layer's output has none) and an SQNR."""
        return self.compared and self.within_budget is not None and self.sqnr_db is not None

    def to_json(self) -> dict:
        def clean(value: object) -> object:
            if isinstance(value, float) and not math.isfinite(value):
                return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
            return list(value) if isinstance(value, tuple) else value

        return {key: clean(value) for key, value in asdict(self).items()}


def channel_peaks(reference: np.ndarray) -> np.ndarray | None:
    """Each channel's largest |value| (channels last, as Keras lays them out); None for non-float or rank-1 tensors."""
    if reference.ndim < 2 or not np.issubdtype(reference.dtype, np.floating):
        return None
    return np.max(np.abs(reference.reshape(-1, reference.shape[-1])), axis=0).astype(np.float64)


def channel_outliers(peaks: np.ndarray | None) -> tuple[float | None, list[int]]:
    """(largest channel peak / median channel's, the channels above OUTLIER_RATIO x the median)."""
    live = peaks[peaks > 0] if peaks is not None else np.empty(0)  # channels a ReLU keeps at 0 say nothing
    if live.size < MIN_CHANNELS:
        return None, []
    median = float(np.median(live))
    return float(peaks.max() / median), [int(c) for c in np.flatnonzero(peaks > OUTLIER_RATIO * median)]


def measure_layer(result: LayerResult, reference: np.ndarray, got: np.ndarray, tolerance: Tolerance | None,
                  budget: QuantizedBudget | None, task: str | None) -> None:
    """Fill `result` with the statistics of `got` against `reference` and its verdict."""
    stats = output_stats(result.layer, reference, got, tolerance, task)
    result.max_abs_err, result.max_rel_err, result.mean_abs_err = stats.max_abs_err, stats.max_rel_err, stats.mean_abs_err
    result.sqnr_db, result.cosine = stats.sqnr_db, stats.cosine
    if result.sqnr_db is not None:
        result.rel_err = 10 ** (-result.sqnr_db / 20) if math.isfinite(result.sqnr_db) else (0.0 if result.sqnr_db > 0 else math.inf)
    if budget is None:  # float32: parity's elementwise bound
        result.within_budget = stats.passed
    elif task is not None:  # a model output: judged exactly as parity judges it
        judged = judge({result.layer: reference}, {result.layer: got}, {result.layer: task}, budget)[result.layer]
        result.within_budget, result.top1_agreement = judged.passed, judged.top1_agreement
    else:
        result.within_budget = not stats.non_finite and (stats.sqnr_db or 0.0) >= budget.min_sqnr_db


def add_growth(results: list[LayerResult], layers: dict[str, KerasLayer]) -> None:
    """Each compared layer's SQNR loss over its worst compared input. A layer without one (it reads the model
    inputs, or only layers the artifact fused away) gets none: its SQNR is its loss, shown beside it, and an
    exact input would make every first layer look like the worst."""
    by_name = {r.layer: r for r in results}
    inbound = {name: layer.inbound for name, layer in layers.items()}
    for result in results:
        # Looking through inputs fused away in the artifact, or whose tensor is not their output.
        inputs = _nearest(result.layer, inbound, by_name, lambda r: r.judged) if result.judged else []
        if inputs:
            result.growth_db = snr_loss_db(result.sqnr_db, [r.sqnr_db for r in inputs])


def _nearest(start: str, neighbours: dict[str, Sequence[str]], by_name: dict[str, LayerResult],
             wanted: Callable[[LayerResult], bool]) -> list[LayerResult]:
    """The closest layers from `start` along `neighbours` (inputs or readers) that are `wanted`, walking through
    the others (depth first, each layer once)."""
    found: list[LayerResult] = []
    seen: set[str] = set()

    def walk(name: str) -> None:
        for neighbour in neighbours.get(name, ()):
            if neighbour in seen:
                continue
            seen.add(neighbour)
            result = by_name.get(neighbour)
            if result is not None and wanted(result):
                found.append(result)
            else:
                walk(neighbour)

    walk(start)
    return found


def mark_misattributed(results: list[LayerResult], layers: dict[str, KerasLayer]) -> None:
    """Over-budget layers whose error vanishes in every layer that reads them: the tensor that carries their name
    is not their output. TF.js's converter runs grappler, which moves arithmetic across layers (a BatchNorm's
    shift into the next Add, Subtract + Square into one SquaredDifference named after the Subtract); a real
    divergence does not heal by MISMATCH_GAIN_DB in every next layer."""
    by_name = {r.layer: r for r in results}
    readers: dict[str, list[str]] = {}
    for layer in layers.values():
        for source in layer.inbound:
            readers.setdefault(source, []).append(layer.name)

    for result in results:
        if result.within_budget is not False or result.sqnr_db is None:
            continue
        downstream = _nearest(result.layer, readers, by_name, lambda r: r.compared)
        if downstream and all((r.sqnr_db or 0.0) >= result.sqnr_db + MISMATCH_GAIN_DB for r in downstream):
            result.within_budget = None
            result.note = (f"tensor '{result.tensor}' is not this layer's output (its error of {result.sqnr_db:.1f} dB "
                           f"SQNR vanishes in {', '.join(r.layer for r in downstream)}): a converter rewrite moved "
                           "computation across layers; not judged")


def first_divergent(results: list[LayerResult]) -> LayerResult | None:
    return next((r for r in results if r.within_budget is False), None)


def largest_growth(results: list[LayerResult]) -> LayerResult | None:
    grown = [r for r in results if r.growth_db is not None]
    return max(grown, key=lambda r: r.growth_db) if grown else None
