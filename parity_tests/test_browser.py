"""The browser demo, its server, and the tfjs-browser / ort-web runtimes, in real headless Chromium.

One Chromium and one demo server per model serve the whole file (session fixtures): digits
(the drawing pad), a small image CNN and a two-input, two-output model saved here. Server tests
speak raw HTTP so that `..` and percent-encodings reach the server unnormalised; they
need no browser and carry no `browser` mark.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from toolkit.api import start_demo
from toolkit.demo.app import build_demo_server
from toolkit.demo.config import FLOAT32_ATOL, FLOAT32_RTOL
from toolkit.demo.kinds import image_value_range, model_kind
from toolkit.demo.static_server import StaticServer, require_web_demo, run_in_background
from toolkit.errors import InferenceTimeoutError, RuntimeUnavailableError, UsageError
from toolkit.export.golden import read_golden
from toolkit.registry import runtimes
from toolkit.runtimes import chromium as browser

TEST_OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
PHONE = {"width": 390, "height": 844}


def _unavailable() -> str | None:
    try:
        browser.require_chromium()
        require_web_demo()
    except RuntimeUnavailableError as error:
        return str(error)
    return None


needs_browser = pytest.mark.skipif(_unavailable() is not None, reason=str(_unavailable()))


# --- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_url(exports, artifacts_root):
    """The demo of the digits model on a free port, from the session's cached exports."""
    require_web_demo()
    for target in ("tfjs", "onnx"):
        assert exports[("digits", target, "none")].ok, exports[("digits", target, "none")].error
    url, shutdown = start_demo("digits", port=0, out_dir=artifacts_root)
    yield url
    shutdown()


@pytest.fixture(scope="session")
def chromium():
    yield browser.shared_browser()
    browser.close_shared()


@pytest.fixture(scope="session")
def demo_page(chromium, demo_url):
    """The page at desktop size, loaded once; page errors are collected in page.errors_seen."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(demo_url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    page.errors_seen = errors
    yield page
    with contextlib.suppress(Exception):  # the last test of this file stops Chromium on purpose
        context.close()


def _status(page) -> str:
    return page.inner_text("#status")


def _draw(page, strokes, steps=8) -> None:
    """Draw strokes given in 0..1 pad coordinates with real mouse events."""
    box = page.locator("#pad").bounding_box()
    at = lambda x, y: (box["x"] + x * box["width"], box["y"] + y * box["height"])  # noqa: E731
    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            for step in range(1, steps + 1):
                page.mouse.move(*at(x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps))
        page.mouse.up()


def _raw_get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    """GET `path` exactly as written (http.client does not normalise it); (status, content type)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Content-Type", "")
    finally:
        connection.close()


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


# --- the page ----------------------------------------------------------------------


@pytest.mark.browser
@needs_browser
def test_page_loads_and_both_runtimes_predict(demo_page):
    demo_page.wait_for_selector("#card-ort[data-top1]")
    demo_page.wait_for_selector("#card-tfjs[data-top1]")
    # The first held-out sample (a 0) is selected on load; both runtimes must call it a 0.
    assert demo_page.get_attribute("body", "data-input") == "sample-0"
    assert demo_page.get_attribute("#card-tfjs", "data-top1") == "0"
    assert demo_page.get_attribute("#card-ort", "data-top1") == "0"
    assert demo_page.locator("#card-tfjs .top3 li").count() == 3
    assert demo_page.inner_text("#tfjs-backend") in {"active: webgl", "active: wasm", "active: cpu"}
    assert "ms" in demo_page.inner_text("#card-ort .latency")
    assert demo_page.errors_seen == []


@pytest.mark.browser
@needs_browser
def test_parity_panel_passes(demo_page):
    demo_page.wait_for_selector("body[data-parity]", timeout=60_000)
    assert demo_page.get_attribute("body", "data-parity") == "pass", _status(demo_page)
    rows = demo_page.locator("#parity-rows tr")
    assert rows.count() == 2
    for index in range(2):
        cells = rows.nth(index).locator("td")
        assert float(cells.nth(1).inner_text()) <= FLOAT32_ATOL
        assert cells.nth(2).inner_text() == "PASS"


