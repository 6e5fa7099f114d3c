"""The thread-pool client: fetch one URL politely, follow and record redirects, stream the body to disk.

:class:`Fetcher` is built on ``urllib3`` directly (one shared, thread-safe ``PoolManager`` with
connection reuse): per-request overhead matters when a run checks thousands of URLs, and a
``requests`` thread pool took 18 s for 10,200 local URLs against 6.8 s for urllib3 in 16 threads.
Redirects are followed here, not by urllib3, so every hop is recorded and checked (loops, length,
scheme) by the rules of :class:`~linkwatch.http.client.Client`. Retries
(:mod:`linkwatch.http.retry`) and per-host politeness (:mod:`linkwatch.http.ratelimit`) wrap each
attempt; waiting between attempts never holds a host slot.

    with Fetcher(FetchConfig(per_host=2)) as fetcher:
        result = fetcher.fetch("https://undocs.org/A/80/62", Path("tmp"))
        ...   # result.body_path belongs to the caller: move it or unlink it
"""
from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, ProxyError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ..store.blobs import StreamHasher, start_writeback
from .client import (
    CHUNK_SIZE,
    DRAIN_LIMIT,
    HEAD_SIZE,
    REDIRECT_STATUSES,
    Attempt,
    Body,
    Client,
    FetchConfig,
    FetchResult,
    Response,
    StorageError,
    ca_certs,
    deadline_text,
    dns_failed,
    header_text,
    needs_get,
    proxy_failed,
    resolve,
)
from .proxy import proxy_for
from .ratelimit import HostLimiter
from .retry import call_with_retries, retrying


