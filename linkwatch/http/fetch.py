"""Stage 2: HTTP — fetch one URL politely, follow and record redirects, stream the body to disk.

:class:`Fetcher` is built on ``urllib3`` directly (one shared, thread-safe ``PoolManager`` with
connection reuse): per-request overhead matters when a run checks thousands of URLs, and a
``requests`` thread pool took 18 s for 10,200 local URLs against 6.8 s for urllib3 in 16 threads. Redirects are followed here, not by urllib3, so every hop is recorded and
checked (loops, length, scheme). Retries (:mod:`linkwatch.http.retry`) and per-host politeness
(:mod:`linkwatch.http.ratelimit`) wrap each attempt; waiting between attempts never holds a host slot.

The fetcher knows HTTP, not documents: it reports what the server did (:class:`FetchResult`) and
leaves judging it to :mod:`linkwatch.compare`. It never raises for network or HTTP trouble.

    with Fetcher(FetchConfig(per_host=2)) as fetcher:
        result = fetcher.fetch("https://undocs.org/A/80/62", Path("tmp"))
        ...   # result.body_path belongs to the caller: move it or unlink it
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import os
import pickle
import queue
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .. import __version__
from ..un import quirks
from ..store.blobs import StreamHasher, start_writeback
from .ratelimit import AsyncHostLimiter, HostLimiter
from .retry import (
    RETRY_AFTER_STATUSES,
    RETRYABLE_STATUSES,
    async_retrying,
    call_with_retries,
    call_with_retries_async,
    parse_retry_after,
    retrying,
)
from ..timestamps import now


@dataclass
class Hop:
    """One response in a redirect chain."""

    url: str
    status: int
    location: str | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # response headers (provenance, WARC)


@dataclass
class FetchResult:
    """HTTP facts of one fetch of one URL (after retries)."""

    url: str  # as requested
    started_at: str  # ISO 8601 UTC
    final_url: str | None = None
    http_status: int | None = None  # final status; None when no response at all
    redirects: list[Hop] = field(default_factory=list)  # every hop before the final response
    content_type: str | None = None  # media type only, lowercased ("application/pdf")
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # a conditional request answered 304
    size: int | None = None  # body bytes stored (None when no body fetched)
    sha256: str | None = None
    sha512: str | None = None
    body_path: Path | None = None  # temp file holding the body; the caller owns and removes it
    head: bytes = b""  # first bytes of the body (sniffing: %PDF-, <html)
    error: str | None = None  # human message when the fetch failed
    # "timeout" "connection" "protocol" "too-large" "redirect-loop" "too-many-redirects" "scheme" "challenge" "http"
    error_kind: str | None = None
    attempts: int = 1
    elapsed: float = 0.0  # seconds, all attempts
    request_headers: dict[str, str] = field(default_factory=dict)  # as sent to the first URL, secrets redacted
    response_headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # reason phrase of the final response ("OK")
    remote_addr: str | None = None  # IP address that answered last (provenance)


ACCEPT = "application/pdf,text/html;q=0.9,*/*;q=0.8"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_SIZE = 256 * 1024  # read/hash/write granularity; big chunks keep per-chunk overhead low
HEAD_SIZE = 1024  # bytes kept in FetchResult.head for sniffing
DRAIN_LIMIT = 64 * 1024  # unwanted bodies up to this size are read to keep the connection alive


@dataclass
class FetchConfig:
    """How to fetch: timeouts, retries, size cap, redirects, politeness."""

    timeout: float = 30.0  # connect and per-read timeout, seconds
    retries: int = 3  # retries after the first attempt
    backoff: float = 0.5  # base seconds for exponential backoff with jitter
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0  # never wait longer than this for a Retry-After; beyond it: give up now
    max_size: int = 512 * 1024**2  # bytes; body stopped at the cap → error_kind "too-large", nothing kept
    max_redirects: int = 10
    per_host: int = 2  # concurrent requests per host
    min_interval: float = 0.0  # seconds between request starts to one host
    user_agent: str = f"linkwatch/{__version__} (+https://github.com/linkwatch/linkwatch)"
    body_timeout: float | None = None  # wall-clock limit for reading one body (a slow drip), seconds
    # A body must keep arriving at this many bytes per second, averaged over windows of `timeout`
    # seconds: a server dripping a byte at a time never trips the per-read timeout, but trips this.
    min_rate: float = 1024.0
    ca_bundle: str | None = None  # PEM file of trusted CAs instead of certifi's (a private or test CA)
    # Extra request headers per host name (lowercase, ASCII/IDNA), e.g. credentials from the manifest.
    # Sent only to that host: never after a redirect to another host, nor over an https→http downgrade.
    host_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # Header values never to be recorded (secrets from env: references); recorded as "<redacted>".
    secret_values: frozenset[str] = frozenset()


# -- URLs -----------------------------------------------------------------------------------------

# WHATWG URL percent-encode sets (what a browser sends): C0 controls, space and non-ASCII always,
# plus these. A "%" not starting a valid escape is encoded too, or the request line is invalid.
_PATH_ENCODE = frozenset(' "#<>?`{}')
_QUERY_ENCODE = frozenset(" \"#<>'")
_HEX = frozenset("0123456789abcdefABCDEF")


#: Request headers that carry credentials: always recorded as "<redacted>", whatever their source.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"})
REDACTED = "<redacted>"


def redact(headers: dict[str, str], secret_values: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """A copy of ``headers`` fit to record: credential headers and secret values replaced."""
    return {k: REDACTED if k.lower() in SENSITIVE_HEADERS or v in secret_values else v
            for k, v in headers.items()}


class StorageError(OSError):
    """Writing a downloaded body to local disk failed (disk full, read-only, quota): the run
    itself cannot go on, unlike a network failure, which is a fact about one document."""

    def __str__(self) -> str:
        return str(self.strerror)


class UnsupportedScheme(ValueError):
    """A URL whose scheme is not http or https."""


def _percent_encode(text: str, encode: frozenset[str]) -> str:
    """Percent-encode ``text`` the way a browser does; existing valid escapes are kept."""
    if _plain(encode).fullmatch(text):  # the common case, without a Python loop per character
        return text
    out = []
    for i, ch in enumerate(text):
        if ch == "%":
            valid = i + 2 < len(text) and text[i + 1] in _HEX and text[i + 2] in _HEX
            out.append("%" if valid else "%25")
        elif ch in encode or ord(ch) <= 0x20 or ord(ch) >= 0x7F:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=8)
def _plain(encode: frozenset[str]) -> re.Pattern[str]:
    """Text :func:`_percent_encode` returns unchanged: printable ASCII outside ``encode`` and valid escapes."""
    allowed = "".join(re.escape(chr(c)) for c in range(0x21, 0x7F) if chr(c) not in encode and chr(c) != "%")
    return re.compile(f"(?:[{allowed}]|%[0-9A-Fa-f]{{2}})*")


def _ascii_host(host: str) -> str:
    """The host in ASCII: IDNA 2008 (UTS #46) for internationalised names."""
    if host.isascii():
        return host.lower()
    try:
        try:
            import idna  # installed with requests; IDNA 2008, unlike the stdlib's 2003 codec
        except ImportError:  # pragma: no cover - idna always comes with requests
            return host.encode("idna").decode("ascii")
        return idna.encode(host, uts46=True).decode("ascii")
    except UnicodeError as exc:  # idna.IDNAError is a UnicodeError
        raise ValueError(f"invalid host name {host!r}: {exc}") from None


# A URL request_url would return unchanged: lowercase scheme and ASCII host, a port without leading
# zeros, a path, a non-empty query, no user info, no fragment (path and query checked with _plain).
_NORMAL_URL = re.compile(r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::(?P<port>[1-9][0-9]{0,4}))?"
                         r"(?P<path>/[^?#]*)(?:\?(?P<query>[^#]+))?")