@pytest.mark.browser
@needs_browser
def test_drawn_stroke_changes_the_prediction(demo_page):
    demo_page.wait_for_selector("#card-ort[data-top1]")
    before = demo_page.inner_text("#card-ort .top3")
    _draw(demo_page, [[(0.5, 0.15), (0.5, 0.85)]])  # a one
    demo_page.wait_for_function(
        "(before) => document.body.dataset.input === 'drawing'"
        " && document.querySelector('#card-ort .top3').innerText !== before",
        arg=before,
    )
    demo_page.wait_for_timeout(200)  # the last animation frame's prediction
    assert demo_page.get_attribute("#card-ort", "data-top1") == "1"
    assert demo_page.get_attribute("#card-tfjs", "data-top1") == "1"


@pytest.mark.browser
@needs_browser
def test_screenshot_with_a_drawn_digit(demo_page):
    TEST_OUTPUT.mkdir(exist_ok=True)
    demo_page.click("#clear")
    loop = [(0.5 + 0.17 * math.sin(a / 12 * math.pi), 0.3 - 0.15 * math.cos(a / 12 * math.pi)) for a in range(25)]
    tail = [(0.66, 0.32), (0.62, 0.62), (0.55, 0.86)]
    _draw(demo_page, [[*loop, *tail]], steps=4)  # a nine
    demo_page.wait_for_selector("body[data-parity='pass']")
    demo_page.wait_for_function("document.querySelector('#card-ort').dataset.top1 === '9'")
    demo_page.screenshot(path=TEST_OUTPUT / "web_demo.png", full_page=True)
    assert (TEST_OUTPUT / "web_demo.png").stat().st_size > 10_000


@pytest.mark.browser
@needs_browser
def test_backend_switch_reruns_parity(demo_page):
    demo_page.select_option("#backend", "cpu")
    demo_page.wait_for_function("document.querySelector('#tfjs-backend').innerText === 'active: cpu'")
    demo_page.wait_for_selector("body[data-parity='pass']", timeout=60_000)
    assert "TensorFlow.js (cpu)" in demo_page.inner_text("#parity-rows")


@pytest.mark.browser
@needs_browser
def test_phone_viewport_has_no_horizontal_overflow(chromium, demo_url):
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(demo_url)
        page.wait_for_selector("body[data-parity='pass']", timeout=60_000)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"page is {overflow}px wider than a {PHONE['width']}px phone"
        pad = page.locator("#pad").bounding_box()
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= PHONE["width"]
        TEST_OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=TEST_OUTPUT / "web_demo_phone.png", full_page=True)
    finally:
        context.close()


# --- any model: an image model and a multi-input, multi-output one -------------------------

# Bump when a builder below changes: the cached .keras files and their exports are made again.
USER_DEMO_VERSION = 1
DEMO_TARGETS = ("tfjs", "onnx")


