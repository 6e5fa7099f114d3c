"""Plan a run: for each document, what the index already knows (previous observation, validators).

Reading the index here, in the main thread, keeps the fetch workers free of database access and
keeps each stage ignorant of the ones after it. A run plans one document at a time, a window ahead
of the fetching (:class:`Planner`): only the tasks in flight hold what the index said, whatever the
size of the manifest.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .compare import is_transient
from .store.index import Index
from .manifest import Document
from .observation import Observation


@dataclass
class Task:
    """One document to observe, with what the last run saw.

    The observations here are *light*: read without their request and response headers, which
    judging and conditional requests never look at (10,000 tasks of a big run hold no headers).
    """

    document: Document
    previous: Observation | None = None  # the document's latest observation, for drift
    # Per URL: the last observation that saw content there. Its ETag / Last-Modified make the
    # request conditional, and a 304 reuses its content facts.
    validators: dict[str, Observation] = field(default_factory=dict)
    # For a web archive lookup (--suggest): when the document was last seen ok, and the sha256 of
    # the version kept then (or of the newest kept version), as the index knew them before this run.
    last_good_at: str | None = None
    archived_sha256: str | None = None
    # Transient failures (compare.is_transient) right before this run, after an ok; None when the
    # document was not ok before them (or not within reach). See compare.judge.
    streak: int | None = None
    position: int = 0  # the document's place in the run's manifests (the report's order)


class Planner:
    """Plans one document at a time: ``planner(doc, position)`` is the :class:`Task` that
    :func:`plan` would give for ``doc``."""

    def __init__(self, index: Index, keep_bytes: bool, has_blob: Callable[[str], bool],
                 lookback: Callable[[Document], bool] = lambda _doc: False, transient: int = 1) -> None:
        self.index, self.keep_bytes, self.has_blob = index, keep_bytes, has_blob
        self.lookback, self.transient = lookback, transient

    def __call__(self, doc: Document, position: int = 0) -> Task:
        index, transient = self.index, self.transient
        # One query for the latest observation and the statuses before it (the transient rule).
        latest, recent = index.latest_with_recent(doc.id, transient if transient > 1 else 1)
        content = _ContentSeen(index, doc.id, latest)
        task = Task(doc, previous=_with_content(content, latest), position=position)
        if self.lookback(doc):
            task.last_good_at, task.archived_sha256 = index.last_good(doc.id)
        if transient > 1:
            task.streak = failure_streak(recent)
        for url in doc.urls:
            seen = content.at(url)
            if seen is None or not (seen.etag or seen.last_modified):
                continue
            if self.keep_bytes and not (seen.sha256 and self.has_blob(seen.sha256)):
                continue
            task.validators[url] = seen
        return task


def plan(documents: list[Document], index: Index, keep_bytes: bool, has_blob: Callable[[str], bool],
         lookback: Callable[[Document], bool] = lambda _doc: False, transient: int = 1) -> list[Task]:
    """Tasks in manifest order.

    With ``keep_bytes`` (``linkwatch archive``), a URL is only asked conditionally when its last
    version's bytes are in the blob store: a 304 must not leave an archive without the bytes.
    """
    planner = Planner(index, keep_bytes, has_blob, lookback, transient)
    return [planner(doc, i) for i, doc in enumerate(documents)]


class _ContentSeen:
    """Per URL of one document, the last observation that saw content there: looked up once
    (validators and :func:`_with_content` ask for the same URL), and usually the latest
    observation itself (no query, no second copy in memory)."""

    def __init__(self, index: Index, doc_id: str, latest: Observation | None) -> None:
        self.index, self.doc_id, self.latest = index, doc_id, latest
        self.found: dict[str, Observation | None] = {}

    def at(self, url: str) -> Observation | None:
        latest = self.latest
        if latest is not None and latest.url == url and latest.sha256 is not None:
            return latest
        if url not in self.found:
            self.found[url] = self.index.latest_for_url(self.doc_id, url, light=True)
        return self.found[url]


def _with_content(content: _ContentSeen, previous: Observation | None) -> Observation | None:
    """``previous``, with the content facts of the last observation that read its URL's body when
    ``previous`` read none (an ``ok`` of ``check --availability-only``): content drift is judged
    against the last content seen, not lost behind an HTTP-only run."""
    if previous is None or previous.status != "ok" or previous.sha256 is not None or previous.inspection:
        return previous
    seen = content.at(previous.url)
    return previous.carry_content(seen) if seen is not None else previous


def failure_streak(recent: list[tuple[str, int | None]]) -> int | None:
    """How many transient failures lead ``recent`` ((status, http_status), newest first) before an ok.

    None when something else comes first (a definitive failure, a wrong document…) or no ok is
    within ``recent`` at all: the grace of the transient rule is for documents known to be fine.
    """
    for n, (status, http_status) in enumerate(recent):
        if status == "ok":
            return n
        if not is_transient(status, http_status):
            return None
    return None
