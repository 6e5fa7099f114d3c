"""Per-host politeness: bounded concurrency and a minimum interval between request starts.

One :class:`HostLimiter` is shared by every thread of a run. For each host it keeps a semaphore
(at most ``per_host`` requests in flight) and the earliest time the next request may start
(``min_interval`` apart). Hosts are created lazily on first use, so a run over ten thousand URLs on
three hosts holds three entries.

The limiter only governs the time a request is *on the wire*. Retry back-off happens outside
:meth:`HostLimiter.slot`, so a request sleeping on a ``Retry-After`` never blocks other requests to
the same host.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Host:
    """Politeness state of one host."""

    slots: threading.BoundedSemaphore
    next_start: float = 0.0  # monotonic time before which no new request may start
    lock: threading.Lock = field(default_factory=threading.Lock)


class HostLimiter:
    """Limit concurrency and request rate per host; thread-safe.

    >>> limiter = HostLimiter(per_host=2, min_interval=0.0)
    >>> with limiter.slot("example.org"):
    ...     pass  # send the request and read the response here
    """

    def __init__(
        self,
        per_host: int = 2,
        min_interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be >= 1, got {per_host}")
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {min_interval}")
        self.per_host = per_host
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, host: str) -> _Host:
        """The state of ``host``, created on first use."""
        key = host.lower()
        with self._lock:
            state = self._hosts.get(key)
            if state is None:
                state = _Host(threading.BoundedSemaphore(self.per_host))
                self._hosts[key] = state
            return state

    def _reserve_start(self, state: _Host) -> float:
        """Book the next start time for this host and return it.

        Booking under the host lock (instead of sleeping under it) lets waiting threads queue up
        in order without serialising on the lock while they sleep.
        """
        with state.lock:
            start, state.next_start = _book(self._clock(), state.next_start, self.min_interval)
            return start

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of ``host``'s request slots for the duration of the ``with`` block.

        Blocks until a slot is free, then until ``min_interval`` has passed since the previous
        request start to that host.
        """
        state = self._host(host)
        state.slots.acquire()
        try:
            if self.min_interval > 0:
                delay = self._reserve_start(state) - self._clock()
                if delay > 0:
                    self._sleep(delay)
            yield
        finally:
            state.slots.release()

    def hosts(self) -> list[str]:
        """Hosts seen so far (for diagnostics)."""
        with self._lock:
            return sorted(self._hosts)


def _book(now: float, next_start: float, interval: float) -> tuple[float, float]:
    """(when a request may start, when the one after it may): ``interval`` apart, never in the past."""
    start = max(now, next_start)
    return start, start + interval


class AsyncHostLimiter:
    """:class:`HostLimiter` for coroutines on one event loop (the bulk availability path).

    The same rules — ``per_host`` in flight, ``min_interval`` between starts — with asyncio
    primitives; no locks, since everything runs on the loop's thread.
    """

    def __init__(self, per_host: int = 2, min_interval: float = 0.0) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be >= 1, got {per_host}")
        self.per_host, self.min_interval = per_host, min_interval
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    def slot(self, host: str) -> _AsyncSlot:
        """``async with limiter.slot(host):`` holds one of ``host``'s slots (a plain class, not
        an ``asynccontextmanager``: this runs for every request of a bulk check)."""
        return _AsyncSlot(self, host.lower())

    def _semaphore(self, key: str) -> asyncio.Semaphore:
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(self.per_host)
        return slots

    def _delay(self, key: str) -> float:
        """Book the next start for ``key``; the seconds to wait before this one starts."""
        now = time.monotonic()
        start, self._next_start[key] = _book(now, self._next_start.get(key, 0.0), self.min_interval)
        return start - now


class _AsyncSlot:
    __slots__ = ("limiter", "key", "semaphore")

    def __init__(self, limiter: AsyncHostLimiter, key: str) -> None:
        self.limiter, self.key = limiter, key
        self.semaphore = limiter._semaphore(key)

    async def __aenter__(self) -> None:
        await self.semaphore.acquire()
        if self.limiter.min_interval > 0:
            delay = self.limiter._delay(self.key)
            if delay > 0:
                try:
                    await asyncio.sleep(delay)
                except BaseException:
                    self.semaphore.release()
                    raise

    async def __aexit__(self, *exc: object) -> None:
        self.semaphore.release()
