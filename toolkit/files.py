"""File helpers: content hashes, the cache folder, and all-or-nothing writes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
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


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: Python has no getter)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


def staging_name(name: str) -> str:
    """Prefix of the temporaries of artifact `name`: "." separates it, so `tflite`'s never match `tflite-int8`'s."""
    return f".tmp-{name}."


@contextlib.contextmanager
def artifact_lock(final: Path) -> Iterator[None]:
    """Hold the lock of one artifact folder: one writer at a time, across processes (filelock, fcntl on Linux).

    Lock files live in one hidden ".locks" folder beside the artifacts, outside every artifact (never
    deployed, never in a manifest); they stay after release, as deleting a lock file would race.
    """
    from filelock import FileLock

    final = Path(final)
    locks = final.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{final.name}.lock")):
        yield


def sweep_stale_temporaries(final: Path) -> None:
    """Remove what killed writers of `final` left beside it; call it holding `artifact_lock(final)`.

    Under the lock no other writer of this artifact is alive, so every temporary of it is stale;
    temporaries of other artifacts (other locks) are never touched.
    """
    final = Path(final)
    if not final.parent.is_dir():
        return
    for pattern in (f"{staging_name(final.name)}*", f".old-{final.name}.*"):
        for leftover in final.parent.glob(pattern):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; rename it into place only if the block succeeds.

    A crash or kill mid-write leaves at most a hidden `.tmp-<name>.*` folder, never a partial `final`
    (swept by `sweep_stale_temporaries`). The folder gets the mode the umask asks for (0755 under
    022), not mkdtemp's 0700, so a web server can read what is published.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=staging_name(final.name), dir=final.parent))
    staging.chmod(0o777 & ~_umask())
    try:
        yield staging
        if final.exists():
            # Swap: move the old one aside first so a crash never leaves neither.
            retired = Path(tempfile.mkdtemp(prefix=f".old-{final.name}.", dir=final.parent))
            os.replace(final, retired / final.name)
            os.replace(staging, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it over `final` only if the block succeeds.

    The file gets the mode the umask asks for (0644 under 022), not mkstemp's 0600.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=staging_name(final.name), suffix=final.suffix, dir=final.parent)
    os.close(handle)
    staging = Path(name)
    staging.chmod(0o666 & ~_umask())
    try:
        yield staging
        os.replace(staging, final)
    finally:
        staging.unlink(missing_ok=True)
