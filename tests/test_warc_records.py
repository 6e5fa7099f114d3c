"""WARC records written without warcio's payload passes, and the fixity hashing behind them.

A response record with kept bytes is framed by linkwatch itself (one pass over the payload, its
``sha256:<hex>`` payload digest taken from the fetch): these tests read such records back with
warcio (iterator, ``warcio check``, ``warcio index``), plain gzip and zlib, and check the digest
labels a revisit and an export use. Also: :class:`linkwatch.store.blobs.StreamHasher` (sha512 in a
second thread for large streams) and the blob store's fsync-before-rename order.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

import linkwatch
from linkwatch.store import blobs as blobs_mod
from linkwatch.store import warc as warc_mod
from linkwatch.store.blobs import BlobStore, StreamHasher, hash_file, start_writeback
from linkwatch.observation import Observation
from linkwatch.store.warc import Earlier, WarcLog, _Member

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)


def _payload(n: int) -> bytes:
    """Incompressible-ish bytes of length n (a PDF's deflated streams look like this)."""
    out, seed = bytearray(), b"linkwatch"
    while len(out) < n:
        seed = hashlib.sha512(seed).digest()
        out += seed
    return bytes(out[:n])


def _obs(body: bytes, sniffed: str = "pdf") -> Observation:
    return Observation(document_id="d", url="http://example.org/a.pdf", observed_at="2026-01-02T03:04:05",
                       final_url="http://example.org/a.pdf", http_status=200, size=len(body),
                       sha256=hashlib.sha256(body).hexdigest(), sha512=hashlib.sha512(body).hexdigest(),
                       response_headers={"Content-Type": "application/pdf", "Content-Length": str(len(body))},
                       reason="OK", remote_addr="127.0.0.1", sniffed=sniffed)


def _records(path: Path) -> list[tuple[str, object, bytes]]:
    with open(path, "rb") as fh:
        return [(r.rec_type, r.rec_headers, r.content_stream().read()) for r in ArchiveIterator(fh)]


def _warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys, warcio.cli; sys.exit(warcio.cli.main())", *args],
                          capture_output=True, text=True, timeout=120)


# -- gzip members -------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 6])
@pytest.mark.parametrize("to_file", [True, False])
def test_members_are_ordinary_gzip_whatever_the_level_and_stream(tmp_path: Path, level: int, to_file: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warc_mod, "COPY_CHUNK", 100_000)  # several reads, not a multiple of 65,535
    data = _payload(300_001)
    src = tmp_path / "src"
    src.write_bytes(data)
    out_path = tmp_path / "out.gz"
    stream = open(out_path, "wb") if to_file else io.BytesIO()
    try:
        for _ in range(2):  # two members back to back, as in a WARC
            member = _Member(stream, level)
            member.write(b"head ")
            with open(src, "rb", buffering=0) as fh:
                member.copy(fh, len(data))
            member.write(b"")
            member.write(b" tail")
            member.close()
        raw = stream.getvalue() if isinstance(stream, io.BytesIO) else None
    finally:
        stream.close()
    raw = raw if raw is not None else out_path.read_bytes()
    expected = b"head " + data + b" tail"
    assert gzip.decompress(raw) == expected * 2  # CRC-32 and length checked by gzip
    first = zlib.decompressobj(wbits=31)
    assert first.decompress(raw) == expected and first.eof  # each record its own member
    if level == 0:  # stored: the bytes themselves, 5 bytes per block of at most 65,535, header, trailer
        blocks = 2 + (100_000 + 65_534) // 65_535 * 3 + (300_001 - 3 * 100_000 + 65_534) // 65_535
        assert len(raw) == 2 * (10 + 8 + 5 + len(expected) + 5 * blocks)  # per member


def test_member_copy_of_a_short_file_fails_instead_of_writing_a_short_record(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"x" * 10)
    member = _Member(io.BytesIO(), 0)
    with open(src, "rb", buffering=0) as fh, pytest.raises(OSError, match="bytes short"):
        member.copy(fh, 11)


