"""The order documents are fetched in: host by host in turn, as crawlers schedule.

Real manifests list documents host by host (most UN documents live on a handful of hosts). Fed in
that order to a window of ``--concurrency`` workers, every worker ends up waiting on the one host
at the head of the list — its ``--per-host`` slots and ``--min-interval`` spacing serialise the whole
run while the other hosts sit idle (measured: 500 hosts × 20 documents, host by host, ran ≈35× slower
than the same documents interleaved). Taking one document from each host in turn keeps as many
hosts busy as the window allows; politeness per host is untouched (the limiters still enforce it).

The report keeps manifest order: only the fetch order changes.
"""
from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


def host_of(url: str) -> str:
    """The host a URL's request goes to first (lower case; ``""`` for what has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def by_host(items: Iterable[T], url: Callable[[T], str]) -> Iterator[T]:
    """``items`` round-robin over their hosts: one of each host in turn, each host's own order kept.

    Hosts take turns in the order they first appear, so a manifest that already alternates hosts
    comes out unchanged. Holds the items once (grouped), which the run's task list does anyway.
    """
    queues: OrderedDict[str, deque[T]] = OrderedDict()
    for item in items:
        queues.setdefault(host_of(url(item)), deque()).append(item)
    turn = deque(queues.values())
    while turn:
        queue = turn.popleft()
        yield queue.popleft()
        if queue:
            turn.append(queue)
