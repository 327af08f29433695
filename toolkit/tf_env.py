"""Quiet, single-place TensorFlow import: call `import_tf()` before anything imports keras.

TensorFlow's C++ start-up chatter (CUDA probing, duplicate-factory notices) is
written by absl before its log level applies, so it drowns the toolkit's own
output; the first import therefore runs with file descriptor 2 pointed at
/dev/null (Python exceptions are still raised normally).
"""

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


def quiet_tensorflow_logs() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # tensorflowjs imports tensorflow_decision_forests, whose banner needs IPython whenever
    # stdout is not a terminal (pytest capture, pipes): without this the import fails.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")


@contextlib.contextmanager
def native_output_silenced(fds: tuple[int, ...] = (2,)) -> Iterator[None]:
    """Point the given file descriptors at /dev/null: hides C++ logging that Python cannot filter.

    Converters (TFLite's MLIR passes, TF start-up) print straight to fd 1/2; Python
    exceptions still propagate, so failures are reported by the caller as usual.
    """
    if os.environ.get("TOOLKIT_TF_VERBOSE"):
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in fds}
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(devnull, fd)
        yield
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def import_tf() -> ModuleType:
    quiet_tensorflow_logs()
    if "tensorflow" in sys.modules:
        import tensorflow as tf
    else:
        with native_output_silenced():
            import keras  # noqa: F401  (its first import prints the same chatter)
            import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return tf
