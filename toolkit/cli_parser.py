"""The command line's arguments: every subcommand, its options and their help (`toolkit CMD --help`).

toolkit/cli.py runs the commands; this module only describes them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import toolkit
from toolkit.errors import EXIT_USAGE, UsageError

TARGET_HELP = "saved_model, tflite, onnx, tfjs, a comma-separated list, or all"
QUANTIZE_HELP = ("none, fp16, dynamic, int8 (TFLite, ONNX), int16x8 (TFLite), uint8 (TF.js), a comma-separated "
                 "list, or all; TFLite's searches int8-selective and auto only by name")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"toolkit: error: {message} (see `{self.prog} --help`)\n")


def items(text: str | None) -> list[str] | None:
    """A comma-separated argument as a list ("tflite,onnx" -> ["tflite", "onnx"]); None stays None."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def integers(text: str) -> list[int]:
    try:
        return [int(part) for part in items(text)]
    except ValueError:
        raise UsageError(f"--batch {text!r} is not a comma-separated list of positive integers (e.g. 1,8)") from None


def value_range(text: str) -> tuple[float, float]:
    """"0,255" -> (0.0, 255.0); argparse reports a ValueError as a usage error naming the option."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW,HIGH (for example 0,255)") from None
    if not low < high:
        raise argparse.ArgumentTypeError(f"{text!r}: LOW must be below HIGH")
    return low, high


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share between 0 and 1 (e.g. 0.97)")
    return value


def _add_verdict_args(parser: argparse.ArgumentParser) -> None:
    """How quantized artifacts are judged (toolkit/parity/tolerances.py explains the defaults)."""
    parser.add_argument("--task", metavar="TASK|OUTPUT=TASK,...",
                        help="what outputs mean: classification (judged by top-1 agreement), regression or embedding "
                        "(by SQNR); default: the loss the model was compiled with (a cross-entropy means "
                        "classification), else rank-2 outputs with 2+ classes are classification, others regression")
    parser.add_argument("--min-top1", type=fraction, metavar="SHARE",
                        help="quantized classifiers: least top-1 agreement with Keras (default fp16 0.99, others 0.97)")
    parser.add_argument("--min-sqnr", type=float, metavar="DB",
                        help="quantized non-classification outputs: least SQNR in dB (default fp16 30, others 20)")


def _common(parser: argparse.ArgumentParser) -> None:
    # Accepted after the command too (`toolkit export --debug ...`); SUPPRESS keeps the top-level value.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks instead of one-line errors")


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="reference model name (see `toolkit list`) or path to a .keras file")
    _add_loading_args(parser)


def jobs(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of worker processes (1, 2, ...) or auto")
    return value


def _add_models_args(parser: argparse.ArgumentParser, default_help: str | None = None) -> None:
    """Several models, and how their work is spread (toolkit/scale/, docs/scaling.md)."""
    which = parser.add_mutually_exclusive_group(required=default_help is None)
    which.add_argument("--model", help="reference model name (see `toolkit list`) or path to a .keras file; several, "
                       "comma-separated" + (f" (default: {default_help})" if default_help else ""))
    which.add_argument("--models", type=Path, metavar="DIR", help="every .keras file in DIR")
    parser.add_argument("--jobs", type=jobs, default="auto", metavar="N|auto",
                        help="worker processes for several models' exports and parity checks, one unit per model x "
                        "target x quantization (default auto: 1 for one model or on fewer than 4 cores, else one per "
                        "2 cores and 4 GiB of memory); 1 runs everything in this process")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run the units as Ray tasks: on a local Ray instance, or on the cluster at ADDRESS "
                        "(`ray start --head` prints it; --out and the .keras files must be on storage every node "
                        "sees); needs the `cluster` extra (`make` installs it)")


def _add_loading_args(parser: argparse.ArgumentParser) -> None:
    """How a user's .keras file may be loaded: the same two flags on every command that loads one."""
    parser.add_argument("--custom-objects", type=Path, metavar="FILE.py",
                        help="Python file that registers your custom layers (keras.saving.register_keras_serializable)")
    parser.add_argument("--unsafe", action="store_true",
                        help="allow .keras files with Lambda layers (runs code from the file: only for files you trust)")
    parser.add_argument("--input-range", metavar="LOW,HIGH", type=value_range, default=None,
                        help="values every float input takes (e.g. 0,255 for images), for generated sample inputs; "
                        "default: read from the model's Rescaling/Normalization layers, else N(0, 1)")


