"""What the numbers were measured on: machine, load, package versions, GPUs, Node."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time

from toolkit.export.manifest import package_version


def environment() -> dict:
    """What the numbers were measured on, for the report and the JSON."""
    packages = ("tensorflow", "keras", "onnxruntime", "onnxruntime-gpu", "ai-edge-litert", "tensorflowjs")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in packages},
        "gpus": _gpu_names(),
        "node": _command_output(["node", "--version"]),
        "load_average_start": load_average(),
    }


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: other work on the machine makes every number noisier."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        return None


def _gpu_names() -> list[str]:
    listed = _command_output(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
    return [line.strip() for line in listed.splitlines() if line.strip()] if listed else []


def _command_output(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
