"""Fixity audits: everything kept is still, bit for bit, what was ingested.

Snapshots (``archive/blobs``) are re-hashed against the index (sha256 and sha512); WARC files
(``archive/warc``) are re-read record by record, each to its end, with their digests checked, and
every record the index points at must be there. Problems: *missing* (the index knows a snapshot
or WARC, the disk does not), *changed* (bytes no longer hash to what was recorded, a symbolic
link in place of a kept file, a WARC record whose digest fails), *incomplete* (a WARC cut short or
lacking records the index points at) and *unknown* (a file in the blob store the index never
recorded). A blob or WARC of a run still under way is *pending*, not a problem. Every check is
recorded as a ``fixity-check`` event (when the archive is writable).

Exports re-hash what they copy too (:func:`copy_verified`, :func:`open_kept`).
"""
from __future__ import annotations

import io
import os
import random
import sqlite3
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
    kind: str  # "missing" | "changed" | "unknown" | "incomplete"
    sha256: str  # the snapshot concerned; "" for a WARC file's problem
    detail: str
    warc: str | None = None  # the WARC file concerned (under archive/warc/), if any


@dataclass
class FixityReport:
    checked: int  # snapshots re-hashed
    total: int  # snapshots in the index
    problems: list[Problem] = field(default_factory=list)
    sample_percent: float | None = None
    warc_files: int = 0  # WARC files re-read
    warc_records: int = 0  # records in them, each read to its end and its digests checked
    pending: int = 0  # blobs and WARCs of a run still under way: not yet in the index, not judged

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(index: Index, blobs: BlobStore, sample_percent: float | None = None,
           rng: random.Random | None = None, warc_dir: Path | None = None,
           tmp: Path | None = None) -> FixityReport:
    """Re-hash all snapshots (or a random ``sample_percent`` of them), look for unknown files, and
    re-read the WARC files under ``warc_dir`` (the same share of them).

    ``tmp`` (the archive's ``tmp/``) tells which runs are under way: a blob such a run stored but
    has not recorded yet, and its WARC still being written (``….open``), are *pending*, not
    problems — so ``verify`` run while ``archive`` runs reports nothing false.
    """
    rng = rng or random.Random()
    live = live_runs(tmp) if tmp is not None else {}
    listed = blobs.iter_hashes()  # before reading the index: a blob stored after this is not seen
    rows = index.snapshots()
    chosen = _sample(rows, sample_percent, rng)
    report = FixityReport(checked=len(chosen), total=len(rows), sample_percent=sample_percent)
    events = []
    for row in chosen:
        problem = _check(blobs, row["sha256"], row["sha512"], row["size"])
        blobs.release(row["sha256"])  # an object store's downloaded copy: one at a time on disk
        if problem:
            report.problems.append(problem)
        events.append(Event(at=now(), kind="fixity-check", outcome="failure" if problem else "success",
                            sha256=row["sha256"], agent=AGENT,
                            detail=problem.detail if problem else "sha256 and sha512 match"))
    known = {row["sha256"] for row in rows}
    strays = [name for name in listed if name not in known]
    if strays:  # recorded since the index was read (a run commits after storing), or really unknown
        recorded = {name for name in strays if index.snapshot(name) is not None}
        since = min(live.values(), default=None)
        for name in strays:
            if name in recorded:
                continue
            if since is not None and _mtime(blobs.path_for(name)) >= since:
                report.pending += 1
                continue
            report.problems.append(Problem("unknown", name, f"{BlobStore.relative_path(name)} is not in the index"))
    if warc_dir is not None:
        events += _verify_warcs(index, warc_dir, report, sample_percent, rng, live)
    _record(index, events)
    return report


