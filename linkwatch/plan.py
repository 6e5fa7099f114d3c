"""Plan a run: for each document, what the index already knows (previous observation, validators).

Reading the index here, once, in the main thread keeps the fetch workers free of database access
and keeps each stage ignorant of the ones after it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .index import Index
from .manifest import Document
from .observation import Observation


@dataclass
class Task:
    """One document to observe, with what the last run saw."""

    document: Document
    previous: Observation | None = None  # the document's latest observation, for drift
    # Per URL: the last observation that saw content there. Its ETag / Last-Modified make the
    # request conditional, and a 304 reuses its content facts.
    validators: dict[str, Observation] = field(default_factory=dict)


def plan(documents: list[Document], index: Index, keep_bytes: bool, has_blob: Callable[[str], bool]) -> list[Task]:
    """Tasks in manifest order.

    With ``keep_bytes`` (``linkwatch archive``), a URL is only asked conditionally when its last
    version's bytes are in the blob store: a 304 must not leave an archive without the bytes.
    """
    tasks = []
    for doc in documents:
        task = Task(doc, previous=index.latest(doc.id))
        for url in doc.urls:
            seen = index.latest_for_url(doc.id, url)
            if seen is None or not (seen.etag or seen.last_modified):
                continue
            if keep_bytes and not (seen.sha256 and has_blob(seen.sha256)):
                continue
            task.validators[url] = seen
        tasks.append(task)
    return tasks
