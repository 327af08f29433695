"""What `toolkit bench` tells a user to ship, the report's layout and plots, and run-to-run comparison.

Bench rows here are synthetic (chosen latencies and verdicts): the pick logic, the report and the plots
are judged on them without timing anything.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

from toolkit.bench.compare import compare_rows, read_previous
from toolkit.bench.picks import PICK_WINDOW, choose_picks
from toolkit.bench.plots import MAX_HEIGHT_PX
from toolkit.bench.report import write_report
from toolkit.bench.results import PICK_FIELDS, BenchResults, BenchRow
from toolkit.errors import InputsError


def bench_row(artifact: str, runtime: str, p50: float, passed: bool | None, size: int, setting: str = "cpu",
              threads: int | None = 2, batch: int = 1, model: str = "m", top1: float | None = 1.0) -> BenchRow:
    target, _, quantization = artifact.partition("-")
    return BenchRow(model=model, target=target, quantization=quantization or "none", runtime=runtime, batch=batch,
                    setting=setting, threads=threads, p50_ms=p50, p90_ms=p50 * 1.2, min_ms=p50 * 0.9, mean_ms=p50,
                    size_bytes=size, parity_passed=passed, max_abs_err=1e-3, top1_agreement=top1,
                    parity_error=None if passed else "output 'y' top-1 agreement 0.800 < 0.97 (classification)")


def _pick(picks, setting: str, model: str = "m"):
    (pick,) = [p for p in picks if p.setting == setting and p.model == model]
    return pick


def test_a_fast_artifact_that_fails_parity_is_never_picked_and_is_listed_as_rejected():
    rows = [
        bench_row("tflite-int8", "litert", 1.0, False, 300, top1=0.8),  # fastest of all, wrong answers
        bench_row("onnx", "onnxruntime", 2.0, True, 1000),  # fastest passing
        bench_row("onnx-int8", "onnxruntime", 2.1, True, 300),  # within 10% of it and smaller: the pick
        bench_row("tflite", "litert", 2.05, True, 1000),
        bench_row("onnx-int8", "onnxruntime", 0.5, True, 300, batch=8),  # another batch: not compared
    ]
    pick = _pick(choose_picks(rows), "cpu")
    assert (pick.artifact, pick.runtime, pick.p50_ms, pick.size_bytes) == ("onnx-int8", "onnxruntime", 2.1, 300)
    assert pick.p50_ms <= pick.fastest_p50_ms * (1 + PICK_WINDOW) and pick.fastest_p50_ms == 2.0
    assert pick.reason.startswith("onnx-int8 on ONNX Runtime 2 threads: 2.1 ms, 0.30x size, top-1 agreement 1.000")
    assert "onnx on ONNX Runtime 2 threads (2 ms)" in pick.reason
    (rejected,) = pick.rejected
    assert (rejected.artifact, rejected.runtime) == ("tflite-int8", "litert")
    assert rejected.why.startswith("fails parity (top-1 agreement 0.800)") and "0.97" in rejected.why


def test_unchecked_parity_is_not_shippable_and_no_pass_means_no_pick():
    rows = [bench_row("onnx", "onnxruntime", 1.0, None, 100, setting="gpu", threads=None),
            bench_row("tflite", "litert", 0.5, False, 100, setting="mobile-like", threads=1),
            bench_row("tflite-int8", "litert", 0.9, True, 50, setting="mobile-like", threads=1)]
    picks = choose_picks(rows)
    gpu = _pick(picks, "gpu")
    assert gpu.artifact is None and "none of 1 timed rows passed parity" in gpu.reason
    assert gpu.rejected[0].why.startswith("parity not checked")
    mobile = _pick(picks, "mobile-like")
    assert mobile.artifact == "tflite-int8" and [r.artifact for r in mobile.rejected] == ["tflite"]


def test_each_setting_gets_its_own_pick_and_json_has_the_issue_fields():
    rows = [bench_row("onnx", "onnxruntime", 0.01, True, 100),
            bench_row("onnx", "ort-web", 0.02, True, 100, setting="browser", threads=None),
            bench_row("tfjs", "tfjs-browser", 0.05, True, 120, setting="browser", threads=None),
            bench_row("onnx", "onnxruntime", 0.03, True, 100, model="other")]
    results = BenchResults(rows=rows, picks=choose_picks(rows))
    picks = json.loads(json.dumps(results.to_json()))["picks"]
    assert [(p["model"], p["setting"], p["runtime"]) for p in picks] == [
        ("m", "cpu", "onnxruntime"), ("m", "browser", "ort-web"), ("other", "cpu", "onnxruntime")]
    assert all(set(PICK_FIELDS) <= set(p) for p in picks)


def _many_models(count: int, artifacts: int) -> list[BenchRow]:
    """`count` models with `artifacts` distinct artifacts each, every one timed in two settings."""
    rows = []
    for m in range(count):
        for a in range(artifacts):
            target, runtime = (("tflite", "litert"), ("onnx", "onnxruntime"), ("tfjs", "tfjs-node-wasm"))[a % 3]
            for setting, threads in (("cpu", 2), ("mobile-like", 1)):
                rows.append(bench_row(f"{target}-q{a}", runtime, 0.01 * (a + 1), a % 5 != 0, 1000 + 100 * a,
                                      setting=setting, threads=threads, model=f"model_{m:02d}"))
    return rows


def test_report_opens_with_the_picks_and_no_plot_is_over_the_height_limit(tmp_path):
    rows = _many_models(6, 30)  # 60 bars a panel: three lines of two panels pass 4,000 px, so latency.png splits
    results = BenchResults(rows=rows, picks=choose_picks(rows))
    write_report(results, tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    top = "\n".join(markdown.splitlines()[:30])
    for pick in results.picks[:10]:
        assert f"| {pick.model} | {pick.setting} | {pick.artifact} |" in top
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings[0] == "## model_00: p50 ms at batch 1 per setting, with the parity verdict"
    assert headings[-1] == "## Where and how these numbers were measured"
    images = sorted(tmp_path.glob("*.png"))
    assert {"latency.png", "latency_2.png", "size_error.png", "tradeoffs.png"} <= {p.name for p in images}
    for image in images:
        assert Image.open(image).size[1] <= MAX_HEIGHT_PX, image.name
        assert f"![{image.name}]({image.name})" in markdown
    html = (tmp_path / "report.html").read_text()
    assert html.index("<th>ship</th>") < html.index("<img") < html.index("Where and how these numbers were measured")


def test_compare_reports_ratio_and_noise_band(tmp_path):
    old = [bench_row("onnx", "onnxruntime", 1.0, True, 100), bench_row("tflite", "litert", 1.0, True, 100),
           bench_row("tfjs", "tfjs-node-wasm", 1.0, True, 100)]
    new = [bench_row("onnx", "onnxruntime", 1.5, True, 100), bench_row("tflite", "litert", 1.05, True, 100),
           bench_row("tfjs", "tfjs-node-wasm", 0.5, True, 100), bench_row("tfjs-fp16", "tfjs-node-wasm", 0.5, True, 50)]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(BenchResults(rows=old).to_json()))
    changes, only_new, only_old = compare_rows(read_previous(path), new)
    verdicts = {c.artifact: (round(c.ratio, 2), c.verdict) for c in changes}
    assert verdicts == {"onnx": (1.5, "slower"), "tflite": (1.05, "within noise"), "tfjs": (0.5, "faster")}
    assert all(c.band == pytest.approx(2 ** 0.5 * 0.1) for c in changes)  # 10% below p50 in each run
    assert (only_new, only_old) == (1, 0)


@pytest.mark.parametrize("content", ["not json", '{"rows": []}', '{"results": [{"model": "m"}]}'])
def test_compare_refuses_a_file_that_is_not_a_bench_json(tmp_path, content):
    path = tmp_path / "old.json"
    path.write_text(content)
    with pytest.raises(InputsError, match="--compare"):
        read_previous(path)


def test_browser_runtimes_form_their_own_setting_apart_from_cpu():
    from toolkit.bench.settings import setting_variants
    from toolkit.registry import runtimes

    browsers = {name for name, entry in runtimes().items() if entry.factory.is_browser}
    cpu, browser = setting_variants("cpu"), setting_variants("browser")
    assert browsers and not {v.runtime for v in cpu} & browsers
    assert {v.runtime for v in browser} == browsers and all(v.setting == "browser" for v in browser)
