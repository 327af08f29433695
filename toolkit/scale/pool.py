"""`--jobs N`: units spread over N worker processes on this machine (toolkit/scale/worker.py).

Each worker is started once and runs many units, so it imports TensorFlow once and keeps the Node
server, Chromium and LiteRT-under-qemu it started for its next unit. An idle worker takes the pending
unit it is warmest for (same target: its runtimes are up; same model: it is loaded), else one of a
target no other worker is warm for, so on a small machine each runtime is started once rather than
once per worker. A worker that dies (out-of-memory killer, SIGKILL) loses only the unit it was running:
that unit is answered {"lost": why} and a fresh worker takes the rest. Ctrl+C or an error stops every
worker: each gets SIGINT and time to remove its staging folder, then SIGKILL.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

from toolkit.export.isolation import child_pythonpath, describe_exit, stop_child
from toolkit.scale.units import affinity

OnAnswer = Callable[[dict, dict], None]  # (unit, envelope)
OnDispatch = Callable[[dict, int], None]  # (unit, pid of the worker it was given to)
POLL_S = 1.0
COLD_START_WORTH_S = 10.0
EXIT_WAIT_S = 30  # a finished worker closing its Node server and Chromium


class _Worker:
    def __init__(self, slot: int):
        env = {**os.environ, "PYTHONPATH": child_pythonpath()}
        # The slot is in the command line so `ps` (and the tests) can tell workers apart.
        self.process = subprocess.Popen([sys.executable, "-m", "toolkit.scale.worker", f"--slot={slot}"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.slot, self.unit, self.warm, self.pending_bytes, self.started = slot, None, set(), b"", 0.0

    def give(self, unit: dict) -> None:
        self.unit, self.started = unit, time.monotonic()
        self.warm.update(affinity(unit))
        try:
            self.process.stdin.write((json.dumps(unit) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError:  # it died: EOF on its answers pipe follows, and this unit is answered lost
            pass

    def answers(self, chunk: bytes) -> list[dict]:
        self.pending_bytes += chunk
        *lines, self.pending_bytes = self.pending_bytes.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]


def _score(unit: dict, worker: _Worker, others: list[_Worker]) -> int:
    target, model = affinity(unit)
    if target in worker.warm:
        score = 2
    else:
        score = -1 if any(target in other.warm for other in others) else 0
    return score + (1 if model in worker.warm else 0)


def _worth_starting(target: str, worker: _Worker, others: list[_Worker], waiting: int,
                    seconds: dict[str, list[float]]) -> bool:
    """Whether `worker` should start the runtimes of `target` (with `waiting` units pending), which others run.

    Only when the warm workers cannot take every pending unit of that target next, or when its units are
    long (then waiting for a warm worker costs more than starting Node, Chromium or qemu here, a few seconds).
    Measured on four small models: a cold worker taking the last unit beside a warm busy one added 1.8 s.
    """
    warm = [other for other in others if target in other.warm]
    if target in worker.warm or not warm:
        return True
    durations = seconds.get(target, [])
    return waiting > len(warm) or (bool(durations) and sum(durations) / len(durations) >= COLD_START_WORTH_S)


def _pick(pending: list[dict], worker: _Worker, workers: list[_Worker], seconds: dict[str, list[float]]) -> dict | None:
    """The unit `worker` takes next (removed from `pending`), or None: it waits for a better one."""
    others = [w for w in workers if w is not worker]
    waiting = Counter(affinity(unit)[0] for unit in pending)  # once per pick: a zoo has hundreds of units
    worth = {target: _worth_starting(target, worker, others, count, seconds) for target, count in waiting.items()}
    able = [i for i in range(len(pending)) if worth[affinity(pending[i])[0]]]
    if not able:
        return None
    return pending.pop(max(able, key=lambda i: (_score(pending[i], worker, others), -i)))


class LocalPool:
    """At most `jobs` workers, kept between `run` calls (a model's check and its work units share them).
    Use it as a context manager: leaving it stops every worker."""

    def __init__(self, jobs: int):
        self.jobs, self.workers, self.slots = jobs, [], iter(range(1, 1 << 30))
        self.selector = selectors.DefaultSelector()

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, kind: type | None, *_: object) -> None:
        self.selector.close()
        _stop_all(self.workers, finished=kind is None)

    def run(self, units: list[dict], on_answer: OnAnswer, on_dispatch: OnDispatch | None = None) -> None:
        """`on_answer(unit, envelope)` once per unit, as each ends; `on_dispatch(unit, worker pid)` as each starts.
        What they raise (or Ctrl+C) propagates."""
        pending, workers, seconds = list(units), self.workers, {}

        def dispatch(worker: _Worker) -> None:
            unit = _pick(pending, worker, workers, seconds)
            if unit is not None:
                worker.give(unit)
                if on_dispatch:
                    on_dispatch(unit, worker.process.pid)

        def answered(unit: dict, answer: dict, elapsed: float) -> None:
            seconds.setdefault(affinity(unit)[0], []).append(elapsed)
            on_answer(unit, answer)

        while pending or any(w.unit for w in workers):
            for worker in [w for w in workers if w.unit is None and pending]:
                dispatch(worker)
            while pending and len(workers) < self.jobs:
                worker = _Worker(next(self.slots))
                workers.append(worker)
                self.selector.register(worker.process.stdout, selectors.EVENT_READ, worker)
                dispatch(worker)
            for key, _ in self.selector.select(timeout=POLL_S):
                _read(key, workers, self.selector, answered)


def _read(key: selectors.SelectorKey, workers: list[_Worker], selector: selectors.BaseSelector,
          answered: Callable[[dict, dict, float], None]) -> None:
    """Answers a worker wrote, or its death: EOF on its answers pipe."""
    worker = key.data
    chunk = os.read(key.fileobj.fileno(), 1 << 16)
    if chunk:
        for answer in worker.answers(chunk):
            unit, worker.unit = worker.unit, None
            answered(unit, answer, time.monotonic() - worker.started)
        return
    selector.unregister(key.fileobj)
    workers.remove(worker)
    worker.process.stdout.close()
    code = worker.process.wait()
    if worker.unit is not None:
        unit, worker.unit = worker.unit, None
        answered(unit, {"lost": f"worker died: its process {describe_exit(code)} while running this unit"},
                 time.monotonic() - worker.started)


def _stop_all(workers: list[_Worker], finished: bool) -> None:
    """Every worker exits at its stdin's EOF, stopping the Node server and Chromium it started (waited for
    when the work is done); after Ctrl+C or an error, busy ones get SIGINT and a grace period, then SIGKILL."""
    for worker in workers:
        try:
            worker.process.stdin.close()
        except OSError:  # its pipe is already broken: it is gone
            pass
    for worker in workers:
        if finished:
            try:
                worker.process.wait(timeout=EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                stop_child(worker.process)
        else:
            stop_child(worker.process)
        worker.process.stdout.close()
