"""Snapshots and WARCs in S3-compatible storage, against a real SeaweedFS (weed mini) on loopback:
checksummed conditional uploads, nothing under a key until complete, and verify and every export
working from the store, with the index in PostgreSQL."""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import boto3
import bagit
import pytest
from botocore.exceptions import ClientError
from httpserver import Content, LocalServer

import linkwatch
from linkwatch.store.s3 import S3BlobStore, StoreError, parse

ROOT = Path(__file__).resolve().parent.parent
PDFS = ROOT / "tests" / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)


def _objects(store: str) -> dict[str, bytes]:
    bucket, prefix = parse(store)
    client = boto3.client("s3")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"][len(prefix):]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for page in pages for o in page.get("Contents", ())}


def _temp(tmp_path: Path, data: bytes, name: str = "body") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_uploads_are_content_addressed_checksummed_and_stored_once(s3_store: str, tmp_path: Path) -> None:
    data = b"%PDF-1.7 the same version, fetched by two runners"
    sha = hashlib.sha256(data).hexdigest()
    first, second = S3BlobStore(s3_store, tmp_path), S3BlobStore(s3_store, tmp_path)
    try:
        assert not first.has(sha)
        first.put(_temp(tmp_path, data, "a"), sha)
        second.put(_temp(tmp_path, data, "b"), sha)  # If-None-Match: * — 412, "already there": no error
        assert second.has(sha) and list(_objects(s3_store)) == [f"blobs/sha256/{sha[:2]}/{sha[2:4]}/{sha}"]
        head = first.client.head_object(Bucket=first.bucket, Key=first.key(sha), ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(sha)).decode()
        second.release(sha)
        assert second.path_for(sha).read_bytes() == data  # downloaded again
        assert first.iter_hashes() == [sha]
    finally:
        first.close()
        second.close()
    assert not first.cache.exists() and not second.cache.exists()


def test_bytes_that_do_not_match_their_checksum_never_become_an_object(s3_store: str, tmp_path: Path) -> None:
    store = S3BlobStore(s3_store, tmp_path)
    claimed = hashlib.sha256(b"what the fetch hashed").hexdigest()
    try:
        with pytest.raises(StoreError, match="BadDigest|XAmzContentChecksumMismatch|InvalidDigest"):
            store.put(_temp(tmp_path, b"what reached the disk, one bit off"), claimed)
        assert not store.has(claimed) and _objects(s3_store) == {}
    finally:
        store.close()


def test_an_interrupted_upload_leaves_nothing_under_its_key(s3_store: str, tmp_path: Path) -> None:
    store = S3BlobStore(s3_store, tmp_path)
    data = bytes(range(256)) * 8192  # 2 MiB
    sha = hashlib.sha256(data).hexdigest()

    class Dies:
        """A body that fails half-way (the runner is killed, the disk fails)."""

        def __init__(self) -> None:
            self.sent = 0

        def read(self, size: int = -1) -> bytes:
            if self.sent >= len(data) // 2:
                raise OSError("killed half-way")
            chunk = data[self.sent:self.sent + (size if size > 0 else 65536)]
            self.sent += len(chunk)
            return chunk

    checksum = base64.b64encode(bytes.fromhex(sha)).decode()
    with pytest.raises(Exception):
        store.client.put_object(Bucket=store.bucket, Key=store.key(sha), Body=Dies(), ContentLength=len(data),
                                ChecksumSHA256=checksum, IfNoneMatch="*")
    assert not store.has(sha)
    store.put(_temp(tmp_path, data), sha)  # and the next attempt stores it whole
    assert store.path_for(sha).read_bytes() == data
    store.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_archive_verify_and_exports_work_from_the_store(backend: str, s3_store: str, server: LocalServer,
                                                       tmp_path: Path) -> None:
    res = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    td = server.route("/td.pdf", Content.file(PDFS / "TD_B_43_6.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{res}"\n\n'
                        f'[[document]]\nid = "td"\nsymbol = "TD/B/43/6"\nurl = "{td}"\n', encoding="utf-8")
    runner = tmp_path / "runner"  # the runner's local folder: downloads only
    report = linkwatch.archive(manifest, archive=runner, store=s3_store, **FAST)
    assert [d.status for d in report.documents] == ["ok", "ok"]
    stored = _objects(s3_store)
    blobs = {k.rsplit("/", 1)[1]: v for k, v in stored.items() if k.startswith("blobs/")}
    assert {hashlib.sha256(v).hexdigest() for v in blobs.values()} == set(blobs) and len(blobs) == 2
    assert [k for k in stored if k.startswith("warc/")] and not (runner / "blobs").exists()

    # Another machine: an empty folder, the same index and store.
    elsewhere = tmp_path / "elsewhere"
    assert linkwatch.verify(archive=elsewhere, store=s3_store).ok
    assert linkwatch.verify(archive=elsewhere, store=s3_store, sample_percent=50).checked == 1
    dest = tmp_path / "bag"
    linkwatch.export_bagit(dest, archive=elsewhere, store=s3_store)
    assert bagit.Bag(str(dest)).is_valid()
    assert linkwatch.export_warc(tmp_path / "x.warc.gz", archive=elsewhere, store=s3_store) == 2
    done = subprocess.run([sys.executable, "-m", "linkwatch", "verify", "--archive", str(elsewhere), "--store",
                           s3_store, "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    # The store is audited like the folder: a changed object is "changed", a removed one "missing".
    bucket, prefix = parse(s3_store)
    client = boto3.client("s3")
    changed, missing = sorted(blobs)
    key = f"{prefix}blobs/sha256/{changed[:2]}/{changed[2:4]}/{changed}"
    client.put_object(Bucket=bucket, Key=key, Body=blobs[changed][:-1] + b"X")
    client.delete_object(Bucket=bucket, Key=f"{prefix}blobs/sha256/{missing[:2]}/{missing[2:4]}/{missing}")
    audit = linkwatch.verify(archive=elsewhere, store=s3_store)
    assert sorted((p.kind, p.sha256) for p in audit.problems) == sorted([("changed", changed), ("missing", missing)])


def test_store_urls_carry_no_credentials_and_need_a_bucket() -> None:
    assert parse("s3://bucket/some/prefix/") == ("bucket", "some/prefix/")
    assert parse("s3://bucket") == ("bucket", "")
    for bad in ("s3://key:secret@bucket/p", "s3:///p", "https://bucket/p", "s3://bucket/p?x=1"):
        with pytest.raises(ValueError):
            parse(bad)