# -- response, revisit and export records ---------------------------------------------------------------


def test_response_record_has_the_fetch_sha256_as_payload_digest_and_passes_warcio_check(tmp_path: Path) -> None:
    body = _payload(200_000)
    blob = tmp_path / "blob"
    blob.write_bytes(body)
    obs = _obs(body)
    path = tmp_path / "t.warc.gz"
    with open(path, "wb") as fh:
        log = WarcLog(fh, path.name)
        record_id = log.observation(obs, [], blob, None)
        revisit_id = log.observation(_obs(body), [], blob, Earlier(obs.url, obs.observed_at, record_id))
    recs = _records(path)
    assert [r[0] for r in recs] == ["warcinfo", "request", "response", "metadata", "request", "revisit", "metadata"]
    _, headers, payload = recs[2]
    assert payload == body
    assert headers.get_header("WARC-Record-ID") == record_id
    assert headers.get_header("WARC-Payload-Digest") == "sha256:" + hashlib.sha256(body).hexdigest()
    assert headers.get_header("WARC-Block-Digest") is None  # optional in WARC 1.1; would cost a pass
    assert headers.get_header("Content-Type") == "application/http; msgtype=response"
    assert headers.get_header("WARC-IP-Address") == "127.0.0.1"
    assert headers.get_header("WARC-Date") == "2026-01-02T03:04:05Z"
    assert headers.get_header("WARC-Concurrent-To") == recs[1][1].get_header("WARC-Record-ID")
    # Content-Length counts the HTTP headers and the payload, and the HTTP Content-Length the payload
    with open(path, "rb") as fh:
        response = [r for r in ArchiveIterator(fh) if r.rec_type == "response"][0]
        assert response.http_headers.get_header("Content-Length") == str(len(body))
        assert int(response.rec_headers.get_header("Content-Length")) == \
            len(response.http_headers.to_bytes()) + len(body)
    # the revisit names the same digest, string for string (what replay tools look the original up by)
    _, rv, _ = recs[5]
    assert rv.get_header("WARC-Record-ID") == revisit_id
    assert rv.get_header("WARC-Payload-Digest") == headers.get_header("WARC-Payload-Digest")
    assert rv.get_header("WARC-Refers-To") == record_id
    check = _warcio("check", "-v", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == 6 and "fail" not in check.stdout.lower()
    # a CDX(J) indexer reads the digest as written; the offsets let a replay tool seek to each record
    index = [json.loads(line) for line in _warcio("index", "-f", "warc-type,warc-payload-digest,offset,length",
                                                  str(path)).stdout.splitlines()]
    row = next(r for r in index if r["warc-type"] == "response")
    assert row["warc-payload-digest"] == headers.get_header("WARC-Payload-Digest")
    with open(path, "rb") as fh:
        fh.seek(int(row["offset"]))
        member = fh.read(int(row["length"]))
    assert zlib.decompressobj(wbits=31).decompress(member).endswith(body + b"\r\n\r\n")


def test_html_payload_is_compressed_and_still_read_back(tmp_path: Path) -> None:
    body = b"<html><body>" + b"the same sentence again. " * 4000 + b"</body></html>"
    blob = tmp_path / "blob"
    blob.write_bytes(body)
    path = tmp_path / "t.warc.gz"
    with open(path, "wb") as fh:
        WarcLog(fh, path.name).observation(_obs(body, sniffed="html"), [], blob, None)
    assert path.stat().st_size < len(body) // 10
    assert [r[2] for r in _records(path) if r[0] == "response"] == [body]
    assert _warcio("check", str(path)).returncode == 0


@pytest.mark.usefixtures("backend")  # on the SQLite index and on PostgreSQL
def test_archive_and_export_write_sha256_digests_that_warcio_verifies(server, tmp_path: Path) -> None:
    pdf = PDFS / "A_RES_78_323.en.pdf"
    sha = hashlib.sha256(pdf.read_bytes()).hexdigest()
    server.route("/a.pdf", linkwatch_content(pdf))
    server.route("/b.pdf", linkwatch_content(pdf))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "a"\nsymbol = "A/RES/78/323"\nurl = "{server.url("/a.pdf")}"\n\n'
                        f'[[document]]\nid = "b"\nsymbol = "A/RES/78/323"\nurl = "{server.url("/b.pdf")}"\n')
    archive = tmp_path / "archive"
    linkwatch.archive(manifest, archive=archive, **FAST)
    [run_warc] = sorted((archive / "warc").glob("*.warc.gz"))
    dest = tmp_path / "export.warc.gz"
    assert linkwatch.export_warc(dest, archive=archive) == 2
    for path in (run_warc, dest):
        digests = {r[0]: r[1].get_header("WARC-Payload-Digest") for r in _records(path) if r[0] in ("response", "revisit")}
        assert set(digests.values()) == {f"sha256:{sha}"}, path
        check = _warcio("check", "-v", str(path))
        assert check.returncode == 0 and "fail" not in check.stdout.lower(), check.stdout
    fixity = linkwatch.verify(archive=archive)  # sha256 + sha512 re-hashed (StreamHasher)
    assert fixity.ok and fixity.checked == 1


