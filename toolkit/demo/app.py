"""The demo page's server side: which artifacts it shows, its config.json, and the sample digits.

`toolkit.api.demo_server` exports what is missing and calls `build_demo_server`; the CLI serves it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from toolkit.demo.config import SAMPLES_PER_CLASS, tolerance_json
from toolkit.demo.static_server import StaticServer, require_web_demo
from toolkit.export.manifest import read_manifest

DEMO_TARGETS = ("tfjs", "onnx")


def is_digit_like(signature: dict) -> bool:
    """One (N, 64) float input and one (N, 10) output: the drawing pad and samples apply."""
    inputs, outputs = signature["inputs"], signature["outputs"]
    return (
        len(inputs) == 1 and len(outputs) == 1
        and inputs[0]["shape"][1:] == [64] and inputs[0]["dtype"] == "float32"
        and outputs[0]["shape"][1:] == [10]
    )


def digit_samples(per_class: int = SAMPLES_PER_CLASS) -> list[dict]:
    """The first held-out test digits of each class, as the page shows them to click."""
    from models.digits import digits_split

    _, _, x_test, y_test = digits_split()
    samples = []
    for label in range(10):
        for index in [int(i) for i in (y_test == label).nonzero()[0][:per_class]]:
            samples.append({"label": label, "index": index, "pixels": [round(float(v), 6) for v in x_test[index]]})
    return samples


def demo_config(folders: dict[str, Path]) -> dict:
    """What the page reads first: artifact URLs, signature, tolerance and sample digits."""
    manifests = {t: read_manifest(folder) for t, folder in folders.items()}
    signature = manifests["onnx"]["signature"]
    drawing = is_digit_like(signature)
    return {
        "model": manifests["onnx"]["model"],
        "signature": signature,
        "tolerance": tolerance_json(),
        "artifacts": {t: f"artifacts/{t}/{m['main_file']}" for t, m in manifests.items()},
        "golden": {t: f"artifacts/{t}/golden.json" for t in folders},
        "drawing": drawing,
        "samples": digit_samples() if drawing else [],
    }


def build_demo_server(folders: dict[str, Path], port: int) -> StaticServer:
    """The page and the model's artifacts (`folders`: target -> artifact folder) on 127.0.0.1:`port`."""
    require_web_demo()
    config = demo_config(folders)
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
