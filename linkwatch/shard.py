"""Split a run's documents into N shards for parallel runners (``--shard K/N``).

**By host** (the default): a shard owns whole hosts, so each host is asked by one runner only and
the per-host limits (``--per-host``, ``--min-interval``) hold across any number of parallel
shards with no coordination — the way Heritrix, Nutch and StormCrawler partition a crawl. Hosts
that one document may touch (its URL and its mirrors) are kept together, and so are hosts known to
redirect to one another (``undocs.org`` and ``docs.un.org`` send requests on to ``documents.un.org``):
these groups are the unit that is placed.

Placing is deterministic (every runner computes the same split from the same manifests, with no
talk between runners) and balanced:

- a group heavier than a fair share (one host holding most of the documents) gets a shard of its
  own: its time is bound by that host's politeness, not by the runner, so nothing else waits on it;
- the other groups, heaviest first, go to the shard they prefer (rendezvous hashing: the one with
  the highest ``sha256(group, shard)``) unless that shard is full (a capacity of 1.25 × an even
  share of what is left), else to the least loaded one. Preferences depend on the group alone, so
  adding documents moves few hosts.

Over-decompose: run many shards (N) on few runners (a Kubernetes Indexed Job with
``completions: N`` and ``parallelism: R``, a CI matrix): a runner that finishes a small shard
takes the next while the dominant host's shard runs (docs/scale.md#sizing-n).

**By document** (``--shard-by document``): ``sha256(id) mod N``, as before: stable whatever else
changes in the manifests, but every shard may ask every host, so N shards ask a host N times as
hard. Only for a single runner per host (each shard with its own archive, one at a time).
"""
from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
BY = ("host", "document")
# A shard may hold this much more than an even share of the documents (the rest of the groups'
# balance: a tighter bound moves more hosts away from their preferred shard).
SLACK = 1.25


def parse(spec: str) -> tuple[int, int]:
    """``"2/3"`` → ``(2, 3)``. K counts from 1 (like GitLab's ``CI_NODE_INDEX``); ValueError otherwise."""
    m = _SPEC.fullmatch(spec)
    if not m:
        raise ValueError(f"{spec!r} is not K/N (for example 1/4)")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise ValueError(f"{spec!r}: need 1 <= K <= N (shards count from 1)")
    return k, n


def shard_of(doc_id: str, n: int) -> int:
    """The shard (1..n) that document id `doc_id` belongs to when sharding by document."""
    return _hash(doc_id) % n + 1


def select(documents: Sequence[T], k: int, n: int, by: str = "host",
           same_host: Iterable[Iterable[str]] = ()) -> list[T]:
    """The documents of shard `k` of `n`, in their original order (anything with ``id`` and ``urls``).

    ``same_host``: groups of hosts to keep in one shard (known redirects between them)."""
    if by == "document":
        return [d for d in documents if shard_of(d.id, n) == k]  # type: ignore[attr-defined]
    if by != "host":
        raise ValueError(f"shard by {by!r}: choose one of {', '.join(BY)}")
    group = host_groups(documents, same_host)
    placed = place({g: w for g, w in _weights(documents, group).items()}, n)
    return [d for d in documents if placed[group(d)] == k]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def host_groups(documents: Sequence[T], same_host: Iterable[Iterable[str]] = ()) -> Callable[[T], str]:
    """A function giving each document its host group's name (the group's smallest host name):
    hosts joined by a document's URLs, or by ``same_host``, are one group (union-find)."""
    parent: dict[str, str] = {}

    def find(h: str) -> str:
        parent.setdefault(h, h)
        while parent[h] != h:
            parent[h] = parent[parent[h]]
            h = parent[h]
        return h

    def union(hosts: Iterable[str]) -> None:
        roots = sorted({find(h) for h in hosts})
        for r in roots[1:]:
            parent[r] = roots[0]

    for hosts in same_host:
        union(h.lower() for h in hosts)
    for d in documents:
        union(host_of(u) for u in d.urls)  # type: ignore[attr-defined]
    return lambda d: find(host_of(d.urls[0]))  # type: ignore[attr-defined]


def _weights(documents: Sequence[T], group: Callable[[T], str]) -> dict[str, int]:
    weights: dict[str, int] = {}
    for d in documents:
        g = group(d)
        weights[g] = weights.get(g, 0) + 1
    return weights


def place(weights: dict[str, int], n: int) -> dict[str, int]:
    """Each group's shard (1..n), from the groups' weights (documents): see the module docstring."""
    order = sorted(weights, key=lambda g: (-weights[g], g))
    load = [0] * (n + 1)  # load[0] unused: shards count from 1
    placed: dict[str, int] = {}
    left, shards_left = sum(weights.values()), n
    heavy = 0
    for g in order:  # groups above a fair share of what is left: a shard each, the emptiest
        if shards_left <= 1 or weights[g] <= left / shards_left:
            break
        placed[g] = min(range(1, n + 1), key=lambda s: (load[s], -_score(g, s)))
        load[placed[g]] += weights[g]
        left, shards_left, heavy = left - weights[g], shards_left - 1, heavy + 1
    taken = set(placed.values())
    free = [s for s in range(1, n + 1) if s not in taken] or list(range(1, n + 1))
    capacity = math.ceil(SLACK * left / len(free)) if left else 0
    for g in order[heavy:]:
        fits = [s for s in free if load[s] + weights[g] <= capacity]
        if fits:
            placed[g] = max(fits, key=lambda s: _score(g, s))
        else:
            placed[g] = min(free, key=lambda s: (load[s], -_score(g, s)))
        load[placed[g]] += weights[g]
    return placed


def _score(group: str, shard: int) -> int:
    return _hash(f"{group}\0{shard}")


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
