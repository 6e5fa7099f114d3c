"""WARC/1.1 records of what linkwatch fetched, written with warcio.

For each observation: a ``request`` and a ``response`` record for every hop of the redirect chain,
then for the final response either a ``response`` with the bytes, or a ``revisit`` instead of a
second copy (profile *identical-payload-digest*, when the bytes are already archived or a 304
confirmed them: see :meth:`WarcLog._identical`), and a ``metadata`` record holding linkwatch's
inspection and findings as JSON, under a URI of its own (:data:`METADATA_SCHEME`). Bodies linkwatch did not keep (redirects, errors) are written as headers only,
marked ``WARC-Truncated: unspecified`` rather than passed off as empty.

A run's WARC is written as ``<name>.warc.gz.open`` and renamed when the run ends, so a file under
its final name is always complete (the same rule as for blobs).

A response record carrying kept bytes is written here rather than by warcio's writer, which would
read the payload three more times (two sha1 passes and a spool to a temporary file, as it does
for any payload stream) and compress it 16 KiB at a time. Its ``WARC-Payload-Digest`` is the
``sha256:<hex>`` linkwatch computed while the bytes streamed in (the blob's name), so the payload
is read once, to copy it, and it has no ``WARC-Block-Digest`` (optional in WARC 1.1; a block digest
would cost one more full hash of the payload). Every other record still comes from warcio,
with its sha1 block digest.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .. import __version__
from .blobs import BlobStore
from ..compare import Finding
from ..http.client import Hop
from ..http.urls import request_url
from .fixity import Tampered, open_kept
from .index import Event, Index
from ..manifest import Document
from ..observation import Observation

# Headers describing how the bytes travelled, not what they are: our payload is stored decoded and
# de-chunked, so keeping them would make every WARC reader mis-parse the record.
_TRANSPORT_HEADERS = {"transfer-encoding", "content-encoding", "content-length"}
# Each record is one gzip member. Headers, metadata and HTML compress well (level 6); a PDF's
# payload is mostly already-deflated streams, so it is stored (level 0): measured on 101 MiB of the
# fixture PDFs, level 9 (warcio's) 37 MiB/s → 92 MiB, level 1 or 6 the same, level 0 156 MiB/s →
# 101 MiB. Four times the speed for 9% more disk. Readers see an ordinary .warc.gz either way.
GZIP_LEVEL = 6
GZIP_LEVEL_PDF = 0
# Metadata records describe an observation; under the document's own URI a replay tool (pywb,
# ReplayWeb.page) would index them as captures of the document and replay linkwatch's JSON in its
# place. They get a URI of their own (as webrecorder's tools do for page information), and name
# the record they describe in WARC-Refers-To.
METADATA_SCHEME = "urn:linkwatch:"
COPY_CHUNK = 1 << 20  # payload bytes read, checksummed and written per system call
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0, OS unknown
_STORED_MAX = 0xFFFF  # a deflate stored block holds at most 65,535 bytes
_STORED_END = b"\x01\x00\x00\xff\xff"  # an empty final stored block


@dataclass(frozen=True)
class Earlier:
    """Where a payload was first archived: what a revisit record refers to."""

    url: str
    date: str
    record_id: str | None


def warc_date(iso: str) -> str:
    return iso if iso.endswith("Z") else iso + "Z"


def sha256_digest(sha256_hex: str) -> str:
    """The WARC-Payload-Digest linkwatch writes: ``sha256:<hex>``, the blob's own name.

    WARC 1.1 leaves the algorithm and encoding open (``algorithm:value``); readers such as warcio
    check sha256 in hex; webrecorder's tools write the same form.
    """
    return f"sha256:{sha256_hex}"


def payload_digest(path: Path) -> str:
    """``sha1:<base32>`` of a file, the digest web archives' CDX servers report (linkwatch.wayback)."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha1:" + base64.b32encode(h.digest()).decode()


