"""`toolkit run` / `make run`: export every reference model to every target, prove parity, benchmark.

Writes reports/parity.md + parity.json and reports/bench/ (bench.json, report.md, report.html, plots).
A runtime that cannot start on this machine (no Chromium, no Node packages) is
listed as unavailable rather than failing the whole job; any real parity
failure makes the exit code 1.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.errors import EXIT_OK, EXIT_PARITY_FAILED

UNAVAILABLE = "RuntimeUnavailableError"


def run_all(out_dir: Path, reports_dir: Path, console) -> int:
    from models import REFERENCE_MODELS
    from toolkit import api, parity_report

    rows = []
    for name in REFERENCE_MODELS:
        with console.progress(f"{name}: exporting and checking parity") as on_start:
            rows.extend(api.check_parity(name, "all", "all", None, out_dir, on_start=on_start))
        model_rows = [r for r in rows if r.model == name]
        failed = len(parity_report.unexpected_failures([r for r in model_rows if not _unavailable(r)]))
        console.stdout.print(f"{name}: {sum(r.passed for r in model_rows)}/{len(model_rows)} parity rows pass"
                             + (f", [red]{failed} FAIL[/]" if failed else ""))
    unavailable = sorted({r.runtime for r in rows if _unavailable(r)})
    checked = [r for r in rows if not _unavailable(r)]
    reports_dir = Path(reports_dir)
    parity_report.write_markdown(checked, reports_dir / "parity.md", title="Parity matrix: reference models")
    parity_report.write_json(checked, reports_dir / "parity.json")
    parity_report.print_failures(checked, console.stdout)
    if unavailable:
        console.stdout.print(f"[yellow]not run here (runtime unavailable): {', '.join(unavailable)}[/]")
    report = run_benchmarks(out_dir, reports_dir / "bench", console)
    console.stdout.print(f"artifacts: {Path(out_dir).resolve()}")
    console.stdout.print(f"parity matrix: {(reports_dir / 'parity.md').resolve()}")
    console.stdout.print(f"benchmark report: {Path(report).resolve()}")
    return EXIT_PARITY_FAILED if parity_report.unexpected_failures(checked) else EXIT_OK


# `make run` benchmarks every reference model; a short budget per row keeps it to minutes
# (`toolkit bench` defaults to 1 s per row for steadier figures).
RUN_SETTINGS = "cpu,mobile-like"
RUN_TIME_BUDGET_S = 0.25


def run_benchmarks(out_dir: Path, folder: Path, console) -> Path:
    from models import REFERENCE_MODELS
    from toolkit import api, bench_report

    results = api.benchmark(
        ",".join(REFERENCE_MODELS), "all", "all", None, RUN_SETTINGS, "1,8", out_dir,
        time_budget_s=RUN_TIME_BUDGET_S, on_progress=lambda text: console.stderr.print(f"[dim]bench: {text}[/]"),
    )
    results.write_json(folder / "bench.json")
    return bench_report.write_report(results, folder)


def _unavailable(row) -> bool:
    return bool(row.error and row.error.startswith(UNAVAILABLE))
