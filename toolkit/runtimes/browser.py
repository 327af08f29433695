"""tfjs-browser and ort-web: TF.js and ONNX Runtime Web running inside headless Chromium.

One Chromium per Python process (Debian's /usr/bin/chromium driven by Playwright,
started on first use, closed at exit) is shared by every instance. Instances of the
same kind (engine, TF.js backend, threads, CPU throttling) share one page,
web_demo/runner.html, served with the artifacts by toolkit.demo.static_server's
127.0.0.1-only server; each loads its model there under its own id, so a new instance costs a
model load (tens of ms), not a page load (about 1.5 s). Tensors cross as base64
bytes, so values arrive bit-exact. Playwright's sync API binds these objects to the
thread that started them: use the runtimes from one thread.
"""

from __future__ import annotations

import atexit
import base64
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from toolkit.demo.static_server import StaticServer, require_web_demo, run_in_background
from toolkit.errors import InferenceError, RuntimeUnavailableError, UsageError
from toolkit.registry import runtime
from toolkit.runtimes.base import Runtime

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
)
RUNNER_PAGE = "runner.html"
LOAD_TIMEOUT_MS = 60_000
BROWSER_PROCESS_NAMES = ("chromium", "chrome")  # Playwright drives Debian's Chromium as a child of this process


class _Shared:
    """The process's one Playwright driver, Chromium, file server and runner pages, each started on first use."""

    playwright = None
    browser = None
    server = None
    stop_server = None
    mounts: dict[Path, str] = {}  # artifact folder -> URL path on the server
    pages: dict[tuple, object] = {}  # (engine, backend, threads, throttling) -> playwright Page


def require_chromium(path: Path = CHROMIUM) -> None:
    if not path.exists():
        raise RuntimeUnavailableError(f"Chromium is missing at {path}; install it with `apt-get install -y chromium` (as root)")


def shared_browser() -> Browser:
    """The process-wide headless Chromium (a playwright.sync_api.Browser)."""
    if _Shared.browser is None:
        require_chromium()
        try:
            from playwright.sync_api import Error as PlaywrightError
            from playwright.sync_api import sync_playwright
        except ImportError as error:
            raise RuntimeUnavailableError("the Python package playwright is missing; run `make setup`") from error
        driver = sync_playwright().start()
        try:
            browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        except PlaywrightError as error:
            driver.stop()
            raise RuntimeUnavailableError(
                f"Chromium at {CHROMIUM} did not start ({_first_line(error)}); reinstall it with `apt-get install -y chromium`"
            ) from error
        _Shared.playwright, _Shared.browser = driver, browser
        atexit.register(close_shared)
    return _Shared.browser


def shared_server() -> StaticServer:
    """The process-wide StaticServer serving web_demo/ and mounted artifacts."""
    if _Shared.server is None:
        require_web_demo()
        server = StaticServer(port=0)
        _, _Shared.stop_server = run_in_background(server)
        _Shared.server = server
    return _Shared.server


def artifact_url(folder: Path, main_file: str) -> str:
    """URL of `main_file` in `folder`, mounting the folder on the shared server the first time."""
    server = shared_server()
    folder = Path(folder).resolve()
    if folder not in _Shared.mounts:
        _Shared.mounts[folder] = server.mount(f"artifacts/{len(_Shared.mounts)}", folder)
    return server.url.rstrip("/") + _Shared.mounts[folder] + main_file


def runner_page(kind: tuple) -> Page:
    """The shared runner page for one kind of instance: (engine, backend, threads, throttling rate)."""
    page = _Shared.pages.get(kind)
    if page is None or page.is_closed():
        from playwright.sync_api import Error as PlaywrightError

        context = shared_browser().new_context()
        page = context.new_page()
        try:
            page.goto(shared_server().url + RUNNER_PAGE)
            page.wait_for_function("window.runner !== undefined", timeout=LOAD_TIMEOUT_MS)
        except PlaywrightError as error:
            context.close()
            raise RuntimeUnavailableError(f"{RUNNER_PAGE} did not load in Chromium ({_first_line(error)}); run `make setup`") from error
        throttle(page, kind[-1])
        _Shared.pages[kind] = page
    return page


def throttle(page: Page, rate: float | None) -> None:
    """Chrome DevTools CPU throttling: the page runs `rate` times slower (Lighthouse's mobile setting is 4)."""
    if rate and rate > 1.0:
        session = page.context.new_cdp_session(page)
        session.send("Emulation.setCPUThrottlingRate", {"rate": float(rate)})


def close_shared() -> None:
    """Close Chromium, Playwright and the server (registered with atexit; tests call it too)."""
    _Shared.pages = {}
    if _Shared.browser is not None:
        _Shared.browser.close()
        _Shared.playwright.stop()
        _Shared.browser = _Shared.playwright = None
    if _Shared.server is not None:
        _Shared.stop_server()
        _Shared.server = _Shared.stop_server = None
        _Shared.mounts = {}


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def encode_feeds(feeds: dict[str, np.ndarray]) -> dict[str, dict]:
    """name -> {dtype, shape, b64} with little-endian bytes, as web_demo/js/tensors.js reads them."""
    encoded = {}
    for name, array in feeds.items():
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        encoded[name] = {"dtype": str(array.dtype.name), "shape": list(array.shape), "b64": base64.b64encode(array.tobytes()).decode()}
    return encoded


