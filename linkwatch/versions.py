"""What changed between two archived versions of a document: metadata, and the text itself."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .store.blobs import BlobStore
from .store.index import Index
from .pdf.inspect import Inspector
from .manifest import Document
from .observation import Observation
from .timeline import find_document


class NoVersions(LookupError):
    """Fewer than two archived versions to compare, or a requested version is unknown."""


@dataclass
class VersionDiff:
    document: Document
    old: Observation
    new: Observation
    changes: list[tuple[str, object, object]] = field(default_factory=list)  # (field, old, new)
    text: list[str] = field(default_factory=list)  # unified diff of the extracted text


def diff(index: Index, blobs: BlobStore, inspector: Inspector, ref: str,
         old: str | None = None, new: str | None = None) -> VersionDiff:
    """Compare two archived versions of the document ``ref`` (id or symbol).

    ``old`` / ``new`` are sha256 prefixes; by default the last two archived versions.
    """
    doc = find_document(index, ref)
    versions = [v for v in index.archived_versions(doc.id) if v.sha256 and blobs.has(v.sha256)]
    before, after = _pick(versions, old, new, doc.id)
    result = VersionDiff(doc, before, after, changes=_changes(before, after))
    old_text = inspector.extract_text(blobs.path_for(before.sha256 or ""))
    new_text = inspector.extract_text(blobs.path_for(after.sha256 or ""))
    result.text = list(difflib.unified_diff(
        old_text.splitlines(), new_text.splitlines(), lineterm="",
        fromfile=f"{doc.id}@{(before.sha256 or '')[:12]} ({before.observed_at})",
        tofile=f"{doc.id}@{(after.sha256 or '')[:12]} ({after.observed_at})"))
    return result


def _pick(versions: list[Observation], old: str | None, new: str | None,
          doc_id: str) -> tuple[Observation, Observation]:
    if len(versions) < 2 and not (old and new):
        raise NoVersions(f"{doc_id}: {len(versions)} archived version(s); 'linkwatch archive' keeps versions, "
                         "'linkwatch check' does not")
    after = _find(versions, new, doc_id) if new else versions[-1]
    if old:
        before = _find(versions, old, doc_id)
    elif versions.index(after) > 0:
        before = versions[versions.index(after) - 1]
    else:
        raise NoVersions(f"{doc_id}: no archived version older than {(after.sha256 or '')[:12]}")
    if before is after:
        raise NoVersions(f"{doc_id}: both sides are the same version")
    return before, after


def _find(versions: list[Observation], prefix: str, doc_id: str) -> Observation:
    found = [v for v in versions if (v.sha256 or "").startswith(prefix.lower())]
    if len(found) != 1:
        known = ", ".join((v.sha256 or "")[:12] for v in versions) or "none"
        raise NoVersions(f"{doc_id}: {'no' if not found else 'several'} archived versions match {prefix!r} "
                         f"(archived: {known})")
    return found[0]


def _changes(a: Observation, b: Observation) -> list[tuple[str, object, object]]:
    ia, ib = a.inspection, b.inspection
    pairs = [
        ("sha256", a.sha256, b.sha256), ("size", a.size, b.size), ("url", a.final_url, b.final_url),
        ("last_modified", a.last_modified, b.last_modified),
        ("pages", ia and ia.pages, ib and ib.pages), ("title", ia and ia.title, ib and ib.title),
        ("symbols", ia and ia.symbols, ib and ib.symbols), ("lang", ia and ia.lang, ib and ib.lang),
    ]
    return [(name, x, y) for name, x, y in pairs if x != y]
