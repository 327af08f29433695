"""`toolkit list`'s row for a reference model, without training it."""

from __future__ import annotations


def reference_row(name: str) -> dict:
    """Name, tier, API, summary, input and output specs, parameter count, and whether it is trained yet.

    A model not trained yet is described from its freshly built architecture (training changes no shape
    or parameter count), so listing never trains: the zoo's training takes minutes per model on 2 cores,
    and happens on first export or parity instead.
    """
    from models import REFERENCE_MODELS
    from models.store import is_trained
    from toolkit.model.calling import describe_model
    from toolkit.model.loading import resolve_model

    entry = REFERENCE_MODELS[name]
    trained = is_trained(name)
    if trained:
        loaded = resolve_model(name)
        model, signature = loaded.model, loaded.signature
    else:
        model = entry.build()
        signature = describe_model(model, entry.input_specs)
    return {
        "name": name,
        "tier": entry.tier,
        "api": entry.api,
        "summary": entry.summary,
        "inputs": [s.to_json() for s in signature.inputs],
        "outputs": [s.to_json() for s in signature.outputs],
        "parameters": int(model.count_params()),
        "trained": trained,
    }