class _BodyError(Exception):
    """Reading a body failed; carries the error kind and whether a retry may help."""

    def __init__(self, kind: str, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.kind, self.retryable = kind, retryable


# Exceptions that mean "the network let us down" (never "linkwatch has a bug" or "disk full").
_NETWORK_ERRORS = (Urllib3Error, http.client.HTTPException, OSError)


def _network_error_kind(exc: BaseException) -> str:
    """"timeout", "connection" or "protocol" for an exception raised while talking to a server."""
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2 (compatibility), so first.
    if isinstance(exc, NewConnectionError):
        return "connection"
    if isinstance(exc, (Urllib3Timeout, TimeoutError)):
        return "timeout"
    if _protocol_violation(exc):
        return "protocol"
    return "connection"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, the exceptions urllib3 wrapped in its args, and its causes."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 10:
        e = todo.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def _protocol_violation(exc: BaseException) -> str | None:
    """What is wrong when the server sent something that is not HTTP (retrying cannot help)."""
    for e in _causes(exc):
        if isinstance(e, http.client.LineTooLong):
            return f"invalid HTTP response: {e.args[0] if e.args else 'line too long'}"
        if type(e) is http.client.HTTPException and "more than" in str(e):  # "got more than 100 headers"
            return f"invalid HTTP response: {e}"
        # A status line that is not HTTP ("SSH-2.0-…", "HTTP/1.1 abc"). RemoteDisconnected is one
        # too for http.client, but it means no answer at all (a stale connection): retried.
        if isinstance(e, http.client.BadStatusLine) and not isinstance(e, http.client.RemoteDisconnected):
            line = " ".join(str(e.args[0] if e.args else e).split())[:100]
            return f"invalid HTTP response: bad status line {line!r}"
    return None


def _network_message(exc: BaseException, kind: str, timeout: float, during: str, url: str = "",
                     proxy: str | None = None) -> str:
    """A short, clear message for a network failure (urllib3's own are long and nested)."""
    if kind == "protocol":
        return _protocol_violation(exc) or f"invalid HTTP response ({during})"
    causes = _causes(exc)
    if proxy is not None and any(isinstance(e, ProxyError) for e in causes):
        return proxy_failed(proxy, _last_reason(exc))
    dns = next((e for e in causes if isinstance(e, socket.gaierror)), None)
    if dns is not None:
        return dns_failed(urlsplit(url).hostname or url, dns.strerror or str(dns))
    texts = " ".join(str(e) for e in causes)
    if kind == "timeout":
        return f"timed out {during}: nothing received for {timeout:g} s"
    if "IncompleteRead" in texts:
        return f"connection closed {during}: the body is shorter than its Content-Length ({_incomplete(texts)})"
    if "reset by peer" in texts.lower() or "ConnectionResetError" in texts:
        return f"connection reset by the server {during}"
    if "Connection refused" in texts:
        return "connection refused"
    if "CERTIFICATE" in texts.upper() or "SSL" in texts:
        return f"TLS error: {_last_reason(exc)}"
    return f"connection failed {during}: {_last_reason(exc)}"


def _last_reason(exc: BaseException) -> str:
    inner = _causes(exc)[-1]
    text = " ".join(str(inner).split())
    return text[:200] or type(inner).__name__


def _incomplete(texts: str) -> str:
    m = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", texts)
    return f"{m.group(1)} bytes read, {m.group(2)} more expected" if m else "incomplete read"


def _discard(resp: urllib3.BaseHTTPResponse) -> None:
    """Finish with a response whose body is not wanted.

    A short body of known length is read so the connection goes back to the pool; anything else
    (large, unknown length) closes the connection rather than download what nobody reads.
    """
    try:
        remaining = resp.length_remaining
        if remaining is not None and remaining <= DRAIN_LIMIT and not resp.chunked:
            resp.drain_conn()
        else:
            resp.close()
    except Exception:  # noqa: BLE001 - a broken connection is simply not reused
        resp.close()
    finally:
        resp.release_conn()


def pools_kept(per_host: int) -> int:
    """How many hosts' idle connections the Fetcher keeps: every host of a big run, within half the
    process's file descriptor limit (each kept connection holds one).

    Runs fetch host by host in turn (linkwatch.schedule), so with fewer pools than hosts each pool is
    evicted before its host comes round again: 100 pools over 500 hosts opened a connection per
    request (10,000 for 10,000 requests; bench/connections.py)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # no resource module (Windows): the old default
        return 100
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(100, min(10_000, soft // 2 // max(1, per_host)))


class Fetcher(Client):
    """Fetch URLs over one shared connection pool, politely; thread-safe."""

    def __init__(self, config: FetchConfig | None = None, limiter: Any = None) -> None:
        """``limiter``: anything with HostLimiter's ``slot(host)`` (store.booking books hosts in
        a shared database); default a HostLimiter of this process."""
        super().__init__(config)
        config = self.config
        self._pool_options = dict(
            num_pools=pools_kept(config.per_host),  # hosts whose connections are kept
            maxsize=max(1, config.per_host),  # never more in flight per host anyway
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=config.timeout, read=config.timeout),
            **ca_certs(config.ca_bundle),
        )
        self._pool = urllib3.PoolManager(**self._pool_options)
        self._live: weakref.WeakSet[Any] = weakref.WeakSet()  # connections open now (stop() cuts them)
        self._stopped = threading.Event()
        self._pool.pool_classes_by_scheme = _pool_classes(self._live, self._stopped)
        self._local = threading.local()  # the deadline of the fetch running in this thread
        # One pool per forward proxy (HTTPS through a CONNECT tunnel), made on first use.
        self._proxied: dict[str, urllib3.ProxyManager] = {}
        self._proxied_lock = threading.Lock()
        self._limiter = limiter or HostLimiter(config.per_host, config.min_interval)
        self._policy = retrying(
            retries=config.retries,
            backoff=config.backoff,
            backoff_max=config.backoff_max,
            retry_after_cap=config.retry_after_cap,
            sleep=self._stopped.wait,  # a wait between attempts ends at once when stopped
        )

    # -- public ---------------------------------------------------------------------------
    def fetch(
        self,
        url: str,
        dest_dir: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        want_body: bool = True,
        method: str = "GET",
        deadline: float | None = None,
    ) -> FetchResult:
        """GET ``url``, following redirects and retrying; the body goes to a temp file in ``dest_dir``.

        ``etag`` / ``last_modified`` (from the previous observation) make the request conditional;
        a 304 gives ``not_modified=True`` and no body. ``want_body=False`` checks availability
        only: the body is never read. ``method="HEAD"`` (with ``want_body=False``) asks for no body
        at all, every hop included.

        ``deadline`` (a :func:`time.monotonic` time; default now + ``config.max_time``) bounds the
        whole fetch, every attempt and body byte: past it, the fetch ends as a timeout.
        """
        t0 = time.monotonic()
        result, target, headers = self._start(url, etag, last_modified)
        if target is None:
            return result
        max_time = self.config.max_time
        self._local.deadline = deadline if deadline is not None else (t0 + max_time if max_time else None)
        outcome, attempts = call_with_retries(
            lambda: self._attempt(target, Path(dest_dir), headers, want_body, method), self._policy
        )
        return self._finish(result, outcome, attempts, t0)

    def stop(self) -> None:
        """End every fetch in progress now, in any thread (Ctrl-C, the run's deadline): open
        connections are shut down, waits between attempts end, no new attempt starts. The
        fetches return as failed; this Fetcher fetches nothing more."""
        self._stopped.set()
        for conn in list(self._live):
            with contextlib.suppress(OSError, AttributeError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def probe(self, url: str) -> FetchResult:
        """Availability only: HEAD, then GET (body unread) when the server mishandles HEAD."""
        fetched = self.fetch(url, Path(), want_body=False, method="HEAD")
        return self.fetch(url, Path(), want_body=False) if needs_get(fetched) else fetched

    def close(self) -> None:
        """Close pooled connections."""
        self._pool.clear()
        for pool in self._proxied.values():
            pool.clear()

    def _pool_for(self, url: str) -> urllib3.PoolManager:
        """The connection pool a request for ``url`` goes through: direct, or its proxy's."""
        proxy = proxy_for(url, self.config.proxies)
        if proxy is None:
            return self._pool
        with self._proxied_lock:
            pool = self._proxied.get(proxy)
            if pool is None:
                pool = self._proxied[proxy] = urllib3.ProxyManager(proxy, **self._pool_options)
                pool.pool_classes_by_scheme = self._pool.pool_classes_by_scheme  # stop() cuts these too
            return pool

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _past_deadline(self) -> bool:
        deadline = getattr(self._local, "deadline", None)
        return deadline is not None and time.monotonic() > deadline

    def _deadline_message(self) -> str:
        return deadline_text(self.config.max_time)

    # -- one attempt: the redirect chain --------------------------------------------------
    def _attempt(self, url: str, dest_dir: Path, headers: dict[str, str], want_body: bool,
                 method: str = "GET") -> Attempt:
        """One try: request, follow redirects, read the final body. Never raises for the network."""
        out = self._new_attempt(headers)
        if self._stopped.is_set():
            return self._failed(out, url, "connection", "stopped before this attempt (the run was stopped)",
                                retryable=False)
        if self._past_deadline():
            return self._failed(out, url, "timeout", self._deadline_message(), retryable=False)
        seen = {url}
        current = url
        left_https = False  # an https URL redirected to http: credentials stay behind
        while True:
            with self._limiter.slot(urlsplit(current).hostname or ""):
                try:
                    resp = self._pool_for(current).request(
                        method, current, headers=self._hop_headers(headers, current, left_https),
                        redirect=False, retries=False, preload_content=False, decode_content=True,
                    )
                except _NETWORK_ERRORS as exc:
                    kind = _network_error_kind(exc)
                    message = _network_message(exc, kind, self.config.timeout, "while waiting for the response",
                                               current, proxy_for(current, self.config.proxies))
                    return self._failed(out, current, kind, message, retryable=kind != "protocol")
                location = resp.headers.get("Location")
                if resp.status not in REDIRECT_STATUSES or not location:
                    return self._final(out, current, resp, dest_dir, want_body)
                view = _view(resp)
                _discard(resp)
            nxt = self._next_hop(out, current, view, header_text(location), seen)
            if nxt is None or (self._guards_internal(out) and self._refuse_internal(out, nxt, _addresses(nxt))):
                return out
            seen.add(nxt)
            left_https = left_https or (current.startswith("https:") and nxt.startswith("http:"))
            current = nxt

    # -- the final response ---------------------------------------------------------------
    def _final(
        self, out: Attempt, url: str, resp: urllib3.BaseHTTPResponse, dest_dir: Path, want_body: bool
    ) -> Attempt:
        """Judge the final response of a chain (still inside the host slot) and read its body."""
        if not self._verdict(out, url, _view(resp), want_body):
            _discard(resp)
            return out
        try:
            out.body, out.head = self._read_body(resp, dest_dir)
        except _BodyError as exc:
            out.error, out.error_kind, out.retryable = str(exc), exc.kind, exc.retryable
        return out

    def _read_body(self, resp: urllib3.BaseHTTPResponse, dest_dir: Path) -> tuple[Body, bytes]:
        """Stream the body to a temp file, hashing as it goes; on any failure nothing is left behind."""
        cap = self.config.max_size
        declared = resp.length_remaining
        if declared is not None and declared > cap and not resp.headers.get("Content-Encoding"):
            _discard(resp)  # no point downloading what will be thrown away
            raise _BodyError("too-large", f"Content-Length {declared} exceeds the {cap}-byte limit", False)
        try:
            tmp = _temp_file(dest_dir)
        except OSError as exc:
            resp.close()
            resp.release_conn()
            raise StorageError(exc.errno, f"cannot write downloads to {dest_dir}: {exc.strerror or exc}") from None
        ok = False
        try:
            try:
                with tmp:
                    size, head, sha256, sha512 = self._copy(resp, tmp, cap)
            except OSError as exc:  # network errors became _BodyError in _copy: this is the local disk
                raise StorageError(exc.errno, f"cannot write a download to {dest_dir}: {exc.strerror or exc}") from None
            ok = True
            return Body(Path(tmp.name), size, sha256, sha512), head
        finally:
            if ok:
                resp.release_conn()
            else:
                resp.close()  # the connection is in an unknown state: do not reuse it
                resp.release_conn()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp.name)

    def _copy(self, resp: urllib3.BaseHTTPResponse, out, cap: int) -> tuple[int, bytes, str, str]:
        """Copy decoded body chunks into ``out``; return (size, head, sha256 hex, sha512 hex).

        Hashing is :class:`linkwatch.store.blobs.StreamHasher` (a large body's sha512 in a second
        thread). Every 8 MiB written, the kernel is asked to start writing them to disk, so the
        fsync before the blob's rename (:meth:`BlobStore.put`) finds little left to do.
        """

        hasher = StreamHasher()
        size, head, synced = 0, b"", 0
        # Minimum rate: every `window` seconds, at least min_rate × window bytes must have come.
        window, floor = self.config.timeout, self.config.min_rate
        window_start, window_bytes = time.monotonic(), 0
        try:
            while True:
                # read1: whatever has arrived (up to CHUNK_SIZE), so the deadline is checked even
                # against a server dripping bytes. gzip/deflate is decoded with bounded output per
                # call, so a gzip bomb is counted, and stopped, chunk by chunk.
                try:
                    chunk = resp.read1(CHUNK_SIZE, decode_content=True)
                except _NETWORK_ERRORS as exc:
                    kind = _network_error_kind(exc)
                    during = f"while reading the body (after {size} bytes)"
                    raise _BodyError(kind, _network_message(exc, kind, self.config.timeout, during),
                                     kind != "protocol") from None
                if not chunk:
                    return (size, head, *hasher.hexdigests())
                size += len(chunk)
                window_bytes += len(chunk)
                now = time.monotonic()
                if floor > 0 and now - window_start >= window:
                    rate = window_bytes / (now - window_start)
                    if rate < floor:
                        raise _BodyError("timeout", f"body arriving at {rate:.0f} bytes/s, below the minimum of "
                                         f"{floor:g} bytes/s (after {size} bytes)", True)
                    window_start, window_bytes = now, 0
                if size > cap:
                    coding = resp.headers.get("Content-Encoding")
                    what = f"body ({coding}-decoded)" if coding else "body"
                    raise _BodyError("too-large", f"{what} exceeds the {cap}-byte limit", False)
                if len(head) < HEAD_SIZE:
                    head += chunk[: HEAD_SIZE - len(head)]
                hasher.update(chunk)
                out.write(chunk)
                if size - synced >= 8 << 20:
                    start_writeback(out.fileno(), synced, size - synced)
                    synced = size
                if self._past_deadline():  # a body trickling just above --min-rate ends here
                    raise _BodyError("timeout", f"{self._deadline_message()} (after {size} bytes)", False)
                if self._stopped.is_set():
                    raise _BodyError("connection", "stopped while reading the body (the run was stopped)", False)
        finally:
            hasher.close()  # on every path: a helper thread, if one started, ends here


