"""End to end: manifests of real UN PDFs served by a misbehaving local server, through the library API."""
from __future__ import annotations

import io
import time
from pathlib import Path

from httpserver import Content, LocalServer, Redirect, Sequence, Status, soft_404, too_many
from pypdf import PdfReader, PdfWriter

import linkwatch
from linkwatch.report import Report

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=3, progress=False)


def manifest(tmp_path: Path, *docs: dict[str, str]) -> Path:
    """Write a manifest with one [[document]] per dict."""
    lines = ['[manifest]\ntitle = "test"\n\n[defaults]\nlang = "en"\n']
    for d in docs:
        lines.append("[[document]]")
        lines += [f'{k} = "{v}"' for k, v in d.items()]
        lines.append("")
    path = tmp_path / "m.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def by_id(report: Report) -> dict[str, object]:
    return {d.id: d for d in report.documents}


def run(command: str, path: Path, tmp_path: Path, **kw: object) -> Report:
    fn = linkwatch.archive if command == "archive" else linkwatch.check
    return fn(path, archive=tmp_path / "archive", **{**FAST, **kw})


def serve(server: LocalServer, name: str, path: str | None = None) -> str:
    return server.route(path or f"/{name}", Content.file(PDFS / name, "application/pdf"))


def test_all_ok_with_symbols_titles_and_hashes(server: LocalServer, tmp_path: Path) -> None:
    docs = [
        dict(id="res", symbol="A/RES/78/323", url=serve(server, "A_RES_78_323.en.pdf"),
             title="International Day of Women and Girls of African Descent"),
        dict(id="sc", symbol="S/RES/2768", url=serve(server, "S_RES_2768_2025.en.pdf")),
        dict(id="joint", symbol="A/79/716–S/2025/18", url=serve(server, "A_79_716.en.pdf")),
    ]
    report = run("check", manifest(tmp_path, *docs), tmp_path)
    results = by_id(report)
    assert {k: v.status for k, v in results.items()} == {"res": "ok", "sc": "ok", "joint": "ok"}
    res = results["res"]
    assert res.symbols == ["A/RES/78/323"] and res.pages == 3 and res.http_status == 200
    assert res.sha256 == "570a8817676ed84ac65aa1a3538559077171ff9c52261aa683f0c6a80f38f73a"
    assert res.title == "International Day of Women and Girls of African Descent"
    assert report.exit_code("error") == 0 and report.exit_code("warning") == 0
    assert not (tmp_path / "archive" / "blobs").exists() or not any((tmp_path / "archive" / "blobs").rglob("*.*"))


def test_404_is_broken_and_fails_the_run(server: LocalServer, tmp_path: Path) -> None:
    report = run("check", manifest(tmp_path, dict(id="gone", symbol="A/1", url=server.url("/missing.pdf"))), tmp_path)
    doc = report.documents[0]
    assert (doc.status, doc.http_status, doc.severity) == ("broken", 404, "error")
    assert report.exit_code("error") == 1 and report.exit_code("never") == 0


def test_permanent_redirect_is_moved_with_final_url(server: LocalServer, tmp_path: Path) -> None:
    new = serve(server, "A_RES_73_8-EN.pdf", "/new/A_RES_73_8.pdf")
    server.route("/old.pdf", Redirect("/new/A_RES_73_8.pdf", 301))
    report = run("check", manifest(tmp_path, dict(id="r", symbol="A/RES/73/8", url=server.url("/old.pdf"))), tmp_path)
    doc = report.documents[0]
    assert doc.status == "ok" and doc.final_url == new
    assert [f.kind for f in doc.findings] == ["moved"] and doc.severity == "warning"
    assert report.exit_code("error") == 0 and report.exit_code("warning") == 1


