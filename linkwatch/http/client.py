"""What both HTTP clients share: the request headers, the redirect rules, the verdict on a final
response, and what a fetch reports (:class:`FetchResult`).

:class:`~linkwatch.http.fetcher.Fetcher` (urllib3 in a thread pool: bodies) and
:class:`~linkwatch.http.prober.Prober` (aiohttp on one event loop: availability in bulk) differ
only in their I/O; both build on :class:`Client`, so both judge every server alike.

The clients know HTTP, not documents: they report what the server did and leave judging it to
:mod:`linkwatch.compare`. They never raise for network or HTTP trouble.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .. import __version__
from ..timestamps import now
from ..un import quirks
from .proxy import Proxies, from_environment, shown
from .retry import RETRY_AFTER_STATUSES, RETRYABLE_STATUSES, parse_retry_after
from .urls import UnsupportedScheme, ascii_host, redact_userinfo, request_url


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
    # Wall-clock limit for one fetch (every attempt, redirect and body byte), seconds: a body
    # trickling just above min_rate would otherwise hold a document for days. None: no limit.
    max_time: float | None = 600.0
    # A body must keep arriving at this many bytes per second, averaged over windows of `timeout`
    # seconds: a server dripping a byte at a time never trips the per-read timeout, but trips this.
    min_rate: float = 1024.0
    ca_bundle: str | None = None  # PEM file of trusted CAs instead of certifi's (a private or test CA)
    # Extra request headers per origin, e.g. credentials from the manifest: keyed "host" (its
    # scheme's default port only) or "host:port" (:func:`origin_key`). Sent only there: never after a
    # redirect to another host or port, nor over an https→http downgrade.
    host_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # Header values never to be recorded (secrets from env: references); recorded as "<redacted>".
    secret_values: frozenset[str] = frozenset()
    # A redirect from a public address into an internal one (loopback, private, link-local such as
    # the cloud metadata service 169.254.169.254…) is refused, unless the document's own URL is
    # internal too or this is set. `internal_networks` (CIDR strings) replaces what "internal"
    # means: None = every address that is not globally routable.
    allow_internal_redirects: bool = False
    internal_networks: tuple[str, ...] | None = None
    # Forward proxies (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; --proxy): see linkwatch.http.proxy.
    proxies: Proxies = field(default_factory=from_environment)


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


def dns_failed(host: str, reason: str) -> str:
    """The one wording of a failed name lookup, for both clients (``DNS lookup failed for unctad.org``)."""
    return f"DNS lookup failed for {host}: {reason}"


def proxy_failed(proxy: str, reason: str) -> str:
    """The one wording of a failure at the proxy (its address shown without credentials)."""
    return f"proxy {shown(proxy)} failed: {reason}"


def header_text(value: str) -> str:
    """Undo http.client's latin-1 decoding of a header holding raw UTF-8 (a Location with é)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def media_type(content_type: str | None) -> str | None:
    """``"Application/PDF; charset=x"`` → ``"application/pdf"``; None when absent or empty."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


# -- one attempt ----------------------------------------------------------------------------------


@dataclass
class Body:
    """A body streamed to disk."""

    path: Path
    size: int
    sha256: str
    sha512: str


@dataclass
class Attempt:
    """What one try (the whole redirect chain) produced; see :class:`linkwatch.http.retry.Outcome`."""

    final_url: str | None = None
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    redirects: list[Hop] = field(default_factory=list)
    body: Body | None = None
    head: bytes = b""
    error: str | None = None
    error_kind: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    remote_addr: str | None = None
    origin_internal: bool | None = None  # the first response came from an internal address
    conditional: bool = False  # the request carried If-None-Match / If-Modified-Since


@dataclass
class Response:
    """What the redirect and verdict rules look at in a response, whichever client received it."""

    status: int
    reason: str
    headers: dict[str, str]
    remote_addr: str | None = None


class Client:
    """What :class:`Fetcher` (blocking, bodies) and :class:`Prober` (asyncio, availability only)
    share: the request headers, the redirect rules, the verdict on a final response and the
    result. Only the I/O differs between them, so both judge every server alike."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        self.config = config = config or FetchConfig()
        self._host_headers = {origin_key(h): dict(v) for h, v in config.host_headers.items()}
        self._internal_networks = (None if config.internal_networks is None else
                                   tuple(ipaddress.ip_network(n, strict=False) for n in config.internal_networks))

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

    @staticmethod
    def _new_attempt(headers: dict[str, str]) -> Attempt:
        return Attempt(conditional="If-None-Match" in headers or "If-Modified-Since" in headers)

    def _hop_headers(self, headers: dict[str, str], url: str, downgraded: bool) -> dict[str, str]:
        """``headers`` plus the configured headers of ``url``'s origin, unless the chain left https.

        A key ``host:port`` is that port only; a bare ``host`` is the host on its scheme's default
        port (443, 80) only. So a redirect to another port of the same host (another service)
        never carries the credentials: the leak curl fixed as CVE-2022-27776."""
        if not self._host_headers:
            return headers
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        host = parts.hostname or ""
        extra = self._host_headers.get((host, port))
        if extra is None and port == DEFAULT_PORTS.get(parts.scheme):
            extra = self._host_headers.get((host, None))
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

    def _next_hop(self, out: Attempt, current: str, resp: Response, location: str, seen: set[str]) -> str | None:
        """Check a redirect and record it; return the next URL, or None when refused (``out`` says why)."""
        self._record_response(out, current, resp)  # a refused redirect is the final response
        if out.redirects and resp.remote_addr and self._refuse_internal(out, current, [resp.remote_addr]):
            return None
        location = redact_userinfo(location)  # never sent (request_url drops it), never recorded
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
        out.redirects.append(Hop(current, resp.status, location, resp.reason, out.headers))
        return nxt

    def _record_response(self, out: Attempt, url: str, resp: Response) -> None:
        out.final_url, out.status, out.reason = url, resp.status, resp.reason
        out.headers = _without_userinfo(resp.headers)
        out.remote_addr = resp.remote_addr or out.remote_addr
        if out.origin_internal is None and resp.remote_addr:
            out.origin_internal = self._internal(resp.remote_addr)

    # -- internal addresses ----------------------------------------------------------------
    def _guards_internal(self, out: Attempt) -> bool:
        """Whether redirects of this chain must stay out of internal networks."""
        return not self.config.allow_internal_redirects and out.origin_internal is False

    def _internal(self, address: str) -> bool:
        return is_internal(address, self._internal_networks)

    def _refuse_internal(self, out: Attempt, url: str, addresses: list[str]) -> bool:
        """Refuse (and say so in ``out``) a hop to ``url`` whose address is internal while the chain
        started on a public one. Checked on the addresses a name resolves to before the request,
        and on the address that answered after it (a name re-resolved in between)."""
        if not self._guards_internal(out):
            return False
        inside = next((a for a in addresses if self._internal(a)), None)
        if inside is None:
            return False
        host = urlsplit(url).hostname or url
        out.error = (f"redirect to an internal address refused: {host} is {inside}, and the document's own URL "
                     "is public (--allow-internal-redirects allows it)")
        out.error_kind, out.retryable = "refused-redirect", False
        return True

    @staticmethod
    def _failed(out: Attempt, url: str, kind: str, message: str, *, retryable: bool) -> Attempt:
        out.final_url, out.error_kind, out.error, out.retryable = url, kind, message, retryable
        return out

    def _verdict(self, out: Attempt, url: str, resp: Response, want_body: bool) -> bool:
        """Record and judge the final response of a chain; True when its body is to be read."""
        self._record_response(out, url, resp)
        if out.redirects and resp.remote_addr and self._refuse_internal(out, url, [resp.remote_addr]):
            return False  # nothing an internal service says is read, kept or archived
        status = resp.status
        if quirks.is_bot_challenge(status, out.headers):  # retrying a challenge only earns another one
            out.error, out.error_kind = f"bot challenge (HTTP {status})", "challenge"
            return False
        if status == 304 and out.conditional:
            return False
        if status in (206, 304):  # never asked for: no Range is sent, nor (here) a validator
            asked = "a request without Range" if status == 206 else "a request that was not conditional"
            out.error = f"invalid HTTP response: {status} {resp.reason} to {asked}".replace("  ", " ")
            out.error_kind, out.retryable = "protocol", False
            return False
        if not 200 <= status < 300:
            self._http_error(out)
            return False
        return want_body

    def _http_error(self, out: Attempt) -> None:
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
    def _fill(result: FetchResult, out: Attempt, unredirected_url: str | None) -> None:
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
        result.content_type = media_type(low.get("content-type"))
        result.etag = low.get("etag")
        result.last_modified = low.get("last-modified")
        result.not_modified = out.status == 304
        result.error, result.error_kind = out.error, out.error_kind
        if out.body is not None:
            result.body_path = out.body.path
            result.size, result.sha256, result.sha512 = out.body.size, out.body.sha256, out.body.sha512
            result.head = out.head

    def _finish(self, result: FetchResult, out: Attempt, attempts: int, t0: float) -> FetchResult:
        self._fill(result, out, result.url if not out.redirects else None)
        result.attempts = attempts
        result.elapsed = time.monotonic() - t0
        return result


