"""Split a run's documents into N shards for CI matrix jobs (``--shard K/N``).

A document's shard is decided by a hash of its id alone — ``sha256(id) mod N`` — so it does not
depend on the order of the manifest, on the other documents, on the machine or on Python's
per-process hash seed: adding, removing or reordering documents never moves the others, and
each shard's archive (cached per shard in CI) keeps seeing the same documents run after run.
The N shards together hold every document exactly once.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


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
    """The shard (1..n) that document id `doc_id` belongs to."""
    digest = hashlib.sha256(doc_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def select(documents: Sequence[T], k: int, n: int) -> list[T]:
    """The documents of shard `k` of `n`, in their original order (anything with an ``id``)."""
    return [d for d in documents if shard_of(d.id, n) == k]  # type: ignore[attr-defined]
