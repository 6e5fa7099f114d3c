"""Retry policy for fetches (built on tenacity) and ``Retry-After`` parsing.

The policy works on *outcomes*, never on exceptions: an attempt returns an object saying whether
it is worth retrying (:attr:`Outcome.retryable`) and how long the server asked us to wait
(:attr:`Outcome.retry_after`). Keeping network failures as values means the last outcome is always
available when retries run out, and a genuine bug (an exception) is never retried or swallowed.

Rules:

- retry connection errors, timeouts and statuses in :data:`RETRYABLE_STATUSES`;
- wait exponentially (``backoff * 2**n``, capped at ``backoff_max``) plus random jitter, so that
  many workers hitting one failing host do not retry in lock-step;
- when the server sends ``Retry-After`` (on 429/503), wait exactly that long instead, unless it
  exceeds ``retry_after_cap``: then give up at once and let the caller report the 429/503.
"""
from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import tenacity

#: Statuses that usually mean "try again later" rather than "this is the answer".
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

#: Statuses on which a ``Retry-After`` header is honoured (RFC 9110 §10.2.3).
RETRY_AFTER_STATUSES: frozenset[int] = frozenset({429, 503})

# delta-seconds is 1*DIGIT; a fraction is tolerated because some servers send "1.5".
_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class Outcome(Protocol):
    """What the retry policy needs to know about one attempt."""

    @property
    def retryable(self) -> bool: ...

    @property
    def retry_after(self) -> float | None: ...


O = TypeVar("O", bound=Outcome)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header value, or None when unusable.

    Accepts delta-seconds (``"120"``) and an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``).
    A date in the past means "now" (0.0). Garbage, negative numbers and empty values give None,
    so the caller falls back to its own back-off.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):  # ASCII digits only: str.isdigit() accepts "²"
        return float(text)
    return _seconds_until_http_date(text, now)


def _seconds_until_http_date(text: str, now: datetime | None) -> float | None:
    """Seconds from ``now`` until the HTTP-date ``text`` (0.0 if past), None if not a date."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


class _GiveUpOnLongRetryAfter(tenacity.stop.stop_base):
    """Stop at once when the server asks us to wait longer than we are willing to."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        if outcome is None or outcome.failed:
            return False
        wait = outcome.result().retry_after
        return wait is not None and wait > self.cap


class _WaitRetryAfterOrBackoff(tenacity.wait.wait_base):
    """Wait what ``Retry-After`` says when present, else exponential back-off with jitter."""

    def __init__(self, backoff: float, backoff_max: float) -> None:
        # backoff * 2**(attempt-1) + uniform(0, backoff), capped at max: never less than
        # `backoff`, so a flapping server is not hammered by a zero-length "jittered" wait.
        self._backoff = tenacity.wait_exponential_jitter(
            multiplier=backoff, max=backoff_max, jitter=backoff
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            wait = outcome.result().retry_after
            if wait is not None:
                return wait
        return self._backoff(retry_state)


def retrying(
    *,
    retries: int,
    backoff: float,
    backoff_max: float,
    retry_after_cap: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tenacity.Retrying:
    """A tenacity ``Retrying`` for callables returning an :class:`Outcome`.

    Calling it returns the last outcome, whether it succeeded or retries ran out (no
    ``RetryError``). Exceptions raised by the callable propagate unchanged, never retried.
    """
    return tenacity.Retrying(sleep=sleep, **_rules(retries, backoff, backoff_max, retry_after_cap))


def async_retrying(*, retries: int, backoff: float, backoff_max: float,
                   retry_after_cap: float) -> tenacity.AsyncRetrying:
    """:func:`retrying` for coroutines: the same rules, waiting with ``asyncio.sleep``."""
    return tenacity.AsyncRetrying(**_rules(retries, backoff, backoff_max, retry_after_cap))


def _rules(retries: int, backoff: float, backoff_max: float, retry_after_cap: float) -> dict[str, Any]:
    return dict(
        stop=tenacity.stop_after_attempt(max(0, retries) + 1) | _GiveUpOnLongRetryAfter(retry_after_cap),
        wait=_WaitRetryAfterOrBackoff(backoff, backoff_max),
        retry=tenacity.retry_if_result(lambda outcome: outcome.retryable),
        retry_error_callback=lambda state: state.outcome.result(),
        reraise=True,
    )


def call_with_retries(attempt: Callable[[], O], policy: tenacity.Retrying) -> tuple[O, int]:
    """Run ``attempt`` under ``policy``; return the last outcome and the number of attempts."""
    first = attempt()
    if not first.retryable:
        # The common case: no tenacity machinery at all (it costs ~80 µs a call, measured).
        return first, 1
    count, replay = 1, [first]

    def counted() -> O:
        nonlocal count
        if replay:  # tenacity's first call gets the outcome we already have
            return replay.pop()
        count += 1
        return attempt()

    # copy(): a Retrying keeps per-call statistics; a private copy keeps concurrent calls apart.
    return policy.copy()(counted), count


async def call_with_retries_async(attempt: Callable[[], Awaitable[O]],
                                  policy: tenacity.AsyncRetrying) -> tuple[O, int]:
    """:func:`call_with_retries` for a coroutine function ``attempt``."""
    first = await attempt()
    if not first.retryable:
        return first, 1
    count, replay = 1, [first]

    async def counted() -> O:
        nonlocal count
        if replay:
            return replay.pop()
        count += 1
        return await attempt()

    return await policy.copy()(counted), count
