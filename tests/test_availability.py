"""``check --availability-only``: HTTP facts only — no body downloaded, nothing inspected."""
from __future__ import annotations

from pathlib import Path

from httpserver import Content, LocalServer, Redirect, Status, soft_404

import linkwatch
from linkwatch.cli import main

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=1, progress=False)


def _manifest(tmp_path: Path, urls: dict[str, str]) -> Path:
    body = ['[manifest]\ntitle = "availability"\n']
    for doc_id, url in urls.items():
        body.append(f'[[document]]\nid = "{doc_id}"\nsymbol = "A/80/62"\nurl = "{url}"\n')
    path = tmp_path / "m.toml"
    path.write_text("\n".join(body), encoding="utf-8")
    return path


def _served(server: LocalServer) -> dict[str, str]:
    pdf = Content.file(PDFS / "A_80_62.en.pdf", "application/pdf")
    return {
        "ok": server.route("/a80.pdf", pdf),
        # The ODS placeholder: 200 and a PDF, so "ok" for availability (only a full check sees it).
        "placeholder": server.route("/placeholder.pdf", soft_404()),
        "moved": server.route("/old.pdf", Redirect("/a80.pdf", 301)),
        "gone": server.route("/missing.pdf", Status(404)),
        "refused": server.route("/forbidden.pdf", Status(403)),
        # A server refusing HEAD: asked again with GET, its body not read.
        "no-head": server.route("/nohead.pdf", _no_head(pdf)),
    }


def _no_head(then):
    def handler(ex) -> None:
        if ex.method == "HEAD":
            Status(405)(ex)
        else:
            then(ex)
    return handler


def test_availability_only_judges_http_and_transfers_no_body(server: LocalServer, tmp_path: Path) -> None:
    urls = _served(server)
    report = linkwatch.check(_manifest(tmp_path, urls), archive=tmp_path / "archive", availability_only=True, **FAST)
    got = {d.id: d for d in report.documents}
    assert {k: d.status for k, d in got.items()} == {
        "ok": "ok", "placeholder": "ok", "moved": "ok", "gone": "broken", "refused": "blocked", "no-head": "ok"}
    assert [f.kind for f in got["moved"].findings] == ["moved"]
    assert got["ok"].sha256 is None and got["ok"].symbols == [] and got["ok"].http_status == 200
    # Nothing but HEAD reached the PDFs; the HEAD-refusing path got one GET, whose body was not read.
    assert {r.method for r in server.requests("/a80.pdf")} == {"HEAD"}
    assert [r.method for r in server.requests("/nohead.pdf")] == ["HEAD", "GET"]
    # No body byte sent for any PDF, redirect or 404; only the GET fallbacks (405, and the 403 that
    # some servers answer to HEAD alone) got bodies, sent before the client hangs up.
    assert sum(server.body_bytes(p) for p in ("/a80.pdf", "/placeholder.pdf", "/old.pdf", "/missing.pdf")) == 0
    assert [r.method for r in server.requests("/forbidden.pdf")] == ["HEAD", "GET"]


def test_availability_only_from_the_command_line(server: LocalServer, tmp_path: Path, capsys) -> None:
    pdf = server.route("/a80.pdf", Content.file(PDFS / "A_80_62.en.pdf", "application/pdf"))
    gone = server.route("/missing.pdf", Status(404))
    path = _manifest(tmp_path, {"ok": pdf, "gone": gone})
    code = main(["check", str(path), "--archive", str(tmp_path / "archive"), "--availability-only",
                 "--min-interval", "0", "--retries", "0", "--format", "json", "--no-progress"])
    assert code == 1
    out = capsys.readouterr().out
    assert '"status": "broken"' in out and '"status": "ok"' in out
    assert server.body_bytes() == 0 and {r.method for r in server.requests()} == {"HEAD"}


def test_content_drift_is_not_lost_behind_an_availability_only_run(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/doc.pdf", Content.file(PDFS / "A_80_62.en.pdf", "application/pdf"))
    path, archive = _manifest(tmp_path, {"doc": url}), tmp_path / "archive"
    first = linkwatch.check(path, archive=archive, **FAST).documents[0]
    assert first.status == "ok" and first.sha256
    assert linkwatch.check(path, archive=archive, availability_only=True, **FAST).documents[0].status == "ok"
    server.route("/doc.pdf", Content.file(PDFS / "A_79_716.en.pdf", "application/pdf"))
    third = linkwatch.check(path, archive=archive, **FAST).documents[0]
    assert third.status == "wrong-document" and "content-changed" in [f.kind for f in third.findings]