def test_ods_placeholder_and_mislabelled_translation_are_wrong_document(server: LocalServer, tmp_path: Path) -> None:
    docs = [dict(id="a-78-1", symbol="A/78/1", url=serve(server, "A_78_1.en.pdf")),
            dict(id="e-2024-1", symbol="E/2024/1", url=serve(server, "E_2024_1.en.pdf"))]
    results = by_id(run("check", manifest(tmp_path, *docs), tmp_path))
    placeholder, spanish = results["a-78-1"], results["e-2024-1"]
    assert placeholder.status == "wrong-document" and "placeholder" in placeholder.findings[0].message
    assert spanish.status == "wrong-document" and spanish.symbols == ["A/AC.292/2024/3"] and spanish.lang == "es"
    assert "A/AC.292/2024/3" in spanish.findings[0].message


def test_html_where_a_pdf_is_expected_is_wrong_type(server: LocalServer, tmp_path: Path) -> None:
    server.route("/soft404.pdf", soft_404())
    server.route("/empty.pdf", Content(b"", "application/pdf"))
    docs = [dict(id="html", symbol="A/1", url=server.url("/soft404.pdf")),
            dict(id="empty", symbol="A/2", url=server.url("/empty.pdf"))]
    results = by_id(run("check", manifest(tmp_path, *docs), tmp_path))
    assert results["html"].status == "wrong-type" and "HTML" in results["html"].findings[0].message
    assert results["empty"].status == "wrong-type" and "empty" in results["empty"].findings[0].message


def test_pdf_served_as_octet_stream_is_judged_by_its_bytes(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/doc", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/octet-stream"))
    report = run("check", manifest(tmp_path, dict(symbol="A/RES/78/323", url=url)), tmp_path)
    assert report.documents[0].status == "ok"


def test_second_run_is_conditional_and_server_sends_no_body(server: LocalServer, tmp_path: Path) -> None:
    path = manifest(tmp_path, dict(id="res", symbol="A/RES/78/323", url=serve(server, "A_RES_78_323.en.pdf")))
    first = run("check", path, tmp_path)
    assert server.body_bytes() == 259840
    server.reset_counts()
    second = run("check", path, tmp_path)
    assert server.hits() == 1 and server.body_bytes() == 0
    assert "if-none-match" in server.requests()[0].headers
    doc = second.documents[0]
    assert doc.not_modified and doc.status == "ok" and doc.sha256 == first.documents[0].sha256
    assert doc.symbols == ["A/RES/78/323"] and doc.findings == []  # inspection reused from the index


def test_503_twice_then_ok_is_retried(server: LocalServer, tmp_path: Path) -> None:
    pdf = Content.file(PDFS / "A_RES_73_8-EN.pdf", "application/pdf")
    url = server.route("/flaky.pdf", Sequence(Status(503), Status(503), pdf))
    report = run("check", manifest(tmp_path, dict(symbol="A/RES/73/8", url=url)), tmp_path)
    assert report.documents[0].status == "ok" and server.hits("/flaky.pdf") == 3


def test_429_with_retry_after_is_waited_for(server: LocalServer, tmp_path: Path) -> None:
    pdf = Content.file(PDFS / "A_RES_73_8-EN.pdf", "application/pdf")
    url = server.route("/limited.pdf", Sequence(too_many(1), pdf))
    started = time.monotonic()
    report = run("check", manifest(tmp_path, dict(symbol="A/RES/73/8", url=url)), tmp_path)
    assert report.documents[0].status == "ok" and server.hits("/limited.pdf") == 2
    assert time.monotonic() - started >= 0.9


def test_mirror_answers_when_primary_fails(server: LocalServer, tmp_path: Path) -> None:
    mirror = serve(server, "A_RES_73_8-EN.pdf", "/mirror.pdf")
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nsymbol = "A/RES/73/8"\nurl = "{server.url("/dead.pdf")}"\n'
                    f'mirrors = ["{mirror}"]\n')
    doc = run("check", path, tmp_path).documents[0]
    assert doc.status == "ok" and doc.url == mirror and [f.kind for f in doc.findings] == ["mirror"]


