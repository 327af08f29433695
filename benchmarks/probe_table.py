"""Cells of the probe table (one layer x one target, with a status per runtime of the target) and
docs/op_support.md: a summary of how many cells pass in every runtime, then the table.

A cell passes when the export succeeded and every runtime of the target matched Keras (as it is,
or after exact rewrites). Anything else is listed under the summary: `unsupported` (the export
refused with a one-line UnsupportedOpError), `FAIL` (a crash or a wrong answer), `not run`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

TARGETS = ("saved_model", "tflite", "onnx", "tfjs")
UNSUPPORTED_MARK = "exact rewrite"  # every UnsupportedOpError of the exporters says no exact rewrite applies
ERROR_LIMIT = 300


def export_cell(result) -> dict | None:
    """The cell of a failed export (None when the export succeeded)."""
    if result.ok:
        return None
    status = "unsupported" if UNSUPPORTED_MARK in result.error else "FAIL"
    return {"status": status, "detail": result.error, "runtimes": {}}


def runtime_cell(rewrites: list[str], rows: Sequence, labels: Sequence[str]) -> dict:
    """One exported artifact's cell from its parity rows; `labels` are the target's runtime variants run."""
    runtimes = {}
    for label in labels:
        mine = [r for r in rows if r.runtime == label]
        errors = [r.max_abs_err for r in mine if r.max_abs_err is not None]
        failed = [r for r in mine if not r.passed]
        runtimes[label] = {
            "passed": bool(mine) and not failed,
            "error": f"{failed[0].error} (batch {failed[0].batch})" if failed else None,
            "kind": failed[0].error_kind if failed else None,
            "max_abs_err": max(errors) if errors else None,
        }
    passed = bool(runtimes) and all(r["passed"] for r in runtimes.values())
    status = ("rewritten" if rewrites else "ok") if passed else "FAIL"
    return {"status": status, "rewrites": rewrites, "runtimes": runtimes}


def passes(cell: dict) -> bool:
    return cell["status"] in ("ok", "rewritten")


def _worst(cell: dict) -> float | None:
    errors = [r["max_abs_err"] for r in cell["runtimes"].values() if r["max_abs_err"] is not None]
    return max(errors) if errors else None


def _rewrites_shown(rewrites: list[str]) -> str:
    """"LSTM 'x': how (why)" per rewrite; the reasons once per cell. A TF.js graph fix ends "(why) at <node>":
    the node is dropped, so repeats of one fix show once."""
    lines = dict.fromkeys(re.sub(r"\) at \S+$", ")", line) for line in rewrites)
    parts = [line.rsplit(" (", 1) for line in lines]
    how = "; ".join(p[0] for p in parts)
    why = "; ".join(dict.fromkeys(p[1].rstrip(")") for p in parts if len(p) == 2))
    return f"{how} ({why})"


def shown(cell: dict) -> str:
    """The table cell's text (pipes escaped for Markdown)."""
    status, worst = cell["status"], _worst(cell)
    err = f"{worst:.1e}" if worst is not None else "-"
    if status == "ok":
        text = f"ok ({err})"
    elif status == "rewritten":
        text = f"rewritten: {_rewrites_shown(cell['rewrites'])}; max abs err {err}"
    elif not cell["runtimes"]:  # the export itself failed
        text = f"{status}: {cell['detail']}"
    else:
        text = "; ".join(_runtime_shown(label, r) for label, r in cell["runtimes"].items())
        if cell["rewrites"]:
            text += f" (rewritten: {_rewrites_shown(cell['rewrites'])})"
    return text.replace("|", "\\|").replace("\n", " ")


def _runtime_shown(label: str, runtime: dict) -> str:
    if runtime["passed"]:
        return f"{label} ok"
    word = "not run" if runtime["kind"] == "unavailable" else "FAIL"
    return f"{label} {word}: {(runtime['error'] or 'no rows')[:ERROR_LIMIT]}"


def reason(cell: dict) -> str:
    """Why a cell does not pass, on one short line (for the summary list)."""
    if not cell["runtimes"]:
        return f"{cell['status']}: {cell['detail'][:ERROR_LIMIT]}"
    bad = [f"{label}: {(r['error'] or 'no rows')[:ERROR_LIMIT]}" for label, r in cell["runtimes"].items() if not r["passed"]]
    return "FAIL in " + "; ".join(bad)


def summary(table: dict[str, dict[str, dict]]) -> list[str]:
    cells = [(name, target, cell) for name, row in table.items() for target, cell in row.items()]
    good = sum(passes(cell) for _, _, cell in cells)
    share = 100.0 * good / len(cells) if cells else 0.0
    lines = [f"**{good} of {len(cells)} layer x target cells ({share:.1f}%) pass in every runtime of their target** "
             f"({len(table)} probe rows x {len(TARGETS)} targets).", ""]
    others = [(name, target, cell) for name, target, cell in cells if not passes(cell)]
    if others:
        lines += ["The others:", ""]
        lines += [f"- {name} x {target}: {reason(cell)}".replace("|", "\\|") for name, target, cell in others]
    return lines


def write_table(table: dict[str, dict[str, dict]], out: Path, runtimes: dict[str, list[str]], seconds: float,
                exclusions: dict[str, str], notes: str) -> None:
    """`runtimes`: target -> the labels of the runtime variants its cells were checked in."""
    checked = "; ".join(f"{target} in {', '.join(runtimes.get(target, [])) or 'none'}" for target in TARGETS)
    lines = [
        "# Op support: every built-in Keras layer x export targets x runtimes",
        "",
        "Written by `benchmarks/probe_ops.py` (do not edit by hand; rerun it). Each row is a small Functional",
        "model around one layer in one configuration, with random non-trivial weights, exported with the",
        "toolkit and checked with `check_parity` at batch 1 and 4 in every runtime of its target:",
        f"{checked}. A cell is `ok` (in every one of them; the worst abs error vs Keras),",
        "`rewritten: how (why)` (exact rewrites recorded in the manifest's `rewrites`, proved by parity in",
        "every runtime), `unsupported: message` (the export refuses with a one-line UnsupportedOpError), or",
        "the status per runtime where one of them fails (`FAIL: error`, `not run: why`).",
        "",
        "## Summary",
        "",
        *summary(table),
        "",
        "## Layers x targets",
        "",
        "| layer | " + " | ".join(TARGETS) + " |",
        "|---|" + "---|" * len(TARGETS),
    ]
    for name, cells in table.items():
        lines.append(f"| {name} | " + " | ".join(shown(cells[t]) if t in cells else "-" for t in TARGETS) + " |")
    lines += ["", f"The rows took {seconds:.0f} s in all (each row's last run, exports and parity; 2 CPU cores, shared).",
              "", "## Layers without a probe", ""]
    lines += [f"- **{name}**: {why}" for name, why in sorted(exclusions.items())]
    lines += ["", notes]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
