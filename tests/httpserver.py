"""A local, programmable, misbehaving HTTP server for linkwatch tests.

No linkwatch test touches the internet. Tests start a :class:`LocalServer` on 127.0.0.1 (a random
free port, a background thread), tell it what each path should do, and then check both what
linkwatch concluded *and* what the server saw (hits, body bytes sent, concurrency).

Usage (the ``server`` fixture in ``tests/conftest.py`` starts and stops one per test)::

    from httpserver import Content, Redirect, Sequence, Status, too_many

    def test_something(server, tmp_path):
        url = server.route("/a.pdf", Content.file(FIXTURES / "pdfs" / "A_80_62.en.pdf"))
        server.route("/old", Redirect("/a.pdf"))
        server.route("/flaky", Sequence(Status(503), Status(503), Content(b"%PDF-1.4 ...")))
        ...                                   # run linkwatch against server.url("/old")
        assert server.hits("/a.pdf") == 1
        assert server.body_bytes() == 0        # e.g. a conditional re-run sent no body at all

(``tests/`` has no ``__init__.py``; pytest puts it on ``sys.path``, hence ``from httpserver ...``.)

A *handler* is any callable taking an :class:`Exchange`; the classes below are ready-made ones:

=====================  ==============================================================
:class:`Content`       bytes or a file, with ETag / Last-Modified and 304 on conditional GET
:class:`Status`        a fixed status with a small body and custom headers
:class:`Redirect`      3xx to a path or URL (loops: two redirects pointing at each other)
:class:`Sequence`      one handler per request (503, 503, then 200); the last one repeats
:class:`Delay`         wait, then delegate (for concurrency measurements)
:class:`Drip`          headers at once, then the body a few bytes at a time
:class:`Hang`          accept the request and never answer
:class:`Truncate`      fewer body bytes than Content-Length, then a clean close
:class:`Reset`         some body bytes, then a TCP reset
:class:`GzipBomb`      a tiny gzip body that inflates to a huge one
``challenge()``        AWS-WAF style bot challenge: 202 + ``x-amzn-waf-action: challenge``
``cf_challenge()``     Cloudflare style bot challenge: 403 + ``cf-mitigated: challenge``
``too_many(s)``        429 with ``Retry-After: s``
``soft_404()``         200 text/html "page not found"
:class:`HugeHeader`    a header line longer than any client accepts (``LineTooLong``)
:class:`Raw`           arbitrary status, reason phrase and header bytes (hostile text)
:class:`Interim`       1xx interim responses (103 Early Hints) before the real one
:class:`BodyToHead`    a body sent after the headers of a HEAD response
:class:`RawBytes`      any bytes as the whole response (a broken status line…)
=====================  ==============================================================

``LocalServer(tls=tls_context(tmp))`` serves HTTPS with a certificate from a CA made for the
test (:func:`tls_context` writes the CA's PEM file for the client to trust).

Counters are keyed by the request path *as received* (still percent-encoded, without the query):
``server.hits(path)``, ``server.body_bytes(path)``, ``server.max_in_flight(path)``; with no path
they are totals. They are updated *before* the client can see the corresponding bytes, so a test
may read them as soon as its client call returns:

- body bytes are counted as they are handed to the socket, in 64 KiB pieces (a client that hangs
  up mid-body may leave up to one piece counted but unsent);
- a request is *in flight* from its arrival until the server starts answering it (status line
  sent), which is what a per-host concurrency limit must bound. ``server.requests(path)`` returns every :class:`RecordedRequest` (headers included).
Unrouted paths answer 404.
"""
from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import socket
import ssl
import struct
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

Handler = Callable[["Exchange"], None]

_WRITE_PIECE = 64 * 1024  # body bytes are counted and sent in pieces of this size

#: Last-Modified used by :class:`Content` unless told otherwise (fixed, so tests are repeatable).
DEFAULT_LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    target: str  # raw request target: path and query, percent-encoding untouched
    path: str  # target without the query
    headers: dict[str, str]  # header names lowercased
    received_at: float  # time.monotonic()


