"""How much `--jobs` and `--ray` buy: measured speed-up on this machine, and the zoo's wall time on N machines.

    PYTHONPATH=. .venv/bin/python benchmarks/scaling.py speedup [--rounds 3] [--ray]
    PYTHONPATH=. .venv/bin/python benchmarks/scaling.py zoo [--jobs 2] [--json FILE]
    PYTHONPATH=. .venv/bin/python benchmarks/scaling.py project FILE [--machines 1,2,4,8] [--per-machine 2]

speedup: the four user models of parity_tests/user_zoo.py (two inputs, a GRU, a custom layer, a Conv1D
regressor), `toolkit parity --models DIR --target onnx,tflite --quantize none` into a fresh --out each
time (every export made again), `--jobs 1` and `--jobs 2` alternating in each round (and `--ray` with
--ray), wall time of the whole command; the ratio is taken per round, so the machine's load drifts out
of it. The verdicts of every run are compared row by row.

zoo: every zoo model x target x quantization as units on --jobs workers (a fresh --out), each unit's
seconds as its worker measured them and the workers' start-up (TensorFlow import, first model load),
written to --json. project: from that file, the wall time on N machines of --per-machine workers each:
the start-up plus the longest-processing-time-first schedule of the measured units over N x workers
slots (a unit's time includes starting the runtimes it was the first on its worker to need).

A script, not a test: speedup takes 2-4 minutes; zoo tens of minutes (ResNet50 alone is ~9).
"""

from __future__ import annotations

import argparse
import heapq
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLKIT = [sys.executable, "-m", "toolkit.cli"]


def _verdicts(report: Path) -> list[tuple]:
    rows = json.loads(report.read_text())["results"]
    return [(r["model"], r["target"], r["quantization"], r["runtime"], r["batch"], r["passed"], r["error_kind"])
            for r in rows]


def _parity(folder: Path, layers: Path, mode: list[str], scratch: Path) -> tuple[float, list[tuple]]:
    out, report = Path(tempfile.mkdtemp(dir=scratch)), scratch / f"{time.monotonic_ns()}.json"
    command = [*TOOLKIT, "parity", "--models", str(folder), "--custom-objects", str(layers), "--target", "onnx,tflite",
               "--quantize", "none", "--out", str(out), "--json", str(report), *mode]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(mode)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, _verdicts(report)


