"""A static file server on 127.0.0.1 only: web_demo/ plus mounted artifact folders and generated JSON.

It hands out nothing but files under web_demo/ (its node_modules included), the
mounted folders and generated documents: every request path is decoded once, any
`.`/`..`/empty segment or leftover `%` is refused, and the resolved file (symlinks
followed) must still lie inside its mount. The demo page (toolkit/demo/app.py) and
the browser runtimes (toolkit/runtimes/browser.py) both serve through it.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from toolkit.errors import RuntimeUnavailableError, UsageError

WEB_DEMO_DIR = Path(__file__).resolve().parents[2] / "web_demo"
HOST = "127.0.0.1"  # never 0.0.0.0: the demo is for the person at this machine
# No file served here has a longer path; longer requests get 414 before any file system call.
MAX_PATH_LENGTH = 1024

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
        try:
            candidate = root.joinpath(*parts[len(prefix):]).resolve()
            if not candidate.is_relative_to(root) or not candidate.is_file():
                return None
        except (OSError, RuntimeError):  # a name too long for the file system (ENAMETOOLONG), a symlink loop
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
        if len(self.path) > MAX_PATH_LENGTH:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, "request path too long")
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