def _without_userinfo(headers: dict[str, str]) -> dict[str, str]:
    """Response headers fit to record: a Location's user info (a password) redacted."""
    location = next((k for k in headers if k.lower() == "location"), None)
    if location is None or "@" not in headers[location]:
        return headers
    return {**headers, location: redact_userinfo(headers[location])}


def is_internal(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = None) -> bool:
    """Whether an IP address is internal: in ``networks``, or (None) not globally routable —
    loopback, private, link-local (169.254.169.254), shared, reserved; IPv4-mapped IPv6 as IPv4."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if networks is None:
        return not ip.is_global
    return any(ip in n for n in networks)


def resolve(host: str, port: int | None) -> list[str]:
    """The addresses ``host`` resolves to (itself for an IP literal); [] when it does not resolve
    (the request then fails as it would have)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        return [info[4][0] for info in socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)]
    except (OSError, UnicodeError):
        return []


def deadline_text(max_time: float | None) -> str:
    """The error of a fetch cut short by ``FetchConfig.max_time``."""
    return f"not fetched within the document's deadline ({max_time:g} s)" if max_time else "past the deadline"


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(key: str) -> tuple[str, int | None]:
    """``"Example.org"`` → ``("example.org", None)``; ``"example.org:8443"`` → ``("example.org", 8443)``;
    ``"[::1]:8080"`` → ``("::1", 8080)``. Raises ValueError for anything else (a path, user info…)."""
    parts = urlsplit("//" + key.strip())
    if not parts.hostname or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{key!r} is not a host name or host:port")
    return ascii_host(parts.hostname.rstrip(".")), parts.port  # .port raises ValueError when out of range


def needs_get(result: FetchResult) -> bool:
    """Whether an availability check answered by HEAD must be asked again with GET.

    Some servers mishandle HEAD (405, 501, 403, even 500) while GET works, so any error but a
    plain 404/410 is asked again with GET, its body discarded unread, as link checkers do; so is
    a HEAD whose answer was not valid HTTP (some servers send a body after a HEAD's headers, which
    one client's parser reads as a broken next response and the other never sees)."""
    code = result.http_status
    if code is None:  # no response to HEAD that parses (a body sent after a HEAD's headers…)
        return result.error_kind == "protocol"
    return code >= 400 and code not in _HEAD_TRUSTED


_HEAD_TRUSTED = frozenset({404, 410})


def ca_certs(bundle: str | None = None) -> dict[str, str]:
    """Verify TLS against ``bundle``, else certifi's bundle when available (as requests does), else
    the system store. Verification is never turned off."""
    if bundle:
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": str(bundle)}
    try:
        import certifi
    except ImportError:  # pragma: no cover
        return {}
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}
