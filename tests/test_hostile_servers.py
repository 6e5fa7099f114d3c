"""Hostile servers, end to end: every misbehaviour in ONE `linkwatch archive` run, then each judged.

One manifest holds a document per misbehaviour plus well-behaved control documents, all served by
real local servers (HTTP and HTTPS on 127.0.0.1, tests/httpserver.py). The run is made once per
module; each test below asserts what one scenario must give: the status, a clear message, nothing
partial kept. The control documents prove the others did not disturb them, and the run's duration
is bounded by the configured timeouts (measured, asserted with a generous margin).

Name resolution is the one thing stubbed: ``bücher.example`` is resolved to 127.0.0.1 by a
``socket.getaddrinfo`` wrapper (what an /etc/hosts line would do), so the IDN test can see the
Host header on the wire. Everything HTTP is real.
"""
from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from httpserver import (
    Content,
    Drip,
    GzipBomb,
    Hang,
    HugeHeader,
    LocalServer,
    Redirect,
    Reset,
    Truncate,
    cf_challenge,
    challenge,
    soft_404,
    tls_context,
    too_many,
)

import linkwatch
from linkwatch.report import DocumentResult, Report

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
TIMEOUT, RETRIES = 1.0, 1
MAX_SIZE = 300_000  # the control PDFs fit; A_RES_73_8-EN.pdf (323,014 bytes) does not
IDN_HOST, IDN_ASCII = "bücher.example", "xn--bcher-kva.example"


@dataclass
class Run:
    report: Report
    elapsed: float
    archive: Path
    plain: LocalServer
    tls: LocalServer

    def doc(self, doc_id: str) -> DocumentResult:
        return next(d for d in self.report.documents if d.id == doc_id)


def _pdf(name: str, content_type: str = "application/pdf", **kw: object) -> Content:
    return Content.file(PDFS / name, content_type, **kw)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("hostile-servers")
    context, ca = tls_context(tmp / "tls")
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # the IDN test host, as an /etc/hosts line would
        return real_getaddrinfo("127.0.0.1" if host == IDN_ASCII else host, *args, **kwargs)

    with LocalServer() as plain, LocalServer(tls=context) as tls, pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", resolve)
        td = (PDFS / "TD_B_43_6.en.pdf").read_bytes()
        routes = {
            # id: (server, path, handler, symbol)
            "control-1": (plain, "/td.pdf", _pdf("TD_B_43_6.en.pdf"), "TD/B/43/6"),
            "control-2": (tls, "/sc.pdf", _pdf("S_RES_2768_2025.en.pdf"), "S/RES/2768 (2025)"),
            "drip": (plain, "/drip.pdf", Drip(td, chunk=1, interval=0.02), "TD/B/43/6"),
            "reset": (plain, "/reset.pdf", Reset(td, 20_000), "TD/B/43/6"),
            "short": (plain, "/short.pdf", Truncate(td, 20_000), "TD/B/43/6"),
            "loop": (plain, "/loop-a", Redirect("/loop-b"), "TD/B/43/6"),
            "chain": (plain, "/chain/0", Redirect("/chain/1"), "TD/B/43/6"),
            "scheme": (plain, "/to-file", Redirect("file:///etc/passwd"), "TD/B/43/6"),
            "downgrade": (tls, "/secure.pdf", Redirect(plain.url("/plain.pdf"), 302), "TD/B/43/6"),
            "empty": (plain, "/empty.pdf", Content(b"", "application/pdf"), "TD/B/43/6"),
            "waf": (plain, "/waf.pdf", challenge(202), "TD/B/43/6"),
            "cloudflare": (plain, "/cf.pdf", cf_challenge(), "TD/B/43/6"),
            "gzip-bomb": (plain, "/bomb.pdf", GzipBomb(1 << 30), "TD/B/43/6"),
            "too-large": (plain, "/large.pdf", _pdf("A_RES_73_8-EN.pdf"), "A/RES/73/8"),
            "soft-404": (plain, "/soft.pdf", soft_404(), "TD/B/43/6"),
            "octet-stream": (plain, "/download", _pdf("TD_B_43_6.en.pdf", "application/octet-stream"), "TD/B/43/6"),
            "spaces": (plain, "/docs%202024/r%C3%A9solution.pdf", _pdf("TD_B_43_6.en.pdf"), "TD/B/43/6"),
            "huge-header": (plain, "/huge.pdf", HugeHeader(), "TD/B/43/6"),
            "retry-after": (plain, "/busy.pdf", too_many(3600), "TD/B/43/6"),
            "hang": (plain, "/hang.pdf", Hang(), "TD/B/43/6"),
            "disposition": (plain, "/disposition.pdf", _pdf("TD_B_43_6.en.pdf", headers={
                "Content-Disposition": 'attachment; filename="../../../../etc/passwd"'}), "TD/B/43/6"),
        }
        for server, path, handler, _ in routes.values():
            server.route(path, handler)
        for i in range(1, 13):  # 12 hops: beyond the cap of 10
            plain.route(f"/chain/{i}", Redirect(f"/chain/{i + 1}"))
        plain.route("/loop-b", Redirect("/loop-a"))
        plain.route("/plain.pdf", _pdf("TD_B_43_6.en.pdf"))
        urls = {k: server.url(path) for k, (server, path, _, _) in routes.items()}
        urls["spaces"] = plain.url("/") + "docs 2024/résolution.pdf"
        urls["idn"] = f"http://{IDN_HOST}:{plain.port}/idn.pdf"
        plain.route("/idn.pdf", _pdf("TD_B_43_6.en.pdf"))
        symbols = {k: v[3] for k, v in routes.items()} | {"idn": "TD/B/43/6"}
        manifest = tmp / "hostile.toml"
        manifest.write_text("".join(
            f'[[document]]\nid = "{k}"\nsymbol = "{symbols[k]}"\nurl = "{url}"\n\n' for k, url in urls.items()),
            encoding="utf-8")
        archive = tmp / "archive"
        t0 = time.monotonic()
        report = linkwatch.archive(manifest, archive=archive, min_interval=0, backoff=0.05, timeout=TIMEOUT,
                                   retries=RETRIES, max_size=MAX_SIZE, per_host=4, concurrency=8,
                                   ca_bundle=str(ca), progress=False)
        elapsed = time.monotonic() - t0
        yield Run(report, elapsed, archive, plain, tls)