def request_url(url: str) -> str:
    """The URL to put on the wire: IDNA host, percent-encoded path and query, no fragment.

    Raises :class:`UnsupportedScheme` for anything but http(s), ValueError for unusable URLs.
    """
    m = _NORMAL_URL.fullmatch(url)
    if m and (m["port"] is None or int(m["port"]) <= 65535) and _plain(_PATH_ENCODE).fullmatch(m["path"]) \
            and (m["query"] is None or _plain(_QUERY_ENCODE).fullmatch(m["query"])):
        return url  # already what goes on the wire (the common case: no parsing, ~10x cheaper)
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsupportedScheme(f"unsupported URL scheme {parts.scheme or '(none)'!r} in {url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in URL {url!r}")
    host = _ascii_host(parts.hostname)
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:  # .port raises ValueError for a bad port: wanted
        netloc += f":{parts.port}"
    if parts.username is not None:
        userinfo = _percent_encode(parts.username, _PATH_ENCODE | {"@", "/"})
        if parts.password is not None:
            userinfo += ":" + _percent_encode(parts.password, _PATH_ENCODE | {"@", "/"})
        netloc = f"{userinfo}@{netloc}"
    path = _percent_encode(parts.path or "/", _PATH_ENCODE)
    query = _percent_encode(parts.query, _QUERY_ENCODE)
    return urlunsplit((scheme, netloc, path, query, ""))


def _header_text(value: str) -> str:
    """Undo http.client's latin-1 decoding of a header holding raw UTF-8 (a Location with é)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _media_type(content_type: str | None) -> str | None:
    """``"Application/PDF; charset=x"`` → ``"application/pdf"``; None when absent or empty."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


# -- one attempt ----------------------------------------------------------------------------------


@dataclass
class _Body:
    """A body streamed to disk."""

    path: Path
    size: int
    sha256: str
    sha512: str


