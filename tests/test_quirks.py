"""Resolver quirks, each imitated by the local server and judged end to end: a WAF challenge is
``blocked`` (not ``ok``), an empty 200 is ``wrong-type``, an HTML viewer page where a PDF was
expected is ``wrong-type``, and the ODS placeholder PDF is ``wrong-document``."""
from __future__ import annotations

from pathlib import Path

from httpserver import Content, LocalServer, challenge

import linkwatch
from linkwatch.un import quirks
from linkwatch.un.resolve import Resolvers

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)
ODS_PATH = "/api/symbol/access"

# What undocs.org / docs.un.org answer to a browser: a viewer page embedding the PDF.
VIEWER = (b"<!DOCTYPE html><html><head><title>A/79/62 - E - A/79/62</title></head><body>"
          b"<iframe src=\"/api/symbol/access?s=A/79/62&l=en&t=pdf\" width=\"100%\"></iframe></body></html>")


def _check(server: LocalServer, tmp_path: Path, symbol: str = "A/79/62"):
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nsymbol = "{symbol}"\nlang = "en"\n', encoding="utf-8")
    resolvers = Resolvers(ods=server.base_url, undocs=server.url("/undocs").rstrip("/"))
    (doc,) = linkwatch.check(path, archive=tmp_path / "archive", resolvers=resolvers, **FAST).documents
    return doc


def test_waf_challenge_202_is_blocked_not_ok(server: LocalServer, tmp_path: Path) -> None:
    server.route(ODS_PATH, challenge(202))
    doc = _check(server, tmp_path)
    assert doc.http_status == 202
    assert doc.status == "blocked"
    assert doc.findings[0].severity == "warning" and "challenge" in doc.findings[0].message
    assert quirks.is_bot_challenge(202, {"X-Amzn-Waf-Action": "challenge"})


def test_empty_200_is_wrong_type(server: LocalServer, tmp_path: Path) -> None:
    server.route(ODS_PATH, Content(b"", "application/pdf"))
    doc = _check(server, tmp_path)
    assert doc.http_status == 200 and doc.size == 0
    assert doc.status == "wrong-type" and "empty" in doc.findings[0].message


def test_html_viewer_where_a_pdf_was_expected_is_wrong_type(server: LocalServer, tmp_path: Path) -> None:
    server.route(ODS_PATH, Content(VIEWER, "text/html; charset=utf-8"))
    doc = _check(server, tmp_path)
    assert doc.status == "wrong-type"
    assert "HTML" in doc.findings[0].message


def test_viewer_served_as_pdf_content_type_is_still_wrong_type(server: LocalServer, tmp_path: Path) -> None:
    # The bytes decide, not the label: a viewer page labelled application/pdf is not a PDF.
    server.route(ODS_PATH, Content(VIEWER, "application/pdf"))
    assert _check(server, tmp_path).status == "wrong-type"


def test_ods_placeholder_is_wrong_document(server: LocalServer, tmp_path: Path) -> None:
    server.route(ODS_PATH, Content.file(PDFS / "A_78_1.en.pdf", "application/pdf"))
    doc = _check(server, tmp_path, "A/78/1")
    assert doc.http_status == 200
    assert doc.status == "wrong-document" and "does not exist" in doc.findings[0].message
