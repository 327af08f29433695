"""A long-lived child process that answers one JSON line per request: the Node runtime's and the emulated
ARM runtime's transport.

Requests are `{"cmd", "seq", ...}`; a response echoes `seq` and either carries the result or
`{"error", "kind"}`. The process starts on first use; a timeout or a crash kills it, and the next
request starts a new one (`generation` tells runtimes to load their model again).
"""

from __future__ import annotations

import atexit
import itertools
import json
import queue
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from toolkit.errors import (
    InferenceError,
    InferenceTimeoutError,
    InputsError,
    RuntimeUnavailableError,
    ToolkitError,
)

# The `kind` of a worker error -> the typed error raised here. A model the engine cannot load or run
# (an op it lacks) is the runtime's refusal, not an export failure.
ERROR_TYPES = {"inputs": InputsError, "load": InferenceError, "execute": InferenceError}


class LineWorker:
    """Subclasses say how to start the process (`launch`) and how it is named in messages."""

    name = "worker"  # the runtime's name, the prefix of every message
    what = "the worker"  # how messages call the process
    start_hint = ""  # how to fix a process that cannot be started

    def __init__(self, timeout_s: float, startup_s: float = 0.0):
        """`startup_s`: extra time the first request after a start may take (an interpreter starting)."""
        self.timeout_s = timeout_s
        self.startup_s = startup_s
        self.process: subprocess.Popen | None = None
        self.generation = 0  # bumped at every start, so runtimes know to load their model again
        self._fresh = False  # no request answered since the last start
        self._lines: queue.Queue = queue.Queue()
        self._stderr: deque = deque(maxlen=20)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()  # one request in flight: the protocol is strictly request/response

    def launch(self) -> tuple[list[str], Path, dict[str, str] | None]:
        """(argv, cwd, environment or None) of the process; RuntimeUnavailableError when it cannot run here."""
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def request(self, command: str, timeout_s: float | None = None, **fields: object) -> dict:
        """Send one command and wait for its response; raises a ToolkitError on any failure."""
        with self._lock:
            if self.process is None:
                self._start()
            elif self.process.poll() is not None:
                self._fail(f"{self.what} had exited ({self._exit_reason()})")
            deadline = (timeout_s or self.timeout_s) + (self.startup_s if self._fresh else 0.0)
            response = self._exchange({"cmd": command, "seq": next(self._seq), **fields}, deadline)
            self._fresh = False
        if "error" in response:
            error_type = ERROR_TYPES.get(response.get("kind"), RuntimeUnavailableError)
            raise error_type(f"{self.name}: {response['error']}")
        return response

    def stop(self) -> None:
        with self._lock:
            self._kill()

    # --- process management -------------------------------------------------------
    def _start(self) -> None:
        argv, cwd, env = self.launch()
        # Fresh sinks, so the reader threads of a killed process cannot mix old lines into new ones.
        self._lines, self._stderr = queue.Queue(), deque(maxlen=20)
        try:
            self.process = subprocess.Popen(argv, cwd=cwd, env=env, text=True, encoding="utf-8", stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1)
        except OSError as error:
            hint = f"; {self.start_hint}" if self.start_hint else ""
            raise RuntimeUnavailableError(f"{self.name}: cannot start {argv[0]} ({error}){hint}") from error
        self.generation += 1
        self._fresh = True
        # Reader threads: stdout lines go to a queue (so reads can time out), stderr to a short tail for messages.
        threading.Thread(target=_pump, args=(self.process.stdout, self._lines.put, True), daemon=True).start()
        threading.Thread(target=_pump, args=(self.process.stderr, self._stderr.append, False), daemon=True).start()

    def _exchange(self, message: dict, timeout_s: float) -> dict:
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:  # BrokenPipeError: it died since the poll above
            self._fail(f"{self.what} exited ({self._exit_reason()})")
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            self._fail(f"{self.what} did not answer '{message['cmd']}' within {timeout_s:g} s; it was killed",
                       InferenceTimeoutError)
        if line is None:
            self._fail(f"{self.what} exited during '{message['cmd']}' ({self._exit_reason()})")
        try:
            response = json.loads(line)
        except json.JSONDecodeError:
            self._fail(f"{self.what} wrote a line that is not JSON: {line[:200]!r}")
        if response.get("seq") != message["seq"]:
            self._fail(f"{self.what} answered request {response.get('seq')} instead of {message['seq']}")
        return response

    def _fail(self, message: str, error_type: type[ToolkitError] = InferenceError) -> None:
        """Kill the process (the next request starts a new one) and raise one clear error."""
        tail = " | ".join(line.strip() for line in list(self._stderr)[-3:] if line.strip())
        self._kill()
        detail = f"; its stderr ended with: {tail[:400]}" if tail else ""
        raise error_type(f"{self.name}: {message}{detail}; it restarts on the next request")

    def _exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # stdout closed but the process lingers
            return "stdout closed"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def _kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                try:
                    stream.close()
                except OSError:  # a broken pipe on a dead process: nothing left to flush
                    pass
            self.process = None


def _pump(stream, sink, mark_end: bool) -> None:
    """Copy lines from `stream` to `sink` until EOF; with `mark_end`, then send None (the process ended)."""
    try:
        for line in stream:
            sink(line)
    except (OSError, ValueError):  # the stream was closed under us by _kill
        pass
    if mark_end:
        sink(None)



class ModelInWorker:
    """Mixin for a Runtime whose model lives in a LineWorker under its own id, loaded again after a restart.

    `load_impl` calls `attach(worker)`; the runtime says what its `load` command carries (`load_fields`).
    """

    process_description = "worker process"  # for memory measurements
    _ids = itertools.count(1)

    def attach(self, worker: LineWorker) -> None:
        self.worker = worker
        self.model_id = f"{self.artifact.parent.name}/{self.artifact.name}#{next(ModelInWorker._ids)}"
        self._loaded_in = None  # the worker generation holding our model
        self._load()

    def load_fields(self) -> dict:
        raise NotImplementedError

    def call_timeout(self) -> float | None:
        """The deadline of each request (None: the worker's default)."""
        return self.timeout_s

    def inference_process(self) -> tuple[int | None, str]:
        return self.worker.pid, self.process_description

    def close_impl(self) -> None:
        if self.worker.running and self._loaded_in == self.worker.generation:
            self.worker.request("close", id=self.model_id)
        self._loaded_in = None

    def _load(self) -> None:
        self.worker.request("load", timeout_s=self.call_timeout(), id=self.model_id, **self.load_fields())
        self._loaded_in = self.worker.generation

    def _request(self, command: str, **fields: object) -> dict:
        """A request for our model, loading it again first if the worker restarted since we loaded it."""
        if self._loaded_in != self.worker.generation or not self.worker.running:
            self._load()
        return self.worker.request(command, timeout_s=self.call_timeout(), id=self.model_id, **fields)

Worker = TypeVar("Worker", bound=LineWorker)
_SHARED: dict[type, LineWorker] = {}
_SHARED_LOCK = threading.Lock()


def shared_process(kind: type[Worker], make: Callable[[], Worker]) -> Worker:
    """The one process of `kind` in this Python process (starting one costs seconds): made by `make` on first
    use, stopped at exit."""
    with _SHARED_LOCK:
        if kind not in _SHARED:
            _SHARED[kind] = make()
            atexit.register(_SHARED[kind].stop)
        return _SHARED[kind]
