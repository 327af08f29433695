"""Where artifacts go and which ones a request means: OUT/<model>/<target>[-<quantization>]/."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toolkit.errors import UsageError
from toolkit.labels import artifact_label
from toolkit.registry import every_quantization, exporters

MANIFEST_NAME = "manifest.json"
GOLDEN_NAME = "golden.json"
BOOKKEEPING = (MANIFEST_NAME, GOLDEN_NAME)  # the toolkit's files beside an artifact; never deployed


def artifact_dir(out_dir: Path, model: str, target: str, quantization: str) -> Path:
    return Path(out_dir) / model / artifact_label(target, quantization)


def artifact_size(folder: Path) -> int:
    """Bytes of what would be deployed: every file of the artifact but the toolkit's bookkeeping."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and p.name not in BOOKKEEPING)


def resolve_targets(names: Sequence[str]) -> list[str]:
    """Target names, "all" expanded; unknown names are a UsageError listing the known ones."""
    known = exporters()
    if not names:
        raise UsageError(f"no target given; choose from {', '.join(known)} or all")
    if "all" in names:
        return list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown target {', '.join(unknown)}; choose from {', '.join(known)} or all")
    return list(dict.fromkeys(names))


def resolve_quantizations(names: Sequence[str] | None) -> list[str] | None:
    """None (each target's default), every mode for "all", else the names checked against the known modes."""
    if names is None:
        return None
    every = every_quantization()
    if "all" in names:
        return every_quantization(meant_by_all=True)
    unknown = [n for n in names if n not in every]
    if unknown or not names:
        shown = ", ".join(unknown) or "(none)"
        raise UsageError(f"unknown quantization {shown}; choose from {', '.join(every)} or all")
    return list(dict.fromkeys(names))


def plan_exports(targets: Sequence[str], quantizations: Sequence[str] | None) -> list[tuple[str, str]]:
    """(target, quantization) pairs: each target's default when `quantizations` is None, else every
    requested mode the target offers. A mode that applies to none of the targets is a UsageError."""
    known = exporters()
    targets = resolve_targets(targets)
    modes = resolve_quantizations(quantizations)
    if modes is None:
        return [(target, known[target].quantizations[0]) for target in targets]
    pairs = [(target, mode) for target in targets for mode in known[target].quantizations if mode in modes]
    explicit = quantizations is not None and "all" not in quantizations
    orphans = [m for m in modes if explicit and not any(q == m for _, q in pairs)]
    if orphans or not pairs:
        offered = "; ".join(f"{t}: {', '.join(known[t].quantizations)}" for t in targets)
        raise UsageError(f"--quantize {','.join(orphans or modes)} applies to none of {', '.join(targets)}; {offered}")
    return pairs
