"""Where LiteRT's ARM and x86 kernels differ: the same .tflite files, the same inputs, both builds of LiteRT.

For every reference model (and, with --zoo, MobileNetV3Small, EfficientNetB0 and the ViT) and every .tflite
quantization, runs the samples parity judges quantized artifacts on (toolkit/parity/judgement.py: the model's
own samples, up to --samples of them) through `litert` (x86-64, this machine) and `litert-arm64` (aarch64
under qemu-user, a Cortex-A76), with XNNPACK on and off, and reports per quantization the largest
|ARM - x86| over every output element, that output's scale (largest |x86| value), and how many samples'
top-1 class differ (classification outputs). Writes docs/arm.md.

    PYTHONPATH=. .venv/bin/python benchmarks/arm_vs_x86.py [--zoo] [--samples 128] [--out DIR] [--doc docs/arm.md]

A script, not a test: the small models take about a minute, --zoo adds several (emulation is slow).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUANTIZATIONS = ("none", "fp16", "dynamic", "int8", "int16x8")
ZOO = ("mobilenet_v3_small", "efficientnet_b0", "vit_encoder")
KERNELS = {"XNNPACK": True, "builtin": False}  # the runtimes' `xnnpack` option
INTRO = """
# ARM and x86 kernels: where their outputs differ

Phones run LiteRT's aarch64 build: XNNPACK's NEON kernels by default, ruy and the optimized NEON kernels
without it. The `litert-arm64` runtime runs that build under qemu-user (a Cortex-A76: ARMv8.2 with fp16
arithmetic and dot product; see README, Parity), so parity checks the numbers a phone computes. This page
compares the two builds directly: the same .tflite file and the same inputs (the samples parity judges
quantized artifacts on) through `litert` on this x86-64 machine and through `litert-arm64`, XNNPACK on and
off, with the largest absolute difference over every output element. "scale" is that output's largest
absolute value on x86, so the difference reads against it; "top-1 differs" counts samples whose class changed.
"""
FINDINGS = """
## What it shows

From the run above (128 samples per model):

- **float32 and fp16: rounding only.** At most 5.8e-06 on probabilities (EfficientNetB0) and 4.5e-06 on ViT
  logits of scale 10: a few float32 ulps, from ARM's and x86's kernels summing in different orders; no answer
  changed. fp16 files differ exactly as much as float32 ones, which says both builds widen their fp16 weights
  to float32 and compute in float32 (XNNPACK computes in fp16 only when an app forces it; ai-edge-litert's
  Python interpreter has no option for that): an fp16 file's error on a phone is its weights' rounding, as on x86.
- **dynamic range (int8 weights, activations quantized at run time):** ulps on the small models, but up to
  4.4e-02 on EfficientNetB0's probabilities (6.0e-02 without XNNPACK), 8.3e-03 on MobileNetV3Small and 2.1e-03
  on the ViT's logits: activations are quantized on the fly and accumulated by each ISA's int8 kernels, and deep
  networks carry a one-step difference in an early layer forward. No top-1 answer changed.
- **int8 with XNNPACK (what phones run by default):** bit-exact, or one output step (1/256 of a softmax), on every
  small model and MobileNetV3Small; the ViT drifts by 0.18 on logits of scale 10 and EfficientNetB0 by 0.36, with
  9 of 128 answers changed. That int8 file keeps only 0.92 top-1 agreement with Keras (docs/quantization.md:
  it fails the 0.97 budget; int8-selective is the one to ship), so many answers sit near a class boundary and
  any rounding difference flips some.
