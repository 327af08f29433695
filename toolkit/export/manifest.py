"""manifest.json beside every artifact: what it is, where it came from, and a hash of every file."""

from __future__ import annotations

import functools
import json
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import toolkit
from toolkit.export.layout import MANIFEST_NAME
from toolkit.files import sha256_file, sha256_text

if TYPE_CHECKING:
    from exporters.details import ExportDetails
    from toolkit.model.loading import LoadedModel

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The code that decides an artifact's bytes: the converters and the toolkit's export path. Hashed by
# path (never imported), so reading a manifest does not load a converter.
EXPORTER_CODE = ("exporters/*.py", "toolkit/export/*.py", "toolkit/model/calling.py", "toolkit/model/spec.py",
                 "toolkit/model/vocabulary.py", "toolkit/model/input_ranges.py")


def package_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


@functools.lru_cache(maxsize=1)
def exporter_code_fingerprint() -> str:
    """Hash of the exporter sources: an artifact made by other converter code is re-exported."""
    sources = sorted({path for pattern in EXPORTER_CODE for path in PROJECT_ROOT.glob(pattern)})
    return sha256_text(toolkit.__version__, *(path.read_text() for path in sources))[:16]


def file_table(folder: Path) -> dict[str, dict]:
    """Relative path -> {sha256, size} for every file under `folder` except the manifest."""
    table = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.name != MANIFEST_NAME:
            table[path.relative_to(folder).as_posix()] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return table


def build_manifest(folder: Path, *, loaded: LoadedModel, target: str, quantization: str, converter: str,
                   details: ExportDetails, options: dict) -> dict:
    return {
        "format": target,
        "quantization": quantization,
        "main_file": details.main_file,
        "model": loaded.name,
        "source_model": {"path": str(loaded.path), "sha256": loaded.source_sha256},
        "signature": loaded.signature.to_json(),
        "options": options,
        "exporter_code": exporter_code_fingerprint(),
        "rewrites": details.rewrites,
        "notes": details.notes,
        **({"quantization_report": details.quantization_report} if details.quantization_report else {}),
        "files": file_table(folder),
        "versions": {
            "toolkit": toolkit.__version__,
            "tensorflow": package_version("tensorflow"),
            "keras": package_version("keras"),
            "converter": {converter: package_version(converter)},
        },
        "created_unix": int(time.time()),
    }


def write_manifest(folder: Path, manifest: dict) -> None:
    (Path(folder) / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def manifest_problems(folder: Path, manifest: dict) -> list[str]:
    """Differences between the manifest's file table and what is on disk; [] when they agree."""
    on_disk = file_table(folder)
    listed = manifest.get("files", {})
    problems = [f"{name} is listed but missing" for name in listed.keys() - on_disk.keys()]
    problems += [f"{name} is on disk but not listed" for name in on_disk.keys() - listed.keys()]
    problems += [
        f"{name} differs from its manifest entry"
        for name in listed.keys() & on_disk.keys()
        if listed[name] != on_disk[name]
    ]
    return problems
