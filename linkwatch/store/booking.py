"""Per-host politeness booked in the shared PostgreSQL index, across overlapping runs.

Host sharding keeps the shards of one campaign off each other's hosts; two *different* runs — a
weekly campaign and an ad-hoc check, two workflows — may still ask one host at once. When the
index is PostgreSQL, every request start is booked there:

- **slots** (``--per-host`` in flight): one session-level advisory lock per slot
  (``pg_try_advisory_lock(host key, slot)``). PostgreSQL releases a session's locks when its
  connection ends, so a SIGKILLed worker's slots are free again as soon as the server notices
  the dead connection — nothing to clean up, no lease to expire;
- **starts** (``--min-interval`` apart): one ``UPDATE … RETURNING`` per start on the host's row of
  ``host_starts``, on the database's clock (runners' clocks may disagree): it moves the host's
  next start on by the interval and returns how long this request waits.

Within one process the slots are also held in a local set (advisory locks are re-entrant per
session, and all threads of a run share one connection), and a local limiter keeps more than
``per_host`` threads from polling the database for one host.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..http.ratelimit import HostLimiter

_START = """UPDATE host_starts
               SET next_start = GREATEST(next_start, EXTRACT(EPOCH FROM clock_timestamp())) + %s
             WHERE host = %s
         RETURNING next_start - %s - EXTRACT(EPOCH FROM clock_timestamp())"""


class HostBookings:
    """A limiter with :class:`~linkwatch.http.ratelimit.HostLimiter`'s ``slot(host)``, booked in
    PostgreSQL. Thread-safe; one database connection of its own."""

    def __init__(self, url: str, per_host: int, min_interval: float, *, poll: float = 0.02) -> None:
        import psycopg

        self.per_host, self.min_interval, self.poll = per_host, min_interval, poll
        self._conn = psycopg.connect(url, autocommit=True, application_name="linkwatch-bookings")
        self._lock = threading.Lock()
        self._held: set[tuple[int, int]] = set()
        self._known: set[str] = set()
        self._local = HostLimiter(per_host, 0.0)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of ``host``'s slots (in every process booking on this database), starting no
        sooner than ``min_interval`` after the host's previous start."""
        with self._local.slot(host):
            taken = self._take(_key(host.lower()))
            try:
                if self.min_interval > 0:
                    delay = self._book_start(host.lower())
                    if delay > 0:
                        time.sleep(delay)
                yield
            finally:
                self._give_back(taken)

    def close(self) -> None:
        with self._lock:
            self._conn.close()  # releases every advisory lock of this session

    def __enter__(self) -> HostBookings:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self, key: int) -> tuple[int, int]:
        while True:
            with self._lock:
                for slot in range(self.per_host):
                    if (key, slot) in self._held:
                        continue
                    if self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (key, slot)).fetchone()[0]:
                        self._held.add((key, slot))
                        return key, slot
            time.sleep(self.poll)  # every slot is held, here or by another run

    def _give_back(self, taken: tuple[int, int]) -> None:
        with self._lock:
            self._held.discard(taken)
            if not self._conn.closed:
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", taken)

    def _book_start(self, host: str) -> float:
        with self._lock:
            if host not in self._known:
                self._conn.execute("INSERT INTO host_starts (host, next_start) VALUES (%s, 0) "
                                   "ON CONFLICT DO NOTHING", (host,))
                self._known.add(host)
            row: Any = self._conn.execute(_START, (self.min_interval, host, self.min_interval)).fetchone()
        return float(row[0])


def _key(host: str) -> int:
    """The host's advisory-lock key (a signed 32-bit integer; a collision only makes two hosts
    share slots, which errs on the polite side)."""
    return int.from_bytes(hashlib.sha256(host.encode("utf-8")).digest()[:4], "big", signed=True)
