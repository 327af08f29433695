"""The Runtime interface: load an artifact, describe it, infer by name, close.

Like Polygraphy's runners: the public `infer()` checks the feed against the
artifact's signature and converts results; subclasses implement only
`load_impl`, `infer_impl` and (if they hold resources) `close_impl`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.errors import InputsError
from toolkit.manifest import read_manifest
from toolkit.spec import ModelSignature, check_feeds


class Runtime:
    name = "runtime"  # set by @toolkit.registry.runtime

    def __init__(self, artifact: Path, threads: int | None = None, **options):
        """`artifact` is an artifact folder holding manifest.json (the keras runtime takes a .keras file)."""
        # Absolute: out-of-process runtimes (Node, Chromium) do not share this process's working directory.
        self.artifact = Path(artifact).resolve()
        self.threads = threads
        self.options = options
        self.signature: ModelSignature | None = None
        self.active = False

    # --- public API -------------------------------------------------------
    def activate(self) -> Runtime:
        if not self.active:
            self.signature = self.read_signature()
            self.load_impl()
            self.active = True
        return self

    def infer(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch; inputs and outputs are matched by name, never by position."""
        if not self.active:
            self.activate()
        problems = check_feeds(self.signature.inputs, feeds)
        if problems:
            raise InputsError(f"{self.name}: " + "; ".join(problems))
        outputs = self.infer_impl(feeds)
        return {name: np.asarray(value) for name, value in outputs.items()}

    def close(self) -> None:
        if self.active:
            self.close_impl()
            self.active = False

    def __enter__(self):
        return self.activate()

    def __exit__(self, *exc_info):
        self.close()

    # --- for subclasses -------------------------------------------------------
    def read_signature(self) -> ModelSignature:
        manifest = read_manifest(self.artifact)
        if manifest is None:
            raise InputsError(f"{self.artifact} has no manifest.json; export it with `toolkit export`")
        self.manifest = manifest
        return ModelSignature.from_json(manifest["signature"])

    @property
    def main_file(self) -> Path:
        return self.artifact / self.manifest["main_file"]

    def load_impl(self) -> None:
        raise NotImplementedError

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def close_impl(self) -> None:
        """Release resources; most runtimes only drop references."""
