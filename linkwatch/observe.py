"""Observe one document: fetch its URL (then its mirrors), inspect the bytes, judge, keep the bytes.

Runs in the run's worker threads, one document at a time each; everything it produces goes back
to the main thread as an :class:`Outcome` (only the main thread records).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .store.blobs import BlobStore
from .compare import Finding, judge
from .http.fetcher import Fetcher
from .http.client import FetchResult
from .pdf.inspect import Inspection, Inspector
from .manifest import Document
from .observation import Observation
from .plan import Task
from .wayback import SUGGEST_FOR, Memento, Wayback
from .webpage import inspect_page


@dataclass
class Outcome:
    """What observing one document produced, handed from a worker thread to the recorder."""

    task: Task
    observation: Observation
    findings: list[Finding]
    stored: bool = False
    memento: Memento | None = None  # a web archive capture (--suggest)


class Observer:
    """Observes one document: fetch (primary URL, then mirrors), inspect, judge, keep bytes."""

    def __init__(self, fetcher: Fetcher, inspector: Inspector, blobs: BlobStore, tmp: Path, *,
                 keep_bytes: bool, transient: int = 1, availability_only: bool = False,
                 wayback: Wayback | None = None, suggest: bool = False) -> None:
        self.fetcher, self.inspector, self.blobs, self.tmp = fetcher, inspector, blobs, tmp
        self.keep_bytes = keep_bytes  # linkwatch archive: put new bytes in the blob store
        self.transient = transient  # Options.transient, for compare.judge
        self.availability_only = availability_only  # HTTP only: no body, no inspection
        self.wayback, self.suggest = wayback, suggest

    def observe(self, task: Task) -> Outcome:
        outcome = self._observe_urls(task)
        if self.wayback is not None and (self.suggest or task.document.suggest) \
                and outcome.observation.status in SUGGEST_FOR:
            # In this worker thread, after judging: a slow web archive never holds up the recorder.
            kept = task.archived_sha256
            blob = self.blobs.path_for(kept) if kept and self.blobs.has(kept) else None
            lookup = self.wayback.lookup(task.document.url, task.last_good_at, blob)
            outcome.findings.append(lookup.finding())
            outcome.memento = lookup.memento
        return outcome

    def _observe_urls(self, task: Task) -> Outcome:
        doc = task.document
        first: Outcome | None = None
        for url in doc.urls:
            outcome = self._observe_url(task, url)
            if outcome.observation.status == "ok" or first is None:
                if first is not None:  # a mirror answered where the primary did not
                    outcome.findings.append(Finding(
                        "mirror", "warning", f"primary URL failed ({first.observation.status}); served by mirror {url}"))
                if outcome.observation.status == "ok":
                    return outcome
                first = first or outcome
        assert first is not None
        return first

    def _observe_url(self, task: Task, url: str) -> Outcome:
        if self.availability_only:
            return self._check_url(task, url)
        cached = task.validators.get(url)
        fetched = self.fetcher.fetch(url, self.tmp, etag=cached.etag if cached else None,
                                     last_modified=cached.last_modified if cached else None)
        return self._judged(task, fetched)

    def revalidated(self, task: Task, fetched: FetchResult) -> Outcome | None:
        """The outcome of a bulk conditional request (:meth:`Prober.revalidate_all`), or None when
        the document changed (a 2xx): it must then be fetched in full, body and inspection."""
        changed = fetched.error is None and fetched.http_status is not None and 200 <= fetched.http_status < 300
        return None if changed and not fetched.not_modified else self._judged(task, fetched)

    def _judged(self, task: Task, fetched: FetchResult) -> Outcome:
        """Inspect what was fetched (or carry the content over a 304), judge it, keep new bytes."""
        doc = task.document
        cached = task.validators.get(fetched.url)
        obs = Observation.from_fetch(doc.id, fetched, __version__)
        stored = False
        try:
            if obs.not_modified and cached is not None:
                obs = obs.carry_content(cached)
                obs.archived = cached.archived
            elif fetched.body_path is not None:
                obs.inspection = self._inspect(doc, obs, fetched.body_path)
            obs.status, findings = judge(doc, obs, task.previous, streak=task.streak, transient=self.transient)
            if self.keep_bytes and fetched.body_path is not None and obs.sha256 and _worth_keeping(doc, obs):
                self.blobs.put(fetched.body_path, obs.sha256)
                obs.archived = stored = True
        finally:
            if fetched.body_path is not None:
                Path(fetched.body_path).unlink(missing_ok=True)
        return Outcome(task, obs, findings, stored)

    def _check_url(self, task: Task, url: str) -> Outcome:
        """Availability only: HEAD, no body, no inspection, no validators (a 304 would save nothing)."""
        return self.checked(task, self.fetcher.probe(url))

    def checked(self, task: Task, fetched: FetchResult) -> Outcome:
        """Judge an availability check of ``task``'s URL (:meth:`Fetcher.probe` or the bulk
        :class:`~linkwatch.http.prober.Prober`)."""
        obs = Observation.from_fetch(task.document.id, fetched, __version__)
        obs.status, findings = judge(task.document, obs, task.previous, streak=task.streak,
                                     transient=self.transient, availability_only=True)
        return Outcome(task, obs, findings)

    def _inspect(self, doc: Document, obs: Observation, body: Path) -> Inspection | None:
        if obs.sniffed == "pdf":
            return self.inspector.inspect(body)
        if obs.sniffed == "html" and doc.kind == "page":
            return inspect_page(body)
        return None


#: Bodies that are not a readable document of the cited kind are kept only up to this size: a soft
#: 404 page, a challenge or an error page is evidence worth keeping, but a server answering random
#: bytes (or a "%PDF-" followed by them) would otherwise add up to --max-size to the archive per
#: document and run. Larger ones are still hashed and judged; only their bytes are not kept.
NON_DOCUMENT_KEEP = 1 << 20


def _worth_keeping(doc: Document, obs: Observation) -> bool:
    """Whether ``obs``'s bytes go to the blob store: a document of the cited kind that could be
    read (a PDF its inspection opened, an HTML page for ``kind = "page"``), or something small."""
    # A PDF too big or too slow for the inspection limits, or encrypted, is still a PDF; one that
    # does not parse ("malformed") may be anything after its first bytes.
    failed = obs.inspection.error if obs.inspection is not None else "malformed"
    readable_pdf = obs.sniffed == "pdf" and not (failed or "").startswith("malformed")
    page = doc.kind == "page" and obs.sniffed == "html"
    return readable_pdf or page or (obs.size or 0) <= NON_DOCUMENT_KEEP