def live_runs(tmp: Path) -> dict[int, float]:
    """{run id: when its folder was made} for every run under way on this archive.

    A run holds an exclusive lock on ``tmp/run-<id>-…/.lock`` as long as it lives (see
    :func:`linkwatch.run._run_tmp`); a lock that can be taken belongs to a dead run."""
    import fcntl

    found: dict[int, float] = {}
    for folder in tmp.glob("run-*"):
        try:
            fd = os.open(folder / ".lock", os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:  # held: the run lives
            run_id = folder.name.split("-")[1]
            if run_id.isdigit():
                found[int(run_id)] = _mtime(folder / ".lock") - 1.0  # the lock is made as the run starts
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    return found


def _verify_warcs(index: Index, folder: Path, report: FixityReport, sample_percent: float | None,
                  rng: random.Random, live: dict[int, float]) -> list[Event]:
    """Re-read WARC files: every record to its end, its digests checked, every record the index
    points at present and holding the version the index recorded (its sha256), no response the
    index does not know (pywb would replay a record appended after the fact), no WARC file that no
    run wrote. A WARC the index names and the disk lacks is *missing*."""
    from .warc import run_warc_name

    expected = index.warc_records()
    written = {run_warc_name(started, run_id) for run_id, started in index.run_starts().items()}
    on_disk = {p.name for p in folder.glob("*.warc.gz")} if folder.is_dir() else set()
    names = sorted(on_disk | set(expected))
    events = []
    for name in _sample(names, sample_percent, rng):
        path = folder / name
        run_id = _run_of(name)
        opened = folder / f"{name}.open"
        killed = False
        if not path.is_file():
            if opened.is_file() and run_id in live:
                report.pending += 1  # being written by a run under way
                continue
            if opened.is_file():  # a killed run's WARC: complete up to its last record, never renamed
                path, killed = opened, True
            elif not path.is_file():  # (not renamed into place meanwhile: then it is read)
                problem = Problem("missing", "", f"warc/{name} is missing", name)
                report.problems.append(problem)
                events.append(_warc_event(problem.detail, failure=True))
                continue
        if name not in expected and name not in written and run_id not in live:
            problem = Problem("unknown", "", f"warc/{name} was written by no run of this archive", name)
            report.problems.append(problem)
            events.append(_warc_event(problem.detail, failure=True))
            continue
        read = read_warc(path)
        problems = read.problems
        if killed:  # its last record may be cut: only what the index points at must be there
            problems = [p for p in problems if not p.startswith(_TAIL_PROBLEMS)]
        report.warc_files += 1
        report.warc_records += len(read.ids)
        pointed = expected.get(name, {})
        lost = set(pointed) - set(read.ids)
        if lost:
            problems.append(f"{len(lost)} record(s) the index points at are not in it "
                            f"(e.g. {sorted(lost)[0]}): the file is incomplete")
        problems += _versions_differ(pointed, read)
        for text in problems:
            kind = "incomplete" if "incomplete" in text or "cut short" in text else "changed"
            report.problems.append(Problem(kind, "", f"warc/{name}: {text}", name))
        events.append(_warc_event(f"warc/{name}: " + ("; ".join(problems) if problems else
                                  f"{len(read.ids)} records read to their end, digests match"), failure=bool(problems)))
    return events


def _versions_differ(pointed: dict[str, str | None], read: WarcRead) -> list[str]:
    """Problems where the WARC's records disagree with the index: a record the index points at
    that holds another payload than the version recorded, or a response with a payload that no
    observation points at. A record's own digest matching proves nothing about *which* bytes."""
    problems = []
    for record_id, sha256 in pointed.items():
        seen = read.records.get(record_id)
        if seen is None or sha256 is None:
            continue
        if (seen.payload_digest or "").lower() != f"sha256:{sha256}":
            problems.append(f"record {record_id} does not hold the version the index recorded "
                            f"(payload digest {seen.payload_digest or 'none'}, recorded sha256:{sha256})")
        elif seen.type == "response" and not seen.verified:
            problems.append(f"record {record_id}'s payload could not be checked against its digest")
    for record_id, seen in read.records.items():
        if seen.type == "response" and seen.payload_size and record_id not in pointed:
            problems.append(f"record {record_id} (a response for {seen.uri}) is not one the index "
                            "recorded: added after the run")
    return problems


@dataclass
class SeenRecord:
    """What ``verify`` needs of one WARC record once read."""

    type: str
    uri: str
    payload_digest: str | None
    payload_size: int
    verified: bool  # its payload digest was present and matched what was read


@dataclass
class WarcRead:
    ids: list[str]  # record ids in file order
    problems: list[str]
    records: dict[str, SeenRecord]  # response and revisit records by id


def read_warc(path: Path) -> WarcRead:
    """Every record of one WARC file read to its end: ids, problems, and the response and revisit
    records seen.

    Problems: a record shorter than its Content-Length (the file was cut), a block or payload
    digest that does not match, or data that cannot be decompressed (warcio reports those on
    stderr and reads on: captured here)."""
    import contextlib

    from warcio.archiveiterator import ArchiveIterator

    read = WarcRead([], [], {})
    noise = io.StringIO()
    try:
        with open_kept(path) as fh, contextlib.redirect_stderr(noise):
            for record in ArchiveIterator(fh, check_digests=True):
                record_id = record.rec_headers.get_header("WARC-Record-ID") or "?"
                stream = record.content_stream()
                size = 0
                while chunk := stream.read(1 << 20):
                    size += len(chunk)
                left = getattr(record.raw_stream, "limit", 0)
                if left:
                    read.problems.append(f"record {record_id} is cut short: {left} of its {record.length} bytes "
                                         "are missing (the file is incomplete)")
                    break
                checker = record.digest_checker
                if checker.passed is False or checker.problems:
                    read.problems.append(f"record {record_id}: {'; '.join(checker.problems) or 'digest does not match'}")
                if record.rec_type in ("response", "revisit"):
                    digest = record.rec_headers.get_header("WARC-Payload-Digest")
                    read.records[record_id] = SeenRecord(
                        record.rec_type, record.rec_headers.get_header("WARC-Target-URI") or "", digest, size,
                        verified=bool(digest) and checker.passed is not False and not checker.problems)
                read.ids.append(record_id)
    except Tampered as exc:
        read.problems.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - any parse failure of a damaged file is a finding, not a crash
        read.problems.append(f"unreadable after {len(read.ids)} records: {exc}")
    if noise.getvalue().strip():
        read.problems.append(f"damaged compressed data: {noise.getvalue().strip().splitlines()[0]}")
    return read


_TAIL_PROBLEMS = ("record ", "unreadable after", "damaged compressed data")


def _warc_event(detail: str, failure: bool) -> Event:
    return Event(at=now(), kind="fixity-check", outcome="failure" if failure else "success", agent=AGENT,
                 detail=detail)


def _record(index: Index, events: list[Event]) -> None:
    """Record the checks as events, unless the archive is read-only (a preserved copy): the audit
    stands without them."""
    try:
        index.add_events(events)
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc).replace(" ", "").lower():
            raise


def _run_of(warc_name: str) -> int | None:
    """The run id in a run's WARC name (``linkwatch-<time>-run<N>.warc.gz``)."""
    tail = warc_name.rsplit("-run", 1)[-1].split(".", 1)[0]
    return int(tail) if tail.isdigit() else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _check(blobs: BlobStore, sha256: str, sha512: str, size: int) -> Problem | None:
    path = blobs.path_for(sha256)
    if not path.is_file() and not path.is_symlink():
        return Problem("missing", sha256, f"{BlobStore.relative_path(sha256)} is missing")
    if path.is_symlink():
        return Problem("changed", sha256, f"{BlobStore.relative_path(sha256)} is a symbolic link, not the "
                                          "file that was ingested")
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
