"""`toolkit demo`: serve web_demo/ and a model's TF.js and ONNX artifacts on 127.0.0.1 only.

The server hands out nothing but files under web_demo/ (its node_modules included),
the mounted artifact folders and a generated config.json: every request path is
decoded once, any `.`/`..`/empty segment or leftover `%` is refused, and the
resolved file (symlinks followed) must still lie inside its mount. The browser
runtimes (toolkit/runtimes/browser.py) reuse the same server for their runner page.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import webbrowser
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from toolkit.demo_config import SAMPLES_PER_CLASS, tolerance_json
from toolkit.errors import RuntimeUnavailableError, UsageError

WEB_DEMO_DIR = Path(__file__).resolve().parent.parent / "web_demo"
DEMO_TARGETS = ("tfjs", "onnx")
HOST = "127.0.0.1"  # never 0.0.0.0: the demo is for the person at this machine

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".onnx": "application/octet-stream",
    ".bin": "application/octet-stream",
}

# Cross-origin isolation gives the page SharedArrayBuffer (threaded WebAssembly) and
# fine-grained performance.now(); everything is same-origin, so nothing else breaks.
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


class StaticServer(ThreadingHTTPServer):
    """Serves web_demo/ at / plus folders mounted under URL prefixes, and generated JSON documents."""

    daemon_threads = True
    request_queue_size = 64  # a page load opens many connections at once

    def __init__(self, port: int = 0, web_root: Path = WEB_DEMO_DIR):
        self.mounts: dict[tuple[str, ...], Path] = {(): Path(web_root).resolve()}
        self.generated: dict[str, Callable[[], bytes]] = {}
        self._lock = threading.Lock()
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as error:
            raise UsageError(f"cannot listen on {HOST}:{port} ({error.strerror}); pass --port 0 for a free port") from error

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def mount(self, prefix: str, folder: Path) -> str:
        """Serve `folder` under /prefix/; returns that URL path (with a trailing slash)."""
        with self._lock:
            self.mounts[tuple(prefix.strip("/").split("/"))] = Path(folder).resolve()
        return f"/{prefix.strip('/')}/"

    def add_json(self, path: str, produce: Callable[[], dict]) -> None:
        """Serve the JSON `produce()` returns at /path (computed on each request)."""
        self.generated["/" + path.lstrip("/")] = lambda: json.dumps(produce()).encode()

    def resolve(self, request_path: str) -> Path | None:
        """The file a request path names, or None (-> 404) when it is not a file inside a mount."""
        parts = _safe_parts(request_path)
        if parts is None:
            return None
        with self._lock:
            prefix = max((p for p in self.mounts if tuple(parts[: len(p)]) == p), key=len)
            root = self.mounts[prefix]
        candidate = root.joinpath(*parts[len(prefix):]).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate


def _safe_parts(request_path: str) -> list[str] | None:
    """Path segments of a request, or None for anything that is not a plain relative path."""
    path = request_path.split("?", 1)[0].split("#", 1)[0]
    decoded = unquote(path, errors="strict") if "%" in path else path
    # A `%` left after one decoding means double encoding: no file here is named that way.
    if not decoded.startswith("/") or any(c in decoded for c in "%\\\0"):
        return None
    if decoded == "/":
        return ["index.html"]
    parts = decoded[1:].split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    return parts


class _Handler(BaseHTTPRequestHandler):
    server: StaticServer
    server_version = "toolkit-demo"
    sys_version = ""

    def do_GET(self):
        self._respond(send_body=True)

    def do_HEAD(self):
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        port = self.server.server_address[1]
        # Refuse other Host names, so a DNS-rebinding page elsewhere cannot read the demo.
        if self.headers.get("Host") not in (f"{HOST}:{port}", f"localhost:{port}"):
            self.send_error(HTTPStatus.FORBIDDEN, "unexpected Host header")
            return
        try:
            body, content_type = self._content()
        except (UnicodeDecodeError, ValueError):
            body = None
        if body is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not found")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(body.stat().st_size if isinstance(body, Path) else len(body)))
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self._write(body)

    def _content(self) -> tuple[Path | bytes | None, str]:
        path = self.path.split("?", 1)[0]
        if path in self.server.generated:
            return self.server.generated[path](), CONTENT_TYPES[".json"]
        file = self.server.resolve(self.path)
        if file is None:
            return None, ""
        return file, CONTENT_TYPES.get(file.suffix, "application/octet-stream")

    def _write(self, body: Path | bytes) -> None:
        try:
            if isinstance(body, bytes):
                self.wfile.write(body)
            else:
                with open(body, "rb") as handle:
                    shutil.copyfileobj(handle, self.wfile)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser navigated away mid-download

    def log_message(self, format, *args):
        """Quiet: a page load is dozens of requests; errors reach the browser console instead."""


def run_in_background(server: StaticServer) -> tuple[str, Callable[[], None]]:
    """Serve from a daemon thread; returns (url, shutdown) where shutdown stops and closes it."""
    thread = threading.Thread(target=server.serve_forever, name="toolkit-demo-server", daemon=True)
    thread.start()

    def shutdown() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return server.url, shutdown


def require_web_demo() -> None:
    """Fail with the fix when the page's Node packages were never installed."""
    if not (WEB_DEMO_DIR / "node_modules" / "onnxruntime-web").is_dir():
        raise RuntimeUnavailableError(
            f"{WEB_DEMO_DIR / 'node_modules'} is missing; run `make setup` (or `cd web_demo && npm ci`)"
        )


