"""BagIt export: archived versions as a BagIt 1.0 bag (RFC 8493), written with the ``bagit`` library.

``linkwatch export bagit DEST [--manifest M] [--all-versions]`` writes::

    DEST/
      bagit.txt                 BagIt-Version: 1.0
      bag-info.txt              Source-Organization, External-Description, Bagging-Date, Payload-Oxum…
      manifest-sha256.txt       the payload's fixity, two algorithms
      manifest-sha512.txt
      linkwatch-report.json     tag file: the latest state of the documents (as `linkwatch status --format json`)
      linkwatch-index.csv       tag file: one row per payload file (document, symbols, title, URL, time, hashes)
      tagmanifest-sha256.txt    the tag files' fixity
      tagmanifest-sha512.txt
      data/A_79_62-E_2024_3.en.pdf       the latest version judged ok of each document
      data/A_79_62-E_2024_3.en.2024-05-01_1a2b3c4d.pdf   (--all-versions: every version judged ok, dated)
      data/evidence/A_78_1.en.wrong-document.2024-05-01_1a2b3c4d.pdf   (--evidence: kept versions not ok)

Only a version judged ``ok`` is named as the cited document. A kept version that was not (the ODS
placeholder, another document or language) is evidence of what the URL served: it is exported
only with ``--evidence``, under ``data/evidence/`` with its status, and what page 1 showed, in its
name; the CSV index says which rows are ``cited`` and which ``evidence``.

Payload file names are made here from the document's symbol (else its id) and language — never from
anything a server sent — and are portable: ASCII letters, digits, ``.``, ``_`` and ``-`` only, no
leading dot, at most :data:`MAX_NAME` characters, unique even on case-insensitive file systems.

The bag is built in a temporary folder next to DEST and renamed into place when complete: a
reader never finds half a bag under DEST. The bytes copied into the bag are checked against the
sha256 and sha512 the index recorded at ingest; any difference stops the export (exit 3, run
``linkwatch verify``). Each exported snapshot is recorded as an ``export`` event.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import bagit

from .. import __version__
from ..compare import still_cited
from .blobs import BlobStore
from .fixity import Tampered, copy_verified
from .index import Event, Index
from ..manifest import Document, Manifest
from ..observation import Observation
from .record import AGENT
from ..report.model import SYMBOL_JOINER, Report
from ..run import RunFailed
from ..timestamps import now
from .warc import ExportRefused

CHECKSUMS = ("sha256", "sha512")
MAX_NAME = 120  # characters of a payload file name, extension included
REPORT_FILE = "linkwatch-report.json"
INDEX_FILE = "linkwatch-index.csv"
INDEX_COLUMNS = ("file", "role", "document_id", "symbols", "title", "status", "url", "retrieved_at", "last_seen_at",
                 "sha256", "sha512", "size", "content_type", "page1_symbols", "page1_title", "page1_lang")
EVIDENCE_DIR = "evidence"
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): such a cell
# from a stranger (a PDF's title, a server's Content-Type) is written with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
# bagit.make_bag and Bag.save change the working directory while they run: one at a time.
_BAGIT_LOCK = threading.Lock()



@dataclass(frozen=True)
class Version:
    """One archived version of one document, chosen for the bag."""

    document: Document
    observation: Observation  # the first observation that fetched these bytes
    last_seen_at: str  # the last observation that saw them
    sha256: str
    sha512: str
    size: int
    content_type: str | None
    status: str = "ok"  # "ok" when any observation judged these bytes ok; else the latest status

    @property
    def cited(self) -> bool:
        """Presented as the cited document (else: evidence of what the URL served)."""
        return self.status == "ok"


@dataclass(frozen=True)
class ExportedBag:
    path: Path
    documents: int  # documents with at least one version in the bag
    files: int
    bytes: int
    skipped: tuple[str, ...]  # ids of documents with no archived version


def export(index: Index, blobs: BlobStore, dest: Path, documents: list[Document], report: Report, *,
           all_versions: bool = False, organization: str | None = None, manifest: Manifest | None = None,
           evidence: bool = False) -> ExportedBag:
    """Write a BagIt bag of the archived versions of ``documents`` at ``dest``.

    Raises :class:`ExportRefused` when ``dest`` exists and is not an empty folder, or nothing is
    archived; :class:`~linkwatch.run.RunFailed` when a blob is missing or no longer matches the index.
    """
    dest = Path(dest)
    _check_destination(dest)
    chosen: list[Version] = []
    skipped: list[str] = []
    for doc in documents:
        versions = archived_versions(index, doc, all_versions, evidence)
        chosen += versions
        if not versions:
            skipped.append(doc.id)
    if not chosen:
        raise ExportRefused("nothing to export: no selected document has a kept version judged ok "
                            "(run 'linkwatch archive' first, check --archive / --manifest, or add --evidence "
                            "for the versions that were not ok)")
    names = payload_names(chosen, dated=all_versions)
    for v in chosen:
        if not blobs.has(v.sha256):
            _fail(index, v, f"blob {BlobStore.relative_path(v.sha256)} is missing")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        (work / EVIDENCE_DIR).mkdir()
        for v, name in zip(chosen, names):
            try:  # re-hashed on the way: a changed or symlinked blob never reaches a bag
                copy_verified(blobs.path_for(v.sha256), work / name, v.sha256, v.sha512)
            except Tampered as exc:
                _fail(index, v, str(exc))
        if not any((work / EVIDENCE_DIR).iterdir()):
            (work / EVIDENCE_DIR).rmdir()
        info = _bag_info(organization, manifest, len(chosen), len(documents) - len(skipped), all_versions)
        with _BAGIT_LOCK:
            bag = bagit.make_bag(str(work), info, processes=1, checksums=list(CHECKSUMS))
        for v, name in zip(chosen, names):  # the copy is what the index says was ingested
            entry = bag.entries.get(f"data/{name}", {})
            if entry.get("sha256") != v.sha256 or entry.get("sha512") != v.sha512:
                _fail(index, v, f"blob {BlobStore.relative_path(v.sha256)} no longer matches its recorded "
                                "sha256/sha512; run 'linkwatch verify'")
        (work / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8")
        (work / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
        (work / INDEX_FILE).write_text(_index_csv(chosen, names), encoding="utf-8", newline="")
        with _BAGIT_LOCK:
            bag = bagit.Bag(str(work))
            bag.save()  # bag-info.txt and the tag manifests, now covering bagit.txt and our tag files
        _give_umask_modes(work)
        _fsync_tree(work)
        _check_destination(dest)
        if dest.is_dir():
            dest.rmdir()  # empty (just checked): the bag takes its place
        os.rename(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    at = now()
    index.add_events([Event(at=at, kind="export", outcome="success", sha256=v.sha256, document_id=v.document.id,
                            agent=AGENT, detail=f"exported to BagIt bag {dest} as data/{name}")
                      for v, name in zip(chosen, names)])
    total = sum(v.size for v in chosen)
    return ExportedBag(dest, len(documents) - len(skipped), len(chosen), total, tuple(skipped))


def archived_versions(index: Index, doc: Document, all_versions: bool, evidence: bool = False) -> list[Version]:
    """The document's kept versions judged ``ok``, oldest first (``all_versions``), or its latest
    one; with ``evidence``, also every kept version that was never judged ok."""
    first: dict[str, Observation] = {}
    last: dict[str, str] = {}
    status: dict[str, str] = {}
    for obs in index.history(doc.id):
        if obs.sha256:
            first.setdefault(obs.sha256, obs)
            last[obs.sha256] = obs.observed_at
            if status.get(obs.sha256) != "ok":
                # ok then, and still the document cited now (the manifest may cite another symbol under this id)
                judged = obs.status or "unverified"
                status[obs.sha256] = "wrong-document" if judged == "ok" and not still_cited(doc, obs.inspection) else judged
    versions = []
    for sha256, obs in first.items():
        row = index.snapshot(sha256)
        if row is not None:
            versions.append(Version(doc, obs, last[sha256], sha256, row["sha512"], int(row["size"]),
                                    row["content_type"], status[sha256]))
    cited = [v for v in versions if v.cited]
    if not all_versions:
        latest = index.latest_archived(doc.id, doc)
        cited = [v for v in cited if latest and v.sha256 == latest[0]]
    return cited + ([v for v in versions if not v.cited] if evidence else [])


def payload_names(versions: list[Version], dated: bool = False) -> list[str]:
    """A safe, portable and unique file name for each version, in order."""
    taken: set[str] = set()
    names = []
    for v in versions:
        ins = v.observation.inspection
        lang = v.document.lang or (ins.lang if ins else None)
        extra = f"{v.observation.observed_at[:10]}_{v.sha256[:8]}" if dated or not v.cited else None
        if v.cited:
            name = payload_name(v.document, lang, _extension(v), extra)
        else:  # its status, and what page 1 showed when it showed a symbol, before the date
            shows = f"shows-{_safe(ins.symbols[0].replace('/', '_'))}" if ins and ins.symbols else None
            label = ".".join(p for p in (v.status, shows, extra) if p)
            name = f"{EVIDENCE_DIR}/" + payload_name(v.document, lang, _extension(v), label)
        if name.lower() in taken:
            stem, ext = name.rsplit(".", 1)
            n = 2
            while f"{stem}_{n}.{ext}".lower() in taken:
                n += 1
            name = f"{stem}_{n}.{ext}"
        taken.add(name.lower())
        names.append(name)
    return names


def payload_name(doc: Document, lang: str | None, ext: str, extra: str | None = None) -> str:
    """``A/79/62–E/2024/3``, ``en``, ``pdf`` → ``A_79_62-E_2024_3.en.pdf`` (documents without a
    symbol use their id). ``extra`` (a date and short hash) goes before the extension."""
    base = "-".join(_safe(s.replace("/", "_")) for s in doc.symbols) if doc.symbols else _safe(doc.id)
    base = base.strip("._-") or "document"
    if base.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        base += "_"
    tail = "".join(f".{_safe(part)}" for part in (lang, extra) if part and _safe(part)) + f".{_safe(ext) or 'bin'}"
    room = MAX_NAME - len(tail)
    if len(base) > room:  # keep it unique: a hash of the whole stem replaces the cut-off end
        digest = hashlib.sha256(base.encode()).hexdigest()[:8]
        base = base[: room - 9].rstrip("._-") + "~" + digest
    return base + tail


def payload_oxum(path: Path) -> str:
    """The Payload-Oxum (``bytes.files``) of a bag."""
    return str(bagit.Bag(str(path)).info.get("Payload-Oxum", ""))


# -- helpers ---------------------------------------------------------------------------------------
def _safe(text: str) -> str:
    """ASCII letters, digits, ``.``, ``_`` and ``-``; accents dropped, anything else ``_``; no leading dot."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = ascii_text.replace("*", "")  # "A/79/62*" (a reissue mark) is the same document
    return re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", ascii_text)).strip("._-")


