"""Stopping a run early and cleanly: Ctrl-C, or the run's deadline (``--max-time``).

A run stopped early still records what it observed and reports it, marked incomplete: a CI job
killed at its time limit leaves nothing, one that stops itself first leaves a report. While a batch
of observations is being recorded, the stop waits until the batch is in the index (a second Ctrl-C
is not caught: Python's KeyboardInterrupt, for the impatient).

    with Stopper(max_time=600) as stop:
        try:
            for batch in work:
                with stop.deferred():
                    record(batch)
        except Stopped as exc:
            ...   # exc.reason: "interrupted" or "--max-time 600 s reached"
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Stopped(Exception):
    """The run was told to stop (:attr:`reason` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Stopper:
    """Turns SIGINT (Ctrl-C) and a deadline into :class:`Stopped`, raised in the main thread.

    Only the main thread can catch signals; elsewhere (an API caller's thread) Ctrl-C is left to
    Python and the deadline is noticed between batches (:meth:`check`)."""

    def __init__(self, max_time: float | None = None) -> None:
        self.max_time = max_time
        self.reason: str | None = None
        self._deferring = False
        self._pending = False
        self._main = threading.current_thread() is threading.main_thread()
        self._previous: object = None
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Stopper:
        if self._main:
            self._previous = signal.signal(signal.SIGINT, self._on_signal)
        if self.max_time is not None:
            self._timer = threading.Timer(self.max_time, self._expire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._main:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A stop asked for inside the block takes effect when it ends (the batch is recorded)."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        self.check()

    def check(self) -> None:
        """Raise :class:`Stopped` if a stop was asked for."""
        if self._pending or (self.reason is not None and not self._main):
            self._pending = False
            raise Stopped(self.reason or "interrupted")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.reason = self.reason or "interrupted"
        if self._deferring:
            self._pending = True
            return
        raise Stopped(self.reason)

    def _expire(self) -> None:
        self.reason = self.reason or f"--max-time {self.max_time:g} s reached"
        if self._main:  # a real signal: it also ends a blocking wait of the main thread
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
