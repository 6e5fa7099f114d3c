"""Snapshots (and run WARCs) in S3-compatible object storage: ``--store s3://bucket/prefix``.

The same content-addressed names as the folder store, under the prefix
(``prefix/blobs/sha256/ab/cd/<sha256>``; WARCs under ``prefix/warc/``). Where the endpoint is and
who we are come only from the standard AWS configuration — ``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ``~/.aws/config``, instance
roles — never from the command line, so no secret lands in a shell history or a report.

Integrity and concurrency without locks:

- every upload carries ``ChecksumSHA256`` (the digest computed while the body streamed in): the
  service refuses bytes that do not match it (``BadDigest``), so a corrupted upload never becomes
  an object;
- every upload is conditional, ``If-None-Match: *``: two runners storing the same version leave one
  object (the second gets ``412 Precondition Failed``, which means "already there");
- a single PUT is atomic: nothing is visible under a key until the whole body is stored (bodies
  are at most ``--max-size``, far below the 5 GiB limit of one PUT, so no multipart upload whose
  parts could be seen half-done);
- reading back (``verify``, exports) downloads the object and re-hashes it (sha256 and sha512)
  against the index, like the folder store.

The client is boto3 (AWS's own SDK, maintained with the service): the only Python client measured
here that sends both a full-object ``ChecksumSHA256`` and ``If-None-Match`` on a PUT (minio-py has
neither, and refuses a checksum header on multipart uploads). Optional extra: ``linkwatch[s3]``.
"""
from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .blobs import BlobStore, _SHA256

SCHEME = "s3"


class MissingClient(Exception):
    """``--store s3://…`` without boto3 installed."""


class StoreError(OSError):
    """The object store refused or failed an operation (reported as the run failing, exit 3)."""


def is_url(text: str | None) -> bool:
    return bool(text) and urlsplit(str(text)).scheme == SCHEME


def parse(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix/")`` (prefix "" or ending in /)."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME or not parts.netloc or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{url!r} is not s3://BUCKET[/PREFIX] (endpoint and credentials come from the "
                         "AWS environment variables or profile, never the URL)")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3BlobStore:
    """The snapshot store in a bucket. Local copies (of what was just stored, or downloaded for
    reading) live in a cache folder under the archive's tmp/ until :meth:`release` or :meth:`close`."""

    def __init__(self, url: str, cache: Path | None, client: Any = None) -> None:
        """``cache``: the folder local copies are made in (None: the system's temporary folder)."""
        self.url = url
        self.bucket, self.prefix = parse(url)
        self.client = client or _client()
        self.cache = Path(tempfile.mkdtemp(prefix="linkwatch-s3-", dir=cache))
        self.repaired: set[str] = set()  # as BlobStore's: never filled here (objects are not replaced)
        self.root = self.cache  # where local copies are (BlobStore's attribute of the same name)

    # -- names ---------------------------------------------------------------------------------
    def key(self, sha256: str) -> str:
        return self.prefix + BlobStore.relative_path(sha256).as_posix()

    @staticmethod
    def relative_path(sha256: str) -> Path:
        return BlobStore.relative_path(sha256)

    def path_for(self, sha256: str) -> Path:
        """A local file holding the snapshot's bytes (downloaded if not cached); like the folder
        store's, a path where no file is when the store has no such object."""
        local = self.cache / BlobStore.relative_path(sha256).name
        if not local.is_file():
            self._download(sha256, local)
        return local

    # -- the store -----------------------------------------------------------------------------
    def has(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
            return True
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise StoreError(f"{self.url}: {_reason(exc)}") from None

    def put(self, temp_file: Path, sha256: str) -> Path:
        """Upload an already-hashed file under its content address; keeps it as the local copy."""
        self.upload(Path(temp_file), self.key(sha256), sha256)
        local = self.cache / BlobStore.relative_path(sha256).name
        shutil.move(str(temp_file), local)
        return local

    def upload(self, path: Path, key: str, sha256: str) -> bool:
        """PUT ``path`` at ``key`` with its checksum, only if the key is free. False: it was there."""
        from botocore.exceptions import ClientError

        checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        try:
            with open(path, "rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ChecksumSHA256=checksum,
                                       IfNoneMatch="*")
            return True
        except ClientError as exc:
            if _status(exc) in (409, 412):  # 412: stored already; 409: the same key being written at once
                return False
            raise StoreError(f"{self.url}: storing {key}: {_reason(exc)}") from None

    def warcs(self, local: Path) -> Path:
        """A local folder with the store's WARC files (``prefix/warc/``), downloaded to read them
        (fixity over WARCs): ``local``, the runner's own folder, is not where they are kept."""
        folder = self.cache / "warc"
        folder.mkdir(exist_ok=True)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + "warc/")
        for obj in (o for page in pages for o in page.get("Contents", ())):
            name = obj["Key"].rsplit("/", 1)[-1]
            if name and not name.startswith("."):
                self.client.download_file(self.bucket, obj["Key"], str(folder / name))
        return folder

    def release(self, sha256: str) -> None:
        """Drop the local copy (the object stays)."""
        (self.cache / BlobStore.relative_path(sha256).name).unlink(missing_ok=True)

    def iter_hashes(self) -> list[str]:
        """Every snapshot name in the store (fixity audits)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "blobs/sha256/")
        names = (obj["Key"].rsplit("/", 1)[-1] for page in pages for obj in page.get("Contents", ()))
        return sorted(n for n in names if _SHA256.match(n))

    def close(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)

    def _download(self, sha256: str, local: Path) -> None:
        from botocore.exceptions import ClientError

        part = local.with_name(local.name + ".part")
        try:
            # What was received is handed on as it is: the readers that promise integrity re-hash it
            # (verify reports a changed object as "changed", an export refuses it).
            reply = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
            with open(part, "wb") as out:
                shutil.copyfileobj(reply["Body"], out, 1 << 20)
        except ClientError as exc:
            part.unlink(missing_ok=True)
            if _status(exc) == 404:
                return
            raise StoreError(f"{self.url}: reading {self.key(sha256)}: {_reason(exc)}") from None
        part.replace(local)


def _client() -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MissingClient("--store s3://… needs boto3: pip install 'linkwatch[s3]'") from None
    # Retries with backoff for throttling and 5xx (the SDK's standard mode); checksums only where
    # asked for (the PUT above sends SHA-256, not the SDK's default CRC).
    return boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 5},
                                            request_checksum_calculation="when_required",
                                            response_checksum_validation="when_required"))


def _status(exc: Any) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _reason(exc: Any) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')} ({_status(exc)}): {error.get('Message', '')}".strip()
