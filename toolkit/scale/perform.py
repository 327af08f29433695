"""What a worker does with one unit (toolkit/scale/units.py): the same export and parity code a serial
run calls, on a model loaded once per process and kept for the next unit of it."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from toolkit.export.run import check_exports, export_model
from toolkit.model.inputs import load_inputs_file
from toolkit.model.loading import LoadedModel
from toolkit.model.samples import resolve_with_range
from toolkit.model.tasks import output_tasks
from toolkit.parity.judgement import VerdictSettings
from toolkit.parity.run import BATCHES, ReferenceOutputs, check_parity
from toolkit.runtimes.variants import runtime_variants
from toolkit.scale.units import export_to_json

# The last few models a worker loaded, and their Keras references: a worker warm for one target goes from
# model to model, and comes back to each for its other quantizations. A few, not all: a zoo model holds
# hundreds of MB (ResNet50: 100 MB of weights, a judgement set of 128 images of 224x224x3).
KEPT_MODELS = 3
# (spec, custom objects, unsafe, input range) -> the model and its --inputs feeds, in this process.
_LOADED: OrderedDict[tuple, tuple[LoadedModel, dict | None]] = OrderedDict()
_REFERENCES: OrderedDict[tuple, ReferenceOutputs] = OrderedDict()


def _kept(cache: OrderedDict, key: tuple, make: Callable[[], object]) -> object:
    """cache[key], made if missing; the least recently used entry goes beyond KEPT_MODELS."""
    if key not in cache:
        cache[key] = make()
        while len(cache) > KEPT_MODELS:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def _loaded(unit: dict) -> tuple[LoadedModel, dict | None]:
    request = unit["request"]
    key = (unit["model"], request.get("custom_objects"), request.get("unsafe", False),
           tuple(request["input_range"]) if request.get("input_range") else None)

    def load() -> tuple[LoadedModel, dict | None]:
        loaded = resolve_with_range(unit["model"], Path(key[1]) if key[1] else None, key[2], key[3])
        inputs = request.get("inputs")
        return loaded, load_inputs_file(Path(inputs), loaded.signature) if inputs else None

    return _kept(_LOADED, key, load)


def _verdict(request: dict) -> VerdictSettings:
    return VerdictSettings(**request.get("verdict") or {})


def perform(unit: dict) -> dict:
    """The unit's result as JSON; a ToolkitError (bad input, an unwritable folder) propagates to the caller."""
    loaded, feeds = _loaded(unit)
    request = unit["request"]
    if unit["kind"] == "check":
        # What a serial run checks before its first export: --task, then every artifact folder (writable, no conflict).
        output_tasks(loaded, _verdict(request).tasks)
        check_exports(loaded, [tuple(pair) for pair in request["pairs"]], Path(request["out_dir"]),
                      force=request.get("force", False), options=request.get("options"))
        batches = [len(next(iter(feeds.values())))] if feeds is not None else list(BATCHES)
        return {"name": loaded.name, "batches": batches}
    exports = export_model(loaded, [(unit["target"], unit["quantization"])], Path(request["out_dir"]),
                           force=request.get("force", False), options=request.get("options"))
    result = {"exports": [export_to_json(e) for e in exports]}
    if unit["kind"] == "parity":
        calibration = (request.get("options") or {}).get("calibration")
        references = _references(unit, loaded, feeds, Path(calibration) if calibration else None)
        rows = check_parity(loaded, exports, runtime_variants(request.get("runtimes")), inputs=feeds,
                            settings=references.settings, calibration=references.calibration, references=references)
        result["rows"] = [row.to_json() for row in rows]
    return result


def _references(unit: dict, loaded: LoadedModel, feeds: dict | None, calibration: Path | None) -> ReferenceOutputs:
    """Keras's outputs for this model's parity units, computed once per worker (the next unit of the model
    reuses them, as the serial run does within one model)."""
    request = unit["request"]
    key = (unit["model"], json.dumps(request, sort_keys=True, default=str))
    return _kept(_REFERENCES, key, lambda: ReferenceOutputs(loaded, feeds, _verdict(request), calibration))