def _first_pages(src: Path, n: int) -> bytes:
    writer = PdfWriter()
    for page in PdfReader(src).pages[:n]:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_replaced_file_is_content_changed_archived_and_diffable(server: LocalServer, tmp_path: Path) -> None:
    original = PDFS / "A_RES_78_323.en.pdf"
    server.route("/res.pdf", Content.file(original, "application/pdf"))
    path = manifest(tmp_path, dict(id="res", symbol="A/RES/78/323", url=server.url("/res.pdf")))
    first = run("archive", path, tmp_path).documents[0]
    shorter = _first_pages(original, 1)  # same document, a new version: page 2 and 3 dropped
    server.route("/res.pdf", Content(shorter, "application/pdf"))
    second = run("archive", path, tmp_path).documents[0]
    assert second.status == "ok"
    changed = [f for f in second.findings if f.kind == "content-changed"]
    assert changed and first.sha256[:12] in changed[0].message and second.sha256[:12] in changed[0].message
    assert second.previous_sha256 == first.sha256
    blobs = sorted(p.name for p in (tmp_path / "archive" / "blobs").rglob("*") if p.is_file())
    assert blobs == sorted([first.sha256, second.sha256])
    result = linkwatch.diff("res", archive=tmp_path / "archive")
    assert ("pages", 3, 1) in result.changes
    removed = [line for line in result.text if line.startswith("-") and not line.startswith("---")]
    assert removed and not any(line.startswith("+") and not line.startswith("+++") for line in result.text)


def test_status_and_history_read_the_index_without_network(server: LocalServer, tmp_path: Path) -> None:
    path = manifest(tmp_path, dict(id="res", symbol="A/RES/78/323", url=serve(server, "A_RES_78_323.en.pdf")))
    run("check", path, tmp_path)
    server.route("/A_RES_78_323.en.pdf", Status(404))
    run("check", path, tmp_path)
    server.stop()
    state = linkwatch.status(archive=tmp_path / "archive")
    assert [(d.id, d.status) for d in state.documents] == [("res", "broken")]
    assert {f.kind for f in state.documents[0].findings} == {"broken", "gone"}
    doc, entries = linkwatch.history("A/RES/78/323", archive=tmp_path / "archive")
    assert doc.id == "res" and [e.observation.status for e in entries] == ["ok", "broken"]


def test_rerun_revalidates_in_bulk_and_fetches_only_what_changed(server: LocalServer, tmp_path: Path) -> None:
    # A re-run sends its conditional requests through the bulk path (fetch.Prober, a child
    # process): a 304 is judged from it alone, a 404 too; a changed document is fetched again
    # in full (its body read, hashed, inspected) — the only document costing two requests.
    original = PDFS / "A_RES_78_323.en.pdf"
    server.route("/same.pdf", Content.file(PDFS / "A_80_62.en.pdf", "application/pdf"))
    server.route("/changed.pdf", Content.file(original, "application/pdf"))
    server.route("/gone.pdf", Content.file(PDFS / "A_RES_73_8-EN.pdf", "application/pdf"))
    path = manifest(tmp_path, dict(id="same", symbol="A/80/62–E/2025/12", url=server.url("/same.pdf")),
                    dict(id="changed", symbol="A/RES/78/323", url=server.url("/changed.pdf")),
                    dict(id="gone", symbol="A/RES/73/8", url=server.url("/gone.pdf")))
    first = by_id(run("archive", path, tmp_path))
    server.route("/changed.pdf", Content(_first_pages(original, 1), "application/pdf"))
    server.route("/gone.pdf", Status(404))
    server.reset_counts()
    second = by_id(run("archive", path, tmp_path))
    assert [("if-none-match" in r.headers) for r in server.requests("/same.pdf")] == [True]
    assert [r.method for r in server.requests("/changed.pdf")] == ["GET", "GET"]
    assert server.hits("/gone.pdf") == 1
    assert second["same"].status == "ok" and second["same"].not_modified
    assert second["same"].symbols == ["A/80/62", "E/2025/12"] and second["same"].sha256 == first["same"].sha256
    assert second["changed"].sha256 != first["changed"].sha256 and second["changed"].pages == 1
    assert "content-changed" in [f.kind for f in second["changed"].findings]
    assert second["gone"].status == "broken"
    assert server.body_bytes("/same.pdf") == 0
