"""Probe which built-in Keras layers export to which target and run right in which runtime; write docs/op_support.md.

Each probe is a small Functional model around one layer in one configuration (benchmarks/probe_catalog.py,
benchmarks/probe_preprocessing.py) with non-trivial random weights, saved to .keras, exported to every
target with the toolkit's own exporters and checked with `check_parity` in every runtime of the target:
tf_savedmodel, litert, onnxruntime and ort-web, tfjs-node-cpu, tfjs-node-wasm and tfjs-browser (those set
up here). Models, artifacts and the cells found are kept under the toolkit's cache folder: a rerun reuses
every artifact whose model and exporter code are unchanged, and `--only` reruns some rows.

    .venv/bin/python benchmarks/probe_ops.py [--only NAME,...] [--missing] [--out docs/op_support.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks import probe_catalog, probe_preprocessing  # noqa: E402
from benchmarks.probe_table import TARGETS, export_cell, runtime_cell, write_table  # noqa: E402
from toolkit.tf_env import import_tf  # noqa: E402

PROBES = {**probe_catalog.PROBES, **probe_preprocessing.PREPROCESSING}
UNSAFE = probe_catalog.UNSAFE
IN_PROCESS_RUNTIMES = ["tf_savedmodel", "litert", "onnxruntime"]
OTHER_RUNTIMES = ("tfjs-node-cpu", "tfjs-node-wasm", "tfjs-browser", "ort-web")  # need Node or Chromium
BROWSER_RUNTIMES = ("tfjs-browser", "ort-web")
PROBE_FORMAT = "2"  # part of each saved model's key: bump when randomize_weights changes
NOTES = Path(__file__).with_name("probe_notes.md")


def randomize_weights(model, seed: int = 0) -> None:
    """Non-trivial weights: constant-initialized ones (biases, gammas, BN statistics) get noise."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = np.asarray(weight.numpy())
        if not np.issubdtype(value.dtype, np.floating):
            continue
        if "variance" in weight.path:
            value = rng.uniform(0.5, 2.0, value.shape)
        elif value.size and np.all(value == value.flat[0]):
            value = value + rng.normal(0.0, 0.3, value.shape)
        weight.assign(value.astype(weight.dtype))


def build_probe(name: str):
    import keras

    keras.utils.clear_session()  # layer names restart, so the table reads 'lstm', not 'lstm_7'
    keras.utils.set_random_seed(0)  # the same weights every run: a saved probe can be reused
    model = PROBES[name]()
    randomize_weights(model)
    return model


def probe_file_name(name: str) -> str:
    return "probe_" + "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def save_probe(name: str, folder: Path) -> Path:
    """The probe saved as .keras, keyed by its config: an unchanged probe keeps its file (and its artifacts)."""
    model = build_probe(name)
    key = hashlib.sha256((PROBE_FORMAT + model.to_json()).encode()).hexdigest()[:10]
    path = Path(folder) / f"{probe_file_name(name)}_{key}.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        model.save(path)
    return path


def parity_variants(runtimes: Sequence[str] = ("tfjs-node-cpu",)):
    """The in-process runtimes, plus those named in `runtimes` (tfjs-node-cpu, tfjs-node-wasm, tfjs-browser,
    ort-web) whose setup is here: Node and its packages, or Chromium and the web demo's packages."""
    from toolkit.errors import ToolkitError
    from toolkit.plugins import load_plugins
    from toolkit.runtimes.variants import runtime_variants

    load_plugins()  # fills the runtime registry; run as a script, nothing else has loaded them yet
    variants = list(runtime_variants(IN_PROCESS_RUNTIMES))
    for label in runtimes:
        try:
            _check_setup(label)
        except (ImportError, ToolkitError):  # not set up here: no parity in that runtime
            continue
        variants += runtime_variants([label])
    return variants


def _check_setup(label: str) -> None:
    if label in BROWSER_RUNTIMES:
        from toolkit.demo.static_server import require_web_demo
        from toolkit.runtimes.chromium import require_chromium

        require_chromium()
        require_web_demo()
    else:
        from toolkit.runtimes.tfjs_node import check_node_setup

        check_node_setup()


def probe(name: str, work: Path, variants) -> dict[str, dict]:
    """target -> cell for one probe row; a probe that cannot even be built fails every target."""
    from toolkit.errors import one_line

    try:
        return _probe(name, work, variants)
    except Exception as error:  # a Keras error building or saving the probe: the row says so
        return {t: {"status": "FAIL", "detail": f"probe failed: {one_line(error, 300)}", "runtimes": {}} for t in TARGETS}


def _probe(name: str, work: Path, variants) -> dict[str, dict]:
    from toolkit import api
    from toolkit.export.layout import plan_exports
    from toolkit.export.manifest import read_manifest
    from toolkit.export.run import export_model
    from toolkit.parity.run import check_parity

    loaded = api.load(str(save_probe(name, work / "models")), unsafe=name in UNSAFE)
    results = export_model(loaded, plan_exports(["all"], None), work / "artifacts", replace_conflicts=True)
    rows = check_parity(loaded, [r for r in results if r.ok], variants)
    cells = {}
    for result in results:
        cell = export_cell(result)
        if cell is None:
            labels = [v.label for v in variants if v.target == result.target]
            rewrites = (read_manifest(result.path) or {}).get("rewrites", [])
            cell = runtime_cell(rewrites, [r for r in rows if r.target == result.target], labels)
        cells[result.target] = cell
    return cells


def _load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"rows": {}, "seconds": {}}


def _chosen(args, results: dict) -> list[str]:
    names = args.only.split(",") if args.only else list(PROBES)
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        raise SystemExit(f"unknown probe {', '.join(unknown)}")
    return [n for n in names if n not in results["rows"]] if args.missing else names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated probe names (default: all)")
    parser.add_argument("--missing", action="store_true", help="only the probes without a stored result")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "op_support.md")
    parser.add_argument("--work", type=Path, help="folder for models, artifacts and results (default: the cache's)")
    args = parser.parse_args(argv)
    import_tf()
    from benchmarks.probe_coverage import EXCLUDED
    from toolkit.files import cache_dir

    work = args.work or cache_dir() / "probe-ops"
    store = work / "results.json"
    results = _load_results(store)
    variants = parity_variants(OTHER_RUNTIMES)
    for name in _chosen(args, results):
        started = time.perf_counter()
        results["rows"][name] = probe(name, work, variants)
        results["seconds"][name] = time.perf_counter() - started
        store.write_text(json.dumps(results))  # after every row: an interrupted run keeps what it found
        print(f"{name}: " + ", ".join(f"{t}={c['status']}" for t, c in results["rows"][name].items()), flush=True)
    table = {name: results["rows"][name] for name in PROBES if name in results["rows"]}
    seconds = sum(results["seconds"].get(name, 0.0) for name in table)
    runtimes = {target: [v.label for v in variants if v.target == target] for target in TARGETS}
    write_table(table, args.out, runtimes, seconds, EXCLUDED, NOTES.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
