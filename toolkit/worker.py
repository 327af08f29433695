"""A child process that loads one model and either describes it or exports one artifact of it.

    python -m toolkit.worker JOB.json RESULT.json

toolkit/export/isolation.py writes the job, waits and reads the result. Every byte a converter
allocated goes back to the OS when this process exits, so exporting several targets of a large
model costs the largest converter's peak instead of their sum. Nothing is pickled: job and result
are JSON; an error crosses as (ToolkitError class name, message, traceback text).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

EXIT_INTERRUPTED = 130


def _exit_when_parent_dies() -> None:
    """The parent holds our stdin's write end and never writes: EOF means it is gone (even SIGKILLed).

    Exit at once rather than finish an export nobody waits for; what is left is a `.tmp-*` folder
    beside the artifact, which the next export of it sweeps.
    """

    def watch() -> None:
        # os.read on the raw fd: a daemon thread blocked in sys.stdin's buffered reader holds its lock,
        # and the interpreter aborts at shutdown ("could not acquire lock for <stdin>").
        try:
            while os.read(0, 1 << 16):
                pass
        except OSError:  # stdin closed or unreadable: the same meaning
            pass
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _load(job: dict) -> object:
    from toolkit.model.samples import resolve_with_range
    from toolkit.plugins import load_plugins
    from toolkit.tf_env import import_tf

    import_tf()
    load_plugins()
    return resolve_with_range(job["model"], job["custom_objects"], job["unsafe"], job.get("input_range"))


def run(job: dict) -> dict:
    loaded = _load(job)
    if job["action"] == "describe":
        return {"described": {"name": loaded.name, "path": str(loaded.path), "sha256": loaded.source_sha256,
                              "signature": loaded.signature.to_json()}}
    from toolkit.export.run import export_here

    result = export_here(loaded, job["target"], job["quantization"], Path(job["folder"]), job["options"])
    return {"result": {**vars(result), "path": str(result.path)}}


def main(argv: list[str] | None = None) -> int:
    job_path, result_path = map(Path, argv or sys.argv[1:])
    _exit_when_parent_dies()
    os.dup2(2, 1)  # fd 1 is the parent's user-facing stdout (tables, JSON): anything printed here goes to stderr
    sys.stdout = sys.stderr
    from toolkit.errors import ToolkitError, one_line
    from toolkit.export.isolation import error_payload

    try:
        payload = run(json.loads(job_path.read_text()))
    except KeyboardInterrupt:  # Ctrl+C reaches the whole process group; the finally blocks cleaned up
        return EXIT_INTERRUPTED
    except ToolkitError as error:  # the model did not load: the parent raises the same class
        payload = error_payload(error)
    except BaseException as error:  # MemoryError, a bug: reported as the export's failure, not a silent exit code
        payload = error_payload(error, as_type="ExportError", message=one_line(error, 500))
    staging = result_path.with_suffix(".tmp")
    staging.write_text(json.dumps(payload))
    os.replace(staging, result_path)  # the parent never reads half a result
    return 0


if __name__ == "__main__":
    code = main()
    # Skip interpreter teardown (TensorFlow's atexit hooks, destructors of a multi-GB heap): the result is
    # written, and the OS reclaims the memory at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