def _image_cnn():
    """A small Functional CNN on 32x32 RGB that rescales raw pixels itself, so the page feeds [0, 255]."""
    import keras
    from keras import layers

    image = keras.Input((32, 32, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescale")(image)
    x = layers.Conv2D(8, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, layers.Dense(5, activation="softmax", name="class_probs")(x), name="demo_cnn")


def _two_by_two():
    """Two inputs (one of rank 3) and two named outputs: a 4-class head and a 2x3 embedding."""
    import keras
    from keras import layers

    features, context = keras.Input((12,), name="features"), keras.Input((3, 4), name="context")
    x = layers.Dense(16, activation="relu")(layers.Concatenate()([features, layers.Flatten()(context)]))
    outputs = {"category": layers.Dense(4, activation="softmax", name="category")(x),
               "embedding": layers.Reshape((2, 3), name="embedding")(layers.Dense(6, activation="tanh")(x))}
    return keras.Model([features, context], outputs, name="demo_two_by_two")


@pytest.fixture(scope="session")
def user_demo_root() -> Path:
    """The user models' .keras files and their artifacts, together, so neither outlives the other."""
    from toolkit.files import cache_dir

    return cache_dir() / "test-demo" / f"v{USER_DEMO_VERSION}"


def _saved(root: Path, name: str, build) -> Path:
    """`build()` saved as root/name.keras once (seeded), then reused: the same file keeps its exports current."""
    import keras

    path = root / f"{name}.keras"
    if not path.is_file():
        root.mkdir(parents=True, exist_ok=True)
        keras.utils.set_random_seed(0)
        partial = root / f"{name}.partial.keras"
        build().save(partial)
        partial.replace(path)
    return path


def _user_demo(root: Path, name: str, build):
    """(url, shutdown) of the demo of a user model, exported to TF.js and ONNX with api.export first."""
    from toolkit import api

    require_web_demo()
    path = _saved(root, name, build)
    for result in api.export(path, DEMO_TARGETS, out_dir=root / "artifacts"):
        assert result.ok, result.error or result.skipped
    return start_demo(path, port=0, out_dir=root / "artifacts")


@pytest.fixture(scope="session")
def image_demo_url(user_demo_root):
    url, shutdown = _user_demo(user_demo_root, "demo_cnn", _image_cnn)
    yield url
    shutdown()


@pytest.fixture(scope="session")
def multi_demo_url(user_demo_root):
    url, shutdown = _user_demo(user_demo_root, "demo_two_by_two", _two_by_two)
    yield url
    shutdown()


@contextlib.contextmanager
def _opened(chromium, url, viewport=None, **options):
    """A new page at `url`, waited on until its parity panel has run (page errors in page.errors_seen); its
    browser context is closed on the way out."""
    context = chromium.new_context(viewport=viewport or {"width": 1280, "height": 900}, **options)
    try:
        page = context.new_page()
        page.errors_seen = []
        page.on("pageerror", lambda error: page.errors_seen.append(str(error)))
        page.goto(url)
        page.wait_for_selector("body[data-parity]", timeout=90_000)
        yield page
    finally:
        with contextlib.suppress(Exception):
            context.close()


@pytest.fixture(scope="session")
def image_page(chromium, image_demo_url):
    with _opened(chromium, image_demo_url) as page:
        yield page


@pytest.fixture(scope="session")
def multi_page(chromium, multi_demo_url):
    with _opened(chromium, multi_demo_url) as page:
        yield page


def _both_predicted(page, source: str) -> None:
    for key in ("tfjs", "ort"):
        page.wait_for_selector(f"#card-{key}[data-input='{source}']", timeout=30_000)


def _assert_parity_passes(page, outputs: list[str]) -> None:
    assert page.get_attribute("body", "data-parity") == "pass", page.inner_text("#parity-panel")
    rows = page.locator("#parity-rows tr")
    assert rows.count() == 2
    for index in range(2):
        cells = rows.nth(index).locator("td")
        assert cells.nth(2).inner_text() == "PASS"
        assert float(cells.nth(1).inner_text()) <= FLOAT32_ATOL
        assert all(name in cells.nth(0).inner_text() for name in outputs)  # the error of each output


@pytest.mark.browser
@needs_browser
def test_image_model_page_predicts_in_both_runtimes_and_passes_parity(image_page):
    assert image_page.title().startswith("demo_cnn")
    assert image_page.inner_text("#title") == "demo_cnn"
    assert image_page.get_attribute("body", "data-kind") == "image"
    assert image_page.is_visible("#image-input") and not image_page.is_visible("#pad")
    assert image_page.get_attribute("#image-file", "accept") == "image/*"
    _both_predicted(image_page, "sample-gradient")  # the first generated sample is picked on load
    for key in ("tfjs", "ort"):
        assert image_page.locator(f"#card-{key} .output[data-output='class_probs'] .top3 li").count() == 3
        assert "ms" in image_page.inner_text(f"#card-{key} .latency")
    assert image_page.get_attribute("#card-tfjs", "data-top1") == image_page.get_attribute("#card-ort", "data-top1")
    assert image_page.inner_text("#tfjs-backend") in {"active: webgl", "active: wasm", "active: cpu"}
    # The model starts with Rescaling(1/255): the page says it feeds raw pixels, and why.
    assert "[0, 255]" in image_page.inner_text("#image-range") and "rescale" in image_page.inner_text("#image-range")
    _assert_parity_passes(image_page, ["class_probs"])
    assert image_page.errors_seen == []


@pytest.mark.browser
@needs_browser
def test_image_picker_changes_the_input(image_page, tmp_path):
    from PIL import Image

    red = tmp_path / "red.png"
    Image.new("RGB", (50, 40), (255, 0, 0)).save(red)  # another size: the page resizes it to 32x32
    image_page.set_input_files("#image-file", red)
    _both_predicted(image_page, "file:red.png")
    # R = 255, G = B = 0 in the [0, 255] range: the mean over H x W x 3 is 85.
    assert float(image_page.get_attribute("body", "data-input-mean")) == pytest.approx(85, abs=0.5)
    red_outputs = image_page.inner_text("#card-ort .outputs")
    image_page.click("#image-samples .sample[data-sample='checkers']")
    _both_predicted(image_page, "sample-checkers")
    assert float(image_page.get_attribute("body", "data-input-mean")) == pytest.approx(127.5, abs=8)
    assert image_page.inner_text("#card-ort .outputs") != red_outputs
    assert image_page.get_attribute("#card-tfjs", "data-top1") == image_page.get_attribute("#card-ort", "data-top1")
    TEST_OUTPUT.mkdir(exist_ok=True)
    image_page.screenshot(path=TEST_OUTPUT / "web_demo_image.png", full_page=True)
    assert image_page.errors_seen == []


@pytest.mark.browser
@needs_browser
def test_multi_input_multi_output_page_shows_every_output(multi_page):
    assert multi_page.inner_text("#title") == "demo_two_by_two"
    assert multi_page.get_attribute("body", "data-kind") == "other"
    _both_predicted(multi_page, "golden-0")  # the first golden sample is run on load
    assert multi_page.locator("#golden-inputs li").count() == 2  # features and context
    for key in ("tfjs", "ort"):
        outputs = multi_page.locator(f"#card-{key} .output")
        assert [outputs.nth(i).get_attribute("data-output") for i in range(outputs.count())] == ["category", "embedding"]
        assert multi_page.locator(f"#card-{key} .output[data-output='category'] .top3 li").count() == 3
        embedding = multi_page.inner_text(f"#card-{key} .output[data-output='embedding']")
        assert "1×2×3" in embedding and embedding.count(",") == 5  # its shape and its six values
    _assert_parity_passes(multi_page, ["category", "embedding"])
    multi_page.click("#golden-next")
    _both_predicted(multi_page, "golden-1")
    assert multi_page.inner_text("#golden-position") == "sample 2 of 4"
    TEST_OUTPUT.mkdir(exist_ok=True)
    multi_page.screenshot(path=TEST_OUTPUT / "web_demo_other.png", full_page=True)
    assert multi_page.errors_seen == []


@pytest.mark.browser
@needs_browser
def test_a_runtime_without_its_model_shows_the_error_in_its_panel(chromium, multi_demo_url, user_demo_root):
    """The ONNX artifact alone, as when the TF.js export failed: its panel says so, the rest of the page works."""
    onnx = user_demo_root / "artifacts" / "demo_two_by_two" / "onnx"
    server = build_demo_server({"onnx": onnx}, 0, unavailable={"tfjs": "the converter refused a layer"})
    url, shutdown = run_in_background(server)
    try:
        with _opened(chromium, url) as page:
            assert "the converter refused a layer" in page.inner_text("#card-tfjs .card-error")
            page.wait_for_selector("#card-ort[data-input='golden-0']")
            assert page.locator("#card-ort .output").count() == 2
            assert page.get_attribute("body", "data-parity") == "incomplete"
            assert "ERROR" in page.inner_text("#parity-rows tr[data-runtime='tfjs']")
            assert "PASS" in page.inner_text("#parity-rows tr[data-runtime='ort']")
            assert page.errors_seen == []
    finally:
        shutdown()


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize("which", ["image", "other"])
def test_any_model_page_fits_a_phone(chromium, image_demo_url, multi_demo_url, which):
    url = image_demo_url if which == "image" else multi_demo_url
    with _opened(chromium, url, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True) as page:
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"page is {overflow}px wider than a {PHONE['width']}px phone"
        TEST_OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=TEST_OUTPUT / f"web_demo_{which}_phone.png", full_page=True)


def test_model_kind_follows_the_signature():
    def signature(inputs, outputs=(("y", [None, 3]),)):
        return {"inputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in inputs],
                "outputs": [{"name": n, "shape": s, "dtype": "float32"} for n, s in outputs]}

    assert model_kind(signature([("x", [None, 64], "float32")], [("y", [None, 10])])) == "digits"
    assert model_kind(signature([("x", [None, 32, 32, 3], "float32")])) == "image"
    assert model_kind(signature([("x", [None, 28, 28, 1], "float32")])) == "image"
    assert model_kind(signature([("x", [None, 3, 32, 32], "float32")])) == "other"  # channels first
    assert model_kind(signature([("x", [None, None, None, 3], "float32")])) == "other"  # no fixed size
    assert model_kind(signature([("x", [None, 32, 32, 3], "int32")])) == "other"
    assert model_kind(signature([("a", [None, 8], "float32"), ("b", [None, 8], "float32")])) == "other"


def test_image_value_range_follows_the_models_preprocessing():
    """The picker feeds the range the toolkit samples the input from: a leading Rescaling decides it."""
    import keras

    from toolkit.model.calling import describe_model

    def loaded(*layers):
        model = keras.Sequential([keras.Input((8, 8, 3)), *layers])
        return SimpleNamespace(model=model, signature=describe_model(model))

    conv = keras.layers.Conv2D(2, 3)
    assert image_value_range(loaded(conv))[0] == (0.0, 1.0)
    assert image_value_range(loaded(keras.layers.Rescaling(1 / 255), conv))[0] == (0.0, 255.0)
    assert image_value_range(loaded(keras.layers.Rescaling(1 / 127.5, offset=-1), conv))[0] == (0.0, 255.0)
    assert image_value_range(loaded(keras.layers.Rescaling(2.0), conv))[0] == (0.0, 0.5)  # maps [0, 0.5] to [0, 1]
    assert image_value_range(None)[0] == (0.0, 1.0)


# --- the server ----------------------------------------------------------------------

TRAVERSALS = [
    "/../pyproject.toml",
    "/%2e%2e/pyproject.toml",
    "/%2E%2E/pyproject.toml",
    "/%252e%252e/pyproject.toml",
    "/..%2fpyproject.toml",
    "/%2e%2e%2fpyproject.toml",
    "/js/../../pyproject.toml",
    "/node_modules/../../pyproject.toml",
    "/artifacts/tfjs/../../digits/onnx/model.onnx",
    "/artifacts/tfjs/..%2f..%2f..%2fpyproject.toml",
    "/..\\pyproject.toml",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd",
    "/./index.html",
    "/js/",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_paths_outside_the_served_folders_get_404(demo_url, path):
    assert _raw_get(_port(demo_url), path)[0] == 404


@pytest.mark.parametrize("path, content_type", [
    ("/", "text/html"),
    ("/config.json", "application/json"),
    ("/js/app.js", "text/javascript"),
    ("/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs", "text/javascript"),
    ("/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm", "application/wasm"),
    ("/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm", "application/wasm"),
    ("/artifacts/tfjs/model.json", "application/json"),
    ("/artifacts/onnx/model.onnx", "application/octet-stream"),
])
def test_served_files_have_their_mime_types(demo_url, path, content_type):
    status, served_type = _raw_get(_port(demo_url), path)
    assert status == 200 and served_type.startswith(content_type)


def test_listens_on_loopback_only(demo_url):
    assert demo_url.startswith("http://127.0.0.1:")
    # Another Host name (a DNS-rebinding page) is refused.
    assert _raw_get(_port(demo_url), "/", host="attacker.example")[0] == 403
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: picks the outward interface, sends nothing
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with pytest.raises(OSError):
        socket.create_connection((address, _port(demo_url)), timeout=2).close()


def test_symlinks_out_of_a_mount_get_404(tmp_path):
    web, secret = tmp_path / "web", tmp_path / "secret.txt"
    web.mkdir()
    secret.write_text("not for the browser")
    (web / "inside.txt").write_text("fine")
    (web / "leak.txt").symlink_to(secret)
    (web / "alias.txt").symlink_to(web / "inside.txt")
    url, shutdown = run_in_background(StaticServer(port=0, web_root=web))
    try:
        assert _raw_get(_port(url), "/inside.txt")[0] == 200
        assert _raw_get(_port(url), "/alias.txt")[0] == 200
        assert _raw_get(_port(url), "/leak.txt")[0] == 404
        assert _raw_get(_port(url), "/" + str(secret))[0] == 404
    finally:
        shutdown()


def test_long_paths_and_symlink_loops_get_an_answer_not_a_traceback(tmp_path):
    """Regression: a 256+ character path segment or a symlink loop left the client without a reply."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "loop_a").symlink_to(web / "loop_b")
    (web / "loop_b").symlink_to(web / "loop_a")
    url, shutdown = run_in_background(StaticServer(port=0, web_root=web))
    try:
        assert _raw_get(_port(url), "/" + "a" * 300)[0] == 404  # one name longer than the file system allows
        assert _raw_get(_port(url), "/" + "/".join(["abcdefgh"] * 200))[0] == 414
        assert _raw_get(_port(url), "/loop_a")[0] == 404
        assert _raw_get(_port(url), "/loop_a/x")[0] == 404
    finally:
        shutdown()


def test_missing_setup_names_the_fix(tmp_path, monkeypatch):
    with pytest.raises(RuntimeUnavailableError, match="apt-get install -y chromium"):
        browser.require_chromium(tmp_path / "chromium")
    monkeypatch.setattr("toolkit.demo.static_server.WEB_DEMO_DIR", tmp_path)
    with pytest.raises(RuntimeUnavailableError, match="npm ci"):
        require_web_demo()


@pytest.mark.skipif(_unavailable() is not None, reason=str(_unavailable()))
def test_demo_command_serves_until_ctrl_c(exports, artifacts_root):
    """`toolkit demo --port 0 --no-browser` as a user runs it: prints its URL, serves the page, stops on Ctrl+C."""
    for target in ("tfjs", "onnx"):
        assert exports[("digits", target, "none")].ok
    command = [sys.executable, "-m", "toolkit.cli", "demo", "--port", "0", "--no-browser", "--out", str(artifacts_root)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        match = re.search(r"serving digits at (http://127\.0\.0\.1:(\d+)/)", first)
        assert match, first + process.stderr.read() if process.poll() is not None else first
        status, content_type = _raw_get(int(match.group(2)), "/config.json")
        assert status == 200 and content_type.startswith("application/json")
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "stopped" in out


# --- the runtimes ----------------------------------------------------------------------


def _assert_matches(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for name, reference in expected.items():
        assert got[name].shape == reference.shape and got[name].dtype == reference.dtype
        np.testing.assert_allclose(got[name], reference, atol=FLOAT32_ATOL, rtol=FLOAT32_RTOL)


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize("model", ["digits", "siamese"])
@pytest.mark.parametrize("runtime_name", ["tfjs-browser", "ort-web"])
def test_browser_runtime_matches_golden(exports, chromium, runtime_name, model):
    entry = runtimes()[runtime_name]
    export = exports[(model, entry.target, "none")]
    assert export.ok, export.error
    feeds, expected = read_golden(export.path)
    with entry.factory(export.path) as runtime:
        assert runtime.backend == "wasm"
        _assert_matches(runtime.infer(feeds), expected)
        first = {name: value[:1] for name, value in feeds.items()}  # a second batch size
        _assert_matches(runtime.infer(first), {name: value[:1] for name, value in expected.items()})
        latencies = runtime.measure_runs(first, warmup=2, runs=5)
        assert len(latencies) == 5 and all(ms >= 0 for ms in latencies) and sum(latencies) > 0


@pytest.mark.browser
@needs_browser
def test_cpu_throttling_slows_the_page(exports, chromium):
    """4x DevTools throttling (the mobile-like setting): same numbers, slower page."""
    export = exports[("digits", "onnx", "none")]
    feeds, expected = read_golden(export.path)
    busy = "() => { const t = performance.now(); let x = 0; for (let i = 0; i < 1e7; i++) x += Math.sqrt(i); return performance.now() - t; }"
    factory = runtimes()["ort-web"].factory
    with factory(export.path) as plain, factory(export.path, cpu_throttling=4.0) as throttled:
        _assert_matches(throttled.infer(feeds), expected)
        assert len(throttled.measure_runs(feeds, warmup=1, runs=3)) == 3
        # Chrome's throttling is coarse (it pauses the page's thread), so only ask for a clear slowdown; the
        # fastest of 3 alternating runs per page, since a loaded machine slows any single run (measured: a
        # plain page's one run took 75 ms against the throttled page's 72 under the whole suite's load).
        plain_ms, throttled_ms = [], []
        for _ in range(3):
            plain_ms.append(plain._page.evaluate(busy))
            throttled_ms.append(throttled._page.evaluate(busy))
        assert min(throttled_ms) > 1.3 * min(plain_ms), (plain_ms, throttled_ms)


@pytest.mark.browser
@needs_browser
def test_unknown_options_fail_loudly(exports, chromium):
    export = exports[("digits", "tfjs", "none")]
    factory = runtimes()["tfjs-browser"].factory
    with pytest.raises(UsageError, match="unknown option colour"):
        factory(export.path, colour="red").activate()
    with pytest.raises(UsageError, match="unknown backend webgpu"):
        factory(export.path, backend="webgpu").activate()
    with pytest.raises(UsageError, match="cpu_throttling must be >= 1"):
        factory(export.path, cpu_throttling=0.5).activate()


# --- last in this file: it stops the shared Chromium on purpose --------------------------------


@pytest.mark.browser
@needs_browser
def test_a_page_that_hangs_is_stopped_and_the_runtime_recovers(exports, chromium):
    """Regression: a model that looped forever in the page (keras.ops.cumsum on TF.js) hung `toolkit parity`."""
    export = exports[("digits", "onnx", "none")]
    feeds, expected = read_golden(export.path)
    with runtimes()["ort-web"].factory(export.path, timeout_s=3) as runtime:
        with pytest.raises(InferenceTimeoutError, match="did not answer within 3 s; Chromium was stopped"):
            browser.evaluate(runtime._page, "() => { while (true) {} }", None, runtime.timeout_s, "a busy page")
        _assert_matches(runtime.infer(feeds), expected)  # its model was loaded again in a new Chromium

