"""Command line: parse arguments -> one toolkit.api call -> print. Exit codes are in README.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from toolkit.errors import EXIT_EXPORT_FAILED, EXIT_OK, EXIT_PARITY_FAILED, EXIT_USAGE, ToolkitError

TARGET_HELP = "saved_model, tflite, onnx, tfjs, a comma-separated list, or all"


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 (no usage dump)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"toolkit: error: {message} (see `{self.prog} --help`)\n")


def _add_model_args(parser):
    parser.add_argument("--model", required=True, help="reference model name (see `toolkit list`) or path to a .keras file")
    parser.add_argument("--custom-objects", type=Path, metavar="FILE.py",
                        help="Python file that registers your custom layers (keras.saving.register_keras_serializable)")
    parser.add_argument("--unsafe", action="store_true",
                        help="allow .keras files with Lambda layers (runs code from the file: only for files you trust)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="toolkit", description="Export Keras models, prove parity in real runtimes, benchmark them.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="table of the reference models")
    listing.add_argument("--json", action="store_true", help="print JSON for machines")

    export = commands.add_parser("export", help="export a model to one or more targets",
                                 description="Writes OUT/<model>/<target>[-<quantization>]/ with the artifact and manifest.json.")
    _add_model_args(export)
    export.add_argument("--target", default="saved_model", help=TARGET_HELP + " (default saved_model)")
    export.add_argument("--quantize", default=None,
                        help="none, fp16, dynamic, int8 (TFLite), fp16, uint8 (TF.js), or all (default: none)")
    export.add_argument("--out", type=Path, default=Path("artifacts"), help="output folder (default ./artifacts)")
    export.add_argument("--force", action="store_true", help="overwrite artifacts that exist from another model or options")
    export.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    export.add_argument("--calibration", type=Path, metavar="FILE.npz",
                        help="representative inputs for int8 (keys = input names); reference models use their samples")

    parity = commands.add_parser(
        "parity", help="prove exported artifacts match Keras in their runtimes",
        description="Exports what is missing, runs every applicable runtime, prints the matrix. "
        "Exit 0 if all pass, 1 if any parity check fails, 2 for usage or input errors.")
    _add_model_args(parity)
    parity.add_argument("--target", default="all", help=TARGET_HELP + " (default all)")
    parity.add_argument("--quantize", default="all", help="quantization modes to check (default all)")
    parity.add_argument("--runtime", default=None,
                        help="comma-separated runtimes (tf_savedmodel, litert, onnxruntime, tfjs-node, tfjs-browser, "
                        "ort-web, or labels like tfjs-node-wasm); default: every applicable one")
    parity.add_argument("--inputs", type=Path, metavar="FILE.npz", help="inputs to compare on (keys = input names)")
    parity.add_argument("--calibration", type=Path, metavar="FILE.npz",
                        help="representative inputs for int8 export of your own model (keys = input names)")
    parity.add_argument("--out", type=Path, default=Path("artifacts"), help="artifact folder (default ./artifacts)")
    parity.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parity.add_argument("--markdown", type=Path, metavar="FILE", help="write the matrix as Markdown")

    run = commands.add_parser("run", help="the main job: export every reference model to every target, check parity, benchmark; reports in --reports")
    run.add_argument("--out", type=Path, default=Path("artifacts"))
    run.add_argument("--reports", type=Path, default=Path("reports"))

    demo = commands.add_parser("demo", help="serve the browser demo (TF.js + ONNX Runtime Web) on 127.0.0.1")
    demo.add_argument("--model", default="digits", help="model to serve (default digits: the drawing demo)")
    demo.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0 = any free port)")
    demo.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    demo.add_argument("--out", type=Path, default=Path("artifacts"), help="artifact folder; missing exports go here (default ./artifacts)")
    _add_bench_parser(commands)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ToolkitError as error:
        if args.debug:
            raise
        print(f"toolkit: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("toolkit: interrupted; nothing partial was left behind", file=sys.stderr)
        return 130


def cmd_list(args) -> int:
    from toolkit import api, console

    rows = api.list_models()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console.print_model_table(rows)
    return EXIT_OK


def _export_options(args) -> dict:
    options = {}
    if getattr(args, "opset", None) is not None:
        options["opset"] = args.opset
    if getattr(args, "calibration", None) is not None:
        options["calibration"] = str(args.calibration)
    return options


def cmd_export(args) -> int:
    from toolkit import api, console

    with console.progress("exporting") as on_start:
        results = api.export(
            args.model, args.target, args.quantize, args.out, custom_objects=args.custom_objects,
            unsafe=args.unsafe, force=args.force, options=_export_options(args), on_start=on_start,
        )
    console.print_export_results(results)
    return EXIT_OK if all(r.ok for r in results) else EXIT_EXPORT_FAILED


def _check_report_paths(*paths) -> None:
    """Reports are written last: fail up front, before any export, if they cannot be."""
    from toolkit.exporting import check_writable

    for path in paths:
        if path is not None:
            check_writable(Path(path).parent)


def cmd_parity(args) -> int:
    from toolkit import api, console, parity_report

    _check_report_paths(args.json, args.markdown)
    with console.progress("exporting") as on_start:
        rows = api.check_parity(
            args.model, args.target, args.quantize, args.runtime, args.out, inputs=args.inputs,
            custom_objects=args.custom_objects, unsafe=args.unsafe, options=_export_options(args), on_start=on_start,
        )
    parity_report.print_table(rows, console.stdout)
    if args.json:
        parity_report.write_json(rows, args.json)
    if args.markdown:
        parity_report.write_markdown(rows, args.markdown)
    return EXIT_PARITY_FAILED if parity_report.unexpected_failures(rows) else EXIT_OK


def cmd_run(args) -> int:
    from toolkit import console, pipeline

    return pipeline.run_all(args.out, args.reports, console)


def cmd_demo(args) -> int:
    from toolkit import demo

    demo.serve_demo(args.model, args.port, open_browser=not args.no_browser, out_dir=args.out)
    return EXIT_OK


def _add_bench_parser(commands) -> None:
    bench = commands.add_parser(
        "bench", help="time exported artifacts in their runtimes against Keras (table, JSON, report)",
        description="Exports what is missing, then measures load, first inference, p50/p90/p99 latency, throughput, "
        "peak RSS and size per artifact x runtime x setting x batch, with each artifact's parity verdict. --model "
        "takes a comma-separated list too. Exit 0 "
        "(rows that could not run say why), 2 for usage errors.")
    _add_model_args(bench)
    bench.add_argument("--target", default="all", help=TARGET_HELP + " (default all)")
    bench.add_argument("--quantize", default="all", help="quantization modes, comma-separated, or all (default all)")
    bench.add_argument("--runtime", default=None, help="comma-separated runtimes or labels (as for parity); default: all")
    bench.add_argument("--setting", default="cpu", help="cpu, mobile-like, gpu, comma-separated (default cpu)")
    bench.add_argument("--batch", default="1,8", help="batch sizes, comma-separated (default 1,8)")
    bench.add_argument("--runs", type=int, default=None, help="steady-state runs per row at most (default 1000)")
    bench.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                       help="steady-state seconds per row at most (default 1.0)")
    bench.add_argument("--warmup", type=int, default=None, help="warm-up runs per row (default 20)")
    bench.add_argument("--out", type=Path, default=Path("artifacts"), help="artifact folder; missing exports go here (default ./artifacts)")
    bench.add_argument("--json", type=Path, metavar="FILE", help="write {\"results\": [...]} as JSON")
    bench.add_argument("--report", type=Path, metavar="DIR", help="write report.md, report.html and plots to DIR")


def cmd_bench(args) -> int:
    from toolkit import api, bench_report, console

    results = api.benchmark(
        args.model, args.target, args.quantize, args.runtime, args.setting, args.batch, args.out,
        runs=args.runs, time_budget_s=args.time_budget, warmup=args.warmup, custom_objects=args.custom_objects,
        unsafe=args.unsafe, on_progress=lambda text: console.stderr.print(f"[dim]bench: {text}[/]"),
    )
    bench_report.print_table(results, console.stdout)
    if args.json:
        console.stdout.print(f"results written to {results.write_json(args.json)}")
    if args.report:
        console.stdout.print(f"report written to {bench_report.write_report(results, args.report)}")
    return EXIT_OK


COMMANDS = {"list": cmd_list, "export": cmd_export, "parity": cmd_parity, "run": cmd_run, "demo": cmd_demo,
            "bench": cmd_bench}

if __name__ == "__main__":
    sys.exit(main())