def _pool_classes(live: weakref.WeakSet[Any], stopped: threading.Event) -> dict[str, type]:
    """urllib3 pool classes whose connections register themselves in ``live`` once connected
    (:meth:`Fetcher.stop` shuts them down; none connects once ``stopped``) and skip interim
    responses (:class:`_FinalResponse`)."""
    def connection(base: type) -> type:
        class Connection(base):  # type: ignore[misc, valid-type]
            response_class = _FinalResponse

            def connect(self) -> None:
                if stopped.is_set():
                    raise ConnectionAbortedError("the run was stopped")
                super().connect()
                live.add(self)
                if stopped.is_set():  # stop() ran while this one was connecting
                    self.sock.shutdown(socket.SHUT_RDWR)
        return Connection

    http_pool = type("HTTPPool", (urllib3.HTTPConnectionPool,), {"ConnectionCls": connection(HTTPConnection)})
    https_pool = type("HTTPSPool", (urllib3.HTTPSConnectionPool,), {"ConnectionCls": connection(HTTPSConnection)})
    return {"http": http_pool, "https": https_pool}


class _FinalResponse(http.client.HTTPResponse):
    """http.client's response, skipping interim 1xx responses (103 Early Hints…) before the final
    one, as HTTP requires (RFC 9110 §15.2) and aiohttp does; http.client skips only 100. 101
    (a protocol switch, never asked for) stays final."""

    def _read_status(self) -> tuple[str, int, str]:  # type: ignore[override]
        while True:
            version, status, reason = super()._read_status()
            if not 100 <= status < 200 or status in (100, 101):  # 100: begin() skips it itself
                return version, status, reason
            http.client.parse_headers(self.fp)  # the interim response's header block, discarded


def _addresses(url: str) -> list[str]:
    parts = urlsplit(url)
    return resolve(parts.hostname or "", parts.port)


def _view(resp: urllib3.BaseHTTPResponse) -> Response:
    return Response(resp.status, resp.reason or "", dict(resp.headers), _peer_address(resp))


def _peer_address(resp: urllib3.BaseHTTPResponse) -> str | None:
    """The IP address of the server that sent ``resp`` (None once the connection is gone)."""
    try:
        sock = resp.connection.sock  # type: ignore[union-attr]
        return str(sock.getpeername()[0]) if sock is not None else None
    except (AttributeError, OSError, IndexError):
        return None


def _temp_file(dest_dir: Path):
    """A new ``.part-*`` file in ``dest_dir`` (created if missing), open for binary writing."""
    try:
        return tempfile.NamedTemporaryFile(delete=False, dir=dest_dir, prefix=".part-")
    except FileNotFoundError:  # only then pay for mkdir: this runs once per fetched body
        dest_dir.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile(delete=False, dir=dest_dir, prefix=".part-")
