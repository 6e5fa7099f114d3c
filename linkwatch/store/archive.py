"""Where an archive lives: the storage interface's two implementations, chosen by options.

- **Embedded** (the default, no server): ``--archive DIR`` holds the SQLite index
  (``index.sqlite``), the content-addressed snapshots (``blobs/``), the WARC files and ``tmp/``.
- **Shared**: ``--index postgresql://…`` (or ``LINKWATCH_INDEX``) puts the index in PostgreSQL
  (:mod:`linkwatch.store.postgres`), and ``--store s3://bucket/prefix`` (or ``LINKWATCH_STORE``)
  the snapshots and WARCs in S3-compatible object storage (:mod:`linkwatch.store.s3`), for many
  runners at once; ``--archive DIR`` is then the runner's local folder for downloads (and blobs
  and WARCs when there is no ``--store``).

An :class:`Archive` is what a command opens: ``.index`` (an :class:`~linkwatch.store.index.Index`),
``.blobs`` (a :class:`~linkwatch.store.blobs.BlobStore`), ``.root`` and ``.tmp`` (local, on the
blobs' filesystem, so a finished download is renamed into place).
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .blobs import BlobStore
from .index import Index, SchemaTooNew
from .postgres import MissingDriver, PostgresIndex, is_url, redacted
from .s3 import MissingClient, S3BlobStore
from .s3 import is_url as is_store_url

INDEX_NAME = "index.sqlite"


class Unusable(Exception):
    """The archive cannot be opened or written (the run fails with exit 3)."""


def index_errors() -> tuple[type[BaseException], ...]:
    """The exceptions an index raises when its database fails (sqlite3's, psycopg's if installed)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


class Archive:
    """An archive opened for a command: index + blobs + a local tmp/ for downloads."""

    def __init__(self, root: Path, index: str | None = None, store: str | None = None) -> None:
        self.root = Path(root)
        self.index_url, self.store_url = index, store
        if store and not is_store_url(store):
            raise Unusable(f"--store {store!r}: give an s3://BUCKET/PREFIX URL (the folder store is --archive DIR)")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp = self.root / "tmp"
            self.tmp.mkdir(exist_ok=True)
            _probe_writable(self.tmp)
            self.blobs: BlobStore | S3BlobStore = (S3BlobStore(store, self.tmp) if store
                                                   else BlobStore(self.root / "blobs"))
            self.index = open_index(self.root, index)
        except (SchemaTooNew, MissingDriver, MissingClient, ValueError) as exc:
            raise Unusable(str(exc)) from None
        except OSError as exc:
            raise Unusable(f"archive {self.root} is not usable: {exc}. "
                           "Check the path and its permissions, or pass --archive DIR.") from None
        except index_errors() as exc:
            where = f"index {redacted(index)}" if index else f"archive {self.root}"
            raise Unusable(f"{where} is not usable: {_one_line(exc)}. Check the path and its permissions "
                           "(or the database URL), or pass --archive DIR.") from None

    def close(self) -> None:
        self.blobs.close()
        self.index.close()

    def keep_warc(self, path: Path) -> None:
        """A finished WARC file: with an object store, uploaded there (``prefix/warc/NAME``)."""
        if isinstance(self.blobs, S3BlobStore):
            from .blobs import hash_file

            sha256 = hash_file(path)[0]
            self.blobs.upload(path, f"{self.blobs.prefix}warc/{path.name}", sha256)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_index(root: Path, index: str | None = None) -> Index:
    """The index of the archive at ``root``: PostgreSQL when ``index`` is a postgresql:// URL,
    else ``root/index.sqlite``."""
    if index and not is_url(index):
        raise Unusable(f"--index {index!r}: give a postgresql://… URL (the SQLite index lives in --archive DIR)")
    return PostgresIndex(index, root) if index else Index(Path(root) / INDEX_NAME)


def open_to_read(root: Path, index: str | None = None, store: str | None = None
                 ) -> tuple[Index, BlobStore | S3BlobStore]:
    """The index and snapshots of an archive, for a read command (status, history, diff, verify,
    export): an SQLite index is never created (:meth:`Index.open_existing`: a mistyped folder is an
    error, a read-only one is opened read-only); an object store's downloads go to a temporary
    folder of the system's, since the archive folder may not be writable."""
    if index and not is_url(index):
        raise Unusable(f"--index {index!r}: give a postgresql://… URL (the SQLite index lives in --archive DIR)")
    if store and not is_store_url(store):
        raise Unusable(f"--store {store!r}: give an s3://BUCKET/PREFIX URL (the folder store is --archive DIR)")
    try:
        opened = PostgresIndex(index, root) if index else Index.open_existing(Path(root) / INDEX_NAME)
    except MissingDriver as exc:
        raise Unusable(str(exc)) from None
    try:
        return opened, S3BlobStore(store, None) if store else BlobStore(Path(root) / "blobs")
    except (MissingClient, ValueError) as exc:
        opened.close()
        raise Unusable(str(exc)) from None


def exists(root: Path, index: str | None = None) -> bool:
    """Whether the archive has been used before (a re-run: the bulk path is likely)."""
    return bool(index) or (Path(root) / INDEX_NAME).exists()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _probe_writable(folder: Path) -> None:
    probe = folder / f".probe-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()