# --- the demo: artifacts, config, samples ------------------------------------------


def _artifact_name(model: str) -> str:
    """The folder name exports use: a reference name, or a .keras file's stem (as toolkit.loading names it)."""
    return Path(model).stem if model.endswith(".keras") else model


def ensure_artifacts(model: str, out_dir: Path) -> dict[str, Path]:
    """target -> artifact folder, exporting only when a folder is missing or damaged."""
    from toolkit.exporting import artifact_dir, raise_for_failures
    from toolkit.manifest import manifest_problems, read_manifest

    folders = {t: artifact_dir(out_dir, _artifact_name(model), t, "none") for t in DEMO_TARGETS}
    manifests = {t: read_manifest(folder) for t, folder in folders.items()}
    if all(m is not None and not manifest_problems(folders[t], m) for t, m in manifests.items()):
        return folders
    from toolkit import api

    results = api.export(model, ",".join(DEMO_TARGETS), None, out_dir)
    raise_for_failures(results)
    return {result.target: result.path for result in results}


def is_digit_like(signature: dict) -> bool:
    """One (N, 64) float input and one (N, 10) output: the drawing pad and samples apply."""
    inputs, outputs = signature["inputs"], signature["outputs"]
    return (
        len(inputs) == 1 and len(outputs) == 1
        and inputs[0]["shape"][1:] == [64] and inputs[0]["dtype"] == "float32"
        and outputs[0]["shape"][1:] == [10]
    )


def digit_samples(per_class: int = SAMPLES_PER_CLASS) -> list[dict]:
    """The first held-out test digits of each class, as the page shows them to click."""
    from models.digits import digits_split

    _, _, x_test, y_test = digits_split()
    samples = []
    for label in range(10):
        for index in [int(i) for i in (y_test == label).nonzero()[0][:per_class]]:
            samples.append({"label": label, "index": index, "pixels": [round(float(v), 6) for v in x_test[index]]})
    return samples


def demo_config(model: str, folders: dict[str, Path]) -> dict:
    """What the page reads first: artifact URLs, signature, tolerance and sample digits."""
    from toolkit.manifest import read_manifest

    manifests = {t: read_manifest(folder) for t, folder in folders.items()}
    signature = manifests["onnx"]["signature"]
    drawing = is_digit_like(signature)
    return {
        "model": manifests["onnx"]["model"],
        "signature": signature,
        "tolerance": tolerance_json(),
        "artifacts": {t: f"artifacts/{t}/{m['main_file']}" for t, m in manifests.items()},
        "golden": {t: f"artifacts/{t}/golden.json" for t in folders},
        "drawing": drawing,
        "samples": digit_samples() if drawing else [],
    }


def build_demo_server(model: str, folders: dict[str, Path], port: int) -> StaticServer:
    require_web_demo()
    config = demo_config(model, folders)
    server = StaticServer(port)
    for target, folder in folders.items():
        server.mount(f"artifacts/{target}", folder)
    server.add_json("config.json", lambda: config)
    return server


def start_demo(model: str = "digits", port: int = 0, out_dir: Path | None = None) -> tuple[str, Callable[[], None]]:
    """Export what is missing, serve the demo from a background thread; returns (url, shutdown)."""
    from toolkit.api import DEFAULT_OUT

    folders = ensure_artifacts(model, Path(out_dir or DEFAULT_OUT))
    return run_in_background(build_demo_server(model, folders, port))


def _can_open_browser() -> bool:
    """A GUI browser can open here; without a display, webbrowser would start a console browser in this terminal."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve_demo(model: str = "digits", port: int = 8000, open_browser: bool = True, out_dir: Path | None = None) -> None:
    """Blocking `toolkit demo`: print the URL, open a browser if one is available, serve until Ctrl+C."""
    from toolkit.api import DEFAULT_OUT

    folders = ensure_artifacts(model, Path(out_dir or DEFAULT_OUT))
    server = build_demo_server(model, folders, port)
    print(f"toolkit demo: serving {model} at {server.url}  (Ctrl+C stops it)", flush=True)
    if open_browser and _can_open_browser():
        try:
            webbrowser.open(server.url)
        except webbrowser.Error:
            print("toolkit demo: no browser found; open the URL above yourself", flush=True)
    elif open_browser:
        print("toolkit demo: no display here; open the URL above in a browser on this machine", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("toolkit demo: stopped", flush=True)
    finally:
        server.server_close()
