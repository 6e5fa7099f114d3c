"""Drive a real headless Chromium from tests, over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read CDP commands from file descriptor 3 and write
replies and events to descriptor 4, each message a JSON object ended by a NUL byte. No port is
opened, no third-party client library is needed.

Chromium runs with its own network switched off as far as flags allow (no background
networking, component updates, sync, QUIC) and with every request sent to a proxy the test
controls: :class:`RecordingProxy` answers the page's own URL and records every other request
line it receives, whatever the host or scheme (plain requests arrive with an absolute URL,
HTTPS as ``CONNECT host:443``). Together with CDP's ``Network.requestWillBeSent`` events this
tells a test what the page tried to load and what actually left the browser.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--disable-default-apps", "--disable-breakpad",
    "--disable-domain-reliability", "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,InterestFeedContentSuggestions",
]


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary, or None. ``LINKWATCH_CHROMIUM`` overrides the search."""
    forced = os.environ.get("LINKWATCH_CHROMIUM")
    if forced:
        return forced if Path(forced).is_file() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class RecordingProxy:
    """An HTTP proxy that serves one page and records every request it is asked to make."""

    def __init__(self, page_url: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.page_url, self.body, self.content_type = page_url, body, content_type
        self.requests: list[str] = []  # "METHOD target", in arrival order
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                with outer._lock:
                    outer.requests.append(f"{self.command} {self.path}")
                if self.command == "GET" and self.path == outer.page_url:
                    self.send_response(200)
                    self.send_header("Content-Type", outer.content_type)
                    self.send_header("Content-Length", str(len(outer.body)))
                    self.end_headers()
                    self.wfile.write(outer.body)
                else:  # nothing else is ever served, and CONNECT tunnels are refused
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            do_GET = do_HEAD = do_POST = do_PUT = do_OPTIONS = do_CONNECT = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RecordingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """One headless Chromium with a CDP session on one page target."""

    def __init__(self, binary: str, proxy: str | None = None, width: int = 1200, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="linkwatch-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        args = [binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "--remote-debugging-pipe"]
        if proxy:
            # "<-loopback>" removes the implicit loopback bypass: even 127.0.0.1 goes via the proxy.
            args += [f"--proxy-server=http://{proxy}", "--proxy-bypass-list=<-loopback>"]
        args.append("about:blank")

        def wire() -> None:  # in the child: the pipe ends become fds 3 and 4
            read_end, write_end = os.dup(to_chrome_r), os.dup(from_chrome_w)  # never clobbered by 3/4
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        # pass_fds keeps 3 and 4 open through the close-everything-else step that follows preexec_fn.
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=wire, pass_fds=(3, 4))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]

    # -- protocol -----------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            import select

            ready, _, _ = select.select([self._from_chrome], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                chunk = os.read(self._from_chrome, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, timeout: float = 20.0, session: bool | None = None, **params: Any) -> dict[str, Any]:
        """Send one command (to the page session once attached) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if getattr(self, "session", None) and session is not False and not method.startswith("Target."):
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 20.0) -> dict[str, Any]:
        """The first event named `method` (already received, or the next to arrive)."""
        for event in self.events:
            if event["method"] == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._receive(deadline)
            if "method" in event:
                self.events.append(event)
                if event["method"] == method:
                    return event

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def drain(self, seconds: float) -> None:
        """Collect events for a while (requests a page makes late)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                event = self._receive(deadline)
                if "method" in event:
                    self.events.append(event)
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self._send({"id": 0, "method": "Browser.close"})
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            for fd in (self._to_chrome, self._from_chrome):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