class Exchange:
    """One request/response, handed to a handler.

    Handlers answer through :meth:`send` (whole response) or :meth:`send_head` + :meth:`write`
    (streamed), and may misbehave with :meth:`reset` or :meth:`close`. Body bytes written are
    counted for the server's statistics.
    """

    def __init__(self, http: _RequestHandler, request: RecordedRequest, server: LocalServer) -> None:
        self._http = http
        self.request = request
        self.server = server
        self.body_sent = 0
        self.aborted = False
        self.answered = False

    # -- reading the request -------------------------------------------------------------
    @property
    def method(self) -> str:
        return self.request.method

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def headers(self) -> dict[str, str]:
        """Request headers, names lowercased."""
        return self.request.headers

    @property
    def stopping(self) -> threading.Event:
        """Set when the server shuts down; long-running handlers should wait on it."""
        return self.server.stopping

    # -- answering -----------------------------------------------------------------------
    def send_head(self, status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        """Send the status line and headers (add Content-Length yourself when streaming)."""
        self.server._answered(self)
        self._http.send_response(status)
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            self._http.send_header(name, value)
        self._http.end_headers()

    def write(self, data: bytes) -> None:
        """Send body bytes (skipped for HEAD), counting them."""
        if self.method == "HEAD":
            return
        view = memoryview(data)
        for i in range(0, len(view), _WRITE_PIECE):
            piece = view[i : i + _WRITE_PIECE]
            # Count first: once the client has the last byte, the counter must already say so.
            self.body_sent += len(piece)
            self.server._count_body(self.path, len(piece))
            self._http.wfile.write(piece)

    def send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send a complete response with a correct Content-Length."""
        hdrs = dict(headers or {})
        if content_type is not None:
            hdrs.setdefault("Content-Type", content_type)
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            hdrs.setdefault("Content-Length", str(len(body)))
        self.send_head(status, hdrs)
        self.write(body)

    def close(self) -> None:
        """Close the connection cleanly (FIN) once this handler returns."""
        self._http.close_connection = True
        try:
            self._http.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashing proxy would."""
        self.aborted = True
        self._http.close_connection = True
        sock = self._http.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The fd is only really closed (and the RST sent) once the file wrappers are gone too.
        for f in (self._http.rfile, self._http.wfile):
            try:
                f.close()
            except OSError:
                pass
        sock.close()


# ---------------------------------------------------------------------------------------------
# Ready-made handlers
# ---------------------------------------------------------------------------------------------


def _etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match comparison (weak, RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return True
    strip = lambda t: t.strip().removeprefix("W/")  # noqa: E731
    return strip(etag) in {strip(t) for t in header.split(",")}


def _not_modified_since(header: str, last_modified: str) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header)
        modified = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    return modified <= since


@dataclass
class Content:
    """Serve bytes with validators; answer conditional requests with 304 and no body.

    ``etag=True`` derives a strong ETag from the bytes, a string is used as is, None sends none;
    likewise ``last_modified`` (an HTTP-date string, a datetime, or None).
    """

    body: bytes
    content_type: str = "application/octet-stream"
    etag: str | bool | None = True
    last_modified: str | datetime | None = DEFAULT_LAST_MODIFIED
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200

    @classmethod
    def file(cls, path: str | Path, content_type: str | None = None, **kwargs) -> Content:
        """Serve a file (read once, now); the type is guessed from the name unless given."""
        path = Path(path)
        guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls(path.read_bytes(), content_type or guessed, **kwargs)

    def validators(self) -> dict[str, str]:
        """The ETag / Last-Modified headers this content is served with."""
        out: dict[str, str] = {}
        if self.etag is True:
            out["ETag"] = _etag_for(self.body)
        elif isinstance(self.etag, str):
            out["ETag"] = self.etag
        if isinstance(self.last_modified, datetime):
            out["Last-Modified"] = email.utils.format_datetime(
                self.last_modified.astimezone(timezone.utc), usegmt=True
            )
        elif isinstance(self.last_modified, str):
            out["Last-Modified"] = self.last_modified
        return out

    def is_not_modified(self, request_headers: Mapping[str, str]) -> bool:
        """True when the conditional headers say the client already has this version."""
        v = self.validators()
        inm = request_headers.get("if-none-match")
        if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
            return "ETag" in v and _etag_matches(inm, v["ETag"])
        ims = request_headers.get("if-modified-since")
        return ims is not None and "Last-Modified" in v and _not_modified_since(ims, v["Last-Modified"])

    def __call__(self, ex: Exchange) -> None:
        headers = {**self.validators(), **self.headers}
        if self.status == 200 and self.is_not_modified(ex.headers):
            ex.send(304, headers=headers)
            return
        ex.send(self.status, self.body, content_type=self.content_type, headers=headers)


@dataclass
class Status:
    """A fixed status with an optional small body and headers."""

    code: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def __call__(self, ex: Exchange) -> None:
        body = self.body or f"{self.code}\n".encode()
        ex.send(self.code, body, content_type=self.content_type, headers=self.headers)


@dataclass
class Redirect:
    """Redirect to ``location`` (a path, a relative reference or an absolute URL), sent verbatim."""

    location: str
    status: int = 301

    def __call__(self, ex: Exchange) -> None:
        ex.send(self.status, b"moved\n", content_type="text/plain", headers={"Location": self.location})


class Sequence:
    """Answer the n-th request with the n-th handler; the last handler answers all later ones."""

    def __init__(self, *handlers: Handler) -> None:
        if not handlers:
            raise ValueError("Sequence needs at least one handler")
        self.handlers = handlers
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self, ex: Exchange) -> None:
        with self._lock:
            handler = self.handlers[min(self._next, len(self.handlers) - 1)]
            self._next += 1
        handler(ex)


