"""Fixity audits: re-hash every stored snapshot against the index (sha256 and sha512).

A librarian needs to know that what is in ``archive/blobs`` is still, bit for bit, what was
ingested. Three kinds of problem: *missing* (the index knows a snapshot, the disk does not),
*changed* (its bytes no longer hash to what was recorded) and *unknown* (a file in the blob store
the index never recorded). Every check is recorded as a ``fixity-check`` event.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from .. import __version__
from .blobs import BlobStore, hash_file
from .index import Event, Index
from ..timestamps import now

AGENT = f"linkwatch {__version__}"


@dataclass(frozen=True)
class Problem:
    kind: str  # "missing" | "changed" | "unknown"
    sha256: str
    detail: str


@dataclass
class FixityReport:
    checked: int  # snapshots re-hashed
    total: int  # snapshots in the index
    problems: list[Problem] = field(default_factory=list)
    sample_percent: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(index: Index, blobs: BlobStore, sample_percent: float | None = None,
           rng: random.Random | None = None) -> FixityReport:
    """Re-hash all snapshots (or a random ``sample_percent`` of them) and look for unknown files."""
    rows = index.snapshots()
    chosen = _sample(rows, sample_percent, rng or random.Random())
    report = FixityReport(checked=len(chosen), total=len(rows), sample_percent=sample_percent)
    events = []
    for row in chosen:
        problem = _check(blobs, row["sha256"], row["sha512"], row["size"])
        if problem:
            report.problems.append(problem)
        events.append(Event(at=now(), kind="fixity-check", outcome="failure" if problem else "success",
                            sha256=row["sha256"], agent=AGENT,
                            detail=problem.detail if problem else "sha256 and sha512 match"))
    known = {row["sha256"] for row in rows}
    for name in blobs.iter_hashes():
        if name not in known:
            report.problems.append(Problem("unknown", name, f"{BlobStore.relative_path(name)} is not in the index"))
    index.add_events(events)
    return report


def _check(blobs: BlobStore, sha256: str, sha512: str, size: int) -> Problem | None:
    path = blobs.path_for(sha256)
    if not path.is_file():
        return Problem("missing", sha256, f"{BlobStore.relative_path(sha256)} is missing")
    got256, got512, got_size = hash_file(path)
    if got256 != sha256 or got512 != sha512:
        return Problem("changed", sha256, f"{BlobStore.relative_path(sha256)} changed: now sha256 {got256}, "
                                          f"{got_size} bytes (recorded {size} bytes)")
    return None


def _sample(rows: list, percent: float | None, rng: random.Random) -> list:
    if percent is None or percent >= 100:
        return list(rows)
    count = max(1, round(len(rows) * percent / 100)) if rows else 0
    return rng.sample(list(rows), count)