@dataclass
class _Attempt:
    """What one try (the whole redirect chain) produced; see :class:`linkwatch.http.retry.Outcome`."""

    final_url: str | None = None
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    redirects: list[Hop] = field(default_factory=list)
    body: _Body | None = None
    head: bytes = b""
    error: str | None = None
    error_kind: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    remote_addr: str | None = None


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
    return None


def _network_message(exc: BaseException, kind: str, timeout: float, during: str) -> str:
    """A short, clear message for a network failure (urllib3's own are long and nested)."""
    if kind == "protocol":
        return _protocol_violation(exc) or f"invalid HTTP response ({during})"
    texts = " ".join(str(e) for e in _causes(exc))
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


@dataclass
class _Response:
    """What the redirect and verdict rules look at in a response, whichever client received it."""

    status: int
    reason: str
    headers: dict[str, str]
    remote_addr: str | None = None


class _Client:
    """What :class:`Fetcher` (blocking, bodies) and :class:`Prober` (asyncio, availability only)
    share: the request headers, the redirect rules, the verdict on a final response and the
    result. Only the I/O differs between them, so both judge every server alike."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        self.config = config = config or FetchConfig()
        self._host_headers = {_ascii_host(h): dict(v) for h, v in config.host_headers.items()}

    def request_headers(self, *, etag: str | None = None, last_modified: str | None = None) -> dict[str, str]:
        """The headers sent with every request (the HTTP client adds Host)."""
        headers = {
            "User-Agent": self.config.user_agent,
            "Accept": ACCEPT,
            # The bytes hashed and archived are the bytes served: no transfer compression asked for.
            # A server that compresses anyway is decoded (and the decoded size is capped).
            "Accept-Encoding": "identity",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def _hop_headers(self, headers: dict[str, str], url: str, downgraded: bool) -> dict[str, str]:
        """``headers`` plus the configured headers of ``url``'s host, unless the chain left https."""
        if not self._host_headers:
            return headers
        extra = self._host_headers.get(urlsplit(url).hostname or "")
        if not extra or (downgraded and url.startswith("http:")):
            return headers
        return {**headers, **extra}

    def _start(self, url: str, etag: str | None, last_modified: str | None
               ) -> tuple[FetchResult, str | None, dict[str, str]]:
        """A new result for ``url``, the URL to put on the wire and the request headers (recorded
        in the result, redacted). The URL is None when ``url`` is unusable: no request is made,
        and the result says why."""
        headers = self.request_headers(etag=etag, last_modified=last_modified)
        result = FetchResult(url=url, started_at=now(), attempts=0)
        try:
            target = request_url(url)
            # What was sent to the first URL, fit to record (index, WARC): credentials redacted.
            result.request_headers = redact(self._hop_headers(headers, target, False), self.config.secret_values)
            return result, target, headers
        except ValueError as exc:  # no request was made: attempts stays 0
            result.request_headers = redact(headers, self.config.secret_values)
            result.error = str(exc)
            result.error_kind = "scheme" if isinstance(exc, UnsupportedScheme) else "connection"
            return result, None, headers

    def _next_hop(self, out: _Attempt, current: str, resp: _Response, location: str, seen: set[str]) -> str | None:
        """Check a redirect and record it; return the next URL, or None when refused (``out`` says why)."""
        self._record_response(out, current, resp)  # a refused redirect is the final response
        try:
            nxt = request_url(urljoin(current, location))
        except UnsupportedScheme:
            out.error, out.error_kind = f"redirect to non-HTTP location {location!r} refused", "scheme"
            return None
        except ValueError as exc:
            out.error, out.error_kind = f"unusable redirect location {location!r}: {exc}", "http"
            return None
        if nxt in seen:
            out.error, out.error_kind = f"redirect loop: {current} → {nxt} was already visited", "redirect-loop"
            return None
        if len(out.redirects) >= self.config.max_redirects:
            out.error = f"more than {self.config.max_redirects} redirects"
            out.error_kind = "too-many-redirects"
            return None
        out.redirects.append(Hop(current, resp.status, location, resp.reason, resp.headers))
        return nxt

    @staticmethod
    def _record_response(out: _Attempt, url: str, resp: _Response) -> None:
        out.final_url, out.status, out.reason = url, resp.status, resp.reason
        out.headers = resp.headers
        out.remote_addr = resp.remote_addr or out.remote_addr

    @staticmethod
    def _failed(out: _Attempt, url: str, kind: str, message: str, *, retryable: bool) -> _Attempt:
        out.final_url, out.error_kind, out.error, out.retryable = url, kind, message, retryable
        return out

    def _verdict(self, out: _Attempt, url: str, resp: _Response, want_body: bool) -> bool:
        """Record and judge the final response of a chain; True when its body is to be read."""
        self._record_response(out, url, resp)
        status = resp.status
        if quirks.is_bot_challenge(status, out.headers):  # retrying a challenge only earns another one
            out.error, out.error_kind = f"bot challenge (HTTP {status})", "challenge"
            return False
        if status == 304:
            return False
        if not 200 <= status < 300:
            self._http_error(out)
            return False
        return want_body

    def _http_error(self, out: _Attempt) -> None:
        """Describe a non-2xx final status and decide whether it is worth another try."""
        status = out.status or 0
        out.error, out.error_kind = f"HTTP {status} {out.reason}".rstrip(), "http"
        out.retryable = status in RETRYABLE_STATUSES
        if status in RETRY_AFTER_STATUSES:
            out.retry_after = parse_retry_after(out.headers.get("Retry-After"))
            if out.retry_after is not None and out.retry_after > self.config.retry_after_cap:
                out.error += (
                    f"; Retry-After {out.retry_after:g} s exceeds the {self.config.retry_after_cap:g} s cap"
                )

    @staticmethod
    def _fill(result: FetchResult, out: _Attempt, unredirected_url: str | None) -> None:
        """Copy the last attempt's outcome into the public result."""
        # Without redirects the final URL is the URL as given (not its wire encoding), so
        # "final_url != url" keeps meaning "the server sent us elsewhere".
        if out.status is None:  # no response at all: there is no final URL
            result.final_url = None
        else:
            result.final_url = unredirected_url or out.final_url
        result.http_status = out.status
        result.redirects = out.redirects
        result.response_headers = out.headers
        result.reason, result.remote_addr = out.reason, out.remote_addr
        low = {k.lower(): v for k, v in out.headers.items()}
        result.content_type = _media_type(low.get("content-type"))
        result.etag = low.get("etag")
        result.last_modified = low.get("last-modified")
        result.not_modified = out.status == 304
        result.error, result.error_kind = out.error, out.error_kind
        if out.body is not None:
            result.body_path = out.body.path
            result.size, result.sha256, result.sha512 = out.body.size, out.body.sha256, out.body.sha512
            result.head = out.head

    def _finish(self, result: FetchResult, out: _Attempt, attempts: int, t0: float) -> FetchResult:
        self._fill(result, out, result.url if not out.redirects else None)
        result.attempts = attempts
        result.elapsed = time.monotonic() - t0
        return result


