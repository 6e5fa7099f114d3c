"""The observation: what one fetch of one URL found, at one time.

It joins the HTTP facts (:class:`~linkwatch.http.client.FetchResult`) and the content facts
(:class:`~linkwatch.pdf.inspect.Inspection`) into the unit that is judged (:mod:`linkwatch.compare`)
and recorded (:mod:`linkwatch.store.index`). The status is filled in by the judgement.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .http.client import FetchResult, Hop
from .pdf.inspect import Inspection


@dataclass
class Observation:
    document_id: str
    url: str
    observed_at: str  # ISO 8601 UTC
    final_url: str | None = None
    http_status: int | None = None
    redirects: list[Hop] = field(default_factory=list)
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    size: int | None = None
    sha256: str | None = None
    sha512: str | None = None
    head: bytes = b""  # first bytes of the body, for sniffing (not stored)
    error: str | None = None
    error_kind: str | None = None
    attempts: int = 1
    elapsed: float = 0.0
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # the final response's reason phrase
    remote_addr: str | None = None  # IP address that answered (provenance)
    warc_file: str | None = None  # WARC file (under archive/warc/) holding this observation's records
    warc_record_id: str | None = None  # WARC-Record-ID of its response / revisit record
    inspection: Inspection | None = None
    sniffed: str | None = None  # "pdf" | "html" | "empty" | "other": judged from the bytes
    status: str | None = None  # set by the judgement
    archived: bool = False  # bytes kept in the blob store
    tool_version: str = ""
    id: int | None = None  # index row id, once recorded
    run_id: int | None = None

    @classmethod
    def from_fetch(cls, document_id: str, fetched: FetchResult, tool_version: str) -> Observation:
        return cls(
            document_id=document_id, url=fetched.url, observed_at=fetched.started_at,
            final_url=fetched.final_url, http_status=fetched.http_status, redirects=list(fetched.redirects),
            content_type=fetched.content_type, etag=fetched.etag, last_modified=fetched.last_modified,
            not_modified=fetched.not_modified, size=fetched.size, sha256=fetched.sha256,
            sha512=fetched.sha512, head=fetched.head, error=fetched.error, error_kind=fetched.error_kind,
            attempts=fetched.attempts, elapsed=fetched.elapsed, request_headers=dict(fetched.request_headers),
            response_headers=dict(fetched.response_headers), reason=fetched.reason,
            remote_addr=fetched.remote_addr, sniffed=sniff(fetched.head, fetched.size),
            tool_version=tool_version,
        )

    def carry_content(self, previous: Observation) -> Observation:
        """After a 304, the content is the previous observation's: take its content facts."""
        return replace(self, size=previous.size, sha256=previous.sha256, sha512=previous.sha512,
                       content_type=previous.content_type or self.content_type, sniffed=previous.sniffed,
                       inspection=previous.inspection)


def sniff(head: bytes, size: int | None) -> str | None:
    """What the bytes are, whatever the Content-Type says (servers mislabel PDFs as octet-stream)."""
    if size is None:
        return None
    if size == 0 or not head.strip():
        return "empty"
    start = head.lstrip()[:1024].lower()
    if start.startswith(b"%pdf-") or b"%pdf-" in head[:1024]:
        return "pdf"
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in start:
        return "html"
    return "other"