def speedup(rounds: int, with_ray: bool) -> None:
    from parity_tests.user_zoo import write_user_zoo

    scratch = Path(tempfile.mkdtemp(prefix="scaling-"))
    folder = scratch / "models"
    layers = write_user_zoo(folder)
    modes = {"--jobs 1": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"]}
    if with_ray:
        modes["--ray"] = ["--ray"]
    times: dict[str, list[float]] = {name: [] for name in modes}
    verdicts = {}
    for round_index in range(rounds):
        order = list(modes) if round_index % 2 == 0 else list(reversed(modes))
        for name in order:
            seconds, rows = _parity(folder, layers, modes[name], scratch)
            times[name].append(seconds)
            verdicts.setdefault(name, rows)
            if rows != verdicts[name]:
                raise SystemExit(f"{name}: verdicts changed between rounds")
            print(f"round {round_index + 1}: {name} {seconds:.1f} s", flush=True)
    reference = verdicts["--jobs 1"]
    print(f"\n{len(reference)} parity rows per run; identical verdicts: "
          + ", ".join(f"{name} {'yes' if rows == reference else 'NO'}" for name, rows in verdicts.items()))
    print("\n| mode | wall s per round | median s | median ratio to --jobs 1 (per round) |\n|---|---|---|---|")
    for name, values in times.items():
        ratios = [value / base for value, base in zip(values, times["--jobs 1"])]
        print(f"| {name} | {', '.join(f'{v:.1f}' for v in values)} | {statistics.median(values):.1f} | "
              f"{statistics.median(ratios):.2f}x |")


def zoo(jobs: int, report: Path) -> None:
    from models import reference_names
    from toolkit.api.scaling import _perform, unit_request
    from toolkit.export.layout import plan_exports
    from toolkit.plugins import load_plugins
    from toolkit.runtimes.variants import runtime_variants
    from toolkit.scale.run import Callbacks, Scale, run_units

    load_plugins()
    names = reference_names("zoo")
    variants = runtime_variants()
    units: list[dict] = []
    started = time.perf_counter()
    first_dispatch: list[float] = []

    def on_unit(unit: dict, answer: dict) -> None:
        units.append({"model": unit["model"], "target": unit["target"], "quantization": unit["quantization"],
                      "seconds": answer.get("seconds"), "lost": answer.get("lost")})
        print(f"{time.perf_counter() - started:7.1f} s  {unit['model']} {unit['target']}-{unit['quantization']}: "
              f"{answer.get('seconds') or 0:.1f} s", flush=True)

    callbacks = Callbacks(on_unit=on_unit, on_dispatch=lambda unit, pid: first_dispatch or first_dispatch.append(
        time.perf_counter() - started))
    out = Path(tempfile.mkdtemp(prefix="scaling-zoo-"))
    run_units(names, plan_exports(("all",), ("all",)), "parity", unit_request(out), Scale(jobs=jobs), _perform(),
              lambda target: [v.label for v in variants if v.target == target], callbacks)
    wall = time.perf_counter() - started
    report.write_text(json.dumps({"jobs": jobs, "wall_s": wall, "startup_s": first_dispatch[0], "units": units},
                                 indent=1))
    print(f"zoo: {len(units)} units, wall {wall:.0f} s on {jobs} workers, start-up {first_dispatch[0]:.1f} s, "
          f"sum of units {sum(u['seconds'] or 0 for u in units):.0f} s; written to {report}")


def makespan(durations: list[float], slots: int) -> float:
    """Longest-processing-time-first: each unit, longest first, to the slot that frees first."""
    heap = [0.0] * slots
    for seconds in sorted(durations, reverse=True):
        heapq.heappush(heap, heapq.heappop(heap) + seconds)
    return max(heap)


def project(report: Path, machines: list[int], per_machine: int) -> None:
    measured = json.loads(report.read_text())
    durations = [u["seconds"] or 0.0 for u in measured["units"]]
    startup = measured["startup_s"]
    print(f"measured: {len(durations)} units, {sum(durations):.0f} s of unit time, longest {max(durations):.0f} s; "
          f"wall {measured['wall_s']:.0f} s on {measured['jobs']} workers (start-up {startup:.1f} s)\n")
    print("| machines | workers | projected wall | speed-up over 1 worker |\n|---|---|---|---|")
    one = startup + sum(durations)
    for count in machines:
        slots = count * per_machine
        wall = startup + makespan(durations, slots)
        print(f"| {count} | {slots} | {wall / 60:.1f} min | {one / wall:.1f}x |")
    print(f"\n(1 worker: {one / 60:.1f} min; no schedule beats the longest unit, {max(durations) / 60:.1f} min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    speed = commands.add_parser("speedup")
    speed.add_argument("--rounds", type=int, default=3)
    speed.add_argument("--ray", action="store_true", help="also time --ray (a local Ray instance)")
    measure = commands.add_parser("zoo")
    measure.add_argument("--jobs", type=int, default=2)
    measure.add_argument("--json", type=Path, default=ROOT / "test-output" / "scaling_zoo.json")
    projection = commands.add_parser("project")
    projection.add_argument("report", type=Path)
    projection.add_argument("--machines", default="1,2,4,8")
    projection.add_argument("--per-machine", type=int, default=2)
    args = parser.parse_args()
    if args.command == "speedup":
        speedup(args.rounds, args.ray)
    elif args.command == "zoo":
        args.json.parent.mkdir(parents=True, exist_ok=True)
        zoo(args.jobs, args.json)
    else:
        project(args.report, [int(n) for n in args.machines.split(",")], args.per_machine)


if __name__ == "__main__":
    main()
