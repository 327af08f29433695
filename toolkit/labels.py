"""How things are named and sized in every table, report and message: one function each."""

from __future__ import annotations


def artifact_label(target: str, quantization: str) -> str:
    """An artifact's name everywhere: its folder, tables and reports ("tflite-int8", "onnx")."""
    return target if quantization == "none" else f"{target}-{quantization}"


def human_size(size: float) -> str:
    """Bytes as people read them: "512 B", "41.2 KB", "10.8 MB"."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