def decode_tensor(tensor: dict) -> np.ndarray:
    dtype = np.dtype(bool) if tensor["dtype"] == "bool" else np.dtype(tensor["dtype"]).newbyteorder("<")
    return np.frombuffer(base64.b64decode(tensor["b64"]), dtype=dtype).reshape(tensor["shape"])


def browser_root_pid() -> int | None:
    """The main Chromium process among this process's descendants (its renderers are its children)."""
    try:
        import psutil

        browsers = [p for p in psutil.Process().children(recursive=True)
                    if any(name in p.name().lower() for name in BROWSER_PROCESS_NAMES)]
        pids = {p.pid for p in browsers}
        roots = [p.pid for p in browsers if p.ppid() not in pids]
    except Exception:  # psutil missing or a process vanished while listing: not measurable now
        return None
    return roots[0] if len(roots) == 1 else None


class BrowserRuntime(Runtime):
    """Shared behaviour; subclasses name the in-page engine and the options they accept."""

    engine = ""  # window.runner engine: "tfjs" or "ort"
    known_options = frozenset({"cpu_throttling"})
    thread_policy = "runtime"  # the browser schedules its own threads
    is_browser = True
    times_itself = True

    def load_impl(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        self._check_options()
        url = artifact_url(self.artifact, self.manifest["main_file"])
        rate = self.options.get("cpu_throttling")
        self._page = runner_page((self.engine, self.requested_backend(), self.threads, float(rate) if rate else None))
        try:
            info = self._page.evaluate("(spec) => window.runner.load(spec)", self.load_spec(url))
        except PlaywrightError as error:
            raise InferenceError(f"{self.name}: {self.main_file} does not load in Chromium: {_first_line(error)}") from error
        self._id, self.backend, self.versions = info["id"], info["backend"], info["versions"]
        self._check_backend()

    def requested_backend(self) -> str:
        return "wasm"

    def load_spec(self, url: str) -> dict:
        return {"engine": self.engine, "url": url, "threads": self.threads, "backend": self.requested_backend()}

    def _check_options(self) -> None:
        unknown = set(self.options) - self.known_options
        if unknown:
            raise UsageError(f"{self.name}: unknown option {', '.join(sorted(unknown))}; known: {', '.join(sorted(self.known_options))}")
        rate = self.options.get("cpu_throttling")
        if rate is not None and not float(rate) >= 1.0:
            raise UsageError(f"{self.name}: cpu_throttling must be >= 1 (1 = none, 4 = a mid-tier phone), got {rate}")

    def _check_backend(self) -> None:
        """Subclasses refuse a silent fallback that would mislabel results."""

    def infer_impl(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from playwright.sync_api import Error as PlaywrightError

        try:
            outputs = self._page.evaluate("([id, feeds]) => window.runner.infer(id, feeds)", [self._id, encode_feeds(feeds)])
        except PlaywrightError as error:
            raise InferenceError(f"{self.name}: running {self.main_file} in Chromium failed: {_first_line(error)}") from error
        wanted = {spec.name: spec.dtype for spec in self.signature.outputs}
        # TF.js has no int64/float64: cast back to the signature's dtype so comparisons see Keras's types.
        return {name: decode_tensor(t).astype(wanted.get(name, t["dtype"]), copy=False) for name, t in outputs.items()}

    def measure_runs(self, feeds: dict[str, np.ndarray], warmup: int, runs: int) -> list[float]:
        """Per-run latency in ms, measured inside the page (tensor creation + run + read-back)."""
        script = "([id, feeds, warmup, runs]) => window.runner.timeRuns(id, feeds, warmup, runs)"
        return [float(ms) for ms in self._page.evaluate(script, [self._id, encode_feeds(feeds), int(warmup), int(runs)])]

    def inference_process(self) -> tuple[int | None, str]:
        # Every Chromium process (browser, renderers, utilities) is counted: the page's work spans them.
        return browser_root_pid(), f"Chromium for {self.name}, sum of per-process peaks"

    def close_impl(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        try:
            self._page.evaluate("(id) => window.runner.unload(id)", self._id)
        except PlaywrightError:
            pass  # the page or the whole browser is already gone (closed at exit)
        self._page = None


@runtime("tfjs-browser", target="tfjs")
class TfjsBrowserRuntime(BrowserRuntime):
    """TF.js graph model in Chromium; option `backend`: wasm (default), webgl or cpu."""

    engine = "tfjs"
    known_options = BrowserRuntime.known_options | {"backend"}
    backends = ("wasm", "webgl", "cpu")

    def _check_options(self) -> None:
        super()._check_options()
        if self.requested_backend() not in self.backends:
            raise UsageError(f"{self.name}: unknown backend {self.requested_backend()}; choose from {', '.join(self.backends)}")

    def requested_backend(self) -> str:
        return self.options.get("backend", "wasm")

    def _check_backend(self) -> None:
        requested = self.requested_backend()
        if self.backend != requested:
            self.close_impl()
            raise RuntimeUnavailableError(
                f"{self.name}: TF.js backend {requested} is unavailable in this Chromium (it fell back to {self.backend}); use backend=wasm"
            )


@runtime("ort-web", target="onnx")
class OrtWebRuntime(BrowserRuntime):
    """onnxruntime-web with its WebAssembly execution provider in Chromium."""

    engine = "ort"
