"""`--ray [ADDRESS]`: the same units as Ray tasks, on a local Ray instance or an existing cluster.

Ray schedules; we declare. Each task asks for one CPU and the memory its unit can take (`unit_memory`),
so Ray runs no more units on a node than its memory holds. Tasks are not retried (max_retries=0): a
unit that killed its worker (out of memory) would do it again, so it becomes error rows saying so, as
with `--jobs`. Ray reuses its worker processes across tasks, so TensorFlow is imported and the Node
server and Chromium are started once per Ray worker, as in a local worker.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from toolkit.errors import UsageError, one_line
from toolkit.export.isolation import ISOLATE_FROM_BYTES, child_pythonpath
from toolkit.files import cache_dir

# A worker with TensorFlow, a model and the runtimes: 1.5 GB measured (docs/export_memory.md); 2 GiB with margin.
BASE_MEMORY = 2 * 2**30
# Converters' peak per byte of .keras file: in one process they keep what they allocate (13.8 GB for 202 MB of
# weights, 68x), in export children the largest one is 5.1 GB (25x) (docs/export_memory.md).
MEMORY_PER_MODEL_BYTE_INLINE = 68
MEMORY_PER_MODEL_BYTE_ISOLATED = 25
CONNECT_TIMEOUT_S = 5.0
LOCAL_OBJECT_STORE = 256 * 2**20  # units' results are a few KB of JSON: Ray's default (30% of RAM) is waste


def _model_bytes(spec: str) -> int:
    """The size of the .keras file of `spec`: the user's file, or a reference model's trained file in the cache
    (the largest version there; 0 before its first training, which happens in the task)."""
    path = Path(spec)
    if path.suffix == ".keras":
        return path.stat().st_size if path.is_file() else 0
    versions = (cache_dir() / "reference_models").glob(f"{spec}-*.keras")
    return max((version.stat().st_size for version in versions), default=0)


def unit_memory(unit: dict) -> int:
    """Bytes a unit may take at its peak, from the size of its model's .keras file."""
    size = _model_bytes(unit["model"])
    per_byte = MEMORY_PER_MODEL_BYTE_ISOLATED if size >= ISOLATE_FROM_BYTES else MEMORY_PER_MODEL_BYTE_INLINE
    return BASE_MEMORY + per_byte * size


def _ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs the ray package: pip install 'keras-export-toolkit[cluster]' (`make` installs "
                         "it from requirements.lock)") from None
    return ray


def _no_cluster(address: str, error: Exception) -> UsageError:
    return UsageError(f"--ray {address}: no Ray cluster answers there ({error}); start one with `ray start --head` "
                      "or omit the address for a local instance")


def _reachable(address: str) -> None:
    """Fail in seconds where nothing listens at HOST:PORT: ray.init retries an unanswered address for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray resolves them itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise _no_cluster(address, error) from None


def _connect(ray, address: str | None, jobs: int) -> bool:
    """Join the cluster at `address`, or start a local instance of `jobs` CPUs; True if we started it."""
    if ray.is_initialized():
        return False
    if address:
        _reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except ConnectionError as error:
            raise _no_cluster(address, error) from None
        return True
    ray.init(num_cpus=jobs, include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE, log_to_driver=False,
             configure_logging=False, runtime_env={"env_vars": {"PYTHONPATH": child_pythonpath()}})
    return True


class RayPool:
    """Units as Ray tasks of `perform`, on the cluster at `address` or a local instance of `jobs` CPUs (started
    on entry, shut down on exit). Leaving it on Ctrl+C or an error cancels what still runs (force: the workers
    are killed)."""

    def __init__(self, address: str | None, jobs: int, perform: Callable[[dict], dict]):
        self.address, self.jobs, self.perform, self.running = address, jobs, perform, {}

    def __enter__(self) -> RayPool:
        self.ray = _ray()
        self.started = _connect(self.ray, self.address, self.jobs)
        self.remote = self.ray.remote(self.perform)
        self.capacity = int(self.ray.cluster_resources().get("memory", 0)) or None
        return self

    def __exit__(self, *_: object) -> None:
        for ref in self.running:
            self.ray.cancel(ref, force=True)
        self.running.clear()
        if self.started:
            self.ray.shutdown()

    def run(self, units: list[dict], on_answer: Callable[[dict, dict], None],
            on_dispatch: Callable[[dict, int], None] | None = None) -> None:
        """`on_answer(unit, envelope)` as each task ends (`on_dispatch`: Ray decides when a task starts; unused)."""
        for unit in units:
            memory = unit_memory(unit) if self.capacity is None else min(unit_memory(unit), self.capacity)
            ref = self.remote.options(num_cpus=1, memory=memory, max_retries=0,
                                      name=f"{unit['kind']} {unit['model']} {unit['target'] or ''}").remote(unit)
            self.running[ref] = unit
        while self.running:
            done, _ = self.ray.wait(list(self.running), num_returns=1, timeout=1.0)
            for ref in done:
                on_answer(self.running.pop(ref), _answer(self.ray, ref))


def _answer(ray, ref) -> dict:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as error:  # the task's worker died (OOM, SIGKILL, a lost node)
        return {"lost": f"worker died: Ray: {one_line(error, 300)}"}
