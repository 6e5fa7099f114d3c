"""Looking back without the network: the latest state of documents and every observation of one."""
from __future__ import annotations

from dataclasses import dataclass

from . import __version__
from .un import symbols as unsymbols
from .compare import Finding
from .store.index import Index
from .manifest import Document
from .observation import Observation
from .report.model import UNCHECKED, DocumentResult, Report
from .run import now, to_result


class UnknownDocument(LookupError):
    """No document in the index matches the id or symbol given."""


@dataclass
class Entry:
    """One observation of a document, with its findings (a line of ``linkwatch history``)."""

    observation: Observation
    findings: list[Finding]


def find_document(index: Index, ref: str) -> Document:
    """A document by id, else by one of its symbols (``A/79/62`` finds ``a-79-62``)."""
    doc = index.document(ref)
    if doc is not None:
        return doc
    matches = [d for d in index.documents() if any(unsymbols.same(ref, s) for s in d.symbols)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(d.id for d in matches)
        raise UnknownDocument(f"{ref!r} matches several documents ({ids}); give the id")
    raise UnknownDocument(f"no document {ref!r} in the index; run 'linkwatch check' first, "
                          "or see 'linkwatch status' for the ids")


def status(index: Index, documents: list[Document] | None = None, manifests: list[str] | None = None,
           campaign: str | None = None, title: str | None = None) -> Report:
    """The latest known state of ``documents`` (default: every document in the index); with a
    ``campaign``, as that campaign observed them (all its shards: one picture, no merge).
    ``title``: the manifests' titles (the HTML page's heading)."""
    docs = documents if documents is not None else index.documents()
    results = []
    for doc in docs:
        latest = index.latest(doc.id, campaign)
        if latest is None:  # listed, never observed: a run stopped before it (still counted)
            results.append(unchecked(doc))
            continue
        previous = index.before(latest)
        results.append(to_result(doc, latest, index.findings(latest.id or 0), previous, index))
    stamp = now()
    return Report(run_id=None, command="status", started_at=stamp, finished_at=stamp, tool_version=__version__,
                  manifests=manifests or sorted({d.manifest for d in docs}), documents=results,
                  archive=str(index.path.parent), title=title)


def unchecked(doc: Document) -> DocumentResult:
    """The report line of a document never observed: what is cited, no finding."""
    return DocumentResult(id=doc.id, manifest=doc.manifest, line=doc.line, kind=doc.kind,
                          expected_symbols=list(doc.symbols), expected_title=doc.title, url=doc.url,
                          status=UNCHECKED, severity=None)


def history(index: Index, ref: str) -> tuple[Document, list[Entry]]:
    """Every observation of one document, oldest first."""
    doc = find_document(index, ref)
    return doc, [Entry(o, index.findings(o.id or 0)) for o in index.history(doc.id)]
