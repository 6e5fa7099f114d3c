"""Fixity audits: re-hash every stored snapshot against the index (sha256 and sha512).

A librarian needs to know that what is in ``archive/blobs`` is still, bit for bit, what was
ingested. Three kinds of problem: *missing* (the index knows a snapshot, the disk does not),
*changed* (its bytes no longer hash to what was recorded) and *unknown* (a file in the blob store
the index never recorded). Every check is recorded as a ``fixity-check`` event.
"""
from __future__ import annotations

import os
import random
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .. import __version__
from .blobs import BlobStore, StreamHasher, hash_file
from .index import Event, Index
from ..timestamps import now

AGENT = f"linkwatch {__version__}"


class Tampered(Exception):
    """A kept file is not what the index recorded: changed, cut short, or not a regular file."""


def open_kept(path: Path) -> IO[bytes]:
    """Open a kept file (a blob) for reading, refusing a symbolic link or anything but a regular
    file: what it points at is not what was ingested, and can change under the index's digests."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if os.path.islink(path):
            raise Tampered(f"{path} is a symbolic link, not the file that was ingested; run 'linkwatch verify'") from None
        raise exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Tampered(f"{path} is not a regular file; run 'linkwatch verify'")
    return os.fdopen(fd, "rb", buffering=0)


def copy_verified(src: Path, dest: Path, sha256: str, sha512: str | None = None) -> int:
    """Copy a kept file to ``dest``, hashing what is copied; :class:`Tampered` (and ``dest``
    removed) unless the copy has the recorded digests. Returns the size."""
    hasher = StreamHasher()
    try:
        with open_kept(src) as fh, open(dest, "wb") as out:
            while chunk := fh.read(1 << 20):
                hasher.update(chunk)
                out.write(chunk)
        got256, got512 = hasher.hexdigests()
    finally:
        hasher.close()
    if got256 != sha256 or (sha512 is not None and got512 != sha512):
        Path(dest).unlink(missing_ok=True)
        raise Tampered(f"{src} no longer matches its recorded sha256/sha512 (now sha256 {got256}, "
                       f"{hasher.size} bytes); run 'linkwatch verify'")
    return hasher.size


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
