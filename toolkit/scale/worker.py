"""A scale-out worker: one process, one TensorFlow import, many units.

    python -m toolkit.scale.worker

Reads one unit per line (JSON) on stdin and answers each with one JSON line on the file descriptor the
parent passed as its stdout; everything the converters and runtimes print goes to stderr. The Node
server, Chromium and the models a unit started stay up for the next unit. It exits at stdin's EOF, with
130 on Ctrl+C (the export being written cleans its staging folder first), and at once when its parent
is gone. `perform_unit` is the same work as a Ray task (toolkit/scale/ray_cluster.py).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback

EXIT_INTERRUPTED = 130
_READY = False


def _exit_when_parent_dies() -> None:
    """Polling the parent's pid: stdin carries the units, so its EOF cannot be watched mid-unit."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def perform_unit(unit: dict) -> dict:
    """The envelope of one unit: {"result": ...} or {"error": {"type", "message", "traceback"}}, with "seconds"."""
    global _READY
    from toolkit.errors import ToolkitError
    from toolkit.export.isolation import error_payload

    if not _READY:
        from toolkit.plugins import load_plugins
        from toolkit.tf_env import import_tf

        import_tf()
        load_plugins()
        _READY = True
    from toolkit.scale.perform import perform

    started = time.perf_counter()
    try:
        return {"result": perform(unit), "seconds": time.perf_counter() - started}
    except ToolkitError as error:  # bad input, an unwritable folder: the run stops with this error, as a serial run would
        return error_payload(error)


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # converters print: keep fd 1 for nothing but the answers
    sys.stdout = sys.stderr
    _exit_when_parent_dies()
    from toolkit.errors import one_line

    try:
        for line in sys.stdin:
            unit = json.loads(line)
            try:
                envelope = perform_unit(unit)
            except Exception as error:  # a bug or MemoryError: this unit's rows say so, the worker goes on
                envelope = {"lost": f"worker error: {one_line(error, 300)}", "traceback": traceback.format_exc()}
            answers.write(json.dumps({"index": unit["index"], **envelope}) + "\n")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    code = main()
    if code == 0:
        import atexit

        atexit._run_exitfuncs()  # stop the Node server, Chromium and qemu this worker started (0.3 s)
    sys.stderr.flush()
    # Skip interpreter teardown: TensorFlow's destructors took 1.9 s of every worker's exit, all answers are written.
    os._exit(code)