def _add_selection_args(parser: argparse.ArgumentParser) -> None:
    """Which artifacts and runtimes a command covers: all of them unless narrowed."""
    parser.add_argument("--target", default="all", help=TARGET_HELP + " (default all)")
    parser.add_argument("--quantize", default="all", help=QUANTIZE_HELP + " (default all)")
    parser.add_argument("--runtime", default=None,
                        help="comma-separated runtimes (tf_savedmodel, litert, onnxruntime, tfjs-node, tfjs-browser, "
                        "ort-web, or labels like tfjs-node-wasm); default: every applicable one")


def _add_export_options(parser: argparse.ArgumentParser) -> None:
    """Options recorded in the manifest of the artifacts they change; unset ones keep what an artifact has."""
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    parser.add_argument("--calibration", type=Path, metavar="FILE.npz|DIR",
                        help="representative inputs for int8 (TFLite, ONNX), int16x8 and the searched TFLite modes: an "
                        ".npz (keys = input names), or a folder of images for a model with one image input (resized, "
                        "pixels scaled to the model's input range); reference models use their samples. Parity judges "
                        "quantized artifacts on it when no --inputs is given")


def _add_out_args(parser: argparse.ArgumentParser, what: str = "artifact folder; missing exports go here") -> None:
    parser.add_argument("--out", type=Path, default=Path("artifacts"), help=f"{what} (default ./artifacts)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite artifacts made from another model or with other options, or changed since")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="toolkit", description="Export Keras models, prove parity in real runtimes, benchmark them.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {toolkit.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="table of the reference models")
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    listing.add_argument("--tier", default="all", help="small (quick reference set), zoo (real architectures) or all "
                         "(default all; zoo models are built or trained on first use: minutes)")
    _common(listing)
    _add_export_parser(commands)
    _add_parity_parser(commands)
    _add_bench_parser(commands)
    _add_explain_parser(commands)

    run = commands.add_parser("run", help="the main job: export every reference model to every target, check parity, "
                              "benchmark; reports in --reports")
    _add_models_args(run, "the reference models of --suite")
    _add_loading_args(run)
    run.add_argument("--suite", default="small", help="reference models to run: small (default; `make run`), zoo "
                     "(MobileNetV3, EfficientNet, ResNet50, ConvNeXt, ViT, text models: long) or all")
    _add_out_args(run, "artifact folder")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="report folder (default ./reports)")
    _common(run)

    demo = commands.add_parser("demo", help="serve the browser demo (TF.js + ONNX Runtime Web) on 127.0.0.1")
    demo.add_argument("--model", default="digits", help="reference model name or .keras path to serve (default digits: "
                      "the drawing demo; image models get an image picker, others step through their golden inputs)")
    _add_loading_args(demo)
    demo.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0 = any free port)")
    demo.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    demo.add_argument("--out", type=Path, default=Path("artifacts"), help="artifact folder; missing exports go here (default ./artifacts)")
    _common(demo)
    return parser


def _add_export_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="export a model to one or more targets",
                                 description="Writes OUT/<model>/<target>[-<quantization>]/ with the artifact, golden.json "
                                 "and manifest.json. Exit 0, 2 for usage or input errors, 3 if a converter failed.")
    _add_models_args(export)
    _add_loading_args(export)
    export.add_argument("--target", default="saved_model", help=TARGET_HELP + " (default saved_model)")
    export.add_argument("--quantize", default=None, help=QUANTIZE_HELP + " (default: none)")
    _add_out_args(export, "output folder")
    _add_export_options(export)
    export.add_argument("--min-top1", dest="search_min_top1", type=fraction, metavar="SHARE",
                        help="int8-selective and auto (TFLite): the top-1 agreement with the float model their search "
                        "must reach on held-out calibration samples (default 0.99)")
    export.add_argument("--task", dest="search_task", metavar="TASK|OUTPUT=TASK,...",
                        help="int8-selective and auto (TFLite): what outputs mean, as `parity --task` (classification "
                        "outputs are searched for top-1 agreement, others for SQNR); default: detected as parity does")
    _common(export)


