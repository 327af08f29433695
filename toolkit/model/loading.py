"""Resolve `--model NAME|PATH.keras` to a loaded Keras model with its named signature."""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.errors import ModelLoadError, UsageError
from toolkit.files import sha256_file
from toolkit.model.spec import ModelSignature

if TYPE_CHECKING:
    import keras


@dataclass
class LoadedModel:
    name: str  # reference name, or the .keras file's stem
    path: Path  # the .keras file the artifacts are made from
    model: object  # keras.Model; None where only the signature was read (in a child process, for a large model)
    signature: ModelSignature
    source_sha256: str
    reference: object = None  # models.ReferenceModel for reference models, else None
    # How to load it again, in another process (toolkit/export/isolation.py): the flags it was loaded with.
    custom_objects: Path | None = None
    unsafe: bool = False
    input_range: tuple[float, float] | None = None  # declared with --input-range

    @property
    def spec(self) -> str:
        """What --model was: a reference name, or the .keras path."""
        return self.name if self.reference is not None else str(self.path)


def import_custom_objects(path: Path | None) -> None:
    """Import a user's Python file so its @register_keras_serializable classes are known."""
    if path is None:
        return
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"--custom-objects file {path} does not exist; pass the .py file that defines your layers")
    if path.suffix != ".py":
        raise ModelLoadError(f"--custom-objects {path} is not a Python file; pass the .py file that defines your layers "
                             "with @keras.saving.register_keras_serializable")
    spec = importlib.util.spec_from_file_location(f"toolkit_user_objects_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's code: report any failure as one line
        raise ModelLoadError(f"importing --custom-objects {path} failed: {type(error).__name__}: {error}") from error


def _walk_layer_configs(node):
    """Every dict in a Keras config tree that describes a serialized object (has a class_name)."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for value in node.values():
            yield from _walk_layer_configs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_layer_configs(value)


def _read_config(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        try:
            config = json.loads(archive.read("config.json"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ModelLoadError(f"{path} has an unreadable config.json ({error}); save the model again") from error
    problem = _schema_problem(config)
    if problem:
        raise ModelLoadError(f"{path} has a config.json that is valid JSON but not a Keras model config ({problem}); "
                             "save the model again with model.save('model.keras')")
    return config


# Top-level classes of a model config that Keras itself defines; "could not locate" one is a broken file.
KERAS_MODEL_CLASSES = ("Functional", "Sequential", "Model")


def _schema_problem(config: object) -> str | None:
    """What makes `config` not a serialized Keras model, or None: checked before Keras reads it."""
    if not isinstance(config, dict):
        return f"the top level is a {type(config).__name__}, not an object"
    if not isinstance(config.get("class_name"), str):
        return "it has no 'class_name'"
    if not isinstance(config.get("config"), dict):
        return f"its 'config' is {type(config.get('config')).__name__}, not an object"
    layers = config["config"].get("layers")
    if layers is not None and not isinstance(layers, list):
        return f"its 'layers' is {type(layers).__name__}, not a list"
    if config["class_name"] in KERAS_MODEL_CLASSES and "module" not in config:
        return f"the {config['class_name']} entry has no 'module'"
    return None


def _check_config(path: Path, config: dict, unsafe: bool) -> None:
    """Refuse Lambda layers (safe mode) and unregistered custom classes, naming them, before Keras loads."""
    import keras

    objects = list(_walk_layer_configs(config))
    lambdas = [o.get("config", {}).get("name", "?") for o in objects if o["class_name"] == "Lambda"]
    if lambdas and not unsafe:
        raise ModelLoadError(
            f"{path} contains Lambda layer {', '.join(lambdas)} with serialized Python code, refused in safe mode; "
            "pass --unsafe only if you trust this file"
        )
    missing = sorted({
        o["registered_name"] for o in objects
        if isinstance(o.get("registered_name"), str) and ">" in o["registered_name"]
        and keras.saving.get_registered_object(o["registered_name"]) is None
    })
    if missing:
        names = ", ".join(f"{n.split('>')[1]} (registered as {n})" for n in missing)
        raise ModelLoadError(
            f"{path} uses custom class {names} that is not registered; pass --custom-objects FILE.py that defines "
            "it with @keras.saving.register_keras_serializable"
        )


def check_keras_archive(path: Path) -> None:
    """One-line ModelLoadError for a missing, non-.keras, truncated or corrupt file."""
    if not path.exists():
        raise ModelLoadError(f"model file {path} does not exist; pass a reference model name (toolkit list) or a .keras path")
    if path.is_dir() or path.suffix != ".keras":
        raise ModelLoadError(f"{path} is not a .keras file; save your model with model.save('model.keras')")
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path} is not a valid .keras archive (truncated or not a zip); save the model again")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "config.json" not in names:
            raise ModelLoadError(f"{path} has no config.json, so it is not a Keras 3 .keras archive; save it again with Keras 3")
        bad = archive.testzip()
        if bad is not None:
            raise ModelLoadError(f"{path} is corrupted (member {bad} fails its checksum); save the model again")


def load_keras_file(path: Path, custom_objects: Path | None = None, unsafe: bool = False) -> keras.Model:
    """Load a .keras file in Keras safe mode unless `unsafe`; errors say which flag fixes them."""
    import keras

    path = Path(path)
    check_keras_archive(path)
    import_custom_objects(custom_objects)
    _check_config(path, _read_config(path), unsafe)
    try:
        return keras.saving.load_model(path, safe_mode=not unsafe, compile=False)
    except Exception as error:  # Keras raises many types; translate each into one actionable line
        raise ModelLoadError(explain_load_failure(path, error)) from error


def explain_load_failure(path: Path, error: Exception) -> str:
    text = " ".join(str(error).split())
    missing_argument = _deepest_argument_error(error)
    if missing_argument:
        classes = re.findall(r"<class '(?:[\w]+\.)*(\w+)'>", text)
        layer = f"custom layer {classes[-1]}" if classes else "a custom layer"
        return (f"{path}: {layer} could not be re-created from its config ({missing_argument}); "
                "make its get_config() return every constructor argument")
    if "safe_mode" in text or "lambda" in text.lower() and "unsafe" in text.lower():
        return (f"{path} contains a Lambda layer with serialized Python code, refused in safe mode; "
                "pass --unsafe only if you trust this file")
    if "Could not locate class" in text or "Unknown layer" in text or "could not be deserialized" in text:
        return (f"{path} uses a custom class that is not registered ({text[:200]}); pass "
                "--custom-objects FILE.py that defines it with @keras.saving.register_keras_serializable")
    return f"{path} could not be loaded: {type(error).__name__}: {text[:300]}"


def _deepest_argument_error(error: BaseException) -> str | None:
    """The innermost "missing ... argument" TypeError in the exception chain, as text."""
    found = None
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, TypeError) and "argument" in str(error) and "could not be deserialized" not in str(error):
            found = " ".join(str(error).split())[:200]
        error = error.__cause__ or error.__context__
    return found


def reference_names() -> list[str]:
    from models import REFERENCE_MODELS

    return sorted(REFERENCE_MODELS)


def _unknown_model(name: str) -> UsageError:
    close = difflib.get_close_matches(name, reference_names(), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; run `toolkit list` for the reference models"
    return UsageError(f"'{name}' is neither a reference model nor a .keras file{hint}")


def resolve_model(spec: str, custom_objects: Path | None = None, unsafe: bool = False) -> LoadedModel:
    """A reference model name (trained and cached on first use) or a user's .keras path."""
    from models import REFERENCE_MODELS
    from toolkit.model.calling import describe_model

    reference = REFERENCE_MODELS.get(spec)
    if reference is not None:
        from models.store import trained_model_path

        path = trained_model_path(spec)
        name = spec
    else:
        path = Path(spec)
        if path.suffix != ".keras" and not path.exists():
            raise _unknown_model(spec)
        name = path.stem
    model = load_keras_file(path, custom_objects, unsafe)
    input_specs = reference.input_specs if reference is not None else None
    try:
        signature = describe_model(model, input_specs)
    except ValueError as error:
        raise ModelLoadError(str(error)) from error
    return LoadedModel(name, path, model, signature, sha256_file(path), reference,
                       Path(custom_objects).resolve() if custom_objects else None, unsafe)
