"""File helpers: content hashes, the cache folder, and all-or-nothing writes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cache_dir() -> Path:
    """$TOOLKIT_CACHE_DIR, else $XDG_CACHE_HOME/keras-export-toolkit, else ~/.cache/keras-export-toolkit."""
    explicit = os.environ.get("TOOLKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras-export-toolkit"


@contextlib.contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; rename it into place only if the block succeeds.

    A crash or kill mid-write leaves at most a hidden `.tmp-*` folder, never a
    partial `final`; stale temporaries are swept by `sweep_stale_temporaries`.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        yield staging
        if final.exists():
            # Swap: move the old one aside first so a crash never leaves neither.
            retired = final.parent / f".old-{final.name}-{os.getpid()}"
            os.replace(final, retired)
            os.replace(staging, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it over `final` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".tmp-{final.stem}-", suffix=final.suffix, dir=final.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        os.replace(staging, final)
    finally:
        staging.unlink(missing_ok=True)


def sweep_stale_temporaries(folder: Path) -> None:
    """Remove `.tmp-*` / `.old-*` leftovers of writers that were killed."""
    if not Path(folder).is_dir():
        return
    for leftover in Path(folder).glob(".tmp-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    for leftover in Path(folder).glob(".old-*"):
        shutil.rmtree(leftover, ignore_errors=True)
