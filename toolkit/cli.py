"""Command line: parse arguments -> one toolkit.api call -> print. Exit codes are in README.md."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from toolkit.cli_parser import build_parser, integers, items
from toolkit.errors import (
    EXIT_EXPORT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARITY_FAILED,
    ToolkitError,
)


class Interrupts:
    """Remembers Ctrl+C. A library can turn the KeyboardInterrupt into another error (a C extension whose
    import it interrupts raises ImportError), so the CLI checks this flag after each unit of work and at
    the end rather than trusting the exception to arrive."""

    seen = False

    @classmethod
    def handle(cls, signum: int, frame: object) -> None:
        cls.seen = True
        raise KeyboardInterrupt

    @classmethod
    def check(cls) -> None:
        if cls.seen:
            raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGINT, Interrupts.handle)
    Interrupts.seen = False
    try:
        code = COMMANDS[args.command](args)
        Interrupts.check()
        return code
    except ToolkitError as error:
        if args.debug and not Interrupts.seen:
            raise
        if not Interrupts.seen:
            print(f"toolkit: error: {error}", file=sys.stderr)
            return error.exit_code
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
    print("toolkit: interrupted; nothing partial was left behind", file=sys.stderr)
    return EXIT_INTERRUPTED


def cmd_list(args: argparse.Namespace) -> int:
    from toolkit import api, console

    with console.stderr.status("loading the reference models...") as status:
        rows = api.list_models(args.tier, on_loading=lambda name, index, count: status.update(
            f"loading reference model {name} ({index}/{count})..."))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console.print_model_table(rows)
    return EXIT_OK


def _export_options(args: argparse.Namespace) -> dict:
    """Only the options the user gave: the others are taken from existing artifacts or the defaults."""
    options = {"opset": getattr(args, "opset", None), "calibration": getattr(args, "calibration", None),
               "min_top1": getattr(args, "search_min_top1", None), "task": getattr(args, "search_task", None)}
    return {name: value for name, value in options.items() if value is not None}


def _models(args: argparse.Namespace) -> list[str] | None:
    """--model a,b or --models DIR as a list (None: neither given, where a command has a default)."""
    from toolkit import api

    return api.models_in(args.models) if args.models is not None else items(args.model)


def _scale(args: argparse.Namespace, models: list[str] | None) -> object:
    """--jobs and --ray as an api.Scale; `auto` never spreads a single model (see `--jobs` in --help)."""
    from toolkit import api

    if args.jobs == "auto":
        jobs = api.auto_jobs() if models is None or len(models) > 1 else 1
    else:
        jobs = args.jobs
    return api.Scale(jobs=jobs, ray=args.ray)


def cmd_export(args: argparse.Namespace) -> int:
    from toolkit import api, console

    models = _models(args)
    with console.progress("exporting", Interrupts.check) as line:
        results = api.export_models(
            models, items(args.target), items(args.quantize), args.out, scale=_scale(args, models),
            custom_objects=args.custom_objects, unsafe=args.unsafe, force=args.force, input_range=args.input_range,
            options=_export_options(args), on_start=line.on_start,
        )
    console.print_export_results(results)
    return EXIT_EXPORT_FAILED if any(r.error for r in results) else EXIT_OK


def _check_report_paths(*paths: Path | None) -> None:
    """Reports are written last: fail up front, before any export, if they cannot be."""
    from toolkit.export.run import check_writable

    for path in paths:
        if path is not None:
            check_writable(Path(path).parent)


def cmd_parity(args: argparse.Namespace) -> int:
    from toolkit import api, console
    from toolkit.model.tasks import parse_tasks
    from toolkit.parity import report
    from toolkit.parity.judgement import VerdictSettings

    verdict = VerdictSettings(parse_tasks(args.task), args.min_top1, args.min_sqnr)

    _check_report_paths(args.json, args.markdown)
    done: list = []

    with console.progress("exporting", Interrupts.check) as line:

        def on_row(row: object) -> None:
            """--json grows with every row, so a run that is interrupted or hangs keeps what it measured."""
            done.append(row)
            line.on_row(row)
            if args.json:
                report.write_json(done, args.json)

        models = _models(args)
        rows = api.check_parity_models(
            models, items(args.target), items(args.quantize), items(args.runtime), args.out, inputs=args.inputs,
            scale=_scale(args, models), custom_objects=args.custom_objects, unsafe=args.unsafe, force=args.force, input_range=args.input_range,
            options=_export_options(args), on_start=line.on_start, on_row=on_row, verdict=verdict,
            on_total=line.on_total,
        )
    report.print_table(rows, console.stdout, hint=lambda row: explain_hint(args, row))
    if args.json:
        report.write_json(rows, args.json)
    if args.markdown:
        report.write_markdown(rows, args.markdown)
    if args.explain:
        _explain_failures(args, rows)
    return EXIT_PARITY_FAILED if report.unexpected_failures(rows) else EXIT_OK


def _explainable(row: object) -> bool:
    """A parity row whose artifact computed something wrong (documented failures included: explain says where) in a
    runtime whose intermediate tensors can be read."""
    from toolkit.explain.probes import EXPLAINABLE

    return row.error_kind == "mismatch" and row.runtime in EXPLAINABLE.get(row.target, ())


def explain_hint(args: argparse.Namespace, row: object) -> str | None:
    """The `toolkit explain` command that localises a failing row, with the arguments parity ran with."""
    import shlex

    if not _explainable(row):
        return None
    words = ["--model", _model_spec(args, row.model), "--target", row.target]
    words += ["--quantize", row.quantization] if row.quantization != "none" else []
    words += ["--runtime", row.runtime]
    flags = ("inputs", "calibration", "custom_objects", "out", "task", "min_top1", "min_sqnr")
    for flag in flags + (("opset",) if row.target == "onnx" else ()):  # --opset is an error for other targets
        value = getattr(args, flag, None)
        if value is not None and not (flag == "out" and Path(value) == Path("artifacts")):
            words += [f"--{flag.replace('_', '-')}", str(value)]
    if args.input_range:
        words += ["--input-range", f"{args.input_range[0]:g},{args.input_range[1]:g}"]
    words += ["--unsafe"] if args.unsafe else []
    return "toolkit explain " + " ".join(shlex.quote(word) for word in words)


def _model_spec(args: argparse.Namespace, name: str) -> str:
    """What to pass as --model for the model a row is about (a row knows its model by name)."""
    from toolkit.scale.units import model_name

    return next((spec for spec in _models(args) or [] if model_name(spec) == name), name)


def _explain_failures(args: argparse.Namespace, rows: list) -> None:
    """--explain: one explanation per unexpectedly failing artifact x runtime (batches share it)."""
    from toolkit import console
    from toolkit.explain import report as explain_report

    seen = []
    for row in rows:
        key = (row.target, row.quantization, row.runtime)
        if _explainable(row) and not row.expected_failure and key not in seen:
            seen.append(key)
            explanation = _run_explain(args, row.target, row.quantization, row.runtime, _model_spec(args, row.model))
            explain_report.print_explanation(explanation, console.stdout)
            Interrupts.check()


def _run_explain(args: argparse.Namespace, target: str, quantization: str, runtime: str | None,
                 model: str | None = None) -> object:
    from toolkit import api
    from toolkit.model.tasks import parse_tasks
    from toolkit.parity.judgement import VerdictSettings

    return api.explain(
        model or args.model, target, quantization, runtime, args.out, inputs=args.inputs, custom_objects=args.custom_objects,
        unsafe=args.unsafe, force=args.force, input_range=args.input_range, options=_export_options(args),
        verdict=VerdictSettings(parse_tasks(args.task), args.min_top1, args.min_sqnr))


def cmd_explain(args: argparse.Namespace) -> int:
    from toolkit import console
    from toolkit.explain import report

    _check_report_paths(args.json, args.report / "report.md" if args.report else None)
    explanation = _run_explain(args, args.target, args.quantize, args.runtime)
    report.print_explanation(explanation, console.stdout)
    if args.json:
        report.write_json([explanation], args.json)
    if args.report:
        console.stdout.print(f"report written to {report.write_report(explanation, args.report)}")
    return EXIT_PARITY_FAILED if explanation.first_divergent else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from toolkit import api, console
    from toolkit.bench.overview import print_picks
    from toolkit.parity import report

    def on_model(name: str, rows: list) -> None:
        failed = len(report.unexpected_failures([r for r in rows if not r.unavailable]))
        console.stdout.print(f"{name}: {sum(r.passed for r in rows)}/{len(rows)} parity rows pass"
                             + (f", [red]{failed} FAIL[/]" if failed else ""))

    with console.progress("exporting", Interrupts.check) as line:
        models = _models(args)
        result = api.run(args.out, args.reports, models=models, suite=args.suite, force=args.force,
                         scale=_scale(args, models), custom_objects=args.custom_objects, unsafe=args.unsafe,
                         input_range=args.input_range, on_model=on_model, on_start=line.on_start, on_row=line.on_row, on_progress=line.on_step,
                         on_total=line.on_total)
    report.print_failures(result.checked_rows, console.stdout)
    if result.unavailable_runtimes:
        console.stdout.print(f"[yellow]not run here (runtime unavailable): {', '.join(result.unavailable_runtimes)}[/]")
    console.stdout.print(f"artifacts: {Path(args.out).resolve()}")
    console.stdout.print(f"parity matrix: {result.reports['parity'].resolve()}")
    console.stdout.print(f"benchmark report: {result.reports['bench'].resolve()}")
    print_picks(result.bench.picks, console.stdout)
    return EXIT_PARITY_FAILED if report.unexpected_failures(result.checked_rows) else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import webbrowser

    from toolkit import api
    from toolkit.demo.app import can_open_browser

    server = api.demo_server(args.model, args.port, args.out, custom_objects=args.custom_objects, unsafe=args.unsafe)
    print(f"toolkit demo: serving {args.model} at {server.url}  (Ctrl+C stops it)", flush=True)
    if not args.no_browser and can_open_browser():
        try:
            webbrowser.open(server.url)
        except webbrowser.Error:
            print("toolkit demo: no browser found; open the URL above yourself", flush=True)
    elif not args.no_browser:
        print("toolkit demo: no display here; open the URL above in a browser on this machine", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # how the demo is meant to stop: not an interruption
        Interrupts.seen = False
        print("toolkit demo: stopped", flush=True)
    finally:
        server.server_close()
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from toolkit import api, console
    from toolkit.bench import report
    from toolkit.bench.compare import print_changes, read_previous
    from toolkit.bench.overview import print_picks
    from toolkit.runtimes.timing import TimingPlan

    default = TimingPlan()
    plan = TimingPlan(runs=default.runs if args.runs is None else args.runs,
                      time_budget_s=default.time_budget_s if args.time_budget is None else args.time_budget,
                      warmup=default.warmup if args.warmup is None else args.warmup)
    previous = read_previous(args.compare) if args.compare else None  # a bad file fails before any work
    with console.progress("benchmarking", Interrupts.check) as line:
        results = api.benchmark(
            items(args.model), items(args.target), items(args.quantize), items(args.runtime), items(args.setting),
            integers(args.batch), args.out, plan=plan, custom_objects=args.custom_objects, unsafe=args.unsafe,
            force=args.force, input_range=args.input_range, on_progress=line.on_step, on_total=line.on_total,
        )
    report.print_table(results, console.stdout)
    print_picks(results.picks, console.stdout)
    if previous is not None:
        print_changes(previous, results.rows, console.stdout, args.compare)
    if args.json:
        console.stdout.print(f"results written to {results.write_json(args.json)}")
    if args.report:
        console.stdout.print(f"report written to {report.write_report(results, args.report)}")
    return EXIT_OK


COMMANDS = {"list": cmd_list, "export": cmd_export, "parity": cmd_parity, "run": cmd_run, "demo": cmd_demo,
            "bench": cmd_bench, "explain": cmd_explain}

if __name__ == "__main__":
    sys.exit(main())
