"""`toolkit demo`: the browser demo page for a model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.api.common import DEFAULT_OUT, ModelRef, _ready, load
from toolkit.api.exporting import export

if TYPE_CHECKING:
    from toolkit.demo.static_server import StaticServer


def demo_server(model: ModelRef = "digits", port: int = 8000, out_dir: Path = DEFAULT_OUT, *,
                custom_objects: Path | None = None, unsafe: bool = False) -> StaticServer:
    """The demo page for `model` (its TF.js and ONNX artifacts exported if missing), not yet serving.

    A target whose export fails is left out and its panel shows why; only when none exports does it raise.
    """
    _ready()
    from toolkit.demo.app import DEMO_TARGETS, build_demo_server
    from toolkit.demo.kinds import image_value_range
    from toolkit.export.run import raise_for_failures

    loaded = load(model, custom_objects, unsafe)
    results = export(loaded, DEMO_TARGETS, None, out_dir)
    if not any(result.ok for result in results):
        raise_for_failures(results)
    folders = {result.target: result.path for result in results if result.ok}
    unavailable = {result.target: result.error or result.skipped for result in results if not result.ok}
    return build_demo_server(folders, port, value_range=image_value_range(loaded), unavailable=unavailable)


def start_demo(model: ModelRef = "digits", port: int = 0, out_dir: Path = DEFAULT_OUT, *,
               custom_objects: Path | None = None, unsafe: bool = False) -> tuple[str, Callable[[], None]]:
    """The demo served from a background thread; returns (url, shutdown)."""
    from toolkit.demo.static_server import run_in_background

    return run_in_background(demo_server(model, port, out_dir, custom_objects=custom_objects, unsafe=unsafe))