def _extension(v: Version) -> str:
    sniffed = v.observation.sniffed
    if sniffed in ("pdf", "html"):
        return sniffed
    if v.content_type == "application/pdf":
        return "pdf"
    if v.content_type in ("text/html", "application/xhtml+xml"):
        return "html"
    return "bin"


def _check_destination(dest: Path) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise ExportRefused(f"{dest} exists and is not a folder; give a new or empty folder")
    if dest.is_dir() and any(dest.iterdir()):
        raise ExportRefused(f"{dest} exists and is not empty; give a new or empty folder "
                            "(linkwatch never writes into an existing bag)")


def _bag_info(organization: str | None, manifest: Manifest | None, files: int, documents: int,
              all_versions: bool) -> dict[str, str]:
    org = organization or os.environ.get("LINKWATCH_ORGANIZATION") or "linkwatch"
    if manifest is not None:
        cited = manifest.title or Path(manifest.path).name
        source = f" ({manifest.source})" if manifest.source else ""
        description = (f"Documents cited in {cited}{source}, as archived by linkwatch: "
                       f"{'every archived version' if all_versions else 'the latest archived version'} of each, "
                       "with its fixity, a JSON report of their state and a CSV index.")
    else:
        description = ("Documents watched and archived by linkwatch: "
                       f"{'every archived version' if all_versions else 'the latest archived version'} of each, "
                       "with its fixity, a JSON report of their state and a CSV index.")
    return {
        "Source-Organization": org,
        "External-Description": description,
        "Bagging-Date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "Bag-Software-Agent": f"linkwatch {__version__} (bagit.py {bagit.VERSION})",
        "Internal-Sender-Description": f"{files} archived version(s) of {documents} document(s); "
                                       f"{INDEX_FILE} maps payload files to documents",
    }


