"""The one headless Chromium of this process, its runner pages, and a deadline on every call into a page.

Debian's /usr/bin/chromium is driven by Playwright, started on first use and closed at exit;
web_demo/runner.html is served with the artifacts by toolkit.demo.static_server's
127.0.0.1-only server. A page that never answers (a model that loops forever in WebAssembly)
cannot be interrupted through Playwright's sync API, so `evaluate` arms a timer that kills
Chromium's processes: the blocked call then returns with an error, the next call starts a
new Chromium, and `generation` tells runtimes to load their models again. Playwright's sync
API binds these objects to the thread that started them: use them from one thread.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.demo.static_server import StaticServer, require_web_demo, run_in_background
from toolkit.errors import InferenceError, InferenceTimeoutError, RuntimeUnavailableError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
)
RUNNER_PAGE = "runner.html"
DEFAULT_TIMEOUT_S = 60.0  # a page load or one call into a page; parity scales it with the model's cost
BROWSER_PROCESS_NAMES = ("chromium", "chrome")  # Playwright drives Debian's Chromium as a child of this process


class _Shared:
    """The process's one Playwright driver, Chromium, file server and runner pages, each started on first use."""

    playwright = None
    browser = None
    generation = 0  # bumped at every Chromium start: models loaded in an older one are gone
    server = None
    stop_server = None
    mounts: dict[Path, str] = {}  # artifact folder -> URL path on the server
    pages: dict[tuple, object] = {}  # (engine, backend, threads, throttling) -> playwright Page


def require_chromium(path: Path = CHROMIUM) -> None:
    if not path.exists():
        raise RuntimeUnavailableError(f"Chromium is missing at {path}; install it with `apt-get install -y chromium` (as root)")


def generation() -> int:
    return _Shared.generation


def shared_browser() -> Browser:
    """The process-wide headless Chromium (a playwright.sync_api.Browser), started if there is none."""
    if _Shared.browser is None:
        require_chromium()
        try:
            from playwright.sync_api import Error as PlaywrightError
            from playwright.sync_api import sync_playwright
        except ImportError as error:
            raise RuntimeUnavailableError("the Python package playwright is missing; run `make setup`") from error
        if _Shared.playwright is None:
            _Shared.playwright = sync_playwright().start()
            atexit.register(close_shared)
        try:
            _Shared.browser = _Shared.playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                                 args=list(CHROMIUM_ARGS))
        except PlaywrightError as error:
            raise RuntimeUnavailableError(
                f"Chromium at {CHROMIUM} did not start ({first_line(error)}); reinstall it with `apt-get install -y chromium`"
            ) from error
        _Shared.generation += 1
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
            page.wait_for_function("window.runner !== undefined", timeout=DEFAULT_TIMEOUT_S * 1000)
        except PlaywrightError as error:
            context.close()
            raise RuntimeUnavailableError(f"{RUNNER_PAGE} did not load in Chromium ({first_line(error)}); run `make setup`") from error
        throttle(page, kind[-1])
        _Shared.pages[kind] = page
    return page


def throttle(page: Page, rate: float | None) -> None:
    """Chrome DevTools CPU throttling: the page runs `rate` times slower (Lighthouse's mobile setting is 4)."""
    if rate and rate > 1.0:
        session = page.context.new_cdp_session(page)
        session.send("Emulation.setCPUThrottlingRate", {"rate": float(rate)})


def evaluate(page: Page, script: str, arg: object, timeout_s: float | None, what: str) -> object:
    """`page.evaluate(script, arg)`, stopped after `timeout_s`: on timeout Chromium is killed (the next call
    starts a new one) and InferenceTimeoutError says so; any other page error is an InferenceError."""
    from playwright.sync_api import Error as PlaywrightError

    timeout_s = timeout_s or DEFAULT_TIMEOUT_S
    expired = threading.Event()

    def stop_chromium() -> None:
        expired.set()
        kill_chromium()

    timer = threading.Timer(timeout_s, stop_chromium)
    timer.daemon = True
    timer.start()
    try:
        return page.evaluate(script, arg)
    except PlaywrightError as error:
        if expired.is_set():
            forget_browser()
            raise InferenceTimeoutError(f"{what} did not answer within {timeout_s:g} s; Chromium was stopped and "
                                        "restarts on the next request") from error
        raise InferenceError(f"{what} failed in Chromium: {first_line(error)}") from error
    finally:
        timer.cancel()


def chromium_processes() -> list:
    """This process's Chromium descendants (browser, renderers, helpers), as psutil.Process objects."""
    try:
        import psutil

        return [p for p in psutil.Process().children(recursive=True)
                if any(name in p.name().lower() for name in BROWSER_PROCESS_NAMES)]
    except Exception:  # psutil missing or a process vanished while listing
        return []


def browser_root_pid() -> int | None:
    """The main Chromium process among this process's descendants (its renderers are its children)."""
    try:
        browsers = chromium_processes()
        pids = {p.pid for p in browsers}
        roots = [p.pid for p in browsers if p.ppid() not in pids]
    except Exception:  # a process vanished while reading its parent
        return None
    return roots[0] if len(roots) == 1 else None


def kill_chromium() -> None:
    for process in chromium_processes():
        try:
            process.kill()
        except Exception:  # already gone
            pass


def forget_browser() -> None:
    """Drop the (dead) browser and its pages; the Playwright driver and the file server stay."""
    browser, _Shared.browser, _Shared.pages = _Shared.browser, None, {}
    _Shared.generation += 1  # every model loaded in it is gone
    if browser is not None:
        try:
            browser.close()
        except Exception:  # it is dead already: nothing to close
            pass


def close_shared() -> None:
    """Close Chromium, Playwright and the server (registered with atexit; tests call it too)."""
    forget_browser()
    if _Shared.playwright is not None:
        _Shared.playwright.stop()
        _Shared.playwright = None
    if _Shared.server is not None:
        _Shared.stop_server()
        _Shared.server = _Shared.stop_server = None
        _Shared.mounts = {}


def first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