@dataclass
class Delay:
    """Wait ``seconds`` (cut short if the server stops), then let ``then`` answer."""

    seconds: float
    then: Handler

    def __call__(self, ex: Exchange) -> None:
        if not ex.stopping.wait(self.seconds):
            self.then(ex)


@dataclass
class Drip:
    """Send headers at once (full Content-Length), then ``chunk`` bytes every ``interval`` seconds."""

    body: bytes
    chunk: int = 1
    interval: float = 0.1
    content_type: str = "application/pdf"

    def __call__(self, ex: Exchange) -> None:
        ex.send_head(200, {"Content-Type": self.content_type, "Content-Length": str(len(self.body))})
        for i in range(0, len(self.body), self.chunk):
            if i and ex.stopping.wait(self.interval):
                return
            ex.write(self.body[i : i + self.chunk])


@dataclass
class Hang:
    """Read the request and never answer (until ``seconds`` pass or the server stops)."""

    seconds: float = 60.0

    def __call__(self, ex: Exchange) -> None:
        ex.stopping.wait(self.seconds)
        ex.close()


@dataclass
class Truncate:
    """Promise ``len(body)`` bytes, send only the first ``send``, then close cleanly."""

    body: bytes
    send: int
    content_type: str = "application/pdf"

    def __call__(self, ex: Exchange) -> None:
        ex.send_head(200, {"Content-Type": self.content_type, "Content-Length": str(len(self.body))})
        ex.write(self.body[: self.send])
        ex.close()


@dataclass
class Reset:
    """Promise ``len(body)`` bytes, send the first ``send``, then reset the connection."""

    body: bytes
    send: int
    content_type: str = "application/pdf"

    def __call__(self, ex: Exchange) -> None:
        ex.send_head(200, {"Content-Type": self.content_type, "Content-Length": str(len(self.body))})
        ex.write(self.body[: self.send])
        time.sleep(0.05)  # let the bytes leave before the RST discards the send buffer
        ex.reset()


class GzipBomb:
    """A gzip-encoded body (``Content-Encoding: gzip``) that inflates to ``size`` zero bytes.

    A valid gzip member built without compressing ``size`` bytes: after a full flush the deflate
    state is reset, so every MiB of zeros compresses to the same ~1 kB piece, which is repeated;
    the CRC-32 is computed over the zeros chunk by chunk (fast). 1 GiB → ~1 MB, in ~0.2 s.
    """

    def __init__(self, size: int, content_type: str = "application/pdf") -> None:
        self.size = size
        self.content_type = content_type
        self._payload: bytes | None = None

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            mib = 1 << 20
            block = bytes(mib)
            comp = zlib.compressobj(9, zlib.DEFLATED, -15)
            piece = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
            whole, rest = divmod(self.size, mib)
            tail = zlib.compressobj(9, zlib.DEFLATED, -15)
            last = tail.compress(bytes(rest)) + tail.flush()  # ends with the final block
            crc = 0
            for _ in range(whole):
                crc = zlib.crc32(block, crc)
            crc = zlib.crc32(bytes(rest), crc)
            header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, no mtime
            trailer = struct.pack("<II", crc, self.size & 0xFFFFFFFF)
            self._payload = header + piece * whole + last + trailer
        return self._payload

    def __call__(self, ex: Exchange) -> None:
        ex.send(200, self.payload, content_type=self.content_type, headers={"Content-Encoding": "gzip"})