def _index_csv(versions: list[Version], names: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(INDEX_COLUMNS)
    for v, name in zip(versions, names):
        obs, doc, ins = v.observation, v.document, v.observation.inspection
        title = doc.title or (ins.title if ins else None) or ""
        writer.writerow([csv_cell(c) for c in (
            f"data/{name}", "cited" if v.cited else "evidence", doc.id, SYMBOL_JOINER.join(doc.symbols), title,
            v.status, obs.final_url or obs.url, obs.observed_at, v.last_seen_at, v.sha256, v.sha512, v.size,
            v.content_type or "", SYMBOL_JOINER.join(ins.symbols) if ins else "", (ins.title or "") if ins else "",
            (ins.lang or "") if ins else "")])
    return out.getvalue()


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs as a formula: text starting with ``=``, ``+``, ``-``,
    ``@`` or a control character gets a leading apostrophe (OWASP's CSV-injection advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _give_umask_modes(root: Path) -> None:
    """Folders made by ``mkdtemp`` (the bag, and ``data/`` by the bagit library) are 0700 whatever
    the umask: give every folder and file the mode the umask gives new ones, so a repository's
    ingest account can read the bag as it can read anything else this user writes."""
    mask = os.umask(0)
    os.umask(mask)
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o666 & ~mask)


def _fail(index: Index, v: Version, problem: str) -> None:
    index.add_event(Event(at=now(), kind="export", outcome="failure", sha256=v.sha256, document_id=v.document.id,
                          agent=AGENT, detail=f"not exported to a BagIt bag: {problem}"))
    raise RunFailed(f"{v.document.id}: {problem}; no bag written")


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
