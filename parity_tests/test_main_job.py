"""The main job (`toolkit run`, what `make run` calls) and then README's Quick start, as a newcomer types them.

Regression: after `make run`, the Quick start's `toolkit export --model digits` refused with exit 2,
because the Makefile and the CLI cached the trained reference models in different places. Here
every command runs in its own process, in one working directory, with the environment `make`
gives (no cache override), on the reference model `digits` (the job itself covers all of them).
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from parity_tests.test_user_models import USER_LAYERS
from toolkit.errors import EXIT_OK

ROOT = Path(__file__).resolve().parents[1]
TOOLKIT = [sys.executable, "-m", "toolkit.cli"]


def quick_start_commands() -> list[list[str]]:
    """The toolkit command lines of README's Quick start block, comments stripped."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\n\n```bash\n(.*?)```", text, re.S).group(1)
    commands = []
    for line in block.splitlines():
        words = shlex.split(line.split("#", 1)[0])
        if words and words[0] == ".venv/bin/toolkit":
            commands.append(words[1:])
    return commands


def toolkit(workdir: Path, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*TOOLKIT, *argv], cwd=workdir, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def after_main_job(tmp_path_factory) -> Path:
    """A working directory where the main job ran, holding the user files the Quick start names."""
    import keras

    from toolkit.model.loading import import_custom_objects

    workdir = tmp_path_factory.mktemp("newcomer")
    (workdir / "my_layers.py").write_text(USER_LAYERS)
    import_custom_objects(workdir / "my_layers.py")
    gated = sys.modules["toolkit_user_objects_my_layers"].GatedDense
    keras.utils.set_random_seed(4)
    inputs = keras.Input((12,), name="sensor")
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="label")(gated(8)(inputs))).save(
        workdir / "my_model.keras")
    np.savez(workdir / "calib.npz", sensor=np.random.default_rng(0).standard_normal((32, 12)).astype("float32"))
    job = toolkit(workdir, "run", "--model", "digits", "--out", "artifacts", "--reports", "reports", timeout=900)
    assert job.returncode == EXIT_OK, job.stdout[-3000:] + job.stderr[-3000:]
    return workdir


def test_the_main_job_writes_its_reports(after_main_job):
    reports = after_main_job / "reports"
    rows = json.loads((reports / "parity.json").read_text())["results"]
    assert rows and all(row["passed"] for row in rows)
    artifacts = {(row["target"], row["quantization"]) for row in rows}
    assert len(artifacts) == 13  # every target and quantization of digits (`all` leaves the searched modes out)
    assert (reports / "parity.md").is_file()
    assert {"report.md", "report.html", "bench.json"} <= {p.name for p in (reports / "bench").iterdir()}
    bench = json.loads((reports / "bench" / "bench.json").read_text())["results"]
    assert {"cpu", "mobile-like"} <= {row["setting"] for row in bench} <= {"cpu", "browser", "mobile-like"}
    assert all(row["parity_passed"] for row in bench if row["p50_ms"] and not row["runtime"].startswith("keras"))
    picks = json.loads((reports / "bench" / "bench.json").read_text())["picks"]
    assert {"cpu", "mobile-like"} <= {p["setting"] for p in picks} and all(p["artifact"] for p in picks)
    top = "\n".join((reports / "bench" / "report.md").read_text().splitlines()[:30])
    assert all(f"| digits | {p['setting']} | {p['artifact']} |" in top for p in picks)


@pytest.mark.parametrize("argv", [c for c in quick_start_commands() if c[0] != "demo"], ids=" ".join)
def test_quick_start_command_after_the_main_job(after_main_job, argv):
    result = toolkit(after_main_job, *argv)
    assert result.returncode == EXIT_OK, result.stdout[-3000:] + result.stderr[-3000:]
    if argv[:2] == ["export", "--model"] and argv[2] == "digits":
        assert "up to date" in result.stdout  # the main job's artifact, from the same trained model


def test_quick_start_demo_serves_the_main_jobs_artifacts(after_main_job):
    (demo,) = [c for c in quick_start_commands() if c[0] == "demo"]
    process = subprocess.Popen([*TOOLKIT, *demo, "--port", "0", "--no-browser"], cwd=after_main_job,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert "serving digits at http://127.0.0.1:" in first, first + (process.stderr.read() if process.poll() else "")
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == EXIT_OK and "stopped" in out


def test_demo_of_a_users_model_with_custom_layers(after_main_job):
    """`toolkit demo` for any model: the user's .keras with its custom layer, served and described in config.json."""
    import json
    import urllib.request

    process = subprocess.Popen([*TOOLKIT, "demo", "--model", "my_model.keras", "--custom-objects", "my_layers.py",
                                "--port", "0", "--no-browser"], cwd=after_main_job,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", first)
        assert url, first + (process.stderr.read() if process.poll() is not None else "")
        config = json.loads(urllib.request.urlopen(url.group(1) + "config.json", timeout=30).read())
        assert config["model"] == "my_model" and config["kind"] == "other"
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == EXIT_OK