@dataclass
class HugeHeader:
    """A 200 whose ``X-Huge`` header line is ``size`` bytes (clients cap lines at 64 KiB)."""

    size: int = 200_000
    body: bytes = b"%PDF-1.4\n"

    def __call__(self, ex: Exchange) -> None:
        ex.send_head(200, {"Content-Type": "application/pdf", "X-Huge": "a" * self.size,
                           "Content-Length": str(len(self.body))})
        ex.write(self.body)


@dataclass
class Raw:
    """A response written byte for byte: any status, reason phrase and header values (latin-1),
    for hostile text that a well-behaved server could not send."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def __call__(self, ex: Exchange) -> None:
        ex.server._answered(ex)
        head = f"HTTP/1.1 {self.status} {self.reason}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        head += f"Content-Length: {len(self.body)}\r\n\r\n"
        ex._http.wfile.write(head.encode("latin-1"))
        ex.write(self.body)


@dataclass
class Interim:
    """Interim 1xx responses (``103 Early Hints`` by default) before ``then`` answers, as HTTP allows."""

    then: Handler
    status: int = 103
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Link", "</style.css>; rel=preload")])

    def __call__(self, ex: Exchange) -> None:
        head = f"HTTP/1.1 {self.status} Early Hints\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers) + "\r\n"
        ex._http.wfile.write(head.encode("latin-1"))
        self.then(ex)


@dataclass
class BodyToHead:
    """Answer HEAD as if it were GET: the body follows the headers (which no client may read)."""

    body: bytes
    content_type: str = "application/pdf"

    def __call__(self, ex: Exchange) -> None:
        ex.send_head(200, {"Content-Type": self.content_type, "Content-Length": str(len(self.body))})
        ex._http.wfile.write(self.body)  # Exchange.write skips bodies for HEAD: bypass it
        ex.close()


@dataclass
class RawBytes:
    """Write ``data`` as the whole response, byte for byte (not HTTP, or HTTP gone wrong), then close."""

    data: bytes

    def __call__(self, ex: Exchange) -> None:
        ex.server._answered(ex)
        ex._http.wfile.write(self.data)
        ex.close()


def cf_challenge() -> Status:
    """A Cloudflare managed challenge: 403 with ``cf-mitigated: challenge``."""
    return Status(403, b"<html><title>Just a moment...</title></html>", content_type="text/html; charset=UTF-8",
                  headers={"cf-mitigated": "challenge"})


def challenge(status: int = 202) -> Status:
    """An AWS WAF bot challenge, as documents.un.org sends to clients it distrusts."""
    return Status(
        status,
        b"<html><head><script>/* challenge */</script></head><body></body></html>",
        content_type="text/html; charset=UTF-8",
        headers={"x-amzn-waf-action": "challenge"},
    )


def too_many(retry_after: str | int | float | None = None) -> Status:
    """429 Too Many Requests, with ``Retry-After`` when given."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Status(429, headers=headers)


def soft_404() -> Content:
    """A "page not found" page served with 200, as many CMSs do."""
    body = b"<!DOCTYPE html><html><head><title>Page not found</title></head><body><h1>Sorry, page not found</h1></body></html>"
    return Content(body, "text/html; charset=utf-8", etag=None, last_modified=None)