def kinds(doc: DocumentResult) -> list[str]:
    return [f.kind for f in doc.findings]


def message(doc: DocumentResult) -> str:
    return doc.findings[0].message


# -- the run as a whole ----------------------------------------------------------------------------


def test_control_documents_are_unaffected_by_the_others(run: Run) -> None:
    for doc_id in ("control-1", "control-2"):
        doc = run.doc(doc_id)
        assert doc.status == "ok" and doc.findings == [], (doc_id, doc.findings)
        assert doc.symbols and doc.http_status == 200


def test_run_time_is_bounded_by_the_configured_timeouts(run: Run) -> None:
    # The slowest scenarios (drip, hang) each need at most (retries + 1) windows of TIMEOUT plus
    # back-off; they run in parallel with everything else. 15 s is several times that bound, far
    # from what an unbounded drip (≈ 26 min for 78 kB at 50 B/s) or hang (60 s) would take.
    assert run.elapsed < 15, run.elapsed
    assert len(run.report.documents) == 22


def test_no_partial_download_is_left_or_kept(run: Run) -> None:
    tmp = run.archive / "tmp"
    assert not [p for p in tmp.rglob("*") if p.is_file()]
    blobs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (run.archive / "blobs").rglob("*")
             if p.is_file()}
    assert all(name == digest for name, digest in blobs.items())  # every blob is complete
    assert set(blobs) == {d.sha256 for d in run.report.documents if d.sha256}  # every body read in full
    for cut in ("drip", "reset", "short", "gzip-bomb", "too-large"):  # and nothing of the others
        assert run.doc(cut).sha256 is None and run.doc(cut).archived_sha256 is None


# -- one scenario each -----------------------------------------------------------------------------


def test_slow_drip_below_the_minimum_rate_times_out_and_is_unreachable(run: Run) -> None:
    doc = run.doc("drip")
    assert doc.status == "unreachable" and doc.severity == "error"
    assert "below the minimum" in message(doc) and "bytes/s" in message(doc)
    assert run.plain.hits("/drip.pdf") == RETRIES + 1


def test_connection_reset_mid_body_is_unreachable(run: Run) -> None:
    doc = run.doc("reset")
    assert doc.status == "unreachable" and "connection reset" in message(doc)
    assert run.plain.hits("/reset.pdf") == RETRIES + 1


def test_body_shorter_than_content_length_is_unreachable(run: Run) -> None:
    doc = run.doc("short")
    assert doc.status == "unreachable"
    assert "shorter than its Content-Length" in message(doc) and "20000 bytes read" in message(doc)


def test_redirect_loop_is_broken_and_not_moved(run: Run) -> None:
    doc = run.doc("loop")
    assert doc.status == "broken" and kinds(doc) == ["broken"]  # no bogus `moved`
    assert "redirect loop" in message(doc)


