"""The two engines that read a PDF's page 1 in-process (only :mod:`linkwatch.pdf.worker` calls them,
inside a sandboxed process).

- "poppler" (:func:`read_pdf_poppler`, the default when ``pdftotext`` is on PATH): page 1's words and
  boxes from ``pdftotext -raw -bbox``, a child of the worker under the same limits, while pypdf
  checks the file's structure alongside (page count, encryption, /Title, page 1's content streams
  decoded under pypdf's decompression limits), so that malformed, encrypted and
  decompression-bomb files get the very errors the pypdf engine gives.
- "pypdf" (:func:`read_pdf`, the fallback): pypdf's text runs with their positions and sizes.

Both turn page 1 into a :class:`linkwatch.pdf.page.Page` and read it with the same rules
(:func:`linkwatch.pdf.reading.read_page`).
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

from .model import Inspection, InspectError
from .page import PDFTOTEXT_ARGS, Page, from_bbox, from_pypdf
from .reading import read_page

ENGINES = ("auto", "poppler", "pypdf")
ENGINE_ENV = "LINKWATCH_INSPECT_ENGINE"


def resolve_engine(engine: str | None = None) -> str:
    """"poppler" or "pypdf": ``engine``, else $LINKWATCH_INSPECT_ENGINE, else "auto" (poppler's
    pdftotext when it is on PATH, pypdf otherwise). Raises ValueError for an unknown name or for
    "poppler" without pdftotext."""
    name = (engine or os.environ.get(ENGINE_ENV) or "auto").strip().lower()
    if name not in ENGINES:
        raise ValueError(f"unknown inspection engine {name!r} (choose from {', '.join(ENGINES)})")
    if name == "pypdf":
        return name
    if shutil.which("pdftotext"):
        return "poppler"
    if name == "poppler":
        raise ValueError("inspection engine 'poppler' needs pdftotext on PATH (package poppler-utils)")
    return "pypdf"


def classify_error(exc: BaseException) -> str:
    """The Inspection.error string for an exception raised while reading a PDF."""
    from pypdf import errors

    if isinstance(exc, InspectError):
        return exc.kind
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, errors.LimitReachedError):
        return "memory"  # pypdf's own decompression-bomb guard tripped
    if isinstance(exc, (errors.FileNotDecryptedError, errors.WrongPasswordError)):
        return "encrypted"
    if isinstance(exc, errors.DependencyError) and "crypt" in str(exc).lower():
        return "encrypted"  # AES without the cryptography package: unreadable all the same
    detail = " ".join(str(exc).split())[:160]
    return f"malformed: {type(exc).__name__}: {detail}" if detail else f"malformed: {type(exc).__name__}"


# Files up to this size are read into memory first (pypdf parses a BytesIO faster than a file);
# bigger ones are read lazily through the open file, so a 500 MB PDF with a small page 1 costs its
# cross-reference table and page 1, not 500 MB (pypdf reads a *path* whole into memory).
IN_MEMORY_MAX = 16 * 2**20


@contextlib.contextmanager
def _reader(path: str | os.PathLike[str]) -> Iterator[Any]:  # Iterator[pypdf.PdfReader]
    """An open, readable PdfReader; raises InspectError("encrypted") when it cannot be decrypted."""
    from pypdf import PdfReader

    with open(path, "rb") as fh:
        small = os.fstat(fh.fileno()).st_size <= IN_MEMORY_MAX
        reader = PdfReader(io.BytesIO(fh.read()) if small else fh)
        # Many PDFs are encrypted only to set permissions, with an empty user password: readable.
        if reader.is_encrypted and not reader.decrypt(""):
            raise InspectError("encrypted")
        yield reader


def _meta_title(reader: Any) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - a broken Info dictionary must not hide page-1 facts
        return None
    return title if isinstance(title, str) else None


_TREE_DEPTH = 32  # page trees are a few levels deep; deeper is a loop or an attack


def _check_structure(reader: Any) -> int:
    """The page count, with page 1's content streams decoded under pypdf's limits (a bomb raises).

    The catalog's /Count and page 1 found down the first kids, without loading every page object
    (``len(reader.pages)`` flattens the whole tree: ~40 % of the time pypdf spent here); any doubt
    (no /Count, a loop, a deep tree, an odd node) falls back to pypdf's full walk, which raises
    what the pypdf engine raises."""
    try:
        node = reader.trailer["/Root"].get_object()["/Pages"].get_object()
        count = node["/Count"]
        seen: set[int] = set()
        for _ in range(_TREE_DEPTH):
            if node.get("/Type") == "/Page" or "/Kids" not in node:
                break
            if id(node) in seen:
                raise ValueError("page tree loop")
            seen.add(id(node))
            node = node["/Kids"][0].get_object()
        else:
            raise ValueError("page tree too deep")
        if not isinstance(count, int) or count < 1 or node.get("/Type") != "/Page":
            raise ValueError("odd page tree")
    except Exception:  # noqa: BLE001 - the full walk decides (and raises the engine's error)
        pages = len(reader.pages)
        if pages:
            reader.pages[0].get_contents()  # decoded only: a bomb raises here
        return pages
    contents = node.get("/Contents")
    contents = contents.get_object() if contents is not None else None
    for stream in contents if isinstance(contents, list) else [contents] if contents is not None else []:
        stream.get_object().get_data()  # decoded only: a bomb raises here
    return int(count)


def read_pdf(path: str | os.PathLike[str]) -> Inspection:
    """Inspect one PDF in this process with pypdf alone (call it inside a worker, not in the pipeline)."""
    try:
        with _reader(path) as reader:
            pages = len(reader.pages)
            ins = read_page(from_pypdf(reader.pages[0]) if pages else Page(), _meta_title(reader))
        ins.pages = pages
        return ins
    except Exception as exc:  # noqa: BLE001 - anything pypdf raises (MemoryError too) is a finding
        return Inspection(error=classify_error(exc))


def read_text(path: str | os.PathLike[str], max_pages: int | None = None) -> str:
    """Full text of a PDF, pages separated by form feeds (raises on unreadable files)."""
    with _reader(path) as reader:
        pages = reader.pages if max_pages is None else reader.pages[:max_pages]
        return "\f".join(p.extract_text() or "" for p in pages)


# Below this size pypdf reads page 1 in ~1 ms, less than starting pdftotext costs (~5 ms): a full
# check of 10,000 one-page 700-byte PDFs took 44 s with pdftotext for every file, 26 s with pypdf.
# The UN documents (80 KB and up) all go to pdftotext.
POPPLER_MIN_SIZE = 16 * 1024


def read_pdf_poppler(path: str | os.PathLike[str], pdftotext: str = "pdftotext") -> Inspection:
    """Inspect one PDF in this process with poppler's pdftotext for page 1's text and pypdf for the
    rest (call it inside a worker: pdftotext inherits the worker's limits).

    pdftotext runs while pypdf opens the file alongside: its structure (page count, encryption,
    /Title) and page 1's content streams decoded under pypdf's decompression limits, so that
    malformed, encrypted and decompression-bomb files get the very errors the pypdf engine gives.
    When pdftotext fails on a file pypdf could open, and for files under POPPLER_MIN_SIZE, the
    file is read by pypdf alone.
    """
    path = os.path.abspath(path)  # never mistaken for an option
    try:
        if os.path.getsize(path) < POPPLER_MIN_SIZE:
            return read_pdf(path)
        with subprocess.Popen([pdftotext, *PDFTOTEXT_ARGS, path, "-"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
            try:
                with _reader(path) as reader:
                    pages = _check_structure(reader)
                    meta_title = _meta_title(reader)
                bbox, _ = proc.communicate()
            finally:
                if proc.poll() is None:
                    proc.kill()
        if proc.returncode != 0 or b"<page " not in bbox:
            return read_pdf(path)
        ins = read_page(from_bbox(bbox), meta_title)
        ins.pages = pages
        return ins
    except Exception as exc:  # noqa: BLE001 - as read_pdf: every failure is a finding
        return Inspection(error=classify_error(exc))

