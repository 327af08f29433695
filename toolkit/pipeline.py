"""`toolkit run` / `make run`: the whole job over every reference model."""

from __future__ import annotations

from pathlib import Path

from toolkit.errors import EXIT_EXPORT_FAILED, EXIT_OK


def run_all(out_dir: Path, reports_dir: Path, console) -> int:
    from models import REFERENCE_MODELS
    from toolkit import api

    failures = 0
    for name in REFERENCE_MODELS:
        with console.progress(f"{name}: exporting") as on_start:
            results = api.export(name, "all", "all", out_dir, refresh=True, on_start=on_start)
        console.print_export_results(results)
        failures += sum(not r.ok for r in results)
    console.stdout.print(f"artifacts written under {Path(out_dir).resolve()}")
    return EXIT_OK if failures == 0 else EXIT_EXPORT_FAILED
