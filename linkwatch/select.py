"""Which documents a run covers: ``--include`` / ``--exclude`` patterns on ids and URLs.

A pattern is a shell-style glob (``*``, ``?``, ``[…]``, case-sensitive) matched against a
document's id and against each of its URLs (primary and mirrors): ``--exclude 'https://undocs.org/*'``,
``--include 'a-79-*'``. With ``--include``, only documents matching one of them are covered; then
``--exclude`` removes those matching one of its patterns. ``--shard`` applies to what is left.
"""
from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from .manifest import Document


def matches(doc: Document, patterns: Sequence[str]) -> bool:
    """The document's id or one of its URLs matches one of ``patterns``."""
    return any(fnmatchcase(value, p) for p in patterns for value in (doc.id, *doc.urls))


def select(documents: Sequence[Document], include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Document]:
    """``documents`` (in order) that ``include`` lets in (all, when empty) and ``exclude`` does not name."""
    return [d for d in documents if (not include or matches(d, include)) and not matches(d, exclude)]
