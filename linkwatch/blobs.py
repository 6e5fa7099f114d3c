"""Content-addressed snapshot store: ``blobs/sha256/ab/cd/<sha256>``.

Bytes arrive as a temporary file already hashed while it streamed in (:mod:`linkwatch.fetch`).
Storing is fsync + atomic rename, so a crash never leaves a partial blob under its final name;
names from servers never become paths (only the hash does).
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root.parent / "tmp"

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
        """Move an already-hashed temp file into place; keeps the existing blob if present (dedup).

        The temp file must be on the same filesystem (use :attr:`tmp`), so that the rename is atomic.
        """
        final = self.path_for(sha256)
        if final.is_file():
            Path(temp_file).unlink(missing_ok=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        _fsync_file(Path(temp_file))
        os.replace(temp_file, final)
        _fsync_dir(final.parent)
        return final

    def iter_hashes(self) -> list[str]:
        """Every blob name present on disk (for fixity audits)."""
        base = self.root / "sha256"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.glob("*/*/*") if p.is_file() and _SHA256.match(p.name))


def hash_file(path: Path) -> tuple[str, str, int]:
    """sha256, sha512 and size of a file, read in chunks (bounded memory)."""
    h256, h512, size = hashlib.sha256(), hashlib.sha512(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h256.update(chunk)
            h512.update(chunk)
            size += len(chunk)
    return h256.hexdigest(), h512.hexdigest(), size


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