- **int8 without XNNPACK (LiteRT's builtin kernels: ruy and the optimized NEON kernels on ARM):** the ISAs differ
  more: up to 1.95e-02 (5 steps of 1/256) on the small models, 8.6e-02 on MobileNetV3Small with 1 of 128 answers
  changed, 0.91 on EfficientNetB0 with 21 of 128. An app that turns XNNPACK off gets int8 numbers on a phone that
  x86 parity does not show: check them with `--runtime litert-arm64`.
- **int16x8: bit-exact everywhere**, with and without XNNPACK (the ViT has no int16x8 file: LiteRT 2.3 lacks a
  16x8 SQUARED_DIFFERENCE kernel).

qemu executes each ARM instruction as the architecture defines it, so these are the numbers an ARMv8.2 core
computes for this code; which kernels LiteRT picks follows the emulated CPU (a Cortex-A76: NEON, fp16
arithmetic, dot product; no i8mm or SVE). A newer core takes other kernels, which may round differently again.
Not checked on ARM hardware here.
"""


def run_all(runtime_name: str, artifact: Path, chunks: list[dict], xnnpack: bool) -> dict[str, np.ndarray]:
    """Every chunk through one runtime; outputs concatenated along the batch, by name."""
    from toolkit.registry import runtimes

    with runtimes()[runtime_name].factory(artifact, xnnpack=xnnpack) as runtime:
        outputs = [runtime.infer(chunk) for chunk in chunks]
    return {name: np.concatenate([o[name] for o in outputs]) for name in outputs[0]}


def compare(arm: dict[str, np.ndarray], x86: dict[str, np.ndarray], classifiers: set[str]) -> dict:
    """The worst output: largest |ARM - x86|, its scale, and top-1 changes over classification outputs."""
    worst = max(arm, key=lambda name: float(np.max(np.abs(arm[name].astype(np.float64) - x86[name]))))
    diff = float(np.max(np.abs(arm[worst].astype(np.float64) - x86[worst])))
    scale = float(np.max(np.abs(x86[worst])))
    flips = sum(int(np.sum(np.argmax(arm[n], -1) != np.argmax(x86[n], -1))) for n in classifiers)
    exact = all(np.array_equal(arm[n], x86[n]) for n in arm)
    return {"output": worst, "diff": diff, "scale": scale, "flips": flips, "exact": exact}


def measure_model(name: str, out_dir: Path, samples: int) -> list[dict]:
    from toolkit import api
    from toolkit.model.tasks import output_tasks
    from toolkit.parity.judgement import in_chunks, judgement_feeds

    loaded = api.load(name)
    feeds, _ = judgement_feeds(loaded, None, None)
    feeds = {key: value[:samples] for key, value in feeds.items()}
    count = len(next(iter(feeds.values())))
    chunks = in_chunks(feeds)
    classifiers = {o for o, task in output_tasks(loaded, None).items() if task == "classification"}
    rows = []
    for export in api.export(name, ["tflite"], list(QUANTIZATIONS), out_dir):
        if not export.ok:
            print(f"{name} {export.quantization}: not exported ({export.error or export.skipped})", file=sys.stderr)
            continue
        row = {"model": name, "quantization": export.quantization, "samples": count, "path": str(export.path)}
        for kernels, xnnpack in KERNELS.items():
            started = time.perf_counter()
            arm = run_all("litert-arm64", export.path, chunks, xnnpack)
            x86 = run_all("litert", export.path, chunks, xnnpack)
            row[kernels] = compare(arm, x86, classifiers)
            print(f"{name} {export.quantization} {kernels}: {row[kernels]} ({time.perf_counter() - started:.1f} s)",
                  file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def cell(result: dict) -> str:
    if result["exact"]:
        return "0 (bit-exact)"
    flips = f", top-1 differs on {result['flips']}" if result["flips"] else ""
    return f"{result['diff']:.2e} (scale {result['scale']:.2g}{flips})"


def per_quantization(rows: list[dict]) -> list[str]:
    """The headline: per quantization, the largest difference over every model (with its model and output scale)
    and how many samples' top-1 class differ in all, with XNNPACK and without."""
    lines = ["| quantization | XNNPACK: largest abs(ARM - x86) | top-1 differs | builtin kernels: largest abs(ARM - x86) "
             "| top-1 differs |", "|---|---|---|---|---|"]
    for quantization in QUANTIZATIONS:
        group = [r for r in rows if r["quantization"] == quantization]
        if not group:
            continue
        cells = []
        for kernels in KERNELS:
            worst = max(group, key=lambda r, k=kernels: r[k]["diff"])
            where = f" ({worst['model']}, scale {worst[kernels]['scale']:.2g})" if worst[kernels]["diff"] else " (bit-exact)"
            flips = sum(r[kernels]["flips"] for r in group)
            cells += [f"{worst[kernels]['diff']:.2e}{where}", f"{flips} of {sum(r['samples'] for r in group)}"]
        lines.append(f"| {quantization} | " + " | ".join(cells) + " |")
    return lines


def detail(rows: list[dict]) -> list[str]:
    lines = ["| model | quantization | samples | XNNPACK: max abs(ARM - x86) | builtin kernels: max abs(ARM - x86) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['quantization']} | {r['samples']} | {cell(r['XNNPACK'])} | {cell(r['builtin'])} |"
              for r in rows]
    return lines


def write_doc(rows: list[dict], path: Path, command: str) -> None:
    from toolkit.runtimes.litert_arm64 import LiteRTArm64Runtime

    runtime = LiteRTArm64Runtime(Path(rows[0]["path"]))
    about = runtime.describe()
    runtime.close()
    machine = (f"{about['machine']} Python {about['python']}, numpy {about['numpy']}, ai-edge-litert {about['litert']}, "
               f"CPU part {about['cpu_part']} (Cortex-A76) under qemu-user, against the same packages on x86-64")
    text = "\n".join([INTRO.strip(), "", f"Measured by `{command}`: {machine}.", "",
                      "## Largest difference per quantization", "", *per_quantization(rows), "",
                      FINDINGS.strip(), "", "## Every model", "", *detail(rows), ""])
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", action="store_true", help="add mobilenet_v3_small, efficientnet_b0 and vit_encoder")
    parser.add_argument("--models", default=None, help="comma-separated model names (default: the small tier, + --zoo)")
    parser.add_argument("--samples", type=int, default=128, help="samples per model (default 128)")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts", help="artifact folder (default artifacts/)")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "arm.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    args = parser.parse_args()
    from models import reference_names

    names = args.models.split(",") if args.models else [*reference_names("small"), *(ZOO if args.zoo else ())]
    rows = [row for name in names for row in measure_model(name, args.out, args.samples)]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    command = "benchmarks/arm_vs_x86.py" + (" --zoo" if args.zoo else "") + (f" --samples {args.samples}" if args.samples != 128 else "")
    write_doc(rows, args.doc, command)
    print("\n".join(per_quantization(rows)))


if __name__ == "__main__":
    main()
