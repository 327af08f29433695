"""Export options (--opset, --calibration): which artifacts they affect and how a manifest records them.

An option is recorded in the manifest of every artifact it changes, and only there: adding
--calibration later leaves the float artifacts up to date. A calibration file (or folder of images) is
recorded as {"path", "sha256"} and compared by its hash, so moving it changes nothing and editing it does;
a folder's hash covers its images' names and bytes (toolkit/model/image_folder.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from toolkit.errors import UsageError
from toolkit.files import sha256_file
from toolkit.labels import artifact_label
from toolkit.model.image_folder import folder_sha256
from toolkit.model.inputs import load_inputs_file
from toolkit.model.spec import ModelSignature
from toolkit.registry import ExporterEntry

# Options whose value is a file: recorded with the hash of its content.
FILE_OPTIONS = ("calibration",)


def requested_options(entries: Mapping[str, ExporterEntry], pairs: Sequence[tuple[str, str]], given: dict,
                      signature: ModelSignature) -> dict:
    """`given` without unset values, checked before anything is written: an option that affects none of
    `pairs` is a UsageError, an input file that does not fit the model an InputsError."""
    given = {k: v for k, v in given.items() if v is not None}
    for name in given:
        if not any(name in entries[t].options_for(q) for t, q in pairs):
            users = [f"{t} ({', '.join(e.option_scope.get(name, e.quantizations))})"
                     for t, e in entries.items() if name in e.options]
            shown = ", ".join(artifact_label(t, q) for t, q in pairs)
            raise UsageError(f"--{name} affects none of {shown}; it applies to {', '.join(users) or 'no target'}")
    for name in FILE_OPTIONS:
        if name in given:
            load_inputs_file(Path(given[name]), signature, f"--{name}")
    return given


def recorded_options(entry: ExporterEntry, quantization: str, given: dict) -> dict:
    """The options of one artifact as its manifest records them: defaults, overridden by `given`."""
    recorded = {}
    for name in entry.options_for(quantization):
        value = given.get(name, entry.options[name])
        recorded[name] = fingerprint(name, value)
    return recorded


def fingerprint(name: str, value: object) -> object:
    if name in FILE_OPTIONS and isinstance(value, (str, Path)):
        path = Path(value)
        return {"path": str(path.resolve()), "sha256": folder_sha256(path) if path.is_dir() else sha256_file(path)}
    return value


def same_option(recorded: object, wanted: object) -> bool:
    """Equal values; files are equal when their contents are."""
    if isinstance(recorded, dict) and isinstance(wanted, dict):
        return recorded.get("sha256") == wanted.get("sha256")
    return recorded == wanted


def converter_options(recorded: dict) -> dict:
    """What the export function receives: file options as their path again."""
    return {k: v["path"] if isinstance(v, dict) and "path" in v else v for k, v in recorded.items()}