def linkwatch_content(path: Path):
    from httpserver import Content

    return Content.file(path, "application/pdf")


# -- fixity hashing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("parallel_from", [0, 1 << 20, 1 << 40])
def test_stream_hasher_matches_hashlib_with_or_without_its_thread(parallel_from: int) -> None:
    data = _payload(3 * (1 << 20) + 12345)
    hasher = StreamHasher(parallel_from=parallel_from)
    for i in range(0, len(data), 256 * 1024):
        hasher.update(data[i:i + 256 * 1024])
    assert hasher.hexdigests() == (hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())
    assert hasher.size == len(data)
    hasher.close()  # idempotent
    assert not [t for t in threading.enumerate() if t.name == "linkwatch-sha512"]


def test_stream_hasher_thread_ends_when_a_stream_is_abandoned() -> None:
    hasher = StreamHasher(parallel_from=0)
    for _ in range(50):
        hasher.update(b"x" * 100_000)
    hasher.close()  # what fetch does when a download fails half way
    assert not [t for t in threading.enumerate() if t.name == "linkwatch-sha512"]


def test_hash_file_and_a_large_fetch_give_the_hashlib_digests(server, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from httpserver import Content

    from linkwatch.http.client import FetchConfig

    from linkwatch.http.fetcher import Fetcher

    monkeypatch.setattr(blobs_mod, "PARALLEL_HASH_FROM", 1 << 20)  # the helper thread takes part
    body = _payload(20 * (1 << 20) + 7)  # past the 8 MiB writeback step twice
    server.route("/big.pdf", Content(body, "application/pdf"))
    with Fetcher(FetchConfig(min_interval=0, retries=0)) as fetcher:
        got = fetcher.fetch(server.url("/big.pdf"), tmp_path)
    assert got.error is None and got.size == len(body)
    assert (got.sha256, got.sha512) == (hashlib.sha256(body).hexdigest(), hashlib.sha512(body).hexdigest())
    assert Path(got.body_path).read_bytes() == body
    assert hash_file(Path(got.body_path)) == (got.sha256, got.sha512, len(body))


def test_start_writeback_is_advisory(tmp_path: Path) -> None:
    with open(tmp_path / "f", "wb") as fh:
        fh.write(b"x" * 100_000)
        fh.flush()
        start_writeback(fh.fileno(), 0, 100_000)
        start_writeback(fh.fileno(), 0, 0)
    start_writeback(-1, 0, 10)  # a bad descriptor is ignored, not raised


def test_blob_put_fsyncs_before_the_rename_and_the_directory_after(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = BlobStore(tmp_path / "blobs")
    temp = tmp_path / ".part-1"
    temp.write_bytes(b"bytes")
    sha = hashlib.sha256(b"bytes").hexdigest()
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    final = store.put(temp, sha)
    assert calls == ["fsync", "replace", "fsync"]  # file, rename, directory
    assert final.read_bytes() == b"bytes" and not temp.exists()
