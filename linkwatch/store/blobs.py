"""Content-addressed snapshot store: ``blobs/sha256/ab/cd/<sha256>``.

Bytes arrive as a temporary file already hashed while it streamed in (:mod:`linkwatch.http.fetcher`).
Storing is fsync + atomic rename, so a crash never leaves a partial blob under its final name;
names from servers never become paths (only the hash does).
"""
from __future__ import annotations

import functools
import hashlib
import os
import queue
import re
import sys
import threading
from pathlib import Path
from typing import Any

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Past this many bytes, StreamHasher computes sha512 in a second thread (see there).
PARALLEL_HASH_FROM = 16 * 1024**2


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root.parent / "tmp"
        self.repaired: set[str] = set()  # damaged blobs replaced by a good download (see put)
        self._lock = threading.Lock()  # put runs in the run's worker threads

    def path_for(self, sha256: str) -> Path:
        return self.root / self.relative_path(sha256).relative_to("blobs")

    @staticmethod
    def relative_path(sha256: str) -> Path:
        """Where a blob lives relative to the archive folder (the only name a blob ever has)."""
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return Path("blobs") / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put(self, temp_file: Path, sha256: str) -> Path:
        """Move an already-hashed temp file into place; keeps the existing blob if it is intact (dedup).

        An existing blob that no longer hashes to its name (a bit flip, a truncation, a symbolic
        link put in its place) is replaced by the fresh download, which does: ingest heals the
        store, and the sha256 is noted in :attr:`repaired` for the recorder's ``repair`` event.
        The temp file must be on the same filesystem (use :attr:`tmp`), so that the rename is atomic.
        """
        final = self.path_for(sha256)
        if final.is_file() or final.is_symlink():
            if _intact(final, sha256):
                Path(temp_file).unlink(missing_ok=True)
                return final
            with self._lock:
                self.repaired.add(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        # Downloads are made private (mkstemp: 0600) while they are partial; a kept snapshot is
        # readable as the umask allows, like the index and the WARC files beside it (the HTML page's
        # "archived copy" links are opened by other accounts: a web server, a librarian).
        os.chmod(temp_file, 0o666 & ~_umask())
        _fsync_file(Path(temp_file))
        os.replace(temp_file, final)
        _fsync_dir(final.parent)
        return final

    def warcs(self, local: Path) -> Path:
        """The folder holding the archive's WARC files, to read them: here, the archive's own."""
        return local

    def release(self, sha256: str) -> None:
        """Done with the local copy of a snapshot (the folder store's copies are the snapshots)."""

    def close(self) -> None:
        """Nothing to let go of (see :class:`~linkwatch.store.s3.S3BlobStore`)."""

    def iter_hashes(self) -> list[str]:
        """Every blob name present on disk (for fixity audits)."""
        base = self.root / "sha256"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.glob("*/*/*") if p.is_file() and _SHA256.match(p.name))


class StreamHasher:
    """sha256 and sha512 (the fixity pair) of bytes fed in order, with :meth:`update`.

    sha512 runs at about half sha256's speed (660 against 1,360 MiB/s on one core here), so one
    thread hashing both tops out near 440 MiB/s. Once a stream passes ``parallel_from`` bytes, sha512
    moves to a helper thread fed through a short queue (hashlib releases the GIL), and a large
    download or fixity check hashes on two cores. Small streams never start the thread.
    Chunks must be ``bytes`` (they are queued, not copied); call :meth:`close` on every path.
    """

    def __init__(self, parallel_from: int | None = None) -> None:
        self.sha256, self.sha512 = hashlib.sha256(), hashlib.sha512()
        self.size = 0
        self._parallel_from = PARALLEL_HASH_FROM if parallel_from is None else parallel_from
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.sha256.update(chunk)
        if self._queue is None and self.size >= self._parallel_from:
            self._queue = queue.Queue(maxsize=8)  # bounded: a few MiB in flight at most
            self._thread = threading.Thread(target=self._hash512, args=(self._queue,),
                                            name="linkwatch-sha512", daemon=True)
            self._thread.start()
        if self._queue is not None:
            self._queue.put(chunk)
        else:
            self.sha512.update(chunk)

    def _hash512(self, chunks: queue.Queue[bytes | None]) -> None:
        for chunk in iter(chunks.get, None):
            self.sha512.update(chunk)

    def close(self) -> None:
        """Wait for the helper thread, if any (idempotent)."""
        if self._thread is not None and self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def hexdigests(self) -> tuple[str, str]:
        """(sha256, sha512) of everything fed so far; no more :meth:`update` after this."""
        self.close()
        return self.sha256.hexdigest(), self.sha512.hexdigest()


def _intact(path: Path, sha256: str) -> bool:
    """Whether ``path`` is a regular file (not a symbolic link) whose bytes hash to ``sha256``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb", buffering=0) as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest() == sha256


def hash_file(path: Path) -> tuple[str, str, int]:
    """sha256, sha512 and size of a file, read in chunks (bounded memory)."""
    hasher = StreamHasher()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                hasher.update(chunk)
        sha256, sha512 = hasher.hexdigests()
    finally:
        hasher.close()
    return sha256, sha512, hasher.size


@functools.cache
def _sync_file_range() -> Any:
    """glibc's ``sync_file_range`` (Linux), or None where there is none. Looked up on first use,
    in the process's own symbols: every command imports this module, few write large files."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        func = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError, ImportError):
        return None
    func.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    func.restype = ctypes.c_int
    return func


_SYNC_FILE_RANGE_WRITE = 2  # start writeback of the range's dirty pages; do not wait


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing ``length`` bytes at ``offset`` of ``fd`` to disk, now.

    Not a durability step (the fsync before the rename still is): it only moves the disk writes
    of a large download to while it streams, so that fsync finds little left to do. The pages
    stay cached (the inspection reads them next). A no-op where the call does not exist.
    """
    func = _sync_file_range() if length > 0 else None
    if func is not None:
        func(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # errors ignored: advisory


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Directory fsync makes the rename itself durable; not every platform allows it.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process's umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
