"""The library API: one call per job. The command line is a thin shell over these functions.

    >>> import linkwatch
    >>> report = linkwatch.check("manifests/cstd-wsis.toml", archive="archive")
    >>> [(d.id, d.status) for d in report.documents]
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import manifest as _manifest
from .run import Options, execute

if TYPE_CHECKING:
    import sys

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:  # pragma: no cover - type checkers only
        from typing_extensions import Unpack

    from .run import Planned, RunOptions
    from .un import discover as _discover
    from .un import resolve as _resolve
    from . import timeline as _timeline
    from .store.fixity import FixityReport
    from .store.blobs import BlobStore
    from .store.index import Event, Index
    from .store.s3 import S3BlobStore
    from .pdf.inspect import Inspection
    from .manifest import Document
    from .report.model import Report
    from .versions import VersionDiff

# Each function imports what only it needs (discover, fixity, versions, warc export…), so that
# `linkwatch check` loads none of them.


def options(**overrides: Any) -> Options:
    """:class:`~linkwatch.run.Options` with keyword overrides (``archive`` may be a str)."""
    if "archive" in overrides and overrides["archive"] is not None:
        overrides["archive"] = Path(overrides["archive"])
    else:
        overrides.pop("archive", None)
    return dataclasses.replace(Options(), **overrides)


def check(manifests: str | Path | list[str | Path], **opts: Unpack[RunOptions]) -> Report:
    """Fetch, verify and compare every document of the manifests; record observations (no bytes).

    Keyword options are the fields of :class:`~linkwatch.run.Options` (``archive``, ``concurrency``,
    ``per_host``, ``timeout``, ``retries``, ``max_size``…). Raises
    :class:`~linkwatch.manifest.ManifestError` for a bad manifest and
    :class:`~linkwatch.run.RunFailed` when the archive is unusable.
    """
    return execute(_paths(manifests), options(**opts), command="check")


def archive(manifests: str | Path | list[str | Path], **opts: Unpack[RunOptions]) -> Report:
    """Like :func:`check`, and keep every new version's bytes in the archive's blob store."""
    return execute(_paths(manifests), options(**opts), command="archive")


def dry_run(manifests: str | Path | list[str | Path], **opts: Unpack[RunOptions]) -> list[Planned]:
    """What :func:`check` would request, per document (method, URLs in order, proxy), without the
    network and without opening the archive. Raises :class:`~linkwatch.manifest.ManifestError`."""
    from .run import dry_run as _dry_run

    return _dry_run(_paths(manifests), options(**opts))


def status(manifests: str | Path | list[str | Path] | None = None, archive: str | Path | None = None,
           index: str | None = None, store: str | None = None, campaign: str | None = None) -> Report:
    """The latest known state from the index, without the network (all documents, or a manifest's)."""
    from . import timeline as _timeline

    from .run import manifest_titles

    paths = _paths(manifests) if manifests else []
    loaded = _manifest.load_all(paths) if paths else []
    docs = [d for m in loaded for d in m.documents] if paths else None
    with _open(archive, index, store) as opened:
        return _timeline.status(opened.index, docs, paths or None, campaign, title=manifest_titles(loaded))


def history(document: str, archive: str | Path | None = None,
            index: str | None = None, store: str | None = None) -> tuple[Document, list[_timeline.Entry]]:
    """Every observation of one document (by id or symbol), oldest first."""
    from . import timeline as _timeline

    with _open(archive, index, store) as opened:
        return _timeline.history(opened.index, document)


def diff(document: str, old: str | None = None, new: str | None = None,
         archive: str | Path | None = None, index: str | None = None, store: str | None = None) -> VersionDiff:
    """Metadata changes and a unified text diff between two archived versions (default: the last two)."""
    from .pdf.inspect import Inspector
    from .versions import diff as _diff

    with _open(archive, index, store) as opened:
        with Inspector(workers=1) as inspector:
            return _diff(opened.index, opened.blobs, inspector, document, old, new)


def inspect_files(files: str | Path | list[str | Path], workers: int = 2, timeout: float = 60.0) -> list[tuple[str, Inspection]]:
    """Symbols, title, language and pages of local PDFs, each in the sandboxed worker. No network."""
    from .pdf.inspect import Inspector
    from .pdf.inspect import inspect_files as inspect_all

    paths = [str(p) for p in _paths(files)]
    with Inspector(workers=workers, timeout=timeout) as inspector:
        return inspect_all(paths, inspector)


def verify(archive: str | Path | None = None, sample_percent: float | None = None,
           index: str | None = None, store: str | None = None) -> FixityReport:
    """Re-hash every stored snapshot and re-read every WARC record (or a random ``sample_percent``
    of them) against the index; no network. Safe while ``archive`` runs on the same archive."""
    from .store import fixity as _fixity

    with _open(archive, index, store) as opened:
        return _fixity.verify(opened.index, opened.blobs, sample_percent,
                              warc_dir=opened.blobs.warcs(opened.root / "warc"), tmp=opened.root / "tmp")


def events(document: str | None = None, archive: str | Path | None = None,
           index: str | None = None, store: str | None = None) -> list[Event]:
    """Preservation events (ingest, fixity-check, export) of one document (id or symbol), or all."""
    from . import timeline as _timeline

    with _open(archive, index, store) as opened:
        doc_id = _timeline.find_document(opened.index, document).id if document else None
        return opened.index.events(doc_id)


def export_warc(dest: str | Path, manifest: str | Path | None = None, archive: str | Path | None = None,
                index: str | None = None, store: str | None = None) -> int:
    """Write one WARC (``*.warc.gz``) with the latest archived version judged ``ok`` of each document
    (of ``manifest``, or all); returns how many documents it holds."""
    from .store import warc as _warc

    with _open(archive, index, store) as opened:
        _check_dest(dest, manifest, opened)
        docs = _documents(opened, manifest)
        return _warc.export(opened.index, opened.blobs, Path(dest), docs)


def export_wacz(dest: str | Path, manifest: str | Path | None = None, archive: str | Path | None = None,
                index: str | None = None, store: str | None = None) -> int:
    """Write a WACZ 1.1.1 file (the export WARC, its CDXJ index, a page per document, hashes) for
    replay in ReplayWeb.page or pywb; returns the number of documents in it."""
    from .store import wacz as _wacz

    loaded = _manifest.load(str(manifest)) if manifest is not None else None
    with _open(archive, index, store) as opened:
        _check_dest(dest, manifest, opened)
        docs = list(loaded.documents) if loaded else opened.index.documents()
        title = (loaded.title or Path(loaded.path).name) if loaded else None
        return _wacz.export(opened.index, opened.blobs, Path(dest), docs, title).documents


def export_bagit(dest: str | Path, manifest: str | Path | None = None, all_versions: bool = False,
                 archive: str | Path | None = None, organization: str | None = None,
                 evidence: bool = False, index: str | None = None, store: str | None = None) -> Path:
    """Write a BagIt 1.0 bag at ``dest``: the latest (or every) archived version of each document
    (of ``manifest``, or all), sha256 + sha512 manifests, a JSON report and a CSV index as tag files.
    Only versions judged ``ok`` are named as the cited document; ``evidence`` adds the kept versions
    that were not (placeholders, other documents) under ``data/evidence/``, named by their status.

    Raises :class:`linkwatch.store.bag.ExportRefused` when ``dest`` is a non-empty folder or nothing is
    archived, :class:`~linkwatch.run.RunFailed` when a blob no longer matches the index."""
    from .store import bag as _bag
    from . import timeline as _timeline

    loaded = _manifest.load(str(manifest)) if manifest is not None else None
    with _open(archive, index, store) as opened:
        docs = list(loaded.documents) if loaded else opened.index.documents()
        report = _timeline.status(opened.index, docs, [loaded.path] if loaded else None)
        done = _bag.export(opened.index, opened.blobs, Path(dest), docs, report, all_versions=all_versions,
                           organization=organization, manifest=loaded, evidence=evidence)
        return done.path


@dataclasses.dataclass
class _Stored:
    """An archive opened by a read command: its index (never created, read-only where the folder
    cannot be written) and its blobs (a folder, or an object store). Closed by ``with``."""

    root: Path
    index: Index
    blobs: BlobStore | S3BlobStore

    def __enter__(self) -> _Stored:
        return self

    def __exit__(self, *exc: object) -> None:
        self.blobs.close()
        self.index.close()


def _check_dest(dest: str | Path, manifest: str | Path | None, store: _Stored) -> None:
    """An export file may not overwrite the manifest it reads nor land inside the archive."""
    from .outputs import check_output

    check_output(dest, reading=[manifest] if manifest is not None else [], archive=store.root, what="DEST")


def _open(archive: str | Path | None, index: str | None = None, store: str | None = None) -> _Stored:
    """The archive (``archive``, else $LINKWATCH_ARCHIVE, else ./archive; its index ``index``, else
    $LINKWATCH_INDEX, else the folder's SQLite file; its snapshots in ``store``, else
    $LINKWATCH_STORE, else the folder), opened to read.

    Raises :class:`~linkwatch.store.index.NoArchive` (exit 2) where there is none."""
    from .run import RunFailed
    from .store.archive import Unusable, index_errors, open_to_read
    from .store.index import SchemaTooNew, SchemaTooOld

    chosen = options(archive=archive, **{k: v for k, v in (("index", index), ("store", store)) if v})
    root = chosen.archive
    try:
        opened, blobs = open_to_read(root, chosen.index, chosen.store)
    except (SchemaTooNew, SchemaTooOld, Unusable) as exc:
        raise RunFailed(str(exc)) from None
    except index_errors() as exc:
        raise RunFailed(f"archive {root} is not usable: {exc}. Check the path and its permissions.") from None
    return _Stored(root, opened, blobs)


def _documents(store: _Stored, manifest: str | Path | None) -> list[Document]:
    if manifest is None:
        return store.index.documents()
    return [d for m in _manifest.load_all([str(manifest)]) for d in m.documents]


def resolve_symbol(symbol: str, lang: str = "en") -> list[_resolve.Place]:
    """The places a UN document symbol can be fetched from, in order (no network)."""
    from .un import resolve as _resolve

    return _resolve.resolve(symbol, lang)


def discover_references(source: str | Path, lang: str = "en", timeout: float = 60.0) -> _discover.Discovery:
    """The UN documents a file or URL (Markdown, text, HTML, PDF) cites; ``.to_toml()`` is a manifest.

    Raises :class:`linkwatch.un.discover.SourceError` when the source cannot be read."""
    from .un import discover as _discover

    return _discover.discover(str(source), lang=lang, timeout=timeout)


def merge_discovered(found: _discover.Discovery, manifest: str | Path) -> list[_discover.Reference]:
    """Append to ``manifest`` the discovered documents it does not list yet (its text, comments
    and order kept; written atomically); returns those added."""
    from .un import discover as _discover

    return _discover.merge(found, manifest)


def merge_reports(reports: str | Path | list[str | Path]) -> Report:
    """One report from JSON reports (e.g. of ``--shard`` CI jobs); see :mod:`linkwatch.report.merge`.

    Raises :class:`linkwatch.report.merge.MergeError` (a ValueError) for an unreadable or newer report.
    """
    from .report.merge import merge_files

    return merge_files(_paths(reports))


def lint(manifests: str | Path | list[str | Path]) -> list[Any]:
    """Every problem in the manifests, without the network: ``[Problem(path, line, field, message)]``."""
    from .lint import lint as _lint

    return _lint(_paths(manifests))


def _paths(value: str | Path | list[str | Path] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [str(value)]
    return [str(v) for v in value]
