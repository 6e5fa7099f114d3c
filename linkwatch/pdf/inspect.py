"""Stage 3: read a PDF's page 1 → its own symbols, title, language, pages.

The public face of :mod:`linkwatch.pdf`, split by concern:

- :mod:`.model`: :class:`Inspection`, what inspecting found (plain data);
- :mod:`.page`: page 1 as lines of type with their geometry, from either engine;
- :mod:`.reading`: the reading rules (own symbols, title, language) — docs/inspection.md;
- :mod:`.engines`: the poppler and pypdf readers, run inside a worker;
- :mod:`.pool`: :class:`Inspector`, the thread-safe pool of sandboxed worker processes.
"""
from __future__ import annotations

from .engines import (
    ENGINE_ENV, ENGINES, POPPLER_MIN_SIZE, classify_error, read_pdf, read_pdf_poppler, read_text, resolve_engine,
)
from .model import Inspection, InspectError
from .page import PDFTOTEXT_ARGS, Page, from_bbox, from_pypdf, from_text
from .pool import Inspector, inspect_files
from .reading import UN_NAMES, detect_language, find_title, own_symbols, parse_page1, read_page, title_key

__all__ = [
    "ENGINE_ENV", "ENGINES", "PDFTOTEXT_ARGS", "POPPLER_MIN_SIZE", "UN_NAMES", "InspectError", "Inspection",
    "Inspector", "Page", "classify_error", "detect_language", "find_title", "from_bbox", "from_pypdf",
    "from_text", "inspect_files", "own_symbols", "parse_page1", "read_page", "read_pdf", "read_pdf_poppler",
    "read_text", "resolve_engine", "title_key",
]
