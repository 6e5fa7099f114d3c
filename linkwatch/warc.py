"""WARC/1.1 records of what linkwatch fetched, written with warcio.

For each observation: a ``request`` and a ``response`` record for every hop of the redirect chain,
then for the final response either a ``response`` with the bytes, or a ``revisit`` instead of a
second copy (profile *identical-payload-digest* when the bytes are already archived,
*server-not-modified* after a 304), and a ``metadata`` record holding linkwatch's inspection and
findings as JSON. Bodies linkwatch did not keep (redirects, errors) are written as headers only,
marked ``WARC-Truncated: unspecified`` rather than passed off as empty.

A run's WARC is written as ``<name>.warc.gz.open`` and renamed when the run ends, so a file under
its final name is always complete (the same rule as for blobs).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from . import __version__
from .blobs import BlobStore
from .compare import Finding
from .fetch import Hop, request_url
from .index import Index
from .manifest import Document
from .observation import Observation

# Headers describing how the bytes travelled, not what they are: our payload is stored decoded and
# de-chunked, so keeping them would make every WARC reader mis-parse the record.
_TRANSPORT_HEADERS = {"transfer-encoding", "content-encoding", "content-length"}
# Each record is one gzip member. Headers, metadata and HTML compress well (level 6); a PDF's
# payload is mostly already-deflated streams, so it is stored (level 0): measured on 101 MiB of the
# fixture PDFs, level 9 (warcio's) 37 MiB/s → 92 MiB, level 1 or 6 the same, level 0 156 MiB/s →
# 101 MiB. Four times the speed for 9% more disk. Readers see an ordinary .warc.gz either way.
GZIP_LEVEL = 6
GZIP_LEVEL_PDF = 0
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class Earlier:
    """Where a payload was first archived: what a revisit record refers to."""

    url: str
    date: str
    record_id: str | None


def warc_date(iso: str) -> str:
    return iso if iso.endswith("Z") else iso + "Z"


def payload_digest(path: Path) -> str:
    """``sha1:<base32>``, the WARC (and CDX) payload digest of a file."""
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

    def observation(self, obs: Observation, findings: list[Finding], body: Path | None,
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
            record_id = self._not_modified(url, obs, earlier, request_id)
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
        with gzip.GzipFile(fileobj=self.stream, mode="wb", compresslevel=level, mtime=0) as member:
            WARCWriter(member, gzip=False, warc_version="1.1").write_record(record)

    def document(self, obs: Observation, body: Path, metadata: dict[str, Any]) -> str:
        """A response + metadata pair for an archived version (``linkwatch export warc``)."""
        url = obs.final_url or obs.url
        record_id = self._response(url, obs, body, None)
        self._write(url, "metadata", io.BytesIO(_json(metadata)), obs, {"WARC-Refers-To": record_id},
                    content_type="application/json")
        return record_id

    # -- records ---------------------------------------------------------------------------------
    def _request(self, url: str, obs: Observation) -> str:
        parts = urlsplit(_wire(url))  # as sent: IDNA host, percent-encoded path (never raw UTF-8)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("Host", parts.netloc), *obs.request_headers.items()]
        http = StatusAndHeaders(f"GET {target} HTTP/1.1", headers, is_http_request=True)
        return self._write(url, "request", io.BytesIO(b""), obs, {}, http=http)

    def _response(self, url: str, obs: Observation, body: Path, request_id: str | None) -> str:
        http = _http_headers(obs.http_status or 200, obs.reason, obs.response_headers, obs.size or 0)
        with open(body, "rb") as fh:
            return self._write(url, "response", fh, obs, _concurrent(request_id), http=http,
                               level=GZIP_LEVEL_PDF if obs.sniffed == "pdf" else GZIP_LEVEL,
                               length=None)

    def _headers_only(self, url: str, status: int, reason: str, headers: dict[str, str], obs: Observation,
                      request_id: str | None) -> str:
        http = _http_headers(status, reason, headers, 0)
        extra = {**_concurrent(request_id), "WARC-Truncated": "unspecified"}
        return self._write(url, "response", io.BytesIO(b""), obs, extra, http=http)

    def _identical(self, url: str, obs: Observation, body: Path, earlier: Earlier, request_id: str) -> str:
        http = _http_headers(obs.http_status or 200, obs.reason, obs.response_headers, obs.size or 0)
        extra = {**_concurrent(request_id), "WARC-Date": warc_date(obs.observed_at)}
        if earlier.record_id:
            extra["WARC-Refers-To"] = earlier.record_id
        record = self.writer.create_revisit_record(url, payload_digest(body), earlier.url, warc_date(earlier.date),
                                                   http_headers=http, warc_headers_dict=_ip(obs, extra))
        self._emit(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    def _not_modified(self, url: str, obs: Observation, earlier: Earlier, request_id: str) -> str:
        http = _http_headers(304, obs.reason or "Not Modified", obs.response_headers, 0)
        extra = {**_concurrent(request_id), "WARC-Profile": SERVER_NOT_MODIFIED,
                 "WARC-Refers-To-Target-URI": earlier.url, "WARC-Refers-To-Date": warc_date(earlier.date)}
        if earlier.record_id:
            extra["WARC-Refers-To"] = earlier.record_id
        return self._write(url, "revisit", io.BytesIO(b""), obs, extra, http=http)

    def _metadata(self, obs: Observation, findings: list[Finding], refers_to: str | None) -> None:
        data = {
            "document": obs.document_id, "status": obs.status, "observed_at": obs.observed_at,
            "sha256": obs.sha256, "sha512": obs.sha512, "size": obs.size, "attempts": obs.attempts,
            "error": obs.error, "redirects": [_hop(h) for h in obs.redirects],
            "inspection": asdict(obs.inspection) if obs.inspection else None,
            "findings": [asdict(f) for f in findings], "agent": f"linkwatch/{__version__}",
        }
        extra = {"WARC-Refers-To": refers_to} if refers_to else {}
        self._write(obs.final_url or obs.url, "metadata", io.BytesIO(_json(data)), obs, extra,
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


def _wire(url: str) -> str:
    """The URL as it went on the wire (WARC-Target-URI and request lines must be ASCII)."""
    try:
        return request_url(url)
    except ValueError:
        return url


@contextmanager
def open_run_warc(folder: Path, name: str) -> Iterator[WarcLog]:
    """A run's WARC under ``folder``: written as ``name.open``, renamed to ``name`` when complete."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    partial = folder / f"{name}.open"
    with open(partial, "wb") as fh:
        log = WarcLog(fh, name)
        yield log
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, final)


