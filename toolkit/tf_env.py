"""Quiet, single-place TensorFlow import: call `import_tf()` before anything imports keras.

TensorFlow's C++ start-up chatter (CUDA probing, duplicate-factory notices) is
written by absl before its log level applies, so it drowns the toolkit's own
output; the first import therefore runs with file descriptor 2 pointed at
/dev/null (Python exceptions are still raised normally).
"""

import contextlib
import os
import sys


def quiet_tensorflow_logs() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@contextlib.contextmanager
def _native_stderr_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tf():
    quiet_tensorflow_logs()
    if "tensorflow" in sys.modules or os.environ.get("TOOLKIT_TF_VERBOSE"):
        import tensorflow as tf
    else:
        with _native_stderr_silenced():
            import tensorflow as tf

            import keras  # noqa: F401  (its first import prints the same chatter)
    tf.get_logger().setLevel("ERROR")
    return tf