def test_redirect_chain_longer_than_the_cap_is_broken(run: Run) -> None:
    doc = run.doc("chain")
    assert doc.status == "broken" and kinds(doc) == ["broken"] and "more than 10 redirects" in message(doc)
    assert run.plain.hits("/chain/11") == 0  # stopped at the cap, not followed to the end


def test_redirect_to_a_non_http_scheme_is_refused(run: Run) -> None:
    doc = run.doc("scheme")
    assert doc.status == "broken" and "file:///etc/passwd" in message(doc) and "refused" in message(doc)


def test_https_to_http_downgrade_is_flagged(run: Run) -> None:
    doc = run.doc("downgrade")
    assert doc.status == "ok" and kinds(doc) == ["insecure-redirect"] and doc.severity == "warning"
    assert doc.url.startswith("https://") and doc.final_url.startswith("http://")
    assert "https → http" in doc.findings[0].message


def test_empty_200_is_wrong_type(run: Run) -> None:
    doc = run.doc("empty")
    assert doc.status == "wrong-type" and message(doc) == "empty body"


@pytest.mark.parametrize("doc_id, http_status", [("waf", 202), ("cloudflare", 403)])
def test_bot_challenges_are_blocked_not_broken(run: Run, doc_id: str, http_status: int) -> None:
    doc = run.doc(doc_id)
    assert doc.status == "blocked" and doc.severity == "warning" and doc.http_status == http_status
    assert "bot challenge" in message(doc)


def test_gzip_bomb_is_stopped_at_the_size_cap(run: Run) -> None:
    doc = run.doc("gzip-bomb")
    assert doc.status == "unverified" and f"exceeds the {MAX_SIZE}-byte limit" in message(doc)
    assert doc.sha256 is None and doc.size is None


def test_body_over_max_size_is_stopped_reported_and_not_kept(run: Run) -> None:
    doc = run.doc("too-large")
    assert doc.status == "unverified" and "323014" in message(doc) and str(MAX_SIZE) in message(doc)
    assert doc.sha256 is None and doc.archived_sha256 is None
    assert "Content-Length 323014" in message(doc)  # stopped on the declared length, before the body


def test_soft_404_html_with_200_is_wrong_type(run: Run) -> None:
    doc = run.doc("soft-404")
    assert doc.status == "wrong-type" and "HTML" in message(doc)


def test_pdf_served_as_octet_stream_is_judged_by_its_bytes(run: Run) -> None:
    doc = run.doc("octet-stream")
    assert doc.status == "ok" and doc.content_type == "application/octet-stream" and doc.symbols == ["TD/B/43/6"]


def test_url_with_spaces_and_non_ascii_path_is_requested_percent_encoded(run: Run) -> None:
    doc = run.doc("spaces")
    assert doc.status == "ok" and doc.url.endswith("docs 2024/résolution.pdf")  # reported as cited
    [request] = run.plain.requests("/docs%202024/r%C3%A9solution.pdf")
    assert request.target == "/docs%202024/r%C3%A9solution.pdf"


def test_idn_host_is_requested_in_its_ascii_form(run: Run) -> None:
    doc = run.doc("idn")
    assert doc.status == "ok" and doc.url.startswith(f"http://{IDN_HOST}:")
    [request] = run.plain.requests("/idn.pdf")
    assert request.headers["host"] == f"{IDN_ASCII}:{run.plain.port}"


def test_huge_header_line_is_broken_with_a_clear_message_and_not_retried(run: Run) -> None:
    doc = run.doc("huge-header")
    assert doc.status == "broken" and "invalid HTTP response" in message(doc) and "65536" in message(doc)
    assert run.plain.hits("/huge.pdf") == 1  # a protocol violation is not worth a retry


def test_429_with_retry_after_beyond_the_cap_gives_up_at_once_as_blocked(run: Run) -> None:
    doc = run.doc("retry-after")
    assert doc.status == "blocked" and doc.http_status == 429
    assert run.plain.hits("/busy.pdf") == 1 and doc.elapsed < TIMEOUT


def test_server_that_never_answers_is_unreachable_after_retries(run: Run) -> None:
    doc = run.doc("hang")
    assert doc.status == "unreachable" and "timed out" in message(doc)
    assert run.plain.hits("/hang.pdf") == RETRIES + 1


def test_content_disposition_never_names_a_file(run: Run) -> None:
    doc = run.doc("disposition")
    assert doc.status == "ok" and doc.archived_path == f"blobs/sha256/{doc.sha256[:2]}/{doc.sha256[2:4]}/{doc.sha256}"
    names = {p.name for p in run.archive.parent.rglob("*")}
    assert "passwd" not in names
    assert (run.archive / doc.archived_path).is_file()
