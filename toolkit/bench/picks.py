"""What to ship: per model and deployment setting, the artifact and runtime to use, and why.

Among the rows of one model and setting at batch 1 (the smallest batch measured, if 1 was not) that
pass parity, the fastest p50 sets the bar; the pick is the smallest artifact within PICK_WINDOW of it
(a few percent of latency is noise on a shared machine, while a file 4x smaller is real). A row that
failed parity, or whose parity could not be checked, is never picked: when it was at least as fast as
the pick's window it is listed as rejected, with why, so a user sees what was passed over.

Settings are the benchmark's: `cpu` (a server), `browser` (desktop Chromium), `mobile-like` and `gpu`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from toolkit.bench.results import BenchRow
from toolkit.bench.settings import SETTINGS
from toolkit.labels import human_size

PICK_WINDOW = 0.10  # the pick may be up to 10% slower than the fastest passing row, if it is smaller
RUNTIME_NAMES = {
    "litert": "LiteRT", "onnxruntime": "ONNX Runtime", "tf_savedmodel": "TF SavedModel",
    "tfjs-node-cpu": "TF.js in Node (cpu)", "tfjs-node-wasm": "TF.js in Node (wasm)",
    "tfjs-browser": "TF.js in Chromium", "ort-web": "ONNX Runtime Web",
}


@dataclass
class Rejected:
    """A row as fast as the pick's window (or faster) that cannot be shipped."""

    artifact: str
    runtime: str
    threads: int | None
    p50_ms: float
    why: str


@dataclass
class Pick:
    model: str
    setting: str
    artifact: str | None  # None: no row of this setting passed parity
    runtime: str | None
    threads: int | None
    p50_ms: float | None
    size_bytes: int | None
    reason: str
    batch: int | None = None
    fastest_p50_ms: float | None = None  # the fastest passing row, which the pick is within PICK_WINDOW of
    rejected: list[Rejected] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def runtime_text(runtime: str, threads: int | None) -> str:
    """'LiteRT 2 threads', 'ONNX Runtime Web': as the picks table and reasons name a runtime."""
    name = RUNTIME_NAMES.get(runtime, runtime)
    return name if threads is None else f"{name} {threads} thread{'s' if threads != 1 else ''}"


def choose_picks(rows: Sequence[BenchRow]) -> list[Pick]:
    """One Pick per model and setting that has timed rows, settings in SETTINGS order."""
    groups: dict[tuple[str, str], list[BenchRow]] = {}
    for row in rows:
        if not row.is_baseline and row.error is None and row.p50_ms:
            groups.setdefault((row.model, row.setting), []).append(row)
    order = {name: index for index, name in enumerate(SETTINGS)}
    models = list(dict.fromkeys(row.model for row in rows))
    keys = sorted(groups, key=lambda k: (models.index(k[0]), order.get(k[1], len(order)), k[1]))
    return [pick_one(model, setting, groups[(model, setting)], float32_sizes(rows, model)) for model, setting in keys]


def float32_sizes(rows: Sequence[BenchRow], model: str) -> dict[str, int]:
    """Size of each target's float32 artifact: the yardstick of '0.27x size'."""
    return {r.target: r.size_bytes for r in rows if r.model == model and r.quantization == "none" and r.size_bytes}


def pick_one(model: str, setting: str, rows: Sequence[BenchRow], float32: dict[str, int]) -> Pick:
    batch = min(r.batch for r in rows)
    timed = sorted((r for r in rows if r.batch == batch), key=lambda r: r.p50_ms)
    passing = [r for r in timed if r.parity_passed is True]
    if not passing:
        rejected = _rejected(timed, float("inf"))
        return Pick(model, setting, None, None, None, None, None,
                    f"nothing to ship: none of {len(timed)} timed rows passed parity", batch, rejected=rejected)
    fastest = passing[0]
    window = fastest.p50_ms * (1 + PICK_WINDOW)
    chosen = min((r for r in passing if r.p50_ms <= window), key=lambda r: (r.size_bytes or float("inf"), r.p50_ms))
    rejected = _rejected(timed, window)
    return Pick(model, setting, chosen.artifact, chosen.runtime, chosen.threads, chosen.p50_ms, chosen.size_bytes,
                reason(chosen, fastest, float32, rejected), batch, fastest.p50_ms, rejected)


def _rejected(timed: Sequence[BenchRow], window: float) -> list[Rejected]:
    """Rows that could not be shipped although they were within the window (or faster); one per artifact x runtime."""
    found: dict[tuple, Rejected] = {}
    for row in timed:
        if row.parity_passed is not True and row.p50_ms <= window:
            key = (row.artifact, row.runtime, row.threads)
            found.setdefault(key, Rejected(row.artifact, row.runtime, row.threads, row.p50_ms, why_rejected(row)))
    return list(found.values())


def why_rejected(row: BenchRow) -> str:
    if row.parity_passed is None:
        return f"parity not checked: {row.parity_error or 'the runtime compared nothing'}"
    return f"fails parity ({quality_text(row) or 'no statistics'}){': ' + row.parity_error if row.parity_error else ''}"


def quality_text(row: BenchRow) -> str:
    """How close to Keras: top-1 agreement for classifiers, else SQNR, else the worst absolute error."""
    if row.top1_agreement is not None:
        return f"top-1 agreement {row.top1_agreement:.3f}"
    if row.sqnr_db is not None:
        return "SQNR exact" if row.sqnr_db == float("inf") else f"SQNR {row.sqnr_db:.1f} dB"
    return "" if row.max_abs_err is None else f"max abs error {row.max_abs_err:.2g}"


def reason(row: BenchRow, fastest: BenchRow, float32: dict[str, int], rejected: Sequence[Rejected]) -> str:
    """'tflite-int8 on LiteRT 2 threads: 0.031 ms, 0.27x size, top-1 agreement 0.995' and what it beat."""
    parts = [f"{row.p50_ms:.3g} ms" + ("" if row.batch == 1 else f" at batch {row.batch}")]
    base = float32.get(row.target)
    if base and row.size_bytes:
        parts.append(f"{row.size_bytes / base:.2f}x size" if row.quantization != "none" else human_size(row.size_bytes))
    parts.append(quality_text(row))
    text = f"{row.artifact} on {runtime_text(row.runtime, row.threads)}: {', '.join(p for p in parts if p)}"
    if row is not fastest:
        text += (f"; smallest within {PICK_WINDOW:.0%} of the fastest passing, {fastest.artifact} on "
                 f"{runtime_text(fastest.runtime, fastest.threads)} ({fastest.p50_ms:.3g} ms)")
    if rejected:
        text += f"; {len(rejected)} as fast or faster rejected (parity)"
    return text
