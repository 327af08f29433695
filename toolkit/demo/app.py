"""The demo page's server side: which artifacts it shows, its config.json, and the sample digits.

`toolkit.api.demo_server` exports what is missing and calls `build_demo_server`; the CLI serves it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from toolkit.demo.config import LATENCY_RUNS, SAMPLES_PER_CLASS, tolerance_json
from toolkit.demo.kinds import DIGITS, IMAGE, UNIT_RANGE, UNIT_RULE, image_input, model_kind
from toolkit.demo.static_server import StaticServer, require_web_demo
from toolkit.export.manifest import read_manifest

DEMO_TARGETS = ("tfjs", "onnx")
ValueRange = tuple[tuple[float, float], str]


def digit_samples(per_class: int = SAMPLES_PER_CLASS) -> list[dict]:
    """The first held-out test digits of each class, as the page shows them to click."""
    from models.digits import digits_split

    _, _, x_test, y_test = digits_split()
    samples = []
    for label in range(10):
        for index in [int(i) for i in (y_test == label).nonzero()[0][:per_class]]:
            samples.append({"label": label, "index": index, "pixels": [round(float(v), 6) for v in x_test[index]]})
    return samples


def demo_config(folders: dict[str, Path], value_range: ValueRange = (UNIT_RANGE, UNIT_RULE),
                unavailable: dict[str, str] | None = None) -> dict:
    """What the page reads first: the model's kind, artifact URLs, signature, tolerance and its inputs.

    `folders` holds the artifacts that exist (target -> folder); `unavailable` says why the others
    do not (target -> export error), so their panels can say so instead of the page failing.
    """
    manifests = {t: read_manifest(folder) for t, folder in folders.items()}
    first = manifests.get("onnx") or next(iter(manifests.values()))
    signature = first["signature"]
    kind = model_kind(signature)
    return {
        "model": first["model"],
        "kind": kind,
        "signature": signature,
        "tolerance": tolerance_json(),
        "latency_runs": LATENCY_RUNS,
        "artifacts": {t: f"artifacts/{t}/{m['main_file']}" for t, m in manifests.items()},
        "golden": {t: f"artifacts/{t}/golden.json" for t in folders},
        "unavailable": dict(unavailable or {}),
        "drawing": kind == DIGITS,
        "samples": digit_samples() if kind == DIGITS else [],
        "image": image_input(signature, value_range) if kind == IMAGE else None,
    }


def build_demo_server(folders: dict[str, Path], port: int, *, value_range: ValueRange = (UNIT_RANGE, UNIT_RULE),
                      unavailable: dict[str, str] | None = None) -> StaticServer:
    """The page and the model's artifacts (`folders`: target -> artifact folder) on 127.0.0.1:`port`."""
    require_web_demo()
    config = demo_config(folders, value_range, unavailable)
    server = StaticServer(port)
    for target, folder in folders.items():
        server.mount(f"artifacts/{target}", folder)
    server.add_json("config.json", lambda: config)
    return server


def can_open_browser() -> bool:
    """A GUI browser can open here; without a display, webbrowser would start a console browser in this terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
