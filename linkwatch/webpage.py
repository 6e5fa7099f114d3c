"""Inspect an HTML page (``kind = "page"`` documents): its title and declared language.

Only the first :data:`MAX_BYTES` are parsed: a page's <title> is in its <head>, and a hostile
server must not make linkwatch parse megabytes of markup.
"""
from __future__ import annotations

from pathlib import Path

from .pdf.inspect import Inspection

MAX_BYTES = 256 * 1024


def inspect_page(path: Path) -> Inspection:
    with open(path, "rb") as fh:
        head = fh.read(MAX_BYTES)
    from bs4 import BeautifulSoup  # here: 64 ms of imports that PDF-only runs never need

    try:
        soup = BeautifulSoup(head, "html.parser")
    except Exception as exc:  # bs4 on hostile markup: report, never crash the run
        return Inspection(error=f"malformed: {exc.__class__.__name__}")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    html = soup.find("html")
    lang = html.get("lang") if html is not None else None
    lang = str(lang).split("-")[0].lower() if lang else None
    return Inspection(title=" ".join(title.split()) if title else None, lang=lang)
