"""What each float output of a model means: classification, regression or embedding.

One answer for every judge of quantized artifacts: parity's verdicts (toolkit/parity/judgement.py) and
the searching TFLite modes (exporters/tflite_measure.py) must agree on which outputs are classifiers,
or a search could stop at a candidate that parity then fails (or search for top-1 on a regression head).
"""

from __future__ import annotations

import numpy as np

from toolkit.errors import UsageError
from toolkit.model.loading import LoadedModel
from toolkit.parity.tolerances import TASKS


def parse_tasks(text: str | None) -> dict[str, str]:
    """--task classification | name=task,name=task -> {"": task} or {name: task}."""
    if not text:
        return {}
    tasks = {}
    for item in text.split(","):
        name, _, task = item.rpartition("=")
        if task.strip() not in TASKS:
            raise UsageError(f"--task: '{task.strip()}' is not a task; use {', '.join(TASKS)} (or OUTPUT=TASK, comma-separated)")
        tasks[name.strip()] = task.strip()
    return tasks


def output_tasks(loaded: LoadedModel, declared: dict[str, str] | None = None) -> dict[str, str]:
    """Float output -> its task. First what the user declared (per output, then for all), then what the
    model says (the reference registry's classifier outputs and losses, else the loss the .keras file was
    compiled with: a cross-entropy means classification), then the shape: (batch, classes) with at least
    2 classes is classification, anything else regression."""
    declared = declared or {}
    unknown = sorted(set(declared) - {""} - set(loaded.signature.output_names))
    if unknown:
        raise UsageError(f"--task names output(s) {', '.join(unknown)} that {loaded.name} does not have; "
                         f"its outputs: {', '.join(loaded.signature.output_names)}")
    from_model = _tasks_from_losses(loaded)
    tasks = {}
    for spec in loaded.signature.outputs:
        if spec.is_string or not np.issubdtype(np.dtype(spec.dtype), np.floating):
            continue  # integer and string outputs are compared exactly
        detected = from_model.get(spec.name) or ("classification" if _looks_like_classes(spec.shape) else "regression")
        tasks[spec.name] = declared.get(spec.name) or declared.get("") or detected
    return tasks


def _tasks_from_losses(loaded: LoadedModel) -> dict[str, str]:
    """Output name -> task, from the reference registry or the compiled loss (nothing when uncompiled)."""
    names = loaded.signature.output_names
    if loaded.reference is not None:
        losses = dict(loaded.reference.losses)
        losses.update({name: "crossentropy" for name in loaded.reference.classifier_outputs})
    else:
        loss = getattr(loaded.model, "loss", None)
        if isinstance(loss, dict):
            losses = loss
        elif isinstance(loss, (list, tuple)):
            losses = dict(zip(names, loss))
        else:
            losses = {name: loss for name in names} if loss is not None else {}
    tasks = {name: _task_of_loss(loss) for name, loss in losses.items() if name in names}
    return {name: task for name, task in tasks.items() if task}


def _task_of_loss(loss: object) -> str | None:
    text = loss if isinstance(loss, str) else getattr(loss, "name", None) or type(loss).__name__
    text = str(text).lower().replace("_", "")
    if "crossentropy" in text or "hinge" in text:
        return "classification"
    if any(word in text for word in ("squared", "absolute", "huber", "logcosh", "cosine", "poisson")):
        return "embedding" if "cosine" in text else "regression"
    return None


def _looks_like_classes(shape: tuple) -> bool:
    """(batch, classes) with at least 2 classes; a sequence of scores is declared with --task."""
    return len(shape) == 2 and shape[-1] is not None and shape[-1] >= 2
