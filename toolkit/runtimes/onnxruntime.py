"""ONNX Runtime: CPUExecutionProvider, or CUDAExecutionProvider when onnxruntime-gpu and a GPU are present."""

from __future__ import annotations

from toolkit.errors import RuntimeUnavailableError
from toolkit.registry import runtime
from toolkit.runtimes.base import Runtime


@runtime("onnxruntime", target="onnx")
class OnnxRuntime(Runtime):
    """Options: provider ("cpu" default, or "cuda"), threads (None = ORT default: all cores)."""

    def load_impl(self):
        import onnxruntime as ort

        provider = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}[self.options.get("provider", "cpu")]
        if provider not in ort.get_available_providers():
            raise RuntimeUnavailableError(
                f"onnxruntime: {provider} is not available here (install the `gpu` extra, onnxruntime-gpu, on a CUDA machine)"
            )
        session_options = ort.SessionOptions()
        if self.threads:
            session_options.intra_op_num_threads = self.threads
            session_options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(self.main_file), session_options, providers=[provider])
        self._output_names = [o.name for o in self._session.get_outputs()]

    def infer_impl(self, feeds):
        values = self._session.run(self._output_names, feeds)
        return dict(zip(self._output_names, values))

    def close_impl(self):
        self._session = None