class WarcLog:
    """Appends records to one gzip WARC file. Single-threaded: the run's recorder owns it."""

    def __init__(self, stream: IO[bytes], filename: str) -> None:
        self.filename = filename
        self.stream = stream
        # Records are only *created* by this writer; _emit writes each one as its own gzip member.
        self.writer = WARCWriter(stream, gzip=False, warc_version="1.1")
        info = {"software": f"linkwatch/{__version__}", "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"}
        self._emit(self.writer.create_warcinfo_record(filename, info))
        self.complete = stream.tell()  # where the last complete observation's records end

    def observation(self, obs: Observation, findings: list[Finding], body: Path | None,
                    earlier: Earlier | None) -> str | None:
        """Write every record of one observation; returns the final response/revisit record id."""
        record_id = self._observation(obs, findings, body, earlier)
        self.complete = self.stream.tell()
        return record_id

    def _observation(self, obs: Observation, findings: list[Finding], body: Path | None,
                     earlier: Earlier | None) -> str | None:
        """Write every record of one observation; returns the final response/revisit record id.

        ``body``: the kept bytes, if any; ``earlier``: where this payload was first archived, if it
        was (then a revisit record stands in for a second copy).
        """
        for hop in obs.redirects:
            request_id = self._request(hop.url, obs)
            self._headers_only(hop.url, hop.status, hop.reason, hop.headers, obs, request_id)
        if obs.http_status is None:  # no response at all: the request and what we concluded
            self._request(obs.final_url or obs.url, obs)
            self._metadata(obs, findings, None)
            return None
        url = obs.final_url or obs.url
        request_id = self._request(url, obs)
        if obs.not_modified and earlier is not None:
            record_id = self._identical(url, obs, None, earlier, request_id, revalidated=True)
        elif body is not None and earlier is not None:
            record_id = self._identical(url, obs, body, earlier, request_id)
        elif body is not None:
            record_id = self._response(url, obs, body, request_id)
        else:
            record_id = self._headers_only(url, obs.http_status, obs.reason, obs.response_headers, obs, request_id)
        self._metadata(obs, findings, record_id)
        return record_id

    def _emit(self, record: Any, level: int = GZIP_LEVEL) -> None:
        """Write one record as one gzip member (the WARC convention) at compression ``level``."""
        member = _Member(self.stream, level)
        WARCWriter(member, gzip=False, warc_version="1.1").write_record(record)
        member.close()

    def document(self, obs: Observation, body: Path, metadata: dict[str, Any]) -> str:
        """A response + metadata pair for an archived version (``linkwatch export warc``).

        The payload is re-hashed as it is copied: :class:`~linkwatch.fixity.Tampered` when it is
        no longer the sha256 the index recorded (or ``body`` is a symbolic link)."""
        url = obs.final_url or obs.url
        record_id = self._response(url, obs, body, None, verify=True)
        self._write(metadata_uri(url), "metadata", io.BytesIO(_json(metadata)), obs, {"WARC-Refers-To": record_id},
                    content_type="application/json")
        return record_id

    # -- records ---------------------------------------------------------------------------------
    def _request(self, url: str, obs: Observation) -> str:
        parts = urlsplit(_wire(url))  # as sent: IDNA host, percent-encoded path (never raw UTF-8)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("Host", parts.netloc), *obs.request_headers.items()]
        http = StatusAndHeaders(f"GET {target} HTTP/1.1", headers, is_http_request=True)
        return self._write(url, "request", io.BytesIO(b""), obs, {}, http=http)

    def _response(self, url: str, obs: Observation, body: Path, request_id: str | None,
                  verify: bool = False) -> str:
        """A response record holding ``body``, streamed once from the file into one gzip member.

        ``verify``: hash the payload on the way (an export: the blob may have changed since it
        was ingested); a run writes bytes it has just hashed while downloading them."""
        level = GZIP_LEVEL_PDF if obs.sniffed == "pdf" else GZIP_LEVEL
        with open_kept(body) as fh:
            size = os.fstat(fh.fileno()).st_size
            if verify and size != obs.size:
                raise Tampered(f"{body} is {size} bytes, {obs.size} were ingested; run 'linkwatch verify'")
            http = _http_headers(obs.http_status or 200, obs.reason, obs.response_headers, size)
            if not obs.sha256:  # never for kept bytes (they are named by it); warcio digests it then
                return self._write(url, "response", fh, obs, _concurrent(request_id), http=http,
                                   level=level, length=size)
            headers = _ip(obs, {"WARC-Date": warc_date(obs.observed_at), **_concurrent(request_id),
                                "WARC-Payload-Digest": sha256_digest(obs.sha256)})
            # warcio builds the headers (id, type, URI, date); with the digest given and a length it
            # reads nothing, and the block is written here: WARC headers, HTTP headers, payload.
            record = self.writer.create_warc_record(_wire(url), "response", payload=io.BytesIO(), length=0,
                                                    warc_headers_dict=headers, http_headers=http)
            http.compute_headers_buffer(self.writer.header_filter)
            record.rec_headers.replace_header("Content-Type", record.content_type)
            record.rec_headers.replace_header("Content-Length", str(len(http.headers_buff) + size))
            member = _Member(self.stream, level)
            member.write(record.rec_headers.to_bytes(encoding="utf-8"))
            member.write(http.headers_buff)
            digest = hashlib.sha256() if verify else None
            member.copy(fh, size, digest)
            member.write(b"\r\n\r\n")
            member.close()
            if digest is not None and digest.hexdigest() != obs.sha256:
                raise Tampered(f"{body} no longer matches its recorded sha256 (now {digest.hexdigest()}); "
                               "run 'linkwatch verify'")
        return record.rec_headers.get_header("WARC-Record-ID")

    def _headers_only(self, url: str, status: int, reason: str, headers: dict[str, str], obs: Observation,
                      request_id: str | None) -> str:
        http = _http_headers(status, reason, headers, 0)
        extra = {**_concurrent(request_id), "WARC-Truncated": "unspecified"}
        return self._write(url, "response", io.BytesIO(b""), obs, extra, http=http)

    def _identical(self, url: str, obs: Observation, body: Path | None, earlier: Earlier, request_id: str,
                   revalidated: bool = False) -> str:
        """A revisit standing in for bytes already archived.

        ``revalidated``: the server answered a conditional request with 304, confirming the
        archived bytes. The record then carries what a cache would serve (RFC 9111 §4.3.4: the
        stored response, its headers updated by the 304's) as a ``200``, so that a replay tool —
        which replays the latest capture of a URL — serves the archived document rather than an
        empty 304. The server's 304 itself is kept in the metadata record and the index.
        """
        if revalidated:
            headers = dict(obs.response_headers)
            if obs.content_type and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = obs.content_type
            http = _http_headers(200, "OK", headers, obs.size or 0)
        else:
            http = _http_headers(obs.http_status or 200, obs.reason, obs.response_headers, obs.size or 0)
        extra = {**_concurrent(request_id), "WARC-Date": warc_date(obs.observed_at)}
        if earlier.record_id:
            extra["WARC-Refers-To"] = earlier.record_id
        # The digest the response record holding these bytes was written with (sha256 since linkwatch
        # writes response payloads itself; a revisit of a response in an older WARC names sha256 too).
        digest = sha256_digest(obs.sha256) if obs.sha256 else payload_digest(body) if body else ""
        record = self.writer.create_revisit_record(url, digest, earlier.url, warc_date(earlier.date),
                                                   http_headers=http, warc_headers_dict=_ip(obs, extra))
        self._emit(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    def _metadata(self, obs: Observation, findings: list[Finding], refers_to: str | None) -> None:
        data = {
            "document": obs.document_id, "url": obs.final_url or obs.url, "status": obs.status,
            "observed_at": obs.observed_at, "http_status": obs.http_status, "not_modified": obs.not_modified,
            "sha256": obs.sha256, "sha512": obs.sha512, "size": obs.size, "attempts": obs.attempts,
            "error": obs.error, "redirects": [_hop(h) for h in obs.redirects],
            "inspection": asdict(obs.inspection) if obs.inspection else None,
            "findings": [asdict(f) for f in findings], "agent": f"linkwatch/{__version__}",
        }
        if obs.not_modified:  # the server's own answer; the revisit record replays as the document
            data["server_response"] = {"status": obs.http_status, "reason": obs.reason,
                                       "headers": obs.response_headers}
        extra = {"WARC-Refers-To": refers_to} if refers_to else {}
        self._write(metadata_uri(obs.final_url or obs.url), "metadata", io.BytesIO(_json(data)), obs, extra,
                    content_type="application/json")

    def _write(self, url: str, kind: str, payload: IO[bytes], obs: Observation, extra: dict[str, str], *,
               http: StatusAndHeaders | None = None, content_type: str = "", length: int | None = None,
               level: int = GZIP_LEVEL) -> str:
        headers = {"WARC-Date": warc_date(obs.observed_at), **extra}
        record = self.writer.create_warc_record(_wire(url), kind, payload=payload, length=length,
                                                warc_content_type=content_type,
                                                warc_headers_dict=_ip(obs, headers), http_headers=http)
        self._emit(record, level)
        return record.rec_headers.get_header("WARC-Record-ID")


class _Member:
    """One gzip member (RFC 1952) written straight to ``out``, so a payload is read and copied once.

    Level 0 frames the bytes as deflate *stored* blocks here, several per ``writev`` call, instead
    of through zlib and :class:`gzip.GzipFile` (each of which copies the bytes again); other levels
    deflate with zlib. Either way the CRC-32 is computed on the same pass. Gzip readers (warcio,
    zcat, pywb) read the result as any other member.
    """

    def __init__(self, out: IO[bytes], level: int) -> None:
        self.out, self.crc, self.size = out, 0, 0
        self.deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS) if level else None
        self.fd: int | None = None
        if self.deflate is None:
            try:
                out.flush()
                self.fd = out.fileno()
            except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
                self.fd = None
        out.write(_GZIP_HEADER)

    def write(self, data: bytes | memoryview) -> None:
        if not data:
            return
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        if self.deflate is not None:
            self.out.write(self.deflate.compress(data))
            return
        view, parts = memoryview(data), []
        for start in range(0, len(view), _STORED_MAX):
            piece = view[start:start + _STORED_MAX]
            parts += (struct.pack("<BHH", 0, len(piece), len(piece) ^ 0xFFFF), piece)
        self._write_all(parts)

    def copy(self, fh: IO[bytes], length: int, digest: Any = None) -> None:
        """Copy exactly ``length`` bytes of ``fh`` into the member (OSError if the file is shorter),
        feeding them to ``digest`` (a hashlib object) too, if given."""
        buf = memoryview(bytearray(min(COPY_CHUNK, length) or 1))
        left = length
        start = os.lseek(self.fd, 0, os.SEEK_CUR) if self.fd is not None else None
        while left:
            n = fh.readinto(buf[:min(left, len(buf))])  # type: ignore[attr-defined]
            if not n:
                raise OSError(f"{getattr(fh, 'name', 'payload')}: {left} bytes short of {length}")
            self.write(buf[:n])
            if digest is not None:
                digest.update(buf[:n])
            left -= n
        if start is not None and hasattr(os, "posix_fadvise"):
            # Start writing these bytes to disk now (Linux: DONTNEED starts writeback, then drops the
            # pages once clean; nothing reads a run's WARC back): the fsync when the run ends, which
            # stays the durability step, then has little left to do (0.6 s → 0 for 1 GiB here).
            os.posix_fadvise(self.fd, start, 0, os.POSIX_FADV_DONTNEED)

    def flush(self) -> None:
        """warcio's writer flushes after each record; the member is flushed by :meth:`close`."""

    def close(self) -> None:
        self.out.write(self.deflate.flush() if self.deflate is not None else _STORED_END)
        self.out.write(struct.pack("<II", self.crc, self.size & 0xFFFFFFFF))

    def _write_all(self, parts: list) -> None:
        if self.fd is None:
            self.out.write(b"".join(parts))
            return
        self.out.flush()  # what went through out's buffer (the gzip header) goes first
        while parts:
            done = os.writev(self.fd, parts)
            while parts and done >= len(parts[0]):
                done -= len(parts.pop(0))
            if done:
                parts[0] = parts[0][done:]


