"""ONNX Runtime: CPUExecutionProvider, or CUDAExecutionProvider when onnxruntime-gpu and a GPU are present."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from toolkit.errors import RuntimeUnavailableError
from toolkit.registry import runtime
from toolkit.runtimes.base import Runtime

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


@runtime("onnxruntime", target="onnx")
class OnnxRuntime(Runtime):
    """Options: provider ("cpu" default, or "cuda"), threads (None = ORT default: all cores)."""

    def load_impl(self) -> None:
        import onnxruntime as ort

        provider = PROVIDERS[self.options.get("provider", "cpu")]
        if provider not in ort.get_available_providers():
            raise RuntimeUnavailableError(
                f"onnxruntime: {provider} is not available here (install the `gpu` extra, onnxruntime-gpu, on a CUDA machine)"
            )
        session_options = ort.SessionOptions()
        if self.threads:
            session_options.intra_op_num_threads = self.threads
            session_options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.main_file), session_options, providers=[provider])
        # ONNX Runtime falls back to the CPU when CUDA fails to load: a GPU row must not pass silently.
        if provider not in self._session.get_providers():
            raise RuntimeUnavailableError(f"no GPU: the ONNX Runtime session runs on {self._session.get_providers()} ({provider} did not load)")
        self._output_names = [o.name for o in self._session.get_outputs()]

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = self._session.run(self._output_names, feeds)
        return dict(zip(self._output_names, values))

    def engine_call(self) -> Callable[[dict], object]:
        run, names = self._session.run, self._output_names
        return lambda feeds: run(names, feeds)

    def close_impl(self) -> None:
        self._session = None