def needs_get(result: FetchResult) -> bool:
    """Whether an availability check answered by HEAD must be asked again with GET.

    Some servers mishandle HEAD (405, 501, 403, even 500) while GET works, so any error but a
    plain 404/410 is asked again with GET, its body discarded unread, as link checkers do."""
    code = result.http_status
    return code is not None and code >= 400 and code not in _HEAD_TRUSTED


_HEAD_TRUSTED = frozenset({404, 410})


class Fetcher(_Client):
    """Fetch URLs over one shared connection pool, politely; thread-safe."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        super().__init__(config)
        config = self.config
        self._pool = urllib3.PoolManager(
            num_pools=100,  # hosts whose connections are kept
            maxsize=max(1, config.per_host),  # never more in flight per host anyway
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=config.timeout, read=config.timeout),
            **_ca_certs(config.ca_bundle),
        )
        self._limiter = HostLimiter(config.per_host, config.min_interval)
        self._policy = retrying(
            retries=config.retries,
            backoff=config.backoff,
            backoff_max=config.backoff_max,
            retry_after_cap=config.retry_after_cap,
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
    ) -> FetchResult:
        """GET ``url``, following redirects and retrying; the body goes to a temp file in ``dest_dir``.

        ``etag`` / ``last_modified`` (from the previous observation) make the request conditional;
        a 304 gives ``not_modified=True`` and no body. ``want_body=False`` checks availability
        only: the body is never read. ``method="HEAD"`` (with ``want_body=False``) asks for no body
        at all, every hop included.
        """
        t0 = time.monotonic()
        result, target, headers = self._start(url, etag, last_modified)
        if target is None:
            return result
        outcome, attempts = call_with_retries(
            lambda: self._attempt(target, Path(dest_dir), headers, want_body, method), self._policy
        )
        return self._finish(result, outcome, attempts, t0)

    def probe(self, url: str) -> FetchResult:
        """Availability only: HEAD, then GET (body unread) when the server mishandles HEAD."""
        fetched = self.fetch(url, Path(), want_body=False, method="HEAD")
        return self.fetch(url, Path(), want_body=False) if needs_get(fetched) else fetched

    def close(self) -> None:
        """Close pooled connections."""
        self._pool.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one attempt: the redirect chain --------------------------------------------------
    def _attempt(self, url: str, dest_dir: Path, headers: dict[str, str], want_body: bool,
                 method: str = "GET") -> _Attempt:
        """One try: request, follow redirects, read the final body. Never raises for the network."""
        out = _Attempt()
        seen = {url}
        current = url
        left_https = False  # an https URL redirected to http: credentials stay behind
        while True:
            with self._limiter.slot(urlsplit(current).hostname or ""):
                try:
                    resp = self._pool.request(
                        method, current, headers=self._hop_headers(headers, current, left_https),
                        redirect=False, retries=False, preload_content=False, decode_content=True,
                    )
                except _NETWORK_ERRORS as exc:
                    kind = _network_error_kind(exc)
                    message = _network_message(exc, kind, self.config.timeout, "while waiting for the response")
                    return self._failed(out, current, kind, message, retryable=kind != "protocol")
                location = resp.headers.get("Location")
                if resp.status not in REDIRECT_STATUSES or not location:
                    return self._final(out, current, resp, dest_dir, want_body)
                view = _view(resp)
                _discard(resp)
            nxt = self._next_hop(out, current, view, _header_text(location), seen)
            if nxt is None:
                return out
            seen.add(nxt)
            left_https = left_https or (current.startswith("https:") and nxt.startswith("http:"))
            current = nxt

    # -- the final response ---------------------------------------------------------------
    def _final(
        self, out: _Attempt, url: str, resp: urllib3.BaseHTTPResponse, dest_dir: Path, want_body: bool
    ) -> _Attempt:
        """Judge the final response of a chain (still inside the host slot) and read its body."""
        if not self._verdict(out, url, _view(resp), want_body):
            _discard(resp)
            return out
        try:
            out.body, out.head = self._read_body(resp, dest_dir)
        except _BodyError as exc:
            out.error, out.error_kind, out.retryable = str(exc), exc.kind, exc.retryable
        return out

    def _read_body(self, resp: urllib3.BaseHTTPResponse, dest_dir: Path) -> tuple[_Body, bytes]:
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
            return _Body(Path(tmp.name), size, sha256, sha512), head
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
        deadline = None if self.config.body_timeout is None else time.monotonic() + self.config.body_timeout
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
                if deadline is not None and time.monotonic() > deadline:
                    raise _BodyError("timeout", f"body not read within {self.config.body_timeout:g} s", True)
        finally:
            hasher.close()  # on every path: a helper thread, if one started, ends here


def _view(resp: urllib3.BaseHTTPResponse) -> _Response:
    return _Response(resp.status, resp.reason or "", dict(resp.headers), _peer_address(resp))


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


def _ca_certs(bundle: str | None = None) -> dict[str, str]:
    """Verify TLS against ``bundle``, else certifi's bundle when available (as requests does), else
    the system store. Verification is never turned off."""
    if bundle:
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": str(bundle)}
    try:
        import certifi
    except ImportError:  # pragma: no cover
        return {}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}


# -- the bulk availability path: asyncio ----------------------------------------------------------


class Prober(_Client):
    """Availability checks in bulk, on one asyncio event loop: HEAD (then GET, its body unread,
    when a server mishandles HEAD), redirects followed and recorded, retries and per-host
    politeness — the rules of :meth:`Fetcher.probe`, shared through :class:`_Client`.

    Why a second client: a link check costs per request, not per byte. 10,000 HEADs took 4.1 s
    through the thread-pool Fetcher against 1.4 s on aiohttp's event loop and C parser
    (bench/RESULTS.md). Bodies (the full check) stay on the Fetcher, whose time goes into
    hashing and inspecting, not into the HTTP layer.

        for batch in Prober(FetchConfig(per_host=8), concurrency=64).probe_all([("d1", url)]):
            for key, result in batch:
                ...
    """

    def __init__(self, config: FetchConfig | None = None, concurrency: int = 8, *, process: bool = False) -> None:
        super().__init__(config)
        self.concurrency = max(1, concurrency)
        self.process = process
        c = self.config
        self._policy = async_retrying(retries=c.retries, backoff=c.backoff, backoff_max=c.backoff_max,
                                      retry_after_cap=c.retry_after_cap)

    def probe_all(self, items: Iterable[tuple[K, str]]) -> Iterator[list[tuple[K, FetchResult]]]:
        """Probe each ``(key, url)``; yield the results that completed together, as they complete.

        At most ``concurrency`` requests are in flight and ``items`` is read as they finish (a long
        manifest is never all scheduled at once); closing the generator cancels what is left. With
        ``process=True`` the event loop runs in a child Python process, with a core of its own,
        while the caller judges and records the results (on 2 cores this halves a 10,000-URL
        check, bench/RESULTS.md); otherwise in a thread of this process."""
        work = ((key, url, None, None) for key, url in items)
        return self._in_child(work, False) if self.process else self._in_thread(work, False)

    def revalidate_all(self, items: Iterable[tuple[K, str, str | None, str | None]]
                       ) -> Iterator[list[tuple[K, FetchResult]]]:
        """Conditional GETs of ``(key, url, etag, last_modified)``, bodies never read, as
        :meth:`probe_all` runs its HEADs. A 304 (``not_modified``) means unchanged; a 2xx without
        ``error`` means changed, for the caller to fetch in full; anything else is the answer."""
        return self._in_child(items, True) if self.process else self._in_thread(items, True)

    def _in_thread(self, items: Iterable[_Work[K]], revalidate: bool) -> Iterator[list[tuple[K, FetchResult]]]:
        results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        loop = asyncio.new_event_loop()
        main = loop.create_task(self._probe_all(items, results.put, revalidate))
        thread = threading.Thread(target=_run_loop, args=(loop, main, results.put), name="linkwatch-probe",
                                  daemon=True)
        thread.start()
        try:
            while True:
                batch = _take_batch(results)
                end = batch.pop() if isinstance(batch[-1], _End) else None
                if batch:
                    yield batch
                if end is not None:
                    if end.error is not None:
                        raise end.error
                    return
        finally:
            if thread.is_alive():
                loop.call_soon_threadsafe(main.cancel)
            thread.join()

    def _in_child(self, items: Iterable[_Work[K]], revalidate: bool) -> Iterator[list[tuple[K, FetchResult]]]:
        """The child (:func:`_probe_child`) reads pickled work on its stdin, writes pickled result
        batches on its stdout; a thread here feeds it, so neither side can block the other."""
        keys: dict[int, K] = {}
        failed: list[BaseException] = []
        with _SPARES_LOCK:
            spare = _SPARES.pop() if _SPARES else None
        try:
            child, stderr = spare or _spawn()
        except OSError:  # no Python to start (an embedded interpreter): the same loop in a thread
            yield from self._in_thread(items, revalidate)
            return
        feeder = threading.Thread(target=self._feed, args=(child, items, revalidate, keys, failed), name="linkwatch-feed",
                                  daemon=True)
        feeder.start()
        try:
            while True:
                try:
                    batch = pickle.load(child.stdout)  # type: ignore[arg-type]
                except EOFError:
                    raise _child_failed(child, stderr, failed) from None
                if isinstance(batch, _End):
                    if failed or batch.error:
                        raise _child_failed(child, stderr, failed, batch.error)
                    return
                yield [(keys.pop(i), result) for i, result in batch]
        finally:
            _stop(child, stderr, before_close=feeder.join)

    def _feed(self, child: subprocess.Popen[bytes], items: Iterable[_Work[K]], revalidate: bool,
              keys: dict[int, K], failed: list[BaseException]) -> None:
        pipe = child.stdin
        assert pipe is not None
        try:
            pickle.dump((self.config, self.concurrency, revalidate), pipe)
            for i, (key, *request) in enumerate(items):
                keys[i] = key
                pickle.dump((i, *request), pipe)
                if i % 64 == 0:  # the pipe's back-pressure keeps a long manifest out of memory
                    pipe.flush()
            pickle.dump(None, pipe)
        except (BrokenPipeError, ValueError):  # the child has gone (killed, or we closed it): said elsewhere
            pass
        except BaseException as exc:  # noqa: BLE001 - a bug in ``items``: re-raised by the consumer
            failed.append(exc)
            child.kill()
        finally:
            with contextlib.suppress(OSError, ValueError):
                pipe.close()

    async def _probe_all(self, items: Iterable[_Work[K]], emit: Callable[[Any], None], revalidate: bool) -> None:
        limiter = AsyncHostLimiter(self.config.per_host, self.config.min_interval)
        window = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()
        errors: list[BaseException] = []

        async def one(key: K, url: str, etag: str | None, last_modified: str | None) -> None:
            try:
                if revalidate:
                    emit((key, await self._fetch(session, limiter, url, "GET", etag, last_modified)))
                else:
                    emit((key, await self._probe(session, limiter, url)))
            finally:
                window.release()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            if not task.cancelled() and task.exception() is not None:
                errors.append(task.exception())  # a bug, not a network failure: stop the run

        async with self._session() as session:
            try:
                for key, url, etag, last_modified in items:
                    await window.acquire()
                    if errors:
                        break
                    task = asyncio.ensure_future(one(key, url, etag, last_modified))
                    running.add(task)
                    task.add_done_callback(finished)
                if running:
                    await asyncio.wait(running)
            finally:  # cancelled (the consumer stopped early): no request is left pending
                for task in list(running):
                    task.cancel()
                if running:
                    await asyncio.wait(running)
        if errors:
            raise errors[0]

    def _session(self) -> Any:
        import aiohttp

        c = self.config
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0, ttl_dns_cache=300,
                                         ssl=_ssl_context(c.ca_bundle))
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=c.timeout, sock_read=c.timeout),
            cookie_jar=aiohttp.DummyCookieJar(),  # as urllib3: no cookies kept between requests
            auto_decompress=False,
            # http.client's limits (the Fetcher's): a 64 KiB line, 100 header fields.
            max_line_size=_MAX_LINE, max_field_size=_MAX_LINE, max_headers=100,
            response_class=_peer_response_class(),
        )

    async def _probe(self, session: Any, limiter: AsyncHostLimiter, url: str) -> FetchResult:
        fetched = await self._fetch(session, limiter, url, "HEAD")
        return await self._fetch(session, limiter, url, "GET") if needs_get(fetched) else fetched

    async def _fetch(self, session: Any, limiter: AsyncHostLimiter, url: str, method: str,
                     etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        t0 = time.monotonic()
        result, target, headers = self._start(url, etag, last_modified)
        if target is None:
            return result
        outcome, attempts = await call_with_retries_async(
            lambda: self._attempt(session, limiter, target, headers, method), self._policy)
        return self._finish(result, outcome, attempts, t0)

    async def _attempt(self, session: Any, limiter: AsyncHostLimiter, url: str, headers: dict[str, str],
                       method: str) -> _Attempt:
        """One try of the redirect chain, no body read; never raises for the network."""
        from yarl import URL

        out = _Attempt()
        seen = {url}
        current = url
        left_https = False
        while True:
            target = URL(current, encoded=True)
            async with limiter.slot(target.host or ""):
                try:
                    async with session.request(method, target, allow_redirects=False,
                                               headers=self._hop_headers(headers, current, left_https)) as resp:
                        view = _Response(resp.status, resp.reason or "", _joined(resp.headers), resp.peer)
                        location = resp.headers.get("Location")
                        if resp.status not in REDIRECT_STATUSES or not location:
                            self._verdict(out, current, view, want_body=False)
                            await _drain(resp)
                            return out
                        await _drain(resp)
                except _aio_errors() as exc:
                    kind, message = _aio_failure(exc, self.config.timeout)
                    return self._failed(out, current, kind, message, retryable=kind != "protocol")
            nxt = self._next_hop(out, current, view, location, seen)
            if nxt is None:
                return out
            seen.add(nxt)
            left_https = left_https or (current.startswith("https:") and nxt.startswith("http:"))
            current = nxt


K = TypeVar("K")
_Work = tuple[K, str, "str | None", "str | None"]  # key, url, etag, last_modified
_MAX_LINE = 65536


@dataclass
class _End:
    """The event loop has finished (with the exception that stopped it, if any: in a child
    process, its text)."""

    error: BaseException | str | None = None


def _spawn() -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """A probing process (:func:`_probe_child`), and the file its stderr goes to."""
    stderr = tempfile.TemporaryFile()
    try:
        return subprocess.Popen([sys.executable, "-c", "from linkwatch.http.fetch import _probe_child; _probe_child()"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=_child_env()), stderr
    except OSError:
        stderr.close()
        raise


_SPARES: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []  # started by warm_prober, not yet used
_SPARES_LOCK = threading.Lock()


@contextlib.contextmanager
def warm_prober(wanted: bool = True) -> Iterator[None]:
    """Start a probing process now, for a ``Prober(process=True)`` made later in the block: its
    start-up (Python and aiohttp's imports, ~0.2 s) then overlaps whatever the caller does first
    (reading manifests, planning). Stopped at the end of the block if nothing used it."""
    with _SPARES_LOCK:
        wanted = wanted and not _SPARES  # one already waits (the CLI started it): enough
    try:
        spare = _spawn() if wanted else None
    except OSError:
        spare = None
    if spare is None:
        yield
        return
    with _SPARES_LOCK:
        _SPARES.append(spare)
    try:
        yield
    finally:
        with _SPARES_LOCK:
            unused = spare in _SPARES
            if unused:
                _SPARES.remove(spare)
        if unused:
            _stop(*spare)


def _stop(child: subprocess.Popen[bytes], stderr: IO[bytes], before_close: Callable[[], None] = lambda: None) -> None:
    """Kill a probing process if it still runs, reap it, close its pipes (after ``before_close``:
    the thread feeding its stdin)."""
    if child.poll() is None:
        child.kill()
    child.wait()
    before_close()
    for f in (child.stdin, child.stdout, stderr):
        with contextlib.suppress(OSError, ValueError):
            f.close()  # type: ignore[union-attr]


def _take_batch(results: queue.SimpleQueue[Any]) -> list[Any]:
    """The next result, and whatever else has completed meanwhile."""
    batch = [results.get()]
    with contextlib.suppress(queue.Empty):
        while True:
            batch.append(results.get_nowait())
    return batch


def _probe_child() -> None:
    """The probing process of ``Prober(process=True)``: stdin gives (config, concurrency,
    revalidate), then ``(index, url, etag, last_modified)`` items up to None; stdout gets lists of
    ``(index, FetchResult)``, then an _End."""
    import aiohttp  # noqa: F401 - before waiting for work: a warm spare has its imports done

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    inp = sys.stdin.buffer
    config, concurrency, revalidate = pickle.load(inp)

    def items() -> Iterator[_Work[int]]:
        while (item := pickle.load(inp)) is not None:
            yield item

    asyncio.run(_serve_probes(Prober(config, concurrency), items(), revalidate))


def _exit_with_parent(parent: int) -> None:
    """Stop this probing process as soon as its parent is gone (killed: SIGKILL runs no clean-up),
    rather than finish requests nobody will read (a hanging server holds one up to the timeout
    times the retries)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


async def _serve_probes(prober: Prober, items: Iterable[_Work[int]], revalidate: bool) -> None:
    """Probe ``items``, writing results to stdout through an asyncio pipe transport: its writes
    never block the loop (a thread writing instead cost ~40% more CPU per result, GIL hand-offs),
    and whatever completes in one turn of the loop goes as one batch."""
    loop = asyncio.get_running_loop()
    closed = loop.create_future()

    class Pipe(asyncio.Protocol):
        def connection_lost(self, exc: Exception | None) -> None:
            if not closed.done():
                closed.set_result(None)

    transport, _ = await loop.connect_write_pipe(Pipe, sys.stdout.buffer)
    pending: list[Any] = []

    def flush() -> None:
        transport.write(pickle.dumps(pending, pickle.HIGHEST_PROTOCOL))
        pending.clear()

    def emit(result: Any) -> None:
        if not pending:
            loop.call_soon(flush)
        pending.append(result)

    error = None
    try:
        await prober._probe_all(items, emit, revalidate)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        error = f"{type(exc).__name__}: {exc}"
    if pending:
        flush()
    transport.write(pickle.dumps(_End(error)))
    transport.close()  # after the buffered bytes are written
    await closed


def _child_env() -> dict[str, str]:
    """The environment of the probing process: this linkwatch importable, whatever sys.path did it."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the linkwatch package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def _child_failed(child: subprocess.Popen[bytes], stderr: IO[bytes], failed: list[BaseException],
                  error: str | None = None) -> BaseException:
    if failed:
        return failed[0]
    if error is None:
        child.wait()
        stderr.seek(0)
        tail = stderr.read()[-2000:].decode("utf-8", "replace").strip()
        error = f"exited with code {child.returncode}" + (f": {tail}" if tail else "")
    return RuntimeError(f"the probing process failed: {error}")


def _run_loop(loop: asyncio.AbstractEventLoop, main: asyncio.Task[None], emit: Callable[[Any], None]) -> None:
    asyncio.set_event_loop(loop)
    error: BaseException | None = None
    try:
        loop.run_until_complete(main)
    except asyncio.CancelledError:
        pass
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
        error = exc
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        emit(_End(error))


async def _drain(resp: Any) -> None:
    """Read a short body of known length so the connection is reused; others are dropped unread."""
    length = resp.content_length
    if resp.method != "HEAD" and length is not None and length <= DRAIN_LIMIT:
        with contextlib.suppress(*_aio_errors()):
            await resp.read()


@functools.cache
def _aio_errors() -> tuple[type[BaseException], ...]:
    import aiohttp

    return (aiohttp.ClientError, asyncio.TimeoutError, OSError)


def _aio_failure(exc: BaseException, timeout: float) -> tuple[str, str]:
    """(error kind, message) for an aiohttp failure, worded as the Fetcher words urllib3's."""
    import aiohttp

    during = "while waiting for the response"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", f"timed out {during}: nothing received for {timeout:g} s"
    if isinstance(exc, aiohttp.ClientResponseError):  # never for a status: the response was unparsable
        return "protocol", f"invalid HTTP response: {exc.message}"
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return "connection", f"TLS error: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection", "connection refused"
        return "connection", f"connection failed {during}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, ConnectionResetError) or "reset by peer" in str(exc).lower():
        return "connection", f"connection reset by the server {during}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection", f"connection closed by the server {during}"
    return "connection", f"connection failed {during}: {' '.join(str(exc).split())[:200] or type(exc).__name__}"


def _joined(headers: Any) -> dict[str, str]:
    """A multidict as urllib3 gives it: repeated fields joined with ", "."""
    return {k: ", ".join(headers.getall(k)) for k in headers.keys()}


@functools.cache
def _peer_response_class() -> type:
    """aiohttp's response, remembering the peer's IP address (aiohttp releases the connection of
    a bodiless response before the caller could ask it)."""
    import aiohttp

    class PeerResponse(aiohttp.ClientResponse):
        peer: str | None = None

        async def start(self, connection: Any) -> Any:
            with contextlib.suppress(AttributeError, TypeError, IndexError):
                self.peer = str(connection.transport.get_extra_info("peername")[0])
            return await super().start(connection)

    return PeerResponse


def _ssl_context(bundle: str | None) -> ssl.SSLContext:
    """Verify TLS exactly as the Fetcher does (:func:`_ca_certs`)."""
    return ssl.create_default_context(cafile=_ca_certs(bundle).get("ca_certs"))
