"""What every API function shares: plugin registration, model loading, the types of its arguments."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Union

from toolkit.errors import InputsError, UsageError
from toolkit.plugins import load_plugins
from toolkit.tf_env import import_tf

if TYPE_CHECKING:
    from toolkit.export.run import ExportResult
    from toolkit.model.loading import LoadedModel

DEFAULT_OUT = Path("artifacts")
ModelRef = Union[str, Path, "LoadedModel"]
OnStart = Callable[[str, str], None]  # (target, quantization) when an export starts
InputRange = tuple[float, float]


def _ready() -> None:
    """Every exporter and runtime registered (TensorFlow is imported when a model is loaded)."""
    load_plugins()



def list_models(tier: str | None = None, on_loading: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """One row per reference model of `tier` ("small", "zoo"; None: all): name, tier, API, summary, input
    and output specs, parameter count, trained or not (toolkit/model/catalogue.py: listing never trains).
    `on_loading(name, index, count)` reports progress."""
    _ready()
    import_tf()
    from toolkit.model.catalogue import reference_row

    names = _tier_names(tier)
    rows = []
    for index, name in enumerate(names, start=1):
        if on_loading:
            on_loading(name, index, len(names))
        rows.append(reference_row(name))
    return rows


def _tier_names(tier: str | None) -> list[str]:
    from models import reference_names
    from models.registry import TIERS

    if tier not in (None, "all", *TIERS):
        raise UsageError(f"unknown tier {tier}; choose from {', '.join(TIERS)} or all")
    return reference_names(None if tier == "all" else tier)


def load(model: ModelRef, custom_objects: Path | None = None, unsafe: bool = False,
         input_range: InputRange | None = None) -> LoadedModel:
    """A reference name or .keras path as a LoadedModel; a LoadedModel is returned as it is.

    `input_range` (low, high) declares the values every float input takes, for generated samples.
    """
    _ready()
    import_tf()
    from toolkit.model.loading import LoadedModel, resolve_model
    from toolkit.model.samples import with_input_range

    loaded = model if isinstance(model, LoadedModel) else resolve_model(str(model), custom_objects, unsafe)
    return with_input_range(loaded, *input_range) if input_range else loaded



def _described_or_loaded(model: ModelRef, custom_objects: Path | None, unsafe: bool,
                         input_range: InputRange | None) -> LoadedModel:
    """A large .keras file is only described (in a child: this process never holds its weights, see
    toolkit/export/isolation.py); anything else is loaded here."""
    from toolkit.export import isolation

    if isinstance(model, (str, Path)) and str(model).endswith(".keras") and isolation.wanted_for(Path(model)):
        from toolkit.model.loading import check_keras_archive

        check_keras_archive(Path(model))  # the usual one-line errors, before a child starts
        return isolation.describe_in_child(str(model), custom_objects, unsafe, input_range)
    return load(model, custom_objects, unsafe, input_range)


def _nothing_skipped_only(results: list[ExportResult]) -> list[ExportResult]:
    """A request whose every artifact had to be skipped did nothing: that is a usage error, not a success."""
    if results and all(r.skipped for r in results):
        raise InputsError(f"nothing to export: {results[0].skipped}")
    return results

