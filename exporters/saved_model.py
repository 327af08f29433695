"""SavedModel through Keras 3's ExportArchive: one `serving_default` signature, named I/O, dynamic batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from exporters.details import ExportDetails
from toolkit.model.loading import LoadedModel
from toolkit.model.spec import ModelSignature
from toolkit.registry import exporter


def serving_function(loaded: LoadedModel) -> Callable[..., dict]:
    """A function of the model's inputs, positional in signature order, returning outputs by name."""
    from toolkit.model.calling import model_args, outputs_by_name

    signature = loaded.signature
    model = loaded.model

    def serve(*tensors):
        named = dict(zip(signature.input_names, tensors))
        raw = model(model_args(model, signature, named), training=False)
        return outputs_by_name(raw, signature.output_names)

    return serve


def input_signature(loaded: LoadedModel) -> list:
    import tensorflow as tf

    return [tf.TensorSpec(spec.shape, spec.dtype, name=spec.name) for spec in loaded.signature.inputs]


def write_saved_model(loaded: LoadedModel, folder: Path) -> None:
    """Write the SavedModel into `folder` (used by the TFLite and TF.js exporters too)."""
    from keras.export import ExportArchive

    archive = ExportArchive()
    archive.track(loaded.model)
    archive.add_endpoint("serving_default", serving_function(loaded), input_signature=input_signature(loaded))
    archive.write_out(str(folder), verbose=False)


@exporter("saved_model", quantizations=("none",), converter="tensorflow")
def export_saved_model(loaded: LoadedModel, staging: Path, quantization: str, options: dict) -> ExportDetails:
    write_saved_model(loaded, staging)
    check_saved_model(staging, loaded.signature)
    return ExportDetails(main_file="saved_model.pb")


def check_saved_model(folder: Path, signature: ModelSignature) -> None:
    """Reload and confirm the signature's names: a SavedModel that does not load is no artifact."""
    import tensorflow as tf

    from toolkit.errors import ExportError

    serving = tf.saved_model.load(str(folder)).signatures["serving_default"]
    got_inputs = set(serving.structured_input_signature[1])
    got_outputs = set(serving.structured_outputs)
    if got_inputs != set(signature.input_names) or got_outputs != set(signature.output_names):
        raise ExportError(
            f"SavedModel signature names {sorted(got_inputs)} -> {sorted(got_outputs)} differ from the "
            f"model's {signature.input_names} -> {signature.output_names}"
        )