def not_found(ex: Exchange) -> None:
    """The default for unrouted paths."""
    ex.send(404, b"not found\n", content_type="text/plain")


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients' connection reuse is exercised
    timeout = 30  # idle keep-alive connections give up eventually
    disable_nagle_algorithm = True  # headers and body go in separate writes: avoid 40 ms stalls
    server: _HTTPServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet test output
        pass

    def _dispatch(self) -> None:
        self.server.owner._dispatch(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _dispatch


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LocalServer

    def get_request(self):
        conn, addr = super().get_request()
        with self.owner._lock:
            self.owner._connections.add(conn)
        return conn, addr

    def shutdown_request(self, request) -> None:
        with self.owner._lock:
            self.owner._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up mid-response is the point of many tests: stay quiet about those,
        # but let a bug in a handler show its traceback.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (OSError, ValueError)):
            super().handle_error(request, client_address)


class LocalServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with programmable routes and counters."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._requests: list[RecordedRequest] = []
        self._hits: Counter[str] = Counter()
        self._body: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._max_in_flight: Counter[str] = Counter()
        self._total_in_flight = 0
        self._total_max_in_flight = 0
        self.stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), _RequestHandler)
        self._httpd.owner = self
        self.scheme = "http"
        if tls is not None:
            # The handshake happens in the handler thread (first read), never in the accept loop.
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True,
                                                 do_handshake_on_connect=False)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> LocalServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake hanging handlers and drop open connections."""
        self.stopping.set()
        self._httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuration -------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self._httpd.server_address[0]}:{self.port}"  # the loopback address bound

    def url(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this server."""
        return urljoin(self.base_url + "/", path)

    def route(self, path: str, handler: Handler) -> str:
        """Answer requests for ``path`` with ``handler``; replaces any earlier route; returns the URL.

        ``path`` is matched against the raw request target (percent-encoded as sent), first with
        the query, then without it.
        """
        with self._lock:
            self._routes[path] = handler
        return self.url(path)

    def serve_dir(self, directory: str | Path, prefix: str = "/") -> dict[str, str]:
        """Route every file of ``directory`` as :class:`Content` under ``prefix``; name → URL."""
        urls = {}
        for f in sorted(Path(directory).iterdir()):
            if f.is_file():
                urls[f.name] = self.route(prefix.rstrip("/") + "/" + f.name, Content.file(f))
        return urls

    # -- statistics ----------------------------------------------------------------------
    def hits(self, path: str | None = None) -> int:
        """Requests received for ``path`` (all paths when None)."""
        with self._lock:
            return sum(self._hits.values()) if path is None else self._hits[path]

    def body_bytes(self, path: str | None = None) -> int:
        """Response body bytes sent for ``path`` (all paths when None); headers not counted."""
        with self._lock:
            return sum(self._body.values()) if path is None else self._body[path]

    def max_in_flight(self, path: str | None = None) -> int:
        """Most requests handled at the same time, for ``path`` or overall."""
        with self._lock:
            return self._total_max_in_flight if path is None else self._max_in_flight[path]

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """Requests received, oldest first, for ``path`` or all."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def reset_counts(self) -> None:
        """Forget hits, bytes, concurrency peaks and recorded requests (routes stay)."""
        with self._lock:
            self._requests.clear()
            self._hits.clear()
            self._body.clear()
            self._max_in_flight.clear()
            self._total_max_in_flight = self._total_in_flight

    # -- internals -----------------------------------------------------------------------
    def _count_body(self, path: str, n: int) -> None:
        with self._lock:
            self._body[path] += n

    def _enter(self, req: RecordedRequest) -> Handler:
        with self._lock:
            self._requests.append(req)
            self._hits[req.path] += 1
            self._in_flight[req.path] += 1
            self._total_in_flight += 1
            self._max_in_flight[req.path] = max(self._max_in_flight[req.path], self._in_flight[req.path])
            self._total_max_in_flight = max(self._total_max_in_flight, self._total_in_flight)
            return self._routes.get(req.target) or self._routes.get(req.path) or not_found

    def _answered(self, ex: Exchange) -> None:
        """The request is no longer in flight: its answer starts now (or it was never answered)."""
        with self._lock:
            if ex.answered:
                return
            ex.answered = True
            self._in_flight[ex.path] -= 1
            self._total_in_flight -= 1

    def _dispatch(self, http: _RequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        if length:
            http.rfile.read(length)  # a request body is not used, but must be consumed
        req = RecordedRequest(
            method=http.command,
            target=http.path,
            path=urlsplit(http.path).path,
            headers={k.lower(): v for k, v in http.headers.items()},
            received_at=time.monotonic(),
        )
        handler = self._enter(req)
        ex = Exchange(http, req, self)
        try:
            handler(ex)
            if not ex.aborted:
                http.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ValueError, OSError):
            http.close_connection = True  # the client hung up (e.g. it stopped at its size cap)
        finally:
            self._answered(ex)


# ---------------------------------------------------------------------------------------------
# TLS for HTTPS tests
# ---------------------------------------------------------------------------------------------


def tls_context(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1/localhost, signed by a CA made now.

    Returns the context and the CA's PEM file (what the client must trust: ``ca_bundle``).
    Uses the ``cryptography`` package (a dependency of the TLS stack on most systems).
    """
    from datetime import timedelta
    from ipaddress import ip_address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linkwatch test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem = folder / "test-ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return context, ca_pem