def export(index: Index, blobs: BlobStore, dest: Path, documents: list[Document]) -> int:
    """One WARC at ``dest`` with each document's latest archived version (response + metadata).

    Returns the number of documents written. Written as ``dest.open`` and renamed when complete.
    """
    dest = Path(dest)
    partial = dest.with_name(dest.name + ".open")
    written = 0
    with open(partial, "wb") as fh:
        log = WarcLog(fh, dest.name)
        for doc in documents:
            obs = index.latest_archived_observation(doc.id)
            if obs is None or not obs.sha256 or not blobs.has(obs.sha256):
                continue
            meta = {"document": doc.id, "symbols": list(doc.symbols), "cited_title": doc.title, "lang": doc.lang,
                    "manifest": doc.manifest, "observed_at": obs.observed_at, "status": obs.status,
                    "sha256": obs.sha256, "sha512": obs.sha512,
                    "inspection": asdict(obs.inspection) if obs.inspection else None,
                    "agent": f"linkwatch/{__version__}"}
            log.document(obs, blobs.path_for(obs.sha256), meta)
            written += 1
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, dest)
    return written


def _http_headers(status: int, reason: str, headers: dict[str, str], length: int) -> StatusAndHeaders:
    kept = [(k, v) for k, v in headers.items() if k.lower() not in _TRANSPORT_HEADERS]
    kept.append(("Content-Length", str(length)))
    return StatusAndHeaders(f"{status} {reason or ''}".strip(), kept, protocol="HTTP/1.1")


def _concurrent(record_id: str | None) -> dict[str, str]:
    return {"WARC-Concurrent-To": record_id} if record_id else {}


def _ip(obs: Observation, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "WARC-IP-Address": obs.remote_addr} if obs.remote_addr else headers


def _hop(h: Hop) -> dict[str, object]:
    return {"url": h.url, "status": h.status, "location": h.location}


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
