"""WACZ 1.1.1 export: the export WARC packaged with its index, its page list and their hashes.

A WACZ (https://specs.webrecorder.net/wacz/1.1.1/) is a ZIP file that a replay tool opens as a
collection — ReplayWeb.page loads it in a browser, pywb can serve its contents — and that
`wacz validate` (py-wacz) checks. It holds:

```
archive/data.warc.gz     the export WARC: each document's latest version judged ok (linkwatch.warc)
indexes/index.cdxj       one CDXJ line per response record: SURT key, timestamp, JSON
pages/pages.jsonl        one page per document: its URL, capture time and cited title
datapackage.json         every file above with its sha256 and size (Frictionless data package)
datapackage-digest.json  the sha256 of datapackage.json
```

The WARC is stored (not deflated again) in the ZIP, as the specification requires, so a replay
tool reads records at their offsets; the rest is small and deflated. The file is built under a
temporary name next to DEST and renamed into place when complete.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from .. import __version__
from .blobs import BlobStore
from .index import Index
from ..manifest import Document
from .warc import ExportRefused, Exported, record_exports, write_export

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc.gz"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed time inside the ZIP: the same archive, the same bytes
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ExportedWacz:
    path: Path
    documents: int


def export(index: Index, blobs: BlobStore, dest: Path, documents: list[Document],
           title: str | None = None) -> ExportedWacz:
    """Write a WACZ at ``dest`` with each document's latest version judged ``ok``.

    :class:`~linkwatch.warc.ExportRefused` for a name not ending in ``.wacz`` or nothing to
    export; ``RunFailed`` when a blob no longer matches the index (nothing is written then).
    """
    dest = Path(dest)
    if dest.suffix != ".wacz" or dest.name == ".wacz":
        raise ExportRefused(f"{dest}: export wacz writes a WACZ file; name it *.wacz")
    if dest.is_dir():
        raise ExportRefused(f"{dest} is a folder; give a file name ending in .wacz")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    work = Path(name)
    try:
        with os.fdopen(fd, "w+b") as warc:
            written = write_export(warc, WARC_NAME, index, blobs, documents)
            if not written:
                raise ExportRefused("nothing to export: no document has a kept version judged ok "
                                    "(run 'linkwatch archive' first, or check --archive / --manifest)")
            warc.flush()
            warc.seek(0)
            cdxj = "".join(sorted(cdxj_lines(warc, WARC_NAME))).encode("utf-8")
            warc.seek(0)
            _write_zip(work.with_suffix(".zip"), warc, cdxj, _pages(written), title)
        os.replace(work.with_suffix(".zip"), dest)
    finally:
        work.unlink(missing_ok=True)
        work.with_suffix(".zip").unlink(missing_ok=True)
    _fix_mode(dest)
    record_exports(index, written, f"WACZ {dest}")
    return ExportedWacz(dest, len(written))


def cdxj_lines(warc: object, filename: str) -> Iterator[str]:
    """A CDXJ line (``surt timestamp {json}\\n``) for each response and revisit record of a WARC."""
    records = ArchiveIterator(warc)
    for record in records:
        kind = record.rec_type
        if kind not in ("response", "revisit"):
            continue
        url = record.rec_headers.get_header("WARC-Target-URI")
        stamp = re.sub(r"\D", "", record.rec_headers.get_header("WARC-Date") or "")[:14]
        entry: dict[str, str] = {"url": url}
        http = record.http_headers
        if kind == "revisit":
            entry["mime"] = "warc/revisit"
        elif http is not None:
            entry["mime"] = (http.get_header("Content-Type") or "unk").split(";")[0].strip() or "unk"
        if http is not None:
            entry["status"] = http.get_statuscode()
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        if digest:
            entry["digest"] = digest
        records.read_to_end(record)
        entry.update(length=str(records.get_record_length()), offset=str(records.get_record_offset()),
                     filename=filename)
        yield f"{surt(url)} {stamp} {json.dumps(entry, ensure_ascii=False)}\n"


def surt(url: str) -> str:
    """The SURT sort key replay tools look captures up by (``org,un,documents)/doc/x.pdf``).

    The common canonicalisation of pywb's ``surt`` package: lower case, ``www.`` dropped, host
    labels reversed, default port and fragment dropped, query arguments sorted."""
    parts = urlsplit(url.strip())
    host = re.sub(r"^www\d*\.", "", (parts.hostname or "").lower().rstrip("."))
    key = ",".join(reversed(host.split("."))) if host else ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        key += f":{port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return (key + ")" + (parts.path or "/") + (f"?{query}" if query else "")).lower()


def _pages(written: list[Exported]) -> bytes:
    """pages.jsonl: a header line, then one page per exported document (what a replay tool lists)."""
    lines = [{"format": "json-pages-1.0", "id": "pages", "title": "Cited documents"}]
    for e in written:
        obs, doc = e.observation, e.document
        page = {"id": hashlib.sha256(f"{doc.id}\n{obs.sha256}".encode()).hexdigest()[:32],
                "url": obs.final_url or obs.url, "ts": _iso(obs.observed_at)}
        title = doc.title or (obs.inspection.title if obs.inspection else None)
        if title:
            page["title"] = title
        lines.append(page)
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def _write_zip(path: Path, warc: object, cdxj: bytes, pages: bytes, title: str | None) -> None:
    resources = []
    with zipfile.ZipFile(path, "w", allowZip64=True) as z:
        info = zipfile.ZipInfo(f"archive/{WARC_NAME}", _ZIP_TIME)
        info.compress_type = zipfile.ZIP_STORED  # WACZ: WARCs stored, so records are read at their offsets
        digest, size = hashlib.sha256(), 0
        with z.open(info, "w", force_zip64=True) as out:
            while chunk := warc.read(1 << 20):  # type: ignore[attr-defined]
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        resources.append(_resource(info.filename, digest.hexdigest(), size))
        for name, data in (("indexes/index.cdxj", cdxj), ("pages/pages.jsonl", pages)):
            _add(z, name, data)
            resources.append(_resource(name, hashlib.sha256(data).hexdigest(), len(data)))
        package = {"profile": "data-package", "resources": resources, "wacz_version": WACZ_VERSION,
                   "title": title or "Documents archived by linkwatch",
                   "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "software": f"linkwatch {__version__}"}
        data = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
        _add(z, "datapackage.json", data)
        _add(z, "datapackage-digest.json", json.dumps(
            {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(data).hexdigest()}, indent=2).encode())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _add(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def _resource(path: str, sha256: str, size: int) -> dict[str, object]:
    return {"name": path.rsplit("/", 1)[-1].lower(), "path": path, "hash": f"sha256:{sha256}", "bytes": size}


def _iso(observed_at: str) -> str:
    return observed_at if observed_at.endswith("Z") else observed_at + "Z"


def _fix_mode(path: Path) -> None:
    """mkstemp creates 0600: give the file the mode the umask gives any new file."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