def metadata_uri(url: str) -> str:
    """The WARC-Target-URI of a metadata record about ``url``: ``urn:linkwatch:<url>``."""
    return METADATA_SCHEME + _wire(url)


def _wire(url: str) -> str:
    """The URL as it went on the wire (WARC-Target-URI and request lines must be ASCII)."""
    try:
        return request_url(url)
    except ValueError:
        return url


def run_warc_name(started: str, run_id: int) -> str:
    """The name of run ``run_id``'s WARC file, from its start time: what ``verify`` expects in ``warc/``."""
    return f"linkwatch-{started.replace(':', '').replace('-', '')}-run{run_id}.warc.gz"


@contextmanager
def open_run_warc(folder: Path, name: str) -> Iterator[WarcLog]:
    """A run's WARC under ``folder``: written as ``name.open``, renamed to ``name`` when complete."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    partial = folder / f"{name}.open"
    with open(partial, "wb") as fh:
        log = WarcLog(fh, name)
        try:
            yield log
        except BaseException:
            # The run failed cleanly (disk full…): what was recorded refers to records written
            # so far. Keep them, cut anything half-written, and finish the file under its name;
            # only if even that fails is the partial file removed (nothing named .open is left).
            try:
                fh.truncate(log.complete)
                fh.flush()
                os.fsync(fh.fileno())
                fh.close()
                os.replace(partial, final)
            except OSError:
                partial.unlink(missing_ok=True)
            raise
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, final)


class ExportRefused(Exception):
    """The export was not attempted: DEST is in the way or misnamed, or nothing to export (exit 2)."""


@dataclass(frozen=True)
class Exported:
    """One document's version written to an export WARC: what a WACZ's page list names."""

    document: Document
    observation: Observation
    record_id: str


def export(index: Index, blobs: BlobStore, dest: Path, documents: list[Document]) -> int:
    """One WARC at ``dest`` with each document's latest version judged ``ok`` (response + metadata).

    Returns the number of documents written. Written as ``dest.open`` and renamed when complete.
    :class:`ExportRefused` for a name that is not ``*.warc.gz``; ``RunFailed`` (and an ``export``
    event with outcome ``failure``) when a blob no longer matches the index: no WARC is left then.
    """
    dest = Path(dest)
    if not dest.name.endswith(".warc.gz") or dest.name == ".warc.gz":
        raise ExportRefused(f"{dest}: export warc writes a gzip-compressed WARC; name it *.warc.gz")
    if dest.is_dir():
        raise ExportRefused(f"{dest} is a folder; give a file name ending in .warc.gz")
    partial = dest.with_name(dest.name + ".open")
    try:
        with open(partial, "wb") as fh:
            written = write_export(fh, dest.name, index, blobs, documents)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    record_exports(index, written, f"WARC {dest}")
    return len(written)


def write_export(fh: IO[bytes], filename: str, index: Index, blobs: BlobStore,
                 documents: list[Document]) -> list[Exported]:
    """Write the export WARC's records to ``fh``: for each document its latest ``ok`` version, re-hashed."""
    log = WarcLog(fh, filename)
    written = []
    for doc in documents:
        obs = index.latest_archived_observation(doc.id, doc)
        if obs is None or not obs.sha256:
            continue
        meta = {"document": doc.id, "symbols": list(doc.symbols), "cited_title": doc.title, "lang": doc.lang,
                "manifest": doc.manifest, "observed_at": obs.observed_at, "status": obs.status,
                "sha256": obs.sha256, "sha512": obs.sha512,
                "inspection": asdict(obs.inspection) if obs.inspection else None,
                "agent": f"linkwatch/{__version__}"}
        try:
            record_id = log.document(obs, blobs.path_for(obs.sha256), meta)
        except (Tampered, FileNotFoundError) as exc:
            _refuse(index, doc, obs.sha256, str(exc) if isinstance(exc, Tampered)
                    else f"{BlobStore.relative_path(obs.sha256)} is missing; run 'linkwatch verify'")
        written.append(Exported(doc, obs, record_id))
    return written


