"""Robust Links in the Markdown report: the original URL plus data-versionurl / data-versiondate."""
from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from httpserver import Content, LocalServer

import linkwatch
from linkwatch.compare import Finding
from linkwatch.report.formats import render
from linkwatch.report import DocumentResult, Report

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_RES_78_323.en.pdf"
SHA = "570a8817676ed84ac65aa1a3538559077171ff9c52261aa683f0c6a80f38f73a"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)


class Anchors(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.found.append(dict(attrs))


def doc(**kw: object) -> DocumentResult:
    base = dict(id="res", manifest="m.toml", line=4, kind="pdf", expected_symbols=["A/RES/78/323"],
                expected_title=None, url="https://undocs.org/en/A/RES/78/323", status="broken", severity="error",
                findings=[Finding("broken", "error", "HTTP 404")])
    return DocumentResult(**{**base, **kw})  # type: ignore[arg-type]


def report(*docs: DocumentResult, archive: str | None = "archive") -> Report:
    return Report(run_id=1, command="check", started_at="2025-06-01T02:00:00Z", finished_at="2025-06-01T02:01:00Z",
                  tool_version="0", manifests=["m.toml"], documents=list(docs), archive=archive)


def test_archived_copy_is_the_version_of_the_robust_link() -> None:
    d = doc(archived_sha256=SHA, archived_at="2025-01-02T03:04:05Z",
            archived_path=f"blobs/sha256/57/0a/{SHA}")
    text = render(report(d, archive="my archive"), "markdown")
    anchors = Anchors(text).found
    assert len(anchors) == 2  # the table's id cell and the Findings entry
    for a in anchors:
        assert a == {"href": "https://undocs.org/en/A/RES/78/323", "data-originalurl": "https://undocs.org/en/A/RES/78/323",
                     "data-versionurl": f"my%20archive/blobs/sha256/57/0a/{SHA}", "data-versiondate": "2025-01-02"}
    row = next(line for line in text.splitlines() if line.startswith("| ❌") and "`res`" in line)
    assert '>`res`</a> |' in row and len(re.findall(r"(?<!\\)\|", row)) == 7


def test_a_web_archive_capture_is_preferred_to_the_local_copy() -> None:
    d = doc(archived_sha256=SHA, archived_at="2025-01-02T03:04:05Z", archived_path=f"blobs/sha256/57/0a/{SHA}",
            memento_url="https://web.archive.org/web/20240101000000/https://undocs.org/en/A/RES/78/323",
            memento_at="2024-01-01T00:00:00Z", memento_matches=True)
    (first, _second) = Anchors(render(report(d), "markdown")).found
    assert first["data-versionurl"] == "https://web.archive.org/web/20240101000000/https://undocs.org/en/A/RES/78/323"
    assert first["data-versiondate"] == "2024-01-01" and first["href"] == "https://undocs.org/en/A/RES/78/323"


def test_attribute_values_are_escaped() -> None:
    hostile = 'https://x.org/a"onmouseover="alert(1)"|<b>&c'
    d = doc(url=hostile, memento_url='https://w.org/web/1/"><script>|', memento_at='2024-01-01"><x>')
    text = render(report(d), "markdown")
    assert "<script>" not in text and '"onmouseover' not in text and "<b>" not in text
    a = Anchors(text).found[0]
    assert a["href"] == a["data-originalurl"] == "https://x.org/a%22onmouseover=%22alert%281%29%22%7C%3Cb%3E&c"
    assert a["data-versionurl"] == "https://w.org/web/1/%22%3E%3Cscript%3E%7C"
    assert a["data-versiondate"] == "2024-01-01"
    row = next(line for line in text.splitlines() if line.startswith("| ❌") and "<a " in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 7


def test_without_a_known_version_links_stay_plain() -> None:
    text = render(report(doc(), archive="archive"), "markdown")
    assert "data-versionurl" not in text and "<a " not in text
    assert "| ❌ broken | `res` |" in text and "[A/RES/78/323](https://undocs.org/en/A/RES/78/323)" in text
    # an archived copy is no use when the report does not say where the archive is
    text = render(report(doc(archived_path=f"blobs/sha256/57/0a/{SHA}"), archive=None), "markdown")
    assert "data-versionurl" not in text


def test_status_markdown_links_the_archived_blob_on_disk(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/res.pdf", Content.file(PDF, "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{url}"\n')
    archive = tmp_path / "archive"
    first = linkwatch.archive(manifest, archive=archive, **FAST)
    assert first.archive == str(archive)
    state = linkwatch.status(archive=archive)
    assert state.archive == str(archive) and state.to_dict()["archive"] == str(archive)
    (a,) = Anchors(render(state, "markdown")).found  # ok: in the table only
    assert a["href"] == a["data-originalurl"] == url
    assert a["data-versiondate"] == (first.documents[0].checked_at or "")[:10]
    kept = Path(a["data-versionurl"] or "")
    assert kept.is_file() and hashlib.sha256(kept.read_bytes()).hexdigest() == SHA
    assert Report.from_dict(state.to_dict()).archive == str(archive)
