"""The bulk availability client: HEAD (or conditional GET) many URLs on one asyncio event loop,
in a child process (:mod:`linkwatch.http.probe_process`) or a thread."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import pickle
import queue
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .client import (
    DRAIN_LIMIT,
    REDIRECT_STATUSES,
    Attempt,
    Client,
    FetchConfig,
    FetchResult,
    Response,
    ca_certs,
    deadline_text,
    dns_failed,
    header_text,
    needs_get,
    proxy_failed,
    resolve,
)
from .probe_process import SPARES, SPARES_LOCK, End, Work, child_failed, spawn, stop
from .proxy import proxy_for
from .ratelimit import AsyncHostLimiter
from .retry import async_retrying, call_with_retries_async

K = TypeVar("K")


class Prober(Client):
    """Availability checks in bulk, on one asyncio event loop: HEAD (then GET, its body unread,
    when a server mishandles HEAD), redirects followed and recorded, retries and per-host
    politeness — the rules of :meth:`Fetcher.probe`, shared through :class:`Client`.

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

    def _in_thread(self, items: Iterable[Work[K]], revalidate: bool) -> Iterator[list[tuple[K, FetchResult]]]:
        results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        loop = asyncio.new_event_loop()
        main = loop.create_task(self._probe_all(items, results.put, revalidate))
        thread = threading.Thread(target=_run_loop, args=(loop, main, results.put), name="linkwatch-probe",
                                  daemon=True)
        thread.start()
        try:
            while True:
                batch = _take_batch(results)
                end = batch.pop() if isinstance(batch[-1], End) else None
                if batch:
                    yield batch
                if end is not None:
                    if end.error is not None:
                        raise end.error
                    return
        finally:
            if thread.is_alive():
                with contextlib.suppress(RuntimeError):  # the loop has just closed: nothing left to cancel
                    loop.call_soon_threadsafe(main.cancel)
            thread.join()

    def _in_child(self, items: Iterable[Work[K]], revalidate: bool) -> Iterator[list[tuple[K, FetchResult]]]:
        """The child (:func:`child_main`) reads pickled work on its stdin, writes pickled result
        batches on its stdout; a thread here feeds it, so neither side can block the other."""
        keys: dict[int, K] = {}
        failed: list[BaseException] = []
        with SPARES_LOCK:
            spare = SPARES.pop() if SPARES else None
        try:
            child, stderr = spare or spawn()
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
                    raise child_failed(child, stderr, failed) from None
                if isinstance(batch, End):
                    if failed or batch.error:
                        raise child_failed(child, stderr, failed, batch.error)
                    return
                yield [(keys.pop(i), result) for i, result in batch]
        finally:
            stop(child, stderr, before_close=feeder.join)

    def _feed(self, child: subprocess.Popen[bytes], items: Iterable[Work[K]], revalidate: bool,
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

    async def _probe_all(self, items: Iterable[Work[K]], emit: Callable[[Any], None], revalidate: bool) -> None:
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
        retried = call_with_retries_async(lambda: self._attempt(session, limiter, target, headers, method), self._policy)
        try:  # the Fetcher's deadline rule: the whole fetch, every attempt, within max_time
            outcome, attempts = await asyncio.wait_for(retried, self.config.max_time)
        except asyncio.TimeoutError:
            outcome = self._failed(Attempt(), target, "timeout", deadline_text(self.config.max_time), retryable=False)
            attempts = 1
        return self._finish(result, outcome, attempts, t0)

    async def _attempt(self, session: Any, limiter: AsyncHostLimiter, url: str, headers: dict[str, str],
                       method: str) -> Attempt:
        """One try of the redirect chain, no body read; never raises for the network."""
        from yarl import URL

        out = self._new_attempt(headers)
        seen = {url}
        current = url
        left_https = False
        proxies = self.config.proxies
        while True:
            target = URL(current, encoded=True)
            async with limiter.slot(target.host or ""):
                try:
                    async with session.request(method, target, allow_redirects=False, proxy=proxy_for(current, proxies),
                                               headers=self._hop_headers(headers, current, left_https)) as resp:
                        view = Response(resp.status, _latin1(resp.reason or ""), _joined(resp.headers), resp.peer)
                        location = _latin1(resp.headers.get("Location") or "")
                        if resp.status not in REDIRECT_STATUSES or not location:
                            self._verdict(out, current, view, want_body=False)
                            await _drain(resp)
                            return out
                        await _drain(resp)
                except _aio_errors() as exc:
                    kind, message = _aio_failure(exc, self.config.timeout, current, proxy_for(current, proxies))
                    return self._failed(out, current, kind, message, retryable=kind != "protocol")
            nxt = self._next_hop(out, current, view, header_text(location), seen)
            if nxt is None:
                return out
            if self._guards_internal(out):
                parts = urlsplit(nxt)
                addresses = await asyncio.get_running_loop().run_in_executor(
                    None, resolve, parts.hostname or "", parts.port)
                if self._refuse_internal(out, nxt, addresses):
                    return out
            seen.add(nxt)
            left_https = left_https or (current.startswith("https:") and nxt.startswith("http:"))
            current = nxt


_MAX_LINE = 65536


def _take_batch(results: queue.SimpleQueue[Any]) -> list[Any]:
    """The next result, and whatever else has completed meanwhile."""
    batch = [results.get()]
    with contextlib.suppress(queue.Empty):
        while True:
            batch.append(results.get_nowait())
    return batch


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
        emit(End(error))


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


def _aio_failure(exc: BaseException, timeout: float, url: str = "", proxy: str | None = None) -> tuple[str, str]:
    """(error kind, message) for an aiohttp failure, worded as the Fetcher words urllib3's."""
    import aiohttp

    during = "while waiting for the response"
    if proxy is not None and isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        reason = exc.message if isinstance(exc, aiohttp.ClientHttpProxyError) else exc.os_error.strerror
        return "connection", proxy_failed(proxy, str(reason or exc))
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror):
        return "connection", dns_failed(urlsplit(url).hostname or url, exc.os_error.strerror or str(exc.os_error))
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", f"timed out {during}: nothing received for {timeout:g} s"
    if isinstance(exc, aiohttp.ClientResponseError):  # never for a status: the response was unparsable
        status_line = re.search(r"Bad status line:.*?b(['\"])(.*?)\1", str(exc.message), re.DOTALL)
        if status_line:  # worded as the Fetcher words http.client's BadStatusLine
            line = " ".join(status_line.group(2).split())[:100]
            return "protocol", f"invalid HTTP response: bad status line {line!r}"
        too_long = re.search(r"Got more than (\d+) bytes", str(exc.message))
        if too_long:  # worded as http.client's LineTooLong (without aiohttp's quote of the bytes)
            return "protocol", f"invalid HTTP response: got more than {too_long.group(1)} bytes when reading header line"
        return "protocol", f"invalid HTTP response: {' '.join(str(exc.message).split())[:200]}"
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
    """A multidict as urllib3 gives it: repeated fields joined with ", ", text decoded as Latin-1."""
    return {_latin1(k): _latin1(", ".join(headers.getall(k))) for k in headers.keys()}


def _latin1(text: str) -> str:
    """Header text as http.client (the Fetcher's) decodes it: each byte one character (Latin-1).
    aiohttp decodes UTF-8 and keeps other bytes as lone surrogates, which no UTF-8 file (the index,
    a WARC) can hold: a reason phrase "Non trouv\xe9" made every later run crash."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


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
    """Verify TLS exactly as the Fetcher does (:func:`ca_certs`)."""
    return ssl.create_default_context(cafile=ca_certs(bundle).get("ca_certs"))