def _add_parity_parser(commands: argparse._SubParsersAction) -> None:
    parity = commands.add_parser(
        "parity", help="prove exported artifacts match Keras in their runtimes",
        description="Exports what is missing (existing artifacts of this model are used as they are), runs every "
        "applicable runtime, prints the matrix. Exit 0 if all pass, 1 if any parity check fails, 2 for usage or "
        "input errors.")
    _add_models_args(parity)
    _add_loading_args(parity)
    _add_selection_args(parity)
    parity.add_argument("--inputs", type=Path, metavar="FILE.npz|DIR",
                        help="inputs to compare on: an .npz (keys = input names), or a folder of images for a model "
                        "with one image input (as for --calibration)")
    _add_export_options(parity)
    _add_verdict_args(parity)
    _add_out_args(parity)
    parity.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parity.add_argument("--markdown", type=Path, metavar="FILE", help="write the matrix as Markdown")
    parity.add_argument("--explain", action="store_true",
                        help="run `toolkit explain` on each failing artifact (in litert, onnxruntime or tfjs-node)")
    _common(parity)


def _add_bench_parser(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench", help="time exported artifacts in their runtimes against Keras (table, JSON, report)",
        description="Exports what is missing, then measures load, first inference, p50/p90/p99 latency, throughput, "
        "peak RSS and size per artifact x runtime x setting x batch, with each artifact's parity verdict, then picks "
        "what to ship per model and setting (the fastest passing at batch 1, or the smallest within 10%% of it). "
        "--model takes a comma-separated list too. Exit 0 (rows that could not run say why), 2 for usage errors.")
    _add_model_args(bench)
    _add_selection_args(bench)
    bench.add_argument("--setting", default="cpu,browser", help="cpu, browser, mobile-like, gpu, comma-separated "
                       "(default cpu,browser)")
    bench.add_argument("--batch", default="1,8", help="batch sizes, comma-separated (default 1,8)")
    bench.add_argument("--runs", type=int, default=None, help="steady-state runs per row at most (default 1000)")
    bench.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                       help="steady-state seconds per row at most (default 1.0)")
    bench.add_argument("--warmup", type=int, default=None, help="warm-up runs per row (default 20)")
    _add_out_args(bench)
    bench.add_argument("--json", type=Path, metavar="FILE", help="write {\"results\": [...], \"picks\": [...]} as JSON")
    bench.add_argument("--report", type=Path, metavar="DIR", help="write report.md, report.html and plots to DIR")
    bench.add_argument("--compare", type=Path, metavar="OLD.json", help="print each row's p50 change against an "
                       "earlier --json file, with a noise band from the spread of both runs")
    _common(bench)


def _add_explain_parser(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser(
        "explain", help="find the Keras layer where an artifact starts to diverge from Keras",
        description="Exports the artifact if missing, runs it in its runtime with every intermediate tensor kept, "
        "and compares each Keras layer's output with the artifact's tensor of that layer (matched by name): per-layer "
        "error, the first layer over parity's budget, where the error grows most, and for quantized artifacts each "
        "tensor's scale and range and whether a few outlier channels dominate it. Exit 0: no layer diverges; 1: one "
        "does; 2: usage or input error; 3: the export failed or the runtime cannot start.")
    _add_model_args(explain)
    explain.add_argument("--target", required=True, help="tflite, onnx or tfjs")
    explain.add_argument("--quantize", default="none", help="one quantization of that target (default none)")
    explain.add_argument("--runtime", default=None, help="litert (tflite), onnxruntime (onnx), tfjs-node-cpu or "
                         "tfjs-node-wasm (tfjs); default: the first of these for the target")
    explain.add_argument("--inputs", type=Path, metavar="FILE.npz|DIR",
                         help="samples to compare on (default: --calibration's, else the model's generated samples)")
    _add_export_options(explain)
    _add_verdict_args(explain)
    _add_out_args(explain)
    explain.add_argument("--json", type=Path, metavar="FILE",
                         help='write {"first_divergent": layer|null, "layers": [{"layer", ...metrics}], ...}')
    explain.add_argument("--report", type=Path, metavar="DIR", help="write report.md, explain.json and "
                         "error_per_layer.png to DIR")
    _common(explain)