def record_exports(index: Index, written: list[Exported], where: str) -> None:
    """One ``export`` event per exported version."""
    from ..timestamps import now

    at = now()
    index.add_events([Event(at=at, kind="export", outcome="success", sha256=e.observation.sha256,
                            document_id=e.document.id, agent=f"linkwatch {__version__}",
                            detail=f"exported to {where}") for e in written])


def _refuse(index: Index, doc: Document, sha256: str, problem: str) -> None:
    """Record the failed export of one version and stop the export (exit 3)."""
    from ..run import RunFailed  # run imports this module
    from ..timestamps import now

    index.add_event(Event(at=now(), kind="export", outcome="failure", sha256=sha256, document_id=doc.id,
                          agent=f"linkwatch {__version__}", detail=f"not exported: {problem}"))
    raise RunFailed(f"{doc.id}: {problem}; nothing exported")


def _http_headers(status: int, reason: str, headers: dict[str, str], length: int) -> StatusAndHeaders:
    kept = [(k, v) for k, v in headers.items() if k.lower() not in _TRANSPORT_HEADERS]
    kept.append(("Content-Length", str(length)))
    # warcio writes the status line as ASCII (it percent-encodes header values itself, not this):
    # a reason phrase such as "Non trouvé" (Latin-1 on the wire) is kept percent-encoded.
    reason = quote(reason or "", safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~", encoding="latin-1", errors="replace")
    return StatusAndHeaders(f"{status} {reason}".strip(), kept, protocol="HTTP/1.1")


def _concurrent(record_id: str | None) -> dict[str, str]:
    return {"WARC-Concurrent-To": record_id} if record_id else {}


def _ip(obs: Observation, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "WARC-IP-Address": obs.remote_addr} if obs.remote_addr else headers


def _hop(h: Hop) -> dict[str, object]:
    return {"url": h.url, "status": h.status, "location": h.location}


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
